import A2ATSMethods
import A2ATSReports
import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSHarness

/// Shared set-up of the runner tests: the tiny random-weight fixture model (context 256) and
/// a hand-written six-sample RULER file. Its task `runner_niah` (Fixtures/runner/tasks) is
/// niah with 8 max new tokens instead of 128, so that debug-build runs take seconds; the
/// directory name lets the catalog infer the task, as for RULER's own `TASK/validation.jsonl`.
enum RunnerFixture {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let model = fixtures.appendingPathComponent("tiny-llama-q4_1.gguf").path
    static let rulerFile = fixtures.appendingPathComponent("runner/runner_niah/validation.jsonl").path
    static let taskDirectory = fixtures.appendingPathComponent("runner/tasks").path
    static let taskName = "runner_niah"
    static let sampleCount = 6
    static let methods = "full,streamingllm,snapkv,oracle"
    static let budgets = "8,16,0.5"
    /// full once, three methods × three budgets.
    static let rowsPerSample = 1 + 3 * 3
    /// Fields that measure time; "equal to an uninterrupted run" compares every other field.
    static let timingFields: Set<String> = ["seconds", "prefill_seconds", "selection_seconds"]

    static func configuration(out: String, tasks: [String] = [rulerFile], methods: String = methods,
                              budgets: String = budgets, resume: Bool = false, shard: ShardSpec = .whole,
                              maxLength: Int? = nil) throws -> RunConfiguration {
        RunConfiguration(modelPath: model, tasks: tasks, length: 1024, samples: nil, seed: 42,
                         methods: try MethodSpec.parseList(methods), budgets: budgets.isEmpty ? [] : try parseBudgetList(budgets),
                         outputDirectory: out, resume: resume, shard: shard,
                         shardOrigin: shard == .whole ? .none : .flag, chatTemplate: .auto, maxLength: maxLength,
                         taskDirectory: taskDirectory, commandLine: ["RunnerTests"])
    }

    @discardableResult
    static func run(_ configuration: RunConfiguration, log: @escaping (String) -> Void = { _ in }) throws -> EvaluationRunner.Outcome {
        try EvaluationRunner(configuration: configuration, log: log).run()
    }

    static func rows(_ path: String) throws -> [JSONObject] {
        try JSONLinesReader(path: path).readAll().map(\.object)
    }

    static func withoutTimings(_ rows: [JSONObject]) -> [JSONObject] {
        rows.map { row in JSONObject(row.filter { !timingFields.contains($0.key) }.map { ($0.key, $0.value) }) }
    }

    static func key(_ row: JSONObject) throws -> ResumeKey { try ResumeKey(row: row) }

    static func contents(_ path: String) throws -> Data {
        try XCTUnwrap(FileManager.default.contents(atPath: path), "cannot read \(path)")
    }

    /// One uninterrupted, unsharded run of the fixture, shared by the tests of this process
    /// and kept in memory (each test class removes the scratch directory when it ends).
    struct Baseline {
        let rows: [JSONObject]
        let results: Data
        let reportMarkdown: String
        let outputFiles: [String]
    }

    static let baseline: Result<Baseline, Error> = Result(catching: {
        let directory = freshDirectory("baseline")
        try run(configuration(out: directory))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return Baseline(rows: try rows(directory + "/results.jsonl"), results: try contents(directory + "/results.jsonl"),
                        reportMarkdown: try String(contentsOfFile: directory + "/report.md", encoding: .utf8),
                        outputFiles: try FileManager.default.contentsOfDirectory(atPath: directory).sorted())
    })

    /// Per-process scratch directory under the system temporary directory.
    static let scratch = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("a2ats-runner-tests-\(ProcessInfo.processInfo.processIdentifier)")

    static func freshDirectory(_ name: String) -> String {
        scratch.appendingPathComponent(name + "-" + UUID().uuidString).path
    }
}

/// Reference: contract.md's resume rule — a run interrupted at any byte of results.jsonl
/// and resumed equals the uninterrupted run in every field except timings; the baseline is
/// that uninterrupted run, computed independently of the interrupted copies.
final class RunnerResumeTests: XCTestCase {
    override class func tearDown() {
        try? FileManager.default.removeItem(at: RunnerFixture.scratch)
        super.tearDown()
    }

    func testBaselineCoversEverySampleMethodAndBudget() throws {
        let baseline = try RunnerFixture.baseline.get()
        XCTAssertEqual(baseline.rows.count, RunnerFixture.sampleCount * RunnerFixture.rowsPerSample)
        let keys = try Set(baseline.rows.map(RunnerFixture.key))
        XCTAssertEqual(keys.count, baseline.rows.count, "no resume key twice")
        let methods = baseline.rows.map { $0["method"]?.stringValue ?? "" }
        XCTAssertEqual(Set(methods), ["full", "streamingllm", "snapkv", "oracle"])
        for row in baseline.rows {
            XCTAssertEqual(row["task"]?.stringValue, RunnerFixture.taskName)
            XCTAssertEqual(row["length"], .null, "files carry no generated length")
            XCTAssertLessThan(row["prompt_tokens"]?.intValue ?? .max, 128, "short prompts: niah_single_1 would fit too")
        }
        XCTAssertEqual(baseline.outputFiles, ["manifest.json", "plot-runner_niah.svg", "report.md", "results.csv",
                                              "results.jsonl", "summary.json"])
    }

    /// Cuts a copy of the finished file after `k` complete lines plus half of line k+1 (in
    /// bytes, as a kill in the middle of a write leaves it), resumes, and compares.
    func testResumeAfterTruncationEqualsUninterruptedRun() throws {
        let baseline = try RunnerFixture.baseline.get()
        let full = baseline.results
        let lineEnds = full.indices.filter { full[$0] == UInt8(ascii: "\n") }
        let total = lineEnds.count
        // At the start, mid-sample (3 of sample 1's 10 rows done), on a sample boundary, at the end.
        for k in [0, RunnerFixture.rowsPerSample + 3, 2 * RunnerFixture.rowsPerSample, total - 1] {
            let directory = RunnerFixture.freshDirectory("resume-\(k)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let kept = k == 0 ? 0 : lineEnds[k - 1] + 1
            let halfLine = (lineEnds[k] + 1 - kept) / 2
            let cut = full.prefix(kept + halfLine)
            try cut.write(to: URL(fileURLWithPath: directory + "/results.jsonl"))

            var log: [String] = []
            try RunnerFixture.run(RunnerFixture.configuration(out: directory, resume: true), log: { log.append($0) })

            let resumed = try RunnerFixture.contents(directory + "/results.jsonl")
            XCTAssertEqual(resumed.prefix(kept), full.prefix(kept), "k=\(k): finished rows are kept byte for byte, not rerun")
            let rows = try RunnerFixture.rows(directory + "/results.jsonl")
            XCTAssertEqual(rows.count, total, "k=\(k): nothing lost, nothing twice")
            XCTAssertEqual(RunnerFixture.withoutTimings(rows), RunnerFixture.withoutTimings(baseline.rows),
                           "k=\(k): the resumed file equals the uninterrupted one except timings")
            // Progress counts the rows found on resume as done and ends at total.
            let progress = log.filter { $0.hasPrefix("[") }
            XCTAssertEqual(progress.last.map { $0.hasPrefix("[\(total)/\(total)] 100%") }, true, "k=\(k): \(progress)")
            XCTAssertFalse(progress.contains { $0.hasPrefix("[\(k)/") }, "k=\(k): the first line counts one new row")
        }
    }

    func testExistingResultsWithoutResumeIsAnErrorAndLeavesTheFileAlone() throws {
        let baseline = try RunnerFixture.baseline.get()
        let directory = RunnerFixture.freshDirectory("no-resume")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/results.jsonl"
        let original = baseline.results
        let half = original.prefix(original.count / 2)
        try half.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RunnerFixture.run(RunnerFixture.configuration(out: directory))) { error in
            XCTAssertEqual(error as? ResultsStoreError, .existingResults(path: path))
            XCTAssertTrue("\(error)".contains("--resume"), "\(error)")
        }
        XCTAssertEqual(try RunnerFixture.contents(path), half, "the existing file is untouched, half line included")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/manifest.json"))
    }

    func testResumingAFinishedRunAddsNothing() throws {
        let baseline = try RunnerFixture.baseline.get()
        let directory = RunnerFixture.freshDirectory("finished")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let original = baseline.results
        try original.write(to: URL(fileURLWithPath: directory + "/results.jsonl"))
        let outcome = try RunnerFixture.run(RunnerFixture.configuration(out: directory, resume: true))
        XCTAssertEqual(try RunnerFixture.contents(directory + "/results.jsonl"), original)
        XCTAssertEqual(outcome.records.count, original.filter { $0 == UInt8(ascii: "\n") }.count)
    }
}
