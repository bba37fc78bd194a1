import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSHarness

/// Reference: issue 17's stop rules, checked on the built binary as a shell sees it — SIGINT
/// stops after a finished row with status 130 and prints the command that resumes; a write
/// error (the file-size limit of `ulimit -f`, the same EFBIG/ENOSPC path as a full disk) names
/// results.jsonl and keeps every finished row; a prompt over the model's context is a
/// per-sample error that the other samples survive unless `--stop-on-error`. Rows are compared
/// with an uninterrupted run of the same fixture (RunnerFixture.baseline), every field but timings.
final class RunnerStopTests: XCTestCase {
    private static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("a2ats-eval").path
    private var directory = ""

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("\(Self.binary) is not built (swift build)")
        }
        directory = RunnerFixture.freshDirectory("stop")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func arguments(out: String, task: String = RunnerFixture.rulerFile) -> [String] {
        ["run", "--model", RunnerFixture.model, "--tasks-dir", RunnerFixture.taskDirectory, "--task", task,
         "--methods", RunnerFixture.methods, "--budgets", RunnerFixture.budgets, "--out", out]
    }

    /// Starts the binary (through /bin/sh when `shellPrefix` is set, e.g. `ulimit -f 2;`).
    private func start(_ arguments: [String], environment: [String: String] = [:], shellPrefix: String? = nil,
                       stderr: Pipe) throws -> Process {
        let process = Process()
        if let shellPrefix {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", shellPrefix + " exec \"$0\" \"$@\"", Self.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        for name in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "A2ATS_SHARDS"] { env[name] = nil }
        process.environment = env.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
        return process
    }

    private func finish(_ process: Process, _ stderr: Pipe) -> (status: Int32, stderr: String) {
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    private func lineCount(_ path: String) -> Int {
        (FileManager.default.contents(atPath: path) ?? Data()).filter { $0 == UInt8(ascii: "\n") }.count
    }

    private func assertPrefixOfBaseline(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try RunnerFixture.contents(path)
        XCTAssertEqual(data.last, UInt8(ascii: "\n"), "\(path) ends on a finished row", file: file, line: line)
        let rows = try RunnerFixture.rows(path)
        let baseline = try RunnerFixture.baseline.get().rows
        XCTAssertEqual(RunnerFixture.withoutTimings(rows), RunnerFixture.withoutTimings(Array(baseline.prefix(rows.count))),
                       file: file, line: line)
    }

    func testSIGINTStopsAfterTheCurrentRowAndPrintsTheResumeCommand() throws {
        let out = directory + "/out"
        let stderr = Pipe()
        // Each row write pauses 150 ms (the test hook), so the signal lands mid-run.
        let process = try start(arguments(out: out), environment: ["A2ATS_TEST_WRITE_DELAY_MS": "150"], stderr: stderr)
        let deadline = Date().addingTimeInterval(60)
        while lineCount(out + "/results.jsonl") < 2 && process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(process.isRunning, "the run ended before the signal")
        kill(process.processIdentifier, SIGINT)
        let (status, message) = finish(process, stderr)
        XCTAssertEqual(status, 130, message)
        XCTAssertTrue(message.contains("stopping after the current row"), message)
        XCTAssertTrue(message.contains("error: stopped by SIGINT after a finished row"), message)
        let rows = lineCount(out + "/results.jsonl")
        XCTAssertLessThan(rows, RunnerFixture.sampleCount * RunnerFixture.rowsPerSample)
        try assertPrefixOfBaseline(out + "/results.jsonl")
        // The printed command, word for word: this binary's arguments plus --resume.
        let command = Interruption.resumeCommand(commandLine: [Self.binary] + arguments(out: out), outputDirectory: out)
        XCTAssertTrue(message.contains("Resume with:\n  " + command), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/report.md"), "no report from an interrupted run")

        let resumed = Pipe()
        let (again, text) = finish(try start(arguments(out: out) + ["--resume"], stderr: resumed), resumed)
        XCTAssertEqual(again, 0, text)
        XCTAssertEqual(RunnerFixture.withoutTimings(try RunnerFixture.rows(out + "/results.jsonl")),
                       RunnerFixture.withoutTimings(try RunnerFixture.baseline.get().rows))
    }

    func testWriteErrorNamesTheFileAndKeepsEveryFinishedRow() throws {
        let out = directory + "/out"
        let stderr = Pipe()
        // 2 blocks of 512 bytes: a row or two fit, then write(2) fails with EFBIG (SIGXFSZ ignored).
        let process = try start(arguments(out: out), shellPrefix: "trap '' XFSZ; ulimit -f 2;", stderr: stderr)
        let (status, message) = finish(process, stderr)
        XCTAssertEqual(status, 1, message)
        XCTAssertTrue(message.contains("error: \(out)/results.jsonl: cannot append a row (File too large); every finished row before it is kept"),
                      message)
        XCTAssertGreaterThan(lineCount(out + "/results.jsonl"), 0, "rows before the limit were written")
        XCTAssertLessThanOrEqual(try RunnerFixture.contents(out + "/results.jsonl").count, 1024)
        try assertPrefixOfBaseline(out + "/results.jsonl")
    }

    func testPromptOverTheContextIsAPerSampleError() throws {
        let data = directory + "/long/runner_niah"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let good = try String(contentsOfFile: RunnerFixture.rulerFile, encoding: .utf8)
        let long = JSONValue.object(["index": 0, "input": .string(String(repeating: "The grass is green. ", count: 25)),
                                     "outputs": ["7"], "answer_prefix": " The number is"]).compactText
        // The long sample in the middle (id 3 of 7): samples before and after it run.
        let lines = good.split(separator: "\n").map(String.init)
        let file = data + "/validation.jsonl"
        try ((lines[..<3] + [long] + lines[3...]).joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let out = directory + "/out"
        let stderr = Pipe()
        let (status, message) = finish(try start(arguments(out: out, task: file), stderr: stderr), stderr)
        XCTAssertEqual(status, 1, message)
        XCTAssertTrue(message.contains("error: \(file): task runner_niah, sample 3: the prompt has"), message)
        XCTAssertTrue(message.contains("model's context of 256 tokens"), message)
        XCTAssertTrue(message.contains("1 sample could not run"), message)
        let rows = try RunnerFixture.rows(out + "/results.jsonl")
        XCTAssertEqual(Set(rows.compactMap { $0["id"]?.stringValue }), ["0", "1", "2", "4", "5", "6"])
        XCTAssertEqual(rows.count, RunnerFixture.sampleCount * RunnerFixture.rowsPerSample)
        let manifest = try JSONValue.parse(String(contentsOfFile: out + "/manifest.json", encoding: .utf8))
        XCTAssertEqual(manifest["sample_errors"]?.arrayValue?.count, 1)
        XCTAssertGreaterThan(manifest["peak_rss_bytes"]?.intValue ?? 0, 1 << 20)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/report.md"))

        let stopOut = directory + "/stop"
        let stopped = Pipe()
        let (stopStatus, stopMessage) = finish(try start(arguments(out: stopOut, task: file) + ["--stop-on-error"], stderr: stopped), stopped)
        XCTAssertEqual(stopStatus, 1, stopMessage)
        XCTAssertTrue(stopMessage.contains("sample 3") && stopMessage.contains("context of 256 tokens"), stopMessage)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stopOut + "/results.jsonl"), "--stop-on-error stops before any row")
    }

    /// The resume command survives a shell: words with spaces or quotes are quoted, --out and --resume added once.
    func testResumeCommandQuotesWordsAndAddsWhatIsMissing() {
        XCTAssertEqual(Interruption.resumeCommand(commandLine: ["a2ats-eval", "run", "--task", "a b", "--title", "it's"],
                                                  outputDirectory: "runs/run-1"),
                       "a2ats-eval run --task 'a b' --title 'it'\\''s' --out runs/run-1 --resume")
        XCTAssertEqual(Interruption.resumeCommand(commandLine: ["x", "--out", "d", "--resume"], outputDirectory: "d"),
                       "x --out d --resume")
    }
}
