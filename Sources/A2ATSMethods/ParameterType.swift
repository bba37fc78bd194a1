import A2ATSSupport
import Foundation

/// What a parameter's value may be. Every value is checked and written in one canonical form
/// (`wrope=1` and `wrope=true` are the same setting, `0.030` is `0.03`), so that a spec, its
/// `params` and its resume key never depend on how the user typed it.
public enum ParameterType: Equatable, Sendable {
    case integer(ClosedRange<Int>)
    /// One of a few integers (bit widths).
    case integerChoice([Int])
    /// An odd integer (pooling kernels).
    case oddInteger(ClosedRange<Int>)
    case number(ClosedRange<Double>)
    /// A number in (0, 1].
    case fraction
    case boolean
    case choice([String])
    /// Layer indices as `0/1/12` (`/` because `,` separates parameters), or `none`.
    case layerList

    /// The canonical text of `text`, or nil when it is not a value of this type.
    public func canonical(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch self {
        case let .integer(range):
            return Int(trimmed).flatMap { range.contains($0) ? String($0) : nil }
        case let .oddInteger(range):
            return Int(trimmed).flatMap { range.contains($0) && $0 % 2 == 1 ? String($0) : nil }
        case let .integerChoice(values):
            return Int(trimmed).flatMap { values.contains($0) ? String($0) : nil }
        case let .number(range):
            return Double(trimmed).flatMap { $0.isFinite && range.contains($0) ? Self.write($0) : nil }
        case .fraction:
            return Double(trimmed).flatMap { $0 > 0 && $0 <= 1 ? Self.write($0) : nil }
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "1", "yes", "on": return "true"
            case "false", "0", "no", "off": return "false"
            default: return nil
            }
        case let .choice(words):
            return words.contains(trimmed) ? trimmed : nil
        case .layerList:
            if trimmed.lowercased() == "none" || trimmed.isEmpty { return "none" }
            let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
            return Set(parts.map { $0! }).sorted().map(String.init).joined(separator: "/")
        }
    }

    /// What a valid value looks like, for error messages.
    public var expected: String {
        func bound(_ value: Int) -> String { value == Int.max ? "∞" : String(value) }
        switch self {
        case let .integer(range): return "an integer in \(range.lowerBound)...\(bound(range.upperBound))"
        case let .oddInteger(range): return "an odd integer in \(range.lowerBound)...\(bound(range.upperBound))"
        case let .integerChoice(values): return "one of " + values.map(String.init).joined(separator: ", ")
        case let .number(range): return "a number in \(Self.write(range.lowerBound))...\(Self.write(range.upperBound))"
        case .fraction: return "a fraction in (0, 1]"
        case .boolean: return "true or false"
        case let .choice(words): return "one of " + words.joined(separator: ", ")
        case .layerList: return "layer indices separated by '/' (e.g. 0/1/12), or none"
        }
    }

    /// The JSON type `params` gives the canonical text.
    func json(_ canonical: String) -> JSONValue {
        switch self {
        case .integer, .oddInteger, .integerChoice: return Int(canonical).map(JSONValue.int) ?? .string(canonical)
        case .number, .fraction: return Double(canonical).map(JSONValue.double) ?? .string(canonical)
        case .boolean: return .bool(canonical == "true")
        case .choice: return .string(canonical)
        case .layerList:
            return .array(canonical == "none" ? [] : canonical.split(separator: "/").compactMap { Int($0) }.map(JSONValue.int))
        }
    }

    /// Shortest decimal text that reads back as the same Double ("0.03", "20", "1e-06").
    static func write(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}
