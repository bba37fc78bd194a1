import A2ATSSupport
import Foundation
import XCTest
@testable import A2ATSHarness

/// Reference: the resume rules of contract.md; expected files are written out by hand.
final class ResultsStoreTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "results-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func row(_ id: Int, method: String = "snapkv:kernel=7", budget: JSONValue = 256) -> JSONObject {
        ["id": .int(id), "task": "niah_single_1", "length": 1024, "method": .string(method), "budget": budget,
         "prediction": "ü \"quoted\"", "score": 100.0]
    }

    private var resultsPath: String { directory + "/results.jsonl" }
    private func contents() throws -> String { try String(contentsOfFile: resultsPath, encoding: .utf8) }

    func testAppendWritesOneLinePerRow() throws {
        let store = try ResultsStore(directory: directory + "/nested", resume: false)
        try store.append(row(0))
        try store.append(row(1, budget: 0.03))
        let text = try String(contentsOfFile: directory + "/nested/results.jsonl", encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 2)
        XCTAssertTrue(text.hasSuffix("\"score\": 100}\n"))
        XCTAssertTrue(store.contains(try ResumeKey(row: row(1, budget: 0.03))))
        XCTAssertFalse(store.contains(try ResumeKey(row: row(1, budget: 256))))
    }

    /// A KV-memory budget is part of the budget in the resume key: `kv_budget` 0.25 (with `budget`
    /// null) is neither the token fraction 0.25 nor the budget-free row; rows without the field
    /// keep their old key.
    func testKVMemoryBudgetIsPartOfTheResumeKey() throws {
        var kv = row(1, budget: .null)
        kv["kv_budget"] = 0.25
        let keys = try [kv, row(1, budget: 0.25), row(1, budget: .null)].map { try ResumeKey(row: $0) }
        XCTAssertEqual(Set(keys).count, 3)
        XCTAssertEqual(keys[0].budget, "kv=0.25")
        var explicitNull = row(1, budget: .null)
        explicitNull["kv_budget"] = .null
        XCTAssertEqual(try ResumeKey(row: explicitNull), keys[2])
    }

    func testResumeDropsHalfWrittenLineAndCollectsKeys() throws {
        do {
            let store = try ResultsStore(directory: directory, resume: false)
            for id in 0..<3 { try store.append(row(id)) }
        }
        let complete = try contents()
        // Simulate a crash in the middle of writing the fourth row.
        let half = String(JSONValue.object(row(3)).compactText.prefix(40))
        try (complete + half).write(toFile: resultsPath, atomically: false, encoding: .utf8)

        let store = try ResultsStore(directory: directory, resume: true)
        XCTAssertEqual(try contents(), complete, "the half line is cut back to the last newline")
        XCTAssertEqual(store.droppedTailBytes, half.utf8.count)
        XCTAssertEqual(store.resumedRowCount, 3)
        XCTAssertEqual(store.finishedKeys, Set(try (0..<3).map { try ResumeKey(row: row($0)) }))
        XCTAssertFalse(store.contains(try ResumeKey(row: row(3))))

        // The next append starts on a clean line, and the result equals an uninterrupted run.
        try store.append(row(3))
        let uninterrupted = (0..<4).map { JSONValue.object(row($0)).compactText + "\n" }.joined()
        XCTAssertEqual(try contents(), uninterrupted)
        XCTAssertEqual(try JSONLinesReader(path: resultsPath).readAll().count, 4)
    }

    func testResumeOfOnlyAHalfLineLeavesAnEmptyFile() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "{\"id\": 0, \"ta".write(toFile: resultsPath, atomically: false, encoding: .utf8)
        let store = try ResultsStore(directory: directory, resume: true)
        XCTAssertEqual(try contents(), "")
        XCTAssertTrue(store.finishedKeys.isEmpty)
    }

    func testResumeOfLargeFileFindsTheLastNewline() throws {
        // Longer than the 64 KiB backwards-read step, with a tail longer than one step too.
        do {
            let store = try ResultsStore(directory: directory, resume: false)
            for id in 0..<500 { try store.append(row(id)) }
        }
        let complete = try contents()
        let longTail = "{\"prediction\": \"" + String(repeating: "z", count: 100_000)
        try (complete + longTail).write(toFile: resultsPath, atomically: false, encoding: .utf8)
        let store = try ResultsStore(directory: directory, resume: true)
        XCTAssertEqual(store.finishedKeys.count, 500)
        XCTAssertEqual(try contents(), complete)
    }

    func testRefusesExistingResultsWithoutResume() throws {
        do {
            let store = try ResultsStore(directory: directory, resume: false)
            try store.append(row(0))
        }
        let before = try contents()
        XCTAssertThrowsError(try ResultsStore(directory: directory, resume: false)) { error in
            XCTAssertEqual(error as? ResultsStoreError, .existingResults(path: resultsPath))
            XCTAssertTrue("\(error)".contains("pass --resume"))
            XCTAssertTrue("\(error)".contains("another --out"))
        }
        XCTAssertEqual(try contents(), before, "nothing already written is lost")
        // An empty file from a run that wrote nothing is not worth refusing.
        try "".write(toFile: resultsPath, atomically: false, encoding: .utf8)
        XCTAssertNoThrow(try ResultsStore(directory: directory, resume: false))
    }

    func testSecondWriterIsRefusedWhileTheFirstIsOpen() throws {
        var first: ResultsStore? = try ResultsStore(directory: directory, resume: true)
        XCTAssertThrowsError(try ResultsStore(directory: directory, resume: true)) { error in
            XCTAssertEqual(error as? ResultsStoreError, .busy(path: resultsPath))
        }
        try first?.append(row(0))
        first = nil  // closing releases the lock
        XCTAssertEqual(try ResultsStore(directory: directory, resume: true).finishedKeys.count, 1)
        let shardStore = try ResultsStore(directory: directory, fileName: "results-1-of-4.jsonl", resume: false)
        XCTAssertTrue(shardStore.path.hasSuffix("/results-1-of-4.jsonl"))
    }

    func testDamagedCompleteLinesAreErrors() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try (JSONValue.object(row(0)).compactText + "\nnot json\n").write(toFile: resultsPath, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try ResultsStore(directory: directory, resume: true)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(resultsPath):2: invalid JSON"), "\(error)")
        }
        try "{\"id\": 1, \"task\": \"t\"}\n".write(toFile: resultsPath, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try ResultsStore(directory: directory, resume: true)) { error in
            XCTAssertEqual("\(error)", "\(resultsPath):1: results row lacks the resume-key field \"length\"")
        }
    }

    func testResumeKeyDistinguishesTypes() throws {
        var a = row(1)
        var b = row(1)
        b["id"] = "1"
        XCTAssertNotEqual(try ResumeKey(row: a), try ResumeKey(row: b))
        a["length"] = .null
        XCTAssertEqual(try ResumeKey(row: a).length, "null")
        a["prediction"] = "different"  // non-key fields do not matter
        var c = row(1)
        c["length"] = .null
        XCTAssertEqual(try ResumeKey(row: a), try ResumeKey(row: c))
        XCTAssertThrowsError(try ResumeKey(row: ["id": 1]))
    }
}
