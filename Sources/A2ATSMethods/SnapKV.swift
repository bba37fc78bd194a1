import A2ATSModel

/// SnapKV, "LLM Knows What You are Looking for Before Generation" (arXiv 2404.14469).
/// Reference settings (the authors' LongBench configuration): observation window 32, max pooling
/// with kernel 7; keep the top B − 32 tokens plus the window, once, at the end of prefill.
///
/// Score of prompt token j < n − w: attention it receives from the last w prompt queries, summed
/// (softmax over the whole prompt, as the reference computes it), then 1-D pooled over the tokens
/// before the window with padding kernel/2 (max pooling ignores the padding; average pooling
/// divides by the kernel, PyTorch's `count_include_pad`). GQA: pooled scores are averaged over the
/// group's query heads (kvpress's order). Generated tokens are all kept, as in the reference.
public final class SnapKV: ScoredEvictionMethod {
    public enum Pooling: String, CaseIterable, Sendable { case max, avg }

    public static let parameterSpecs = [
        ParameterSpec(name: "window", defaultValue: "32", help: "observation window: last prompt queries scored, all kept",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "kernel", defaultValue: "7", help: "1-D pooling kernel (odd; 1 = no pooling)",
                      type: .oddInteger(1...Int.max)),
        ParameterSpec(name: "pooling", defaultValue: "max", help: "max or avg", type: .choice(Pooling.allCases.map(\.rawValue))),
    ]

    public static let descriptor = MethodDescriptor(
        name: "snapkv", summary: "pooled attention of the last prompt queries picks the kept tokens", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "snapkv")
        return SnapKV(model: context.model, budget: budget ?? 0, window: p.int("window"),
                      kernel: p.int("kernel"), pooling: p.choice("pooling", as: Pooling.self))
    }


    public let window: Int
    public let kernel: Int
    public let pooling: Pooling

    public init(model: ModelConfig, budget: Int, window: Int, kernel: Int, pooling: Pooling) {
        self.window = window
        self.kernel = kernel
        self.pooling = pooling
        super.init(model: model, budget: budget)
    }

    public override var prefillNeeds: PrefillNeeds { PrefillNeeds(observationWindow: window) }
    override var protectedWindow: Int { window }

    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        try Self.scores(statistics, layer: layer, kvHead: kvHead, groupSize: groupSize, window: window, kernel: kernel,
                        pooling: pooling, method: "snapkv")
    }

    /// SnapKV's score for every prompt token of one KV head (0 for the window's own tokens).
    static func scores(_ statistics: PrefillStatistics, layer: Int, kvHead: Int, groupSize: Int, window: Int,
                       kernel: Int, pooling: Pooling, method: String) throws -> [Float] {
        let n = statistics.promptLength
        let w = min(window, n)
        guard statistics.observationWindow >= w else {
            throw MethodError.missingStatistics(method: method, layer: layer, needed: "attention of the last \(w) prompt queries")
        }
        let scored = n - w
        let firstRow = statistics.observationWindow - w
        var pooled = ScoredEviction.reduce(heads: (kvHead * groupSize)..<((kvHead + 1) * groupSize), count: scored,
                                           mode: .mean) { head in
            let rows = statistics.observedAttention(layer: layer, head: head)
            var sum = [Float](repeating: 0, count: scored)
            for r in firstRow..<statistics.observationWindow {
                let row = UnsafeBufferPointer(rebasing: rows[(r * n)..<(r * n + scored)])
                for j in 0..<scored { sum[j] += row[j] }
            }
            return pool(sum, kernel: kernel, pooling: pooling)
        }
        pooled.append(contentsOf: repeatElement(0, count: w))
        return pooled
    }

    /// 1-D pooling with stride 1 and padding kernel/2, as `F.max_pool1d` / `F.avg_pool1d`.
    static func pool(_ values: [Float], kernel: Int, pooling: Pooling) -> [Float] {
        guard kernel > 1 else { return values }
        let half = kernel / 2, n = values.count
        var out = [Float](repeating: 0, count: n)
        for j in 0..<n {
            let lo = max(0, j - half), hi = min(n - 1, j + half)
            switch pooling {
            case .max: out[j] = values[lo...hi].max() ?? 0
            case .avg: out[j] = values[lo...hi].reduce(0, +) / Float(kernel)
            }
        }
        return out
    }
}
