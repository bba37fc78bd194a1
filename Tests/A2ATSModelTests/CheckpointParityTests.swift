import Foundation
import XCTest
@testable import A2ATSModel

/// Golden-logit parity of Hugging Face checkpoint directories (issue 18, parts 1–2).
///
/// Independent reference: `scripts/make_checkpoint_fixtures.py`, a float64 NumPy forward in
/// transformers' own layout (rotate-half RoPE on the stored Q/K rows, q/k/v biases for Qwen2) with
/// the rope-scaling rules re-implemented from transformers' `modeling_rope_utils`, over the exact
/// values stored in each fixture (f32, f16, bf16; one sharded behind an index). It wrote every
/// position's logits of two sequences, and the logits of a prefill of half the tokens followed by
/// one decode step per remaining token (which differ from the prefill's for dynamic NTK, whose base
/// grows with each step past `max_position_embeddings`). Tolerance as `LlamaModelParityTests`:
/// 1e-4 relative, floored at 5% of the row's largest |logit|.
final class CheckpointParityTests: XCTestCase {
    static let names = ["llama-f32", "llama-bf16-llama3", "qwen2-f16-yarn-sharded", "mistral-f32-dynamic",
                        "llama-bf16-linear"]

    static func directory(_ name: String) -> String { GGUFFixtures.path("checkpoints/" + name) }

    func testPrefillLogitsMatchNumPyReference() throws {
        for name in Self.names {
            let model = try LlamaModel(source: CheckpointModelSource(directory: Self.directory(name)))
            let vocab = model.config.vocabSize
            for sequence in try Self.sequences(name) {
                let logits = try XCTUnwrap(try model.prefill(sequence.tokens, allLogits: true).allLogits)
                var worst = LlamaModelParityTests.Worst()
                for (row, expected) in sequence.logits.enumerated() {
                    worst.merge(LlamaModelParityTests.compare(Array(logits[(row * vocab)..<((row + 1) * vocab)]), expected))
                }
                let label = "\(name) \(sequence.tokens.count) tokens, prefill vs NumPy"
                print("\(label): max abs diff \(worst.abs), max rel diff \(worst.rel)")
                XCTAssertLessThanOrEqual(worst.rel, LlamaModelParityTests.relativeTolerance, label)
            }
        }
    }

    /// Prefill of half the tokens, then decode steps (compact bf16/f16 kernels, per-step dynamic
    /// NTK base) against the reference fed the same way.
    func testDecodeStepsMatchNumPyReference() throws {
        for name in Self.names {
            let model = try LlamaModel(source: CheckpointModelSource(directory: Self.directory(name)))
            for sequence in try Self.sequences(name) {
                let n = sequence.tokens.count, k = sequence.decodePrefill
                let prefix = try model.prefill(Array(sequence.tokens[0..<k]), extraCapacity: n - k)
                var worst = LlamaModelParityTests.compare(prefix.lastLogits, sequence.decodeLogits[0])
                let decoder = Decoder(model: model, capacity: prefix.cache.capacity)
                for position in k..<n {
                    decoder.step(token: sequence.tokens[position], cache: prefix.cache, method: nil, store: DenseKVStore())
                    worst.merge(LlamaModelParityTests.compare(decoder.logits, sequence.decodeLogits[position - k + 1]))
                }
                let label = "\(name) prefill \(k) + decode \(n - k) vs NumPy"
                print("\(label): max abs diff \(worst.abs), max rel diff \(worst.rel)")
                XCTAssertLessThanOrEqual(worst.rel, LlamaModelParityTests.relativeTolerance, label)
            }
        }
    }

    /// What the loader read from config.json, generation_config.json and the safetensors headers.
    func testConfigAndCompactStorage() throws {
        let llama3 = try CheckpointModelSource(directory: Self.directory("llama-bf16-llama3"))
        XCTAssertEqual(llama3.checkpoint.family, .llama)
        XCTAssertEqual(llama3.config.ropeScaling?.kind, .llama3)
        XCTAssertEqual(llama3.config.ropeScaling?.originalContextLength, 32)
        XCTAssertTrue(llama3.config.tiedEmbeddings)
        XCTAssertEqual(llama3.config.maxPositions, 64)
        XCTAssertEqual(llama3.checkpoint.eosTokenIDs, [2, 3])
        let model = try LlamaModel(source: llama3)
        // bf16 stays 2 bytes a weight: one copy serves prefill and decode, including the tied head.
        XCTAssertEqual(model.weights.layers[0].prefill.qkv.resident?.format, .bf16)
        XCTAssertEqual(model.weights.embedding.resident?.format, .bf16)
        let c = model.config
        let perLayer = ((c.headCount + 2 * c.kvHeadCount) * c.headDim * c.hiddenSize + c.hiddenSize * c.headCount * c.headDim
            + 3 * c.intermediateSize * c.hiddenSize) * 2
        XCTAssertEqual(model.weights.layers[0].decode.bytesRead, perLayer)

        let qwen = try CheckpointModelSource(directory: Self.directory("qwen2-f16-yarn-sharded"))
        XCTAssertEqual(qwen.checkpoint.family, .qwen2)
        XCTAssertEqual(qwen.config.ropeScaling?.kind, .yarn)
        XCTAssertEqual(qwen.config.ropeScaling?.attentionFactor ?? 0, 0.1 * log(4) + 1, accuracy: 1e-12)
        XCTAssertEqual(qwen.config.maxPositions, 64, "max(max_position_embeddings, original × factor)")
        XCTAssertTrue(qwen.weightsFile.hasSuffix("model.safetensors.index.json"))

        let mistral = try CheckpointModelSource(directory: Self.directory("mistral-f32-dynamic"))
        XCTAssertEqual(mistral.checkpoint.slidingWindow, 64)
        XCTAssertEqual(mistral.config.maxPositions, 16, "dynamic: max_position_embeddings 8 × factor 2")
        XCTAssertThrowsError(try LlamaModel(source: mistral).prefill(Array(repeating: 1, count: 17))) {
            XCTAssertEqual($0 as? ModelError, .contextTooLong(tokens: 17, maxPositions: 16))
        }
    }

    /// `--model DIR` takes a checkpoint directory, its tokenizer from the loader it is given.
    func testLanguageModelLoadsCheckpointDirectory() throws {
        let directory = Self.directory("llama-f32")
        XCTAssertThrowsError(try LanguageModel.load(path: directory)) {
            XCTAssertTrue("\($0)".contains("tokenizer.json"), "\($0)")
        }
        let tokenizerFixture = GGUFFixtures.path("tiny-llama-f32.gguf")
        let loaded = try LanguageModel.load(path: directory) { _, _ in
            try BPETokenizer(gguf: GGUFTokenizerFields(file: GGUFFile(path: tokenizerFixture)))
        }
        XCTAssertEqual(loaded.config.architecture, "llama")
        XCTAssertTrue(loaded.weightsFile.hasSuffix("llama-f32/model.safetensors"))
        let tokens = try Self.sequences("llama-f32")[0].tokens
        let logits = try loaded.model.prefill(tokens).lastLogits
        XCTAssertLessThanOrEqual(LlamaModelParityTests.compare(logits, try Self.sequences("llama-f32")[0].logits.last!).rel,
                                 LlamaModelParityTests.relativeTolerance)
    }

    struct Sequence {
        let tokens: [Int]
        let logits: [[Double]]
        let decodePrefill: Int
        let decodeLogits: [[Double]]
    }

    static func sequences(_ name: String) throws -> [Sequence] {
        let json = try GGUFFixtures.json("checkpoints/\(name).logits.json")
        return try XCTUnwrap(json["sequences"] as? [[String: Any]]).map { item in
            Sequence(tokens: try XCTUnwrap(item["tokens"] as? [NSNumber]).map(\.intValue),
                     logits: try XCTUnwrap(item["logits"] as? [[NSNumber]]).map { $0.map(\.doubleValue) },
                     decodePrefill: try XCTUnwrap(item["decodePrefill"] as? NSNumber).intValue,
                     decodeLogits: try XCTUnwrap(item["decodeLogits"] as? [[NSNumber]]).map { $0.map(\.doubleValue) })
        }
    }
}
