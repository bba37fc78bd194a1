/// Errors of method lookup, parameter parsing and method set-up. Each case names the method and
/// the offending value so that the CLI can print one clear line.
public enum MethodError: Error, Equatable, CustomStringConvertible {
    /// No method of that name; `suggestion` is the closest registered name, if any is close.
    case unknownMethod(name: String, suggestion: String?, valid: [String])
    /// The method has no parameter of that name.
    case unknownParameter(method: String, name: String, suggestion: String?, valid: [String])
    /// A parameter's value could not be read as what the method expects.
    case invalidParameter(method: String, name: String, value: String, expected: String)
    /// A method spec such as `snapkv:window=32` is not well formed.
    case malformedSpec(spec: String, problem: String)
    /// The method selects within a budget but none was given.
    case budgetRequired(method: String)
    /// A budget below one token.
    case invalidBudget(method: String, tokens: Int)
    /// A `+` composition that is not one token method with one precision or channel method.
    case invalidComposition(spec: String, problem: String)
    /// The shared prefill did not record what the method needs (a harness bug, not user data).
    case missingStatistics(method: String, layer: Int, needed: String)

    public var description: String {
        switch self {
        case let .unknownMethod(name, suggestion, valid):
            return "unknown method \"\(name)\"" + Self.didYouMean(suggestion) + "; valid methods: " + valid.joined(separator: ", ")
        case let .unknownParameter(method, name, suggestion, valid):
            let list = valid.isEmpty ? "it takes no parameters" : "valid parameters: " + valid.joined(separator: ", ")
            return "method \(method): unknown parameter \"\(name)\"" + Self.didYouMean(suggestion) + "; " + list
        case let .invalidParameter(method, name, value, expected):
            return "method \(method): parameter \(name)=\"\(value)\": expected \(expected)"
        case let .malformedSpec(spec, problem):
            return "method spec \"\(spec)\": \(problem)"
        case let .budgetRequired(method):
            return "method \(method) needs a budget (--budgets)"
        case let .invalidBudget(method, tokens):
            return "method \(method): budget \(tokens) tokens: expected at least 1"
        case let .invalidComposition(spec, problem):
            return "method \"\(spec)\": \(problem)"
        case let .missingStatistics(method, layer, needed):
            return "method \(method), layer \(layer): the prefill did not record \(needed)"
        }
    }

    private static func didYouMean(_ suggestion: String?) -> String {
        suggestion.map { " (did you mean \"\($0)\"?)" } ?? ""
    }
}
