import A2ATSSupport
import Foundation

/// How one benchmark dataset is scored: its metric and whether only the first line of the
/// prediction counts. The table is LongBench's `dataset2metric` (eval.py) plus RULER's
/// task-to-metric mapping; the first-line rule is LongBench's for trec, triviaqa, samsum
/// and lsht (`prediction.lstrip('\n').split('\n')[0]`).
public struct DatasetScorer: Sendable, Equatable {
    public let dataset: String
    public let metric: Metric
    public let firstLineOnly: Bool

    public init(dataset: String, metric: Metric, firstLineOnly: Bool = false) {
        self.dataset = dataset
        self.metric = metric
        self.firstLineOnly = firstLineOnly
    }

    /// Every dataset with an official metric, LongBench v1 then RULER.
    public static let known: [DatasetScorer] = {
        let longBench: [(String, Metric)] = [
            ("narrativeqa", .qaF1), ("qasper", .qaF1), ("multifieldqa_en", .qaF1),
            ("multifieldqa_zh", .qaF1Chinese), ("hotpotqa", .qaF1), ("2wikimqa", .qaF1),
            ("musique", .qaF1), ("dureader", .rougeChinese), ("gov_report", .rouge),
            ("qmsum", .rouge), ("multi_news", .rouge), ("vcsum", .rougeChinese),
            ("trec", .classification), ("triviaqa", .qaF1), ("samsum", .rouge),
            ("lsht", .classification), ("passage_retrieval_en", .retrieval),
            ("passage_count", .count), ("passage_retrieval_zh", .retrievalChinese),
            ("lcc", .codeSimilarity), ("repobench-p", .codeSimilarity),
        ]
        let firstLine: Set<String> = ["trec", "triviaqa", "samsum", "lsht"]
        let ruler: [(String, Metric)] = [
            "niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2",
            "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe",
        ].map { ($0, .stringMatchAll) } + [("qa_1", .stringMatchPart), ("qa_2", .stringMatchPart)]
        return longBench.map { DatasetScorer(dataset: $0.0, metric: $0.1, firstLineOnly: firstLine.contains($0.0)) }
            + ruler.map { DatasetScorer(dataset: $0.0, metric: $0.1) }
    }()

    /// The scorer of a named dataset; LongBench-E names (`hotpotqa_e`) score as their base.
    public static func named(_ name: String) throws -> DatasetScorer {
        let base = name.hasSuffix("_e") ? String(name.dropLast(2)) : name
        if let scorer = known.first(where: { $0.dataset == name || $0.dataset == base }) { return scorer }
        let valid = known.map(\.dataset)
        throw ScoringError.unknownName(kind: "dataset", name: name, valid: valid,
                                       suggestion: closestMatches(to: name, among: valid, ignoringCase: true).first)
    }

    /// One sample's score in 0…1: the first-line rule if the dataset has it, then the
    /// metric (maximum over references for LongBench's metrics).
    public func score(prediction: String, references: [String], allClasses: [String] = []) -> Double {
        let scored = firstLineOnly ? PythonText.firstLine(prediction) : prediction
        return metric.score(prediction: scored, references: references, allClasses: allClasses)
    }
}

/// Scores a predictions file as `a2ats-eval score` does: one JSON object a line with
/// `prediction` (or LongBench's `pred`), `answers` (or `references` / RULER's `outputs`),
/// and optionally `all_classes` (array or null). Returns the metric's name, the mean score
/// × 100 (the scale both benchmarks print) and the number of lines scored.
public func scorePredictionsFile(path: String, dataset: String) throws -> (metric: String, score: Double, n: Int) {
    try scorePredictionsFile(path: path, scorer: DatasetScorer.named(dataset))
}

/// As `scorePredictionsFile(path:dataset:)` with a bare metric: no first-line rule.
public func scorePredictionsFile(path: String, metric: Metric) throws -> (metric: String, score: Double, n: Int) {
    try scorePredictionsFile(path: path, scorer: DatasetScorer(dataset: metric.name, metric: metric))
}

private func scorePredictionsFile(path: String, scorer: DatasetScorer) throws -> (metric: String, score: Double, n: Int) {
    var iterator = JSONLinesReader(path: path).makeIterator()
    var total = 0.0
    var count = 0
    while let record = try iterator.nextRecord() {
        let prediction = try requireField(record, path, ["prediction", "pred"], as: "string") { $0.stringValue }
        let references = try requireField(record, path, ["answers", "references", "outputs"], as: "array of strings") {
            stringArray($0)
        }
        var allClasses: [String] = []
        if let value = record.object["all_classes"], !value.isNull {
            guard let classes = stringArray(value) else {
                throw DataFileError(file: path, line: record.line, field: "all_classes",
                                    problem: "expected array of strings or null, found \(value.typeName)")
            }
            allClasses = classes
        }
        total += scorer.score(prediction: prediction, references: references, allClasses: allClasses)
        count += 1
    }
    guard count > 0 else { throw DataFileError(file: path, problem: "no predictions to score") }
    return (scorer.metric.name, 100 * total / Double(count), count)
}

private func stringArray(_ value: JSONValue) -> [String]? {
    guard let items = value.arrayValue else { return nil }
    let strings = items.compactMap(\.stringValue)
    return strings.count == items.count ? strings : nil
}

/// The first of `names` present on the line, converted, or an error naming the field.
private func requireField<T>(_ record: JSONLinesReader.Record, _ path: String, _ names: [String], as type: String,
                             _ extract: (JSONValue) -> T?) throws -> T {
    guard let name = names.first(where: { record.object[$0] != nil }) else {
        throw DataFileError(file: path, line: record.line, field: names[0], problem: "missing")
    }
    return try record.require(name, in: path, as: type, extract)
}
