/// Errors of a run that only the runner can word fully: it knows the data file, the task's
/// answer budget and the model's context at once.
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// A prompt that, with the task's max new tokens, does not fit the model's context, for a
    /// task that does not truncate (RULER): the data was made for a longer-context model.
    case promptExceedsContext(task: String, id: String, file: String, promptTokens: Int, maxNewTokens: Int, context: Int)
    /// `--resume` found rows written by other builds of the tool (build id → rows; "" = rows from
    /// before build ids were recorded): one grid must come from one build unless the user says otherwise.
    case mixedBuilds(path: String, current: String, found: [String: Int])

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
        }
    }
}
