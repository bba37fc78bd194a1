import A2ATSModel

/// TOVA, "Transformers are Multi-State RNNs" — Token Omission Via Attention (arXiv 2401.06104).
/// Reference settings: when the cache exceeds B, drop the token with the lowest attention from the
/// current query, the attention averaged over all heads of the layer (so all heads of a layer keep
/// the same tokens; the official code and kvpress's author-reviewed `TOVAPress` do this).
///
/// At the end of prefill the last prompt query's attention prunes the prompt to B (the newest
/// token kept, as kvpress does). While decoding, the step that pushes the cache past B drops the
/// lowest token by the previous step's attention before attending, so each step reads B tokens:
/// this is TOVA with a cache of B − 1 plus the incoming token, the same sets, evicted one step
/// later. `average=group` averages over the GQA group instead (a per-KV-head variant).
public final class TOVA: ScoredEvictionMethod {
    public enum Averaging: String, CaseIterable, Sendable { case layer, group }

    public static let parameterSpecs = [
        ParameterSpec(name: "average", defaultValue: "layer",
                      help: "heads whose attention is averaged: layer (all heads, the reference) or group (GQA group)",
                      type: .choice(Averaging.allCases.map(\.rawValue))),
    ]

    public static let descriptor = MethodDescriptor(
        name: "tova", summary: "evicts the token the current query attends to least", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "tova")
        return TOVA(model: context.model, budget: budget ?? 0, averaging: p.choice("average", as: Averaging.self))
    }

    public let averaging: Averaging

    public init(model: ModelConfig, budget: Int, averaging: Averaging) {
        self.averaging = averaging
        super.init(model: model, budget: budget, slotsPerToken: 1)
    }

    public override var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: 1) }
    /// The current token is always kept.
    override var protectedWindow: Int { 1 }
    override var evictsWhileDecoding: Bool { true }

    /// The heads whose attention ranks one KV head's tokens.
    private func averagedHeads(of kvHead: Int) -> Range<Int> {
        averaging == .layer ? 0..<(state.kvHeadCount * groupSize) : heads(of: kvHead)
    }

    /// The last prompt query's attention, averaged over the heads.
    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        let n = cache.length
        guard statistics.observationWindow >= 1 else {
            throw MethodError.missingStatistics(method: "tova", layer: layer, needed: "attention of the last prompt query")
        }
        let lastRow = (statistics.observationWindow - 1) * n
        return ScoredEviction.reduce(heads: averagedHeads(of: kvHead), count: n, mode: .mean) {
            UnsafeBufferPointer(rebasing: statistics.observedAttention(layer: layer, head: $0)[lastRow..<(lastRow + n)])
        }
    }

    override func initialSlots(kept: [Int32], scores: [Float]) -> [Float] { kept.map { scores[Int($0)] } }
    override func rank(_ slots: UnsafeBufferPointer<Float>) -> Float { slots[0] }

    /// Each step's attention (averaged over the heads) replaces the kept tokens' scores.
    public override func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        for kvHead in 0..<state.kvHeadCount {
            let group = averagedHeads(of: kvHead)
            state.withSlots(layer: query.layer, kvHead: kvHead) { scores in
                for i in 0..<scores.count { scores[i] = 0 }
                for head in group {
                    let w = weights.weights(head)
                    precondition(w.count == scores.count, "attention weights do not line up with the selection")
                    for i in 0..<scores.count { scores[i] += w[i] }
                }
                let scale = 1 / Float(group.count)
                for i in 0..<scores.count { scores[i] *= scale }
            }
        }
    }
}
