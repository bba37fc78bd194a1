import XCTest
import Foundation
@testable import A2ATSTasks

final class TaskCatalogTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func testBuiltInCatalogHasAllRulerAndLongBenchTasks() throws {
        let catalog = try TaskCatalog.builtIn()
        let ruler = catalog.tasks.filter { $0.source == .ruler }.map(\.name)
        let longBench = catalog.tasks.filter { $0.source == .longbench }
        XCTAssertEqual(ruler, ["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2",
                               "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "qa_1", "qa_2"])
        XCTAssertEqual(longBench.count, 21)
        // Reference: LongBench pred.py runs these datasets without the chat template.
        XCTAssertEqual(Set(longBench.filter { !$0.chatTemplate }.map(\.name)),
                       ["trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"])
        // Reference: benchmarks.md max new tokens and metrics.
        XCTAssertEqual(try catalog.task(named: "gov_report").maxNewTokens, 512)
        XCTAssertEqual(try catalog.task(named: "passage_retrieval_zh").metric, "retrieval_zh")
        XCTAssertEqual(try catalog.task(named: "vt").maxNewTokens, 30)
        XCTAssertEqual(try catalog.task(named: "qa_2").metric, "string_match_part")
        XCTAssertTrue(try catalog.task(named: "hotpotqa").template.contains("{context}"))
    }

    /// The bundled copy must match the repository's tasks/ (scripts/tasks/make_task_files.py).
    func testBundledTaskFilesMatchRepository() throws {
        let directory = Self.repository.appendingPathComponent("tasks").path
        let bundled = Self.repository.appendingPathComponent("Sources/A2ATSTasks/Data/tasks").path
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(names, try FileManager.default.contentsOfDirectory(atPath: bundled).filter { $0.hasSuffix(".json") }.sorted())
        for name in names {
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/" + name),
                           FileManager.default.contents(atPath: bundled + "/" + name), name)
        }
        XCTAssertEqual(try TaskCatalog(directory: directory).names, try TaskCatalog.builtIn().names)
    }

    func testUnknownTaskSuggestsClosestNames() throws {
        let catalog = try TaskCatalog.builtIn()
        XCTAssertThrowsError(try catalog.task(named: "niah_singel_1")) { error in
            guard case TaskError.unknownTask(_, let suggestions, let available)? = error as? TaskError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(suggestions.first, "niah_single_1")
            XCTAssertEqual(available.count, 34)
            XCTAssertTrue("\(error)".contains("did you mean niah_single_1"))
        }
        XCTAssertEqual(catalog.suggestions(for: "hotpot").first, "hotpotqa")
    }

    func testBadTaskFileNamesFieldAndDuplicates() throws {
        let directory = NSTemporaryDirectory() + "tasks-catalog-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/mine.json"
        try #"{"version": 1, "tasks": [{"name": "x", "source": "custom", "template": "{context} {input}", "max_new_tokens": 8, "metric": "f1"}]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TaskCatalog(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("mine.json: field \"tasks[0].metric\": \"f1\" is not one of"), "\(error)")
        }
        try #"{"version": 2, "name": "narrativeqa", "source": "custom", "template": "{context}", "max_new_tokens": 8, "metric": "qa_f1"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        var catalog = try TaskCatalog.builtIn()
        XCTAssertThrowsError(try catalog.load(file: file)) { error in
            XCTAssertTrue("\(error)".contains("already defined"), "\(error)")
        }
    }

    /// Found by fuzzing: a generated RULER task whose template lost `{context}` made the
    /// generator double the haystack forever. The file is refused on load, and a definition
    /// built in code (past the file check) is refused by the generator instead of hanging.
    func testGeneratedRulerTaskWithoutContextIsRefused() throws {
        let file = NSTemporaryDirectory() + "tasks-nocontext-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #"{"version": 1, "tasks": [{"name": "n", "source": "ruler", "template": "What is {query}?", "max_new_tokens": 8, "metric": "string_match_all", "generator": {"task": "niah", "args": {}}}]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        var catalog = try TaskCatalog()
        XCTAssertThrowsError(try catalog.load(file: file)) { error in
            XCTAssertEqual("\(error)", "\(file): field \"tasks[0].template\": a generated RULER task needs a {context} placeholder for the haystack")
        }
        // Found by fuzzing too: a generator without its family was "not synthetic" without naming the file.
        try #"{"version": 1, "name": "n", "source": "ruler", "template": "{context}", "max_new_tokens": 8, "metric": "string_match_all", "generator": {"tusk": "niah"}}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try catalog.load(file: file)) { error in
            XCTAssertEqual("\(error)", "\(file): field \"generator.task\": missing")
        }
        var task = try TaskCatalog.builtIn().task(named: "niah_single_1")
        task.template = "What is {query}?"
        XCTAssertThrowsError(try RulerGenerator(task: task, tokenizer: TestTokenizer()).generate(length: 1024, samples: 1, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("does not grow with the haystack"), "\(error)")
        }
    }
}
