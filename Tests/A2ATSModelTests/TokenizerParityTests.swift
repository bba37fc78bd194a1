import A2ATSModel
import A2ATSSupport
import Foundation
import XCTest

/// Token-id parity with Hugging Face `tokenizers` built from the same GGUF vocabulary and
/// merges (independent reference; fixture by scripts/make_tokenizer_fixture.py).
final class TokenizerParityTests: XCTestCase {
    private func checkParity(pre: String, expected: (TokenizerFixture.Case) -> [Int]) throws {
        let tokenizer = pre == "smollm" ? TokenizerFixture.smollm : try TokenizerFixture.tokenizer(pre: pre)
        let cases = TokenizerFixture.parity.strings
        var equal = 0
        for c in cases {
            let ids = tokenizer.encode(c.text)
            if ids == expected(c) { equal += 1 } else {
                XCTFail("\(pre) \(c.text.debugDescription): got \(ids), HF \(expected(c))")
            }
        }
        print("tokenizer parity (\(pre)): \(equal)/\(cases.count) strings equal to HF tokenizers")
        XCTAssertGreaterThanOrEqual(cases.count, 220)
    }

    func testSmolLMIdsEqualHuggingFace() throws {
        try checkParity(pre: "smollm") { $0.ids }
    }

    func testGPT2PreTokenizerIdsEqualHuggingFace() throws {
        try checkParity(pre: "gpt2") { $0.idsGPT2 }
    }

    func testLlama3PreTokenizerIdsEqualHuggingFace() throws {
        try checkParity(pre: "llama-bpe") { $0.idsLlama3 }
    }

    func testDecodeRoundTripsEveryFixtureString() {
        let tokenizer = TokenizerFixture.smollm
        for c in TokenizerFixture.parity.strings {
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(c.text)), c.text)
            XCTAssertEqual(tokenizer.decode(c.ids), c.text)
        }
    }

    /// Expected strings rendered by jinja2 from each template (SmolLM2's own, a plain
    /// ChatML one and Llama-3-8B-Instruct's) with add_generation_prompt=true.
    func testChatPromptEqualsTemplateRendering() throws {
        XCTAssertEqual(TokenizerFixture.parity.chat.count, 9)
        for c in TokenizerFixture.parity.chat {
            let tokenizer = try TokenizerFixture.tokenizer(chatTemplate: c.template)
            XCTAssertEqual(tokenizer.chatPrompt(user: c.user), c.expected, c.template)
        }
    }
}

/// The default model's tokenizer fields and the Hugging Face golden ids, both written by
/// scripts/make_tokenizer_fixture.py (HF `tokenizers` + `jinja2` on the GGUF's own fields).
enum TokenizerFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures").standardized

    static func json(_ name: String) throws -> JSONValue {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return try JSONValue.parse(text)
    }

    struct Vocabulary {
        let tokens: [String], merges: [String], tokenTypes: [Int]
        let pre: String, bos: Int, eos: Int, addBOS: Bool, chatTemplate: String
    }

    static let vocabulary: Vocabulary = {
        let v = try! json("tokenizer-smollm2-vocab.json")
        return Vocabulary(tokens: v["tokens"]!.arrayValue!.map { $0.stringValue! },
                          merges: v["merges"]!.arrayValue!.map { $0.stringValue! },
                          tokenTypes: v["token_type"]!.arrayValue!.map { $0.intValue! },
                          pre: v["pre"]!.stringValue!, bos: v["bos"]!.intValue!, eos: v["eos"]!.intValue!,
                          addBOS: v["add_bos"]!.boolValue!, chatTemplate: v["chat_template"]!.stringValue!)
    }()

    /// The tokenizer exactly as the GGUF file describes it, or with one field replaced.
    static func tokenizer(pre: String? = nil, addBOS: Bool? = nil, chatTemplate: String? = nil) throws -> BPETokenizer {
        let v = vocabulary
        return try BPETokenizer(tokens: v.tokens, merges: v.merges, tokenTypes: v.tokenTypes,
                                preTokenizer: pre ?? v.pre, bosTokenID: v.bos, eosTokenID: v.eos,
                                addBOS: addBOS ?? v.addBOS, chatTemplate: chatTemplate ?? v.chatTemplate)
    }

    static let smollm: BPETokenizer = try! tokenizer()

    struct Case { let text: String; let ids: [Int]; let idsGPT2: [Int]; let idsLlama3: [Int] }
    struct ChatCase { let template: String; let user: String; let expected: String }

    static let parity: (strings: [Case], chat: [ChatCase]) = {
        let p = try! json("tokenizer-parity.json")
        let ints = { (v: JSONValue?) in v!.arrayValue!.map { $0.intValue! } }
        let strings = p["strings"]!.arrayValue!.map {
            Case(text: $0["text"]!.stringValue!, ids: ints($0["ids"]), idsGPT2: ints($0["ids_gpt2"]),
                 idsLlama3: ints($0["ids_llama_bpe"]))
        }
        let chat = p["chat"]!.arrayValue!.map {
            ChatCase(template: $0["template"]!.stringValue!, user: $0["user"]!.stringValue!,
                     expected: $0["expected"]!.stringValue!)
        }
        return (strings, chat)
    }()
}
