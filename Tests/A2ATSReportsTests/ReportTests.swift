@testable import A2ATSReports
import A2ATSSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// Reference: Tests/Fixtures/reports-results.jsonl, written by hand (2 tasks; full +
/// streamingllm + snapkv:kernel=7 × budgets 64, 256). The expected table lines below were
/// worked out by hand from its scores: e.g. hotpotqa snapkv 256 = mean(80, 68) = 74,
/// Δ = 74 − mean(80, 60) = +4; the average row = mean over the two tasks. Intervals: Wilson on
/// the 0/100 niah cells (1 of 1: [20.7, 100], 0 of 1: [0, 79.3]); on two continuous scores the
/// bootstrap's resampled means are the two values' mean or either value, so its 2.5% and 97.5%
/// quantiles are the smaller and the larger value; the average over tasks resamples each task
/// within itself, so with niah's one sample fixed its interval is the hotpotqa one halved around the mean.
final class ReportTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/reports-results.jsonl").standardized.path

    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "reports-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testFixtureRendersTheExpectedTables() throws {
        let loaded = try loadResults(directories: [Self.fixture])
        XCTAssertEqual(loaded.records.count, 15)
        let directory = try temporaryDirectory()
        let written = try ReportWriter.write(records: loaded.records, to: directory, title: "Fixture",
                                             manifestNotes: ["model: tiny"])
        XCTAssertEqual(written.map { ($0 as NSString).lastPathComponent },
                       ["report.md", "plot-niah_single_1.svg", "plot-hotpotqa.svg", "results.csv", "summary.json"])
        let markdown = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
        let expectedBlocks = [
            "# Fixture\n\n- model: tiny\n",
            """
            ## Average over tasks

            Mean of the task scores; the interval resamples each task's samples within the task, n counts samples over all tasks, and Δ is the mean of the tasks' Δ vs full attention.

            | method | full | 64 | 256 |
            | --- | --- | --- | --- |
            | full | 85.0 [80.0–90.0] n=3 | — | — |
            | streamingllm | — | 7.5 [5.0–10.0] n=3 (−77.5) | 67.5 [65.0–70.0] n=3 (−17.5) |
            | snapkv:kernel=7 | — | 80.0 [75.0–85.0] n=3 (−5.0) | 87.0 [84.0–90.0] n=3 (+2.0) |
            """,
            """
            ## niah_single_1

            Samples per cell: 1.

            | method | full | 64 | 256 |
            | --- | --- | --- | --- |
            | full | 100.0 [20.7–100.0] n=1 | — | — |
            | streamingllm | — | 0.0 [0.0–79.3] n=1 (−100.0) | 100.0 [20.7–100.0] n=1 (±0.0) |
            | snapkv:kernel=7 | — | 100.0 [20.7–100.0] n=1 (±0.0) | 100.0 [20.7–100.0] n=1 (±0.0) |
            """,
            // One sample per cell: every interval is wider than ±10 points. At a 100% pass rate Wilson's
            // half-width is z²/(2n + 2z²): 0.102 at n = 15, 0.097 at n = 16.
            "Intervals wider than ±10 points, and the samples that would bring them to ±10 at the same score: full@full (n=1 → ≈16)",
            "![niah_single_1: score against budget](plot-niah_single_1.svg)",
            // 64 attended of 1000 prompt tokens = 6.4%; 64 × 46080 B = 2.8125 MiB, which is 6.4% of the
            // full row's 46,080,000 B on the same sample. The fixture's rows predate selection timing: "—".
            "| streamingllm | 64 | 1 | 0.0 | 64 | 64.0 | 6.4% | 2.8 MiB | 6.4% | 0 B | 1.50 | — | 4.00 |",
            """
            | method | full | 64 | 256 |
            | --- | --- | --- | --- |
            | full | 70.0 [60.0–80.0] n=2 | — | — |
            | streamingllm | — | 15.0 [10.0–20.0] n=2 (−55.0) | 35.0 [30.0–40.0] n=2 (−35.0) |
            | snapkv:kernel=7 | — | 60.0 [50.0–70.0] n=2 (−10.0) | 74.0 [68.0–80.0] n=2 (+4.0) |
            """,
            // Prompt tokens 3000 and 5000 fall in LongBench-E's 0–4k and 4–8k buckets.
            """
            ### By length (LongBench-E buckets of prompt tokens)

            | method | budget | 0–4k | 4–8k |
            | --- | --- | --- | --- |
            | full | full | 80.0 (n=1) | 60.0 (n=1) |
            | streamingllm | 64 | 20.0 (n=1) | 10.0 (n=1) |
            """,
            "Prefill time is shared between the rows forked from one prefill",
        ]
        for block in expectedBlocks {
            XCTAssertTrue(markdown.contains(block), "missing:\n\(block)\n--- in ---\n\(markdown)")
        }
        // niah has a single target length: no length section for it.
        XCTAssertFalse(markdown.contains("### By target length"))

        // Writing again gives the same bytes.
        let again = try temporaryDirectory()
        try ReportWriter.write(records: loaded.records, to: again, title: "Fixture", manifestNotes: ["model: tiny"])
        for name in ["report.md", "plot-hotpotqa.svg", "results.csv", "summary.json"] {
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/" + name),
                           FileManager.default.contents(atPath: again + "/" + name), name)
        }

        let summary = try JSONValue.parse(String(contentsOfFile: directory + "/summary.json", encoding: .utf8))
        let average = try XCTUnwrap(summary["average"]?.arrayValue)
        let snap256 = try XCTUnwrap(average.first { $0["method"] == "snapkv:kernel=7" && $0["budget"] == 256 })
        XCTAssertEqual(snap256["score"]?.doubleValue, 87)
        XCTAssertEqual(snap256["delta_vs_full"]?.doubleValue, 2)
        XCTAssertEqual(summary["tasks"]?.arrayValue?.first?["cells"]?.arrayValue?.count, 5)
    }

    func testSVGIsWellFormedWithOnePolylinePerMethod() throws {
        let records = try loadResults(directories: [Self.fixture]).records
        let directory = try temporaryDirectory()
        try ReportWriter.write(records: records, to: directory, title: "Fixture")
        for task in ["niah_single_1", "hotpotqa"] {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: directory + "/plot-\(task).svg"))
            let counter = ElementCounter()
            let parser = XMLParser(data: data)
            parser.delegate = counter
            XCTAssertTrue(parser.parse(), "\(task): \(String(describing: parser.parserError))")
            XCTAssertEqual(counter.counts["svg"], 1)
            XCTAssertEqual(counter.counts["polyline"], 3, task)  // full, streamingllm, snapkv
            XCTAssertEqual(counter.titles, ["full", "streamingllm", "snapkv:kernel=7"])
        }
    }

    /// benchmarks.md: without jieba, Chinese metrics split characters, and the report must say so.
    func testChineseMetricApproximationIsStatedInTheReport() {
        let row = ResultRecord(id: "a", task: "multifieldqa_zh", method: "full", budget: nil, budgetTokens: nil, length: nil,
                               prediction: "北京", references: ["北京"], score: 100, promptTokens: 10, attendedTokens: 10,
                               kvBytes: 1, sideBytes: 0, seconds: 0, prefillSeconds: 0)
        let markdown = MarkdownReport.render(ResultSummary(records: [row]), title: "t", manifestNotes: [], plotFiles: [:])
        XCTAssertTrue(markdown.contains("Metric note: jieba is not available"), markdown)
        let english = MarkdownReport.render(ResultSummary(records: [ResultRecord(id: "a", task: "hotpotqa", method: "full",
            budget: nil, budgetTokens: nil, length: nil, prediction: "x", references: ["x"], score: 100, promptTokens: 10,
            attendedTokens: 10, kvBytes: 1, sideBytes: 0, seconds: 0, prefillSeconds: 0)]), title: "t", manifestNotes: [], plotFiles: [:])
        XCTAssertFalse(english.contains("Metric note"))
    }

    /// The equal-KV-memory table (issue 13), worked by hand: per sample, full holds 1000 B; at the
    /// 1/4 budget snapkv holds 250 B and snapkv+kivi:bits=4 240 B; kivi:bits=4 alone (170 B) fits
    /// 1/4 and is listed there, kivi:bits=8 alone (300 B) does not. Rows keep `kv_budget` through
    /// JSON, with `budget` null.
    func testEqualMemoryTableListsWhatFitsEachBudget() throws {
        func row(_ id: String, _ method: String, _ budget: Budget?, _ kv: Int, _ score: Double) -> ResultRecord {
            ResultRecord(id: id, task: "niah_multikey_1", method: method, budget: budget, budgetTokens: budget == nil ? nil : 900,
                         length: 4096, prediction: "", references: ["x"], score: score, promptTokens: 4000, attendedTokens: 100,
                         kvBytes: kv, sideBytes: 0, seconds: 1, prefillSeconds: 1)
        }
        var records: [ResultRecord] = []
        for id in ["0", "1"] {
            records += [row(id, "full", nil, 1000, 100), row(id, "snapkv", .kvMemory(0.25), 250, 0),
                        row(id, "snapkv+kivi:bits=4", .kvMemory(0.25), 240, 100), row(id, "kivi:bits=4", nil, 170, 100),
                        row(id, "kivi:bits=8", nil, 300, 100)]
        }
        let parsed = try ResultRecord(line: records[1].jsonLine, file: "r.jsonl", line: 2)
        XCTAssertEqual(parsed, records[1])
        XCTAssertTrue(records[1].jsonLine.contains("\"budget\": null, \"kv_budget\": 0.25"), records[1].jsonLine)
        let task = try XCTUnwrap(ResultSummary(records: records).tasks.first)
        XCTAssertEqual(task.kvFraction("snapkv+kivi:bits=4", .kvMemory(0.25)), 0.24)
        let table = MarkdownReport.tradeOffTable(task)
        for line in ["| kv=0.25 | tokens | snapkv | 900 | 25.0% | 0.0 [0.0–65.8] n=2 (−100.0) |",
                     "| kv=0.25 | composed | snapkv+kivi:bits=4 | 900 | 24.0% | 100.0 [34.2–100.0] n=2 (±0.0) |",
                     "| kv=0.25 | precision | kivi:bits=4 | all | 17.0% | 100.0 [34.2–100.0] n=2 (±0.0) |"] {
            XCTAssertTrue(table.contains(line), "missing \(line) in\n\(table)")
        }
        XCTAssertFalse(table.contains("kivi:bits=8"), table)
    }

    func testCSVRoundTrip() throws {
        var records = try loadResults(directories: [Self.fixture]).records
        // Cells that need quoting: comma, quotes, newline (two fixture predictions have them).
        records[0].prediction = "a, \"b\"\r\nc"
        records[1].budget = .fraction(0.03)
        records[1].extra = [:]
        records[2].budget = .kvMemory(0.125)
        records[3].budget = .attended(0.03)
        records[3].decodeSteps = 12
        records[3].selectionSeconds = 0.25
        let csv = ResultsCSV.render(records)
        XCTAssertTrue(csv.hasPrefix("id,task,method,params,budget,kv_budget,attended_target,budget_tokens,length,prediction,references,score,"))
        XCTAssertEqual(try ResultsCSV.records(fromCSV: csv, file: "results.csv"), records)
    }

    func testMergeDeduplicatesOverlappingDirectoriesAndSkipsHalfLine() throws {
        let lines = try String(contentsOfFile: Self.fixture, encoding: .utf8).split(separator: "\n").map(String.init)
        let first = try temporaryDirectory(), second = try temporaryDirectory()
        try (lines[0..<10].joined(separator: "\n") + "\n").write(toFile: first + "/results.jsonl", atomically: true, encoding: .utf8)
        // The second shard overlaps rows 5..<10 and was killed while appending.
        let half = String(lines[14].prefix(40))
        try (lines[5..<15].joined(separator: "\n") + "\n" + half)
            .write(toFile: second + "/results.jsonl", atomically: true, encoding: .utf8)
        let merged = try loadResults(directories: [first, second])
        XCTAssertEqual(merged.records.count, 15)
        XCTAssertEqual(merged.duplicates, 5)
        XCTAssertEqual(merged.truncatedFiles, [second + "/results.jsonl"])
        XCTAssertEqual(Set(merged.records.map(\.resumeKey)).count, 15)
        XCTAssertEqual(merged.records, try loadResults(directories: [Self.fixture]).records)
    }

    func testBadLineInTheMiddleIsAnError() throws {
        let directory = try temporaryDirectory()
        let line = try String(contentsOfFile: Self.fixture, encoding: .utf8).split(separator: "\n")[0]
        try (line + "\n{\"id\": \"1\"}\n" + line + "\n").write(toFile: directory + "/results.jsonl", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try loadResults(directories: [directory])) { error in
            XCTAssertEqual((error as? DataFileError)?.line, 2)
            XCTAssertEqual((error as? DataFileError)?.field, "task")
        }
    }
}

private final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var titles: [String] = []
    private var inPolylineTitle = false
    private var stack: [String] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
        inPolylineTitle = name == "title" && stack.last == "polyline"
        if inPolylineTitle { titles.append("") }
        stack.append(name)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
        inPolylineTitle = false
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inPolylineTitle { titles[titles.count - 1] += string }
    }
}
