import A2ATSModel
import A2ATSSupport
import Foundation
import XCTest

/// The tokenizer.json loader on full-size real vocabularies: directories written by
/// scripts/make_hf_tokenizer_dir.py (HF `tokenizers` built from an installed GGUF's own
/// vocabulary, merges, pre-tokenizer and template) must give the same ids, BOS, stop ids and
/// chat prompt as the GGUF tokenizer (itself equal to HF, TokenizerParityTests). Skipped when
/// the GGUF or the directory (~/.cache/a2ats-eval/hf-tokenizers/<GGUF name>) is absent, as in CI.
final class HuggingFaceTokenizerRealVocabularyTests: XCTestCase {
    private func check(_ stem: String, strings: [String]) throws {
        let gguf = LanguageModel.cacheHome + "/models/\(stem).gguf"
        let directory = LanguageModel.cacheHome + "/hf-tokenizers/\(stem)"
        guard FileManager.default.fileExists(atPath: gguf), FileManager.default.fileExists(atPath: directory) else {
            throw XCTSkip("\(stem): needs \(gguf) and \(directory) (scripts/make_hf_tokenizer_dir.py)")
        }
        let start = Date()
        let loaded = try HuggingFaceTokenizer.load(directory: URL(fileURLWithPath: directory))
        let seconds = Date().timeIntervalSince(start)
        let reference = try XCTUnwrap(LanguageModel.loadTokenizer(path: gguf) as? BPETokenizer)
        XCTAssertEqual(loaded.vocabularySize, reference.vocabularySize)
        XCTAssertEqual(loaded.bosTokenID, reference.bosTokenID)
        XCTAssertEqual(loaded.stopTokenIDs, reference.stopTokenIDs)
        var equal = 0
        for text in strings {
            if loaded.encode(text) == reference.encode(text) { equal += 1 } else { XCTFail("\(stem) \(text.debugDescription)") }
            XCTAssertEqual(loaded.decode(reference.encode(text)), reference.decode(reference.encode(text)))
        }
        for user in ["Hello!", "What is the special magic number?\n  Answer briefly. "] {
            XCTAssertEqual(loaded.chatPrompt(user: user), reference.chatPrompt(user: user), stem)
        }
        // Throughput on long natural text (a long-context prompt), both tokenizers.
        let long = String(repeating: strings.joined(separator: " ") + " Ünïcödé café naïve. ", count: 40)
        let t0 = Date()
        let longIDs = loaded.encode(long)
        let t1 = Date()
        XCTAssertEqual(longIDs, reference.encode(long))
        let t2 = Date()
        _ = reference.encode(long)
        let t3 = Date()
        print("tokenizer.json (\(stem), \(loaded.vocabularySize) tokens): \(equal)/\(strings.count) strings equal to the GGUF tokenizer; "
              + String(format: "loaded in %.2f s; %d tokens of long text: %.0f ms (GGUF tokenizer %.0f ms, cached words)",
                       seconds, longIDs.count, t1.timeIntervalSince(t0) * 1000, t3.timeIntervalSince(t2) * 1000))
    }

    func testSmolLM2DirectoryEqualsGGUF() throws {
        try check("SmolLM2-135M-Instruct.Q4_1", strings: TokenizerFixture.parity.strings.map(\.text))
    }

    func testQwen2DirectoryEqualsGGUF() throws {
        let qwen = Qwen2TokenizerTests.fixture["strings"]!.arrayValue!.map { $0["text"]!.stringValue! }
        try check("Qwen2.5-Coder-0.5B-Instruct", strings: qwen)
    }
}
