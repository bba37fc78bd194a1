import Foundation
import XCTest
import A2ATSTensor
@testable import A2ATSModel

/// Golden-logit parity of the forward pass (issue 3, part 6; `qwen2`: issue 15, part 2; `mistral`:
/// issue 18, part 4 — the Llama graph under Mistral's architecture name and keys, with a sliding
/// window wider than the context). `llama-mixed` holds Q4_0, Q5_1 and IQ4_NL matrices (issue 18,
/// part 4), so decode runs their compact kernels, with fused Q/K/V stacked from three formats.
///
/// Independent reference: `scripts/reference_forward.py`, a float64 NumPy Llama/Qwen2 forward over
/// the same GGUF files (weights dequantized by the PyPI `gguf` package), which wrote every position's
/// logits of two token sequences (7 and 40 tokens) into `Tests/Fixtures/tiny-*.logits.json`
/// (see `scripts/make_tiny_fixtures.py`). All logits are compared, not only the top ones.
/// The `qwen2` fixtures have q/k/v biases, GQA groups of 7 (7/1 and 14/2 heads), tied and untied
/// output, and Q/K rows in the file's neox order: the reference rotates halves as stored (Hugging
/// Face's `rotate_half`), the engine reorders rows into adjacent pairs on load, so a wrong reorder
/// or a missing bias moves every logit.
///
/// Tolerance: relative 1e-4 with denominator max(|a|, |b|, floor), where the floor is 5% of the
/// largest |logit| of the row. The floor only matters for logits near zero, whose f32 rounding
/// error is set by the size of the row's terms rather than by the logit itself; without it a
/// logit of 1e-5 would demand an absolute error of 1e-9, below f32 resolution of the sums.
final class LlamaModelParityTests: XCTestCase {
    static let formats = ["llama-f32", "llama-q8_0", "llama-q4_1", "llama-f16", "llama-bf16", "qwen2-f32", "qwen2-q8_0",
                          "mistral-q8_0", "llama-mixed"]
    static let relativeTolerance = 1e-4
    static let floorFraction = 5e-2

    /// Prefill with all logits vs the NumPy reference, every position and every vocabulary entry.
    func testPrefillLogitsMatchNumPyReference() throws {
        for format in Self.formats {
            let model = try Self.load(format)
            for (s, sequence) in try Self.sequences(format).enumerated() {
                let result = try model.prefill(sequence.tokens, allLogits: true)
                let logits = try XCTUnwrap(result.allLogits)
                XCTAssertEqual(logits.count, sequence.logits.count * model.config.vocabSize)
                var worst = Worst()
                for (row, expected) in sequence.logits.enumerated() {
                    let actual = logits[(row * model.config.vocabSize)..<((row + 1) * model.config.vocabSize)]
                    worst.merge(Self.compare(Array(actual), expected))
                }
                let label = "\(format) sequence \(s) (\(sequence.tokens.count) tokens), prefill vs NumPy"
                print("\(label): max abs diff \(worst.abs), max rel diff \(worst.rel)")
                XCTAssertLessThanOrEqual(worst.rel, Self.relativeTolerance, label)
                let last = Array(logits[((sequence.logits.count - 1) * model.config.vocabSize)...])
                XCTAssertEqual(result.lastLogits, last, "\(label): lastLogits is the last row of allLogits")
            }
        }
    }

    /// Prefill of the first k tokens, then one decode step per remaining token: each step's logits
    /// must equal the all-positions prefill (f32, BLAS) and the NumPy reference. This checks the KV
    /// cache, RoPE at true positions, and the compact Q8_0/Q4_1 decode matrices against f32 prefill.
    func testDecodeStepsMatchPrefillAndReference() throws {
        for format in Self.formats {
            let model = try Self.load(format)
            let vocab = model.config.vocabSize
            for sequence in try Self.sequences(format) {
                let n = sequence.tokens.count
                let full = try XCTUnwrap(try model.prefill(sequence.tokens, allLogits: true).allLogits)
                for k in Set([1, n / 2, n - 1]) {
                    let prefix = try model.prefill(Array(sequence.tokens[0..<k]), extraCapacity: n - k)
                    let decoder = Decoder(model: model, capacity: prefix.cache.capacity)
                    var versusPrefill = Worst(), versusReference = Worst()
                    for position in k..<n {
                        decoder.step(token: sequence.tokens[position], cache: prefix.cache, method: nil, store: DenseKVStore())
                        XCTAssertEqual(prefix.cache.length, position + 1)
                        let expected = full[(position * vocab)..<((position + 1) * vocab)].map(Double.init)
                        versusPrefill.merge(Self.compare(decoder.logits, expected))
                        versusReference.merge(Self.compare(decoder.logits, sequence.logits[position]))
                    }
                    let label = "\(format) n=\(n) prefill \(k) + decode \(n - k)"
                    print("\(label): vs prefill max abs \(versusPrefill.abs) rel \(versusPrefill.rel); "
                          + "vs NumPy max abs \(versusReference.abs) rel \(versusReference.rel)")
                    XCTAssertLessThanOrEqual(versusPrefill.rel, Self.relativeTolerance, "\(label) vs prefill")
                    XCTAssertLessThanOrEqual(versusReference.rel, Self.relativeTolerance, "\(label) vs NumPy")
                }
            }
        }
    }

    /// The mixed fixture decodes through the compact kernels it is meant to cover (so the parity
    /// tests above exercise them): fused Q/K/V from Q4_0, Q5_1 and IQ4_NL parts, gate/up merged Q4_0.
    func testMixedFixtureUsesCompactKernels() throws {
        let layer = try XCTUnwrap(try Self.load("llama-mixed").weights.layers.first).decode
        XCTAssertEqual(layer.qkv.format, .mixed)
        XCTAssertEqual([layer.output.format, layer.gateUp.format, layer.down.format], [.q5_1, .q4_0, .iq4_NL])
    }

    /// F16 and BF16 GGUF matrices stay at 2 bytes a weight, one matrix for prefill and decode (no
    /// f32 copy), as a checkpoint's 16-bit floats do; the parity tests above check their logits.
    /// A matrix whose rows are not a multiple of 32 wide (the bf16 fixture's 72-wide FFN down) is
    /// widened to f32 once instead.
    func testHalfPrecisionFilesKeepOneSixteenBitCopy() throws {
        for (format, half, downWidth) in [("llama-f16", QuantizedMatrix.Format.f16, 96), ("llama-bf16", .bf16, 72)] {
            let weights = try Self.load(format).weights
            let layer = try XCTUnwrap(weights.layers.first)
            XCTAssertEqual([layer.decode.qkv.format, layer.prefill.qkv.resident?.format], [half, half], format)
            XCTAssertEqual(weights.embedding.resident?.format, half, "\(format) embedding")
            XCTAssertEqual(layer.decode.down.cols, downWidth)
            XCTAssertEqual(layer.decode.down.format, downWidth % 32 == 0 ? half : .f32, "\(format) FFN down")
        }
    }

    /// Prefill rejects what it cannot hold.
    func testPrefillRejectsEmptyAndTooLongPrompts() throws {
        let model = try Self.load("llama-f32")
        XCTAssertThrowsError(try model.prefill([]))
        XCTAssertThrowsError(try model.prefill([1], extraCapacity: model.config.maxPositions))
    }

    // MARK: - Support

    struct Sequence {
        let tokens: [Int]
        let logits: [[Double]]
    }

    /// Largest absolute and relative differences seen.
    struct Worst {
        var abs = 0.0, rel = 0.0
        mutating func merge(_ other: Worst) {
            abs = max(abs, other.abs)
            rel = max(rel, other.rel)
        }
    }

    static func load(_ format: String) throws -> LlamaModel {
        try LlamaModel(source: GGUFModelSource(path: GGUFFixtures.path("tiny-\(format).gguf")))
    }

    static func sequences(_ format: String) throws -> [Sequence] {
        let json = try GGUFFixtures.json("tiny-\(format).logits.json")
        let items = try XCTUnwrap(json["sequences"] as? [[String: Any]])
        return try items.map { item in
            let tokens = try XCTUnwrap(item["tokens"] as? [NSNumber]).map(\.intValue)
            let logits = try XCTUnwrap(item["logits"] as? [[NSNumber]]).map { $0.map(\.doubleValue) }
            XCTAssertEqual(tokens.count, logits.count)
            return Sequence(tokens: tokens, logits: logits)
        }
    }

    /// Differences of one row of logits, relative to max(|a|, |b|, floor·max|row|).
    static func compare(_ actual: [Float], _ expected: [Double]) -> Worst {
        precondition(actual.count == expected.count)
        let floor = floorFraction * (expected.map(Swift.abs).max() ?? 0)
        var worst = Worst()
        for (a, e) in zip(actual.map(Double.init), expected) {
            let diff = Swift.abs(a - e)
            worst.abs = max(worst.abs, diff)
            worst.rel = max(worst.rel, diff / max(Swift.abs(a), Swift.abs(e), floor))
        }
        return worst
    }
}
