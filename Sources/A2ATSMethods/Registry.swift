import A2ATSModel
import A2ATSSupport

/// One tunable setting of a method, with its paper's reference value.
public struct ParameterSpec: Equatable, Sendable {
    public let name: String
    /// The reference setting, as it is written on the command line.
    public let defaultValue: String
    public let help: String

    public init(name: String, defaultValue: String, help: String) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// What a method may use besides its parameters: the model's shape and, for methods with
/// offline-built side structures (A²ATS codebooks), where to get them.
public struct MethodContext {
    public let model: ModelConfig
    public let resources: MethodResources?

    public init(model: ModelConfig, resources: MethodResources? = nil) {
        self.model = model
        self.resources = resources
    }
}

/// Side structures built offline for one model, supplied by the harness (which knows the model
/// file and the cache directory).
public protocol MethodResources: AnyObject {
    /// A²ATS codebooks of this model for `configuration`, loaded from the cache or calibrated.
    func codebooks(_ configuration: CodebookConfiguration) throws -> CodebookSet
}

/// Everything the harness needs to list, configure and build one method.
public struct MethodDescriptor {
    public let name: String
    /// One line for `--help` and reports.
    public let summary: String
    public let kind: CacheMethodKind
    public let parameters: [ParameterSpec]
    /// Whether the method works within a token budget (false only for `full`): a method without one
    /// runs once whatever `--budgets` holds.
    public let takesBudget: Bool
    /// Builds a fresh instance for one sample at one budget. Parameters are the user's strings
    /// (only those given; defaults fill the rest); the budget is in tokens per head.
    public let make: (_ parameters: [String: String], _ budgetTokens: Int?, _ context: MethodContext) throws -> CacheMethod

    public init(name: String, summary: String, kind: CacheMethodKind, parameters: [ParameterSpec], takesBudget: Bool,
                make: @escaping (_ parameters: [String: String], _ budgetTokens: Int?, _ context: MethodContext) throws -> CacheMethod) {
        self.name = name
        self.summary = summary
        self.kind = kind
        self.parameters = parameters
        self.takesBudget = takesBudget
        self.make = make
    }

    /// Every parameter with its value (given or default), in declaration order: the `params` of
    /// results.jsonl. Unknown names are an error listing the valid ones.
    public func resolvedParameters(_ given: [String: String]) throws -> [(name: String, value: String)] {
        try checkNames(given)
        return parameters.map { ($0.name, given[$0.name] ?? $0.defaultValue) }
    }

    /// The canonical spec with the non-default parameters only (`snapkv:kernel=5`), as the
    /// `method` field of results.jsonl spells it.
    public func canonicalSpec(_ given: [String: String]) throws -> String {
        let changed = try resolvedParameters(given).filter { item in
            parameters.first { $0.name == item.name }?.defaultValue != item.value
        }
        guard !changed.isEmpty else { return name }
        return name + ":" + changed.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }

    /// Checks the parameter names and the budget, then builds the method.
    public func instantiate(parameters given: [String: String], budgetTokens: Int?, model: ModelConfig,
                            resources: MethodResources? = nil) throws -> CacheMethod {
        try checkNames(given)
        if takesBudget {
            guard let budgetTokens else { throw MethodError.budgetRequired(method: name) }
            guard budgetTokens >= 1 else { throw MethodError.invalidBudget(method: name, tokens: budgetTokens) }
        }
        return try make(given, budgetTokens, MethodContext(model: model, resources: resources))
    }

    func checkNames(_ given: [String: String]) throws {
        let valid = parameters.map(\.name)
        for key in given.keys.sorted() where !valid.contains(key) {
            throw MethodError.unknownParameter(method: name, name: key,
                                               suggestion: closestMatches(to: key, among: valid, ignoringCase: true).first,
                                               valid: valid)
        }
    }
}

/// The methods the harness knows, by name. A plain dictionary: adding a method is one file plus
/// one entry in `descriptors`.
public enum MethodRegistry {
    /// Every registered method, in the order `--help` and reports list them.
    public static let descriptors: [MethodDescriptor] = [
        FullAttention.descriptor,
        OracleTopK.descriptor,
        StreamingLLM.descriptor,
        H2O.descriptor,
        SnapKV.descriptor,
        PyramidKV.descriptor,
        KNorm.descriptor,
        TOVA.descriptor,
        CORM.descriptor,
        A2ATSMethod.descriptor,
    ]

    public static let byName: [String: MethodDescriptor] = Dictionary(uniqueKeysWithValues: descriptors.map { ($0.name, $0) })

    public static var names: [String] { descriptors.map(\.name) }

    /// The method of that name, or an error with a did-you-mean suggestion and the valid names.
    public static func descriptor(named name: String) throws -> MethodDescriptor {
        if let found = byName[name] { return found }
        throw MethodError.unknownMethod(name: name, suggestion: closestMatches(to: name, among: names, ignoringCase: true).first,
                                        valid: names)
    }

    /// Builds the method a spec names, for one sample at one budget.
    public static func make(_ spec: MethodSpec, budgetTokens: Int?, model: ModelConfig) throws -> CacheMethod {
        try descriptor(named: spec.name).instantiate(parameters: spec.parameters, budgetTokens: budgetTokens, model: model)
    }
}
