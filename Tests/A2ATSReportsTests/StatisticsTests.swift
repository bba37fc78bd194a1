@testable import A2ATSReports
import A2ATSSupport
import Foundation
import XCTest

/// Intervals and paired tests against values worked out by hand here (Wilson 1927; the exact
/// binomial sign test), and the report's use of them.
final class StatisticsTests: XCTestCase {
    /// Wilson: centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²), z = 1.95996.
    func testWilsonIntervals() {
        func check(_ successes: Int, _ n: Int, _ low: Double, _ high: Double) {
            let interval = Statistics.wilson(successes: successes, n: n)
            XCTAssertEqual(interval.low, low, accuracy: 5e-5, "\(successes)/\(n)")
            XCTAssertEqual(interval.high, high, accuracy: 5e-5, "\(successes)/\(n)")
        }
        check(0, 20, 0, 0.16113)        // centre 0.08057, half-width 0.08057
        check(10, 20, 0.29930, 0.70070) // half-width 1.64420 · √0.0149009 = 0.200706
        check(19, 20, 0.76388, 0.99113) // centre 0.87750, half-width 0.113625
        check(1, 1, 0.20654, 1)
        check(0, 1, 0, 0.79346)
    }

    /// Exact two-sided sign test: 2 · Σ_{i ≤ min} C(n, i) / 2ⁿ, capped at 1.
    func testSignTestPValues() {
        XCTAssertEqual(Statistics.signTest(positive: 0, negative: 5), 2.0 / 32, accuracy: 1e-12)
        XCTAssertEqual(Statistics.signTest(positive: 1, negative: 9), 2.0 * 11 / 1024, accuracy: 1e-12)
        XCTAssertEqual(Statistics.signTest(positive: 0, negative: 6), 2.0 / 64, accuracy: 1e-12)
        XCTAssertEqual(Statistics.signTest(positive: 3, negative: 3), 1)
        XCTAssertEqual(Statistics.signTest(positive: 0, negative: 0), 1)
        // 20 vs 5: 2 · (C(25,0) + … + C(25,5)) / 2²⁵ = 2 · 68406 / 33554432.
        XCTAssertEqual(Statistics.signTest(positive: 20, negative: 5), 2.0 * 68406 / 33_554_432, accuracy: 1e-12)
    }

    /// At a 50% pass rate the Wilson half-width first falls to ±10 points at n = 93 (n = 92 gives
    /// ±10.01); partial scores use z²·s²/10²: s² = 10000/7 gives ⌈54.9⌉ = 55.
    func testSamplesForTenPoints() {
        XCTAssertEqual(Statistics.samplesForHalfWidth([0, 100, 0, 100]), 93)
        XCTAssertEqual(Statistics.samplesForHalfWidth([0, 50, 100, 50, 0, 50, 100, 50]), 55)
    }

    /// Δ is paired by sample and marked where the sign test gives p < 0.05; a wide cell names the
    /// samples that would narrow it.
    func testPairedComparisonInTheReport() throws {
        func row(_ id: Int, _ method: String, _ budget: Int?, _ score: Double) -> ResultRecord {
            ResultRecord(id: String(id), task: "niah_single_1", method: method,
                         params: method == "full" ? [:] : ["sinks": 8, "window": 64], budget: budget.map { .tokens($0) },
                         budgetTokens: budget, length: 4096, prediction: "", references: ["1"], score: score, promptTokens: 4000,
                         attendedTokens: budget.map(Double.init) ?? 4000, kvBytes: 0, sideBytes: 0, seconds: 0, prefillSeconds: 0,
                         build: id < 3 ? "aaaaaaaaaaaa" : "bbbbbbbbbbbb")
        }
        var records: [ResultRecord] = []
        for id in 0..<8 {
            records.append(row(id, "full", nil, 100))
            records.append(row(id, "a2ats", 64, id == 0 ? 100 : 0))                       // 7 of 8 pairs worse: p = 2/2⁷
            records.append(row(id, "oracle:sinks=8,window=64", 64, id < 5 ? 100 : 0))     // 3 worse: p = 2/2³
        }
        let task = ResultSummary(records: records).tasks[0]
        let a2ats = try XCTUnwrap(task.comparison("a2ats", .tokens(64)))
        XCTAssertEqual(a2ats.pairs, 8)
        XCTAssertEqual(a2ats.delta, -87.5)
        XCTAssertEqual(a2ats.pValue, 2.0 / 128, accuracy: 1e-12)
        XCTAssertTrue(a2ats.isSignificant)
        XCTAssertFalse(try XCTUnwrap(task.comparison("oracle:sinks=8,window=64", .tokens(64))).isSignificant)
        XCTAssertNil(task.comparison("full", nil))

        let table = MarkdownReport.scoreTable(task)
        XCTAssertTrue(table.contains("| a2ats | — | 12.5 [2.2–47.1] n=8 (−87.5*) |"), table)
        XCTAssertTrue(table.contains("| oracle:sinks=8,window=64 | — | 62.5 [30.6–86.3] n=8 (−37.5) |"), table)
        XCTAssertTrue(MarkdownReport.ceilingNotes(task).contains("`oracle:sinks=8,window=64` is exact top-k reading the same sinks and window as `a2ats`"))
        XCTAssertTrue(MarkdownReport.precisionNotes(task).contains("a2ats@64 (n=8 →"))
        let builds = MarkdownReport.buildsSection(ResultSummary(records: records))
        XCTAssertTrue(builds.contains("| aaaaaaaaaaaa | 9 | a2ats, full, oracle:sinks=8,window=64 |"), builds)
    }

    /// The plot's x axis is the measured attended fraction (not the budget), each point has an error
    /// bar, and the SVG is wide enough for the longest legend entry.
    func testPlotUsesAttendedFractionAndFitsTheLegend() throws {
        let long = "a2ats:query_aware=false,window=128"
        let records = (0..<4).flatMap { id in
            [ResultRecord(id: String(id), task: "vt", method: "full", budget: nil, budgetTokens: nil, length: 4096, prediction: "",
                          references: [], score: 100, promptTokens: 4000, attendedTokens: 4000, kvBytes: 0, sideBytes: 0,
                          seconds: 0, prefillSeconds: 0),
             ResultRecord(id: String(id), task: "vt", method: long, budget: .fraction(0.01), budgetTokens: 40, length: 4096,
                          prediction: "", references: [], score: id == 0 ? 100 : 0, promptTokens: 4000, attendedTokens: 140,
                          kvBytes: 0, sideBytes: 0, seconds: 0, prefillSeconds: 0)]
        }
        let svg = ScorePlot.render(ResultSummary(records: records).tasks[0])
        XCTAssertTrue(svg.contains("attended fraction of the prompt (log scale)"))
        XCTAssertTrue(svg.contains(">\(long)</text>"))
        let widthText = try XCTUnwrap(svg.components(separatedBy: "width=\"").dropFirst().first?.prefix { $0 != "\"" })
        let width = try XCTUnwrap(Double(widthText))
        XCTAssertGreaterThanOrEqual(width, ScorePlot.left + ScorePlot.plotWidth + 24 + 28 + 7.2 * Double(long.count))
        // One error bar: from the Wilson bounds of 1 of 4 (4.6% to 69.9%).
        XCTAssertTrue(svg.contains("opacity=\"0.6\""))
    }
}
