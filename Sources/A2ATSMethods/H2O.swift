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
public final class H2O: ScoredEvictionMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "recent_fraction", defaultValue: "0.5",
                      help: "share of the budget kept for the most recent tokens; the rest goes to heavy hitters",
                      type: .number(0...1)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "h2o", summary: "heavy hitters by accumulated attention + recent tokens, evicting while decoding",
        kind: .eviction, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "h2o")
        return H2O(model: context.model, budget: budget ?? 0, recentFraction: p.float("recent_fraction"))
    }

    public let window: Int

    public init(model: ModelConfig, budget: Int, recentFraction: Float) {
        window = Int((Float(budget) * recentFraction).rounded(.down))
        super.init(model: model, budget: budget, slotsPerToken: 1)
    }

    public override var prefillNeeds: PrefillNeeds { PrefillNeeds(accumulatedAttention: true) }
    override var protectedWindow: Int { window }
    override var evictsWhileDecoding: Bool { true }

    /// Attention each prompt token received from all prompt queries, averaged over the group.
    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        guard statistics.hasAccumulatedAttention else {
            throw MethodError.missingStatistics(method: "h2o", layer: layer, needed: "accumulated attention")
        }
        return ScoredEviction.reduce(heads: heads(of: kvHead), count: cache.length, mode: .mean) {
            statistics.accumulatedAttention(layer: layer, head: $0)
        }
    }

    override func initialSlots(kept: [Int32], scores: [Float]) -> [Float] { kept.map { scores[Int($0)] } }
    override func rank(_ slots: UnsafeBufferPointer<Float>) -> Float { slots[0] }

    /// Each step's attention adds to the kept tokens' accumulated scores (group mean).
    public override func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        let scale = 1 / Float(groupSize)
        for kvHead in 0..<state.kvHeadCount {
            state.withSlots(layer: query.layer, kvHead: kvHead) { scores in
                for head in heads(of: kvHead) {
                    let w = weights.weights(head)
                    precondition(w.count == scores.count, "attention weights do not line up with the selection")
                    for i in 0..<scores.count { scores[i] += w[i] * scale }
                }
            }
        }
    }
}
