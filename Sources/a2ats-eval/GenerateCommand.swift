import A2ATSHarness
import A2ATSModel
import A2ATSTasks

/// `generate`: writes a RULER-format JSONL file whose prompts fit the target length in the
/// model's own tokens — no Python, no network.
enum GenerateCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval generate",
        abstract: "Generate a RULER task at a target length (in the model's tokens) as RULER-format JSONL.",
        usage: "--task niah_multikey_3 --length 8192 --samples 50 --seed 7 --out f.jsonl",
        options: [
            OptionSpec("task", valueName: "name", help: "one of the 13 RULER tasks (see `a2ats-eval tasks`)"),
            CommonOptions.model,
            OptionSpec("length", valueName: "tokens", help: "RULER max_seq_length: prompt + max new tokens fit in it",
                       defaultValue: String(RunDefaults.length)),
            OptionSpec("samples", valueName: "n", help: "number of samples", defaultValue: String(RunDefaults.generatedSamples)),
            OptionSpec("seed", valueName: "n", help: "random seed; the same seed gives a byte-identical file",
                       defaultValue: String(RunDefaults.seed)),
            OptionSpec("out", alias: "o", valueName: "file", help: "output JSONL file"),
            OptionSpec("tasks-dir", valueName: "dir", help: "extra task definitions (JSON) beside the built-in ones"),
        ])

    static func execute(_ arguments: ParsedArguments) throws {
        guard let name = arguments.value("task") else { throw UsageError("generate needs --task") }
        guard let out = arguments.value("out") else { throw UsageError("generate needs --out FILE") }
        guard let length = try arguments.intValue("length"), length > 0 else { throw UsageError("--length must be positive") }
        guard let samples = try arguments.intValue("samples"), samples > 0 else { throw UsageError("--samples must be positive") }
        guard let seed = UInt64(arguments.value("seed")!) else { throw UsageError("--seed must be a non-negative integer") }
        var catalog = try TaskCatalog.builtIn()
        if let directory = arguments.value("tasks-dir") { try catalog.load(directory: directory) }
        let task = try catalog.task(named: name)
        // Only the tokenizer: generation may target lengths beyond the model's context.
        let tokenizer = try LanguageModel.loadTokenizer(path: arguments.value("model") ?? LanguageModel.defaultModelPath)
        let generated = try RulerGenerator(task: task, tokenizer: tokenizer).generate(length: length, samples: samples, seed: seed)
        try RulerGenerator.write(generated, to: out)
        print("wrote \(generated.count) samples of \(name) at length \(length) to \(out)")
    }
}
