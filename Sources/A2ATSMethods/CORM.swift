import A2ATSModel

/// CORM, "Cache Optimization with Recent Message for Large Language Model Inference"
/// (arXiv 2404.15949). Rule: adjacent queries are similar, so a key that none of the last r
/// queries attended to at least α/t (α times uniform attention over the t tokens it read) is
/// dropped; the most recent tokens are always kept. Settings here: r = 32, α = 1, window = 32;
/// these defaults could not be checked against the paper's text in this session — see the report.
///
/// Under a fixed budget B (window inside B) the keys are ranked by their largest relative attention
/// a·t over the last r queries and the top B are kept, never one below the threshold. GQA: the max
/// over the group's query heads. Prefill: the last r prompt queries' attention (query i read i + 1
/// tokens). Decode: each step's attention fills a ring of r slots per kept token; before the next
/// step the threshold rule drops stale keys and, if still over B, the lowest-ranked one goes.
public final class CORM: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "recent", defaultValue: "32", help: "r: the recent queries whose attention keeps a key"),
        ParameterSpec(name: "threshold", defaultValue: "1", help: "α: keep a key attended ≥ α/t by one of the recent queries"),
        ParameterSpec(name: "window", defaultValue: "32", help: "most recent tokens always kept (inside the budget, ≥ 1)"),
    ]

    public static let descriptor = MethodDescriptor(
        name: "corm", summary: "keeps keys that one of the recent queries attended above uniform", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "corm")
        return CORM(model: model, budget: budget ?? 0, recent: try p.int("recent", in: 1...Int.max),
                    threshold: try p.float("threshold", in: 0...Float.greatestFiniteMagnitude),
                    window: try p.int("window", in: 1...Int.max))
    }

    public let recent: Int
    public let threshold: Float
    /// Recent tokens protected, capped at the budget.
    public let window: Int
    private let groupSize: Int
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, recent: Int, threshold: Float, window: Int) {
        self.recent = recent
        self.threshold = threshold
        self.window = min(window, budget)
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
                    let slot = position % recent, tokensRead = Float(position + 1)
                    for j in 0...position {
                        ring[j * recent + slot] = max(ring[j * recent + slot], observed[r * n + j] * tokensRead)
                    }
                }
            }
            let scores = ring.withUnsafeBufferPointer { all in
                (0..<n).map { Self.rank(UnsafeBufferPointer(rebasing: all[($0 * recent)..<(($0 + 1) * recent)])) }
            }
            let kept = ScoredEviction.chooseKept(scores: scores, budget: state.budget, sinks: 0, window: window)
                .filter { Int($0) >= n - window || scores[Int($0)] >= threshold }
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
                state.evictWhere(layer: query.layer, kvHead: kvHead, cacheLength: cache.length, sinks: 0,
                                 window: window) { Self.rank($0) >= threshold }
                state.evictLowest(layer: query.layer, kvHead: kvHead, limit: state.budget, cacheLength: cache.length,
                                  sinks: 0, window: window) { Self.rank($0) }
            }
        }
        return state.selection(layer: query.layer)
    }

    /// Writes this query's relative attention (weight × tokens read, max over the group) into its slot.
    public func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        let slot = query.position % recent
        for kvHead in 0..<state.kvHeadCount {
            state.withSlots(layer: query.layer, kvHead: kvHead) { ring in
                let count = ring.count / recent
                let tokensRead = Float(count)
                for i in 0..<count { ring[i * recent + slot] = 0 }
                for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                    let w = weights.weights(head)
                    precondition(w.count == count, "attention weights do not line up with the selection")
                    for i in 0..<count { ring[i * recent + slot] = max(ring[i * recent + slot], w[i] * tokensRead) }
                }
            }
        }
    }

    public func memoryFootprint(cache: KVCache) -> MemoryFootprint { state.footprint(cache: cache) }
}
