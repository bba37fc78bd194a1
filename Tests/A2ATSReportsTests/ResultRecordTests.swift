@testable import A2ATSReports
import A2ATSSupport
import XCTest

final class ResultRecordTests: XCTestCase {
    private func sample() -> ResultRecord {
        ResultRecord(id: "3", task: "vt", method: "snapkv:kernel=7", params: ["window": 32, "kernel": 7],
                     budget: .fraction(0.03), budgetTokens: 31, length: 1024, prediction: "X1 X2",
                     references: ["X1", "X2"], score: 100, promptTokens: 994, attendedTokens: 31.5,
                     kvBytes: 1_428_480, sideBytes: 0, seconds: 0.25, prefillSeconds: 1.5, sourceIndex: 7)
    }

    func testFieldNamesAndOrderFollowTheContract() {
        // docs/contract.md field names, written in this order.
        XCTAssertEqual(sample().jsonLine, """
        {"id": "3", "task": "vt", "method": "snapkv:kernel=7", "params": {"window": 32, "kernel": 7}, \
        "budget": 0.03, "budget_tokens": 31, "length": 1024, "prediction": "X1 X2", "references": ["X1", "X2"], \
        "score": 100, "prompt_tokens": 994, "attended_tokens": 31.5, "kv_bytes": 1428480, "side_bytes": 0, \
        "seconds": 0.25, "prefill_seconds": 1.5, "source_index": 7}
        """)
    }

    func testRoundTripKeepsUnknownFieldsAndBudgetKinds() throws {
        var record = sample()
        record.extra = ["output_tokens": 5]
        XCTAssertEqual(try ResultRecord(line: record.jsonLine, file: "r.jsonl", line: 1), record)
        record.budget = .tokens(256)
        XCTAssertEqual(try ResultRecord(line: record.jsonLine, file: "r.jsonl", line: 1).budget, .tokens(256))
        record.budget = nil
        record.budgetTokens = nil
        record.length = nil
        record.sourceIndex = nil
        XCTAssertTrue(record.jsonLine.contains("\"budget\": null, \"budget_tokens\": null, \"length\": null"))
        XCTAssertEqual(try ResultRecord(line: record.jsonLine, file: "r.jsonl", line: 1), record)
        // The resume key: (task, length, id, method spec, budget).
        XCTAssertEqual(record.resumeKey, ResultRecord.ResumeKey(task: "vt", length: nil, id: "3", method: "snapkv:kernel=7", budget: nil))
    }

    func testBadFieldsNameFileLineAndField() {
        let bad = sample().jsonLine.replacingOccurrences(of: "\"budget\": 0.03", with: "\"budget\": 1.5")
        XCTAssertThrowsError(try ResultRecord(line: bad, file: "r.jsonl", line: 4)) { error in
            let error = error as? DataFileError
            XCTAssertEqual(error?.line, 4)
            XCTAssertEqual(error?.field, "budget")
        }
        let noScore = sample().jsonLine.replacingOccurrences(of: "\"score\": 100, ", with: "")
        XCTAssertThrowsError(try ResultRecord(line: noScore, file: "r.jsonl", line: 2)) { error in
            XCTAssertEqual(error as? DataFileError, DataFileError(file: "r.jsonl", line: 2, field: "score", problem: "missing"))
        }
        XCTAssertThrowsError(try ResultRecord(line: "{\"id\": ", file: "r.jsonl", line: 9)) { error in
            XCTAssertEqual((error as? DataFileError)?.line, 9)
        }
    }

}
