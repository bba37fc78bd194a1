import A2ATSHarness
import A2ATSModel

/// One subcommand: its declared options and what it does with them.
protocol Subcommand {
    static var spec: CommandSpec { get }
    static func execute(_ arguments: ParsedArguments) throws
}

/// Options several subcommands share, spelled once.
enum CommonOptions {
    static let model = OptionSpec(
        "model", valueName: "path|name",
        help: "GGUF file, a directory holding one, or a model that `scripts/setup --model NAME` installs ("
            + ModelRegistry.builtIn.names.joined(separator: ", ") + "; default: \(ModelRegistry.builtIn.defaultModel.name))")
}
