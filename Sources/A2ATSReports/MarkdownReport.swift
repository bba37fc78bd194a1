import A2ATSScoring
import Foundation

/// The markdown report: per task a methods × budgets table of "score (Δ vs full)", the
/// plot, the accounting table (attended fraction, KV bytes, time) and length buckets;
/// first an average over tasks. Text only depends on the summary, so output is stable.
enum MarkdownReport {
    static func render(_ summary: ResultSummary, title: String, manifestNotes: [String],
                       plotFiles: [String: String], kvPlotFiles: [String: String] = [:]) -> String {
        var out = "# \(title)\n\n"
        for note in manifestNotes { out += "- \(note)\n" }
        if !manifestNotes.isEmpty { out += "\n" }
        out += """
        Scores are the benchmark's metric × 100, averaged over samples; a cell reads \
        "score [95% interval] n=samples (Δ vs full attention on the same samples)". Intervals are \
        Wilson intervals where every sample scored 0 or 100 (pass/fail), else a percentile bootstrap \
        over samples (2,000 resamples; RULER's multi-value tasks give partial scores such as 50). \
        Δ is the mean paired difference; `*` marks p < 0.05 in an exact two-sided sign test over the \
        samples where the two differ (McNemar's exact test on pass/fail). Compare methods on the \
        attended fraction (distinct cached tokens read per step ÷ prompt tokens), not on the budget \
        alone. Prefill time is shared between the rows forked from one prefill: \
        `prefill_seconds` repeats on each of them and `seconds` is decode time only.


        """
        out += buildsSection(summary)
        if summary.tasks.count > 1 {
            out += "## Average over tasks\n\nMean of the task scores; the interval resamples each task's samples within the task, "
                + "n counts samples over all tasks, and Δ is the mean of the tasks' Δ vs full attention.\n\n"
            out += averageTable(summary)
        }
        for task in summary.tasks {
            out += "## \(escape(task.task))\n\n"
            let samples = Set(task.cells.values.map(\.n)).sorted().map(String.init).joined(separator: "/")
            out += "Samples per cell: \(samples).\n\n"
            if let note = (try? DatasetScorer.named(task.task))?.metric.approximation {
                out += "Metric note: \(note).\n\n"
            }
            out += scoreTable(task)
            out += ceilingNotes(task)
            out += precisionNotes(task)
            if let plot = plotFiles[task.task] {
                out += "![\(escape(task.task)): score against budget](\(plot))\n\n"
            }
            out += tradeOffTable(task)
            out += equalWorkloadTable(task)
            if let plot = kvPlotFiles[task.task] {
                out += "![\(escape(task.task)): score against KV bytes](\(plot))\n\n"
            }
            out += accountingTable(task)
            if !task.lengthGroups.isEmpty {
                let generated = task.lengthGroups.first?.label.hasPrefix("length") ?? false
                out += generated ? "### By target length\n\n" : "### By length (LongBench-E buckets of prompt tokens)\n\n"
                out += lengthTable(task)
            }
        }
        return out
    }

    static func scoreTable(_ task: TaskSummary) -> String {
        var lines = [row(["method"] + task.budgets.map(budgetLabel)), row(Array(repeating: "---", count: task.budgets.count + 1))]
        for method in task.methods {
            let cells = task.budgets.map { budget -> String in
                guard let cell = task.cell(method, budget) else { return "—" }
                return intervalCell(cell, comparison: task.comparison(method, budget))
            }
            lines.append(row([escape(method)] + cells))
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    static func averageTable(_ summary: ResultSummary) -> String {
        var lines = [row(["method"] + summary.budgets.map(budgetLabel)),
                     row(Array(repeating: "---", count: summary.budgets.count + 1))]
        let taskCount = summary.tasks.count
        for method in summary.methods {
            let cells = summary.budgets.map { budget -> String in
                guard let average = summary.average(method, budget) else { return "—" }
                let isReference = isFullAttention(method) && budget == nil
                var text = "\(fixed(average.score, 1)) [\(fixed(average.low, 1))–\(fixed(average.high, 1))] n=\(average.samples)"
                if !isReference, let delta = average.delta { text += " (\(signedDelta(delta)))" }
                if average.tasks < taskCount { text += " [\(average.tasks) of \(taskCount) tasks]" }
                return text
            }
            lines.append(row([escape(method)] + cells))
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    static func accountingTable(_ task: TaskSummary) -> String {
        var lines = [
            row(["method", "budget", "n", "score", "budget tokens", "attended tokens", "attended fraction",
                 "KV bytes", "KV fraction", "side bytes", "decode s", "selection ms/step", "prefill s"]),
            row(Array(repeating: "---", count: 13)),
        ]
        for method in task.methods {
            for budget in task.budgets {
                guard let cell = task.cell(method, budget) else { continue }
                lines.append(row([
                    escape(method), budgetLabel(budget), String(cell.n), fixed(cell.score, 1),
                    cell.budgetTokens.map { fixed($0, 0) } ?? "—", fixed(cell.attendedTokens, 1),
                    percent(cell.attendedFraction), bytes(cell.kvBytes), task.kvFraction(method, budget).map(percent) ?? "—",
                    bytes(cell.sideBytes),
                    fixed(cell.seconds, 2), cell.selectionMillisecondsPerStep.map { fixed($0, 2) } ?? "—",
                    fixed(cell.prefillSeconds, 2),
                ]))
            }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    static func lengthTable(_ task: TaskSummary) -> String {
        let labels = task.lengthGroups.map(\.label)
        var lines = [row(["method", "budget"] + labels), row(Array(repeating: "---", count: labels.count + 2))]
        for method in task.methods {
            for budget in task.budgets where task.cell(method, budget) != nil {
                let key = TaskSummary.Key(method: method, budget: budget)
                let cells = task.lengthGroups.map { group -> String in
                    guard let cell = group.cells[key] else { return "—" }
                    return "\(fixed(cell.score, 1)) (n=\(cell.n))"
                }
                lines.append(row([escape(method), budgetLabel(budget)] + cells))
            }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// "85.0 [72.2–93.0] n=20 (−5.0*)".
    static func intervalCell(_ cell: CellSummary, comparison: PairedComparison?) -> String {
        var text = "\(fixed(cell.score, 1)) [\(fixed(cell.interval.low, 1))–\(fixed(cell.interval.high, 1))] n=\(cell.n)"
        if let comparison {
            text += " (" + signedDelta(comparison.delta) + (comparison.isSignificant ? "*" : "") + ")"
        }
        return text
    }

    /// Which oracle row is the ceiling of which retrieval methods (same sinks and window).
    static func ceilingNotes(_ task: TaskSummary) -> String {
        let notes = task.matchedCeilings.map { entry in
            "Ceiling: `\(entry.ceiling)` is exact top-k reading the same sinks and window as " +
                entry.methods.map { "`\($0)`" }.joined(separator: ", ") + "."
        }
        return notes.isEmpty ? "" : notes.joined(separator: "\n") + "\n\n"
    }

    /// Cells whose interval is wider than ±10 points, with the samples that would narrow it.
    static func precisionNotes(_ task: TaskSummary) -> String {
        var wide: [String] = []
        for method in task.methods {
            for budget in task.budgets {
                guard let cell = task.cell(method, budget), let needed = cell.interval.samplesForTenPoints else { continue }
                wide.append("\(escape(method))@\(budgetLabel(budget)) (n=\(cell.n) → ≈\(needed))")
            }
        }
        guard !wide.isEmpty else { return "" }
        return "Intervals wider than ±10 points, and the samples that would bring them to ±10 at the same score: "
            + wide.joined(separator: ", ") + ".\n\n"
    }

    /// Which rows came from which build, when a directory holds more than one.
    static func buildsSection(_ summary: ResultSummary) -> String {
        var rows: [String: Int] = [:]
        var methods: [String: Set<String>] = [:]
        for task in summary.tasks {
            for cell in task.cells.values {
                for (build, count) in cell.builds {
                    rows[build, default: 0] += count
                    methods[build, default: []].insert(cell.method)
                }
            }
        }
        guard rows.count > 1 else { return "" }
        var out = "**These rows come from \(rows.count) builds** (a grid should come from one; compare across builds with care):\n\n"
        out += row(["build", "rows", "methods"]) + "\n" + row(["---", "---", "---"]) + "\n"
        for build in rows.keys.sorted() {
            out += row([build.isEmpty ? "(not recorded)" : build, String(rows[build]!),
                        methods[build]!.sorted().map(escape).joined(separator: ", ")]) + "\n"
        }
        return out + "\n"
    }

    // MARK: - Formatting

    /// "−5.0", "+2.5", "±0.0": the sign is always shown, with U+2212.
    static func signedDelta(_ delta: Double) -> String {
        let magnitude = fixed(abs(delta), 1)
        let sign = magnitude == "0.0" ? "±" : (delta < 0 ? "\u{2212}" : "+")
        return sign + magnitude
    }

    static func budgetLabel(_ budget: ResultRecord.Budget?) -> String { budget?.description ?? "full" }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        let text = String(format: "%.\(digits)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    static func percent(_ fraction: Double) -> String { fixed(100 * fraction, 1) + "%" }

    /// Bytes in binary units with one decimal ("1.5 MiB"); exact below 1 KiB.
    static func bytes(_ value: Double) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard value >= 1024 else { return fixed(value, 0) + " B" }
        var scaled = value / 1024
        var unit = 0
        while scaled >= 1024 && unit < units.count - 1 { scaled /= 1024; unit += 1 }
        return fixed(scaled, 1) + " " + units[unit]
    }

    static func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }

    private static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
}
