import A2ATSHarness
import A2ATSReports
import Foundation

/// `report`: merges run (or shard) directories and writes the comparison report.
enum ReportCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval report",
        abstract: "Merge run or shard directories into one report: markdown tables, SVG plots, results.csv, summary.json.",
        usage: "RUN_DIR [RUN_DIR …] --out reports/compare.md",
        options: [
            OptionSpec("out", alias: "o", valueName: "file.md", help: "markdown file to write; plots, CSV and JSON go beside it",
                       defaultValue: "report.md"),
            OptionSpec("title", valueName: "text", help: "report title", defaultValue: "a2ats-eval report"),
        ],
        positionals: [PositionalSpec("runs", help: "run directories (or results.jsonl files); several merge", isVariadic: true)])

    static func execute(_ arguments: ParsedArguments) throws {
        let loaded = try loadResults(directories: arguments.positionals)
        guard !loaded.records.isEmpty else { throw UsageError("no results rows in \(arguments.positionals.joined(separator: ", "))") }
        let out = URL(fileURLWithPath: arguments.value("out")!)
        var notes = ["merged from: " + arguments.positionals.joined(separator: ", "),
                     "prefill time is shared between the rows forked from one prefill"]
        if loaded.duplicates > 0 { notes.append("\(loaded.duplicates) duplicate rows (same resume key) ignored") }
        if !loaded.truncatedFiles.isEmpty { notes.append("half-written last lines ignored in: " + loaded.truncatedFiles.joined(separator: ", ")) }
        let written = try ReportWriter.write(records: loaded.records, to: out.deletingLastPathComponent().path,
                                             title: arguments.value("title")!, manifestNotes: notes,
                                             markdownName: out.lastPathComponent)
        print("wrote \(written.joined(separator: ", "))")
    }
}
