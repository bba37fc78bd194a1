import A2ATSHarness
import A2ATSMethods
import Foundation

/// The `a2ats-eval` command line: finds the subcommand, parses its arguments, runs it, and
/// turns every error into one `error: …` line (exit 2 for usage errors, 1 otherwise).
let subcommands: [Subcommand.Type] = [
    RunCommand.self, GenerateCommand.self, ScoreCommand.self, ReportCommand.self, TasksCommand.self, ForwardCommand.self,
    CalibrateCommand.self, FidelityCommand.self,
]

let root = CommandSpec(
    name: "a2ats-eval",
    abstract: "Evaluate long-context language models under KV-cache reduction (full, oracle, eviction methods, A²ATS).",
    usage: "<command> [options]",
    subcommands: subcommands.map { $0.spec })

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    guard let first = arguments.first, first != "--help", first != "-h", first != "help" else {
        print(root.helpText())
        exit(arguments.isEmpty ? 2 : 0)
    }
    if first == "--version" {
        print("a2ats-eval \(a2atsEvalVersion)")
        exit(0)
    }
    let spec = try root.subcommand(named: first)
    let command = subcommands.first { $0.spec.word == spec.word }!
    switch try spec.parse(Array(arguments.dropFirst())) {
    case .help(let text):
        print(text)
    case .arguments(let parsed):
        try command.execute(parsed)
    }
} catch let error as UsageError {
    fail(error.message, status: 2)
} catch let error as MethodError {
    // Method names and parameters come from the command line: a usage error.
    fail(String(describing: error), status: 2)
} catch {
    fail(String(describing: error), status: 1)
}
