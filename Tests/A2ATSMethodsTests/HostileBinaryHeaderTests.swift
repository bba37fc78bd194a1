import XCTest
@testable import A2ATSMethods

/// Codebook and offline-artifact files whose headers lie about sizes (found while fuzzing, see
/// docs/reliability.md): each is refused with the reader's typed error naming the file, before
/// any allocation or read the header asks for. The files are written byte by byte here from the
/// layouts documented in CodebookFile.swift and OfflineArtifact.swift, not by the writers.
final class HostileBinaryHeaderTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A codebook file with the given header counts and `body`, its checksum correct.
    private func codebook(layers: UInt32, heads: UInt32, dim: UInt32, centroids: UInt32, body: [UInt8]) -> [UInt8] {
        var bytes = Array("A2ATSCB1".utf8) + le(UInt32(1)) + le(UInt32(3)) + Array("0123456789abcdef".utf8)
        for value in [layers, heads, dim, centroids, 2048, 0] { bytes += le(value) }
        return bytes + le(CodebookFile.checksum(Data(body))) + body
    }

    private func assertCorruptCodebook(_ bytes: [UInt8], _ name: String, mentioning text: String,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes, name)
        XCTAssertThrowsError(try CodebookFile.read(from: path), file: file, line: line) { error in
            guard case .corruptCodebook(path, let problem)? = error as? A2ATSError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertTrue(problem.contains(text), problem, file: file, line: line)
        }
    }

    /// More centroids than 16-bit codes can name used to stop the process in `Codebook.init`'s precondition.
    func testCodebookWithMoreCentroidsThanCodesIsRefused() throws {
        let centroids = 65_537
        let body = [UInt8](repeating: 0, count: (1 + centroids) * 4 + 16)
        try assertCorruptCodebook(codebook(layers: 1, heads: 1, dim: 1, centroids: UInt32(centroids), body: body),
                                  "many.a2cb", mentioning: "at most 65536")
    }

    /// dim² overflows Int: the size check must not wrap round (it trapped in checked builds).
    func testCodebookWhoseSizesOverflowIsRefused() throws {
        try assertCorruptCodebook(codebook(layers: .max, heads: .max, dim: .max, centroids: 1, body: [0, 0, 0, 0]),
                                  "overflow.a2cb", mentioning: "does not match its header")
        try assertCorruptCodebook(codebook(layers: 0, heads: 1, dim: 1, centroids: 1, body: []), "zero.a2cb", mentioning: "zero count")
    }

    /// An artifact file with the given settings and tensor entries (raw), its checksum correct.
    private func artifact(settings: [(String, Int64)], tensors: [(String, UInt64, [Float])]) -> [UInt8] {
        func name(_ text: String) -> [UInt8] { Array(text.utf8) + [UInt8](repeating: 0, count: 32 - text.utf8.count) }
        var body: [UInt8] = []
        for (key, value) in settings { body += name(key) + le(value) }
        for (key, count, values) in tensors { body += name(key) + le(count) + values.flatMap { le($0.bitPattern) } }
        var bytes = Array("A2OFFAR1".utf8)
        for value in [1, settings.count, tensors.count, 1, 1, 1, 4] { bytes += le(UInt32(value)) }
        bytes += Array("0123456789abcdef".utf8) + name("infinigen") + le(UInt32(0))
        return bytes + le(CodebookFile.checksum(Data(body))) + body
    }

    private func assertCorruptArtifact(_ bytes: [UInt8], _ name: String, mentioning text: String,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes, name)
        XCTAssertThrowsError(try OfflineArtifactFile.read(from: path), file: file, line: line) { error in
            guard case .corrupt(path, let problem)? = error as? OfflineArtifactError else {
                return XCTFail("unexpected error \(error)", file: file, line: line)
            }
            XCTAssertTrue(problem.contains(text), problem, file: file, line: line)
        }
    }

    /// A tensor count whose byte size fits in Int but whose end offset does not: the bounds check
    /// used to add it to the offset, wrap negative, pass, and then allocate 2⁶¹ floats.
    func testArtifactTensorCountPastTheEndIsRefused() throws {
        try assertCorruptArtifact(artifact(settings: [], tensors: [("skew", 0x1FFF_FFFF_FFFF_FFFF, [1, 2])]),
                                  "count.a2oa", mentioning: "truncated in tensor \"skew\"")
    }

    /// Names given twice used to overwrite each other silently.
    func testArtifactWithARepeatedNameIsRefused() throws {
        try assertCorruptArtifact(artifact(settings: [("tokens", 1), ("tokens", 2)], tensors: []),
                                  "settings.a2oa", mentioning: "setting \"tokens\" appears twice")
        try assertCorruptArtifact(artifact(settings: [], tensors: [("a", 1, [1]), ("a", 1, [2])]),
                                  "tensors.a2oa", mentioning: "tensor \"a\" appears twice")
    }
}
