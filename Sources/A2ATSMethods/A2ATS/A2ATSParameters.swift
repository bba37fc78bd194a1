/// The `a2ats:key=value` parameters, with the reference settings of arXiv 2502.12665 except the
/// centroid count, which is sized for the default model (methods.md, "Sizing A²ATS").
public struct A2ATSParameters: Equatable, Sendable {
    /// Fraction of the cached tokens each query head selects, used when the run gives no budget.
    public var topk: Double = 0.03
    public var sinks: Int = 8
    /// The most recent tokens, always read (w).
    public var window: Int = 64
    public var wrope: Bool = true
    public var queryAware: Bool = true
    /// The WRoPE offset b.
    public var offset: Int = 2048
    public var centroids: Int = 512

    public init() {}

    /// Every parameter with its reference value and type, for `--help`, the registry and parsing.
    /// A run's budget replaces `topk` (then `params` leaves it out).
    public static let specs: [ParameterSpec] = [
        ParameterSpec(name: "topk", defaultValue: "0.03", help: "fraction of cached tokens each query head selects when no budget is given",
                      type: .fraction, replacedByBudget: true),
        ParameterSpec(name: "sinks", defaultValue: "8", help: "first tokens always read", type: .integer(0...Int.max)),
        ParameterSpec(name: "window", defaultValue: "64", help: "most recent tokens always read (w)", type: .integer(0...Int.max)),
        ParameterSpec(name: "wrope", defaultValue: "true",
                      help: "codes of pre-RoPE keys ranked with windowed RoPE; false = codes of post-RoPE keys", type: .boolean),
        ParameterSpec(name: "query_aware", defaultValue: "true",
                      help: "weight quantization by the query covariance H; false = plain k-means", type: .boolean),
        ParameterSpec(name: "b", defaultValue: "2048", help: "WRoPE relative position b", type: .integer(0...Int.max)),
        ParameterSpec(name: "centroids", defaultValue: "512", help: "codebook entries C (codes are 16-bit)",
                      type: .integer(1...(Int(UInt16.max) + 1))),
    ]

    /// Reads `key=value` pairs; unknown names or bad values throw with the valid choices.
    public init(parsing values: [String: String]) throws {
        let p = try MethodParameters(values, specs: Self.specs, method: "a2ats")
        topk = p.double("topk")
        sinks = p.int("sinks")
        window = p.int("window")
        wrope = p.bool("wrope")
        queryAware = p.bool("query_aware")
        offset = p.int("b")
        centroids = p.int("centroids")
    }

    /// The codebooks these parameters need.
    public var codebookConfiguration: CodebookConfiguration {
        CodebookConfiguration(centroids: centroids, wrope: wrope, wropeOffset: offset, queryAware: queryAware)
    }
}
