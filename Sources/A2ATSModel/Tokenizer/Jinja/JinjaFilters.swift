import Foundation

extension JinjaBuiltins {
    static func filter(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue], _ keyword: [String: JinjaValue],
                       at position: JinjaPosition) throws -> JinjaValue {
        switch name {
        case "trim":
            return .string(strip(value.text, arguments.first.map { Set($0.text.unicodeScalars) }))
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let l): return .int(l.count)
            case .dictionary(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw position.runtime("object of type \(value.typeName) has no length")
            }
        case "tojson":
            var indent: Int?
            if case .int(let i)? = keyword["indent"] ?? arguments.first { indent = i }
            return .string(try value.json(indent: indent, at: position))
        case "string": return .string(value.text)
        case "list": return .list(try iterate(value, at: position))
        case "safe": return value
        case "lower": return .string(value.text.lowercased())
        case "upper": return .string(value.text.uppercased())
        case "capitalize":
            let text = value.text
            return .string(text.prefix(1).uppercased() + text.dropFirst().lowercased())
        case "replace":
            guard arguments.count >= 2 else { throw position.runtime("replace takes two arguments") }
            return .string(value.text.replacingOccurrences(of: arguments[0].text, with: arguments[1].text))
        case "default", "d":
            let useFallback = value.isUndefined || ((keyword["boolean"] ?? arguments.dropFirst().first)?.isTruthy == true && !value.isTruthy)
            return useFallback ? (arguments.first ?? .string("")) : value
        case "first": return try iterate(value, at: position).first ?? .undefined("first")
        case "last": return try iterate(value, at: position).last ?? .undefined("last")
        case "reverse":
            if case .string(let s) = value { return .string(String(s.reversed())) }
            return .list(Array(try iterate(value, at: position).reversed()))
        case "join":
            let separator = (keyword["d"] ?? arguments.first)?.text ?? ""
            var items = try iterate(value, at: position)
            if case .string(let attribute)? = keyword["attribute"] {
                items = try items.map { try self.attribute($0, attribute, at: position) }
            }
            return .string(items.map(\.text).joined(separator: separator))
        case "items":
            guard case .dictionary(let d) = value else { throw position.runtime("items needs a mapping, found \(value.typeName)") }
            return .list(d.map { .list([.string($0.key), $0.value]) })
        case "int":
            switch value {
            case .int: return value
            case .double(let d):
                guard let i = Int(exactly: d.rounded(.towardZero)) else { throw position.runtime("int of \(d) does not fit 64 bits") }
                return .int(i)
            case .bool(let b): return .int(b ? 1 : 0)
            case .string(let s): return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? 0)
            default: return .int(0)
            }
        case "float":
            if let number = value.number { return .double(number) }
            if case .string(let s) = value { return .double(Double(s.trimmingCharacters(in: .whitespaces)) ?? 0) }
            return .double(0)
        case "abs":
            switch value {
            case .int(let i):
                guard i != .min else { throw position.runtime("integer overflow in abs(\(i))") }
                return .int(abs(i))
            case .double(let d): return .double(abs(d))
            default: throw position.runtime("abs needs a number, found \(value.typeName)")
            }
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            var rest = arguments
            var attributeName: String?
            if byAttribute {
                guard case .string(let a)? = rest.first else { throw position.runtime("\(name) needs an attribute name") }
                attributeName = a
                rest.removeFirst()
            }
            let keep = name.hasPrefix("select")
            return .list(try iterate(value, at: position).filter { item in
                let subject = try attributeName.map { try attribute(item, $0, at: position) } ?? item
                let passes: Bool
                if case .string(let testName)? = rest.first {
                    passes = try test(testName, subject, Array(rest.dropFirst()), at: position)
                } else {
                    passes = subject.isTruthy
                }
                return passes == keep
            })
        case "map":
            let items = try iterate(value, at: position)
            if case .string(let attributeName)? = keyword["attribute"] {
                return .list(try items.map { try attribute($0, attributeName, at: position) })
            }
            guard case .string(let filterName)? = arguments.first else { throw position.runtime("map needs a filter name or attribute=") }
            return .list(try items.map { try filter(filterName, $0, Array(arguments.dropFirst()), [:], at: position) })
        default:
            throw unknown("filter", name, filters, position)
        }
    }

    static func test(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue], at position: JinjaPosition) throws -> Bool {
        let other = arguments.first ?? .undefined("test argument")
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value == .none && !value.isUndefined
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .double = value { return true }; return false
        case "number": switch value { case .int, .double: return true; default: return false }
        case "string": return value.isString
        case "mapping": if case .dictionary = value { return true }; return false
        case "iterable", "sequence": switch value { case .list, .dictionary, .string: return true; default: return false }
        case "equalto", "eq", "==": return value == other
        case "ne", "!=": return value != other
        case "lt", "<", "gt", ">", "le", "<=", "ge", ">=":
            let symbol = ["lt": "<", "gt": ">", "le": "<=", "ge": ">="][name] ?? name
            return try binary(symbol, value, other, at: position).isTruthy
        case "in": return try binary("in", value, other, at: position).isTruthy
        case "odd", "even", "divisibleby":
            guard case .int(let i) = value.asInt else { throw position.runtime("\(name) needs an integer") }
            if name == "divisibleby" {
                guard case .int(let d) = other.asInt, d != 0 else { throw position.runtime("divisibleby needs a non-zero integer") }
                return i % d == 0
            }
            return (abs(i) % 2 == 1) == (name == "odd")
        case "lower": return value.text == value.text.lowercased()
        case "upper": return value.text == value.text.uppercased()
        default: throw unknown("test", name, tests, position)
        }
    }
}
