import XCTest
@testable import A2ATSHarness

/// Reference: the behaviour of swift-argument-parser and getopt_long, written out by hand.
final class ArgumentParserTests: XCTestCase {
    private let run = CommandSpec(
        name: "a2ats-eval run", abstract: "Run methods × budgets on a task and write results.jsonl.",
        options: [
            OptionSpec("task", kind: .repeated, valueName: "name|file", help: "Built-in task name or a JSONL file."),
            OptionSpec("methods", alias: "method", valueName: "list", help: "Comma-separated methods.", defaultValue: "full"),
            OptionSpec("budgets", valueName: "list", help: "Token counts or prompt fractions."),
            OptionSpec("out", alias: "o", valueName: "dir", help: "Output directory."),
            OptionSpec("seed", valueName: "n", help: "Random seed.", defaultValue: "0"),
            OptionSpec("resume", kind: .flag, help: "Continue a run in --out, skipping finished rows."),
        ],
        positionals: [PositionalSpec("extra", help: "An extra file.", isOptional: true)])

    private func arguments(_ words: [String]) throws -> ParsedArguments {
        guard case .arguments(let parsed) = try run.parse(words) else { throw UsageError("expected arguments") }
        return parsed
    }

    private func usageError(_ words: [String]) -> String? {
        do { _ = try run.parse(words); return nil } catch { return (error as? UsageError)?.message }
    }

    func testValuesFlagsDefaultsAndBothSpellings() throws {
        let parsed = try arguments(["--task", "niah_single_1", "--task=vt", "--method", "snapkv:window=32",
                                    "-o", "runs/x", "--resume", "--seed=-3", "file.jsonl"])
        XCTAssertEqual(parsed.allValues("task"), ["niah_single_1", "vt"])
        XCTAssertEqual(parsed.value("methods"), "snapkv:window=32")
        XCTAssertEqual(parsed.value("out"), "runs/x")
        XCTAssertEqual(try parsed.intValue("seed"), -3)
        XCTAssertTrue(parsed.flag("resume"))
        XCTAssertEqual(parsed.positionals, ["file.jsonl"])

        let defaults = try arguments([])
        XCTAssertEqual(defaults.value("methods"), "full")
        XCTAssertFalse(defaults.isSet("methods"))
        XCTAssertNil(defaults.value("budgets"))
        XCTAssertFalse(defaults.flag("resume"))
        XCTAssertEqual(try arguments(["--seed", "1", "--seed", "2"]).value("seed"), "2")  // last wins
        XCTAssertEqual(try arguments(["--budgets", "-1"]).value("budgets"), "-1")  // negative value is a value
        XCTAssertEqual(try arguments(["--", "--resume"]).positionals, ["--resume"])
    }

    func testErrors() {
        XCTAssertEqual(usageError(["--methds", "full"]), "unknown option '--methds'; did you mean '--methods'?")
        XCTAssertEqual(usageError(["--reume"]), "unknown option '--reume'; did you mean '--resume'?")
        XCTAssertEqual(usageError(["--budget=64"]), "unknown option '--budget'; did you mean '--budgets'?")
        XCTAssertEqual(usageError(["--zzzzzz"]), "unknown option '--zzzzzz' (see 'a2ats-eval run --help')")
        XCTAssertEqual(usageError(["--out"]), "missing value for --out <dir>")
        XCTAssertEqual(usageError(["--out", "--resume"]), "missing value for --out <dir>")
        XCTAssertEqual(usageError(["--resume=yes"]), "--resume is a flag and takes no value")
        XCTAssertEqual(usageError(["a", "b"]), "unexpected argument 'b'")
        XCTAssertThrowsError(try arguments(["--seed", "x"]).intValue("seed")) { error in
            XCTAssertEqual((error as? UsageError)?.message, "--seed expects an integer, got 'x'")
        }
        let noPositionals = CommandSpec(name: "tasks", abstract: "List tasks.")
        XCTAssertThrowsError(try noPositionals.parse(["x"])) { error in
            XCTAssertEqual("\(error)", "unexpected argument 'x' (tasks takes no positional arguments)")
        }
        let needsFile = CommandSpec(name: "score", abstract: "Score.", positionals: [PositionalSpec("results", help: "")])
        XCTAssertThrowsError(try needsFile.parse([])) { XCTAssertEqual("\($0)", "missing argument <results>") }
    }

    func testHelpDocumentsEveryOption() throws {
        guard case .help(let text) = try run.parse(["--task", "x", "--help"]) else { return XCTFail("no help") }
        XCTAssertEqual(text, """
        OVERVIEW: Run methods × budgets on a task and write results.jsonl.

        USAGE: a2ats-eval run [<options>] [<extra>]

        ARGUMENTS:
          <extra>                 An extra file. (optional)

        OPTIONS:
          --task <name|file>      Built-in task name or a JSONL file. (can be repeated)
          --methods, --method <list>
                                  Comma-separated methods. (default: full)
          --budgets <list>        Token counts or prompt fractions.
          -o, --out <dir>         Output directory.
          --seed <n>              Random seed. (default: 0)
          --resume                Continue a run in --out, skipping finished rows.
          -h, --help              Show help information.

        """)
        guard case .help = try run.parse(["-h"]) else { return XCTFail("-h is help") }
    }

    func testHelpWrapsLongDescriptions() throws {
        let words = Array(repeating: "word", count: 40).joined(separator: " ")
        let command = CommandSpec(name: "x", abstract: "X.", options: [OptionSpec("long", help: words)])
        let lines = command.helpText().split(separator: "\n")
        XCTAssertTrue(lines.allSatisfy { $0.count <= CommandSpec.helpWidth })
        let wrapped = lines.filter { $0.hasPrefix(String(repeating: " ", count: CommandSpec.helpColumn) + "word") }
        XCTAssertGreaterThanOrEqual(wrapped.count, 1)
    }

    func testSubcommands() throws {
        let root = CommandSpec(name: "a2ats-eval", abstract: "Evaluate KV-cache reduction.",
                               subcommands: [run, CommandSpec(name: "report", abstract: "Render tables.")])
        XCTAssertEqual(try root.subcommand(named: "report").name, "report")
        XCTAssertEqual(try root.subcommand(named: "run").name, "a2ats-eval run")
        XCTAssertThrowsError(try root.subcommand(named: "reprot")) { error in
            XCTAssertEqual("\(error)", "unknown command 'reprot'; did you mean 'report'? (see 'a2ats-eval --help')")
        }
        let help = root.helpText()
        XCTAssertTrue(help.contains("USAGE: a2ats-eval <subcommand>"))
        XCTAssertTrue(help.contains("SUBCOMMANDS:\n  run                     Run methods"), help)
    }
}
