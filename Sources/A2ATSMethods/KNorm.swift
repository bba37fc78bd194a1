import A2ATSModel

/// KNorm, "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression"
/// (arXiv 2406.11430). Reference settings: keep the B tokens whose keys have the lowest L2 norm,
/// per layer and KV head, once at the end of prefill; no protected sinks or window (as kvpress's
/// `KnormPress`: the paper observes that sink tokens already have low key norms).
///
/// Norms are taken on the cached post-RoPE keys; RoPE rotates pairs of channels, so the norm is the
/// pre-RoPE key's norm up to rounding. Generated tokens are all kept.
public final class KNorm: CacheMethod {
    public static let descriptor = MethodDescriptor(
        name: "knorm", summary: "keeps the keys with the lowest L2 norm", kind: .eviction,
        parameters: [], takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        _ = try MethodParameters(parameters, specs: [], method: "knorm")
        return KNorm(model: model, budget: budget ?? 0)
    }

    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int) {
        state = ScoredEviction(model: model, budget: budget)
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length, d = cache.headDim
        guard !state.startLayer(layer, promptLength: n) else { return }
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

    public func memoryFootprint(cache: KVCache) -> MemoryFootprint { state.footprint(cache: cache) }
}
