import XCTest
@testable import A2ATSModel

/// Config and tokenizer fields read from GGUF metadata. Expected values: the settings
/// scripts/make_tiny_fixtures.py wrote, and SmolLM2-135M-Instruct's published config (issue 3, part 7).
final class GGUFModelSourceTests: XCTestCase {
    func testTinyFixtureConfigs() throws {
        for (kind, ffn, tied) in [("f32", 72, true), ("q8_0", 96, false), ("q4_1", 96, false)] {
            let source = try GGUFModelSource(path: GGUFFixtures.path("tiny-llama-\(kind).gguf"))
            XCTAssertEqual(source.config, ModelConfig(
                architecture: "llama", layerCount: 2, hiddenSize: 64, intermediateSize: ffn, headCount: 4, kvHeadCount: 2,
                headDim: 16, vocabSize: 299, contextLength: 256, ropeTheta: 10_000, rmsNormEpsilon: 1e-5,
                tiedEmbeddings: tied), kind)
            XCTAssertEqual(source.shape("blk.1.ffn_down.weight"), [ffn, 64])
            XCTAssertEqual(source.shape("output.weight"), tied ? nil : [64, 299])
            XCTAssertNil(source.shape("no.such.tensor"))
            XCTAssertEqual(try source.tensor("blk.0.attn_k.weight").count, 64 * 32)
        }
    }

    /// The `qwen2` fixtures: `qwen2.*` keys, biases, tied or untied output as the file has it, and
    /// Q/K rows (and biases) reordered from the file's halves into adjacent pairs, V and the rest as stored.
    func testTinyQwen2Configs() throws {
        for (kind, hidden, heads, kvHeads, headDim, tied) in [("f32", 56, 7, 1, 8, true), ("q8_0", 224, 14, 2, 16, false)] {
            let source = try GGUFModelSource(path: GGUFFixtures.path("tiny-qwen2-\(kind).gguf"))
            XCTAssertEqual(source.config, ModelConfig(
                architecture: "qwen2", layerCount: 2, hiddenSize: hidden, intermediateSize: kind == "f32" ? 72 : 96,
                headCount: heads, kvHeadCount: kvHeads, headDim: headDim, vocabSize: 299, contextLength: 256,
                ropeTheta: 1_000_000, rmsNormEpsilon: 1e-6, tiedEmbeddings: tied), kind)
            XCTAssertEqual(source.config.groupSize, 7)
            XCTAssertEqual(source.architecture.ropeLayout, .halves)
            XCTAssertTrue(source.hasProjectionBias)
            XCTAssertEqual(source.preTokenizer, "qwen2")
            for name in ["blk.1.attn_q.bias", "blk.1.attn_k.bias", "blk.0.attn_k.weight"] {
                let stored = try source.file.floats(name), engine = try source.tensor(name)
                let width = name.hasSuffix(".bias") ? 1 : hidden
                let half = headDim / 2
                for row in 0..<(stored.count / width) {
                    let head = row / headDim, i = row % headDim
                    let from = head * headDim + i / 2 + (i % 2) * half
                    XCTAssertEqual(Array(engine[(row * width)..<((row + 1) * width)]),
                                   Array(stored[(from * width)..<((from + 1) * width)]), "\(kind) \(name) row \(row)")
                }
            }
            XCTAssertEqual(try source.tensor("blk.1.attn_v.bias"), try source.file.floats("blk.1.attn_v.bias"))
        }
        XCTAssertEqual(try GGUFModelSource(path: GGUFFixtures.path("tiny-llama-f32.gguf")).tensor("blk.0.attn_q.weight"),
                       try GGUFFile(path: GGUFFixtures.path("tiny-llama-f32.gguf")).floats("blk.0.attn_q.weight"),
                       "llama files are used as stored")
    }

    func testTinyFixtureTokenizerFields() throws {
        let source = try GGUFModelSource(path: GGUFFixtures.path("tiny-llama-q4_1.gguf"))
        XCTAssertEqual(source.tokenizerModel, "gpt2")
        XCTAssertEqual(source.preTokenizer, "smollm")
        XCTAssertEqual(source.tokenizerTokens.count, 299)
        XCTAssertEqual(Array(source.tokenizerTokens.prefix(4)), ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "Ā"])
        XCTAssertEqual(source.tokenizerMerges.count, 40)
        XCTAssertEqual(source.tokenizerMerges.first, "t h")
        XCTAssertEqual(Array(source.tokenTypes.prefix(4)), [3, 3, 3, 1])
        XCTAssertEqual(source.bosTokenID, 1)
        XCTAssertEqual(source.eosTokenID, 2)
        XCTAssertTrue(source.addBOS)
        XCTAssertEqual(source.chatTemplate?.contains("<|im_start|>assistant\\n"), true)
    }

    func testDefaultModelConfig() throws {
        let source = try GGUFModelSource(path: try GGUFFixtures.requireDefaultModel())
        XCTAssertEqual(source.config, ModelConfig(
            architecture: "llama", layerCount: 30, hiddenSize: 576, intermediateSize: 1536, headCount: 9, kvHeadCount: 3,
            headDim: 64, vocabSize: 49152, contextLength: 8192, ropeTheta: 100_000, rmsNormEpsilon: 1e-5,
            tiedEmbeddings: true))
        XCTAssertEqual(source.tokenizerTokens.count, 49152)
        XCTAssertEqual(source.tokenizerMerges.count, 48900)
        XCTAssertEqual(source.preTokenizer, "smollm")
        XCTAssertEqual(source.bosTokenID, 1)
        XCTAssertEqual(source.eosTokenID, 2)
        XCTAssertFalse(source.addBOS, "SmolLM2's GGUF sets add_bos_token = false")
        XCTAssertEqual(source.chatTemplate?.contains("<|im_start|>"), true)
        XCTAssertEqual(source.file.tensors["token_embd.weight"]?.type, .q8_0)
    }
}
