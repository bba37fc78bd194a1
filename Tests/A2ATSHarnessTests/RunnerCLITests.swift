import A2ATSSupport
import Foundation
import XCTest

/// Reference: the exit-status rule of main.swift (2: what was typed is wrong — a flag, a
/// method spec, a task name; 1: a data file, the model or the output directory) and
/// contract.md's Slurm / Kubernetes shard variables, checked on the built debug binary the
/// way a user's script or a scheduler sees it.
final class RunnerCLITests: XCTestCase {
    /// The CLI built beside this test bundle (same configuration: debug, or release in CI).
    private static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("a2ats-eval").path
    /// Scheduler variables of the machine running the tests must not leak into the runs.
    private static let schedulerVariables = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT",
                                             "JOB_COMPLETION_INDEX", "A2ATS_SHARDS"]
    private var directory = ""

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("\(Self.binary) is not built (swift build)")
        }
        directory = RunnerFixture.freshDirectory("cli")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private struct Exit { let status: Int32; let stdout: String; let stderr: String }

    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Exit {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for name in Self.schedulerVariables { env[name] = nil }
        process.environment = env.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Exit(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                    stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A run of the fixture file on the tiny model with full attention only (fast).
    /// `--help` names every subcommand the issues ask for, and each one's own help works.
    func testHelpListsEverySubcommand() throws {
        let help = try run(["--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.contains("USAGE: a2ats-eval <command>"), help.stdout)
        XCTAssertFalse(help.stdout.contains("a2ats-eval a2ats-eval"), help.stdout)
        for command in ["run", "generate", "score", "report", "tasks", "forward", "calibrate", "fidelity"] {
            XCTAssertTrue(help.stdout.contains("  \(command) "), "--help lacks \(command)")
            let own = try run([command, "--help"])
            XCTAssertEqual(own.status, 0, "\(command) --help: \(own.stderr)")
            XCTAssertTrue(own.stdout.contains("USAGE: a2ats-eval \(command)"), own.stdout)
        }
    }

    private func runArguments(out: String, task: String = RunnerFixture.rulerFile, methods: String = "full") -> [String] {
        ["run", "--model", RunnerFixture.model, "--tasks-dir", RunnerFixture.taskDirectory, "--task", task,
         "--methods", methods, "--out", out]
    }

    private func assertNoResults(_ out: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/results.jsonl"), "no results file in \(out)", file: file, line: line)
    }

    func testUsageErrorsExitWithTwo() throws {
        let out = directory + "/out"
        let cases: [([String], String)] = [
            (["run", "--model", RunnerFixture.model], "run needs --task"),
            (["run", "--task", "niah_single_1", "--bogus"], "bogus"),
            (runArguments(out: out) + ["--shard", "2/2"], "outside 0..<2"),
            (runArguments(out: out) + ["--budgets", "8,8"], "listed twice"),
            (runArguments(out: out, task: "niah_singel_1"), "did you mean niah_single_1"),
            (runArguments(out: out, methods: "full,snapkvv"), "valid methods: full"),
            (runArguments(out: out, methods: "snapkv:windw=4") + ["--budgets", "8"], "valid parameters: window"),
            (runArguments(out: out, methods: "full,snapkv"), "needs --budgets"),
            (runArguments(out: out, methods: "snapkv:kernel=4") + ["--budgets", "8"], "expected an odd integer"),
            // Bad parameter values stop the run before the model loads (this model does not exist).
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "a2ats:wrope=maybe",
              "--budgets", "0.01"], "expected true or false"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "a2ats:topk=0.05",
              "--budgets", "0.01"], "--budgets sets what topk would"),
            // Compositions and precision settings (issue 13), also before the model loads.
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "kivi:bits=3"],
             "parameter bits=\"3\": expected one of 2, 4, 8"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "snapkv+h2o", "--budgets", "8"],
             "snapkv and h2o both choose tokens"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "kivi+kivi:bits=4"],
             "kivi is composed with itself"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "snapkv:bits=2+kivi",
              "--budgets", "8"], "bits is a parameter of kivi, not of snapkv"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "snapkv:bits=2",
              "--budgets", "8"], "unknown parameter \"bits\""),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "kivi+think"],
             "kivi and think both decide how tokens are stored"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "kivi:group=32,residual=100"],
             "expected a multiple of group"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "snapkv", "--kv-budgets", "1.5"],
             "expected a fraction of the full cache's bytes"),
            (["run", "--model", out + "/missing.gguf", "--task", "niah_single_1", "--methods", "a2ats", "--kv-budgets", "0.25"],
             "a2ats' needs --budgets"),
            // `run` is the default subcommand when the first argument is an option.
            (["--task", "niah_singel_1", "--out", out], "did you mean niah_single_1"),
            (["--task", "runner_nia=" + RunnerFixture.rulerFile, "--tasks-dir", RunnerFixture.taskDirectory, "--out", out],
             "did you mean runner_niah"),
        ]
        for (arguments, message) in cases {
            let exit = try run(arguments)
            XCTAssertEqual(exit.status, 2, "\(arguments): \(exit.stderr)")
            XCTAssertTrue(exit.stderr.contains("error: ") && exit.stderr.contains(message), "\(arguments): \(exit.stderr)")
            assertNoResults(out)
        }
    }

    func testDataErrorsExitWithOneAndLeaveNoResults() throws {
        let data = directory + "/data/niah_single_1"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let good = try String(contentsOfFile: RunnerFixture.rulerFile, encoding: .utf8)
        let malformed = data + "/validation.jsonl"
        try (good + "{\"index\": 99, \"input\": \n").write(toFile: malformed, atomically: true, encoding: .utf8)
        let out = directory + "/out"

        let exit = try run(runArguments(out: out, task: malformed))
        XCTAssertEqual(exit.status, 1, exit.stderr)
        XCTAssertTrue(exit.stderr.contains("error: \(malformed):7: "), exit.stderr)
        assertNoResults(out)

        let missingModel = try run(["run", "--model", directory + "/nope.gguf", "--task", RunnerFixture.rulerFile, "--out", out])
        XCTAssertEqual(missingModel.status, 1, missingModel.stderr)
        XCTAssertTrue(missingModel.stderr.contains("nope.gguf"), missingModel.stderr)
        assertNoResults(out)

        let long = data + "/../../long/niah_single_1"
        try FileManager.default.createDirectory(atPath: long, withIntermediateDirectories: true)
        let line = JSONValue.object(["index": 0, "input": .string(String(repeating: "The grass is green. ", count: 25)),
                                     "outputs": ["7"], "answer_prefix": " The number is"]).compactText
        try (good + line + "\n").write(toFile: long + "/validation.jsonl", atomically: true, encoding: .utf8)
        // With --stop-on-error a prompt over the context stops the run before any row (without it, the
        // other samples run: RunnerStopTests).
        let tooLong = try run(runArguments(out: out, task: long + "/validation.jsonl") + ["--stop-on-error"])
        XCTAssertEqual(tooLong.status, 1, tooLong.stderr)
        XCTAssertTrue(tooLong.stderr.contains("sample 6") && tooLong.stderr.contains("context of 256 tokens"), tooLong.stderr)
        assertNoResults(out)
    }

    func testExistingResultsExitWithOneAndStayUntouched() throws {
        let out = directory + "/out"
        let first = try run(runArguments(out: out))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("results: \(out)/results.jsonl"), first.stdout)
        let before = try RunnerFixture.contents(out + "/results.jsonl")
        XCTAssertEqual(before.filter { $0 == UInt8(ascii: "\n") }.count, RunnerFixture.sampleCount)

        let again = try run(runArguments(out: out))
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("--resume"), again.stderr)
        XCTAssertEqual(try RunnerFixture.contents(out + "/results.jsonl"), before)

        let resumed = try run(runArguments(out: out) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try RunnerFixture.contents(out + "/results.jsonl"), before, "nothing left to run")
    }

    /// The variables examples/slurm-array.sh and examples/k8s-indexed-job.yaml rely on: shard
    /// directories from both schedulers merge into the whole run with `report`.
    func testSchedulerVariablesShardTheRunAndReportMergesThem() throws {
        let slurmEnvironment = ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "2"]
        // Without --out a shard would land in a directory of its own start time: refused.
        let unnamed = try run(["run", "--model", RunnerFixture.model, "--tasks-dir", RunnerFixture.taskDirectory,
                               "--task", RunnerFixture.rulerFile, "--methods", "full"], environment: slurmEnvironment)
        XCTAssertEqual(unnamed.status, 2, unnamed.stderr)
        XCTAssertTrue(unnamed.stderr.contains("--out"), unnamed.stderr)
        // Slurm, with --out per array index as examples/slurm-array.sh writes it.
        let slurmOut = directory + "/runs/x/shard-1"
        let slurm = try run(runArguments(out: slurmOut), environment: slurmEnvironment)
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        let slurmRows = try RunnerFixture.rows(slurmOut + "/results.jsonl")
        XCTAssertEqual(slurmRows.map { $0["id"]?.stringValue }, ["1", "3", "5"])
        let manifest = try String(contentsOfFile: slurmOut + "/manifest.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("slurm"), manifest)

        // Kubernetes Indexed Job, with an explicit --out per index.
        let k8sOut = directory + "/runs/x/shard-0"
        let k8s = try run(runArguments(out: k8sOut), environment: ["JOB_COMPLETION_INDEX": "0", "A2ATS_SHARDS": "2"])
        XCTAssertEqual(k8s.status, 0, k8s.stderr)
        XCTAssertEqual(try RunnerFixture.rows(k8sOut + "/results.jsonl").map { $0["id"]?.stringValue }, ["0", "2", "4"])
        let k8sWithoutCount = try run(runArguments(out: directory + "/runs/y"), environment: ["JOB_COMPLETION_INDEX": "0"])
        XCTAssertEqual(k8sWithoutCount.status, 2, k8sWithoutCount.stderr)
        XCTAssertTrue(k8sWithoutCount.stderr.contains("A2ATS_SHARDS"), k8sWithoutCount.stderr)

        let report = try run(["report", slurmOut, k8sOut, "--out", directory + "/reports/x.md"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/reports/x.md"))
        let summary = try JSONValue.parse(String(contentsOfFile: directory + "/reports/summary.json", encoding: .utf8))
        let cells = summary["tasks"]?.arrayValue?.first?["cells"]?.arrayValue ?? []
        XCTAssertEqual(cells.map { $0["method"] }, ["full"])
        XCTAssertEqual(cells.first?["n"], .int(RunnerFixture.sampleCount), "every sample once, from both schedulers' shards")
    }
}
