import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// Oracle top-k: exact scores q·k over every cached token, each query head reads its true top B
/// (the ceiling for retrieval methods; A²ATS, arXiv 2502.12665, §2 and its "exact top-k"
/// baseline). Reference settings: B per query head, union over the GQA group; `sinks=0`,
/// `window=0` so that it is the pure top-k (`oracle:sinks=8,window=64` adds A²ATS's protected set).
///
/// Scores use the post-RoPE query and the cached post-RoPE keys, i.e. exactly the logits the
/// attention softmax sees (the 1/√d scale does not change the ranking). Ties go to the lower index.
/// `scores=wrope` ranks instead by exact windowed-RoPE scores (q R_b)·k on pre-RoPE keys: A²ATS
/// without its quantization, which separates WRoPE's own error from the codebook's.
public final class OracleTopK: CacheMethod {
    /// What the oracle ranks by.
    public enum Scores: String, CaseIterable, Sendable {
        /// The true logits q·k at true positions.
        case rope
        /// Windowed RoPE: every token scored as if at relative position b.
        case wrope
    }

    public static let parameterSpecs = [
        ParameterSpec(name: "sinks", defaultValue: "0", help: "first tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "window", defaultValue: "0", help: "most recent tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "scores", defaultValue: "rope",
                      help: "rope = true q·k; wrope = exact windowed-RoPE scores (A²ATS without quantization)",
                      type: .choice(Scores.allCases.map(\.rawValue))),
        ParameterSpec(name: "b", defaultValue: "2048", help: "WRoPE offset b when scores=wrope", type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "oracle", summary: "exact top-B by true q·k per query head, union over the GQA group", kind: .retrieval,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "oracle")
        let scores = p.choice("scores", as: Scores.self), offset = p.int("b")
        return OracleTopK(model: model, budget: budget ?? 0, sinks: p.int("sinks"), window: p.int("window"),
                          windowedRoPE: scores == .wrope ? WindowedRoPE(config: model, offset: offset) : nil)
    }

    public let budget: Int
    public let sinks: Int
    public let window: Int
    /// Set when ranking by windowed-RoPE scores.
    public let windowedRoPE: WindowedRoPE?
    private let kvHeads: Int
    private let groupSize: Int
    private let headDim: Int
    private let group = GroupTopK()
    private let rotated: UnsafeMutablePointer<Float>   // the query head being ranked

    public init(model: ModelConfig, budget: Int, sinks: Int, window: Int, windowedRoPE: WindowedRoPE? = nil) {
        self.budget = budget
        self.sinks = sinks
        self.window = window
        self.windowedRoPE = windowedRoPE
        rotated = .allocate(capacity: model.headDim)
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = model.headDim
    }

    deinit { rotated.deallocate() }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {}

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length
        guard budget < n else { return .all(kvHeads: kvHeads) }
        return TokenSelection(perKVHead: (0..<kvHeads).map { kvHead in
            let keys = windowedRoPE == nil ? cache.keys(layer: query.layer, kvHead: kvHead)
                                           : cache.preRoPEKeys(layer: query.layer, kvHead: kvHead)
            return group.union(heads: (kvHead * groupSize)..<((kvHead + 1) * groupSize), count: n, k: budget,
                               sinks: sinks, window: window) { head, scores in
                if let windowedRoPE {
                    windowedRoPE.rotate(query.preRoPEQueries + head * headDim, into: rotated)
                } else {
                    rotated.update(from: query.queries + head * headDim, count: headDim)
                }
                // scores[0..<n] = K · q, K row-major n × headDim.
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(headDim), 1, keys, Int32(headDim),
                            rotated, 1, 0, scores, 1)
            }
        })
    }
}

/// Drops repeats from an ascending list.
func uniqued(_ sorted: [Int32]) -> [Int32] {
    var out: [Int32] = []
    out.reserveCapacity(sorted.count)
    for value in sorted where out.last != value { out.append(value) }
    return out
}
