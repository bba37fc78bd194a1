/// Errors of a run that only the runner can word fully: it knows the data file, the task's
/// answer budget and the model's context at once.
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// A prompt that, with the task's max new tokens, does not fit the model's context, for a
    /// task that does not truncate (RULER): the data was made for a longer-context model.
    case promptExceedsContext(task: String, id: String, file: String, promptTokens: Int, maxNewTokens: Int, context: Int)

    public var description: String {
        switch self {
        case let .promptExceedsContext(task, id, file, promptTokens, maxNewTokens, context):
            return "\(file): task \(task), sample \(id): the prompt has \(promptTokens) tokens; with \(maxNewTokens) max new tokens "
                + "it needs \(promptTokens + maxNewTokens), more than the model's context of \(context) tokens "
                + "(the task does not truncate: use data made for length ≤ \(context), e.g. a smaller --length)"
        }
    }
}
