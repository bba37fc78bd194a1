import A2ATSModel
import A2ATSSupport
import A2ATSTasks
import Foundation

/// One task of a run, resolved to a data file: a user's JSONL file, or a RULER task generated
/// at the run's length and seed into `<out>/data/` (so the exact prompts are kept and hashed).
struct TaskInput {
    let definition: TaskDefinition
    let dataFile: String
    /// The target length when the data was generated, else nil (results' `length`).
    let generatedLength: Int?

    /// Resolves `name`: a built-in/`tasks/` name, a path to a JSONL file named as its benchmark's
    /// scripts name it, or `NAME=PATH` for a file under any name (NAME's definition applies).
    static func resolve(_ name: String, catalog: TaskCatalog, configuration: RunConfiguration,
                        tokenizer: TextTokenizer, contextLength: Int) throws -> TaskInput {
        if let (taskName, path) = namedFile(name) {
            let definition = try catalog.task(named: taskName)
            _ = try SampleReader(path: path, task: taskName)   // the file exists and has a known format
            return TaskInput(definition: definition, dataFile: path, generatedLength: nil)
        }
        if isFile(name) {
            let reader = try SampleReader(path: name)
            guard let definition = try? catalog.task(named: reader.task) else {
                throw TaskError.unnamedTaskFile(path: name, inferred: reader.task, suggestions: catalog.suggestions(for: reader.task))
            }
            return TaskInput(definition: definition, dataFile: name, generatedLength: nil)
        }
        let definition = try catalog.task(named: name)
        guard definition.generator != nil else {
            throw TaskError.notGeneratable(task: name)
        }
        try RulerGenerator.requireContext(length: configuration.length, task: name, contextLength: contextLength)
        let count = configuration.samples ?? RunDefaults.generatedSamples
        let file = "\(configuration.outputDirectory)/data/\(name)-\(configuration.length)-seed\(configuration.seed)-n\(count).jsonl"
        if !FileManager.default.fileExists(atPath: file) {
            AtomicFile.removeStaleTemporaries(in: (file as NSString).deletingLastPathComponent)
            let samples = try RulerGenerator(task: definition, tokenizer: tokenizer)
                .generate(length: configuration.length, samples: count, seed: configuration.seed)
            try RulerGenerator.write(samples, to: file)
        }
        return TaskInput(definition: definition, dataFile: file, generatedLength: configuration.length)
    }

    /// `NAME=PATH` split in two, or nil for a plain name or path.
    static func namedFile(_ item: String) -> (task: String, path: String)? {
        guard let equals = item.firstIndex(of: "="), !isFile(item) else { return nil }
        return (String(item[..<equals]), String(item[item.index(after: equals)...]))
    }

    static func isFile(_ item: String) -> Bool { item.hasSuffix(".jsonl") && !item.contains("=") || FileManager.default.fileExists(atPath: item) }

    /// Fails on a task name that no definition has (did-you-mean), before anything is loaded.
    static func checkName(_ item: String, catalog: TaskCatalog) throws {
        if let (task, _) = namedFile(item) { _ = try catalog.task(named: task) } else if !isFile(item) { _ = try catalog.task(named: item) }
    }

    /// The samples of this task that belong to `shard`, with their 0-based position in the file.
    func samples(limit: Int?, shard: ShardSpec) throws -> [(index: Int, sample: EvalSample)] {
        var reader = try SampleReader(path: dataFile, task: definition.name)
        var selected: [(Int, EvalSample)] = []
        var index = 0
        while let sample = try reader.next() {
            if let limit, index >= limit { break }
            if shard.contains(sampleIndex: index) { selected.append((index, sample)) }
            index += 1
        }
        return selected
    }
}

/// Defaults of `a2ats-eval run` that the help text and the README quote.
public enum RunDefaults {
    public static let length = 1024
    public static let generatedSamples = 10
    public static let seed: UInt64 = 42
    public static let methods = "full"
    /// Forks of one prefill decoded together: past a dozen, a step's weights are read for so many
    /// forks that its FLOPs, not its bytes, set its time, while every fork's method state is held at once.
    public static let forkBatch = 16
    /// GiB the process may hold while forks decode (`--memory-limit`): a 32K run of the long-context
    /// model holds ≈ 4 GiB before its forks, and a method's side data there reaches 0.9 GB per fork.
    public static let memoryLimitGiB = 8.0
}
