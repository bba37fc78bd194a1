import A2ATSHarness

/// `fidelity`: how well each method's token choice stands in for full attention, per layer
/// and head (recall of the true top-k, attention mass, score MSE, output error).
enum FidelityCommand: Subcommand {
    static let spec = CommandSpec(
        name: "a2ats-eval fidelity",
        abstract: "Measure per layer and head how well methods' selections match full attention; writes fidelity.md and fidelity.json.",
        usage: "--task niah_single_1 --length 4096 --methods oracle,a2ats,a2ats:wrope=false --budgets 0.01,0.03,0.1 --out runs/f",
        options: RunCommand.spec.options.filter { $0.name != "resume" && $0.name != "allow-mixed-builds" }
            + [OptionSpec("steps", valueName: "n", help: "greedy decode steps measured per sample", defaultValue: "16")])

    static func execute(_ arguments: ParsedArguments) throws {
        guard let steps = try arguments.intValue("steps"), steps > 0 else { throw UsageError("--steps must be positive") }
        let written = try FidelityRunner(configuration: try RunCommand.configuration(from: arguments), steps: steps).run()
        print("fidelity: \(written.markdown)")
        print("details:  \(written.json)")
    }
}
