extension A2ATSMethod {
    /// Registry entry. The budget is per query head (⌊fraction·n⌋ or a token count); sinks and
    /// window come on top, and each KV head reads the union over its GQA group.
    public static let descriptor = MethodDescriptor(
        name: "a2ats", summary: "windowed RoPE + query-aware vector quantization ranks tokens; exact attention over the top",
        kind: .retrieval,
        parameters: A2ATSParameters.specs,
        takesBudget: true
    ) { parameters, budget, context in
        let parsed = try A2ATSParameters(parsing: parameters)
        guard let resources = context.resources else { throw A2ATSError.noCodebookSource }
        return try A2ATSMethod(parameters: parsed, codebooks: resources.codebooks(parsed.codebookConfiguration),
                               config: context.model, budgetTokens: budget)
    }
}
