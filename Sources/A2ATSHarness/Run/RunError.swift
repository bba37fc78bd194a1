import Foundation

/// Errors of a run that only the runner can word fully: it knows the data file, the task's
/// answer budget and the model's context at once.
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// A prompt that, with the task's max new tokens, does not fit the model's context, for a
    /// task that does not truncate (RULER): the data was made for a longer-context model.
    case promptExceedsContext(task: String, id: String, file: String, promptTokens: Int, maxNewTokens: Int, context: Int)
    /// `--resume` found rows written by other builds of the tool (build id → rows; "" = rows from
    /// before build ids were recorded): one grid must come from one build unless the user says otherwise.
    case mixedBuilds(path: String, current: String, found: [String: Int])
    /// `--resume` would read with a codebook or artifact file other than the one the run's rows were
    /// written with (same name, another sha256: recalibrated since, by another build or on another host).
    case codebooksChanged(manifest: String, file: String, recorded: String, current: String)
    /// SIGINT or SIGTERM stopped the run after a finished row; `resume` is the command that continues it.
    case interrupted(signal: Int32, rowsWritten: Int, resultsFile: String, resume: String)
    /// The run finished every other sample, but these could not run (each was reported as it was
    /// found, and is listed in manifest.json under `sample_errors`).
    case samplesFailed(count: Int, manifestFile: String)

    /// The exit status a shell expects: 128 + signal after an interruption (130 for Ctrl-C), else 1.
    public var exitStatus: Int32 {
        if case .interrupted(let signal, _, _, _) = self { return 128 + signal }
        return 1
    }

    public var description: String {
        switch self {
        case let .promptExceedsContext(task, id, file, promptTokens, maxNewTokens, context):
            return "\(file): task \(task), sample \(id): the prompt has \(promptTokens) tokens; with \(maxNewTokens) max new tokens "
                + "it needs \(promptTokens + maxNewTokens), more than the model's context of \(context) tokens "
                + "(the task does not truncate: use data made for length ≤ \(context), e.g. a smaller --length)"
        case let .mixedBuilds(path, current, found):
            let others = found.keys.sorted().map { "\($0.isEmpty ? "(no build recorded)" : $0): \(found[$0]!) rows" }
            return "\(path) holds rows from other builds (\(others.joined(separator: ", "))); this binary is build \(current). "
                + "Resume with the same build, choose another --out, or pass --allow-mixed-builds (the report then lists "
                + "which rows came from which build)"
        case let .codebooksChanged(manifest, file, recorded, current):
            return "\(manifest) records \(file) with sha256 \(recorded.prefix(12))…, but the file this run would read has "
                + "\(current.prefix(12))… (calibrated again since those rows were written). Rows of both would share one "
                + "method name: restore the recorded file, choose another --out, or pass --allow-mixed-builds"
        case let .interrupted(signal, rowsWritten, resultsFile, resume):
            return "stopped by \(signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)") after a finished row: "
                + "\(rowsWritten) rows written by this process, every finished row is in \(resultsFile). Resume with:\n  \(resume)"
        case let .samplesFailed(count, manifestFile):
            return "\(count) sample\(count == 1 ? "" : "s") could not run (errors above, also in \(manifestFile) under sample_errors); "
                + "every other sample finished. Pass --stop-on-error to stop at the first such error instead"
        }
    }
}
