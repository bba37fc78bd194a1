import XCTest
import Foundation
@testable import A2ATSTasks

final class SampleReaderTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// Reference: the hand-written fixture (RULER's field names, from RULER's niah.py and
    /// variable_tracking.py outputs).
    func testRulerFixtureLoads() throws {
        var reader = try SampleReader(path: Self.fixture("tasks-ruler.jsonl"), task: "niah_single_1")
        XCTAssertEqual(reader.format, .ruler)
        let samples = try reader.readAll()
        XCTAssertEqual(samples.count, 2)
        XCTAssertEqual(samples[0].id, "0")            // line number, not RULER's index
        XCTAssertEqual(samples[0].sourceIndex, 57)
        XCTAssertEqual(samples[0].references, ["4127831"])
        XCTAssertEqual(samples[0].length, 190)
        XCTAssertEqual(samples[0].answerPrefix, " The special magic number for tame-sleet mentioned in the provided text is")
        XCTAssertEqual(samples[0].extra["token_position_answer"], .int(41))
        XCTAssertEqual(samples[1].id, "1")
        XCTAssertNil(samples[1].extra["token_position_answer"])
    }

    func testLongBenchFixtureLoads() throws {
        var reader = try SampleReader(path: Self.fixture("tasks-longbench.jsonl"))
        XCTAssertEqual(reader.format, .longbench)
        let samples = try reader.readAll()
        XCTAssertEqual(samples.map(\.id), ["lb-001", "lb-002"])
        XCTAssertEqual(samples.map(\.task), ["narrativeqa", "trec"])   // from `dataset`
        XCTAssertEqual(samples[0].context, "alpha beta gamma delta epsilon zeta eta theta iota kappa")
        XCTAssertNil(samples[0].allClasses)
        XCTAssertEqual(samples[1].allClasses, ["Location", "Person", "Number"])
        XCTAssertEqual(samples[1].extra["language"], .string("en"))
    }

    func testCustomFixtureLoads() throws {
        var reader = try SampleReader(path: Self.fixture("tasks-custom.jsonl"), task: "mine")
        XCTAssertEqual(reader.format, .custom)
        let samples = try reader.readAll()
        XCTAssertEqual(samples.map(\.id), ["c1", "2"])
        XCTAssertEqual(samples[1].input, "When is tea served?")
        XCTAssertEqual(samples[1].references, ["at four", "four"])
        XCTAssertEqual(samples[0].task, "mine")
    }

    func testTaskNameFromRulerLayout() {
        XCTAssertEqual(SampleReader.inferTaskName(path: "/data/niah_single_1/validation.jsonl"), "niah_single_1")
        XCTAssertEqual(SampleReader.inferTaskName(path: "/data/hotpotqa.jsonl"), "hotpotqa")
    }

    private func assertError(_ name: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            var reader = try SampleReader(path: Self.fixture(name))
            _ = try reader.readAll()
            XCTFail("no error for \(name)", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".hasSuffix(expected), "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(name), "\(error)", file: file, line: line)
        }
    }


    func testEachBadInputHasItsError() throws {
        do {
            var reader = try SampleReader(path: Self.fixture("tasks-bad-malformed.jsonl"))
            _ = try reader.readAll()
            XCTFail("malformed line accepted")
        } catch {
            XCTAssertTrue("\(error)".contains("tasks-bad-malformed.jsonl:2: invalid JSON"), "\(error)")
        }
        assertError("tasks-bad-missing.jsonl", ":3: field \"outputs\": missing")
        assertError("tasks-bad-type.jsonl", ":1: field \"answers\": expected array of strings, found string")
        assertError("tasks-empty.jsonl", ": no samples (the file is empty)")
        assertError("does-not-exist.jsonl", "")
    }
}
