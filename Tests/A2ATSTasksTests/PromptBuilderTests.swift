import XCTest
@testable import A2ATSTasks

final class PromptBuilderTests: XCTestCase {
    let catalog = try! TaskCatalog.builtIn()

    private func samples(_ name: String) throws -> [EvalSample] {
        var reader = try SampleReader(path: SampleReaderTests.fixture(name))
        return try reader.readAll()
    }

    /// Reference: LongBench's dataset2prompt.json narrativeqa template, written out by hand.
    func testLongBenchPromptUsesOfficialTemplateAndChat() throws {
        let sample = try samples("tasks-longbench.jsonl")[0]
        let tokenizer = TestTokenizer(bos: 1, chat: chatML)
        let built = try PromptBuilder(tokenizer: tokenizer, maxPromptTokens: 4096)
            .build(sample, task: try catalog.task(named: "narrativeqa"))
        let filled = "You are given a story, which can be either a novel or a movie script, and a question. Answer the question asconcisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nStory: alpha beta gamma delta epsilon zeta eta theta iota kappa\n\nNow, answer the question based on the story asconcisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nQuestion: Who wrote the letter?\n\nAnswer:"
        XCTAssertEqual(built.text, chatML(filled))
        XCTAssertFalse(built.truncated)
        XCTAssertEqual(built.tokenIDs.first, 1)
        XCTAssertEqual(tokenizer.decode(Array(built.tokenIDs.dropFirst())), built.text)
    }

    /// Middle truncation worked out by hand: the test tokenizer makes words, spaces and
    /// punctuation one token each; a budget of 9 with BOS leaves 8 prompt tokens, the first 4
    /// ("Please", " ", "determine", " ") and the last 4 ("the", " ", "question", "?").
    func testLongBenchMiddleTruncationKeepsBothEnds() throws {
        let sample = try samples("tasks-longbench.jsonl")[1]
        let tokenizer = TestTokenizer(bos: 1, chat: chatML)
        let built = try PromptBuilder(tokenizer: tokenizer, maxPromptTokens: 9)
            .build(sample, task: try catalog.task(named: "trec"))
        XCTAssertEqual(built.text, "Please determine the question?")   // trec: no chat template
        XCTAssertTrue(built.truncated)
        XCTAssertEqual(built.tokenIDs.count, 9)
        XCTAssertFalse(built.chatTemplated)
    }

    /// Reference: contract.md "RULER files and prompts".
    func testRulerBaseAndChatPrompts() throws {
        let sample = try samples("tasks-ruler.jsonl")[0]
        let task = try catalog.task(named: "niah_single_1")
        let tokenizer = TestTokenizer(chat: chatML)
        let base = try PromptBuilder(tokenizer: tokenizer, maxPromptTokens: 1000).build(sample, task: task)
        XCTAssertEqual(base.text, sample.input + sample.answerPrefix)
        XCTAssertFalse(base.chatTemplated)
        let chat = try PromptBuilder(tokenizer: tokenizer, maxPromptTokens: 1000, chatTemplate: .on).build(sample, task: task)
        XCTAssertEqual(chat.text, chatML(sample.input) + sample.answerPrefix)
        XCTAssertEqual(chat.text.components(separatedBy: "<|im_start|>user").count, 2)  // templated once
    }

    func testMaxLengthCapsEveryTask() throws {
        let sample = try samples("tasks-ruler.jsonl")[0]
        let task = try catalog.task(named: "niah_single_1")   // RULER prompts never truncate
        XCTAssertThrowsError(try PromptBuilder(tokenizer: TestTokenizer(), maxPromptTokens: 20).build(sample, task: task)) { error in
            guard case TaskError.promptTooLong(_, let id, _, let limit)? = error as? TaskError else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "0")
            XCTAssertEqual(limit, 20)
        }
        let custom = try samples("tasks-custom.jsonl")[0]
        let mine = TaskDefinition(name: "mine", source: .custom, version: 1, template: "{context} Q: {input}",
                                  answerPrefix: "", chatTemplate: false, maxNewTokens: 8, metric: "qa_f1",
                                  truncation: .middle, generator: nil, file: "mine.json")
        // "The key is under the mat. Q: Where is the key?" cut to 6 tokens: "The", " ", "key" + " ", "key", "?".
        let built = try PromptBuilder(tokenizer: TestTokenizer(), maxPromptTokens: 6).build(custom, task: mine)
        XCTAssertEqual(built.text, "The key key?")
    }

    func testTemplateFillLeavesBracesInDataAlone() {
        XCTAssertEqual(PromptBuilder.fill("A {context} B {input}", context: "x {input} y", input: "{context}"),
                       "A x {input} y B {context}")
        XCTAssertEqual(PromptBuilder.fill("{context} Q: {question}", context: "c", input: "q"), "c Q: q")
    }
}
