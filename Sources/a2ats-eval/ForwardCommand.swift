import A2ATSHarness
import A2ATSModel
import A2ATSSupport

/// `forward`: the logits of the last position for a text, as JSON — the hook for parity checks
/// against other implementations.
enum ForwardCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval forward",
        abstract: "Print the top-20 next-token logits for a text (no chat template) as one JSON object.",
        usage: "[--model PATH] --text TEXT [--generate N]",
        options: [
            CommonOptions.model,
            OptionSpec("text", valueName: "text", help: "the prompt, fed as is (BOS added only if the model adds one)"),
            OptionSpec("top", valueName: "n", help: "how many (token id, logit) pairs to print", defaultValue: "20"),
            OptionSpec("generate", valueName: "n",
                       help: "also decode up to n greedy tokens under full attention and print their ids as \"generated\"",
                       defaultValue: "0"),
        ])

    static func execute(_ arguments: ParsedArguments) throws {
        guard let text = arguments.value("text") else { throw UsageError("forward needs --text") }
        let top = try arguments.intValue("top") ?? 20
        let newTokens = try arguments.intValue("generate") ?? 0
        guard newTokens >= 0 else { throw UsageError("--generate must be 0 or more, got \(newTokens)") }
        let loaded = try LanguageModel.load(path: arguments.value("model") ?? LanguageModel.defaultModelPath)
        let tokens = loaded.tokenizer.encodeForModel(text)
        let prefill = try loaded.model.prefill(tokens, extraCapacity: newTokens)
        let ranked = prefill.lastLogits.enumerated()
            .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(top)
        var output = JSONObject()
        output["model"] = .string(loaded.location)
        output["tokens"] = .array(tokens.map(JSONValue.int))
        output["top"] = .array(ranked.map { .array([.int($0.offset), .double(Double($0.element))]) })
        if newTokens > 0 {
            // The same greedy loop as `run` with full attention, so token ids can be compared with llama.cpp's.
            let generation = try loaded.model.generate(from: prefill, method: nil, maxNewTokens: newTokens,
                                                       stopTokens: loaded.tokenizer.stopTokenIDs)
            output["generated"] = .array(generation.tokens.map(JSONValue.int))
        }
        print(JSONValue.object(output).compactText)
    }
}
