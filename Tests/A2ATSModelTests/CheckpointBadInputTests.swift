import Foundation
import XCTest
@testable import A2ATSModel

/// Broken checkpoint directories fail on open with a `CheckpointError` that names the file and
/// the field, tensor or shard — never a crash or a silently wrong model. Each case starts from a
/// copy of a good fixture (`scripts/make_checkpoint_fixtures.py`) and breaks one thing, or writes a
/// small safetensors file by hand following the format's specification.
final class CheckpointBadInputTests: XCTestCase {
    var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "checkpoint-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    /// A copy of fixture `name` in the scratch directory.
    func copy(_ name: String) throws -> String {
        let target = scratch + "/" + name
        try FileManager.default.copyItem(atPath: CheckpointParityTests.directory(name), toPath: target)
        return target
    }

    func error(_ body: () throws -> Void) -> CheckpointError? {
        do { try body() } catch { return error as? CheckpointError }
        XCTFail("expected a CheckpointError")
        return nil
    }

    func editConfig(_ directory: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: directory + "/config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    /// A safetensors file with `header` (JSON text) and `dataBytes` zero bytes of data.
    func writeSafetensors(_ header: String, dataBytes: Int) throws -> String {
        let path = scratch + "/hand.safetensors"
        var bytes = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(Data(count: dataBytes))
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testTruncatedSafetensors() throws {
        let directory = try copy("llama-f32")
        let path = directory + "/model.safetensors"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: try handle.seekToEnd() / 2)
        try handle.close()
        let failure = error { _ = try CheckpointModelSource(directory: directory) }
        guard case .malformedSafetensors(let file, let problem)? = failure else { return XCTFail("\(String(describing: failure))") }
        XCTAssertEqual(file, path)
        XCTAssertTrue(problem.contains("run past the end of the data") && problem.contains("truncated"), problem)

        let stub = try writeSafetensors("", dataBytes: 0)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: stub))
        XCTAssertTrue("\(error { _ = try SafetensorsFile(path: stub) }!)".contains("shorter than the 8-byte header length"))
        let lying = try writeSafetensors("{}", dataBytes: 0)
        try Data([0xFF, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D]).write(to: URL(fileURLWithPath: lying))
        XCTAssertTrue("\(error { _ = try SafetensorsFile(path: lying) }!)".contains("header length 255 runs past the end"))
    }

    func testHeaderWhoseOffsetsLie() throws {
        let overlap = try writeSafetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"#
            + #""b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, dataBytes: 24)
        XCTAssertTrue("\(error { _ = try SafetensorsFile(path: overlap) }!)".contains("tensors a and b overlap"))
        let beyond = try writeSafetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8)
        XCTAssertTrue("\(error { _ = try SafetensorsFile(path: beyond) }!)".contains("tensor a data_offsets [0, 16] run past the end"))
        let size = try writeSafetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}"#, dataBytes: 8)
        XCTAssertTrue("\(error { _ = try SafetensorsFile(path: size) }!)".contains("spans 8 bytes but shape [4] of F32 needs 16"))
        let notJSON = try writeSafetensors("{not json", dataBytes: 0)
        XCTAssertTrue("\(error { _ = try SafetensorsFile(path: notJSON) }!)".contains("header is not valid JSON"))
    }

    /// A shape whose element count fits Int but whose byte count does not (2⁶¹ F64 values) was a
    /// trap in the size check (found while writing the `safetensors` fuzz target; reproducer
    /// Fuzz/corpus/safetensors/bad-crash-byte-count-overflow.safetensors). The `safetensors`
    /// package (0.8.0) refuses that file too: "overflow computing buffer size from shape".
    func testShapeWhoseByteCountOverflowsIsRefused() throws {
        for shape in ["[2305843009213693952]", "[4611686018427387904,4]", "[3037000500,3037000500,4]"] {
            let path = try writeSafetensors(#"{"a":{"dtype":"F64","shape":"# + shape + #","data_offsets":[0,0]}}"#, dataBytes: 0)
            let failure = error { _ = try SafetensorsFile(path: path) }
            guard case .malformedSafetensors(let file, let problem)? = failure else { return XCTFail("\(String(describing: failure))") }
            XCTAssertEqual(file, path)
            XCTAssertTrue(problem.contains("needs more than Int.max"), problem)
        }
    }

    func testIndexNamingMissingShard() throws {
        let directory = try copy("qwen2-f16-yarn-sharded")
        try FileManager.default.removeItem(atPath: directory + "/model-00002-of-00002.safetensors")
        let failure = error { _ = try CheckpointModelSource(directory: directory) }
        guard case .missingShard(let path, let shard, _)? = failure else { return XCTFail("\(String(describing: failure))") }
        XCTAssertEqual(path, directory + "/model.safetensors.index.json")
        XCTAssertEqual(shard, "model-00002-of-00002.safetensors")
    }

    func testUnsupportedArchitectureAndRopeType() throws {
        let directory = try copy("llama-f32")
        try editConfig(directory) { $0["architectures"] = ["LlamaForCausalLm"] }
        let architecture = error { _ = try CheckpointModelSource(directory: directory) }
        XCTAssertEqual(architecture, .unsupportedValue(path: directory + "/config.json", field: "architectures",
                                                       value: "LlamaForCausalLm",
                                                       supported: ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"]))
        XCTAssertTrue("\(architecture!)".contains("did you mean \"LlamaForCausalLM\"?"), "\(architecture!)")

        try editConfig(directory) {
            $0["architectures"] = ["LlamaForCausalLM"]
            $0["rope_scaling"] = ["rope_type": "longrope", "factor": 2.0]
        }
        let rope = error { _ = try CheckpointModelSource(directory: directory) }
        XCTAssertEqual(rope, .unsupportedValue(path: directory + "/config.json", field: "rope_scaling.rope_type",
                                               value: "longrope", supported: ["default", "linear", "llama3", "dynamic", "yarn"]))

        try editConfig(directory) {
            $0["rope_scaling"] = nil
            $0["hidden_size"] = nil
        }
        XCTAssertEqual(error { _ = try CheckpointModelSource(directory: directory) },
                       .invalidField(path: directory + "/config.json", field: "hidden_size", problem: "required but absent"))
    }

    /// RoPE scaling numbers that do not fit the engine's types: `original_max_position_embeddings`
    /// of 3.9·10²⁰ was `Int(Double)`, a trap (found by the `checkpoint-config` fuzz target,
    /// reproducer Fuzz/corpus/checkpoint-config/ok-crash-original-positions.json, whose integer
    /// literal json-c saturates at Int64.max and is now accepted; written as 3.9e+20 here, a
    /// non-integer, it is refused); a factor of
    /// 10³⁰ made the position limit `Int(Double)` trap the same way (found while fixing it).
    /// Each is now `invalidField` naming the file and the field, or a limit saturating at Int.max.
    func testRoPENumbersOutOfRangeAreRefusedOrSaturate() throws {
        let directory = try copy("llama-f32"), path = directory + "/config.json"
        let llama3: [String: Any] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0]
        try editConfig(directory) { $0["rope_scaling"] = llama3.merging(["original_max_position_embeddings": 3.9e20]) { $1 } }
        guard case .invalidField(path, "rope_scaling.original_max_position_embeddings", _)? = error({ _ = try CheckpointConfig(directory: directory) })
        else { return XCTFail("huge original_max_position_embeddings accepted or refused otherwise") }
        for (kind, factor) in [("dynamic", -2.0), ("linear", 0.0), ("yarn", 1e39)] {
            try editConfig(directory) { $0["rope_scaling"] = ["rope_type": kind, "factor": factor] }
            guard case .invalidField(path, "rope_scaling.factor", let problem)? = error({ _ = try CheckpointConfig(directory: directory) })
            else { return XCTFail("\(kind) factor \(factor) accepted or refused otherwise") }
            XCTAssertTrue(problem.contains("expected a positive number"), problem)
        }
        try editConfig(directory) { $0["rope_scaling"] = ["rope_type": "dynamic", "factor": 1e30] }
        XCTAssertEqual(try CheckpointConfig(directory: directory).model.positionLimit, Int.max)
    }

    func testBadDtypeAndMissingWeights() throws {
        let directory = try copy("llama-f32")
        let path = directory + "/model.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // Same size per element, so the offsets stay consistent: only the dtype is unsupported.
        let header = String(decoding: bytes[8..<200], as: UTF8.self)
        let range = try XCTUnwrap(header.range(of: "\"F32\""))
        let tensorName = String(header[..<range.lowerBound].split(separator: "\"").dropLast(3).last ?? "")
        let at = 8 + header.utf8.distance(from: header.startIndex, to: range.lowerBound) + 1
        bytes.replaceSubrange(at..<(at + 3), with: Array("I32".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(error { _ = try CheckpointModelSource(directory: directory) },
                       .unsupportedDtype(path: path, tensor: tensorName, dtype: "I32"))

        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(error { _ = try CheckpointModelSource(directory: directory) },
                       .missingFile(path: directory, needed: "model.safetensors or model.safetensors.index.json"))
    }
}
