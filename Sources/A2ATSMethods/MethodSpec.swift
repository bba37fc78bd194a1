import Foundation

/// A method as the command line names it: `snapkv:window=32,kernel=7`.
public struct MethodSpec: Equatable, Sendable {
    public var name: String
    public var parameters: [String: String]

    public init(name: String, parameters: [String: String] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    /// Parses one item, `name` or `name:key=value,key=value`. Names are not checked here (see
    /// `MethodRegistry.descriptor(named:)`); a repeated key or an item without `=` is an error.
    public static func parse(_ text: String) throws -> MethodSpec {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains("=") else {
            throw MethodError.malformedSpec(spec: text, problem: "expected a method name before \":\"")
        }
        var spec = MethodSpec(name: name)
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                try spec.addParameter(String(item), in: text)
            }
        }
        return spec
    }

    /// Parses a `--methods` list. An item that contains `=` but no `:` continues the parameters of
    /// the method before it, so `full,snapkv:window=32,kernel=7,a2ats` is three methods.
    public static func parseList(_ text: String) throws -> [MethodSpec] {
        var specs: [MethodSpec] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if item.contains("="), !item.contains(":") {
                guard !specs.isEmpty else {
                    throw MethodError.malformedSpec(spec: text, problem: "parameter \"\(item)\" comes before any method name")
                }
                try specs[specs.count - 1].addParameter(item, in: text)
            } else {
                specs.append(try parse(item))
            }
        }
        return specs
    }

    private mutating func addParameter(_ item: String, in text: String) throws {
        let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let key = pair[0].trimmingCharacters(in: .whitespaces)
        guard pair.count == 2, !key.isEmpty else {
            throw MethodError.malformedSpec(spec: text, problem: "expected key=value, got \"\(item)\"")
        }
        guard parameters[key] == nil else {
            throw MethodError.malformedSpec(spec: text, problem: "parameter \"\(key)\" given twice")
        }
        parameters[key] = pair[1].trimmingCharacters(in: .whitespaces)
    }
}
