import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// ShadowKV, "KV Cache in Shadows for High-Throughput Long-Context LLM Inference" (arXiv 2410.21465;
/// code bytedance/ShadowKV, read at a21f5a9). Reference settings: sparse budget 2048 at 128K, chunks
/// of 8 tokens, rank 160 for Llama-3-8B's 8 × 128 key width, 4 local chunks, 48 outlier chunks
/// (the paper's 0.3 % of the context), no sink tokens.
///
/// What the reference does (`models/kv_cache.py`, class `ShadowKVCache` L109-348, `ShadowKVCache_CPU`
/// L371-720; `models/base.py` L127-164): at prefill, per layer, an SVD of the *pre-RoPE* prompt keys
/// with all KV heads side by side (`get_svd` L195-213; `base.py` L131 calls it before RoPE) keeps rank r;
/// values are offloaded exact. The prompt but its last `local_chunk` chunks and the remainder that
/// aligns them (L236-245) is cut into chunks of 8 whose landmark is the mean post-RoPE key (L247-248);
/// the chunks with the lowest least cosine similarity between a key and its landmark are outliers, kept
/// with exact keys (L251-266). Per decode step the chunks are ranked by the softmax of q·landmark/√d
/// (L289-294) and the keys of the chosen chunks are rebuilt from the factors and rotated to their
/// positions (`get_key_cache` L314-334); outliers, local and decoded tokens are read exact (L336-348).
///
/// Here (see `ShadowKVStore` for what is stored and how bytes are counted):
/// - `rank` defaults to 30: the reference's 160/1024 of the key width, for the default model's 3 × 64.
/// - Outliers are ⌈`outliers` · chunks⌉, at most ⌊B/8⌋: 0.003 is the paper's "0.3 %" (48 of 16 380
///   chunks at 128K, where this rounds to 50; the CPU class's 24 per 1024 budget tokens, L398, gives 48
///   at the reference budget but 0 below B = 1024, so the share of the context is what scales here).
/// - Budget: B per query head covers the outlier chunks and the head's own top chunks, ⌊B/8⌋ chunks in
///   all (outliers first, so a head reads at most B of the chunked prompt and the contract's G·B bound
///   holds); the local window and every decoded token come on top, as in the reference. So
///   attended ≤ G·B + `window` + 7 (alignment remainder) + tokens decoded so far.
/// - `gqa=union` (default, the contract's rule): each query head picks its own chunks by q·landmark,
///   a KV head reads the union. `gqa=max` is the reference's rule: one set per KV head by the group's
///   maximum softmax probability per chunk (L290-294).
/// - At B ≥ the prompt every key is read exact and nothing is factored: the method equals `full`.
public final class ShadowKV: CacheMethod {
    public enum GroupRule: String, CaseIterable, Sendable { case union, max }

    public static let parameterSpecs = [
        ParameterSpec(name: "rank", defaultValue: "30", help: "rank of the pre-RoPE key factorization (all KV heads of a layer)",
                      type: .integer(1...4096)),
        ParameterSpec(name: "chunk", defaultValue: "8", help: "tokens per chunk (one landmark each)", type: .integer(1...256)),
        ParameterSpec(name: "window", defaultValue: "32", help: "last prompt tokens read exact at every step (4 chunks)",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "outliers", defaultValue: "0.003", help: "fraction of chunks kept whole as outliers (rounded up)",
                      type: .number(0...1)),
        ParameterSpec(name: "gqa", defaultValue: "union",
                      help: "union = each query head its own top chunks; max = the reference's group maximum",
                      type: .choice(GroupRule.allCases.map(\.rawValue))),
    ]

    public static let descriptor = MethodDescriptor(
        name: "shadowkv", summary: "low-rank pre-RoPE keys, chunk landmarks and outliers; selected chunks' keys rebuilt",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true, ownsStore: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "shadowkv")
        return ShadowKV(model: context.model, budget: budget ?? 0, rank: p.int("rank"), chunk: p.int("chunk"),
                        window: p.int("window"), outliers: p.double("outliers"), rule: p.choice("gqa", as: GroupRule.self))
    }

    public let budget: Int
    public let rule: GroupRule
    let store: ShadowKVStore
    private let model: ModelConfig
    /// Scratch: landmark scores of one group (G × chunks), their group maximum, chosen indices, chunk marks.
    private var scores: [Float] = [], maxima: [Float] = [], chosen: [Int32] = [], marked: [Bool] = []
    private var selector = TopKSelector()

    public init(model: ModelConfig, budget: Int, rank: Int, chunk: Int, window: Int, outliers: Double, rule: GroupRule) {
        self.model = model
        self.budget = budget
        self.rule = rule
        store = ShadowKVStore(model: model, rank: rank, chunk: chunk, window: window, outlierFraction: outliers,
                              maxOutlierChunks: budget / chunk)
    }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }
    public var kvStore: KVStore? { store }

    /// The store factors the prompt; at a budget covering the prompt it is told to keep it exact.
    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        if budget >= cache.length { store.keepExact() }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let chunks = store.chunkCount, chunk = store.chunk
        guard !store.isExact, chunks > 0 else { return .all(kvHeads: model.kvHeadCount) }
        let d = model.headDim, g = model.groupSize
        if marked.count < chunks {
            marked = [Bool](repeating: false, count: chunks)
            scores = [Float](repeating: 0, count: g * chunks)
            maxima = [Float](repeating: 0, count: chunks)
            chosen = [Int32](repeating: 0, count: chunks)
            selector = TopKSelector(capacity: chunks)
        }
        let perHead = max(0, budget / chunk - store.outlierCount)
        var perKVHead: [[Int32]?] = []
        for kvHead in 0..<model.kvHeadCount {
            let head = store.head(layer: query.layer, kvHead: kvHead)
            let m = head.landmarkChunks.count, k = min(perHead, m)
            if k > 0 {
                scores.withUnsafeMutableBufferPointer { s in head.landmarks.withUnsafeBufferPointer { landmarks in
                chosen.withUnsafeMutableBufferPointer { chosen in maxima.withUnsafeMutableBufferPointer { maxima in
                    let s = s.baseAddress!, chosen = chosen.baseAddress!
                    // s (g × m) = the group's post-RoPE queries · landmarksᵀ.
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(g), Int32(m), Int32(d), 1,
                                query.queries + kvHead * g * d, Int32(d), landmarks.baseAddress!, Int32(d), 0, s, Int32(m))
                    switch rule {
                    case .union:
                        for h in 0..<g {
                            let found = selector.select(s + h * m, count: m, k: k, into: chosen)
                            for i in 0..<found { marked[Int(head.landmarkChunks[Int(chosen[i])])] = true }
                        }
                    case .max:
                        let scale = 1 / Float(d).squareRoot()
                        for i in 0..<(g * m) { s[i] *= scale }
                        for h in 0..<g { softmaxInPlace(s + h * m, m) }
                        for i in 0..<m { maxima[i] = (0..<g).reduce(-Float.infinity) { Swift.max($0, s[$1 * m + i]) } }
                        let found = selector.select(maxima.baseAddress!, count: m, k: k, into: chosen)
                        for i in 0..<found { marked[Int(head.landmarkChunks[Int(chosen[i])])] = true }
                    }
                } } } }
            }
            for c in head.outlierChunks { marked[Int(c)] = true }
            var rows: [Int32] = []
            rows.reserveCapacity(g * budget + cache.length - chunks * chunk)
            for c in 0..<chunks where marked[c] {
                marked[c] = false
                rows.append(contentsOf: Int32(c * chunk)..<Int32((c + 1) * chunk))
            }
            rows.append(contentsOf: Int32(chunks * chunk)..<Int32(cache.length))
            perKVHead.append(rows)
        }
        return TokenSelection(perKVHead: perKVHead)
    }
}
