import A2ATSHarness
import A2ATSScoring
import A2ATSSupport

/// `score`: applies a benchmark's official metric to a predictions file — the same function
/// `run` uses for its rows.
enum ScoreCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval score",
        abstract: "Score a JSONL file of {\"prediction\", \"answers\", \"all_classes\"} lines with a dataset's metric.",
        usage: "(--dataset NAME | --metric NAME) --predictions FILE",
        options: [
            OptionSpec("predictions", valueName: "file", help: "JSONL, one {\"prediction\", \"answers\", \"all_classes\"} per line"),
            OptionSpec("dataset", valueName: "name", help: "LongBench dataset or RULER task: its metric and first-line rule"),
            OptionSpec("metric", valueName: "name", help: "a metric by name (qa_f1, rouge, string_match_all, …)"),
        ])

    static func execute(_ arguments: ParsedArguments) throws {
        guard let path = arguments.value("predictions") else { throw UsageError("score needs --predictions FILE") }
        let result: (metric: String, score: Double, n: Int)
        switch (arguments.value("dataset"), arguments.value("metric")) {
        case (let dataset?, nil): result = try scorePredictionsFile(path: path, dataset: dataset)
        case (nil, let metric?): result = try scorePredictionsFile(path: path, metric: try Metric.named(metric))
        default: throw UsageError("score needs exactly one of --dataset or --metric")
        }
        print(JSONValue.object(["metric": .string(result.metric), "score": .double(result.score), "n": .int(result.n)]).compactText)
    }
}
