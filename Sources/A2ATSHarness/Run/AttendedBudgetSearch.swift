import A2ATSMethods
import A2ATSModel

/// Equal workload for methods whose budgets mean different things (issue 14): a budget B buys a
/// different number of read tokens in each method (per query head or per KV head, sinks and window
/// inside or on top, dense layers, whole pages or clusters), so comparing methods at one B is not
/// comparing them at one cost. For a target attended fraction f, this finds per sample the budget
/// at which the method's *measured* `attended_tokens ÷ prompt_tokens` lands within ±10% of f.
///
/// Measured attended tokens grow with B for every method here, so the search brackets B and
/// interpolates. It runs in two phases on forks of the same prefill: short probes (the first
/// `probeTokens` tokens, accepted within ±5%, a margin for the drift of a longer decode), then
/// full decodes until the row itself lands within ±10% (at most `fullTries`). The row kept is the
/// full decode closest to the target; a target the method cannot reach (Quest's dense layers
/// alone read more than 1%; a threshold rule that stops adding tokens) keeps the closest budget,
/// and the report shows the fraction it measured.
struct AttendedBudgetSearch {
    /// Relative tolerance the row must meet.
    static let tolerance = 0.10
    static let probeTolerance = 0.05
    static let probeTokens = 16
    static let maxProbes = 10
    static let fullTries = 3

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
        var trials: [Trial<Payload>] = []
        var below: (budget: Int, attended: Double)?   // largest budget measured under the target
        var above: (budget: Int, attended: Double)?   // smallest budget measured over it
        var budget = min(max(1, start), maxBudget)
        while trials.count < maxTries {
            let trial = try measure(budget)
            trials.append(trial)
            guard let attended = trial.attended else { break }
            if abs(attended - target) <= tolerance * target { break }
            if attended < target {
                if below == nil || budget > below!.budget { below = (budget, attended) }
            } else if above == nil || budget < above!.budget {
                above = (budget, attended)
            }
            let next: Int
            switch (below, above) {
            case let (low?, high?):
                guard high.budget - low.budget > 1 else { return trials }
                let slope = (high.attended - low.attended) / Double(high.budget - low.budget)
                let guess = slope > 0 ? Double(low.budget) + (target - low.attended) / slope : Double(low.budget + high.budget) / 2
                next = min(high.budget - 1, max(low.budget + 1, Int(guess.rounded())))
            case let (low?, nil):
                guard low.budget < maxBudget else { return trials }   // the whole cache reads less than the target
                next = min(maxBudget, max(low.budget + 1, Int((Double(low.budget) * target / max(low.attended, 1e-9)).rounded())))
            case let (nil, high?):
                guard high.budget > 1 else { return trials }          // one token already reads more
                next = max(1, min(high.budget - 1, Int((Double(high.budget) * target / high.attended).rounded())))
            case (nil, nil):
                return trials
            }
            if trials.contains(where: { $0.budget == next }) { break }
            budget = next
        }
        return trials
    }

    /// The trial whose measured attended tokens are nearest `target` (the first measured one on a tie).
    static func closest<Payload>(_ trials: [Trial<Payload>], target: Double) -> Trial<Payload> {
        trials.min { abs(($0.attended ?? .infinity) - target) < abs(($1.attended ?? .infinity) - target) } ?? trials[0]
    }

    /// The row's decode for `run` at target fraction `fraction` of a prefilled sample, and the
    /// budget it used: probes, then full decodes (see the type's comment).
    static func generate(_ run: MethodRun, fraction: Double, prefill: PrefillResult, model: LlamaModel,
                         resources: MethodResources?, maxNewTokens: Int, stopTokens: Set<Int>) throws
        -> (generation: Generation, budgetTokens: Int) {
        let promptTokens = prefill.tokens.count
        let target = fraction * Double(promptTokens)
        func decode(_ budget: Int, tokens: Int) throws -> Generation {
            let method = try run.method.instantiate(budgetTokens: budget, model: model.config, resources: resources)
            return try model.generate(from: prefill, method: method, maxNewTokens: tokens, stopTokens: stopTokens)
        }
        // Per-query-head selectors read up to G·B; starting at the target itself errs on the cheap side.
        let start = max(1, Int(target.rounded()))
        let probes = try search(target: target, start: start, maxBudget: promptTokens, tolerance: probeTolerance,
                                maxTries: maxProbes) { budget -> Trial<Void> in
            let generation = try decode(budget, tokens: min(probeTokens, maxNewTokens))
            return Trial(budget: budget, attended: generation.decodeSteps > 0 ? generation.attendedTokens : nil, payload: ())
        }
        let probed = closest(probes, target: target).budget
        let full = try search(target: target, start: probed, maxBudget: promptTokens, tolerance: tolerance,
                              maxTries: fullTries) { budget -> Trial<Generation> in
            let generation = try decode(budget, tokens: maxNewTokens)
            return Trial(budget: budget, attended: generation.decodeSteps > 0 ? generation.attendedTokens : nil, payload: generation)
        }
        let best = closest(full, target: target)
        return (best.payload, best.budget)
    }
}
