import XCTest
@testable import A2ATSHarness

/// Reference: rates and ETAs worked out by hand from the fake clock's times.
final class ProgressTests: XCTestCase {
    private final class FakeClock {
        var now = 1000.0
    }

    func testLineFormatRateAndETA() {
        let clock = FakeClock()
        var lines: [String] = []
        let progress = ProgressReporter(total: 80, clock: { clock.now }, output: { lines.append($0) })
        clock.now += 225  // 12 samples in 225 s = 3.2/min; 68 left → 21.25 min
        progress.advance(by: 12, context: ["niah_single_1", ProgressReporter.label(method: "snapkv", budget: .tokens(256))])
        XCTAssertEqual(lines, ["[12/80] 15% · 3.2 samples/min · ETA 21m · niah_single_1 · snapkv@256"])
    }

    func testThrottleKeepsTheLastLine() {
        let clock = FakeClock()
        var lines: [String] = []
        let progress = ProgressReporter(total: 4, clock: { clock.now }, output: { lines.append($0) })
        clock.now += 1; progress.advance(context: ["a"])     // printed: first line
        clock.now += 1; progress.advance(context: ["b"])     // 1 s after: suppressed
        clock.now += 0.5; progress.advance(context: ["c"])   // 1.5 s after: suppressed
        clock.now += 0.1; progress.advance(context: ["d"])   // last: always printed
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("[1/4] 25% · 60 samples/min · ETA 3s · a"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("[4/4] 100% · "), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("ETA 0s · d"), lines[1])

        clock.now += 2.0
        let later = ProgressReporter(total: 10, clock: { clock.now }, output: { lines.append($0) })
        clock.now += 1; later.advance(context: [])
        clock.now += 2; later.advance(context: [])  // 2 s after the last printed line
        XCTAssertEqual(lines.count, 4)
    }

    func testResumedRowsDoNotCountTowardsTheRate() {
        let clock = FakeClock()
        var lines: [String] = []
        let progress = ProgressReporter(total: 100, alreadyDone: 50, unit: "rows", clock: { clock.now }, output: { lines.append($0) })
        XCTAssertEqual(progress.line(now: clock.now, context: ["x"]), "[50/100] 50% · – rows/min · ETA – · x")
        clock.now += 600  // 5 rows in 10 min = 0.5/min; 45 left → 90 min
        progress.advance(by: 5, context: [])
        XCTAssertEqual(lines, ["[55/100] 55% · 0.5 rows/min · ETA 1h30m"])
    }

    /// Calibration stages: every unit printed, the elapsed time shown, and layers an earlier run
    /// saved (`skip`) count as done but not towards the rate.
    func testCalibrationStageShowsElapsedAndSkipsReusedLayers() {
        let clock = FakeClock()
        var lines: [String] = []
        let progress = ProgressReporter(total: 90, unit: "layers", interval: 0, showsElapsed: true, clock: { clock.now },
                                        output: { lines.append($0) })
        progress.skip(by: 30)
        XCTAssertTrue(lines.isEmpty)
        XCTAssertEqual(progress.line(now: clock.now, context: []), "[30/90] 33% · – layers/min · elapsed 0s · ETA –")
        clock.now += 20; progress.advance(context: ["k-means a2ats-c512-wrope2048-qa layer 1/30"])
        clock.now += 10; progress.advance(context: ["k"])  // 2 layers in 30 s = 4/min; 58 left → 14.5 min
        XCTAssertEqual(lines, ["[31/90] 34% · 3.0 layers/min · elapsed 20s · ETA 20m · k-means a2ats-c512-wrope2048-qa layer 1/30",
                               "[32/90] 35% · 4.0 layers/min · elapsed 30s · ETA 15m · k"])
    }

    func testFormatting() {
        XCTAssertEqual(ProgressReporter.formatDuration(44.6), "45s")
        XCTAssertEqual(ProgressReporter.formatDuration(90), "2m")
        XCTAssertEqual(ProgressReporter.formatDuration(3 * 3600 + 5 * 60), "3h05m")
        XCTAssertEqual(ProgressReporter.formatDuration(50 * 3600), "2d02h")
        XCTAssertEqual(ProgressReporter.formatDuration(.infinity), "–")
        XCTAssertEqual(ProgressReporter.formatRate(123.4), "123")
        XCTAssertEqual(ProgressReporter.formatRate(3.21), "3.2")
        XCTAssertEqual(ProgressReporter.formatRate(0.012), "0.012")
        XCTAssertEqual(ProgressReporter.label(method: "full", budget: nil), "full")
        XCTAssertEqual(ProgressReporter.label(method: "a2ats", budget: .fraction(0.03)), "a2ats@0.03")
    }
}
