import A2ATSModel
import A2ATSSupport
import Foundation
import XCTest

/// Token-id parity with Hugging Face `tokenizers` (PyPI) on tokenizer directories it trained
/// and saved itself (scripts/make_hf_tokenizer_fixtures.py): byte-level BPE with the Llama-3
/// and Qwen2 Split regexes and with SmolLM's Digits + ByteLevel, and SentencePiece-style BPE
/// with byte fallback (Prepend/Replace normalizer, and Metaspace). Golden ids, ids with the
/// post-processor's BOS, and decoded text are HF's own outputs.
final class HuggingFaceTokenizerParityTests: XCTestCase {
    static let fixtures = ["llama3", "qwen2", "smollm", "sentencepiece", "metaspace"]

    func testIdsEqualHuggingFaceTokenizers() throws {
        let golden = try HFTokenizerFixture.golden()
        for name in Self.fixtures {
            let tokenizer = try HFTokenizerFixture.tokenizer(name)
            let cases = try XCTUnwrap(golden[name]?.arrayValue)
            var equal = 0
            for c in cases {
                let text = c["text"]!.stringValue!
                let expected = c["ids"]!.arrayValue!.map { $0.intValue! }
                let ids = tokenizer.encode(text)
                if ids == expected { equal += 1 } else { XCTFail("\(name) \(text.debugDescription): got \(ids), HF \(expected)") }
            }
            print("HF tokenizer.json parity (\(name)): \(equal)/\(cases.count) strings equal to HF tokenizers")
            XCTAssertGreaterThanOrEqual(cases.count, 200)
        }
    }

    /// `encodeForModel` (BOS from tokenizer_config.json's add_bos_token, else the
    /// TemplateProcessing post-processor) equals HF `encode(text)` with special tokens.
    func testModelIdsEqualHuggingFaceWithSpecialTokens() throws {
        let golden = try HFTokenizerFixture.golden()
        for name in Self.fixtures {
            let tokenizer = try HFTokenizerFixture.tokenizer(name)
            for c in golden[name]!.arrayValue! {
                let expected = c["ids_with_specials"]!.arrayValue!.map { $0.intValue! }
                XCTAssertEqual(tokenizer.encodeForModel(c["text"]!.stringValue!), expected, "\(name) \(c["text"]!)")
            }
        }
        XCTAssertNil(try HFTokenizerFixture.tokenizer("qwen2").bosTokenID)
        XCTAssertEqual(try HFTokenizerFixture.tokenizer("sentencepiece").bosTokenID, 1)
    }

    func testDecodeEqualsHuggingFaceDecode() throws {
        let golden = try HFTokenizerFixture.golden()
        for name in Self.fixtures {
            let tokenizer = try HFTokenizerFixture.tokenizer(name)
            for c in golden[name]!.arrayValue! {
                let ids = c["ids"]!.arrayValue!.map { $0.intValue! }
                XCTAssertEqual(tokenizer.decode(ids), c["decoded"]!.stringValue!, "\(name) \(c["text"]!)")
            }
        }
    }

    /// The same vocabulary loads from "a b" merges (qwen2 fixture) and [a, b] pairs (the others);
    /// stop ids come from eos_token and the end-of-turn tokens.
    func testMergeFormatsAndStopTokens() throws {
        let qwen = try HFTokenizerFixture.tokenizer("qwen2")
        let text = try String(contentsOf: HFTokenizerFixture.directory.appendingPathComponent("qwen2/tokenizer.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"merges\": [\"") || text.contains("\"merges\":[\""), "qwen2 fixture keeps string merges")
        XCTAssertEqual(qwen.stopTokenIDs, Set(qwen.encode("<|im_end|><|endoftext|>")))
        let llama = try HFTokenizerFixture.tokenizer("llama3")
        XCTAssertEqual(llama.stopTokenIDs, Set(llama.encode("<|eot_id|>")))
        XCTAssertEqual(llama.summary, "tokenizer.json BPE (byte-level, pre-tokenizer Sequence[Split, ByteLevel], normalizer none), vocab 1506")
        XCTAssertEqual(try HFTokenizerFixture.tokenizer("sentencepiece").summary,
                       "tokenizer.json BPE (SentencePiece-style, pre-tokenizer none, normalizer Sequence[Prepend, Replace]), vocab 1456")
    }
}

/// Loads the fixture directories written by scripts/make_hf_tokenizer_fixtures.py.
enum HFTokenizerFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/hf-tokenizers").standardized

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [String: HuggingFaceTokenizer] = [:]

    static func tokenizer(_ name: String) throws -> HuggingFaceTokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let cached = loaded[name] { return cached }
        let tokenizer = try HuggingFaceTokenizer.load(directory: directory.appendingPathComponent(name))
        loaded[name] = tokenizer
        return tokenizer
    }

    static func json(_ file: String) throws -> JSONValue {
        try JSONValue.parse(String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
    }

    static func golden() throws -> JSONValue { try json("golden-ids.json") }
}
