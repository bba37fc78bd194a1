import A2ATSModel

/// StreamingLLM, "Efficient Streaming Language Models with Attention Sinks" (arXiv 2309.17453).
/// Reference settings: 4 sink tokens + the most recent tokens, all within the budget B; the
/// window rolls while decoding.
///
/// When B ≤ sinks, the sinks shrink to B − 1 so that the current token is always read.
public final class StreamingLLM: ScoredEvictionMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "sinks", defaultValue: "4", help: "first tokens always kept (inside the budget)",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "streamingllm", summary: "attention sinks + rolling recent window within the budget", kind: .eviction,
        parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "streamingllm")
        return StreamingLLM(model: context.model, budget: budget ?? 0, sinks: p.int("sinks"))
    }

    public let sinks: Int

    public init(model: ModelConfig, budget: Int, sinks: Int) {
        self.sinks = min(sinks, max(0, budget - 1))
        super.init(model: model, budget: budget)
    }

    override var protectedSinks: Int { sinks }
    override var protectedWindow: Int { state.budget - sinks }
    /// Everything but the sinks and the window is the oldest non-sink token: it rolls out.
    override var evictsWhileDecoding: Bool { true }

    /// No scores: the budget holds exactly the sinks and the window.
    override func scores(layer: Int, kvHead: Int, cache: KVCache, statistics: PrefillStatistics) throws -> [Float] {
        [Float](repeating: 0, count: cache.length)
    }
}
