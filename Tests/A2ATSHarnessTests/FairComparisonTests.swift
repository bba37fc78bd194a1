import A2ATSMethods
import A2ATSModel
import A2ATSReports
import A2ATSSupport
import A2ATSTasks
import Foundation
import XCTest
@testable import A2ATSHarness

/// Issue "fair comparisons", on the tiny fixture model: the ceiling a retrieval run adds, one build
/// per grid on resume, and task files under any name. References: the contract's wording
/// ("a ceiling row reads with the same sinks and window"; "--task NAME=PATH") and a plain run of
/// the same file under its RULER name.
final class FairComparisonTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = RunnerFixture.freshDirectory("fair")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Every retrieval method's sinks and window get an oracle reading the same, unless the list has one.
    func testRetrievalRunsGetTheMatchedCeiling() throws {
        let methods = try MethodSpec.parseList("full,a2ats,a2ats:window=32,a2ats:wrope=false,oracle,snapkv")
        let plan = try MethodRun.plan(methods: methods, budgets: [.fraction(0.01)], matchingCeilings: true)
        let canonical = plan.map(\.canonical)
        XCTAssertEqual(canonical.filter { $0.hasPrefix("oracle") }, ["oracle", "oracle:sinks=8,window=64", "oracle:sinks=8,window=32"])
        let defaults = A2ATSParameters()
        let ceiling = try XCTUnwrap(plan.first { $0.canonical == "oracle:sinks=8,window=64" })
        let instance = try XCTUnwrap(ceiling.instantiate(promptTokens: 4000, model: makeTinyConfig(), resources: nil) as? OracleTopK)
        XCTAssertEqual([instance.sinks, instance.window], [defaults.sinks, defaults.window], "the ceiling reads what a2ats reads")
        // Not asked for: eviction runs get no ceiling; a run that lists the matched oracle gets no second one.
        XCTAssertEqual(try MethodRun.plan(methods: MethodSpec.parseList("full,snapkv,knorm"), budgets: [.tokens(64)],
                                          matchingCeilings: true).count, 3)
        XCTAssertEqual(try MethodRun.plan(methods: MethodSpec.parseList("a2ats,oracle:window=64,sinks=8"), budgets: [.tokens(64)],
                                          matchingCeilings: true).count, 2)
        // A retrieval method over a store gets its ceiling over the same store; KV budgets go to eviction methods only.
        let stored = try MethodRun.plan(methods: MethodSpec.parseList("a2ats+kivi:bits=4,snapkv+kivi:bits=4"),
                                        budgets: [.tokens(64)], kvBudgets: [.kvMemory(0.25)], matchingCeilings: true)
        XCTAssertEqual(stored.map { $0.canonical + "@" + ($0.budget?.description ?? "-") },
                       ["a2ats+kivi:bits=4@64", "snapkv+kivi:bits=4@64", "snapkv+kivi:bits=4@kv=0.25",
                        "oracle:sinks=8,window=64+kivi:bits=4@64"])
        // A budget replaces a2ats's topk: its params leave topk out.
        XCTAssertFalse(try XCTUnwrap(plan.first { $0.canonical == "a2ats" }).parametersJSON.contains { $0.key == "topk" })
    }

    /// Resuming rows another build wrote is refused before the model loads; with
    /// `--allow-mixed-builds` the run continues and the report says which rows came from which build.
    func testResumeWithAnotherBuildIsRefused() throws {
        let out = directory + "/mixed"
        try RunnerFixture.run(RunnerFixture.configuration(out: out, methods: "full", budgets: ""))
        let results = out + "/results.jsonl"
        let rows = try RunnerFixture.rows(results)
        XCTAssertEqual(Set(rows.compactMap { $0["build"]?.stringValue }), [BuildState.current.id])
        // The same rows as another build would have written them.
        let foreign = rows.map { row -> String in
            var changed = row
            changed["build"] = "0123456789ab"
            return JSONValue.object(changed).compactText
        }.joined(separator: "\n") + "\n"
        try foreign.write(toFile: results, atomically: true, encoding: .utf8)

        var configuration = try RunnerFixture.configuration(out: out, methods: "full,streamingllm", budgets: "8", resume: true)
        configuration.modelPath = directory + "/not-loaded.gguf"   // the refusal comes first
        XCTAssertThrowsError(try RunnerFixture.run(configuration)) { error in
            guard case let RunError.mixedBuilds(_, current, found) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(current, BuildState.current.id)
            XCTAssertEqual(found, ["0123456789ab": RunnerFixture.sampleCount])
        }
        XCTAssertEqual(try String(contentsOfFile: results, encoding: .utf8), foreign, "a refused resume touches nothing")

        configuration = try RunnerFixture.configuration(out: out, methods: "full,streamingllm", budgets: "8", resume: true)
        configuration.allowMixedBuilds = true
        try RunnerFixture.run(configuration)
        XCTAssertEqual(try RunnerFixture.rows(results).count, 2 * RunnerFixture.sampleCount)
        let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("These rows come from 2 builds"), report)
        XCTAssertTrue(report.contains("| 0123456789ab | \(RunnerFixture.sampleCount) | full |"), report)
    }

    /// A RULER file kept under another name runs as `NAME=PATH` and gives the rows of the same file
    /// under its RULER name; without NAME the error says how to name it; an unknown NAME gets a
    /// did-you-mean.
    func testTaskNameEqualsPathRunsARenamedRulerFile() throws {
        let renamed = directory + "/runner_niah_256.jsonl"
        try FileManager.default.copyItem(atPath: RunnerFixture.rulerFile, toPath: renamed)
        let plain = try RunnerFixture.run(RunnerFixture.configuration(out: directory + "/plain", methods: "full", budgets: ""))
        let named = try RunnerFixture.run(RunnerFixture.configuration(out: directory + "/named", tasks: ["runner_niah=" + renamed],
                                                                      methods: "full", budgets: ""))
        XCTAssertEqual(named.records.count, RunnerFixture.sampleCount)
        XCTAssertEqual(named.records.map(\.task), plain.records.map(\.task))
        XCTAssertEqual(named.records.map(\.prediction), plain.records.map(\.prediction))
        XCTAssertEqual(named.records.map(\.score), plain.records.map(\.score))

        XCTAssertThrowsError(try RunnerFixture.run(RunnerFixture.configuration(out: directory + "/unnamed", tasks: [renamed],
                                                                                methods: "full", budgets: ""))) { error in
            XCTAssertTrue(String(describing: error).contains("--task runner_niah=" + renamed), "\(error)")
        }
        XCTAssertThrowsError(try RunnerFixture.run(RunnerFixture.configuration(out: directory + "/typo", tasks: ["runner_nia=" + renamed],
                                                                                methods: "full", budgets: ""))) { error in
            guard case let TaskError.unknownTask(name, suggestions, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "runner_nia")
            XCTAssertEqual(suggestions.first, "runner_niah")
        }
    }

    private func makeTinyConfig() throws -> ModelConfig {
        try LanguageModel.load(path: RunnerFixture.model).model.config
    }
}
