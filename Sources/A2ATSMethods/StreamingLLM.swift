import A2ATSModel

/// StreamingLLM, "Efficient Streaming Language Models with Attention Sinks" (arXiv 2309.17453).
/// Reference settings: 4 sink tokens + the most recent tokens, all within the budget B; the
/// window rolls while decoding.
///
/// When B ≤ sinks, the sinks shrink to B − 1 so that the current token is always read.
public final class StreamingLLM: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "sinks", defaultValue: "4", help: "first tokens always kept (inside the budget)",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "streamingllm", summary: "attention sinks + rolling recent window within the budget", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "streamingllm")
        return StreamingLLM(model: model, budget: budget ?? 0, sinks: p.int("sinks"))
    }

    public let sinks: Int
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, sinks: Int) {
        self.sinks = min(sinks, max(0, budget - 1))
        state = ScoredEviction(model: model, budget: budget)
    }

    private var window: Int { state.budget - sinks }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length
        guard !state.startLayer(layer, promptLength: n) else { return }
        let kept = ScoredEviction.chooseKept(scores: [Float](repeating: 0, count: n), budget: state.budget,
                                             sinks: sinks, window: window)
        for kvHead in 0..<state.kvHeadCount { state.keep(layer: layer, kvHead: kvHead, indices: kept) }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        if !state.isKeepingAll(layer: query.layer) {
            // Everything but the sinks and the window is the oldest non-sink token: roll it out.
            for kvHead in 0..<state.kvHeadCount {
                state.evictLowest(layer: query.layer, kvHead: kvHead, limit: state.budget, cacheLength: cache.length,
                                  sinks: sinks, window: window) { _ in 0 }
            }
        }
        return state.selection(layer: query.layer)
    }

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }
}
