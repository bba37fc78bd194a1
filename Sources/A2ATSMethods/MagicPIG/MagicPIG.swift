import A2ATSModel
import A2ATSTensor

/// MagicPIG, "LSH Sampling for Efficient LLM Generation" (arXiv 2410.16179; code Infini-AI-Lab/MagicPIG,
/// read at ac9aa36). Reference settings: SimHash with K = 10 bits × L = 150 tables, a token is sampled
/// when it collides with the query in at least 2 tables, 4 sink and 64 local tokens exact, layers
/// 0/16/32/48/64 dense.
///
/// What the reference does (`models/attnserver.py` `LSHSparseAttnServer` L7-312; the accuracy
/// simulation `evaluations/RULER/pred/cache_ref.py` L115-170 and L216-252; `library/lsh/lsh.cc`
/// L243-288; `library/sparse_attention/sparse_attention.cc` `transform_kernel` L164-184): the prompt
/// keys between the sinks and the local window are centered by their mean (attnserver L136-145; the
/// same shift for every key leaves each softmax unchanged) and hashed with K·L Gaussian hyperplanes,
/// K sign bits per table (L162-168); the query is hashed the same way (L265-270). A token is sampled
/// for a query head when its code equals the query's in ≥ 2 of the L tables (lsh.cc L272-282,
/// cache_ref L133). Attention is then estimated by importance sampling: with u = 1 − θ/π (θ the angle
/// between q and the centered key) and p = u^K, the sampling probability is
/// w = 1 − (1 − p)^L − L·p·(1 − p)^(L−1), and a sampled logit q·k/√d becomes q·k/√d − log(w + 1e−4);
/// the sinks, the local window and every decoded token are attended exact, in one softmax with the
/// samples (attnserver merges the two parts by their log-sum-exp, L293-308).
///
/// Here: not a top-k method, so it takes no budget; its cost is what the tables sample. Samples differ
/// per query head, so `select` returns, per KV head, the union over its GQA group of the sampled tokens
/// plus sinks, window and decoded tokens (what is read: `attended_tokens` counts that union), and the
/// store's `attend` gives each query head only its own samples (others get weight 0) with their
/// importance correction. The hyperplanes come from a fixed seed and are shared by all layers and heads
/// (attnserver L55). `meanSampledTokens` is the mean sample size per query head and sparse step.
public final class MagicPIG: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "k", defaultValue: "10", help: "SimHash bits per table", type: .integer(1...16)),
        ParameterSpec(name: "l", defaultValue: "150", help: "hash tables", type: .integer(2...1024)),
        ParameterSpec(name: "sinks", defaultValue: "4", help: "first tokens attended exact", type: .integer(0...Int.max)),
        ParameterSpec(name: "window", defaultValue: "64", help: "last prompt tokens attended exact", type: .integer(0...Int.max)),
        ParameterSpec(name: "dense_layers", defaultValue: "0/16/32/48/64", help: "layers attended in full",
                      type: .layerList),
    ]

    public static let descriptor = MethodDescriptor(
        name: "magicpig", summary: "SimHash LSH sampling (≥2 of L tables) with importance-weighted attention",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: false, ownsStore: true
    ) { parameters, _, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "magicpig")
        return try MagicPIG(model: context.model, bits: p.int("k"), tables: p.int("l"), sinks: p.int("sinks"),
                            window: p.int("window"), denseLayers: p.layers("dense_layers"))
    }

    /// Seed of the hyperplanes: every run hashes with the same ones.
    static let seed: UInt64 = 0x4D61_6769_6350_4947
    let store: MagicPIGStore
    private let model: ModelConfig

    public init(model: ModelConfig, bits: Int, tables: Int, sinks: Int, window: Int, denseLayers: Set<Int>) throws {
        guard model.groupSize <= 64 else {
            throw MethodError.invalidParameter(method: "magicpig", name: "model", value: "\(model.groupSize) query heads per KV head",
                                               expected: "at most 64")
        }
        self.model = model
        store = MagicPIGStore(model: model, bits: bits, tables: tables, sinks: sinks, window: window,
                              denseLayers: denseLayers, seed: Self.seed)
    }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }
    public var kvStore: KVStore? { store }
    public var meanSampledTokens: Double { store.meanSampledTokens }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {}

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        guard store.isSparse(layer: query.layer) else { return .all(kvHeads: model.kvHeadCount) }
        return TokenSelection(perKVHead: (0..<model.kvHeadCount).map { kvHead in
            store.sample(layer: query.layer, kvHead: kvHead, queries: query.queries, cache: cache)
        })
    }
}
