import XCTest
@testable import A2ATSModel

/// Scratch check while the parity fixtures are being written.
final class DefaultModelSmokeTests: XCTestCase {
    func testCapitalOfFrance() throws {
        let path = NSHomeDirectory() + "/.cache/a2ats-eval/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        var start = Date()
        let source = try GGUFModelSource(path: path)
        let model = try LlamaModel(source: source)
        print("load", Date().timeIntervalSince(start))
        start = Date()
        let prefill = try model.prefill([1, 504, 3575, 282, 4649, 314], extraCapacity: 24)
        print("prefill", Date().timeIntervalSince(start))
        let top = prefill.lastLogits.enumerated().sorted { $0.element > $1.element }.prefix(5)
        print(top.map { ($0.offset, $0.element) })
        let generation = try model.generate(from: prefill, method: nil, maxNewTokens: 24, stopTokens: [2])
        print(generation.tokens, generation.seconds / Double(max(1, generation.decodeSteps)))
        XCTAssertEqual(top.first?.offset, 7042)
    }
}
