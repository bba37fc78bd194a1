import Foundation
import XCTest
@testable import A2ATSSupport

/// Reference: the file contents read back with Foundation.
final class AtomicFileTests: XCTestCase {
    func testWritesCreatesDirectoriesAndReplaces() throws {
        let directory = NSTemporaryDirectory() + "atomic-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/nested/manifest.json"
        try AtomicFile.write("first\n", to: path)
        try AtomicFile.write("second ✓\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second ✓\n")
        // No temporary file is left beside the target.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/nested"), ["manifest.json"])
    }

    func testUnwritableTargetIsAnError() {
        XCTAssertThrowsError(try AtomicFile.write("x", to: "/proc/a2ats-cannot-write/x.json")) { error in
            XCTAssertTrue("\(error)".contains("a2ats-cannot-write"), "\(error)")
        }
    }
}
