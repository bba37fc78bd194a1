import A2ATSSupport
import Foundation

/// Jinja's operators, filters, tests, global functions and the Python methods chat templates
/// call (`dict.items()`, `str.strip()`, …), with Python semantics. Unknown names are refused
/// with the template position and a did-you-mean suggestion.
enum JinjaBuiltins {
    static let filters = ["abs", "capitalize", "count", "d", "default", "first", "float", "int", "items", "join",
                          "last", "length", "list", "lower", "map", "reject", "rejectattr", "replace", "reverse",
                          "safe", "select", "selectattr", "string", "tojson", "trim", "upper"]
    static let tests = ["defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
                        "string", "mapping", "iterable", "sequence", "equalto", "eq", "==", "ne", "!=", "lt", "<",
                        "gt", ">", "le", "<=", "ge", ">=", "in", "odd", "even", "divisibleby", "lower", "upper"]
    static let functions = ["namespace", "raise_exception", "range", "dict"]
    /// jinja2's `sandbox.MAX_RANGE`: the longest `range()` a sandboxed template may build.
    static let maxRange: UInt = 100_000
    /// The longest string (in UTF-8 bytes; items for a list) an operator builds or a rendering
    /// outputs: far beyond any prompt, short of an allocation a template made up.
    static let maxStringLength = 1 << 24
    /// Loop iterations per rendering: one full sandbox range, or hundreds of turns looped over per
    /// turn; a template that hangs needs billions.
    static let maxIterations = 100_000

    /// `a + b` for strings, refused past `maxStringLength` (doubling in a loop would outgrow memory).
    static func joined(_ a: String, _ b: String, at position: JinjaPosition) throws -> String {
        guard a.utf8.count + b.utf8.count <= maxStringLength else {
            throw position.runtime("string concatenation would be longer than \(maxStringLength) bytes")
        }
        return a + b
    }

    static func unknown(_ kind: String, _ name: String, _ known: [String], _ position: JinjaPosition) -> JinjaError {
        var message = "unsupported \(kind) \"\(name)\""
        if let guess = closestMatches(to: name, among: known).first { message += " (did you mean \"\(guess)\"?)" }
        return position.runtime(message)
    }

    // MARK: - Access

    static func iterate(_ value: JinjaValue, at position: JinjaPosition) throws -> [JinjaValue] {
        switch value {
        case .list(let items): return items
        case .dictionary(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw position.runtime("\(value.typeName) is not iterable")
        }
    }

    static func attribute(_ value: JinjaValue, _ name: String, at position: JinjaPosition) throws -> JinjaValue {
        switch value {
        case .dictionary(let d): return d[name] ?? .undefined(name)
        case .namespace(let n): return n.values[name] ?? .undefined(name)
        case .undefined(let base): throw position.runtime("\"\(base)\" is undefined (reading .\(name))")
        default: return .undefined(name)
        }
    }

    static func item(_ value: JinjaValue, _ key: JinjaValue, at position: JinjaPosition) throws -> JinjaValue {
        switch (value, key) {
        case (.dictionary(let d), .string(let k)): return d[k] ?? .undefined(k)
        case (.namespace(let n), .string(let k)): return n.values[k] ?? .undefined(k)
        case (.list(let items), .int(let i)):
            let index = i < 0 ? items.count + i : i
            return items.indices.contains(index) ? items[index] : .undefined("index \(i)")
        case (.string(let s), .int(let i)):
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(index) ? .string(String(scalars[index])) : .undefined("index \(i)")
        case (.undefined(let base), _): throw position.runtime("\"\(base)\" is undefined (reading [\(key.repr)])")
        default: return .undefined(key.text)
        }
    }

    /// Python slicing of lists and strings.
    static func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?,
                      at position: JinjaPosition) throws -> JinjaValue {
        func bound(_ v: JinjaValue?) throws -> Int? {
            guard let v, v != .none else { return nil }
            guard case .int(let i) = v else { throw position.runtime("slice indices must be integers") }
            return i
        }
        let stride = try bound(step) ?? 1
        guard stride != 0 else { throw position.runtime("slice step cannot be zero") }
        func pick<T>(_ items: [T]) throws -> [T] {
            let n = items.count
            func clamp(_ i: Int?, _ fallback: Int) -> Int {
                guard var i else { return fallback }
                if i < 0 { i += n }
                return stride > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
            }
            var i = clamp(try bound(start), stride > 0 ? 0 : n - 1)
            let end = clamp(try bound(stop), stride > 0 ? n : -1)
            var out: [T] = []
            while stride > 0 ? i < end : i > end {
                out.append(items[i])
                i += stride
            }
            return out
        }
        switch value {
        case .list(let items): return .list(try pick(items))
        case .string(let s):
            var text = String.UnicodeScalarView()
            text.append(contentsOf: try pick(Array(s.unicodeScalars)))
            return .string(String(text))
        default: throw position.runtime("\(value.typeName) cannot be sliced")
        }
    }

    // MARK: - Operators

    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, at position: JinjaPosition) throws -> JinjaValue {
        func fail() -> JinjaError {
            if case .undefined(let name) = a { return position.runtime("\"\(name)\" is undefined (in \(op))") }
            if case .undefined(let name) = b { return position.runtime("\"\(name)\" is undefined (in \(op))") }
            return position.runtime("unsupported operand types for \(op): \(a.typeName) and \(b.typeName)")
        }
        switch op {
        case "==": return .bool(a == b)
        case "!=": return .bool(a != b)
        case "~": return .string(try joined(a.text, b.text, at: position))
        case "in", "not in":
            let found: Bool
            switch (a, b) {
            case (.string(let x), .string(let y)): found = y.contains(x) || x.isEmpty
            case (_, .list(let items)): found = items.contains(a)
            case (.string(let k), .dictionary(let d)): found = d[k] != nil
            case (_, .dictionary): found = false
            default: throw fail()
            }
            return .bool(found == (op == "in"))
        case "<", ">", "<=", ">=":
            let order: Bool
            if let x = a.number, let y = b.number {
                order = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : x >= y
            } else if case .string(let x) = a, case .string(let y) = b {
                order = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : x >= y
            } else {
                throw fail()
            }
            return .bool(order)
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(try joined(x, y, at: position))
            case (.list(let x), .list(let y)):
                guard x.count + y.count <= maxStringLength else {
                    throw position.runtime("list + list would have more than \(maxStringLength) items")
                }
                return .list(x + y)
            default: break
            }
        case "*":
            switch (a, b) {
            case (.string(let s), .int(let n)), (.int(let n), .string(let s)):
                let (length, overflow) = s.utf8.count.multipliedReportingOverflow(by: max(n, 0))
                guard !overflow, length <= maxStringLength else {
                    throw position.runtime("string * \(n) would be longer than \(maxStringLength) bytes")
                }
                return .string(String(repeating: s, count: max(n, 0)))
            default: break
            }
        default: break
        }
        // Arithmetic on numbers: ints stay ints except for true division.
        guard let x = a.number, let y = b.number, !(a.isString || b.isString) else { throw fail() }
        if case .int(let i) = a.asInt, case .int(let j) = b.asInt {
            // Python's ints do not overflow; a 64-bit result that would is refused, not wrapped.
            func exact(_ result: (partialValue: Int, overflow: Bool)) throws -> Int {
                guard !result.overflow else { throw position.runtime("integer overflow in \(i) \(op) \(j)") }
                return result.partialValue
            }
            switch op {
            case "+": return .int(try exact(i.addingReportingOverflow(j)))
            case "-": return .int(try exact(i.subtractingReportingOverflow(j)))
            case "*": return .int(try exact(i.multipliedReportingOverflow(by: j)))
            case "//", "%":
                guard j != 0 else { throw position.runtime("integer division or modulo by zero") }
                // Python floors: -7 // 2 == -4, -7 % 2 == 1.
                var quotient = try exact(i.dividedReportingOverflow(by: j)), remainder = i % j
                if remainder != 0, (remainder < 0) != (j < 0) { quotient -= 1; remainder += j }
                return .int(op == "//" ? quotient : remainder)
            case "**" where j >= 0:
                if i == 0 || i == 1 { return .int(j == 0 ? 1 : i) }
                if i == -1 { return .int(j % 2 == 0 ? 1 : -1) }
                var power = 1
                // |i| ≥ 2 overflows within 64 factors.
                for _ in 0..<j { power = try exact(power.multipliedReportingOverflow(by: i)) }
                return .int(power)
            default: break
            }
        }
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            guard y != 0 else { throw position.runtime("division by zero") }
            return .double(x / y)
        case "//":
            guard y != 0 else { throw position.runtime("division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw position.runtime("modulo by zero") }
            return .double(x - (x / y).rounded(.down) * y)
        case "**": return .double(pow(x, y))
        default: throw fail()
        }
    }

    // MARK: - Functions and methods

    static func function(_ name: String, _ arguments: [JinjaValue], _ keyword: [String: JinjaValue],
                         at position: JinjaPosition) throws -> JinjaValue {
        switch name {
        case "raise_exception":
            throw JinjaError.raised(line: position.line, column: position.column, message: arguments.first?.text ?? "")
        case "namespace", "dict":
            var values = JinjaDictionary()
            if case .dictionary(let initial)? = arguments.first { values = initial }
            for key in keyword.keys.sorted() { values[key] = keyword[key] }
            return name == "dict" ? .dictionary(values) : .namespace(JinjaNamespace(values))
        case "range":
            let bounds = try arguments.map { value -> Int in
                guard case .int(let i) = value else { throw position.runtime("range() takes integers") }
                return i
            }
            let (start, stop, step) = bounds.count == 1 ? (0, bounds[0], 1)
                : (bounds.first ?? 0, bounds.count > 1 ? bounds[1] : 0, bounds.count > 2 ? bounds[2] : 1)
            guard step != 0 else { throw position.runtime("range() step must not be zero") }
            // The span as an unsigned difference, exact even where `stop - start` overflows Int.
            let span = step > 0 ? (stop > start ? UInt(bitPattern: stop &- start) : 0) : (start > stop ? UInt(bitPattern: start &- stop) : 0)
            let count = span == 0 ? 0 : (span - 1) / step.magnitude + 1
            // jinja2's sandbox (which transformers renders in) refuses the same ranges.
            guard count <= maxRange else { throw position.runtime("range() of \(count) items is larger than \(maxRange)") }
            return .list(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
        default:
            throw unknown("function", name, functions, position)
        }
    }

    static func method(_ value: JinjaValue, _ name: String, _ arguments: [JinjaValue], _ keyword: [String: JinjaValue],
                       at position: JinjaPosition) throws -> JinjaValue {
        switch (value, name) {
        case (.dictionary(let d), "items"): return .list(d.map { .list([.string($0.key), $0.value]) })
        case (.dictionary(let d), "keys"): return .list(d.keys.map { .string($0) })
        case (.dictionary(let d), "values"): return .list(d.map(\.value))
        case (.dictionary(let d), "get"):
            guard case .string(let key)? = arguments.first else { throw position.runtime("get() takes a string key") }
            return d[key] ?? (arguments.count > 1 ? arguments[1] : .none)
        case (.string(let s), "strip"), (.string(let s), "lstrip"), (.string(let s), "rstrip"):
            let characters = arguments.first.map { Set($0.text.unicodeScalars) }
            return .string(strip(s, characters, leading: name != "rstrip", trailing: name != "lstrip"))
        case (.string(let s), "startswith"): return .bool(s.hasPrefix(arguments.first?.text ?? ""))
        case (.string(let s), "endswith"): return .bool(s.hasSuffix(arguments.first?.text ?? ""))
        case (.string(let s), "lower"): return .string(s.lowercased())
        case (.string(let s), "upper"): return .string(s.uppercased())
        case (.string(let s), "replace"):
            guard arguments.count == 2 else { throw position.runtime("replace() takes two arguments") }
            return .string(s.replacingOccurrences(of: arguments[0].text, with: arguments[1].text))
        case (.string(let s), "split"):
            if let separator = arguments.first?.text {
                return .list(s.components(separatedBy: separator).map { .string($0) })
            }
            return .list(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
        case (.undefined(let base), _):
            throw position.runtime("\"\(base)\" is undefined (calling .\(name)())")
        default:
            throw position.runtime("unsupported method \(value.typeName).\(name)()")
        }
    }

    /// Python `str.strip()`: Unicode whitespace (plus the ASCII separators \x1c-\x1f) or the given characters.
    static func strip(_ s: String, _ characters: Set<Unicode.Scalar>? = nil, leading: Bool = true, trailing: Bool = true) -> String {
        let strippable: (Unicode.Scalar) -> Bool = { scalar in
            if let characters { return characters.contains(scalar) }
            return scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
        }
        let scalars = Array(s.unicodeScalars)
        var start = 0, end = scalars.count
        if leading { while start < end && strippable(scalars[start]) { start += 1 } }
        if trailing { while end > start && strippable(scalars[end - 1]) { end -= 1 } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[start..<end])
        return String(out)
    }
}

extension JinjaValue {
    var isString: Bool { if case .string = self { return true }; return false }
    /// Ints and bools as `.int`, anything else unchanged.
    var asInt: JinjaValue {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        default: return self
        }
    }
}
