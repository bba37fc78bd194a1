import A2ATSModel

/// Full (dense) attention — the reference every method is compared with (Vaswani et al., arXiv
/// 1706.03762). Reference settings: none; every head reads every cached token, no budget.
public final class FullAttention: CacheMethod {
    public static let descriptor = MethodDescriptor(
        name: "full", summary: "dense attention over every cached token (the reference)", kind: .dense,
        parameters: [], takesBudget: false
    ) { parameters, _, context in
        let model = context.model
        _ = try MethodParameters(parameters, specs: [], method: "full")
        return FullAttention(kvHeads: model.kvHeadCount)
    }

    private let kvHeads: Int

    public init(kvHeads: Int) { self.kvHeads = kvHeads }

    public var kind: CacheMethodKind { .dense }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {}

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection { .all(kvHeads: kvHeads) }

}
