import A2ATSModel

/// KNorm, "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression"
/// (arXiv 2406.11430). Reference settings: keep the B tokens whose keys have the lowest L2 norm,
/// per layer and KV head, once at the end of prefill; no protected sinks or window (the paper
/// observes that sink tokens already have low key norms). The authors' code (alessiodevoto/
/// l2compress) leaves some layers whole: `eval_needle.py` defaults to `--skip_layers 0`, the
/// reference setting here (`skip_layers=0`); their needle sweep `scripts/needle_loop.sh` uses
/// `0,1,12` on 32-layer Llama-2 (`skip_layers=0/1/12`); `skip_layers=none` compresses every
/// layer, as kvpress's `KnormPress` does. A skipped layer reads its whole cache.
///
/// Norms are taken on the cached post-RoPE keys; RoPE rotates pairs of channels, so the norm is the
/// pre-RoPE key's norm up to rounding. Generated tokens are all kept.
public final class KNorm: CacheMethod {
    public static let descriptor = MethodDescriptor(
        name: "knorm", summary: "keeps the keys with the lowest L2 norm", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "knorm")
        return KNorm(model: context.model, budget: budget ?? 0, skipLayers: p.layers("skip_layers"))
    }

    public static let parameterSpecs = [
        ParameterSpec(name: "skip_layers", defaultValue: "0",
                      help: "layers left uncompressed, '/'-separated (0/1/12) or none", type: .layerList),
    ]

    public let skipLayers: Set<Int>
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, skipLayers: Set<Int> = []) {
        self.skipLayers = skipLayers
        state = ScoredEviction(model: model, budget: budget)
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length, d = cache.headDim
        guard !state.startLayer(layer, promptLength: n, budget: skipLayers.contains(layer) ? Int.max : nil) else { return }
        for kvHead in 0..<state.kvHeadCount {
            let keys = cache.keys(layer: layer, kvHead: kvHead)
            let scores = (0..<n).map { j -> Float in
                var sum: Float = 0
                for c in 0..<d { sum += keys[j * d + c] * keys[j * d + c] }
                return -sum.squareRoot()
            }
            state.keep(layer: layer, kvHead: kvHead,
                       indices: ScoredEviction.chooseKept(scores: scores, budget: state.budget, sinks: 0, window: 0))
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        return state.selection(layer: query.layer)
    }

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }
}
