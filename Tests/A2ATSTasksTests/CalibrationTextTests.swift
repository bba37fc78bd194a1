@testable import A2ATSTasks
import XCTest

/// Calibration text is not test text (contract, "Budgets and accounting"): no 50-character span of
/// the A²ATS calibration prose occurs in any built-in haystack or QA context. Compared with white
/// space collapsed, as the RULER generator joins words. Reference: a direct substring search,
/// run on the hits of a rolling hash.
final class CalibrationTextTests: XCTestCase {
    static let span = 50

    /// The spans of `text` that also occur in `corpus`.
    static func sharedSpans(_ text: String, _ corpus: String) -> [String] {
        let a = Array(normalized(text).utf8), b = Array(normalized(corpus).utf8)
        guard a.count >= span, b.count >= span else { return [] }
        var seen = Set<UInt64>()
        forEachWindowHash(a) { hash, _ in seen.insert(hash) }
        var found: [String] = []
        forEachWindowHash(b) { hash, start in
            guard seen.contains(hash) else { return }
            let window = String(decoding: b[start..<(start + span)], as: UTF8.self)
            if normalized(text).contains(window) { found.append(window) }
        }
        return found
    }

    private static func normalized(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    /// Polynomial rolling hash of every `span`-byte window, with its start.
    private static func forEachWindowHash(_ bytes: [UInt8], _ body: (UInt64, Int) -> Void) {
        let base: UInt64 = 1_000_003
        var power: UInt64 = 1
        for _ in 0..<(span - 1) { power = power &* base }
        var hash: UInt64 = 0
        for i in 0..<span { hash = hash &* base &+ UInt64(bytes[i]) }
        body(hash, 0)
        guard bytes.count > span else { return }
        for start in 1...(bytes.count - span) {
            hash = (hash &- UInt64(bytes[start - 1]) &* power) &* base &+ UInt64(bytes[start + span - 1])
            body(hash, start)
        }
    }

    func testNoSpanOfTheCalibrationTextIsInAnyTaskText() throws {
        let calibration = try RulerResources.text("calibration.txt")
        XCTAssertGreaterThan(calibration.count, 500_000, "the calibration prose is the whole novel")
        let resources = try RulerResources.shared()
        let taskTexts = [("essay.txt", try RulerResources.text("essay.txt")),
                         ("qa_squad.json", resources.squad.docs.joined(separator: "\n")),
                         ("qa_hotpot.json", resources.hotpot.docs.joined(separator: "\n"))]
        for (name, text) in taskTexts {
            XCTAssertEqual(Self.sharedSpans(calibration, text), [], name)
        }
    }

    /// The check finds a shared span where there is one: a sentence of the essay planted in the text.
    func testTheCheckFindsAPlantedSpan() throws {
        let essay = try RulerResources.text("essay.txt")
        let planted = String(essay.split(whereSeparator: \.isWhitespace).dropFirst(200).prefix(12).joined(separator: " "))
        XCTAssertGreaterThanOrEqual(planted.count, Self.span)
        let text = "Some prose of our own, then " + planted + ", and more of our own."
        XCTAssertFalse(Self.sharedSpans(text, essay).isEmpty)
        XCTAssertEqual(Self.sharedSpans("Nothing here comes from any haystack text at all, we hope so.", essay), [])
    }
}
