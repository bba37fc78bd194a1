import Foundation
import XCTest
@testable import A2ATSSupport

/// Reference: the FIPS 180-2 appendix B examples and `sha256sum` (coreutils) for files.
final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hexDigest(of: Data("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(of: Data()),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testOneMillionAInUnevenPieces() {
        // Feeding odd-sized pieces exercises the carry-over of partial blocks.
        var hasher = SHA256()
        let piece = Data(repeating: UInt8(ascii: "a"), count: 997)
        var fed = 0
        while fed < 1_000_000 {
            let n = min(piece.count, 1_000_000 - fed)
            hasher.update(piece.prefix(n))
            fed += n
        }
        XCTAssertEqual(SHA256.hex(hasher.finalize()),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testPaddingBoundaries() {
        // Lengths around the 55/56/64-byte padding edges, compared with one-shot hashing
        // against byte-at-a-time hashing (two different code paths through `update`).
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let data = Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            var byteWise = SHA256()
            for byte in data { withUnsafeBytes(of: byte) { byteWise.update($0) } }
            XCTAssertEqual(SHA256.hex(byteWise.finalize()), SHA256.hexDigest(of: data), "length \(length)")
        }
        // sha256sum of 64 bytes 0x00..0x3f (computed with Python hashlib).
        XCTAssertEqual(SHA256.hexDigest(of: Data((0..<64).map { UInt8($0) })),
                       "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108")
    }

    func testFileDigestMatchesDataDigestAcrossChunks() throws {
        let path = NSTemporaryDirectory() + "sha-\(UUID().uuidString).bin"
        defer { unlink(path) }
        // 2.5 MiB: spans three 1 MiB read chunks.
        let data = Data((0..<(5 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        try data.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SHA256.hexDigest(ofFile: path), SHA256.hexDigest(of: data))
    }

    func testMissingFileIsAnError() {
        XCTAssertThrowsError(try SHA256.hexDigest(ofFile: "/nonexistent/model.gguf")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/model.gguf"))
        }
    }
}
