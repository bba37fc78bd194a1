import A2ATSSupport
import XCTest

final class SuggestionsTests: XCTestCase {
    func testLevenshtein() {
        // Worked by hand: kitten→sitting = 3 (k→s, e→i, +g).
        XCTAssertEqual(levenshtein("kitten", "sitting"), 3)
        XCTAssertEqual(levenshtein("", "abc"), 3)
        XCTAssertEqual(levenshtein("snapkv", "snapkv"), 0)
        XCTAssertEqual(levenshtein("h2o", "h20"), 1)
        XCTAssertEqual(closestMatches(to: "snpkv", among: ["streamingllm", "snapkv", "knorm"], maxDistance: 2).first, "snapkv")
        XCTAssertNil(closestMatches(to: "quest", among: ["snapkv", "knorm"], maxDistance: 2).first)
    }

    // Reference: distances worked out by hand for each candidate.
    func testRankingCaseAndContainment() {
        // "tova"→"tovb" 1, →"tov" 1, →"nova" 1: equal distances keep the candidates' order.
        XCTAssertEqual(closestMatches(to: "tova", among: ["x", "tovb", "tov", "nova"], limit: 2), ["tovb", "tov"])
        XCTAssertEqual(closestMatches(to: "tova", among: ["tov", "tova", "tovb"], limit: 3), ["tova", "tov", "tovb"])
        // Case: "SnapKV"→"snapkv" is 4 substitutions as written, 0 when case is ignored; the
        // suggestion keeps the candidate's own spelling.
        XCTAssertEqual(closestMatches(to: "SnapKV", among: ["snapkv"]), [])
        XCTAssertEqual(closestMatches(to: "SnapKV", among: ["snapKV"], ignoringCase: true), ["snapKV"])
        // Default allowance max(2, ⌊13/3⌋) = 4: "niah_single_x" is 1 edit from "niah_single_1",
        // far from "qa_1"; for a 12-letter name the allowance is 4 edits.
        XCTAssertEqual(closestMatches(to: "niah_single_x", among: ["qa_1", "niah_single_1"]), ["niah_single_1"])
        XCTAssertEqual(closestMatches(to: "abcdefghijkl", among: ["abcdefgh"]), ["abcdefgh"])   // 4 ≤ 4
        XCTAssertEqual(closestMatches(to: "abcdefghijkl", among: ["abcdefg"]), [])              // 5 > 4
        // Containment: "hotpot" is 2 edits from "hotpotqa" but counts as 1 when asked.
        XCTAssertEqual(closestMatches(to: "hotpot", among: ["hotpotqa", "hotpoto"], limit: 2), ["hotpoto", "hotpotqa"])
        XCTAssertEqual(closestMatches(to: "hotpot", among: ["hotpotqa", "hotpoto"], limit: 2, containmentIsOneEdit: true),
                       ["hotpotqa", "hotpoto"])
        XCTAssertEqual(closestMatches(to: "qa", among: ["2wikimqa"], maxDistance: 1, containmentIsOneEdit: true), ["2wikimqa"])
    }
}
