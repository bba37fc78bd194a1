import A2ATSModel
import A2ATSSupport
import Foundation

/// The manifest of a `run` or a `fidelity` directory: model, tokenizer, task files with checksums,
/// seeds, every method with all its parameters, the build, and the codebooks A²ATS read
/// (file sha256 and calibration settings), so that every row can be traced to what produced it.
enum RunManifest {
    static func write(configuration config: RunConfiguration, loaded: LanguageModel, modelSHA256: String,
                      inputs: [TaskInput], methodRuns: [MethodRun], codebooks: CodebookStore, extra more: JSONObject) throws {
        var seeds = JSONObject()
        seeds["generation"] = .int(Int(config.seed))
        var methods: [JSONValue] = []
        var seen = Set<String>()
        for run in methodRuns where seen.insert(run.canonical).inserted {
            methods.append(.object(["method": .string(run.canonical), "params": .object(run.parametersJSON)]))
        }
        var extra = JSONObject()
        extra["tasks"] = .array(inputs.map { input in
            .object(["name": .string(input.definition.name), "version": .int(input.definition.version),
                     "metric": .string(input.definition.metric), "max_new_tokens": .int(input.definition.maxNewTokens),
                     "length": input.generatedLength.map(JSONValue.int) ?? .null])
        })
        extra["samples"] = config.samples.map(JSONValue.int) ?? .null
        extra["max_length"] = config.maxLength.map(JSONValue.int) ?? .null
        extra["decoding"] = "greedy"
        if !config.kvBudgets.isEmpty {
            extra["kv_budgets"] = .object([
                "fractions": .array(config.kvBudgets.map(\.jsonValue)),
                "of": "the full cache's K/V bytes at f32, per sample (prompt tokens × layers × KV heads × 2 × head dim × 4)",
                "resolved": "per sample and method: the most prompt tokens per KV head whose K/V fit at the method's store precision (budget_tokens)",
            ])
        }
        if !config.attendedTargets.isEmpty {
            extra["attended_fractions"] = .object([
                "targets": .array(config.attendedTargets.map(\.jsonValue)),
                "of": "prompt tokens: attended_tokens ÷ prompt_tokens, measured over the row's decode",
                "search": .string("per sample and method: whole decodes of the row, bracketing the budget, until within ±\(Int(AttendedBudgetSearch.tolerance * 100))% (at most \(AttendedBudgetSearch.maxTries), from B = ⌊f·n⌋ by secant steps; the search sees only this sample, so resumed and sharded runs settle on the same budgets); the row keeps the closest (budget_tokens)"),
            ])
        }
        extra["codebooks"] = .array(codebooks.manifestEntries)
        extra["prefill_weights"] = .string(loaded.model.prefillWeights.rawValue)
        for (key, value) in more { extra[key] = value }
        let parts = ManifestParts(
            commandLine: config.commandLine,
            model: FingerprintedFile(path: loaded.weightsFile, sha256: modelSHA256),
            tokenizer: loaded.tokenizer.summary,
            chatTemplate: config.chatTemplate.rawValue + " (auto: base for RULER, per dataset for LongBench)",
            truncation: "middle, to min(--max-length, context − max new tokens) prompt tokens",
            taskFiles: try inputs.map { try FingerprintedFile(hashing: $0.dataFile) },
            seeds: seeds, methods: methods, budgets: config.budgets,
            shard: config.shard, shardOrigin: config.shardOrigin, extra: extra)
        try Manifest.write(Manifest.build(parts, build: .current, machine: .current()), toDirectory: config.outputDirectory)
    }
}
