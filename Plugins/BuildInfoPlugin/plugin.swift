import Foundation
import PackagePlugin

/// Records which source tree a binary was built from, at build time: the commit and whether the
/// tree differed from it (with a hash of the difference, so two dirty builds are told apart).
/// Manifests and result rows name this build, not the directory a run happens to start in.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectory.appending("Generated")
        let file = output.appending("BuildInfo.generated.swift").string
        let repository = context.package.directory.string
        // Rewrites the file only when its text changes, so an unchanged tree recompiles nothing.
        let script = """
        set -u
        cd '\(repository)' 2>/dev/null || exit 0
        commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
        if [ "$commit" = unknown ]; then dirty=false; diffhash=""
        elif git diff --quiet HEAD -- 2>/dev/null; then dirty=false; diffhash=""
        else dirty=true; diffhash=$(git diff HEAD -- | sha256sum | cut -c1-8); fi
        mkdir -p '\(output.string)'
        tmp='\(file).tmp'
        printf '/// Generated at build time by BuildInfoPlugin; not checked in.\\nenum GeneratedBuildInfo {\\n    static let commit = "%s"\\n    static let dirty = %s\\n    static let differenceHash = "%s"\\n}\\n' "$commit" "$dirty" "$diffhash" > "$tmp"
        mv "$tmp" '\(file)'
        """
        // Reruns when the checkout's HEAD, its index or any source file changes: then the commit or
        // the difference from it may have changed.
        let git = context.package.directory.appending(".git")
        var inputs = [git.appending("HEAD"), git.appending("index")]
        if let head = try? String(contentsOfFile: git.appending("HEAD").string, encoding: .utf8), head.hasPrefix("ref: ") {
            inputs.append(git.appending(head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        inputs = inputs.filter { FileManager.default.fileExists(atPath: $0.string) }
        for case let module as SourceModuleTarget in context.package.targets {
            inputs += module.sourceFiles.map(\.path)
        }
        return [.buildCommand(displayName: "Recording the build's commit", executable: Path("/bin/sh"),
                              arguments: ["-c", script], inputFiles: inputs, outputFiles: [Path(file)])]
    }
}
