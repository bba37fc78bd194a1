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

    /// Name, default value and help of every parameter, for `--help` and the registry.
    public static let defaults: [(name: String, value: String, help: String)] = [
        ("topk", "0.03", "fraction of cached tokens each query head selects when the run gives no budget"),
        ("sinks", "8", "first tokens always read"),
        ("window", "64", "most recent tokens always read (w)"),
        ("wrope", "true", "codes of pre-RoPE keys ranked with windowed RoPE; false = codes of post-RoPE keys"),
        ("query_aware", "true", "weight quantization by the query covariance H; false = plain k-means"),
        ("b", "2048", "WRoPE relative position b"),
        ("centroids", "512", "codebook entries C (codes are 16-bit)"),
    ]

    /// Parses `key=value` pairs; unknown names or bad values throw with the valid choices.
    public init(parsing values: [String: String]) throws {
        self.init()
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            func integer(_ minimum: Int, _ maximum: Int = Int.max) throws -> Int {
                guard let v = Int(value), v >= minimum, v <= maximum else {
                    throw A2ATSError.invalidParameter(name: name, value: value, expected: "an integer in \(minimum)...\(maximum)")
                }
                return v
            }
            func flag() throws -> Bool {
                switch value.lowercased() {
                case "true", "1", "yes", "on": return true
                case "false", "0", "no", "off": return false
                default: throw A2ATSError.invalidParameter(name: name, value: value, expected: "true or false")
                }
            }
            switch name {
            case "topk":
                guard let v = Double(value), v > 0, v <= 1 else {
                    throw A2ATSError.invalidParameter(name: name, value: value, expected: "a fraction in (0, 1]")
                }
                topk = v
            case "sinks": sinks = try integer(0)
            case "window": window = try integer(0)
            case "wrope": wrope = try flag()
            case "query_aware": queryAware = try flag()
            case "b": offset = try integer(0)
            case "centroids": centroids = try integer(1, Int(UInt16.max) + 1)
            default: throw A2ATSError.unknownParameter(name: name, valid: Self.defaults.map(\.name))
            }
        }
    }

    /// Every parameter with its value, defaults included (the `params` field of results.jsonl).
    public var values: [(name: String, value: String)] {
        [("topk", "\(topk)"), ("sinks", "\(sinks)"), ("window", "\(window)"), ("wrope", "\(wrope)"),
         ("query_aware", "\(queryAware)"), ("b", "\(offset)"), ("centroids", "\(centroids)")]
    }

    /// The codebooks these parameters need.
    public var codebookConfiguration: CodebookConfiguration {
        CodebookConfiguration(centroids: centroids, wrope: wrope, wropeOffset: offset, queryAware: queryAware)
    }
}
