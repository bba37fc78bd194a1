import A2ATSHarness
import A2ATSMethods
import A2ATSModel
import A2ATSReports
import A2ATSTasks
import Foundation

/// `run`: evaluate tasks under cache-reduction methods and budgets.
enum RunCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval run",
        abstract: "Run tasks × methods × budgets on a model; write results.jsonl, manifest.json and report.md.",
        usage: "--task niah_single_1,vt --methods full,streamingllm,a2ats --budgets 64,256,0.03 --out runs/x",
        options: [
            OptionSpec("task", alias: "tasks", valueName: "list",
                       help: "comma-separated task names (see `a2ats-eval tasks`), JSONL files written by RULER's prepare.py (TASK/validation.jsonl) or LongBench (DATASET.jsonl), or NAME=PATH for a file under any name (NAME's prompt rule, metric and max new tokens apply)"),
            CommonOptions.model,
            OptionSpec("methods", alias: "method", valueName: "list",
                       help: "methods with optional parameters: full,snapkv:window=32,kernel=7,a2ats (an item with '=' but no ':' continues the previous method). '+' composes a token method (eviction or retrieval) with a precision or channel method: snapkv+kivi:bits=2, a2ats+kivi:bits=4, snapkv+think; each part takes its own parameters (snapkv:window=16+kivi:bits=4,group=32) and results name it token part first. Known: \(MethodRegistry.names.joined(separator: ", "))",
                       defaultValue: RunDefaults.methods),
            OptionSpec("budgets", alias: "budget", valueName: "list",
                       help: "per-head token budgets: integers are tokens (256), numbers in (0,1) are fractions of the prompt (0.03); methods without a budget run once"),
            OptionSpec("kv-budgets", valueName: "list",
                       help: "KV-memory budgets for eviction methods and their compositions: fractions of the full (f32) cache's K/V bytes, 0.25 or 1/4; each resolves per sample to the most tokens whose K/V fit at the method's precision (budget_tokens; the row's kv_budget). Precision methods alone run once at their own size"),
            OptionSpec("attended-fractions", valueName: "list",
                       help: "equal workload: target attended fractions of the prompt (0.01,0.03,0.1); each budgeted method's budget is searched per sample until its measured attended_tokens ÷ prompt_tokens lands within ±10% of the target (the row's attended_target; budget_tokens is what it used)"),
            OptionSpec("length", valueName: "tokens",
                       help: "RULER max_seq_length for generated tasks: prompt + max new tokens fit in it", defaultValue: String(RunDefaults.length)),
            OptionSpec("samples", valueName: "n",
                       help: "samples per task: how many to generate, or the first n of a file (default: \(RunDefaults.generatedSamples) generated, all of a file)"),
            OptionSpec("seed", valueName: "n", help: "seed of generated tasks", defaultValue: String(RunDefaults.seed)),
            OptionSpec("out", alias: "o", valueName: "dir", help: "output directory (default: runs/run-<date>-<time>)"),
            OptionSpec("resume", kind: .flag, help: "continue a run in --out: finished rows are kept and skipped"),
            OptionSpec("allow-mixed-builds", kind: .flag,
                       help: "let --resume add rows to a file that holds rows of another build, or read codebooks other than the ones its manifest recorded (the report then says which rows came from which build)"),
            OptionSpec("stop-on-error", kind: .flag,
                       help: "stop at the first sample whose prompt cannot run (longer than the model's context or --max-length); by default it is reported and the other samples run, and the run exits 1 at the end"),
            OptionSpec("fork-batch", valueName: "n",
                       help: "forks of one prefill (method × budget rows) decoded together: each step reads the weights once for all of them, each fork attends on its own; a row's seconds is its own attention and fork work plus its share of the shared steps. 1 decodes one row at a time (seconds = that decode's latency)",
                       defaultValue: String(RunDefaults.forkBatch)),
            OptionSpec("memory-limit", valueName: "GiB",
                       help: "memory the process may hold while forks decode: a batch of forks stops growing once one more as large as the largest so far would pass it (the first fork of a batch always runs; the prefill is not limited); 0: no limit",
                       defaultValue: String(format: "%g", RunDefaults.memoryLimitGiB)),
            OptionSpec("shard", valueName: "I/N",
                       help: "run the I-th (0-based) of N disjoint parts (sample k goes to shard k mod N); also read from Slurm array and Kubernetes Indexed Job variables"),
            OptionSpec("chat-template", valueName: "auto|on|off",
                       help: "wrap prompts in the model's chat template: auto follows each task (RULER: off)", defaultValue: "auto"),
            OptionSpec("max-length", valueName: "tokens", help: "cap on prompt tokens for any task (LongBench truncates in the middle)"),
            OptionSpec("tasks-dir", valueName: "dir", help: "extra task definitions (JSON) beside the built-in ones"),
        ])

    static func execute(_ arguments: ParsedArguments) throws {
        let outcome = try EvaluationRunner(configuration: try configuration(from: arguments)).run()
        printSummary(outcome.records)
        print("results: \(outcome.resultsFile)")
        print("report:  \(outcome.reportFile)")
        print("manifest: \(outcome.manifestFile)")
        print("peak memory: \(ResourceUsage.formatBytes(outcome.peakMemoryBytes)) (peak_memory_bytes in the manifest; the kernel's resident count, which takes a page of the shared prefill once per fork that read it: \(ResourceUsage.formatBytes(outcome.peakResidentBytes)))")
        if !outcome.sampleErrors.isEmpty {
            throw RunError.samplesFailed(count: outcome.sampleErrors.count, manifestFile: outcome.manifestFile)
        }
    }

    /// The run configuration the options describe (shared with `fidelity`, which takes the same
    /// task, model, method and budget options).
    static func configuration(from arguments: ParsedArguments) throws -> RunConfiguration {
        guard let taskList = arguments.value("task") else {
            throw UsageError("run needs --task (for example --task niah_single_1); see `a2ats-eval tasks`")
        }
        let tasks = taskList.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let methods = try MethodSpec.parseList(arguments.value("methods")!)
        let budgets = try arguments.value("budgets").map(parseBudgetList) ?? []
        let kvBudgets = try arguments.value("kv-budgets").map(parseKVBudgetList) ?? []
        let attendedTargets = try arguments.value("attended-fractions").map(parseAttendedTargetList) ?? []
        guard let length = try arguments.intValue("length"), length > 0 else { throw UsageError("--length must be a positive integer") }
        let samples = try arguments.intValue("samples")
        if let samples, samples < 1 { throw UsageError("--samples must be at least 1") }
        guard let seed = UInt64(arguments.value("seed")!) else { throw UsageError("--seed must be a non-negative integer") }
        guard let chatTemplate = ChatTemplateMode(rawValue: arguments.value("chat-template")!) else {
            throw UsageError("--chat-template takes auto, on or off")
        }
        let maxLength = try arguments.intValue("max-length")
        guard let forkBatch = try arguments.intValue("fork-batch"), forkBatch >= 1 else {
            throw UsageError("--fork-batch must be a positive integer (1 decodes one row at a time)")
        }
        guard let memoryLimit = Double(arguments.value("memory-limit")!), memoryLimit >= 0, memoryLimit.isFinite else {
            throw UsageError("--memory-limit takes GiB, a number ≥ 0 (0: no limit)")
        }
        let (shard, origin) = try ShardSpec.resolve(flag: arguments.value("shard"), environment: ProcessInfo.processInfo.environment)
        if shard.count > 1 && !arguments.isSet("out") {
            throw UsageError("a sharded run needs --out (e.g. --out runs/x/shard-\(shard.index)) so that every shard writes under one directory")
        }
        let out = arguments.value("out") ?? defaultOutputDirectory()
        var configuration = RunConfiguration(
            modelPath: arguments.value("model") ?? LanguageModel.defaultModelPath, tasks: tasks, length: length,
            samples: samples, seed: seed, methods: methods, budgets: budgets, outputDirectory: out,
            resume: arguments.flag("resume"), shard: shard, shardOrigin: origin, chatTemplate: chatTemplate,
            maxLength: maxLength, taskDirectory: arguments.value("tasks-dir"), commandLine: CommandLine.arguments)
        configuration.allowMixedBuilds = arguments.flag("allow-mixed-builds")
        configuration.stopOnError = arguments.flag("stop-on-error")
        configuration.forkBatch = forkBatch
        configuration.memoryLimitBytes = memoryLimit > 0 ? Int(memoryLimit * 1_073_741_824) : nil
        configuration.kvBudgets = kvBudgets
        configuration.attendedTargets = attendedTargets
        return configuration
    }

    /// `runs/run-20261126-115301`: a fresh directory per run unless --out names one.
    private static func defaultOutputDirectory() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/run-" + formatter.string(from: Date())
    }

    /// Mean score per task × method × budget, as the run's last words on the terminal.
    private static func printSummary(_ records: [ResultRecord]) {
        var groups: [String: [Double]] = [:]
        var order: [String] = []
        for record in records {
            let key = "\(record.task)  \(record.method)" + (record.budget.map { "@\($0)" } ?? "")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(record.score)
        }
        for key in order {
            let scores = groups[key]!
            print(String(format: "%@  mean score %.1f  (n=%d)", key, scores.reduce(0, +) / Double(scores.count), scores.count))
        }
    }
}
