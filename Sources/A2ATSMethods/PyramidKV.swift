import A2ATSModel

/// PyramidKV, "Dynamic KV Cache Compression based on Pyramidal Information Funneling"
/// (arXiv 2406.02069). Reference settings: SnapKV's scoring (here window 32, max pooling, kernel 7,
/// as `snapkv`), and per-layer budgets that shrink from the lowest to the highest layer in an
/// arithmetic progression, with β = 20 as in the authors' `PyramidKVCluster`.
///
/// Budgets, following the reference code with C = B − window tokens to choose per layer:
/// min = ⌊C/β⌋, max = 2C − min (capped at n − window, then min = 2C − max); layer l chooses
/// max − l·(max − min)/(L − 1) tokens plus the window. Unlike the reference, whose integer step
/// makes the mean drift below B, the fractions are rounded so that the layers' budgets sum to
/// exactly L·B (largest remainders first, ties to the lower layer). If n < 2C every layer gets B
/// (the reference's SnapKV fallback); if n ≤ B everything is kept.
public final class PyramidKV: CacheMethod {
    public static let parameterSpecs = SnapKV.parameterSpecs + [
        ParameterSpec(name: "beta", defaultValue: "20", help: "pyramid steepness: the top layer chooses C/beta tokens",
                      type: .integer(1...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "pyramidkv", summary: "SnapKV scoring with per-layer budgets shrinking towards the top layers",
        kind: .eviction, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "pyramidkv")
        return PyramidKV(model: model, budget: budget ?? 0, window: p.int("window"),
                         kernel: p.int("kernel"), pooling: p.choice("pooling", as: SnapKV.Pooling.self),
                         beta: p.int("beta"))
    }

    public let window: Int
    public let kernel: Int
    public let pooling: SnapKV.Pooling
    public let beta: Int
    private let groupSize: Int
    private let state: ScoredEviction

    public init(model: ModelConfig, budget: Int, window: Int, kernel: Int, pooling: SnapKV.Pooling, beta: Int) {
        self.window = window
        self.kernel = kernel
        self.pooling = pooling
        self.beta = beta
        groupSize = model.groupSize
        state = ScoredEviction(model: model, budget: budget)
    }

    public var kind: CacheMethodKind { .eviction }
    public var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: window) }

    /// Tokens each layer keeps (window included) for a prompt of `promptLength` tokens.
    public static func layerBudgets(budget: Int, window: Int, promptLength n: Int, layers: Int, beta: Int) -> [Int] {
        let chosen = budget - window
        guard budget < n, chosen > 0, n >= 2 * chosen, layers > 1 else { return Array(repeating: budget, count: layers) }
        var minimum = chosen / beta
        var maximum = 2 * chosen - minimum
        if maximum >= n - window {
            maximum = n - window
            minimum = 2 * chosen - maximum
        }
        let step = Double(maximum - minimum) / Double(layers - 1)
        let exact = (0..<layers).map { Double(maximum) - Double($0) * step }
        var counts = exact.map { Int($0.rounded(.down)) }
        let missing = layers * chosen - counts.reduce(0, +)
        let byRemainder = (0..<layers).sorted { a, b in
            let ra = exact[a] - Double(counts[a]), rb = exact[b] - Double(counts[b])
            return ra > rb || (ra == rb && a < b)
        }
        for layer in byRemainder.prefix(missing) { counts[layer] += 1 }
        return counts.map { $0 + window }
    }

    private var budgets: [Int] = []

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length
        if budgets.isEmpty {
            budgets = Self.layerBudgets(budget: state.budget, window: window, promptLength: n, layers: state.layerCount,
                                        beta: beta)
        }
        guard !state.startLayer(layer, promptLength: n, budget: budgets[layer]) else { return }
        for kvHead in 0..<state.kvHeadCount {
            let scores = try SnapKV.scores(statistics, layer: layer, kvHead: kvHead, groupSize: groupSize, window: window,
                                           kernel: kernel, pooling: pooling, method: "pyramidkv")
            let kept = ScoredEviction.chooseKept(scores: scores, budget: budgets[layer], sinks: 0, window: window)
            state.keep(layer: layer, kvHead: kvHead, indices: kept)
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        state.appendNewTokens(layer: query.layer, cacheLength: cache.length)
        return state.selection(layer: query.layer)
    }

    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { state.resident(layer: layer, kvHead: kvHead) }
    public func sideBytes(cache: KVCache) -> Int { state.sideBytes }
}
