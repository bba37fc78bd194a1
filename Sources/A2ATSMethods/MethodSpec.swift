import Foundation

/// A method as the command line names it: `snapkv:window=32,kernel=7`, or composed with `+`
/// (`snapkv:window=32+kivi:bits=2`): each part carries its own parameters.
public struct MethodSpec: Equatable, Sendable {
    public var name: String
    public var parameters: [String: String]
    /// The parts after `+`, in the order written (`MethodRegistry.resolve` checks and orders them).
    public var composedWith: [MethodSpec]

    public init(name: String, parameters: [String: String] = [:], composedWith: [MethodSpec] = []) {
        self.name = name
        self.parameters = parameters
        self.composedWith = composedWith
    }

    /// Every part, in the order written.
    public var parts: [MethodSpec] { [MethodSpec(name: name, parameters: parameters)] + composedWith }

    /// Parses one item, `name`, `name:key=value,key=value` or parts joined by `+`. Names are not
    /// checked here (see `MethodRegistry.resolve`); a repeated key or an item without `=` is an error.
    public static func parse(_ text: String) throws -> MethodSpec {
        let parts = try text.split(separator: "+", omittingEmptySubsequences: false).map { try parsePart(String($0), in: text) }
        var spec = parts[0]
        spec.composedWith = Array(parts.dropFirst())
        return spec
    }

    private static func parsePart(_ text: String, in whole: String) throws -> MethodSpec {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains("=") else {
            throw MethodError.malformedSpec(spec: whole, problem: text.trimmingCharacters(in: .whitespaces).isEmpty
                                            ? "a \"+\" must join two method names" : "expected a method name before \":\"")
        }
        var spec = MethodSpec(name: name)
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                try spec.addParameter(String(item), in: whole)
            }
        }
        return spec
    }

    /// Parses a `--methods` list. An item that contains `=` but no `:` continues the parameters of
    /// the method (or composed part) before it, so `full,snapkv:window=32,kernel=7,a2ats` is three
    /// methods and `snapkv:window=32,kernel=7+kivi:bits=2,group=32` is one, kernel going to snapkv
    /// and group to kivi.
    public static func parseList(_ text: String) throws -> [MethodSpec] {
        var specs: [MethodSpec] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = item.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if pieces[0].contains("="), !pieces[0].contains(":") {
                guard !specs.isEmpty else {
                    throw MethodError.malformedSpec(spec: text, problem: "parameter \"\(pieces[0])\" comes before any method name")
                }
                try specs[specs.count - 1].addParameterToLastPart(pieces[0], in: text)
                if pieces.count == 2 { specs[specs.count - 1].composedWith += try parse(pieces[1]).parts }
            } else {
                specs.append(try parse(item))
            }
        }
        return specs
    }

    private mutating func addParameterToLastPart(_ item: String, in text: String) throws {
        if composedWith.isEmpty { try addParameter(item, in: text) } else {
            try composedWith[composedWith.count - 1].addParameter(item, in: text)
        }
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
