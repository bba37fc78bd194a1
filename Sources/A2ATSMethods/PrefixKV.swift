import A2ATSModel

/// PrefixKV, "Adaptive Prefix KV Cache is What Vision Instruction-Following Models Need for
/// Efficient Generation" (arXiv 2412.03409; code THU-MIG/PrefixKV, read at 39b7265). Reference
/// settings: importance = attention received from every prompt query, averaged over all heads of a
/// layer; 1 sink (`eval_ppl.py` L226 `--start-size 1`) and the last prompt token protected
/// (`prefixkv.py` L78 `protect_size = 1`); one global cumulative-importance share p for all layers.
///
/// Rule (`prefixkv.py` L20-53, L89-155): each layer ranks its prompt tokens by importance (one
/// ranking per layer, shared by its KV heads: `attention.mean(dim=1)` then a sum over queries,
/// L92/L97), normalizes the sorted importances to a cumulative distribution, and at share p keeps
/// the shortest prefix of its ranking whose cumulative importance reaches p, plus the protected
/// tokens on top (the reference adds them to the prefix length, L39-41); the kept tokens are the
/// protected ones and the best-ranked of the rest (L136-142). p is binary-searched on [0, 1] so
/// that the layers together keep the total budget L·B (B per KV head, the contract's eviction
/// rule); layers end with different sizes.
///
/// Search and its cost: the reference bisects until the total is within 5 tokens of the target and
/// then rescales the layers' counts to hit it (L42, L107-114); the paper runs this offline on
/// calibration samples and reuses the averaged per-layer ratios, so inference pays nothing. Here
/// it runs per prompt at prefill: L sorts of n scores, then 60 bisection steps of L binary searches
/// each, ending at the largest p whose total fits; the few tokens left below L·B (the next step of
/// p adds more than fit) go one at a time to the layer that the next larger p would grow first
/// (ties to the lower layer), so the layers keep exactly L·B whenever the prompt allows.
///
/// Decoding: every generated token is kept, as SnapKV and PyramidKV here. The reference instead
/// holds each layer at its share of all tokens by dropping one token 25 positions before the end
/// on steps where the layer is over (`prefixkv.py` L124-170, Elastic Cache's rule); over ~100
/// decode steps that differs by at most the tokens decoded. `importance=window` swaps in SnapKV's
/// importance (last 32 prompt queries, max pooling with kernel 7, as `snapkv`), the window kept.
public final class PrefixKV: ScoredEvictionMethod {
    /// Which prompt queries' attention ranks the tokens.
    public enum Importance: String, CaseIterable, Sendable {
        /// The reference: attention from every prompt query (H2O's accumulated attention).
        case prompt
        /// SnapKV's: the last 32 prompt queries, pooled; those 32 tokens are kept.
        case window
    }

    public static let parameterSpecs = [
        ParameterSpec(name: "importance", defaultValue: "prompt",
                      help: "prompt = attention from every prompt query (reference); window = SnapKV's last 32 queries, pooled",
                      type: .choice(Importance.allCases.map(\.rawValue))),
        ParameterSpec(name: "sinks", defaultValue: "1", help: "first tokens always kept, inside the budget",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "prefixkv", summary: "one global cumulative-importance share sets every layer's kept prefix (binary search)",
        kind: .eviction, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "prefixkv")
        return PrefixKV(model: context.model, budget: budget ?? 0, importance: p.choice("importance", as: Importance.self),
                        sinks: p.int("sinks"))
    }

    /// SnapKV's reference observation window and pooling, used by `importance=window`.
    static let observationWindow = 32, poolingKernel = 7

    public let importance: Importance
    public let sinks: Int
    /// Per layer: the prompt tokens it keeps (protected included), set at the first `didPrefill`.
    public private(set) var layerSizes: [Int] = []
    /// Per layer: one importance per prompt token, needed until that layer has chosen.
    private var layerScores: [[Float]] = []

    public init(model: ModelConfig, budget: Int, importance: Importance, sinks: Int) {
        self.importance = importance
        self.sinks = sinks
        super.init(model: model, budget: budget)
    }

    public override var prefillNeeds: PrefillNeeds {
        importance == .prompt ? PrefillNeeds(accumulatedAttention: true) : PrefillNeeds(observationWindow: Self.observationWindow)
    }
    override var protectedSinks: Int { sinks }
    override var protectedWindow: Int { importance == .prompt ? 1 : Self.observationWindow }

    /// Searches every layer's size at the first layer (the shared prefill has recorded all of them),
    /// then keeps each layer's best-ranked tokens within its size.
    public override func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length, layers = state.layerCount
        if layerSizes.isEmpty {
            if state.budget >= n {
                layerSizes = Array(repeating: state.budget, count: layers)
            } else {
                layerScores = try (0..<layers).map { try layerImportance(layer: $0, promptLength: n, statistics: statistics) }
                layerSizes = Self.layerSizes(importance: layerScores, total: layers * state.budget,
                                             protected: protectedSinks + protectedWindow)
            }
        }
        try super.didPrefill(layer: layer, cache: cache, statistics: statistics)
        if layer < layerScores.count { layerScores[layer] = [] }
    }

    override func layerBudget(_ layer: Int, promptLength: Int) -> Int? { layerSizes[layer] }

    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        layerScores[layer]
    }

    /// One score per prompt token for the whole layer: the chosen importance averaged over all its query heads.
    private func layerImportance(layer: Int, promptLength n: Int, statistics: PrefillStatistics) throws -> [Float] {
        switch importance {
        case .prompt:
            guard statistics.hasAccumulatedAttention else {
                throw MethodError.missingStatistics(method: "prefixkv", layer: layer, needed: "accumulated attention")
            }
            return ScoredEviction.reduce(heads: 0..<(state.kvHeadCount * groupSize), count: n, mode: .mean) {
                statistics.accumulatedAttention(layer: layer, head: $0)
            }
        case .window:
            let perKVHead = try (0..<state.kvHeadCount).map {
                try SnapKV.scores(statistics, layer: layer, kvHead: $0, groupSize: groupSize, window: Self.observationWindow,
                                  kernel: Self.poolingKernel, pooling: .max, method: "prefixkv")
            }
            return ScoredEviction.reduce(heads: 0..<state.kvHeadCount, count: n, mode: .mean) { perKVHead[$0] }
        }
    }

    /// Tokens each layer keeps, protected ones included, for per-layer importances (`importance[l]`
    /// has one value per prompt token) and a total over layers; see the type's notes for the rule.
    static func layerSizes(importance: [[Float]], total: Int, protected: Int) -> [Int] {
        let layers = importance.count
        guard let n = importance.first?.count, n > 0 else { return [] }
        // At p = 0 a layer keeps its best token plus the protected ones; below that, split evenly.
        guard total >= layers * min(n, 1 + protected) else {
            return (0..<layers).map { total / layers + ($0 < total % layers ? 1 : 0) }
        }
        let shares = importance.map(cumulativeShares)
        func sizes(_ p: Double) -> [Int] { shares.map { min(n, prefixLength($0, reaching: p) + protected) } }
        var p = 1.0
        if sizes(1).reduce(0, +) > total {
            var low = 0.0, high = 1.0
            for _ in 0..<60 {
                let middle = (low + high) / 2
                if sizes(middle).reduce(0, +) <= total { low = middle } else { high = middle }
            }
            p = low
        }
        var kept = sizes(p)
        var left = total - kept.reduce(0, +)
        while left > 0 {
            // A layer below n holds a prefix of kept − protected tokens; it grows once p passes the
            // cumulative share of that prefix.
            var next = -1, threshold = Double.infinity
            for layer in 0..<layers where kept[layer] < n {
                let share = shares[layer][kept[layer] - protected - 1]
                if share < threshold { next = layer; threshold = share }
            }
            guard next >= 0 else { break }
            kept[next] += 1
            left -= 1
        }
        return kept
    }

    /// Importances sorted from highest, as cumulative shares of their sum (the last is exactly 1);
    /// a layer without any importance counts its tokens as equal.
    static func cumulativeShares(_ scores: [Float]) -> [Double] {
        let sorted = scores.map { Double(Swift.max(0, $0)) }.sorted(by: >)
        let sum = sorted.reduce(0, +)
        var shares = [Double](repeating: 0, count: sorted.count)
        var running = 0.0
        for (k, value) in sorted.enumerated() {
            running += value
            shares[k] = sum > 0 && sum.isFinite ? running / sum : Double(k + 1) / Double(sorted.count)
        }
        shares[shares.count - 1] = 1
        return shares
    }

    /// The shortest prefix whose cumulative share reaches p (`torch.searchsorted(…, right=False) + 1`).
    static func prefixLength(_ shares: [Double], reaching p: Double) -> Int {
        var low = 0, high = shares.count - 1
        while low < high {
            let middle = (low + high) / 2
            if shares[middle] >= p { high = middle } else { low = middle + 1 }
        }
        return low + 1
    }
}
