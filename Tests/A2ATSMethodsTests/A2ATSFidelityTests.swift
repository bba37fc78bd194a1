import XCTest
@testable import A2ATSMethods

final class A2ATSFidelityTests: XCTestCase {
    // Reference: values worked out by hand for three tokens.
    func testSmallCaseByHand() {
        let scores: [Float] = [0, log(3), 0]          // softmax = 0.2, 0.6, 0.2
        let values: [Float] = [1, 0, 0, 1, 1, 1]      // d = 2
        let m = Fidelity.measure(trueScores: scores, approximateScores: [1, log(3), 0], selected: [1, 2],
                                 values: values, headDim: 2, k: 2)
        XCTAssertEqual(m.recall, 0.5, accuracy: 1e-9)          // true top-2 = {1, 0}
        XCTAssertEqual(m.attentionMass, 0.8, accuracy: 1e-6)
        XCTAssertEqual(m.scoreMSE!, 1.0 / 3, accuracy: 1e-6)
        // full = 0.2·(1,0) + 0.6·(0,1) + 0.2·(1,1) = (0.4, 0.8); sparse = 0.75·(0,1) + 0.25·(1,1) = (0.25, 1)
        let expected = ((0.15 * 0.15 + 0.2 * 0.2) as Double).squareRoot() / ((0.16 + 0.64) as Double).squareRoot()
        XCTAssertEqual(m.outputRelativeError, expected, accuracy: 1e-6)
        let all = Fidelity.measure(trueScores: scores, selected: [0, 1, 2], values: values, headDim: 2, k: 2)
        XCTAssertEqual(all.recall, 1)
        XCTAssertEqual(all.attentionMass, 1, accuracy: 1e-9)
        XCTAssertEqual(all.outputRelativeError, 0, accuracy: 1e-9)
        XCTAssertNil(all.scoreMSE)
    }
}
