import A2ATSHarness
import A2ATSMethods
import A2ATSModel
import A2ATSTasks
import A2ATSTensor
import Foundation

BLASKernelFamily.restartWithTunedKernelsIfNeeded()

/// The `a2ats-eval` command line: finds the subcommand, parses its arguments, runs it, and
/// turns every error into one `error: …` line (exit 2 for usage errors, 1 otherwise).
let subcommands: [Subcommand.Type] = [
    RunCommand.self, GenerateCommand.self, ScoreCommand.self, ReportCommand.self, TasksCommand.self, ForwardCommand.self,
    CalibrateCommand.self, FidelityCommand.self, ThroughputCommand.self,
]

let root = CommandSpec(
    name: "a2ats-eval",
    abstract: "Evaluate long-context language models under KV-cache reduction (full, oracle, eviction, retrieval and precision methods, A²ATS).",
    usage: "<command> [options]   (a2ats-eval <command> --help for its options; `run` when the first argument is an option)",
    subcommands: subcommands.map { $0.spec })

/// Whether an error is in what was typed (a flag, a method spec, a task name: exit 2) rather
/// than in a data file, the model or the machine (exit 1), so scripts can tell them apart.
func isUsageError(_ error: Error) -> Bool {
    switch error {
    case is UsageError, TaskError.unknownTask, TaskError.unnamedTaskFile, ModelRegistryError.unknownModel:
        return true
    case let error as MethodError:
        switch error {
        case .unknownMethod, .unknownParameter, .invalidParameter, .malformedSpec, .budgetRequired, .invalidComposition: return true
        case .invalidBudget, .missingStatistics: return false
        }
    default:
        return false
    }
}

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
        print("a2ats-eval \(a2atsEvalVersion) (build \(BuildState.current.id))")
        exit(0)
    }
    // `a2ats-eval --task niah_single_1 …`, as users are told the tool is called: run is the default.
    let startsWithOption = first.hasPrefix("-")
    let spec = startsWithOption ? RunCommand.spec : try root.subcommand(named: first)
    let command = subcommands.first { $0.spec.word == spec.word }!
    switch try spec.parse(startsWithOption ? arguments : Array(arguments.dropFirst())) {
    case .help(let text):
        print(text)
    case .arguments(let parsed):
        try command.execute(parsed)
    }
} catch let error as UsageError {
    fail(error.message, status: 2)
} catch let error as RunError {
    fail(error.description, status: error.exitStatus)
} catch {
    fail(String(describing: error), status: isUsageError(error) ? 2 : 1)
}
