import A2ATSReports
import Foundation

/// One progress line per finished unit of work, on stderr:
/// `[12/80] 15% · 3.2 samples/min · ETA 21m · niah_single_1 · snapkv@256`.
/// The rate counts only units done by this process (rows skipped on resume are excluded)
/// over the time since the reporter started; lines are throttled to one per `interval`
/// except the last, so a fast sweep does not flood a log. Clock and output are injected
/// so tests can drive it.
public final class ProgressReporter {
    public let total: Int
    public let unit: String
    private let interval: Double
    private let clock: () -> Double
    private let output: (String) -> Void
    private let startTime: Double
    /// Whether lines say the time spent so far (calibration stages: `elapsed 2m`).
    private let showsElapsed: Bool
    private var alreadyDone: Int
    private var done: Int
    private var lastPrinted: Double?

    /// - Parameters:
    ///   - total: units in the whole run, including those already done.
    ///   - alreadyDone: units found finished on resume.
    ///   - clock: seconds on any monotonic scale.
    ///   - showsElapsed: put `elapsed …` before the ETA.
    public init(total: Int, alreadyDone: Int = 0, unit: String = "samples", interval: Double = 2, showsElapsed: Bool = false,
                clock: @escaping () -> Double = ProgressReporter.monotonicSeconds,
                output: @escaping (String) -> Void = ProgressReporter.standardError) {
        self.total = total
        self.unit = unit
        self.interval = interval
        self.clock = clock
        self.output = output
        self.alreadyDone = alreadyDone
        self.done = alreadyDone
        self.showsElapsed = showsElapsed
        startTime = clock()
    }

    /// Records that one more unit finished; `context` names it (task, `method@budget`).
    public func advance(by units: Int = 1, context: [String]) {
        done += units
        let now = clock()
        let isLast = done >= total
        if !isLast, let lastPrinted, now - lastPrinted < interval { return }
        lastPrinted = now
        output(line(now: now, context: context))
    }

    /// Records a unit found finished (a calibration layer saved by an earlier run): it counts as
    /// done but not towards the rate, like `alreadyDone`. Prints nothing.
    public func skip(by units: Int = 1) {
        done += units
        alreadyDone += units
    }

    /// The progress line as of `now`.
    public func line(now: Double, context: [String]) -> String {
        let percent = total > 0 ? done * 100 / total : 100
        var parts = ["[\(done)/\(total)] \(percent)%"]
        let elapsed = now - startTime
        let doneHere = done - alreadyDone
        if elapsed > 0 && doneHere > 0 {
            let perMinute = Double(doneHere) / elapsed * 60
            parts.append("\(Self.formatRate(perMinute)) \(unit)/min")
            if showsElapsed { parts.append("elapsed " + Self.formatDuration(elapsed)) }
            parts.append("ETA " + Self.formatDuration(Double(max(total - done, 0)) / perMinute * 60))
        } else {
            parts.append("– \(unit)/min")
            if showsElapsed { parts.append("elapsed " + Self.formatDuration(elapsed)) }
            parts.append("ETA –")
        }
        return (parts + context).joined(separator: " · ")
    }

    /// The label of one method × budget, as in `snapkv@256`; `full` when there is no budget.
    public static func label(method: String, budget: Budget?) -> String {
        budget.map { "\(method)@\($0)" } ?? method
    }

    static func formatRate(_ perMinute: Double) -> String {
        perMinute >= 10 ? String(format: "%.0f", perMinute)
            : perMinute >= 0.1 ? String(format: "%.1f", perMinute) : String(format: "%.2g", perMinute)
    }

    /// `45s`, `21m`, `1h05m`, `2d03h`: coarse on purpose, an ETA is an estimate.
    static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\((total + 30) / 60)m" }
        let minutes = (total + 30) / 60
        if minutes < 24 * 60 { return String(format: "%dh%02dm", minutes / 60, minutes % 60) }
        let hours = (total + 1800) / 3600
        return String(format: "%dd%02dh", hours / 24, hours % 24)
    }

    public static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    public static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
