import A2ATSModel

/// H2O, "Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models"
/// (arXiv 2306.14048). Reference settings: budget split half heavy hitters (largest attention
/// accumulated over all queries so far), half most recent tokens; evicts while decoding.
///
/// Scores: the prefill's accumulated attention (summed over every prompt query), then each decode
/// step's attention weights added on. GQA (H2O predates it): a KV head's score is the mean over its
/// query heads, as kvpress aggregates. Eviction happens before a step's attention, when the new
/// token pushes a head past B, so every step reads at most B tokens: the token dropped is the
/// lowest-scored one outside the recent window, by the scores of the steps so far.
public final class H2O: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "recent_fraction", defaultValue: "0.5",
                      help: "share of the budget kept for the most recent tokens; the rest goes to heavy hitters",
                      type: .number(0...1)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "h2o", summary: "heavy hitters by accumulated attention + recent tokens, evicting while decoding",
        kind: .eviction, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "h2o")
        return H2O(model: model, budget: budget ?? 0, recentFraction: p.float("recent_fraction"))
    }

    /// Recent tokens protected inside the budget.
    public let window: Int
    private let groupSize: Int
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, recentFraction: Float) {
        window = Int((Float(budget) * recentFraction).rounded(.down))
        groupSize = model.groupSize
        state = ScoredEviction(model: model, budget: budget, slotsPerToken: 1)
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { PrefillNeeds(accumulatedAttention: true) }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length
        guard !state.startLayer(layer, promptLength: n) else { return }
        guard statistics.hasAccumulatedAttention else {
            throw MethodError.missingStatistics(method: "h2o", layer: layer, needed: "accumulated attention")
        }
        for kvHead in 0..<state.kvHeadCount {
            let heads = (kvHead * groupSize)..<((kvHead + 1) * groupSize)
            let scores = ScoredEviction.reduce(heads: heads, count: n, mode: .mean) {
                statistics.accumulatedAttention(layer: layer, head: $0)
            }
            let kept = ScoredEviction.chooseKept(scores: scores, budget: state.budget, sinks: 0, window: window)
            state.keep(layer: layer, kvHead: kvHead, indices: kept, slots: kept.map { scores[Int($0)] })
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        if !state.isKeepingAll(layer: query.layer) {
            for kvHead in 0..<state.kvHeadCount {
                state.evictLowest(layer: query.layer, kvHead: kvHead, limit: state.budget, cacheLength: cache.length,
                                  sinks: 0, window: window) { $0[0] }
            }
        }
        return state.selection(layer: query.layer)
    }

    public func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        let scale = 1 / Float(groupSize)
        for kvHead in 0..<state.kvHeadCount {
            state.withSlots(layer: query.layer, kvHead: kvHead) { scores in
                for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                    let w = weights.weights(head)
                    precondition(w.count == scores.count, "attention weights do not line up with the selection")
                    for i in 0..<scores.count { scores[i] += w[i] * scale }
                }
            }
        }
    }

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }
}
