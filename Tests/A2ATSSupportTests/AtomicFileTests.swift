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

    /// Reference: kill(2)'s ESRCH for a process that has exited — the temporary of a writer
    /// that no longer exists goes, a live writer's (this process) stays, other files stay.
    func testStaleTemporariesOfDeadWritersAreRemoved() throws {
        let directory = NSTemporaryDirectory() + "atomic-stale-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let names = [".report.md.tmp-\(exited.processIdentifier)-123", ".report.md.tmp-\(getpid())-456", "report.md", ".hidden"]
        for name in names { FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("x".utf8)) }
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: directory), 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), names.dropFirst().sorted())
    }
}
