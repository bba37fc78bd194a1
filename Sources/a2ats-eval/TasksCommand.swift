import A2ATSHarness
import A2ATSTasks

/// `tasks`: every task the harness knows, with where it comes from and how it is scored.
enum TasksCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval tasks",
        abstract: "List the built-in tasks (and those of --tasks-dir) with source, metric and max new tokens.",
        options: [OptionSpec("tasks-dir", valueName: "dir", help: "also list the task definitions in this directory")])

    static func execute(_ arguments: ParsedArguments) throws {
        var catalog = try TaskCatalog.builtIn()
        if let directory = arguments.value("tasks-dir") { try catalog.load(directory: directory) }
        let rows = catalog.tasks.map { task in
            [task.name, task.source.rawValue, task.metric, String(task.maxNewTokens),
             task.generator != nil ? "yes" : "no", task.chatTemplate ? "chat" : "base"]
        }
        let header = ["task", "source", "metric", "max_new_tokens", "generated", "template"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        for row in [header] + rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
