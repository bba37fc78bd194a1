import Foundation

/// A cache method as written on the command line: a name and `key=value` parameters.
///
/// Grammar (contract.md, "Command line"): `--methods` is a comma-separated list; an item is
/// `name` or `name:key=value`; an item whose first `=` comes before any `:` continues the
/// parameters of the method before it. So `full,snapkv:window=32,kernel=7,a2ats` is three
/// methods. (Deciding by the first `=` rather than by "contains no `:`" lets a parameter
/// value hold a colon, e.g. `file=a:b`; every list valid under the contract parses the same.)
public struct MethodSpec: Hashable, CustomStringConvertible {
    public let name: String
    /// Parameters in the order written; keys are unique.
    public private(set) var parameters: MethodParameters

    public init(name: String, parameters: MethodParameters = [:]) {
        self.name = name
        self.parameters = parameters
    }

    /// The spec as written: name, then parameters in their given order.
    public var description: String {
        parameters.isEmpty ? name : name + ":" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// The canonical spec that results files record as `method` and resume keys compare:
    /// the name, then only the parameters that differ from `defaults`, sorted by key
    /// (`snapkv:kernel=7`). Values compare as text, so the methods registry should pass
    /// defaults written the way users write values (`7`, not `7.0`).
    public func canonical(defaults: [String: String]) -> String {
        let changed = parameters.filter { defaults[$0.key] != $0.value }.sorted { $0.key < $1.key }
        return changed.isEmpty ? name : name + ":" + changed.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

/// Insertion-ordered `key → value` text parameters.
public struct MethodParameters: Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storage: [String: String] = [:]

    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { self[key] = value }
    }

    public subscript(key: String) -> String? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }

    public func makeIterator() -> AnyIterator<(key: String, value: String)> {
        var iterator = keys.makeIterator()
        return AnyIterator { iterator.next().map { ($0, storage[$0]!) } }
    }
}

/// Parses a `--methods` list; see `MethodSpec` for the grammar. Errors name the offending item.
public func parseMethodList(_ text: String) throws -> [MethodSpec] {
    var methods: [MethodSpec] = []
    for rawItem in text.split(separator: ",", omittingEmptySubsequences: false) {
        let item = rawItem.trimmingWhitespace
        guard !item.isEmpty else { throw UsageError("empty item in method list '\(text)'") }
        let colon = item.firstIndex(of: ":")
        let equals = item.firstIndex(of: "=")
        if let equals, colon.map({ equals < $0 }) ?? true {
            guard !methods.isEmpty else {
                throw UsageError("parameter '\(item)' comes before any method name in '\(text)'")
            }
            try addParameter(item, to: &methods[methods.count - 1])
            continue
        }
        let name = colon.map { String(item[..<$0]) } ?? item
        guard isValidName(name) else { throw UsageError("invalid method name '\(name)' in '\(text)'") }
        var method = MethodSpec(name: name)
        if let colon { try addParameter(String(item[item.index(after: colon)...]), to: &method) }
        methods.append(method)
    }
    return methods
}

private func addParameter(_ item: String, to method: inout MethodSpec) throws {
    guard let equals = item.firstIndex(of: "=") else {
        throw UsageError("parameter '\(item)' of method '\(method.name)' must be key=value")
    }
    let key = String(item[..<equals]).trimmingWhitespace
    let value = String(item[item.index(after: equals)...]).trimmingWhitespace
    guard isValidName(key) else { throw UsageError("invalid parameter name '\(key)' for method '\(method.name)'") }
    guard !value.isEmpty else { throw UsageError("parameter '\(key)' of method '\(method.name)' has no value") }
    guard method.parameters[key] == nil else {
        throw UsageError("parameter '\(key)' of method '\(method.name)' is given twice")
    }
    var parameters = method.parameters
    parameters[key] = value
    method = MethodSpec(name: method.name, parameters: parameters)
}

/// Names and keys are identifiers with `-` and `.` allowed: nothing the list grammar uses.
private func isValidName(_ text: String) -> Bool {
    !text.isEmpty && text.unicodeScalars.allSatisfy {
        ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == ".") && $0.isASCII
    }
}

extension StringProtocol {
    var trimmingWhitespace: String { String(self).trimmingCharacters(in: .whitespacesAndNewlines) }
}
