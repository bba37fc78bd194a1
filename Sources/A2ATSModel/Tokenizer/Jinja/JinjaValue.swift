import Foundation

/// A value inside a chat template, with Python's semantics where templates depend on them
/// (truthiness, `str()`, equality between 1 and 1.0, `json.dumps` for `tojson`).
public enum JinjaValue: Equatable {
    /// A name or key that does not exist; prints as "" and is falsy, as Jinja's `Undefined`.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([JinjaValue])
    case dictionary(JinjaDictionary)
    /// `namespace()`: the one mutable object templates have (shared by reference).
    case namespace(JinjaNamespace)

    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dictionary(let d): return d.count > 0
        case .namespace: return true
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }

    /// Python's type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined(let name): return "undefined (\(name))"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dictionary: return "dict"
        case .namespace: return "Namespace"
        }
    }

    /// Python `str()`, which `{{ … }}` and the `string` filter print.
    var text: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python `repr()` (how lists and dicts print their items).
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s): return JinjaValue.pythonQuoted(s)
        case .list(let l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case .dictionary(let d): return "{" + d.map { "\(JinjaValue.pythonQuoted($0.key)): \($0.value.repr)" }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace \(JinjaValue.dictionary(n.values).repr)>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    private static func pythonQuoted(_ s: String) -> String {
        let quote = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = quote
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if String(scalar) == quote { out += "\\" + quote }
                else if scalar.value < 0x20 || scalar.value == 0x7F { out += String(format: "\\x%02x", scalar.value) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + quote
    }

    /// Python `==`: numbers compare by value across int, float and bool.
    public static func == (a: JinjaValue, b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.dictionary(let x), .dictionary(let y)): return x == y
        case (.namespace(let x), .namespace(let y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// The value as a number (bools count as 0 and 1, as in Python).
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Python `json.dumps(value, ensure_ascii=False, indent=indent)` (transformers' `tojson`).
    func json(indent: Int?, level: Int = 0, at position: JinjaPosition) throws -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch self {
        case .undefined(let name): throw position.runtime("cannot serialize undefined \"\(name)\" to JSON")
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? JinjaValue.pythonFloat(d) : (d.isNaN ? "NaN" : d > 0 ? "Infinity" : "-Infinity")
        case .string(let s): return JinjaValue.jsonQuoted(s)
        case .list(let items):
            if items.isEmpty { return "[]" }
            let parts = try items.map { (newline ?? "") + (try $0.json(indent: indent, level: level + 1, at: position)) }
            return "[" + parts.joined(separator: separator) + closing + "]"
        case .dictionary(let d):
            if d.count == 0 { return "{}" }
            let parts = try d.map { (newline ?? "") + JinjaValue.jsonQuoted($0.key) + ": "
                + (try $0.value.json(indent: indent, level: level + 1, at: position)) }
            return "{" + parts.joined(separator: separator) + closing + "}"
        case .namespace: throw position.runtime("cannot serialize a namespace to JSON")
        }
    }

    private static func jsonQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// An insertion-ordered dictionary with string keys (chat messages, `loop`, tool schemas).
public struct JinjaDictionary: Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    public init() {}
    public init(dictionaryLiteral elements: (String, JinjaValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }

    public func makeIterator() -> AnyIterator<(key: String, value: JinjaValue)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], storage[keys[index]]!)
        }
    }

    /// Python dict equality: same keys and values, order ignored.
    public static func == (a: JinjaDictionary, b: JinjaDictionary) -> Bool { a.storage == b.storage }
}

/// The object `namespace(...)` returns; `{% set ns.x = … %}` inside a loop changes it for
/// everyone holding it, which is why templates use it to carry state out of loops.
public final class JinjaNamespace {
    var values: JinjaDictionary
    init(_ values: JinjaDictionary) { self.values = values }
}
