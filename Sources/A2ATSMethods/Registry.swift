import A2ATSModel
import A2ATSSupport

/// One tunable setting of a method, with its paper's reference value and its type.
public struct ParameterSpec: Equatable, Sendable {
    public let name: String
    /// The reference setting, as it is written on the command line.
    public let defaultValue: String
    public let help: String
    public let type: ParameterType
    /// Whether a run's budget replaces this setting (A²ATS's `topk`): then it is not recorded as
    /// if it applied, and setting it beside a budget is an error.
    public let replacedByBudget: Bool

    public init(name: String, defaultValue: String, help: String, type: ParameterType, replacedByBudget: Bool = false) {
        precondition(type.canonical(defaultValue) == defaultValue, "default \(name)=\(defaultValue) is not canonical")
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
        self.type = type
        self.replacedByBudget = replacedByBudget
    }

    /// The canonical text of a value the user gave, or an error naming what was expected.
    func canonical(_ text: String, method: String) throws -> String {
        guard let value = type.canonical(text) else {
            throw MethodError.invalidParameter(method: method, name: name, value: text, expected: type.expected)
        }
        return value
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
    /// Another method's offline data for this model (`ArtifactRequest`), loaded from the cache or calibrated.
    func artifact(_ request: ArtifactRequest) throws -> OfflineArtifact
}

extension MethodResources {
    /// Sources that only hold codebooks have no other offline data.
    public func artifact(_ request: ArtifactRequest) throws -> OfflineArtifact {
        throw OfflineArtifactError.noSource(kind: request.kind)
    }
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
    /// Precision and channel methods: the fork's store, which composition puts under a token method.
    public let makeStore: ((_ parameters: [String: String], _ context: MethodContext) throws -> KVStore)?
    /// A token method that reads K/V from a store of its own (ShadowKV's rebuilt keys): it cannot be
    /// put over a precision or channel method's store.
    public let ownsStore: Bool
    /// Checks that need several parameters at once (KIVI's residual is a multiple of its group),
    /// run when a run is planned, before the model loads.
    public let validate: ((_ parameters: [String: String]) throws -> Void)?

    public init(name: String, summary: String, kind: CacheMethodKind, parameters: [ParameterSpec], takesBudget: Bool,
                ownsStore: Bool = false, validate: ((_ parameters: [String: String]) throws -> Void)? = nil,
                make: @escaping (_ parameters: [String: String], _ budgetTokens: Int?, _ context: MethodContext) throws -> CacheMethod) {
        self.name = name
        self.summary = summary
        self.kind = kind
        self.parameters = parameters
        self.takesBudget = takesBudget
        self.ownsStore = ownsStore
        self.make = make
        self.makeStore = nil
        self.validate = validate
    }

    /// A precision or channel method: alone it is full attention over its store; after `+` it
    /// stores what a token method keeps.
    public init(storeMethod name: String, summary: String, kind: CacheMethodKind, parameters: [ParameterSpec],
                validate: ((_ parameters: [String: String]) throws -> Void)? = nil,
                makeStore: @escaping (_ parameters: [String: String], _ context: MethodContext) throws -> KVStore) {
        self.name = name
        self.summary = summary
        self.kind = kind
        self.parameters = parameters
        self.takesBudget = false
        self.ownsStore = false
        self.makeStore = makeStore
        self.validate = validate
        make = { parameters, _, context in
            ComposedMethod(tokens: FullAttention(kvHeads: context.model.kvHeadCount), store: try makeStore(parameters, context),
                           kind: kind)
        }
    }

    /// Every parameter that applies, with its canonical value (given or default), in declaration
    /// order: the `params` of results.jsonl. With `budgeted`, parameters a budget replaces are left
    /// out, and giving one is an error. Unknown names and bad values are errors naming the valid ones.
    public func resolvedParameters(_ given: [String: String], budgeted: Bool = false) throws -> [ResolvedParameter] {
        try checkNames(given)
        try validate?(try canonicalParameters(given))
        var resolved: [ResolvedParameter] = []
        for spec in parameters {
            let value = try given[spec.name].map { try spec.canonical($0, method: name) } ?? spec.defaultValue
            if budgeted && spec.replacedByBudget {
                if given[spec.name] != nil {
                    throw MethodError.invalidParameter(method: name, name: spec.name, value: given[spec.name]!,
                                                       expected: "no value: --budgets sets what \(spec.name) would")
                }
                continue
            }
            resolved.append(ResolvedParameter(spec: spec, value: value))
        }
        return resolved
    }

    /// The canonical spec with the non-default parameters only (`snapkv:kernel=5`), as the
    /// `method` field of results.jsonl spells it; it re-parses to the same method.
    public func canonicalSpec(_ given: [String: String], budgeted: Bool = false) throws -> String {
        let changed = try resolvedParameters(given, budgeted: budgeted).filter { $0.value != $0.spec.defaultValue }
        guard !changed.isEmpty else { return name }
        return name + ":" + changed.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }

    /// The user's parameters in canonical form, for building the method.
    public func canonicalParameters(_ given: [String: String]) throws -> [String: String] {
        try checkNames(given)
        var out: [String: String] = [:]
        for spec in parameters { if let text = given[spec.name] { out[spec.name] = try spec.canonical(text, method: name) } }
        return out
    }

    /// Checks the parameters and the budget, then builds the method.
    public func instantiate(parameters given: [String: String], budgetTokens: Int?, model: ModelConfig,
                            resources: MethodResources? = nil) throws -> CacheMethod {
        let given = try canonicalParameters(given)
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

/// One parameter as a run applies it.
public struct ResolvedParameter: Sendable {
    public let spec: ParameterSpec
    /// Canonical text.
    public let value: String
    /// The name `params` records: the spec's, or `part.name` inside a composed method.
    public let name: String

    init(spec: ParameterSpec, value: String, name: String? = nil) {
        self.spec = spec
        self.value = value
        self.name = name ?? spec.name
    }

    func named(_ name: String) -> ResolvedParameter { ResolvedParameter(spec: spec, value: value, name: name) }
    /// The value as `params` records it: numbers and booleans as JSON types.
    public var json: JSONValue { spec.type.json(value) }
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
        PrefixKV.descriptor,
        KNorm.descriptor,
        TOVA.descriptor,
        CORM.descriptor,
        A2ATSMethod.descriptor,
        ActQKV.descriptor,
        FP16.descriptor,
        KIVI.descriptor,
        QAQ.descriptor,
        ThinK.descriptor,
        Quest.descriptor,
        PQCache.descriptor,
        ClusterKV.descriptor,
        DoubleSparsity.descriptor,
        InfiniGen.descriptor,
        ShadowKV.descriptor,
        MagicPIG.descriptor,
    ]

    public static let byName: [String: MethodDescriptor] = Dictionary(uniqueKeysWithValues: descriptors.map { ($0.name, $0) })

    public static var names: [String] { descriptors.map(\.name) }

    /// The method of that name, or an error with a did-you-mean suggestion and the valid names.
    public static func descriptor(named name: String) throws -> MethodDescriptor {
        if let found = byName[name] { return found }
        throw MethodError.unknownMethod(name: name, suggestion: closestMatches(to: name, among: names, ignoringCase: true).first,
                                        valid: names)
    }

    /// Builds the method a spec names (composed or not), for one sample at one budget.
    public static func make(_ spec: MethodSpec, budgetTokens: Int?, model: ModelConfig,
                            resources: MethodResources? = nil) throws -> CacheMethod {
        try resolve(spec).instantiate(budgetTokens: budgetTokens, model: model, resources: resources)
    }
}
