import A2ATSModel
import XCTest

/// Behaviour of BPETokenizer beyond id parity; expectations come from the GGUF fields
/// (fixture by scripts/make_tokenizer_fixture.py) and from UTF-8's definition.
final class TokenizerBehaviourTests: XCTestCase {
    private var tokenizer: BPETokenizer { TokenizerFixture.smollm }

    func testSpecialTokensStayWhole() {
        let v = TokenizerFixture.vocabulary
        let ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>")
        XCTAssertEqual(ids.first, v.tokens.firstIndex(of: "<|im_start|>"))
        XCTAssertEqual(ids.last, v.tokens.firstIndex(of: "<|im_end|>"))
        XCTAssertEqual(tokenizer.decode([ids.first!]), "<|im_start|>")
        // A near miss is ordinary text.
        XCTAssertFalse(tokenizer.encode("<|im_start").contains(1))
    }

    func testSplitMultiByteCharacterDecodesToReplacementCharacter() {
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("€")), "€")
        // "â" spells byte 0xE2 in the byte-level alphabet: the lead byte of "€" alone.
        let leadByteToken = TokenizerFixture.vocabulary.tokens.firstIndex(of: "â")!
        XCTAssertEqual(tokenizer.decode([leadByteToken]), "\u{FFFD}")
        XCTAssertEqual(tokenizer.decode([leadByteToken] + tokenizer.encode("a")), "\u{FFFD}a")
    }

    func testBOSFollowsTheAddBOSField() throws {
        // SmolLM2's GGUF says add_bos_token = false (HF's tokenizer adds none either).
        XCTAssertFalse(TokenizerFixture.vocabulary.addBOS)
        XCTAssertNil(tokenizer.bosTokenID)
        XCTAssertEqual(tokenizer.encodeForModel("hi"), tokenizer.encode("hi"))
        let withBOS = try TokenizerFixture.tokenizer(addBOS: true)
        XCTAssertEqual(withBOS.bosTokenID, 1)
        XCTAssertEqual(withBOS.encodeForModel("hi"), [1] + tokenizer.encode("hi"))
    }

    func testStopTokensIncludeEOSAndEndOfTurn() {
        XCTAssertEqual(tokenizer.stopTokenIDs, [0, 2])  // <|endoftext|>, <|im_end|> (= eos)
    }

    func testUnknownTemplateGivesNoChatPrompt() throws {
        XCTAssertNil(try TokenizerFixture.tokenizer(chatTemplate: "{{ messages[0]['content'] }}").chatPrompt(user: "x"))
    }

    func testBadFieldsThrowTypedErrors() {
        XCTAssertThrowsError(try TokenizerFixture.tokenizer(pre: "qwen9")) { error in
            guard case TokenizerError.unsupportedPreTokenizer(let name, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "qwen9")
        }
        let small = ["a", "b", "ab", "c"]
        func make(merges: [String], types: [Int], bos: Int? = nil, addBOS: Bool = false) throws -> BPETokenizer {
            try BPETokenizer(tokens: small, merges: merges, tokenTypes: types, preTokenizer: "gpt2",
                             bosTokenID: bos, eosTokenID: nil, addBOS: addBOS, chatTemplate: nil)
        }
        XCTAssertNoThrow(try make(merges: ["a b"], types: [1, 1, 1, 1]))
        XCTAssertThrowsError(try make(merges: ["a b", "a z"], types: [1, 1, 1, 1])) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .badMerge(index: 1, merge: "a z", problem: "token not in the vocabulary"))
        }
        XCTAssertThrowsError(try make(merges: ["ab"], types: [1, 1, 1, 1]))
        XCTAssertThrowsError(try make(merges: ["b c"], types: [1, 1, 1, 1]))  // "bc" missing
        XCTAssertThrowsError(try make(merges: [], types: [1]))
        XCTAssertThrowsError(try make(merges: [], types: [1, 1, 1, 1], bos: 9, addBOS: true))
        XCTAssertThrowsError(try make(merges: [], types: [1, 1, 1, 1], bos: nil, addBOS: true))
    }
}
