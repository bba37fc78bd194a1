import A2ATSSupport
import Foundation

/// Writes a report directory from results rows: the markdown report, one SVG plot per task
/// (linked from the markdown), results.csv and summary.json. Every file is written
/// atomically, and the output depends only on the rows, so a rerun gives identical bytes.
public enum ReportWriter {
    /// Returns the paths written, markdown first. `markdownName` lets `report --out X.md`
    /// choose the markdown's name; the other files keep fixed names beside it.
    @discardableResult
    public static func write(records: [ResultRecord], to directory: String, title: String,
                             manifestNotes: [String] = [], markdownName: String = "report.md") throws -> [String] {
        let summary = ResultSummary(records: records)
        var written: [String] = []
        var plotFiles: [String: String] = [:], kvPlotFiles: [String: String] = [:]
        var plots: [(path: String, text: String)] = []
        var usedNames = Set<String>()
        for task in summary.tasks {
            var name = "plot-" + fileSafe(task.task)
            while usedNames.contains(name) { name += "_" }
            usedNames.insert(name)
            plotFiles[task.task] = name + ".svg"
            plots.append((path(directory, name + ".svg"), ScorePlot.render(task)))
            if !task.kvBudgets.isEmpty {
                kvPlotFiles[task.task] = name + "-kv.svg"
                plots.append((path(directory, name + "-kv.svg"), ScorePlot.render(task, axis: .kvBytes)))
            }
        }
        let markdown = MarkdownReport.render(summary, title: title, manifestNotes: manifestNotes, plotFiles: plotFiles,
                                             kvPlotFiles: kvPlotFiles)
        let outputs = [(path(directory, markdownName), markdown)] + plots
            + [(path(directory, "results.csv"), ResultsCSV.render(records)),
               (path(directory, "summary.json"), summaryJSON(summary, title: title).prettyText)]
        for (file, text) in outputs {
            try AtomicFile.write(text, to: file)
            written.append(file)
        }
        return written
    }

    /// summary.json: per task × method × budget the means a plotting script needs.
    public static func summaryJSON(_ summary: ResultSummary, title: String) -> JSONValue {
        func cellJSON(_ cell: CellSummary, reference: CellSummary?, comparison: PairedComparison?, kvFraction: Double?) -> JSONValue {
            var object = JSONObject()
            object["method"] = .string(cell.method)
            Budget.write(cell.budget, into: &object)
            object["n"] = .int(cell.n)
            object["score"] = .double(cell.score)
            object["ci_low"] = .double(cell.interval.low)
            object["ci_high"] = .double(cell.interval.high)
            object["interval"] = .string(cell.interval.kind.rawValue)
            object["delta_vs_full"] = reference.map { .double(cell.score - $0.score) } ?? .null
            object["paired_delta_vs_full"] = comparison.map { .double($0.delta) } ?? .null
            object["paired_samples"] = comparison.map { .int($0.pairs) } ?? .null
            object["sign_test_p"] = comparison.map { .double($0.pValue) } ?? .null
            object["budget_tokens"] = cell.budgetTokens.map(JSONValue.double) ?? .null
            object["attended_tokens"] = .double(cell.attendedTokens)
            object["attended_fraction"] = .double(cell.attendedFraction)
            object["kv_bytes"] = .double(cell.kvBytes)
            object["kv_fraction"] = kvFraction.map(JSONValue.double) ?? .null
            object["side_bytes"] = .double(cell.sideBytes)
            object["side_bytes_per_token"] = .double(cell.sideBytesPerToken)
            object["seconds"] = .double(cell.seconds)
            object["selection_ms_per_step"] = cell.selectionMillisecondsPerStep.map(JSONValue.double) ?? .null
            object["prefill_seconds"] = .double(cell.prefillSeconds)
            if let onTarget = cell.rowsOnTarget { object["rows_on_target"] = .int(onTarget) }
            return .object(object)
        }
        var tasks: [JSONValue] = []
        for task in summary.tasks {
            var cells: [JSONValue] = []
            for method in task.methods {
                for budget in task.budgets {
                    guard let cell = task.cell(method, budget) else { continue }
                    cells.append(cellJSON(cell, reference: task.reference, comparison: task.comparison(method, budget),
                                          kvFraction: task.kvFraction(method, budget)))
                }
            }
            var object = JSONObject()
            object["task"] = .string(task.task)
            object["cells"] = .array(cells)
            tasks.append(.object(object))
        }
        var average: [JSONValue] = []
        for method in summary.methods {
            for budget in summary.budgets {
                guard let mean = summary.average(method, budget) else { continue }
                var object = JSONObject()
                object["method"] = .string(method)
                Budget.write(budget, into: &object)
                object["score"] = .double(mean.score)
                object["delta_vs_full"] = mean.delta.map(JSONValue.double) ?? .null
                object["tasks"] = .int(mean.tasks)
                average.append(.object(object))
            }
        }
        var root = JSONObject()
        root["title"] = .string(title)
        root["tasks"] = .array(tasks)
        root["average"] = .array(average)
        return .object(root)
    }

    private static func path(_ directory: String, _ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    /// Task names become file names: anything outside [A-Za-z0-9._-] turns into "_".
    static func fileSafe(_ name: String) -> String {
        String(name.unicodeScalars.map { c -> Character in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-")
                ? Character(c) : "_"
        })
    }
}
