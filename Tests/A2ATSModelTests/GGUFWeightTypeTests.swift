import Foundation
import XCTest
@testable import A2ATSTensor
@testable import A2ATSModel

/// The weight types of the Qwen2.5-Coder GGUF (Q5_0, Q8_0, Q4_K, Q6_K), Q4_1, and the other types
/// users' files have (Q4_0, Q5_1, IQ4_NL, Q3_K, Q5_K, issue 18 part 4): dequantization against the
/// `gguf` package, compact decode kernels against dequantize + `sgemv`.
final class GGUFWeightTypeTests: XCTestCase {
    static let blockFormats: [(QuantizedMatrix.Format, GGMLType)] = [
        (.q4_1, .q4_1), (.q8_0, .q8_0), (.q5_0, .q5_0), (.q4_K, .q4_K), (.q6_K, .q6_K),
        (.q4_0, .q4_0), (.q5_1, .q5_1), (.iq4_NL, .iq4_NL), (.q3_K, .q3_K), (.q5_K, .q5_K),
    ]

    /// Each kernel against our own dequantization followed by OpenBLAS `sgemv` on random blocks
    /// (random code bytes, f16 scale fields set to sane values): 37 rows (two full row groups and a
    /// padded one), 512 columns (16 blocks or 2 super-blocks), plain and accumulating. Formats
    /// repacked into another's kernel (Q4_0, Q5_1, IQ4_NL, Q3_K, Q5_K) are checked the same way.
    /// Tolerance: |Δ| ≤ 1e-5 · Σ|w·x| per row, the scale of float rounding in a dot product.
    /// Where the CPU has AVX-512F the C kernels' AVX2 variants are checked too.
    func testKernelsMatchDequantizeAndSGEMV() throws {
        let native = CPUFeatures.hasAVX512
        defer { CPUFeatures.hasAVX512 = native }
        for wide in native ? [true, false] : [false] {
            CPUFeatures.hasAVX512 = wide
            try checkKernelsAgainstDequantizeAndSGEMV()
        }
    }

    private func checkKernelsAgainstDequantizeAndSGEMV() throws {
        var generator = SeededGenerator(seed: 15)
        for (format, type) in Self.blockFormats {
            let rows = 37, cols = 512
            let blocks = Self.randomBlocks(type, rows: rows, cols: cols, generator: &generator)
            let matrix = blocks.withUnsafeBytes { QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: $0) }
            let dense = Self.dequantized(type, blocks, count: rows * cols)
            let x = (0..<cols).map { _ in generator.nextGaussian() }
            let start = (0..<rows).map { _ in generator.nextGaussian() }
            for accumulate in [false, true] {
                Self.assertProductsMatch(matrix, dense: dense, x: x, start: start, accumulate: accumulate,
                                         "\(format) accumulate=\(accumulate) avx512=\(CPUFeatures.hasAVX512)")
            }
        }
    }

    /// Reference: ggml's block sizes (`type_size`: Q4_1 20, Q4_0 18 → 20 with its offset, Q8_0 and
    /// IQ4_NL 34 bytes per 32 weights). The C kernels' formats keep the file's f16 scales, so a
    /// decode product reads as many bytes per row-block as the file holds (f32 scales read 24 / 36).
    func testCKernelFormatsReadTheFilesBytes() {
        var generator = SeededGenerator(seed: 23)
        for (format, type, bytes) in [(QuantizedMatrix.Format.q4_1, GGMLType.q4_1, 20), (.q4_0, .q4_0, 20),
                                      (.q8_0, .q8_0, 34), (.iq4_NL, .iq4_NL, 34)] {
            let rows = 32, cols = 256
            let blocks = Self.randomBlocks(type, rows: rows, cols: cols, generator: &generator)
            let matrix = blocks.withUnsafeBytes { QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: $0) }
            XCTAssertEqual(matrix.bytesRead, rows * cols / 32 * bytes, "\(format)")
        }
    }

    /// Each compact kernel on the raw blocks of `tiny-dequant-types.gguf` (2 × 512) against
    /// `sgemv` on the `gguf` package's dequantized values of the same tensor (the independent
    /// reference, see `GGUFFileTests`), F16 and BF16 as 16-bit matrices the same way; every
    /// dequantizable type without a kernel (Q2_K) must come back nil from `compactMatrix`, so the
    /// loader multiplies it as f32.
    func testCompactKernelsOnFixtureMatchGGUFPackage() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("tiny-dequant-types.gguf"))
        let reference = try GGUFFixtures.json("tiny-dequant-types.json")
        var generator = SeededGenerator(seed: 19), covered = Set<GGMLType>()
        for entry in try XCTUnwrap(reference["tensors"] as? [[String: Any]]) {
            let name = try XCTUnwrap(entry["name"] as? String)
            let type = try XCTUnwrap(file.tensors[name]?.type, name)
            guard let matrix = file.compactMatrix(name) else {
                XCTAssertNil(Self.blockFormats.first { $0.1 == type }, "\(name): \(type.name) has a kernel")
                continue
            }
            covered.insert(type)
            let expected = try XCTUnwrap(entry["values"] as? [Double], name).map(Float.init)
            let x = (0..<matrix.cols).map { _ in generator.nextGaussian() }
            let start = (0..<matrix.rows).map { _ in generator.nextGaussian() }
            Self.assertProductsMatch(matrix, dense: expected, x: x, start: start, accumulate: true,
                                     "\(name) (\(type.name)) kernel vs gguf values")
        }
        XCTAssertEqual(covered, Set(Self.blockFormats.map(\.1)).union([.f16, .bf16]), "fixture has every kernel format")
    }

    /// Stacked parts (fused Q/K/V): one format with whole row groups merges into one matrix; mixed
    /// formats (Q5_0 Q and K with a Q8_0 V, as the Qwen file has) or a padded part multiply part
    /// by part. Compared with dequantize + `sgemv` of the stacked rows, as above.
    func testStackedPartsMatchDequantizeAndSGEMV() throws {
        var generator = SeededGenerator(seed: 16)
        let cols = 256
        for (layout, merged) in [([(GGMLType.q5_0, 32), (.q5_0, 16)], true), ([(.q5_0, 32), (.q5_0, 16), (.q8_0, 16)], false),
                                 ([(.q4_1, 21), (.q4_1, 16)], false), ([(.q6_K, 16), (.q4_K, 7)], false)] {
            var parts: [QuantizedMatrix] = [], dense: [Float] = []
            for (type, rows) in layout {
                let format = try XCTUnwrap(Self.blockFormats.first { $0.1 == type }?.0)
                let blocks = Self.randomBlocks(type, rows: rows, cols: cols, generator: &generator)
                parts.append(blocks.withUnsafeBytes { QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: $0) })
                dense += Self.dequantized(type, blocks, count: rows * cols)
            }
            let matrix = try XCTUnwrap(QuantizedMatrix.stacked(parts))
            XCTAssertEqual(matrix.format == .mixed, !merged, "\(layout)")
            XCTAssertEqual(matrix.bytesRead, parts.reduce(0) { $0 + $1.bytesRead }, "\(layout)")
            let x = (0..<cols).map { _ in generator.nextGaussian() }
            let start = (0..<matrix.rows).map { _ in generator.nextGaussian() }
            Self.assertProductsMatch(matrix, dense: dense, x: x, start: start, accumulate: true, "\(layout)")
        }
    }

    /// Rows of the real Qwen2.5-Coder-0.5B file, one tensor per type, raw blocks and the `gguf`
    /// package's `gguf.quants.dequantize` output as written by scripts/make_qwen_slices.py.
    /// Dequantization must be bit-exact: both sides evaluate the same f32 products in the same order
    /// with round-to-nearest (d·q; (d·scale)·q − dmin·min; (d·scale)·(q − 32)), and neither fuses
    /// them into FMAs, so any difference is a layout bug, not rounding. The kernels on the same raw
    /// rows are then checked against `sgemv` on the package's values (tolerance as above).
    func testQwenSlicesMatchGGUFPackage() throws {
        let fixture = try GGUFFixtures.json("qwen-weight-slices.json")
        let slices = try XCTUnwrap(fixture["slices"] as? [[String: Any]])
        XCTAssertEqual(Set(slices.compactMap { $0["type"] as? String }), ["Q5_0", "Q8_0", "Q4_K", "Q6_K", "F32"])
        var generator = SeededGenerator(seed: 17)
        for slice in slices {
            let name = try XCTUnwrap(slice["tensor"] as? String)
            let type = try XCTUnwrap(GGMLType.allCases.first { $0.name == slice["type"] as? String }, name)
            let rows = try XCTUnwrap(slice["rows"] as? [Int]).count, cols = try XCTUnwrap(slice["cols"] as? Int)
            let raw = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(slice["raw"] as? String)), name)
            let expected = try Self.floats(base64: try XCTUnwrap(slice["values"] as? String))
            XCTAssertEqual(raw.count, rows * cols / type.blockLayout.elements * type.blockLayout.bytes, name)
            XCTAssertEqual(expected.count, rows * cols, name)
            let ours = Self.dequantized(type, [UInt8](raw), count: rows * cols)
            let mismatches = zip(ours, expected).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(mismatches, 0, "\(name) (\(type.name)): values differing from gguf.quants.dequantize")
            guard let format = Self.blockFormats.first(where: { $0.1 == type })?.0 else { continue }
            let matrix = raw.withUnsafeBytes { QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: $0) }
            let x = (0..<cols).map { _ in generator.nextGaussian() }
            Self.assertProductsMatch(matrix, dense: expected, x: x, start: [Float](repeating: 0, count: rows),
                                     accumulate: false, "\(name) (\(type.name)) kernel")
        }
    }

    /// Whole tensors of the real file, one per type, through `compactMatrix` against the loader's
    /// f32 tensor + `sgemv`, at the real shapes (896 × 896, 128 × 896, 896 × 4864). Skips when the
    /// file is absent: CI does not install it (`scripts/setup --model qwen2.5-coder-0.5b` does;
    /// env `A2ATS_QWEN_GGUF` names another copy).
    func testRealQwenTensorsThroughCompactKernels() throws {
        let env = ProcessInfo.processInfo.environment
        let home = env["A2ATS_EVAL_HOME"] ?? (NSHomeDirectory() + "/.cache/a2ats-eval")
        let path = env["A2ATS_QWEN_GGUF"] ?? home + "/models/Qwen2.5-Coder-0.5B-Instruct.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("Qwen GGUF not installed at \(path)") }
        // The file alone, not GGUFModelSource: this test needs no `qwen2` architecture support.
        let file = try GGUFFile(path: path)
        var generator = SeededGenerator(seed: 18)
        for name in ["blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.2.ffn_down.weight", "blk.0.ffn_down.weight"] {
            let matrix = try XCTUnwrap(file.compactMatrix(name), name)
            let x = (0..<matrix.cols).map { _ in generator.nextGaussian() }
            Self.assertProductsMatch(matrix, dense: try file.floats(name), x: x,
                                     start: [Float](repeating: 0, count: matrix.rows), accumulate: false,
                                     "\(name) (\(matrix.format))")
        }
    }

    /// Types still without a dequantizer are named in the loader's error, with the supported list.
    func testUnsupportedTypeErrorNamesTheType() {
        for type in GGMLType.allCases where !type.isDequantizable {
            let message = ModelLoadError.unsupportedTensorType(path: "m.gguf", tensor: "blk.0.ffn_down.weight",
                                                               type: type.name).description
            XCTAssertTrue(message.contains("type \(type.name),"), message)
            XCTAssertTrue(message.contains("Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K"), message)
        }
    }

    // MARK: helpers

    /// Random GGUF blocks of `type` for a `rows × cols` matrix: random code bytes, f16 scale
    /// fields in [0.01, 0.03) (Q4_1's and Q5_1's m in [−0.05, 0.05)) so no value is NaN or huge.
    static func randomBlocks(_ type: GGMLType, rows: Int, cols: Int, generator: inout SeededGenerator) -> [UInt8] {
        let (elements, bytes) = type.blockLayout
        let count = rows * cols / elements
        var blocks = (0..<count * bytes).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let halfFields: [Int: Float] = switch type {
        case .q4_1, .q5_1: [0: 0.01, 2: -0.05]
        case .q4_K, .q5_K: [0: 0.01, 2: 0.01]
        case .q2_K: [80: 0.01, 82: 0.01]
        case .q3_K: [108: 0.01]
        case .q6_K: [208: 0.01]
        default: [0: 0.01]
        }
        for block in 0..<count {
            for (offset, low) in halfFields {
                let value = Float16(low + Float(generator.nextUnitDouble()) * (low < 0 ? 0.1 : 0.02))
                blocks[block * bytes + offset] = UInt8(value.bitPattern & 0xFF)
                blocks[block * bytes + offset + 1] = UInt8(value.bitPattern >> 8)
            }
        }
        return blocks
    }

    static func dequantized(_ type: GGMLType, _ blocks: [UInt8], count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            blocks.withUnsafeBytes { Dequantize.convert(type, from: $0.baseAddress!, count: count, into: buffer.baseAddress!) }
            initialized = count
        }
    }

    static func floats(base64: String) throws -> [Float] {
        let data = try XCTUnwrap(Data(base64Encoded: base64))
        return data.withUnsafeBytes { raw in (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian:
            raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
    }

    /// `matrix`·x against `sgemv` on `dense` (row-major), both starting from `start` when accumulating.
    static func assertProductsMatch(_ matrix: QuantizedMatrix, dense: [Float], x: [Float], start: [Float],
                                    accumulate: Bool, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let rows = matrix.rows, cols = matrix.cols
        XCTAssertEqual(dense.count, rows * cols, label, file: file, line: line)
        var fast = start, exact = start
        x.withUnsafeBufferPointer { x in
            fast.withUnsafeMutableBufferPointer { matrix.multiply(x.baseAddress!, into: $0.baseAddress!, accumulate: accumulate) }
            dense.withUnsafeBufferPointer { a in exact.withUnsafeMutableBufferPointer {
                BLAS.matrixVector(rows: rows, cols: cols, a: a.baseAddress!, lda: cols, x: x.baseAddress!,
                                  beta: accumulate ? 1 : 0, y: $0.baseAddress!)
            } }
        }
        var worst = 0.0
        for r in 0..<rows {
            var magnitude = accumulate ? Double(abs(start[r])) : 0
            for c in 0..<cols { magnitude += Double(abs(dense[r * cols + c] * x[c])) }
            worst = max(worst, Double(abs(fast[r] - exact[r])) / max(magnitude, 1e-30))
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(label): worst |Δ| / Σ|w·x|", file: file, line: line)
    }
}
