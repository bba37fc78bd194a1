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
public final class CORM: ScoredEvictionMethod {
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
    public let window: Int
    public let adaptive: Bool
    /// The head being scored's recent-attention ring (`n × recent`), kept for its initial slots.
    private var ring: [Float] = []

    public init(model: ModelConfig, budget: Int, recent: Int, threshold: Float, window: Int, adaptive: Bool) {
        self.recent = recent
        self.threshold = threshold
        self.window = min(window, budget / 2)
        self.adaptive = adaptive
        super.init(model: model, budget: budget, slotsPerToken: recent)
    }

    public override var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: recent) }
    override var protectedWindow: Int { window }
    override var evictsWhileDecoding: Bool { true }

    /// A key's rank: its largest relative attention over the recent queries.
    override func rank(_ slots: UnsafeBufferPointer<Float>) -> Float { slots.max() ?? 0 }

    /// ring[j · recent + slot]: relative attention a·t of prompt token j from the query in `slot`
    /// (max over the group's heads); the score is the ring's maximum.
    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        let n = cache.length
        let rows = min(recent, n)
        guard statistics.observationWindow >= rows else {
            throw MethodError.missingStatistics(method: "corm", layer: layer, needed: "attention of the last \(rows) prompt queries")
        }
        let firstRow = statistics.observationWindow - rows
        ring = [Float](repeating: 0, count: n * recent)
        for head in heads(of: kvHead) {
            let observed = statistics.observedAttention(layer: layer, head: head)
            for r in firstRow..<statistics.observationWindow {
                let position = n - statistics.observationWindow + r
                let slot = position % recent, t = Float(position + 1)
                for j in 0...position { ring[j * recent + slot] = max(ring[j * recent + slot], observed[r * n + j] * t) }
            }
        }
        return ring.withUnsafeBufferPointer { all in
            (0..<n).map { rank(UnsafeBufferPointer(rebasing: all[($0 * recent)..<(($0 + 1) * recent)])) }
        }
    }

    /// Top B; with `adaptive`, the paper's threshold drops the non-window keys below α too.
    override func choose(scores: [Float], budget: Int) -> [Int32] {
        let kept = super.choose(scores: scores, budget: budget)
        return adaptive ? kept.filter { Int($0) >= scores.count - window || scores[Int($0)] >= threshold } : kept
    }

    override func initialSlots(kept: [Int32], scores: [Float]) -> [Float] {
        var slots: [Float] = []
        slots.reserveCapacity(kept.count * recent)
        for j in kept { slots.append(contentsOf: ring[(Int(j) * recent)..<((Int(j) + 1) * recent)]) }
        return slots
    }

    override func evictBeforeRanking(layer: Int, kvHead: Int, cacheLength: Int) {
        guard adaptive else { return }
        let threshold = self.threshold
        state.evictWhere(layer: layer, kvHead: kvHead, cacheLength: cacheLength, sinks: 0, window: window) {
            ($0.max() ?? 0) >= threshold
        }
    }

    /// The step's relative attention w·t (max over the group) goes into each kept key's ring slot.
    public override func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        let slot = query.position % recent
        let t = Float(query.position + 1)
        for kvHead in 0..<state.kvHeadCount {
            state.withSlots(layer: query.layer, kvHead: kvHead) { ring in
                let count = ring.count / recent
                for i in 0..<count { ring[i * recent + slot] = 0 }
                for head in heads(of: kvHead) {
                    let w = weights.weights(head)
                    precondition(w.count == count, "attention weights do not line up with the selection")
                    for i in 0..<count { ring[i * recent + slot] = max(ring[i * recent + slot], w[i] * t) }
                }
            }
        }
    }
}
