import A2ATSModel

/// An eviction method written as a score (the kvpress "scorer" design): a subclass says what it
/// needs from the prefill, scores each KV head's prompt tokens, and — if it evicts while decoding —
/// how it ranks a kept token's statistic slots; this base keeps the top of each head within the
/// budget (`ScoredEviction.chooseKept`: protected sinks, then the window, then the best scores),
/// adds decoded tokens, evicts the lowest-ranked while decoding, and reports what is resident.
public class ScoredEvictionMethod: CacheMethod {
    let state: ScoredEviction
    let groupSize: Int

    init(model: ModelConfig, budget: Int, slotsPerToken: Int = 0) {
        state = ScoredEviction(model: model, budget: budget, slotsPerToken: slotsPerToken)
        groupSize = model.groupSize
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { .none }

    /// First tokens always kept, inside the budget.
    var protectedSinks: Int { 0 }
    /// Last tokens always kept, inside the budget.
    var protectedWindow: Int { 0 }
    /// Whether the method evicts while decoding to hold each head at B (else decoded tokens are all kept).
    var evictsWhileDecoding: Bool { false }

    /// This layer's budget when it differs from the run's (PyramidKV's pyramid; `Int.max` keeps the layer whole).
    func layerBudget(_ layer: Int, promptLength: Int) -> Int? { nil }

    /// One score per prompt token of one KV head; higher is kept first.
    func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        preconditionFailure("\(type(of: self)) must score tokens")
    }

    /// The kept tokens (ascending) of a head from its scores.
    func choose(scores: [Float], budget: Int) -> [Int32] {
        ScoredEviction.chooseKept(scores: scores, budget: budget, sinks: protectedSinks, window: protectedWindow)
    }

    /// Statistic slots of the kept tokens (`kept.count × slotsPerToken`); empty for zeros.
    func initialSlots(kept: [Int32], scores: [Float]) -> [Float] { [] }

    /// A kept token's rank for decode-time eviction, from its slots (lowest goes first).
    func rank(_ slots: UnsafeBufferPointer<Float>) -> Float { 0 }

    /// Decode-time eviction before the rank rule (CORM's threshold).
    func evictBeforeRanking(layer: Int, kvHead: Int, cacheLength: Int) {}

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length
        let budget = layerBudget(layer, promptLength: n) ?? state.budget
        guard !state.startLayer(layer, promptLength: n, budget: budget) else { return }
        for kvHead in 0..<state.kvHeadCount {
            let scores = try scores(layer: layer, kvHead: kvHead, cache: cache, statistics: statistics)
            let kept = choose(scores: scores, budget: budget)
            state.keep(layer: layer, kvHead: kvHead, indices: kept, slots: initialSlots(kept: kept, scores: scores))
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        if evictsWhileDecoding && !state.isKeepingAll(layer: query.layer) {
            for kvHead in 0..<state.kvHeadCount {
                evictBeforeRanking(layer: query.layer, kvHead: kvHead, cacheLength: cache.length)
                state.evictLowest(layer: query.layer, kvHead: kvHead, limit: state.budget, cacheLength: cache.length,
                                  sinks: protectedSinks, window: protectedWindow) { rank($0) }
            }
        }
        return state.selection(layer: query.layer)
    }

    public func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {}

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }

    /// The query heads of one KV head's GQA group.
    func heads(of kvHead: Int) -> Range<Int> { (kvHead * groupSize)..<((kvHead + 1) * groupSize) }
}
