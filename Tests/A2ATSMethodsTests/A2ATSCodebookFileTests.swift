import XCTest
@testable import A2ATSMethods

final class A2ATSCodebookFileTests: XCTestCase {
    private func sample() throws -> CodebookSet {
        let config = A2ATSFixture.config(layers: 2, headDim: 4)
        return try A2ATSFixture.codebooks(config: config, keys: A2ATSFixture.gaussian(400, seed: 1),
                                          queries: A2ATSFixture.gaussian(200, seed: 2),
                                          configuration: CodebookConfiguration(centroids: 8))
    }

    private func temporaryPath() -> String { NSTemporaryDirectory() + "a2ats-\(UUID().uuidString).a2cb" }

    func testRoundTrip() throws {
        let set = try sample(), path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: CodebookFile.manifestPath(for: path)) }
        try CodebookFile.write(set, to: path)
        let back = try CodebookFile.read(from: path, expecting: CodebookExpectation(
            modelFingerprint: set.modelFingerprint, layerCount: 2, kvHeadCount: 2, headDim: 4, configuration: set.configuration))
        XCTAssertEqual(back.configuration, set.configuration)
        XCTAssertEqual(back.statistics, set.statistics)
        for l in 0 ..< 2 { for h in 0 ..< 2 {
            XCTAssertEqual(back.codebook(layer: l, kvHead: h).centroids, set.codebook(layer: l, kvHead: h).centroids)
            XCTAssertEqual(back.codebook(layer: l, kvHead: h).cholesky, set.codebook(layer: l, kvHead: h).cholesky)
        } }
        let manifest = try String(contentsOfFile: CodebookFile.manifestPath(for: path), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"centroids\": 8"))
    }

    func testCorruptAndMismatchedFilesGiveClearErrors() throws {
        let set = try sample(), path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: CodebookFile.manifestPath(for: path)) }
        try CodebookFile.write(set, to: path)
        func expectError(_ expectation: CodebookExpectation, _ check: (A2ATSError) -> Bool) {
            XCTAssertThrowsError(try CodebookFile.read(from: path, expecting: expectation)) { error in
                XCTAssertTrue(check(error as! A2ATSError), "\(error)")
                XCTAssertFalse("\(error)".isEmpty)
            }
        }
        expectError(CodebookExpectation(modelFingerprint: "ffffffffffffffff")) {
            if case .codebookMismatch(_, "model sha256 prefix", _, _) = $0 { return true }; return false
        }
        expectError(CodebookExpectation(headDim: 8)) { if case .codebookMismatch(_, "head dimension", _, _) = $0 { return true }; return false }
        expectError(CodebookExpectation(layerCount: 3)) { if case .codebookMismatch(_, "layer count", _, _) = $0 { return true }; return false }
        expectError(CodebookExpectation(configuration: CodebookConfiguration(centroids: 16))) {
            if case .codebookMismatch(_, "configuration", _, _) = $0 { return true }; return false
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[200] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        expectError(CodebookExpectation()) { if case .corruptCodebook = $0 { return true }; return false }
        try bytes.prefix(100).write(to: URL(fileURLWithPath: path))
        expectError(CodebookExpectation()) { if case .corruptCodebook = $0 { return true }; return false }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        expectError(CodebookExpectation()) { if case .corruptCodebook = $0 { return true }; return false }
    }
}
