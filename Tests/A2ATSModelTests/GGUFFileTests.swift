import XCTest
@testable import A2ATSModel

/// Parsing and dequantization against the independent reference: the PyPI `gguf` package
/// (GGUFReader + gguf.quants.dequantize), whose outputs scripts/make_tiny_fixtures.py stored as JSON.
final class GGUFFileTests: XCTestCase {
    func testMetadataOfEveryValueType() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("tiny-dequant-types.gguf"))
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.dataOffset % 32, 0)
        let m = file.metadata
        XCTAssertEqual(m["test.u8"], .uint8(200))
        XCTAssertEqual(m["test.i8"], .int8(-100))
        XCTAssertEqual(m["test.u16"], .uint16(60000))
        XCTAssertEqual(m["test.i16"], .int16(-30000))
        XCTAssertEqual(m["test.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(m["test.i32"], .int32(-2_000_000_000))
        XCTAssertEqual(m["test.u64"], .uint64(1 << 40 + 3))
        XCTAssertEqual(m["test.i64"], .int64(-(1 << 40) - 3))
        XCTAssertEqual(m["test.f32"], .float32(0.375))
        XCTAssertEqual(m["test.f64"], .float64(-1e-300))
        XCTAssertEqual(m["test.bool"], .bool(true))
        XCTAssertEqual(m["test.string"]?.stringValue, "héllo ✓")
        XCTAssertEqual(m["test.ints"]?.intArray, [1, -2, 3])
        XCTAssertEqual(m["test.strings"]?.stringArray, ["a", "", "ç"])
        XCTAssertEqual(m["test.floats"]?.floatArray, [0.5, -1.25])
        XCTAssertEqual(m["test.nested"], .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]))
        XCTAssertEqual(m["general.architecture"]?.stringValue, "test")
        XCTAssertEqual(file.metadataKeys.first, "general.architecture")
    }

    /// Every dequantizable type against `gguf.quants.dequantize`, bit for bit: both sides multiply
    /// the same f32 factors in the same order without FMAs, so any difference is a layout bug.
    /// Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/BF16 blocks come from `gguf.quants.quantize`; the K-quants and IQ4_NL
    /// (no quantizer in gguf-py) are random bytes with sane f16 scales.
    func testDequantizationOfEachTypeMatchesGGUFPackage() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("tiny-dequant-types.gguf"))
        let reference = try GGUFFixtures.json("tiny-dequant-types.json")
        let tensors = try XCTUnwrap(reference["tensors"] as? [[String: Any]])
        XCTAssertEqual(Set(tensors.compactMap { $0["type"] as? String }),
                       Set(GGMLType.dequantizable.map(\.name)), "fixture covers every dequantizable type")
        for entry in tensors {
            let name = try XCTUnwrap(entry["name"] as? String)
            let info = try XCTUnwrap(file.tensors[name], name)
            XCTAssertEqual(info.type.name, entry["type"] as? String, name)
            XCTAssertEqual(info.dims, entry["dims"] as? [Int], name)
            let expected = try XCTUnwrap(entry["values"] as? [Double], name).map(Float.init)
            let ours = try file.floats(name)
            XCTAssertEqual(ours.count, expected.count, name)
            let mismatches = zip(ours, expected).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(mismatches, 0, "\(name): values differing from gguf.quants.dequantize")
        }
    }

    func testTinyLlamaTensorsMatchGGUFPackage() throws {
        for kind in ["f32", "q8_0", "q4_1"] {
            let file = try GGUFFile(path: GGUFFixtures.path("tiny-llama-\(kind).gguf"))
            let reference = try GGUFFixtures.json("tiny-llama-\(kind).tensors.json")
            for entry in try XCTUnwrap(reference["tensors"] as? [[String: Any]]) {
                let name = try XCTUnwrap(entry["name"] as? String)
                XCTAssertEqual(file.tensors[name]?.dims, entry["dims"] as? [Int], "\(kind) \(name)")
                XCTAssertEqual(file.tensors[name]?.type.name, entry["type"] as? String, "\(kind) \(name)")
                GGUFFixtures.assertClose(try file.floats(name), try XCTUnwrap(entry["values"] as? [Double]), "\(kind) \(name)")
            }
        }
    }

    /// Slices of the real model dequantized by the `gguf` package (Q8_0 embeddings, Q4_1 matrices, F32 norms).
    func testDefaultModelSlicesMatchGGUFPackage() throws {
        let path = try GGUFFixtures.requireDefaultModel()
        let file = try GGUFFile(path: path)
        let reference = try GGUFFixtures.json("default-model-slices.json")
        let slices = try XCTUnwrap(reference["slices"] as? [[String: Any]])
        XCTAssertEqual(Set(slices.compactMap { $0["type"] as? String }), ["Q8_0", "Q4_1", "F32"])
        for slice in slices {
            let name = try XCTUnwrap(slice["tensor"] as? String)
            let start = try XCTUnwrap(slice["start"] as? Int)
            let expected = try XCTUnwrap(slice["values"] as? [Double])
            XCTAssertEqual(file.tensors[name]?.dims, slice["dims"] as? [Int], name)
            let values = try file.floats(name)
            GGUFFixtures.assertClose(Array(values[start..<start + expected.count]), expected, "\(name)[\(start)...]")
        }
    }
}
