import A2ATSMethods
import A2ATSModel
import A2ATSReports
import A2ATSSupport
import A2ATSTasks
import Foundation

/// `a2ats-eval fidelity`: per method × budget and per layer and head, how well each method's
/// token choice stands in for full attention on real prompts (see `FidelityProbe`). Writes
/// `fidelity.json` (every layer and head) and `fidelity.md` (means, and per-layer recall).
public struct FidelityRunner {
    public let configuration: RunConfiguration
    /// Decode steps measured per sample.
    public let steps: Int
    private let log: (String) -> Void

    public init(configuration: RunConfiguration, steps: Int, log: @escaping (String) -> Void = ProgressReporter.standardError) {
        self.configuration = configuration
        self.steps = steps
        self.log = log
    }

    /// Means of one probe over samples, steps, and (for `layers`) heads.
    struct Aggregate {
        var sums = FidelityProbe.Sums()
        mutating func add(_ other: FidelityProbe.Sums) {
            sums.steps += other.steps
            sums.recall += other.recall
            sums.mass += other.mass
            sums.outputError += other.outputError
            sums.scoreMSE += other.scoreMSE
            sums.scoreMSESteps += other.scoreMSESteps
        }
        var json: JSONValue {
            let n = Double(max(sums.steps, 1))
            return .object(["recall": .double(sums.recall / n), "attention_mass": .double(sums.mass / n),
                            "score_mse": sums.scoreMSESteps > 0 ? .double(sums.scoreMSE / Double(sums.scoreMSESteps)) : .null,
                            "output_relative_error": .double(sums.outputError / n), "measurements": .int(sums.steps)])
        }
    }

    @discardableResult
    public func run() throws -> (json: String, markdown: String) {
        let config = configuration
        let runs = try MethodRun.plan(methods: config.methods, budgets: config.budgets)
        var catalog = try TaskCatalog.builtIn()
        if let directory = config.taskDirectory { try catalog.load(directory: directory) }
        let loaded = try LanguageModel.load(path: config.modelPath)
        let model = loaded.model, c = model.config
        let modelSHA256 = try SHA256.hexDigest(ofFile: loaded.weightsFile)
        let codebooks = CodebookStore(model: loaded, modelSHA256: modelSHA256, log: log)
        // [run][layer][head]
        var totals = Array(repeating: Array(repeating: Array(repeating: Aggregate(), count: c.headCount), count: c.layerCount),
                           count: runs.count)
        var sampleCount = 0
        var inputs: [TaskInput] = []
        for name in config.tasks {
            let input = try TaskInput.resolve(name, catalog: catalog, configuration: config, tokenizer: loaded.tokenizer,
                                              contextLength: c.maxPositions)
            inputs.append(input)
            let builder = PromptBuilder(tokenizer: loaded.tokenizer, maxPromptTokens: min(config.maxLength ?? Int.max,
                                        c.maxPositions - steps), chatTemplate: config.chatTemplate)
            for (_, sample) in try input.samples(limit: config.samples, shard: config.shard) {
                let prompt = try builder.build(sample, task: input.definition)
                let n = prompt.tokenIDs.count
                if sampleCount == 0 { try codebooks.prepare(for: runs, promptTokens: n) }   // one calibration pass for all
                let probes = try runs.map { run in
                    FidelityProbe.Probe(label: run.canonical + (run.budget.map { "@\($0)" } ?? ""),
                                        method: try run.instantiate(promptTokens: n, model: c, resources: codebooks),
                                        k: run.budget?.resolve(promptTokens: n) ?? n)
                }
                let probe = FidelityProbe(probes: probes, config: c)
                let prefill = try model.prefill(prompt.tokenIDs, extraCapacity: steps, needs: probe.prefillNeeds)
                _ = try model.generate(from: prefill, method: probe, maxNewTokens: steps, stopTokens: [])
                for r in runs.indices { for l in 0..<c.layerCount { for h in 0..<c.headCount { totals[r][l][h].add(probe.sums[r][l][h]) } } }
                sampleCount += 1
                log("fidelity: \(input.definition.name) sample \(sample.id) (\(n) tokens) measured")
            }
        }
        try RunManifest.write(configuration: config, loaded: loaded, modelSHA256: modelSHA256, inputs: inputs, methodRuns: runs,
                              codebooks: codebooks, extra: ["fidelity_steps": .int(steps), "fidelity_samples": .int(sampleCount)])
        return try write(runs: runs, totals: totals, samples: sampleCount, config: c)
    }

    private func write(runs: [MethodRun], totals: [[[Aggregate]]], samples: Int, config c: ModelConfig) throws -> (json: String, markdown: String) {
        var methods: [JSONValue] = []
        var markdown = "# Selection fidelity\n\nTasks: \(configuration.tasks.joined(separator: ", ")); \(samples) samples; "
            + "\(steps) greedy decode steps each under full attention; every method is asked at every step, layer and query head "
            + "which tokens it would read. Recall is against the true top-k with k = the budget per head; mass is the share of the "
            + "true softmax on the tokens read; score MSE compares A²ATS's table-lookup scores with the true q·k/√d; output error is "
            + "‖o_sparse − o_full‖/‖o_full‖.\n\n"
            + "| method | budget | recall | attention mass | score MSE | output rel. error |\n| --- | --- | --- | --- | --- | --- |\n"
        for (index, run) in runs.enumerated() {
            var overall = Aggregate()
            var layers: [JSONValue] = []
            for layer in totals[index] {
                var layerTotal = Aggregate()
                for head in layer { layerTotal.add(head.sums); overall.add(head.sums) }
                layers.append(.object(["mean": layerTotal.json, "heads": .array(layer.map(\.json))]))
            }
            methods.append(.object(["method": .string(run.canonical), "budget": run.budget?.jsonValue ?? .null,
                                    "mean": overall.json, "layers": .array(layers)]))
            let mean = overall.json
            func cell(_ key: String) -> String { mean[key]?.doubleValue.map { String(format: "%.4f", $0) } ?? "—" }
            markdown += "| \(run.canonical) | \(run.budget.map { "\($0)" } ?? "full") | \(cell("recall")) | \(cell("attention_mass")) | "
                + "\(cell("score_mse")) | \(cell("output_relative_error")) |\n"
        }
        markdown += "\nPer-layer and per-head figures: `fidelity.json`.\n"
        let document: JSONValue = .object(["tasks": .array(configuration.tasks.map(JSONValue.string)), "samples": .int(samples),
                                           "steps": .int(steps), "methods": .array(methods)])
        let jsonPath = configuration.outputDirectory + "/fidelity.json"
        let markdownPath = configuration.outputDirectory + "/fidelity.md"
        try AtomicFile.write(document.prettyText, to: jsonPath)
        try AtomicFile.write(markdown, to: markdownPath)
        return (jsonPath, markdownPath)
    }
}
