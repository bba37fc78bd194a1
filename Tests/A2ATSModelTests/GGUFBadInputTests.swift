import Foundation
import XCTest
@testable import A2ATSModel

/// Each kind of bad model file yields its own `ModelLoadError`, naming the file. The bad files
/// are temp copies of tiny-llama-q4_1.gguf with bytes patched at positions found by searching the
/// header (layout per ggml's docs/gguf.md).
final class GGUFBadInputTests: XCTestCase {
    private var tempDirectory: URL!

    override func setUpWithError() throws {
        tempDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDirectory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDirectory)
    }

    private func fixtureBytes(_ name: String = "tiny-llama-q4_1.gguf") throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: GGUFFixtures.path(name))))
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = tempDirectory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Offset of the first occurrence of `needle` (as a GGUF string: u64 length + bytes), pointing past it.
    private func endOfString(_ needle: String, in bytes: [UInt8]) throws -> Int {
        let utf8 = Array(needle.utf8)
        var length = UInt64(utf8.count).littleEndian
        let pattern = withUnsafeBytes(of: &length) { Array($0) } + utf8
        for start in 0...(bytes.count - pattern.count) where bytes[start..<start + pattern.count].elementsEqual(pattern) {
            return start + pattern.count
        }
        throw XCTSkip("fixture has no string \(needle)")
    }

    private func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
    }

    /// Byte offsets of the type and offset fields of tensor `name`'s table entry (2 dims).
    private func tensorFields(_ name: String, in bytes: [UInt8]) throws -> (dims: Int, type: Int, offset: Int) {
        let afterName = try endOfString(name, in: bytes)
        XCTAssertEqual(bytes[afterName], 2, "expected a 2-D tensor")
        return (afterName + 4, afterName + 4 + 16, afterName + 4 + 16 + 4)
    }

    private func assertError(_ path: String, file: StaticString = #filePath, line: UInt = #line,
                             loadModel: Bool = false, _ check: (ModelLoadError) -> Bool) {
        do {
            if loadModel { _ = try GGUFModelSource(path: path) } else { _ = try GGUFFile(path: path) }
            XCTFail("\(path) loaded without error", file: file, line: line)
        } catch let error as ModelLoadError {
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": "), "message must name the file: \(error)", file: file, line: line)
            XCTAssertEqual(error.path, path, file: file, line: line)
        } catch {
            XCTFail("not a ModelLoadError: \(error)", file: file, line: line)
        }
    }

    func testMissingFile() {
        let path = tempDirectory.appendingPathComponent("absent.gguf").path
        assertError(path) { if case .fileNotFound = $0 { return true } else { return false } }
    }

    func testNotGGUFAndBadVersion() throws {
        var bytes = try fixtureBytes()
        bytes[0] = UInt8(ascii: "X")
        assertError(try write(bytes, "magic.gguf")) { if case .notGGUF = $0 { return true } else { return false } }
        bytes = try fixtureBytes()
        put(UInt32(1), at: 4, in: &bytes)
        assertError(try write(bytes, "v1.gguf")) { $0 == .unsupportedVersion(path: $0.path, version: 1) }
    }

    func testTruncatedInMetadata() throws {
        let bytes = Array(try fixtureBytes().prefix(1000))
        assertError(try write(bytes, "cut-header.gguf")) { if case .truncated = $0 { return true } else { return false } }
    }

    func testTruncatedInTensorData() throws {
        let bytes = try fixtureBytes()
        let path = try write(Array(bytes.prefix(bytes.count - 100)), "cut-data.gguf")
        assertError(path) {
            if case .tensorOutOfBounds(_, _, _, _, let fileSize) = $0 { return fileSize == bytes.count - 100 }
            return false
        }
    }

    func testCountLargerThanFile() throws {
        var bytes = try fixtureBytes()
        put(UInt64(1) << 40, at: 8, in: &bytes)  // tensor count
        assertError(try write(bytes, "count.gguf")) {
            if case .truncated(_, let reading, 8, _) = $0 { return reading.contains("tensor table") } else { return false }
        }
    }

    func testHeaderLyingAboutTensorOffset() throws {
        var bytes = try fixtureBytes()
        let fields = try tensorFields("blk.0.attn_q.weight", in: bytes)
        put(UInt64(bytes.count / 32 * 32), at: fields.offset, in: &bytes)
        let path = try write(bytes, "offset.gguf")
        assertError(path) {
            if case .tensorOutOfBounds(_, "blk.0.attn_q.weight", _, _, _) = $0 { return true } else { return false }
        }
    }

    func testHeaderLyingAboutTensorSize() throws {
        var bytes = try fixtureBytes()
        let fields = try tensorFields("output.weight", in: bytes)
        put(UInt64(100_000), at: fields.dims + 8, in: &bytes)  // ne1: 299 rows → 100000
        assertError(try write(bytes, "size.gguf")) {
            if case .tensorOutOfBounds(_, "output.weight", _, let size, _) = $0 { return size == 100_000 * 2 * 20 }
            return false
        }
    }

    func testUnknownTensorType() throws {
        var bytes = try fixtureBytes()
        put(UInt32(99), at: try tensorFields("blk.1.attn_v.weight", in: bytes).type, in: &bytes)
        assertError(try write(bytes, "type.gguf")) { $0 == .unknownTensorType(path: $0.path, tensor: "blk.1.attn_v.weight", typeID: 99) }
    }

    func testUnsupportedTensorType() throws {
        var bytes = try fixtureBytes()
        // MXFP4 has Q4_1's block length and fewer bytes, so the file stays in bounds.
        put(GGMLType.mxfp4.rawValue, at: try tensorFields("blk.1.attn_v.weight", in: bytes).type, in: &bytes)
        let path = try write(bytes, "mxfp4.gguf")
        XCTAssertNoThrow(try GGUFFile(path: path), "the file itself is well-formed")
        assertError(path, loadModel: true) {
            $0 == .unsupportedTensorType(path: $0.path, tensor: "blk.1.attn_v.weight", type: "MXFP4")
        }
        do { _ = try GGUFModelSource(path: path) } catch {
            XCTAssertTrue("\(error)".contains("tensor blk.1.attn_v.weight has type MXFP4, which this loader cannot dequantize"),
                          "\(error)")
        }
    }

    func testUnsupportedArchitecture() throws {
        var bytes = try fixtureBytes()
        let value = try endOfString("general.architecture", in: bytes) + 4 + 8
        XCTAssertEqual(Array(bytes[value..<value + 5]), Array("llama".utf8))
        bytes.replaceSubrange(value..<value + 5, with: Array("gemma".utf8))
        assertError(try write(bytes, "arch.gguf"), loadModel: true) {
            $0 == .unsupportedArchitecture(path: $0.path, architecture: "gemma")
        }
    }

    /// A `mistral` file whose sliding window is narrower than its context is refused by key (the
    /// engine computes full attention); 0 means no window, and the fixture's own 4096 ≥ 256 loads.
    func testMistralSlidingWindow() throws {
        var bytes = try fixtureBytes("tiny-mistral-q8_0.gguf")
        XCTAssertNoThrow(try GGUFModelSource(path: try write(bytes, "mistral.gguf")))
        let value = try endOfString("mistral.attention.sliding_window", in: bytes) + 4  // u32 type tag, then the value
        XCTAssertEqual(Array(bytes[value..<value + 4]), [0x00, 0x10, 0, 0], "fixture window 4096")
        put(UInt32(128), at: value, in: &bytes)
        let path = try write(bytes, "mistral-window.gguf")
        assertError(path, loadModel: true) {
            if case .invalidMetadata(_, "mistral.attention.sliding_window", let problem) = $0 {
                return problem.contains("128 of 256 tokens")
            }
            return false
        }
        put(UInt32(0), at: value, in: &bytes)
        XCTAssertNoThrow(try GGUFModelSource(path: try write(bytes, "mistral-nowindow.gguf")))
    }

    /// Qwen2 always has Q/K/V biases (llama.cpp requires them): a file without one is refused by name.
    func testQwen2WithoutABias() throws {
        var bytes = try fixtureBytes("tiny-qwen2-f32.gguf")
        let end = try endOfString("blk.1.attn_k.bias", in: bytes)
        bytes[end - 1] = UInt8(ascii: "z")  // the tensor becomes blk.1.attn_k.biaz
        assertError(try write(bytes, "qwen2-bias.gguf"), loadModel: true) {
            $0 == .missingTensor(path: $0.path, tensor: "blk.1.attn_k.bias")
        }
    }

    func testMissingTokenizerField() throws {
        var bytes = try fixtureBytes()
        let end = try endOfString("tokenizer.ggml.merges", in: bytes)
        bytes[end - 1] = UInt8(ascii: "z")  // the key becomes tokenizer.ggml.mergez
        let path = try write(bytes, "merges.gguf")
        assertError(path, loadModel: true) { $0 == .missingMetadata(path: $0.path, key: "tokenizer.ggml.merges") }
        do { _ = try GGUFModelSource(path: path) } catch {
            XCTAssertEqual("\(error)", "\(path): required metadata key tokenizer.ggml.merges is missing")
        }
    }

    /// A block count the tensor table cannot hold is refused before a shape list is built for
    /// it (4 billion layers × 9 tensors used to be allocated and compared one by one).
    func testBlockCountBeyondTheTensorTable() throws {
        var bytes = try fixtureBytes()
        let type = try endOfString("llama.block_count", in: bytes)
        XCTAssertEqual(bytes[type], 4, "expected a UINT32 block count")
        put(UInt32.max, at: type + 4, in: &bytes)
        assertError(try write(bytes, "layers.gguf"), loadModel: true) {
            guard case .invalidMetadata(_, "llama.block_count", let problem) = $0 else { return false }
            return problem.contains("4294967295 layers")
        }
    }

    /// A RoPE scaling factor near Float's maximum made the scaled context Int(inf), a trap.
    func testHugeRoPEScalingSaturates() {
        let config = ModelConfig(layerCount: 1, hiddenSize: 8, intermediateSize: 8, headCount: 2, kvHeadCount: 1, headDim: 4,
                                 vocabSize: 8, contextLength: 1 << 40, ropeTheta: 10_000,
                                 ropeScaling: RoPEScaling(kind: .linear, factor: 3e38), rmsNormEpsilon: 1e-5, tiedEmbeddings: true)
        XCTAssertEqual(config.maxPositions, Int.max)
        var linear = config
        linear.contextLength = 8192
        linear.ropeScaling = RoPEScaling(kind: .linear, factor: 4)
        XCTAssertEqual(linear.maxPositions, 32768)
    }

    func testMessageFormat() {
        let error = ModelLoadError.tensorOutOfBounds(path: "model.gguf", tensor: "blk.0.attn_q.weight", offset: 10, size: 20, fileSize: 25)
        XCTAssertEqual(error.description,
                       "model.gguf: tensor blk.0.attn_q.weight extends past end of file (offset 10, size 20, file 25)")
    }
}
