import A2ATSModel

/// CORM, "Cache Optimization with Recent Message for Large Language Model Inference"
/// (arXiv 2404.15949). Rule: adjacent queries are similar, so a key that none of the last r
/// queries attended to at least 1/t (uniform attention over the t tokens of the sequence at that
/// step, the paper's Definition 1; α scales it) is a "long-term minor key" and goes; the w most
/// recent keys always stay. Reference settings: r = 256 and w = 256 (the paper's "CORM 256+256"
/// configuration, its Table 1), α = 1. No public code of the authors was found to check them against.
///
/// The paper's CORM is budget-free. Under a fixed budget B (the default here, so that it reads B
/// like every other eviction method) keys are ranked by their largest relative attention a·t over
/// the last r queries and exactly B are kept: the recent window, capped at ⌊B/2⌋ as H2O splits
/// its budget, plus the best-ranked rest. `adaptive=true` adds the paper's rule on top: keys below
/// α also go, so the cache may hold fewer than B. t is the query's position + 1 both in prefill and
/// in decode (one normalizer). GQA: the max over the group's query heads.
public final class CORM: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "recent", defaultValue: "256", help: "r: the recent queries whose attention ranks a key",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "threshold", defaultValue: "1", help: "α: with adaptive=true, keys attended < α/t by every recent query go",
                      type: .number(0...1e30)),
        ParameterSpec(name: "window", defaultValue: "256", help: "w: most recent tokens always kept (inside the budget, at most B/2)",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "adaptive", defaultValue: "false",
                      help: "true = the paper's threshold rule evicts too (the cache may hold fewer than B)", type: .boolean),
    ]

    public static let descriptor = MethodDescriptor(
        name: "corm", summary: "keeps the keys the recent queries attended most, relative to uniform attention", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "corm")
        return CORM(model: context.model, budget: budget ?? 0, recent: p.int("recent"), threshold: p.float("threshold"),
                    window: p.int("window"), adaptive: p.bool("adaptive"))
    }

    public let recent: Int
    public let threshold: Float
    /// Recent tokens protected: `window` capped at ⌊B/2⌋.
    public let window: Int
    public let adaptive: Bool
    private let groupSize: Int
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, recent: Int, threshold: Float, window: Int, adaptive: Bool) {
        self.recent = recent
        self.threshold = threshold
        self.window = min(window, budget / 2)
        self.adaptive = adaptive
        groupSize = model.groupSize
        state = ScoredEviction(model: model, budget: budget, slotsPerToken: recent)
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: recent) }

    /// A key's rank: its largest relative attention over the recent queries.
    @inline(__always) private static func rank(_ ring: UnsafeBufferPointer<Float>) -> Float { ring.max() ?? 0 }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length
        guard !state.startLayer(layer, promptLength: n) else { return }
        let rows = min(recent, n)
        guard statistics.observationWindow >= rows else {
            throw MethodError.missingStatistics(method: "corm", layer: layer, needed: "attention of the last \(rows) prompt queries")
        }
        let firstRow = statistics.observationWindow - rows
        for kvHead in 0..<state.kvHeadCount {
            // ring[j * recent + slot]: relative attention of prompt token j from the query in `slot`.
            var ring = [Float](repeating: 0, count: n * recent)
            for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                let observed = statistics.observedAttention(layer: layer, head: head)
                for r in firstRow..<statistics.observationWindow {
                    let position = n - statistics.observationWindow + r
                    let slot = position % recent, t = Float(position + 1)
                    for j in 0...position {
                        ring[j * recent + slot] = max(ring[j * recent + slot], observed[r * n + j] * t)
                    }
                }
            }
            let scores = ring.withUnsafeBufferPointer { all in
                (0..<n).map { Self.rank(UnsafeBufferPointer(rebasing: all[($0 * recent)..<(($0 + 1) * recent)])) }
            }
            var kept = ScoredEviction.chooseKept(scores: scores, budget: state.budget, sinks: 0, window: window)
            if adaptive { kept = kept.filter { Int($0) >= n - window || scores[Int($0)] >= threshold } }
            var slots: [Float] = []
            slots.reserveCapacity(kept.count * recent)
            for j in kept { slots.append(contentsOf: ring[(Int(j) * recent)..<((Int(j) + 1) * recent)]) }
            state.keep(layer: layer, kvHead: kvHead, indices: kept, slots: slots)
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        if !state.isKeepingAll(layer: query.layer) {
            let threshold = self.threshold
            for kvHead in 0..<state.kvHeadCount {
                if adaptive {
                    state.evictWhere(layer: query.layer, kvHead: kvHead, cacheLength: cache.length, sinks: 0,
                                     window: window) { Self.rank($0) >= threshold }
                }
                state.evictLowest(layer: query.layer, kvHead: kvHead, limit: state.budget, cacheLength: cache.length,
                                  sinks: 0, window: window) { Self.rank($0) }
            }
        }
        return state.selection(layer: query.layer)
    }

    /// Writes this query's relative attention (weight × t, t = position + 1, max over the group)
    /// into its slot of every kept token's ring.
    public func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        let slot = query.position % recent
        let t = Float(query.position + 1)
        for kvHead in 0..<state.kvHeadCount {
            state.withSlots(layer: query.layer, kvHead: kvHead) { ring in
                let count = ring.count / recent
                for i in 0..<count { ring[i * recent + slot] = 0 }
                for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                    let w = weights.weights(head)
                    precondition(w.count == count, "attention weights do not line up with the selection")
                    for i in 0..<count { ring[i * recent + slot] = max(ring[i * recent + slot], w[i] * t) }
                }
            }
        }
    }

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }
}
