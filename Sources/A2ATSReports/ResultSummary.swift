import A2ATSSupport
import Foundation

/// One table cell: the rows of one task × method × budget, averaged.
public struct CellSummary: Equatable, Sendable {
    public let method: String
    public let budget: ResultRecord.Budget?
    public let n: Int
    /// Mean row score, 0–100.
    public let score: Double
    /// Mean resolved budget in tokens (fraction budgets resolve per sample); nil if unknown.
    public let budgetTokens: Double?
    /// Mean over rows of attended_tokens / prompt_tokens.
    public let attendedFraction: Double
    public let attendedTokens: Double
    public let kvBytes: Double
    public let sideBytes: Double
    public let seconds: Double
    public let prefillSeconds: Double
    /// 95% interval of `score`, 0–100.
    public let interval: ScoreInterval
    /// Row scores by sample (length and id), for paired tests against another cell.
    public let scoresBySample: [String: Double]
    /// Row `kv_bytes` by sample, for the KV-bytes fraction against full attention's rows.
    public let kvBytesBySample: [String: Double]
    /// Rows per build id ("" = not recorded).
    public let builds: [String: Int]
    /// Mean over rows of `selection_seconds ÷ decode_steps`, in ms: the method's own cost of choosing
    /// tokens per decode step (all layers), apart from attention; nil where rows do not record it.
    public let selectionMillisecondsPerStep: Double?
    /// Mean over rows of `side_bytes ÷ prompt_tokens`: side structures per cached prompt token (all layers and heads).
    public let sideBytesPerToken: Double
    /// For an attended-fraction target: rows whose measured fraction lies within ±10% of it.
    public let rowsOnTarget: Int?

    init(method: String, budget: ResultRecord.Budget?, rows: [ResultRecord]) {
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        self.method = method
        self.budget = budget
        n = rows.count
        score = mean(rows.map(\.score))
        let tokens = rows.compactMap(\.budgetTokens).map(Double.init)
        budgetTokens = tokens.isEmpty ? nil : mean(tokens)
        attendedFraction = mean(rows.map { $0.promptTokens > 0 ? $0.attendedTokens / Double($0.promptTokens) : 0 })
        attendedTokens = mean(rows.map(\.attendedTokens))
        kvBytes = mean(rows.map { Double($0.kvBytes) })
        sideBytes = mean(rows.map { Double($0.sideBytes) })
        seconds = mean(rows.map(\.seconds))
        prefillSeconds = mean(rows.map(\.prefillSeconds))
        interval = ScoreInterval(scores: rows.map(\.score))
        scoresBySample = Dictionary(rows.map { ("\($0.length.map(String.init) ?? "-")/\($0.id)", $0.score) }, uniquingKeysWith: { a, _ in a })
        kvBytesBySample = Dictionary(rows.map { ("\($0.length.map(String.init) ?? "-")/\($0.id)", Double($0.kvBytes)) },
                                     uniquingKeysWith: { a, _ in a })
        builds = rows.reduce(into: [:]) { $0[$1.build ?? "", default: 0] += 1 }
        let perStep = rows.compactMap { row in
            row.selectionSeconds.flatMap { seconds in row.decodeSteps.flatMap { $0 > 0 ? 1000 * seconds / Double($0) : nil } }
        }
        selectionMillisecondsPerStep = perStep.isEmpty ? nil : mean(perStep)
        sideBytesPerToken = mean(rows.map { $0.promptTokens > 0 ? Double($0.sideBytes) / Double($0.promptTokens) : 0 })
        if case .attended(let target)? = budget {
            rowsOnTarget = rows.filter { row in
                row.promptTokens > 0 && abs(row.attendedTokens / Double(row.promptTokens) - target) <= 0.10 * target
            }.count
        } else {
            rowsOnTarget = nil
        }
    }
}

/// A 95% interval of a mean score. RULER's per-sample scores are pass rates: a sample scores 0 or
/// 100 when it has one reference (or all or none were found), and then the cell is a binomial
/// proportion with a Wilson interval. Multi-reference samples with partial scores (string_match_all
/// finding some of several values) and continuous metrics (F1, rouge-L) get a percentile bootstrap
/// over samples instead.
public struct ScoreInterval: Equatable, Sendable {
    public enum Kind: String, Sendable { case wilson, bootstrap }
    public let low: Double
    public let high: Double
    public let kind: Kind
    /// Samples that would bring the half-width to ±10 points at the same mean (nil when it is already there).
    public let samplesForTenPoints: Int?

    init(scores: [Double]) {
        if scores.allSatisfy({ $0 == 0 || $0 == 100 }) {
            let interval = Statistics.wilson(successes: scores.filter { $0 == 100 }.count, n: scores.count)
            (low, high, kind) = (100 * interval.low, 100 * interval.high, .wilson)
        } else {
            let interval = Statistics.bootstrapMean(scores)
            (low, high, kind) = (interval.low, interval.high, .bootstrap)
        }
        samplesForTenPoints = (high - low) / 2 > 10 ? Statistics.samplesForHalfWidth(scores) : nil
    }
}

/// A method's cell against full attention on the samples both have: mean difference and the exact
/// sign test (McNemar on 0/1 scores) over the pairs that differ.
public struct PairedComparison: Equatable, Sendable {
    public let pairs: Int
    /// Mean of (method − reference) over the pairs, points.
    public let delta: Double
    public let better: Int
    public let worse: Int
    public let pValue: Double
    public var isSignificant: Bool { pValue < 0.05 }

    init?(_ cell: CellSummary, against reference: CellSummary) {
        var differences: [Double] = []
        // Sorted: a dictionary's order changes from process to process, and so would the sum's last bits.
        for (sample, score) in cell.scoresBySample.sorted(by: { $0.key < $1.key }) {
            if let base = reference.scoresBySample[sample] { differences.append(score - base) }
        }
        guard !differences.isEmpty else { return nil }
        pairs = differences.count
        delta = differences.reduce(0, +) / Double(differences.count)
        better = differences.filter { $0 > 0 }.count
        worse = differences.filter { $0 < 0 }.count
        pValue = Statistics.signTest(positive: better, negative: worse)
    }
}

/// Rows of one task grouped for the report: methods (full attention first, then in order
/// of first appearance) × budgets (no budget first, then fractions, then token counts).
public struct TaskSummary: Sendable {
    public struct Key: Hashable, Sendable {
        public let method: String
        public let budget: ResultRecord.Budget?
    }

    public let task: String
    public let methods: [String]
    public let budgets: [ResultRecord.Budget?]
    public let cells: [Key: CellSummary]
    /// The full-attention reference (the first full-attention method without a budget).
    public let reference: CellSummary?
    /// Length groups (generated lengths, or LongBench-E buckets of prompt tokens) with the
    /// cells of each; empty when the task has only one group.
    public let lengthGroups: [(label: String, cells: [Key: CellSummary])]
    /// Each method's `params` (from its first row), for naming the ceiling a retrieval method is held to.
    public let methodParameters: [String: JSONObject]

    public func cell(_ method: String, _ budget: ResultRecord.Budget?) -> CellSummary? {
        cells[Key(method: method, budget: budget)]
    }

    /// Mean over the cell's samples of its `kv_bytes` ÷ full attention's on the same sample (both
    /// at the end of decoding): the measured KV-memory fraction; nil without a full-attention row.
    public func kvFraction(_ method: String, _ budget: ResultRecord.Budget?) -> Double? {
        guard let reference, let cell = cell(method, budget) else { return nil }
        let ratios = cell.kvBytesBySample.sorted(by: { $0.key < $1.key }).compactMap { key, bytes in reference.kvBytesBySample[key].flatMap { $0 > 0 ? bytes / $0 : nil } }
        return ratios.isEmpty ? nil : ratios.reduce(0, +) / Double(ratios.count)
    }

    /// KV-memory budgets (`--kv-budgets`) the task's rows were run at, ascending.
    public var kvBudgets: [ResultRecord.Budget] { budgets.compactMap { $0 }.filter(\.isKVMemory) }
    /// Attended-fraction targets (`--attended-fractions`) the task's rows were run at, ascending.
    public var attendedTargets: [ResultRecord.Budget] { budgets.compactMap { $0 }.filter(\.isAttendedTarget) }

    /// The cell against full attention on the same samples; nil for the reference itself.
    public func comparison(_ method: String, _ budget: ResultRecord.Budget?) -> PairedComparison? {
        guard let reference, let cell = cell(method, budget),
              !(reference.method == method && reference.budget == budget) else { return nil }
        return PairedComparison(cell, against: reference)
    }

    init(task: String, rows: [ResultRecord]) {
        self.task = task
        methods = orderedMethods(rows)
        budgets = orderedBudgets(rows)
        let cells = groupCells(rows)
        self.cells = cells
        reference = methods.first(where: isFullAttention).flatMap { cells[Key(method: $0, budget: nil)] }
        var parameters: [String: JSONObject] = [:]
        for row in rows where parameters[row.method] == nil { parameters[row.method] = row.params }
        methodParameters = parameters

        let generated = rows.contains { $0.length != nil }
        var groups: [(order: Int, label: String, rows: [ResultRecord])] = []
        for row in rows {
            let (order, label) = generated
                ? (row.length ?? Int.max, row.length.map { "length \($0)" } ?? "length ?")
                : longBenchEBucket(promptTokens: row.promptTokens)
            if let index = groups.firstIndex(where: { $0.order == order }) {
                groups[index].rows.append(row)
            } else {
                groups.append((order, label, [row]))
            }
        }
        groups.sort { $0.order < $1.order }
        lengthGroups = groups.count > 1 ? groups.map { ($0.label, groupCells($0.rows)) } : []
    }
}

/// Every task's summary plus the cross-task average.
public struct ResultSummary: Sendable {
    public let tasks: [TaskSummary]
    /// Methods and budgets over all tasks, in report order.
    public let methods: [String]
    public let budgets: [ResultRecord.Budget?]

    public init(records: [ResultRecord]) {
        var taskOrder: [String] = []
        var byTask: [String: [ResultRecord]] = [:]
        for record in records {
            if byTask[record.task] == nil { taskOrder.append(record.task) }
            byTask[record.task, default: []].append(record)
        }
        tasks = taskOrder.map { TaskSummary(task: $0, rows: byTask[$0]!) }
        methods = orderedMethods(records)
        budgets = orderedBudgets(records)
    }

    /// Mean over the tasks that have the cell: score, Δ vs full where full exists, tasks, samples,
    /// and a 95% interval from a bootstrap that resamples each task's samples within the task.
    public func average(_ method: String, _ budget: ResultRecord.Budget?)
        -> (score: Double, delta: Double?, tasks: Int, samples: Int, low: Double, high: Double)? {
        var scores: [Double] = []
        var deltas: [Double] = []
        var groups: [[Double]] = []
        for task in tasks {
            guard let cell = task.cell(method, budget) else { continue }
            scores.append(cell.score)
            groups.append(cell.scoresBySample.keys.sorted().map { cell.scoresBySample[$0]! })
            if let reference = task.reference { deltas.append(cell.score - reference.score) }
        }
        guard !scores.isEmpty else { return nil }
        let delta = deltas.count == scores.count ? deltas.reduce(0, +) / Double(deltas.count) : nil
        let interval = Statistics.stratifiedBootstrapMean(groups)
        return (scores.reduce(0, +) / Double(scores.count), delta, scores.count, groups.reduce(0) { $0 + $1.count },
                interval.low, interval.high)
    }
}

extension TaskSummary {
    /// Oracle rows and the retrieval methods that read the same sinks and window on top of their
    /// budget (the methods whose `params` hold both), so the report can say which ceiling is whose.
    public var matchedCeilings: [(ceiling: String, methods: [String])] {
        func protected(_ method: String) -> String? {
            guard let p = methodParameters[method], let sinks = p["sinks"]?.intValue, let window = p["window"]?.intValue else { return nil }
            return "\(sinks)/\(window)"
        }
        let oracles = methods.filter { $0 == "oracle" || $0.hasPrefix("oracle:") }
        return oracles.compactMap { oracle in
            guard let key = protected(oracle) else { return nil }
            let matched = methods.filter { !oracles.contains($0) && protected($0) == key }
            return matched.isEmpty ? nil : (oracle, matched)
        }
    }
}

/// Full attention is the reference row: the method `full`, with or without parameters.
public func isFullAttention(_ method: String) -> Bool {
    method == "full" || method.hasPrefix("full:")
}

/// LongBench-E's buckets (eval.py `scorer_e`: < 4000, < 8000, else), here on prompt tokens.
func longBenchEBucket(promptTokens: Int) -> (order: Int, label: String) {
    if promptTokens < 4000 { return (0, "0–4k") }
    if promptTokens < 8000 { return (1, "4–8k") }
    return (2, "8k+")
}

private func orderedMethods(_ rows: [ResultRecord]) -> [String] {
    var seen = Set<String>()
    var methods: [String] = []
    for row in rows where seen.insert(row.method).inserted { methods.append(row.method) }
    return methods.filter(isFullAttention) + methods.filter { !isFullAttention($0) }
}

private func orderedBudgets(_ rows: [ResultRecord]) -> [ResultRecord.Budget?] {
    let budgets = Set(rows.map(\.budget))
    let sorted: [ResultRecord.Budget?] = budgets.compactMap { $0 }.sorted()
    return (budgets.contains(nil) ? [nil] : []) + sorted
}

private func groupCells(_ rows: [ResultRecord]) -> [TaskSummary.Key: CellSummary] {
    var grouped: [TaskSummary.Key: [ResultRecord]] = [:]
    for row in rows { grouped[TaskSummary.Key(method: row.method, budget: row.budget), default: []].append(row) }
    return grouped.reduce(into: [:]) { cells, entry in
        cells[entry.key] = CellSummary(method: entry.key.method, budget: entry.key.budget, rows: entry.value)
    }
}
