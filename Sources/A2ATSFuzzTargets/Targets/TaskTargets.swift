import A2ATSModel
import A2ATSSupport
import A2ATSTasks

extension FuzzTarget {
    /// RULER, LongBench and custom JSONL, read the way `a2ats-eval run --task FILE` reads them.
    static let taskData = FuzzTarget(
        name: "task-data",
        summary: "task JSONL: RULER, LongBench and custom (A2ATSTasks SampleReader over A2ATSSupport JSONLinesReader)",
        fileName: "validation.jsonl"
    ) { run in
        let path = try run.file()
        try run.stage("SampleReader", refusal: [TaskError.self], naming: path) {
            var reader = try SampleReader(path: path)
            while try reader.next() != nil {}
        }
    }

    /// Task definition files (`tasks/*.json`, users' own) and, for RULER tasks, the generator
    /// settings they carry, which are only read when a generator is built from them.
    static let taskDefinitions = FuzzTarget(
        name: "task-definitions",
        summary: "task definition files tasks/*.json (A2ATSTasks TaskCatalog, TaskDefinition) and their RULER generator settings (RulerGenerator)",
        fileName: "tasks.json"
    ) { run in
        let path = try run.file()
        var catalog = try TaskCatalog()
        try run.stage("TaskCatalog.load", refusal: [TaskError.self], naming: path) {
            try catalog.load(file: path)
        }
        // A few tasks per input keep each input fast; mutations reach every task over a campaign.
        for task in catalog.tasks.filter({ $0.source == .ruler && $0.generator != nil }).prefix(4) {
            var generator: RulerGenerator?
            try run.stage("RulerGenerator(\(task.name))", refusal: [TaskError.self], naming: path) {
                generator = try RulerGenerator(task: task, tokenizer: CharacterTokenizer())
            }
            // A length too short for the task is refused by task name; the file is named above.
            try run.stage("RulerGenerator.generate(\(task.name))", refusal: [TaskError.self], naming: nil) {
                _ = try generator?.generate(length: 600 + 4 * task.maxNewTokens, samples: 1, seed: 1)
            }
        }
    }
}

/// A tokenizer with one token per Unicode scalar: enough for the generator's set-up, with no
/// model file to load.
final class CharacterTokenizer: TextTokenizer {
    func encode(_ text: String) -> [Int] { text.unicodeScalars.map { Int($0.value) } }
    func decode(_ tokens: [Int]) -> String {
        String(String.UnicodeScalarView(tokens.compactMap { Unicode.Scalar(UInt32(clamping: $0)) }))
    }
    var bosTokenID: Int? { nil }
    var stopTokenIDs: Set<Int> { [] }
    func chatPrompt(user: String) -> String? { nil }
}
