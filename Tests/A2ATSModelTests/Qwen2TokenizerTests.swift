import A2ATSModel
import A2ATSSupport
import Foundation
import XCTest

/// The `qwen2` tokenizer (issue 15, part 4): Qwen2's pre-tokenizer (single digits), its special
/// tokens, stop tokens and ChatML with the default system message.
///
/// Independent reference: Hugging Face `tokenizers` built from Qwen2.5-Coder-0.5B-Instruct's GGUF
/// vocabulary and merges with Qwen2's pre-tokenizer, and `jinja2` rendering the file's own chat
/// template; fixture Tests/Fixtures/tokenizer-qwen2.json by scripts/make_qwen2_tokenizer_fixture.py.
/// The fixture holds a trimmed vocabulary (every merge the reference ids need, at original ids and
/// ranks; the script checks HF gives the same ids on it) so these tests run without the 491 MB
/// model; with the model installed, the last test checks the full vocabulary read from the file.
final class Qwen2TokenizerTests: XCTestCase {
    struct Case { let text: String; let ids: [Int] }

    static let fixture: JSONValue = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/tokenizer-qwen2.json")
        return try! JSONValue.parse(String(contentsOf: url, encoding: .utf8))
    }()

    static let cases: [Case] = fixture["strings"]!.arrayValue!.map {
        Case(text: $0["text"]!.stringValue!, ids: $0["ids"]!.arrayValue!.map { $0.intValue! })
    }

    /// The trimmed vocabulary at its original ids; ids the fixture leaves out are empty, unused tokens.
    static let trimmed: BPETokenizer = {
        let f = fixture
        let size = f["vocab_size"]!.intValue!
        var tokens = [String](repeating: "", count: size)
        var types = [Int](repeating: 5, count: size)
        for (id, token) in f["tokens"]!.objectValue! {
            tokens[Int(id)!] = token.stringValue!
            types[Int(id)!] = 1
        }
        for (id, type) in f["token_type"]!.objectValue! { types[Int(id)!] = type.intValue! }
        return try! BPETokenizer(tokens: tokens, merges: f["merges"]!.arrayValue!.map { $0.stringValue! },
                                 tokenTypes: types, preTokenizer: f["pre"]!.stringValue!, bosTokenID: f["bos"]!.intValue!,
                                 eosTokenID: f["eos"]!.intValue!, addBOS: f["add_bos"]!.boolValue!,
                                 chatTemplate: f["chat_template"]!.stringValue!)
    }()

    private func checkParity(_ tokenizer: BPETokenizer, _ label: String) {
        var equal = 0
        for c in Self.cases {
            let ids = tokenizer.encode(c.text)
            if ids == c.ids { equal += 1 } else { XCTFail("\(label) \(c.text.debugDescription): got \(ids), HF \(c.ids)") }
        }
        print("tokenizer parity (qwen2, \(label)): \(equal)/\(Self.cases.count) strings equal to HF tokenizers")
        XCTAssertGreaterThanOrEqual(Self.cases.count, 200)
    }

    func testIdsEqualHuggingFace() {
        checkParity(Self.trimmed, "trimmed vocabulary")
    }

    func testDecodeRoundTrips() {
        for c in Self.cases { XCTAssertEqual(Self.trimmed.decode(c.ids), c.text) }
    }

    /// Qwen2 splits numbers into single digits, where Llama-3 takes up to three.
    func testDigitsAreSingle() {
        let ids = Self.trimmed.encode("2024")
        XCTAssertEqual(ids.count, 4)
        XCTAssertEqual(ids.map { Self.trimmed.decode([$0]) }, ["2", "0", "2", "4"])
    }

    /// Control (type 3) and user-defined (type 4) tokens are cut out whole; generation stops at
    /// `<|im_end|>` (the file's EOS) and `<|endoftext|>`; no BOS is added (add_bos_token false).
    func testSpecialAndStopTokens() {
        let t = Self.trimmed
        XCTAssertEqual(t.encode("<|im_start|>user\n"), [151644] + t.encode("user\n"))
        XCTAssertEqual(t.encode("<tool_call><|fim_prefix|><|endoftext|>"), [151657, 151659, 151643])
        XCTAssertNil(t.bosTokenID)
        XCTAssertEqual(t.encodeForModel("hi"), t.encode("hi"))
        XCTAssertTrue(t.stopTokenIDs.isSuperset(of: [151645, 151643]), "\(t.stopTokenIDs)")
    }

    /// ChatML exactly as jinja2 renders the file's template, with its default system message.
    func testChatPromptEqualsTemplateRendering() throws {
        let chat = try XCTUnwrap(Self.fixture["chat"]?.arrayValue)
        XCTAssertEqual(chat.count, 4)
        for c in chat {
            let expected = c["expected"]!.stringValue!
            XCTAssertTrue(expected.hasPrefix("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. "
                                             + "You are a helpful assistant.<|im_end|>\n<|im_start|>user\n"))
            XCTAssertEqual(Self.trimmed.chatPrompt(user: c["user"]!.stringValue!), expected)
        }
    }

    /// The full vocabulary, merges and template read from the real GGUF file (skipped when it is
    /// not installed: `scripts/setup --model qwen2.5-coder-0.5b`, or `A2ATS_QWEN2_GGUF=path`).
    func testRealFileTokenizerEqualsHuggingFace() throws {
        let env = ProcessInfo.processInfo.environment
        let path = env["A2ATS_QWEN2_GGUF"]
            ?? LanguageModel.cacheHome + "/models/Qwen2.5-Coder-0.5B-Instruct.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("Qwen2.5-Coder-0.5B not installed at \(path)") }
        let tokenizer = try XCTUnwrap(LanguageModel.loadTokenizer(path: path) as? BPETokenizer)
        XCTAssertEqual(tokenizer.vocabularySize, 151_936)
        XCTAssertEqual(tokenizer.preTokenizerName, "qwen2")
        checkParity(tokenizer, "full vocabulary from \(path)")
        for c in try XCTUnwrap(Self.fixture["chat"]?.arrayValue) {
            XCTAssertEqual(tokenizer.chatPrompt(user: c["user"]!.stringValue!), c["expected"]!.stringValue!)
        }
    }
}
