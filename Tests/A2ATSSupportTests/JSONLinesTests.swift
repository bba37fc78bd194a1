import Foundation
import XCTest
@testable import A2ATSSupport

/// Reference: the JSON Lines convention (one JSON object per line) with hand-counted lines.
final class JSONLinesTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "jsonl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ text: String) throws -> String {
        let path = directory + "/data.jsonl"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func testBlankLinesSkippedAndLineNumbersKept() throws {
        let path = try file("{\"a\": 1}\n\n   \n{\"a\": 2}\r\n\t\n{\"a\": 3}")  // no final newline
        let records = try JSONLinesReader(path: path).readAll()
        XCTAssertEqual(records.map(\.line), [1, 4, 6])
        XCTAssertEqual(records.map { $0.object["a"] }, [.int(1), .int(2), .int(3)])
    }

    func testInvalidLineNamesFileAndLine() throws {
        let path = try file("{\"a\": 1}\n\n{\"a\": \n{\"a\": 3}\n")
        var iterator = JSONLinesReader(path: path).makeIterator()
        XCTAssertNotNil(try iterator.nextRecord())
        XCTAssertThrowsError(try iterator.nextRecord()) { error in
            let error = error as? DataFileError
            XCTAssertEqual(error?.file, path)
            XCTAssertEqual(error?.line, 3)
            XCTAssertTrue(error?.description.hasPrefix("\(path):3: invalid JSON") ?? false, "\(String(describing: error))")
        }
    }

    func testNonObjectLineIsRejected() throws {
        let path = try file("{\"a\": 1}\n[1, 2]\n")
        XCTAssertThrowsError(try JSONLinesReader(path: path).readAll()) { error in
            XCTAssertEqual("\(error)", "\(path):2: expected a JSON object, found array")
        }
    }

    func testMissingFileReportsTheRealCause() {
        let path = directory + "/missing.jsonl"
        var iterator = JSONLinesReader(path: path).makeIterator()
        errno = 0  // something unrelated resets errno between opening and reading
        XCTAssertThrowsError(try iterator.nextRecord()) { error in
            XCTAssertEqual("\(error)", "\(path): cannot open file (No such file or directory)")
        }
        XCTAssertNil(try iterator.nextRecord())
    }

    func testEmptyFileHasNoRecords() throws {
        XCTAssertEqual(try JSONLinesReader(path: try file("")).readAll().count, 0)
        XCTAssertEqual(try JSONLinesReader(path: try file("\n\n")).readAll().count, 0)
    }

    func testLongLine() throws {
        let long = String(repeating: "x", count: 1 << 20)
        let records = try JSONLinesReader(path: try file("{\"t\": \"\(long)\"}\n{\"t\": \"y\"}\n")).readAll()
        XCTAssertEqual(records.first?.object["t"]?.stringValue?.count, 1 << 20)
        XCTAssertEqual(records.last?.line, 2)
    }

    func testAbandonedIteratorsDoNotLeakFiles() throws {
        // Reading only the first line of many files must not exhaust file descriptors.
        let path = try file("{\"a\": 1}\n{\"a\": 2}\n")
        // A low soft limit (restored afterwards) makes a leak show within a few hundred files.
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
        var lowered = saved
        lowered.rlim_cur = min(saved.rlim_cur, 256)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered)
        defer { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) }
        let rounds = 300
        for _ in 0..<rounds {
            var iterator = JSONLinesReader(path: path).makeIterator()
            XCTAssertNotNil(try iterator.nextRecord())
        }
    }

    func testRequire() throws {
        let path = try file("{\"name\": \"x\", \"n\": \"7\"}\n")
        let record = try XCTUnwrap(try JSONLinesReader(path: path).readAll().first)
        XCTAssertEqual(try record.require("name", in: path, as: "string") { $0.stringValue }, "x")
        XCTAssertThrowsError(try record.require("n", in: path, as: "integer") { $0.intValue }) { error in
            XCTAssertEqual("\(error)", "\(path):1: field \"n\": expected integer, found string")
        }
        XCTAssertThrowsError(try record.require("gone", in: path, as: "string") { $0.stringValue }) { error in
            XCTAssertEqual("\(error)", "\(path):1: field \"gone\": missing")
        }
    }
}
