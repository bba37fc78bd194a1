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
public final class TOVA: CacheMethod {
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
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "tova")
        return TOVA(model: model, budget: budget ?? 0, averaging: p.choice("average", as: Averaging.self))
    }

    public let averaging: Averaging
    private let groupSize: Int
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, averaging: Averaging) {
        self.averaging = averaging
        groupSize = model.groupSize
        state = ScoredEviction(model: model, budget: budget, slotsPerToken: 1)
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: 1) }

    /// Query heads whose attention scores KV head `kvHead`.
    private func heads(of kvHead: Int) -> Range<Int> {
        averaging == .layer ? 0..<(state.kvHeadCount * groupSize) : (kvHead * groupSize)..<((kvHead + 1) * groupSize)
    }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length
        guard !state.startLayer(layer, promptLength: n) else { return }
        guard statistics.observationWindow >= 1 else {
            throw MethodError.missingStatistics(method: "tova", layer: layer, needed: "attention of the last prompt query")
        }
        let lastRow = (statistics.observationWindow - 1) * n
        for kvHead in 0..<state.kvHeadCount {
            let scores = ScoredEviction.reduce(heads: heads(of: kvHead), count: n, mode: .mean) {
                UnsafeBufferPointer(rebasing: statistics.observedAttention(layer: layer, head: $0)[lastRow..<(lastRow + n)])
            }
            let kept = ScoredEviction.chooseKept(scores: scores, budget: state.budget, sinks: 0, window: 1)
            state.keep(layer: layer, kvHead: kvHead, indices: kept, slots: kept.map { scores[Int($0)] })
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        if !state.isKeepingAll(layer: query.layer) {
            for kvHead in 0..<state.kvHeadCount {
                state.evictLowest(layer: query.layer, kvHead: kvHead, limit: state.budget, cacheLength: cache.length,
                                  sinks: 0, window: 1) { $0[0] }
            }
        }
        return state.selection(layer: query.layer)
    }

    /// Replaces each kept token's score by this step's attention, averaged over the heads.
    public func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        guard !state.isKeepingAll(layer: query.layer) else { return }
        for kvHead in 0..<state.kvHeadCount {
            let group = heads(of: kvHead)
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

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }
}
