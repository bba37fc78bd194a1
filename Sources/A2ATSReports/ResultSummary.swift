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

    public func cell(_ method: String, _ budget: ResultRecord.Budget?) -> CellSummary? {
        cells[Key(method: method, budget: budget)]
    }

    init(task: String, rows: [ResultRecord]) {
        self.task = task
        methods = orderedMethods(rows)
        budgets = orderedBudgets(rows)
        let cells = groupCells(rows)
        self.cells = cells
        reference = methods.first(where: isFullAttention).flatMap { cells[Key(method: $0, budget: nil)] }

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

    /// Mean over the tasks that have the cell of (score, Δ vs full where full exists, tasks).
    public func average(_ method: String, _ budget: ResultRecord.Budget?) -> (score: Double, delta: Double?, tasks: Int)? {
        var scores: [Double] = []
        var deltas: [Double] = []
        for task in tasks {
            guard let cell = task.cell(method, budget) else { continue }
            scores.append(cell.score)
            if let reference = task.reference { deltas.append(cell.score - reference.score) }
        }
        guard !scores.isEmpty else { return nil }
        let delta = deltas.count == scores.count ? deltas.reduce(0, +) / Double(deltas.count) : nil
        return (scores.reduce(0, +) / Double(scores.count), delta, scores.count)
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
