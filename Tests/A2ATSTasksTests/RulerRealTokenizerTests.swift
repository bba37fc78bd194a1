import A2ATSModel
import A2ATSSupport
@testable import A2ATSTasks
import XCTest

/// Length fitting with the default model's real BPE tokenizer (built from its GGUF vocabulary,
/// dumped to Tests/Fixtures/tokenizer-smollm2-vocab.json by scripts/make_tokenizer_fixture.py):
/// RULER's rule is 0.98·L ≤ tokens(input + answer_prefix) + max new tokens ≤ L, and the
/// `length` field must be that count, recounted here independently.
final class RulerRealTokenizerTests: XCTestCase {
    static let tokenizer: BPETokenizer = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/tokenizer-smollm2-vocab.json")
        let v = try! JSONValue.parse(String(contentsOf: url, encoding: .utf8))
        return try! BPETokenizer(tokens: v["tokens"]!.arrayValue!.map { $0.stringValue! },
                                 merges: v["merges"]!.arrayValue!.map { $0.stringValue! },
                                 tokenTypes: v["token_type"]!.arrayValue!.map { $0.intValue! },
                                 preTokenizer: v["pre"]!.stringValue!, bosTokenID: v["bos"]!.intValue!,
                                 eosTokenID: v["eos"]!.intValue!, addBOS: v["add_bos"]!.boolValue!,
                                 chatTemplate: v["chat_template"]!.stringValue!)
    }()

    func testEveryTaskFitsWithinTwoPercentWithTheRealTokenizer() throws {
        let catalog = try TaskCatalog.builtIn()
        for length in [1024, 4096] {
            for task in catalog.tasks where task.generator != nil {
                let samples = try RulerGenerator(task: task, tokenizer: Self.tokenizer).generate(length: length, samples: 3, seed: 11)
                for sample in samples {
                    let record = sample.record
                    let text = record["input"]!.stringValue! + record["answer_prefix"]!.stringValue!
                    let counted = Self.tokenizer.encode(text).count + task.maxNewTokens
                    XCTAssertEqual(record["length"]?.intValue, counted, "\(task.name) at \(length)")
                    XCTAssertLessThanOrEqual(counted, length, "\(task.name) at \(length)")
                    XCTAssertGreaterThanOrEqual(Double(counted), 0.98 * Double(length), "\(task.name) at \(length)")
                }
            }
        }
    }
}
