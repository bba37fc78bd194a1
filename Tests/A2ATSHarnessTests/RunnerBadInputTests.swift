import A2ATSMethods
import A2ATSSupport
import A2ATSTasks
import Foundation
import XCTest
@testable import A2ATSHarness

/// Reference: issue 4's "Bad input" list and contract.md — each mistake is one error naming
/// the file, line and field or listing the valid names, and nothing is written to --out that
/// could pass for results.
final class RunnerBadInputTests: XCTestCase {
    override class func tearDown() {
        try? FileManager.default.removeItem(at: RunnerFixture.scratch)
        super.tearDown()
    }

    /// Runs and returns the error's text, checking that no results file was left.
    private func failure(_ configuration: RunConfiguration, file: StaticString = #filePath,
                         line: UInt = #line) -> (error: Error?, text: String) {
        var caught: Error?
        XCTAssertThrowsError(try RunnerFixture.run(configuration), file: file, line: line) { caught = $0 }
        let out = configuration.outputDirectory
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/results.jsonl"), "no results file", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/report.md"), "no report", file: file, line: line)
        return (caught, caught.map { "\($0)" } ?? "")
    }

    /// A RULER `TASK/validation.jsonl` in the scratch directory holding `lines`.
    private func rulerFile(_ lines: [String], task: String = "niah_single_1") throws -> String {
        let directory = RunnerFixture.freshDirectory("data") + "/" + task
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/validation.jsonl"
        try lines.map { $0 + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func rulerLine(index: Int, input: String) -> String {
        JSONValue.object(["index": .int(index), "input": .string(input), "outputs": ["7"], "length": 200,
                          "answer_prefix": " The number is"]).compactText
    }

    func testUnknownTaskNameListsSuggestions() throws {
        let out = RunnerFixture.freshDirectory("bad-task")
        let (error, text) = failure(try RunnerFixture.configuration(out: out, tasks: ["niah_singel_1"]))
        guard case .unknownTask(let name, let suggestions, let available)? = error as? TaskError else {
            return XCTFail("expected unknownTask, got \(text)")
        }
        XCTAssertEqual(name, "niah_singel_1")
        XCTAssertEqual(suggestions.first, "niah_single_1")
        XCTAssertTrue(available.contains("vt") && available.contains("hotpotqa"), "\(available)")
        XCTAssertTrue(text.contains("did you mean niah_single_1"), text)
    }

    func testUnknownTaskInferredFromAFileName() throws {
        let path = try rulerFile([rulerLine(index: 0, input: "Number: 7.")], task: "my_task")
        let (error, text) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("bad-file-task"), tasks: [path]))
        XCTAssertEqual(error as? TaskError, .unnamedTaskFile(path: path, inferred: "my_task", suggestions: []), text)
        XCTAssertTrue(text.contains("names no task") && text.contains("--task TASK=\(path)"), text)
    }

    func testMalformedLineNamesFileAndLine() throws {
        let path = try rulerFile([rulerLine(index: 0, input: "Number: 7."), rulerLine(index: 1, input: "Number: 8."),
                                  "{\"index\": 2, \"input\": \"Number: 9.\", \"outputs\": [\"9\"", rulerLine(index: 3, input: "x")])
        let (error, text) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("bad-line"), tasks: [path]))
        XCTAssertNotNil(error as? TaskError, text)
        XCTAssertTrue(text.hasPrefix(path + ":3"), text)
    }

    func testWrongFieldTypeNamesTheField() throws {
        let path = try rulerFile([rulerLine(index: 0, input: "Number: 7."),
                                  "{\"index\": 1, \"input\": \"Number: 8.\", \"outputs\": \"8\"}"])
        let (_, text) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("bad-type"), tasks: [path]))
        XCTAssertTrue(text.hasPrefix(path + ":2") && text.contains("outputs"), text)
    }

    func testUnknownMethodListsValidNames() throws {
        let (error, text) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("bad-method"),
                                                                    methods: "full,snapkvv"))
        XCTAssertEqual(error as? MethodError,
                       .unknownMethod(name: "snapkvv", suggestion: "snapkv", valid: MethodRegistry.names))
        for name in ["full", "oracle", "streamingllm", "snapkv", "a2ats"] { XCTAssertTrue(text.contains(name), text) }
    }

    func testUnknownMethodParameterListsValidOnes() throws {
        let (error, text) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("bad-parameter"),
                                                                    methods: "snapkv:windw=4"))
        guard case .unknownParameter(let method, let name, _, let valid)? = error as? MethodError else {
            return XCTFail("expected unknownParameter, got \(text)")
        }
        XCTAssertEqual(method, "snapkv")
        XCTAssertEqual(name, "windw")
        XCTAssertEqual(Set(valid), ["window", "kernel", "pooling"])
        XCTAssertTrue(text.contains("window") && text.contains("kernel") && text.contains("pooling"), text)
    }

    /// The parameter's type says SnapKV's kernel must be odd: checked with the plan, before the
    /// model loads and before results.jsonl is opened.
    func testInvalidParameterValueFailsBeforeAnyOutput() throws {
        let (error, text) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("bad-value"),
                                                                    methods: "full,snapkv:kernel=4", budgets: "8"))
        XCTAssertEqual(error as? MethodError, .invalidParameter(method: "snapkv", name: "kernel", value: "4", expected: "an odd integer in 1...∞"),
                       text)
    }

    func testMethodWithoutBudgetsIsAUsageError() throws {
        let (error, _) = failure(try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("no-budgets"),
                                                                 methods: "full,snapkv", budgets: ""))
        XCTAssertNotNil(error as? UsageError)
    }

    /// The tiny model holds 256 positions and niah answers with up to 128 tokens, so a prompt
    /// of 500 characters (the fixture's byte-level BPE has few merges) cannot run. The bad
    /// sample is the last one: with `stopOnError` nothing may be written for the good samples
    /// before it either. Without it the good sample runs and the bad one is reported.
    func testPromptLongerThanTheContextNamesTheContext() throws {
        let long = "Number: 7. " + String(repeating: "The grass is green. ", count: 25)
        let path = try rulerFile([rulerLine(index: 0, input: "Number: 7."), rulerLine(index: 1, input: long)])
        var configuration = try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("too-long"), tasks: [path])
        let outcome = try RunnerFixture.run(configuration)
        XCTAssertEqual(Set(outcome.records.map(\.id)), ["0"])
        XCTAssertEqual(outcome.sampleErrors.count, 1)
        XCTAssertTrue(outcome.sampleErrors.first?.contains("sample 1") == true, "\(outcome.sampleErrors)")
        configuration.outputDirectory = RunnerFixture.freshDirectory("too-long-stop")
        configuration.stopOnError = true
        let (error, text) = failure(configuration)
        guard case .promptExceedsContext(let task, let id, let file, let tokens, let maxNewTokens, let context)? = error as? RunError else {
            return XCTFail("expected promptExceedsContext, got \(text)")
        }
        XCTAssertEqual([task, id, file], ["niah_single_1", "1", path])
        XCTAssertEqual(maxNewTokens, 128)
        XCTAssertEqual(context, 256)
        XCTAssertGreaterThan(tokens + maxNewTokens, 256)
        XCTAssertTrue(text.contains("context of 256 tokens"), text)
    }

    /// With --max-length below the context, the cap is the user's, and the error says so. Every
    /// sample is over it: without `stopOnError` the run ends with no rows and six sample errors.
    func testPromptOverMaxLengthNamesTheLimit() throws {
        var configuration = try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("max-length"), maxLength: 20)
        let outcome = try RunnerFixture.run(configuration)
        XCTAssertEqual(outcome.records.count, 0)
        XCTAssertEqual(outcome.sampleErrors.count, RunnerFixture.sampleCount)
        configuration.outputDirectory = RunnerFixture.freshDirectory("max-length-stop")
        configuration.stopOnError = true
        let (error, text) = failure(configuration)
        guard case .promptTooLong(_, _, _, let limit)? = error as? TaskError else {
            return XCTFail("expected promptTooLong, got \(text)")
        }
        XCTAssertEqual(limit, 20)
    }

    func testGeneratedLengthBeyondTheContextIsRefused() throws {
        let configuration = try RunnerFixture.configuration(out: RunnerFixture.freshDirectory("length"), tasks: ["niah_single_1"])
        XCTAssertEqual(configuration.length, 1024)
        let (error, text) = failure(configuration)
        XCTAssertEqual(error as? TaskError, .lengthExceedsContext(task: "niah_single_1", length: 1024, context: 256), text)
    }
}
