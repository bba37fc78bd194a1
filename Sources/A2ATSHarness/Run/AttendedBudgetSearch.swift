import A2ATSMethods
import A2ATSModel

/// Equal workload for methods whose budgets mean different things (issue 14): a budget B buys a
/// different number of read tokens in each method (per query head or per KV head, sinks and window
/// inside or on top, dense layers, whole pages or clusters), so comparing methods at one B is not
/// comparing them at one cost. For a target attended fraction f, this finds per sample the budget
/// at which the method's *measured* `attended_tokens ÷ prompt_tokens` lands within ±10% of f.
///
/// The search measures whole decodes of the row (forks of the same prefill, so what is measured
/// is the row itself), starting at B = f·n. Measured attended tokens grow with B and are close to
/// affine in it (a fixed part — sinks, window, dense layers — plus a slope between 1 and the GQA
/// group), so each next budget is the secant step through the last two measurements, kept inside
/// the bracket found so far: an affine curve is hit on the third decode. It depends on nothing but
/// the sample, so resumed and sharded runs settle on the same budgets. The row kept is the decode
/// closest to the target; a target the method cannot reach (Quest's dense layers alone read more
/// than 1%; sinks and window above it; a threshold rule that stops adding tokens) keeps the
/// closest budget, and the report shows the fraction it measured.
struct AttendedBudgetSearch {
    /// Relative tolerance the row must meet.
    static let tolerance = 0.10
    /// Decodes tried per row at most.
    static let maxTries = 6

    /// One measured budget.
    struct Trial<Payload> {
        let budget: Int
        /// Attended tokens measured at this budget (nil when the decode ran no step: nothing to measure).
        let attended: Double?
        let payload: Payload
    }

    /// Finds the budget in `1...maxBudget` whose measured attended tokens come within `tolerance`
    /// (relative) of `target`, measuring at most `maxTries` budgets starting at `start`.
    /// `measure(B)` must grow with B. Returns every trial; the best is `closest(_:target:)`.
    static func search<Payload>(target: Double, start: Int, maxBudget: Int, tolerance: Double, maxTries: Int,
                                measure: (Int) throws -> Trial<Payload>) rethrows -> [Trial<Payload>] {
        var state = State<Payload>(target: target, start: start, maxBudget: maxBudget, tolerance: tolerance, maxTries: maxTries)
        while let budget = state.next { state.record(try measure(budget)) }
        return state.trials
    }

    /// One search as a state machine, so that the searches of many rows can step together (each
    /// round decodes every search's `next` budget as forks of one batch): `next` is the budget to
    /// measure, nil once the search has settled; `record` takes its measurement.
    struct State<Payload> {
        let target: Double
        let tolerance: Double
        let maxTries: Int
        private(set) var trials: [Trial<Payload>] = []
        private(set) var next: Int?
        private var points: [(budget: Int, attended: Double)] = []
        private var low = 1, high: Int    // the target lies at a budget in low...high

        init(target: Double, start: Int, maxBudget: Int, tolerance: Double, maxTries: Int) {
            self.target = target
            self.tolerance = tolerance
            self.maxTries = maxTries
            high = maxBudget
            next = maxTries > 0 ? min(max(1, start), maxBudget) : nil
        }

        mutating func record(_ trial: Trial<Payload>) {
            trials.append(trial)
            next = nil
            guard trials.count < maxTries, let attended = trial.attended else { return }
            if abs(attended - target) <= tolerance * target { return }
            let budget = trial.budget
            if attended < target { low = max(low, budget + 1) } else { high = min(high, budget - 1) }
            guard low <= high else { return }   // neighbouring budgets straddle the target, or it is out of reach
            points.append((budget, attended))
            var guess: Double
            if points.count >= 2, case let (a, b) = (points[points.count - 2], points[points.count - 1]),
               a.budget != b.budget, (b.attended - a.attended) / Double(b.budget - a.budget) > 0 {
                let slope = (b.attended - a.attended) / Double(b.budget - a.budget)
                guess = Double(b.budget) + (target - b.attended) / slope
            } else {
                guess = Double(budget) * target / max(attended, 1e-9)   // proportional, for the second decode
            }
            if !guess.isFinite { guess = Double(low + high) / 2 }
            let candidate = min(high, max(low, Int(guess.rounded())))
            if !trials.contains(where: { $0.budget == candidate }) { next = candidate }
        }
    }

    /// The trial whose measured attended tokens are nearest `target` (the first measured one on a tie).
    static func closest<Payload>(_ trials: [Trial<Payload>], target: Double) -> Trial<Payload> {
        trials.min { abs(($0.attended ?? .infinity) - target) < abs(($1.attended ?? .infinity) - target) } ?? trials[0]
    }
}
