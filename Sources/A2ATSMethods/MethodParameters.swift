import A2ATSSupport

/// Reads a method's parameters from the user's strings, falling back to the reference defaults,
/// with errors that name the method, the parameter and what was expected.
struct MethodParameters {
    let method: String
    private let values: [String: String]

    init(_ given: [String: String], specs: [ParameterSpec], method: String) throws {
        let valid = specs.map(\.name)
        for key in given.keys.sorted() where !valid.contains(key) {
            throw MethodError.unknownParameter(method: method, name: key,
                                               suggestion: closestMatches(to: key, among: valid, ignoringCase: true).first,
                                               valid: valid)
        }
        var values: [String: String] = [:]
        for spec in specs { values[spec.name] = given[spec.name] ?? spec.defaultValue }
        self.method = method
        self.values = values
    }

    private func raw(_ name: String) -> String {
        guard let value = values[name] else { preconditionFailure("\(method) reads undeclared parameter \(name)") }
        return value
    }

    /// An integer within `range`.
    func int(_ name: String, in range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        let text = raw(name)
        guard let value = Int(text), range.contains(value) else {
            throw MethodError.invalidParameter(method: method, name: name, value: text,
                                               expected: "an integer in \(range.lowerBound)...\(range.upperBound == Int.max ? "∞" : String(range.upperBound))")
        }
        return value
    }

    /// A finite number within `range`.
    func float(_ name: String, in range: ClosedRange<Float>) throws -> Float {
        let text = raw(name)
        guard let value = Float(text), value.isFinite, range.contains(value) else {
            throw MethodError.invalidParameter(method: method, name: name, value: text,
                                               expected: "a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// One of a fixed set of words.
    func choice<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws -> T where T.RawValue == String {
        let text = raw(name)
        guard let value = T(rawValue: text) else {
            throw MethodError.invalidParameter(method: method, name: name, value: text,
                                               expected: "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }
}
