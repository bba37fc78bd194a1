import Foundation
import PackagePlugin

/// Compiles `configs/models.json` (the registry of known models that `scripts/setup --model NAME`
/// installs) into the binary as a string, so `--model NAME` resolves the same names the set-up
/// script reads without the binary having to find the checkout at run time.
@main
struct ModelRegistryPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let registry = context.package.directory.appending(["configs", "models.json"])
        let file = context.pluginWorkDirectory.appending(["Generated", "ModelRegistry.generated.swift"]).string
        // A raw string with `##` delimiters: valid JSON cannot contain `"""##`, and backslashes stay literal.
        let script = """
        set -eu
        mkdir -p "$(dirname '\(file)')"
        tmp='\(file).tmp'
        { printf '/// Generated at build time by ModelRegistryPlugin from configs/models.json; not checked in.\\n'
          printf 'enum GeneratedModelRegistry {\\n    static let json = ##\"\"\"\\n'
          cat '\(registry.string)'
          printf '\\n\"\"\"##\\n}\\n'; } > "$tmp"
        mv "$tmp" '\(file)'
        """
        return [.buildCommand(displayName: "Embedding the model registry (configs/models.json)", executable: Path("/bin/sh"),
                              arguments: ["-c", script], inputFiles: [registry], outputFiles: [Path(file)])]
    }
}
