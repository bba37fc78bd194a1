import A2ATSModel
import A2ATSSupport
import Foundation
import XCTest

/// Chat templates rendered by the Jinja-subset interpreter against transformers' own
/// `apply_chat_template(..., tokenize=False)` (golden strings from
/// scripts/make_hf_tokenizer_fixtures.py): the public templates of Llama-3.1-8B-Instruct,
/// Qwen2.5-Instruct, Mistral-7B-Instruct v0.1 and v0.3 and SmolLM2-Instruct, with and without
/// a system turn, multi-turn, add_generation_prompt true and false, and the conversations the
/// templates refuse with raise_exception.
final class ChatTemplateRenderingTests: XCTestCase {
    func testTemplatesRenderExactlyAsTransformers() throws {
        let golden = try HFTokenizerFixture.json("chat-golden.json")
        let chats = try XCTUnwrap(golden["chats"]?.arrayValue)
        var rendered = 0, refused = 0
        var names = Set<String>()
        for chat in chats {
            let tokenizer = try HFTokenizerFixture.tokenizer(chat["fixture"]!.stringValue!)
            let messages = chat["messages"]!.arrayValue!.map {
                ChatMessage(role: $0["role"]!.stringValue!, content: $0["content"]!.stringValue!)
            }
            let generationPrompt = chat["add_generation_prompt"]!.boolValue!
            let label = "\(chat["name"]!.stringValue!) \(messages.map(\.role)) gen=\(generationPrompt)"
            names.insert(chat["name"]!.stringValue!)
            if let expected = chat["expected"]?.stringValue {
                XCTAssertEqual(try tokenizer.renderChat(messages, addGenerationPrompt: generationPrompt), expected, label)
                rendered += 1
            } else {
                let message = chat["error"]!.stringValue!
                XCTAssertThrowsError(try tokenizer.renderChat(messages, addGenerationPrompt: generationPrompt), label) { error in
                    guard case JinjaError.raised(_, _, let raised) = error else { return XCTFail("\(label): \(error)") }
                    XCTAssertEqual(raised, message, label)
                }
                refused += 1
            }
        }
        print("chat templates: \(rendered) renderings byte-equal to transformers, \(refused) refusals equal, templates \(names.sorted())")
        XCTAssertEqual(names, ["llama31", "mistral_v01", "mistral_v03", "qwen25", "smollm2"])
        XCTAssertGreaterThan(refused, 0)
    }

    /// Small templates covering whitespace control, loop scoping, namespaces, slices, filters,
    /// tests, tojson and Python printing, rendered by transformers' compiled environment.
    func testInterpreterCornersEqualTransformers() throws {
        let golden = try HFTokenizerFixture.json("chat-golden.json")
        let context = try XCTUnwrap(golden["case_context"]?.objectValue)
        var variables: [String: JinjaValue] = [:]
        for (key, value) in context { variables[key] = JinjaValue(json: value) }
        for c in try XCTUnwrap(golden["cases"]?.arrayValue) {
            let source = c["template"]!.stringValue!
            XCTAssertEqual(try JinjaTemplate(source).render(variables), c["expected"]!.stringValue!, source)
        }
    }

    /// `chatPrompt` drops the template's BOS text when the tokenizer adds the BOS id, so the
    /// model sees one BOS (as transformers' tokenize=True path gives).
    func testChatPromptHasOneBOS() throws {
        let llama = try HFTokenizerFixture.tokenizer("llama3")
        let prompt = try XCTUnwrap(llama.chatPrompt(user: "Hi"))
        XCTAssertTrue(prompt.hasPrefix("<|start_header_id|>system<|end_header_id|>"), prompt)
        let ids = llama.encodeForModel(prompt)
        XCTAssertEqual(ids.filter { $0 == llama.bosTokenID }.count, 1)
        XCTAssertEqual(ids.first, llama.bosTokenID)
    }
}

extension JinjaValue {
    /// A template value from parsed JSON (test contexts).
    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(JinjaValue.init(json:)))
        case .object(let object):
            var dictionary = JinjaDictionary()
            for (key, value) in object { dictionary[key] = JinjaValue(json: value) }
            self = .dictionary(dictionary)
        }
    }
}
