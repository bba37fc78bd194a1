import A2ATSMethods
import A2ATSModel
import A2ATSReports
import A2ATSScoring
import A2ATSSupport
import A2ATSTasks
import Foundation

/// Runs tasks × samples × methods × budgets on one model and writes `results.jsonl`,
/// `manifest.json` and `report.md` into the output directory.
///
/// Each sample is prefilled once with full attention (collecting the statistics every
/// requested method needs); each method × budget then forks a decode from that prefill.
/// Rows are appended and fsynced one by one, so `--resume` continues where a run stopped.
public final class EvaluationRunner {
    public let configuration: RunConfiguration
    private let log: (String) -> Void

    public init(configuration: RunConfiguration, log: @escaping (String) -> Void = ProgressReporter.standardError) {
        self.configuration = configuration
        self.log = log
    }

    /// What a finished run wrote.
    public struct Outcome {
        public let resultsFile: String
        public let reportFile: String
        public let manifestFile: String
        public let records: [ResultRecord]
        /// Samples that could not run (a prompt over the model's context or `--max-length`), one
        /// message each; the run went on without them unless `stopOnError` was set.
        public let sampleErrors: [String]
        /// Peak resident memory of this process as the kernel counts it (manifest: `peak_rss_bytes`):
        /// with forks decoded together, a page of the shared prefill counts once per fork that read it.
        public let peakResidentBytes: Int
        /// Peak memory with each page counted once (manifest: `peak_memory_bytes`): the resident peak
        /// before the first forks, or the largest proportional set size sampled at the end of a
        /// batch of forks, whichever is larger.
        public let peakMemoryBytes: Int
    }

    public func run() throws -> Outcome {
        let config = configuration
        let methodRuns = try MethodRun.plan(methods: config.methods, budgets: config.budgets, kvBudgets: config.kvBudgets,
                                            attendedTargets: config.attendedTargets, matchingCeilings: true)
        var catalog = try TaskCatalog.builtIn()
        if let directory = config.taskDirectory { try catalog.load(directory: directory) }
        // Unknown task names fail before anything is loaded or written.
        for name in config.tasks { try TaskInput.checkName(name, catalog: catalog) }
        // Refuse to overwrite before the slow steps; the store checks again when it opens.
        let resultsPath = (config.outputDirectory as NSString).appendingPathComponent("results.jsonl")
        if !config.resume, let size = try? FileManager.default.attributesOfItem(atPath: resultsPath)[.size] as? Int, size > 0 {
            throw ResultsStoreError.existingResults(path: resultsPath)
        }

        // One grid, one build: resuming rows another build wrote is refused before the slow steps.
        let build = BuildState.current
        if config.resume, !config.allowMixedBuilds {
            let otherBuilds = try ResultsStore.recordedBuilds(path: resultsPath).filter { $0.key != build.id }
            if !otherBuilds.isEmpty { throw RunError.mixedBuilds(path: resultsPath, current: build.id, found: otherBuilds) }
        }

        log("loading model \(config.modelPath)")
        let loaded = try LanguageModel.load(path: config.modelPath)
        let model = loaded.model
        let modelSHA256 = try SHA256.hexDigest(ofFile: loaded.weightsFile)
        let codebooks = CodebookStore(model: loaded, modelSHA256: modelSHA256, log: log)
        let maxPositions = model.config.maxPositions
        let inputs = try config.tasks.map {
            try TaskInput.resolve($0, catalog: catalog, configuration: config, tokenizer: loaded.tokenizer,
                                  contextLength: maxPositions)
        }
        var work = try inputs.map { input -> TaskWork in
            let task = input.definition
            let maxPrompt = min(config.maxLength ?? Int.max, maxPositions - task.maxNewTokens)
            return TaskWork(input: input, samples: try input.samples(limit: config.samples, shard: config.shard),
                            builder: PromptBuilder(tokenizer: loaded.tokenizer, maxPromptTokens: maxPrompt,
                                                   chatTemplate: config.chatTemplate),
                            scorer: try Scorer(task: task))
        }
        // Every prompt is built once before anything is written, so bad data stops the run before
        // results.jsonl exists, not hours into it. A prompt too long for the model or --max-length
        // is a per-sample error: reported now, its sample left out, the others run (unless
        // --stop-on-error). They are built again below: tokenizing costs little next to a prefill.
        var sampleErrors: [String] = []
        for index in work.indices {
            work[index].samples = try work[index].samples.filter { entry in
                do {
                    _ = try prompt(for: entry.sample, in: work[index], context: maxPositions)
                    return true
                } catch let error where !config.stopOnError && Self.isPerSampleError(error) {
                    log("error: \(error)")
                    sampleErrors.append(String(describing: error))
                    return false
                }
            }
        }
        // Each method × budget is built once as well (parameters, budget, codebooks), on the first sample.
        if let item = work.first(where: { !$0.samples.isEmpty }), let sample = item.samples.first?.sample {
            let promptTokens = try prompt(for: sample, in: item, context: maxPositions).tokenIDs.count
            // Every missing codebook set and artifact from one forward pass, not one pass per method.
            try codebooks.prepare(for: methodRuns, promptTokens: promptTokens)
            for run in methodRuns { _ = try run.instantiate(promptTokens: promptTokens, model: model.config, resources: codebooks) }
            // One grid, one set of codebooks, as one build: resumed rows must read what the rows before them read.
            if config.resume, !config.allowMixedBuilds {
                try Self.checkCodebooksUnchanged(manifest: config.outputDirectory + "/manifest.json",
                                                 current: codebooks.manifestEntries)
            }
        }
        let store = try ResultsStore(directory: config.outputDirectory, resume: config.resume)
        let total = work.reduce(0) { $0 + $1.samples.count } * methodRuns.count
        // Rows of this plan already in the file (a resumed file may hold rows of other plans).
        let alreadyDone = work.reduce(0) { count, item in
            count + item.samples.reduce(0) { sum, entry in
                sum + methodRuns.filter { store.contains(item.key(id: entry.sample.id, run: $0)) }.count
            }
        }
        let progress = ProgressReporter(total: total, alreadyDone: alreadyDone, unit: "rows", output: log)
        Interruption.install()
        var rowsWritten = 0
        // Memory with the forks' shared pages counted once: see Outcome.peakMemoryBytes.
        var residentBeforeForks: Int?, largestProportional = 0
        let sampleMemory = { largestProportional = max(largestProportional, ResourceUsage.proportionalSetBytes() ?? 0) }
        func stopIfAsked() throws {
            guard let signal = Interruption.requested else { return }
            throw RunError.interrupted(signal: signal, rowsWritten: rowsWritten, resultsFile: store.path,
                                       resume: Interruption.resumeCommand(commandLine: config.commandLine,
                                                                          outputDirectory: config.outputDirectory))
        }

        let memoryBudget = ForkMemoryBudget(limit: config.memoryLimitBytes)
        for item in work {
            let (input, task) = (item.input, item.input.definition)
            for (_, sample) in item.samples {
                try stopIfAsked()
                let pending = methodRuns.filter { !store.contains(item.key(id: sample.id, run: $0)) }
                if pending.isEmpty { continue }
                let prompt = try prompt(for: sample, in: item, context: maxPositions)
                let promptTokens = prompt.tokenIDs.count
                // What the prefill must record for these methods; each is instantiated again when it decodes.
                let needs = try pending.reduce(PrefillNeeds.none) {
                    $0.merged(with: try $1.instantiate(promptTokens: promptTokens, model: model.config, resources: codebooks).prefillNeeds)
                }
                let prefill = try model.prefill(prompt.tokenIDs, extraCapacity: task.maxNewTokens, needs: needs)
                if residentBeforeForks == nil { residentBeforeForks = ResourceUsage.peakResidentBytes() }
                let decodes = SampleDecodes(prefill: prefill, model: model, resources: codebooks, maxNewTokens: task.maxNewTokens,
                                            stopTokens: loaded.tokenizer.stopTokenIDs, batchSize: config.forkBatch,
                                            memoryBudget: memoryBudget, whileForksLive: sampleMemory)
                try decodes.run(pending) { row in
                    let run = pending[row.index], generation = row.generation
                    let prediction = loaded.tokenizer.decode(generation.tokens)
                    let record = ResultRecord(
                        id: sample.id, task: task.name, method: run.canonical,
                        params: run.parametersJSON,
                        budget: run.budget, budgetTokens: row.budgetTokens,
                        length: input.generatedLength, prediction: prediction, references: sample.references,
                        score: 100 * item.scorer.score(prediction: prediction, sample: sample),
                        promptTokens: promptTokens, attendedTokens: generation.attendedTokens,
                        kvBytes: generation.memory.kvBytes, sideBytes: generation.memory.sideBytes,
                        seconds: generation.seconds, prefillSeconds: prefill.seconds, decodeSteps: generation.decodeSteps,
                        selectionSeconds: generation.selectionSeconds, sourceIndex: sample.sourceIndex,
                        build: build.id)
                    try store.append(record.jsonObject)
                    rowsWritten += 1
                    progress.advance(context: [task.name, ProgressReporter.label(method: run.canonical, budget: run.budget)])
                } afterBatch: {
                    try stopIfAsked()   // once every finished row of the batch is written
                }
            }
        }
        let peak = ResourceUsage.peakResidentBytes()
        let peakMemory = max(residentBeforeForks ?? peak, largestProportional)
        return try finish(store: store, loaded: loaded, modelSHA256: modelSHA256, inputs: inputs, methodRuns: methodRuns,
                          codebooks: codebooks, sampleErrors: sampleErrors, peakResident: peak, peakMemory: peakMemory)
    }

    /// Errors that concern one sample's prompt only (its length), so the other samples can still run.
    static func isPerSampleError(_ error: Error) -> Bool {
        switch error {
        case RunError.promptExceedsContext, TaskError.promptTooLong: return true
        default: return false
        }
    }

    /// Throws when a codebook or artifact file the last finished round recorded (by file name) now
    /// has another sha256. Files it did not record, and directories without a manifest, pass.
    static func checkCodebooksUnchanged(manifest: String, current: [JSONValue]) throws {
        guard let text = try? String(contentsOfFile: manifest, encoding: .utf8),
              let recorded = (try? JSONValue.parse(text))?["codebooks"]?.arrayValue else { return }
        func sums(_ entries: [JSONValue]) -> [String: String] {
            Dictionary(entries.compactMap { entry -> (String, String)? in
                guard let file = entry["file"]?.stringValue, let sum = entry["sha256"]?.stringValue else { return nil }
                return ((file as NSString).lastPathComponent, sum)
            }, uniquingKeysWith: { first, _ in first })
        }
        let before = sums(recorded)
        for (file, sum) in sums(current).sorted(by: { $0.key < $1.key }) {
            if let old = before[file], old != sum {
                throw RunError.codebooksChanged(manifest: manifest, file: file, recorded: old, current: sum)
            }
        }
    }

    /// Writes the manifest and the report once every row is in.
    private func finish(store: ResultsStore, loaded: LanguageModel, modelSHA256: String, inputs: [TaskInput],
                        methodRuns: [MethodRun], codebooks: CodebookStore, sampleErrors: [String], peakResident peak: Int,
                        peakMemory: Int) throws -> Outcome {
        let config = configuration
        AtomicFile.removeStaleTemporaries(in: config.outputDirectory)   // left by a run killed while writing these
        let records = try readResultsFile(store.path).records
        try RunManifest.write(configuration: config, loaded: loaded, modelSHA256: modelSHA256, inputs: inputs,
                              methodRuns: methodRuns, codebooks: codebooks,
                              extra: ["prefill": "one full-attention prefill per sample, shared by every method × budget forked from it",
                                      "fork_batch": .int(config.forkBatch),
                                      "fork_batch_note": "forks of one prefill decoded together (weights read once per step for all of them); a row's seconds is its fork work and attention plus its share of the steps' weights, logits and the rest. Tokens do not depend on the batch",
                                      "memory_limit_bytes": config.memoryLimitBytes.map(JSONValue.int) ?? .null,
                                      "memory_limit_note": "forks of a batch stop at the number whose memory, with one more fork as large as the largest so far, stays under this (one fork always runs); tokens do not depend on it",
                                      "sample_errors": .array(sampleErrors.map(JSONValue.string)),
                                      "peak_rss_bytes": .int(peak),
                                      "peak_rss_note": "getrusage ru_maxrss of the process that finished the run (a resumed run: that process only); forks decoded together map the shared prefill's pages once each, and this count takes a page once per fork that read it",
                                      "peak_memory_bytes": .int(peakMemory),
                                      "peak_memory_note": "each page counted once: the larger of ru_maxrss before the first forks and the largest proportional set size (smaps_rollup Pss) sampled at the end of each batch of forks"])
        let written = try ReportWriter.write(records: records, to: config.outputDirectory, title: "a2ats-eval run",
                                             manifestNotes: ["model: \(loaded.location)",
                                                             "prefill time is shared between the rows forked from one prefill",
                                                             config.forkBatch > 1
                                                                ? "up to \(config.forkBatch) rows decoded together: a row's seconds include its share of each shared step"
                                                                : "rows decoded one at a time: a row's seconds are its own decode"])
        return Outcome(resultsFile: store.path, reportFile: written[0], manifestFile: config.outputDirectory + "/manifest.json",
                       records: records, sampleErrors: sampleErrors, peakResidentBytes: peak, peakMemoryBytes: peakMemory)
    }

    /// The prompt of one sample; a prompt over the model's context (not over `--max-length`)
    /// becomes an error naming the context, the task's answer tokens and the file.
    private func prompt(for sample: EvalSample, in item: TaskWork, context: Int) throws -> BuiltPrompt {
        let task = item.input.definition
        do {
            return try item.builder.build(sample, task: task)
        } catch TaskError.promptTooLong(_, _, let tokens, _) where item.builder.maxPromptTokens == context - task.maxNewTokens {
            throw RunError.promptExceedsContext(task: task.name, id: sample.id, file: item.input.dataFile, promptTokens: tokens,
                                                maxNewTokens: task.maxNewTokens, context: context)
        }
    }
}

/// One task ready to run: its samples in this shard, how to prompt and how to score them.
struct TaskWork {
    let input: TaskInput
    var samples: [(index: Int, sample: EvalSample)]
    let builder: PromptBuilder
    let scorer: Scorer

    /// The resume key of one sample × method × budget, built from the five fields exactly
    /// as results.jsonl writes them (all present, so building it cannot fail).
    func key(id: String, run: MethodRun) -> ResumeKey {
        var row: JSONObject = ["task": .string(input.definition.name), "length": input.generatedLength.map(JSONValue.int) ?? .null,
                               "id": .string(id), "method": .string(run.canonical)]
        Budget.write(run.budget, into: &row)
        return try! ResumeKey(row: row)
    }
}

/// Applies a task's official metric: LongBench's per-dataset rules where the task is one of
/// its datasets (first-line rule, all_classes), else the task's metric by name.
struct Scorer {
    let dataset: DatasetScorer

    init(task: TaskDefinition) throws {
        if let known = try? DatasetScorer.named(task.name) {
            dataset = known
        } else {
            dataset = DatasetScorer(dataset: task.name, metric: try Metric.named(task.metric))
        }
    }

    /// 0–1.
    func score(prediction: String, sample: EvalSample) -> Double {
        dataset.score(prediction: prediction, references: sample.references, allClasses: sample.allClasses ?? [])
    }
}
