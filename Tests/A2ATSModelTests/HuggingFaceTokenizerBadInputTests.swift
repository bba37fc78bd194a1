import A2ATSModel
import A2ATSSupport
import Foundation
import XCTest

/// Malformed or unsupported tokenizer directories and chat templates give one clear error
/// naming the file, the JSON field (or template line and column) and the value.
final class HuggingFaceTokenizerBadInputTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hf-tok-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// A copy of the llama3 fixture with `edit` applied to its tokenizer.json and config objects.
    private func variant(tokenizer edit: (inout JSONObject) -> Void = { _ in },
                         config editConfig: (inout JSONObject) -> Void = { _ in }) throws -> URL {
        var tokenizer = try HFTokenizerFixture.json("llama3/tokenizer.json").objectValue!
        edit(&tokenizer)
        var config = try HFTokenizerFixture.json("llama3/tokenizer_config.json").objectValue!
        editConfig(&config)
        try JSONValue.object(tokenizer).compactText.write(to: scratch.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        try JSONValue.object(config).compactText.write(to: scratch.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        return scratch
    }

    private func loadError(_ directory: URL) -> String {
        do {
            _ = try HuggingFaceTokenizer.load(directory: directory)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    func testTruncatedTokenizerJSON() throws {
        let text = try String(contentsOf: HFTokenizerFixture.directory.appendingPathComponent("llama3/tokenizer.json"), encoding: .utf8)
        try String(text.prefix(5000)).write(to: scratch.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        let message = loadError(scratch)
        XCTAssertTrue(message.contains("tokenizer.json: not valid JSON"), message)
    }

    func testMissingTokenizerJSON() {
        let message = loadError(scratch)
        XCTAssertTrue(message.contains("tokenizer.json: cannot read the file"), message)
    }

    func testUnknownPreTokenizerType() throws {
        let directory = try variant(tokenizer: { $0["pre_tokenizer"] = .object(["type": .string("Whitespace")]) })
        let message = loadError(directory)
        XCTAssertTrue(message.contains("field \"pre_tokenizer.type\": unsupported \"Whitespace\""), message)
        XCTAssertTrue(message.contains("supported: ByteLevel, Digits, Metaspace, Sequence, Split"), message)
    }

    func testUnknownSplitRegexAndNormalizer() throws {
        var directory = try variant(tokenizer: { tokenizer in
            tokenizer["pre_tokenizer"] = .object(["type": .string("Sequence"), "pretokenizers": .array([
                .object(["type": .string("Split"), "pattern": .object(["Regex": .string("\\w+")]),
                         "behavior": .string("Isolated"), "invert": .bool(false)])])])
        })
        var message = loadError(directory)
        XCTAssertTrue(message.contains("field \"pre_tokenizer.pretokenizers[0].pattern.Regex\": unsupported \"\\w+\""), message)
        directory = try variant(tokenizer: { $0["normalizer"] = .object(["type": .string("NFKX")]) })
        message = loadError(directory)
        XCTAssertTrue(message.contains("field \"normalizer.type\": unsupported \"NFKX\" (did you mean \"NFKC\"?)"), message)
    }

    func testUnknownModelTypeAndBadMerge() throws {
        var directory = try variant(tokenizer: { tokenizer in
            var model = tokenizer["model"]!.objectValue!
            model["type"] = .string("WordPiece")
            tokenizer["model"] = .object(model)
        })
        var message = loadError(directory)
        XCTAssertTrue(message.contains("field \"model.type\": unsupported \"WordPiece\""), message)
        directory = try variant(tokenizer: { tokenizer in
            var model = tokenizer["model"]!.objectValue!
            model["merges"] = .array([.array([.string("Ġ"), .string("no-such-token")])])
            tokenizer["model"] = .object(model)
        })
        message = loadError(directory)
        XCTAssertTrue(message.contains("field \"model.merges[0]\": \"Ġ no-such-token\": token not in the vocabulary"), message)
    }

    /// Empty subword affixes (as Qwen2's tokenizer.json writes them) load; real ones are refused.
    func testSubwordAffixes() throws {
        func withAffix(_ value: JSONValue) throws -> URL {
            try variant(tokenizer: { tokenizer in
                var model = tokenizer["model"]!.objectValue!
                model["continuing_subword_prefix"] = value
                tokenizer["model"] = .object(model)
            })
        }
        XCTAssertEqual(loadError(try withAffix(.string(""))), "loaded")
        let message = loadError(try withAffix(.string("##")))
        XCTAssertTrue(message.contains("field \"model.continuing_subword_prefix\": must be null"), message)
    }

    func testAddBOSWithoutBOSToken() throws {
        let directory = try variant(config: { config in
            config["add_bos_token"] = .bool(true)
            config["bos_token"] = nil
        })
        let message = loadError(directory)
        XCTAssertTrue(message.contains("tokenizer_config.json: field \"bos_token\": missing, but add_bos_token is true"), message)
    }

    /// Syntax errors and unsupported constructs name the template line and column.
    func testTemplateSyntaxErrors() {
        let cases: [(String, JinjaError)] = [
            ("{% for m in messages %}{{ m.role }}", .syntax(line: 1, column: 1, message: "missing {% endfor %}")),
            ("line one\n  {{ messages[0] + }}", .syntax(line: 2, column: 3, message: "expected an expression, found end of tag")),
            ("{% macro f() %}{% endmacro %}", .syntax(line: 1, column: 1, message:
                "unsupported statement \"macro\" (supported: for, if, elif, else, set, break, continue, generation)")),
            ("{{ 'unterminated }}", .syntax(line: 1, column: 4, message: "string literal is not closed")),
            ("{% if x %}a{% endfor %}", .syntax(line: 1, column: 12, message: "unexpected {% endfor %}")),
        ]
        for (source, expected) in cases {
            XCTAssertThrowsError(try JinjaTemplate(source), source) { error in
                XCTAssertEqual(error as? JinjaError, expected, source)
            }
        }
    }

    func testTemplateErrorsAtLoadAndRender() throws {
        let directory = try variant(config: { $0["chat_template"] = .string("{{ bos_token }}\n{% if %}") })
        let message = loadError(directory)
        XCTAssertTrue(message.contains("tokenizer_config.json: field \"chat_template\": chat template line 2, column 1: expected an expression, found end of tag"), message)
        XCTAssertThrowsError(try JinjaTemplate("{{ messages | trimm }}").render(["messages": .list([])])) { error in
            XCTAssertEqual("\(error)", "chat template line 1, column 13: unsupported filter \"trimm\" (did you mean \"trim\"?)")
        }
        XCTAssertThrowsError(try JinjaTemplate("{{ nothing + 'x' }}").render([:])) { error in
            XCTAssertEqual("\(error)", "chat template line 1, column 12: \"nothing\" is undefined (in +)")
        }
    }
}
