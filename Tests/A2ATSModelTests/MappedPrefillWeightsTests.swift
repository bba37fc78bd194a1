import A2ATSTensor
import XCTest
@testable import A2ATSModel

/// `PrefillWeights.mapped` (quantized matrices read from the mapped GGUF and dequantized panel
/// by panel) against `PrefillWeights.f32` (one f32 copy made at load) on the tiny quantized
/// fixtures, and against the NumPy reference that `LlamaModelParityTests` uses. The panel values
/// are the same dequantized floats and the product never splits its inner dimension, so hidden
/// states must agree bit for bit; only the few-row LM head (the decode kernels' compact blocks
/// instead of the dequantized head) may differ in rounding.
final class MappedPrefillWeightsTests: XCTestCase {
    static let formats = ["llama-q8_0", "llama-q4_1", "qwen2-q8_0", "mistral-q8_0", "llama-mixed"]

    func testMappedPrefillMatchesF32CopiesAndNumPyReference() throws {
        for format in Self.formats {
            let path = GGUFFixtures.path("tiny-\(format).gguf")
            let copied = try LlamaModel(source: GGUFModelSource(path: path), prefillWeights: .f32)
            let mapped = try LlamaModel(source: GGUFModelSource(path: path), prefillWeights: .mapped)
            XCTAssertEqual([copied.prefillWeights, mapped.prefillWeights], [.f32, .mapped])
            XCTAssertTrue(copied.hasF32Weights, format)
            XCTAssertFalse(mapped.hasF32Weights, "\(format): a mapped model keeps no f32 copies")
            XCTAssertNil(mapped.weights.layers[0].prefill.gateUp.resident, format)
            for sequence in try LlamaModelParityTests.sequences(format) {
                let n = sequence.tokens.count
                let expected = try XCTUnwrap(try copied.prefill(sequence.tokens, allLogits: true).allLogits)
                let actual = try XCTUnwrap(try mapped.prefill(sequence.tokens, allLogits: true).allLogits)
                let vocab = mapped.config.vocabSize
                var worst = LlamaModelParityTests.Worst()
                for row in 0..<n {
                    let logits = Array(actual[(row * vocab)..<((row + 1) * vocab)])
                    worst.merge(LlamaModelParityTests.compare(logits, sequence.logits[row]))
                }
                XCTAssertLessThanOrEqual(worst.rel, LlamaModelParityTests.relativeTolerance, "\(format), \(n) tokens vs NumPy")
                if n >= 16 {
                    XCTAssertEqual(actual, expected, "\(format), \(n) tokens: same products, same bits")
                }
                // Decode after a mapped prefill reads the compact blocks, as after an f32 one.
                let a = try copied.generate(from: copied.prefill(sequence.tokens, extraCapacity: 4), method: nil,
                                            maxNewTokens: 4, stopTokens: []).tokens
                let b = try mapped.generate(from: mapped.prefill(sequence.tokens, extraCapacity: 4), method: nil,
                                            maxNewTokens: 4, stopTokens: []).tokens
                XCTAssertEqual(a, b, "\(format): greedy tokens")
            }
        }
    }

    /// Panels smaller than a part, and parts (Q, K, V stacked) ending inside a panel's span, give the
    /// whole f32 product bit for bit; embedding rows are the f32 copy's rows.
    func testPanelsAndPartsReproduceTheF32Product() throws {
        let path = GGUFFixtures.path("tiny-llama-mixed.gguf")
        let copied = try LlamaModel(source: GGUFModelSource(path: path), prefillWeights: .f32)
        let mapped = try LlamaModel(source: GGUFModelSource(path: path), prefillWeights: .mapped)
        var generator = SeededGenerator(seed: 7)
        for (f32, panels) in [(copied.weights.layers[0].prefill.qkv, mapped.weights.layers[0].prefill.qkv),
                              (copied.weights.layers[0].prefill.gateUp, mapped.weights.layers[0].prefill.gateUp)] {
            let matrix = try XCTUnwrap(f32.resident)
            guard case .mapped(let parts) = panels else { return XCTFail("expected mapped rows") }
            XCTAssertGreaterThan(parts.count, 1, "stacked parts")
            for m in [3, 20] {
                let a = (0..<(m * matrix.cols)).map { _ in Float.random(in: -1...1, using: &generator) }
                var expected = [Float](repeating: 0, count: m * matrix.rows)
                var actual = expected
                f32.multiplyBatch(m: m, a: a, lda: matrix.cols, c: &expected, ldc: matrix.rows)
                panels.multiplyBatch(m: m, a: a, lda: matrix.cols, c: &actual, ldc: matrix.rows, panelRows: 32)
                XCTAssertEqual(actual, expected, "m = \(m), 32-row panels over \(parts.map(\.rows)) rows")
            }
        }
        var expected = [Float](repeating: 0, count: copied.config.hiddenSize), actual = expected
        for token in [0, 1, copied.config.vocabSize - 1] {
            copied.weights.embedding.copyRow(token, into: &expected)
            mapped.weights.embedding.copyRow(token, into: &actual)
            XCTAssertEqual(actual, expected, "embedding row \(token)")
        }
    }

    /// Which copy a load chooses: by the f32 bytes it would make, unless the environment names one.
    func testChoiceBySizeAndEnvironment() throws {
        XCTAssertEqual(try PrefillWeights.choose(f32Bytes: 540 << 20, environment: [:]), .f32)
        XCTAssertEqual(try PrefillWeights.choose(f32Bytes: 2 << 30, environment: [:]), .mapped)
        XCTAssertEqual(try PrefillWeights.choose(f32Bytes: 2 << 30, environment: ["A2ATS_PREFILL_WEIGHTS": "f32"]), .f32)
        XCTAssertThrowsError(try PrefillWeights.choose(f32Bytes: 0, environment: ["A2ATS_PREFILL_WEIGHTS": "mmap"])) {
            XCTAssertEqual("\($0)", "A2ATS_PREFILL_WEIGHTS=mmap is not one of f32, mapped")
        }
    }
}
