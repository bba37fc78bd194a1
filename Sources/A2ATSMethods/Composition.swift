import A2ATSModel

/// A token method (eviction or retrieval: which tokens are read) over the store of a precision or
/// channel method (how the kept tokens are stored): `snapkv+kivi:bits=2`, `a2ats+kivi:bits=4`,
/// `snapkv+think`. Alone, a precision method is this with full attention as its token method.
final class ComposedMethod: CacheMethod {
    let tokens: CacheMethod
    let store: KVStore
    let kind: CacheMethodKind

    init(tokens: CacheMethod, store: KVStore, kind: CacheMethodKind) {
        self.tokens = tokens
        self.store = store
        self.kind = kind
    }

    var prefillNeeds: PrefillNeeds { tokens.prefillNeeds.merged(with: store.prefillNeeds) }
    var kvStore: KVStore? { store }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        try tokens.didPrefill(layer: layer, cache: cache, statistics: statistics)
    }

    func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection { tokens.select(query, cache: cache) }

    func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {
        tokens.didAttend(query, selection: selection, weights: weights)
    }

    func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { tokens.residentTokens(layer: layer, kvHead: kvHead) }
    func sideBytes(cache: KVCache) -> Int { tokens.sideBytes(cache: cache) }
}

/// A spec checked against the registry: one method, or a token method with a precision or
/// channel method, in canonical order (token method first). What the harness plans, records and
/// builds; `canonicalSpec` re-parses to the same method.
public struct ResolvedMethod {
    public struct Part {
        public let descriptor: MethodDescriptor
        /// The user's parameters of this part.
        public let parameters: [String: String]
    }

    public let parts: [Part]

    /// The part that chooses tokens (nil for a precision or channel method alone).
    public var tokenPart: Part? { parts.first { $0.descriptor.makeStore == nil } }
    /// The part that owns the store (nil for a token method alone).
    public var storePart: Part? { parts.first { $0.descriptor.makeStore != nil } }
    public var isComposed: Bool { parts.count > 1 }

    /// `snapkv+kivi`, or the one method's name.
    public var name: String { parts.map(\.descriptor.name).joined(separator: "+") }
    public var kind: CacheMethodKind { isComposed ? .composed : parts[0].descriptor.kind }
    /// The kind of the part that chooses tokens (`.dense` for a store method alone).
    public var tokenKind: CacheMethodKind { tokenPart?.descriptor.kind ?? .dense }
    public var takesBudget: Bool { tokenPart?.descriptor.takesBudget ?? false }

    /// `snapkv:kernel=5+kivi:bits=2`: each part with its non-default parameters.
    public func canonicalSpec(budgeted: Bool = false) throws -> String {
        try parts.map { try $0.descriptor.canonicalSpec($0.parameters, budgeted: budgeted && $0.descriptor.takesBudget) }
            .joined(separator: "+")
    }

    /// `params` of results.jsonl: a composed method's parameters are named `part.parameter`.
    public func resolvedParameters(budgeted: Bool = false) throws -> [ResolvedParameter] {
        try parts.flatMap { part in
            try part.descriptor.resolvedParameters(part.parameters, budgeted: budgeted && part.descriptor.takesBudget)
                .map { isComposed ? $0.named(part.descriptor.name + "." + $0.name) : $0 }
        }
    }

    /// Builds the method for one sample at one budget (tokens per head).
    public func instantiate(budgetTokens: Int?, model: ModelConfig, resources: MethodResources? = nil) throws -> CacheMethod {
        guard isComposed, let token = tokenPart, let store = storePart else {
            return try parts[0].descriptor.instantiate(parameters: parts[0].parameters, budgetTokens: budgetTokens,
                                                       model: model, resources: resources)
        }
        let tokens = try token.descriptor.instantiate(parameters: token.parameters, budgetTokens: budgetTokens,
                                                      model: model, resources: resources)
        return ComposedMethod(tokens: tokens, store: try makeStore(store, model: model, resources: resources), kind: .composed)
    }

    private func makeStore(_ part: Part, model: ModelConfig, resources: MethodResources?) throws -> KVStore {
        try part.descriptor.makeStore!(try part.descriptor.canonicalParameters(part.parameters),
                                       MethodContext(model: model, resources: resources))
    }

    /// The token budget a KV-memory budget buys (contract, "Budgets and accounting"): the most
    /// prompt tokens per KV head whose K/V, as this method's store holds them, fit in `fraction`
    /// of the full cache's bytes (f32). Eviction methods keep that many; a store method alone
    /// keeps every token, so it has no token budget to resolve (nil).
    public func tokenBudget(kvFraction fraction: Double, promptTokens n: Int, model: ModelConfig) throws -> Int? {
        guard takesBudget else { return nil }
        let store = try storePart.map { try makeStore($0, model: model, resources: nil) } ?? DenseKVStore()
        let target = fraction * Double(n * denseBytesPerTokenAndHead(headDim: model.headDim))
        // Not monotone in t (KIVI quantizes keys in whole residual blocks), so every t is tried.
        var best = 1
        for t in 1...max(1, n) where Double(store.promptBytesPerHead(keeping: t, headDim: model.headDim)) <= target { best = t }
        return best
    }
}

extension MethodRegistry {
    /// Checks a spec (names, parameters, composition rules) and puts its parts in canonical order.
    /// A composition is one token method (eviction or retrieval) with one precision or channel
    /// method; parameters stay with the part they were written after.
    public static func resolve(_ spec: MethodSpec) throws -> ResolvedMethod {
        let written = spec.parts
        let parts = try written.map { ResolvedMethod.Part(descriptor: try descriptor(named: $0.name), parameters: $0.parameters) }
        let text = written.map(\.name).joined(separator: "+")
        if parts.count > 1 {
            let names = parts.map(\.descriptor.name)
            if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
                throw MethodError.invalidComposition(spec: text, problem: "\(repeated) is composed with itself")
            }
            let tokenParts = parts.filter { $0.descriptor.makeStore == nil }
            let storeParts = parts.filter { $0.descriptor.makeStore != nil }
            if tokenParts.count > 1 {
                throw MethodError.invalidComposition(spec: text, problem: tokenParts.map(\.descriptor.name).joined(separator: " and ")
                    + " both choose tokens; compose one token method with one precision or channel method (e.g. snapkv+kivi:bits=2)")
            }
            if storeParts.count > 1 {
                throw MethodError.invalidComposition(spec: text, problem: storeParts.map(\.descriptor.name).joined(separator: " and ")
                    + " both decide how tokens are stored; compose one of them with a token method")
            }
            if let owner = tokenParts.first?.descriptor, owner.ownsStore {
                throw MethodError.invalidComposition(spec: text, problem: "\(owner.name) reads K/V from a store of its own; "
                    + "write it alone")
            }
            if tokenParts.first?.descriptor.takesBudget == false {
                throw MethodError.invalidComposition(spec: text, problem: "\(tokenParts[0].descriptor.name) reads every token: "
                    + "write \(storeParts[0].descriptor.name) alone")
            }
        }
        // A parameter written on the wrong part gets an error that names the part it belongs to.
        for part in parts {
            for key in part.parameters.keys.sorted() where !part.descriptor.parameters.contains(where: { $0.name == key }) {
                if let owner = parts.first(where: { $0.descriptor.parameters.contains { $0.name == key } }) {
                    throw MethodError.invalidComposition(spec: text, problem: "\(key) is a parameter of \(owner.descriptor.name), "
                        + "not of \(part.descriptor.name): write it after \(owner.descriptor.name)")
                }
            }
        }
        let ordered = parts.sorted { ($0.descriptor.makeStore == nil ? 0 : 1) < ($1.descriptor.makeStore == nil ? 0 : 1) }
        let resolved = ResolvedMethod(parts: ordered)
        _ = try resolved.resolvedParameters()
        return resolved
    }
}
