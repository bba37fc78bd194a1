import A2ATSSupport

import A2ATSReports

/// Parsing and resolving budgets (contract.md, "Budgets and accounting"): what one head may
/// read per decode step, a token count or a fraction of the sample's prompt tokens.
extension Budget {
    /// Parses one item: an integer ≥ 1 is a token count (`1` is one token); a decimal in
    /// (0, 1) is a fraction. Anything else — 0, negatives, `1.5`, `1.0` (a token count or the
    /// whole prompt?), exponents that land ≥ 1, words — is an error rather than a guess.
    public init(parsing item: String) throws {
        let text = item.trimmingWhitespace
        let allowed = Set("0123456789.eE+-")
        guard !text.isEmpty, text.allSatisfy({ allowed.contains($0) }) else {
            throw UsageError("budget '\(item)' is not a number; use a token count (256) or a fraction of the prompt (0.03)")
        }
        if let count = Int(text) {
            guard count >= 1 else { throw UsageError("budget '\(item)' must be at least 1 token (or a fraction in (0, 1))") }
            self = .tokens(count)
            return
        }
        guard let value = Double(text), value.isFinite else {
            throw UsageError("budget '\(item)' is not a number; use a token count (256) or a fraction of the prompt (0.03)")
        }
        guard value > 0 else { throw UsageError("budget '\(item)' must be positive") }
        guard value < 1 else {
            throw UsageError("budget '\(item)': a token count is written as an integer (256), a fraction lies strictly between 0 and 1 (0.03)")
        }
        self = .fraction(value)
    }

    /// Tokens for a prompt of `promptTokens`: a count is returned as asked (methods clamp
    /// to what the cache holds); a fraction is ⌊f·n⌋, the rule A²ATS uses for its top-k,
    /// but at least 1 so that a tiny prompt never gets an empty budget. A KV-memory budget is
    /// resolved the same way for f32 rows; a method with its own store resolves it itself
    /// (`ResolvedMethod.tokenBudget`).
    public func resolve(promptTokens: Int) -> Int {
        switch self {
        case .tokens(let count): return count
        case .fraction(let fraction), .kvMemory(let fraction), .attended(let fraction):
            return max(1, Int((fraction * Double(promptTokens)).rounded(.down)))
        }
    }
}

/// Parses a `--budgets` list such as `64,256,0.03`; a budget listed twice is an error,
/// since its rows would share a resume key.
public func parseBudgetList(_ text: String) throws -> [Budget] {
    var budgets: [Budget] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
        let budget = try Budget(parsing: String(item))
        guard !budgets.contains(budget) else { throw UsageError("budget '\(budget)' is listed twice in '\(text)'") }
        budgets.append(budget)
    }
    return budgets
}

/// Parses a `--kv-budgets` list such as `0.25,0.125` or `1/4,1/8,1/16`: fractions in (0, 1] of
/// the full cache's K/V bytes.
public func parseKVBudgetList(_ text: String) throws -> [Budget] {
    var budgets: [Budget] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingWhitespace }) {
        let parts = item.split(separator: "/", omittingEmptySubsequences: false).map { Double($0) }
        let value: Double?
        switch parts.count {
        case 1: value = parts[0]
        case 2: value = parts[0].flatMap { top in parts[1].flatMap { $0 == 0 ? nil : top / $0 } }
        default: value = nil
        }
        guard let value, value.isFinite, value > 0, value <= 1 else {
            throw UsageError("KV-memory budget '\(item)': expected a fraction of the full cache's bytes in (0, 1], as 0.25 or 1/4")
        }
        let budget = Budget.kvMemory(value)
        guard !budgets.contains(budget) else { throw UsageError("KV-memory budget '\(item)' is listed twice in '\(text)'") }
        budgets.append(budget)
    }
    return budgets
}

/// Parses an `--attended-fractions` list such as `0.01,0.03,0.1`: target attended fractions in
/// (0, 1) of the prompt, at which methods are compared at equal workload.
public func parseAttendedTargetList(_ text: String) throws -> [Budget] {
    var targets: [Budget] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingWhitespace }) {
        guard let value = Double(item), value.isFinite, value > 0, value < 1 else {
            throw UsageError("attended fraction '\(item)': expected a fraction of the prompt's tokens in (0, 1), as 0.03")
        }
        let target = Budget.attended(value)
        guard !targets.contains(target) else { throw UsageError("attended fraction '\(item)' is listed twice in '\(text)'") }
        targets.append(target)
    }
    return targets
}
