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
public final class PyramidKV: ScoredEvictionMethod {
    public static let parameterSpecs = SnapKV.parameterSpecs + [
        ParameterSpec(name: "beta", defaultValue: "20", help: "pyramid steepness: the top layer chooses C/beta tokens",
                      type: .integer(1...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "pyramidkv", summary: "SnapKV scoring with per-layer budgets shrinking towards the top layers",
        kind: .eviction, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "pyramidkv")
        return PyramidKV(model: context.model, budget: budget ?? 0, window: p.int("window"),
                         kernel: p.int("kernel"), pooling: p.choice("pooling", as: SnapKV.Pooling.self),
                         beta: p.int("beta"))
    }

    public let window: Int
    public let kernel: Int
    public let pooling: SnapKV.Pooling
    public let beta: Int

    public init(model: ModelConfig, budget: Int, window: Int, kernel: Int, pooling: SnapKV.Pooling, beta: Int) {
        self.window = window
        self.kernel = kernel
        self.pooling = pooling
        self.beta = beta
        super.init(model: model, budget: budget)
    }

    public override var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: window) }
    override var protectedWindow: Int { window }

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

    override func layerBudget(_ layer: Int, promptLength n: Int) -> Int? {
        if budgets.isEmpty {
            budgets = Self.layerBudgets(budget: state.budget, window: window, promptLength: n, layers: state.layerCount, beta: beta)
        }
        return budgets[layer]
    }

    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        try SnapKV.scores(statistics, layer: layer, kvHead: kvHead, groupSize: groupSize, window: window, kernel: kernel,
                          pooling: pooling, method: "pyramidkv")
    }
}
