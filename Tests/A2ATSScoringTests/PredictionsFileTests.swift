import A2ATSScoring
import A2ATSSupport
import XCTest

final class PredictionsFileTests: XCTestCase {
    private func temporaryFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "predictions-\(UUID().uuidString).jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testMeanTimesHundred() throws {
        // Row scores 1 (exact) and 4/7 (see MetricTests) → mean × 100 = 100·(1 + 4/7)/2.
        let path = try temporaryFile("""
        {"prediction": "Paris", "answers": ["Paris"], "all_classes": null}
        {"pred": "The quick brown fox.", "answers": ["a quick red fox jumps"]}
        """)
        let result = try scorePredictionsFile(path: path, dataset: "hotpotqa")
        XCTAssertEqual(result.metric, "qa_f1")
        XCTAssertEqual(result.n, 2)
        XCTAssertEqual(result.score, 100 * (1 + 4.0 / 7.0) / 2, accuracy: 1e-9)
        XCTAssertEqual(try scorePredictionsFile(path: path, metric: .qaF1).score, result.score, accuracy: 1e-12)
    }

    func testBadLinesNameFileLineAndField() throws {
        let path = try temporaryFile("""
        {"prediction": "a", "answers": ["a"]}
        {"prediction": "a", "answers": "a"}
        """)
        XCTAssertThrowsError(try scorePredictionsFile(path: path, metric: .qaF1)) { error in
            XCTAssertEqual(error as? DataFileError,
                           DataFileError(file: path, line: 2, field: "answers", problem: "expected array of strings, found string"))
        }
        let missing = try temporaryFile("{\"answers\": [\"a\"]}\n")
        XCTAssertThrowsError(try scorePredictionsFile(path: missing, metric: .qaF1)) { error in
            XCTAssertEqual((error as? DataFileError)?.field, "prediction")
        }
        let empty = try temporaryFile("")
        XCTAssertThrowsError(try scorePredictionsFile(path: empty, metric: .qaF1))
    }
}
