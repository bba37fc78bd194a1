import A2ATSHarness

/// One subcommand: its declared options and what it does with them.
protocol Subcommand {
    static var spec: CommandSpec { get }
    static func execute(_ arguments: ParsedArguments) throws
}

/// Options several subcommands share, spelled once.
enum CommonOptions {
    static let model = OptionSpec("model", valueName: "path",
                                  help: "GGUF file, or a directory holding one (default: the SmolLM2-135M-Instruct set-up model)")
}
