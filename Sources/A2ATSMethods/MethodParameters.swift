import A2ATSSupport

/// A method's parameters as typed values: the user's strings checked against each parameter's
/// `ParameterType` (errors name the method, the parameter and what was expected), defaults for
/// the rest. Reading a value therefore cannot fail.
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
        for spec in specs { values[spec.name] = try given[spec.name].map { try spec.canonical($0, method: method) } ?? spec.defaultValue }
        self.method = method
        self.values = values
    }

    private func raw(_ name: String) -> String {
        guard let value = values[name] else { preconditionFailure("\(method) reads undeclared parameter \(name)") }
        return value
    }

    func int(_ name: String) -> Int { Int(raw(name))! }

    func double(_ name: String) -> Double { Double(raw(name))! }

    func float(_ name: String) -> Float { Float(double(name)) }

    func bool(_ name: String) -> Bool { raw(name) == "true" }

    /// Layer indices of a `.layerList` parameter.
    func layers(_ name: String) -> Set<Int> {
        let text = raw(name)
        return text == "none" ? [] : Set(text.split(separator: "/").map { Int($0)! })
    }

    func choice<T: RawRepresentable>(_ name: String, as type: T.Type) -> T where T.RawValue == String {
        T(rawValue: raw(name))!
    }
}
