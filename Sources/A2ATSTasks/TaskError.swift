import A2ATSSupport

/// Errors of task definitions, data files and prompt building. Each names what to fix:
/// the file, line and field, or the valid choices.
public enum TaskError: Error, CustomStringConvertible, Equatable {
    /// A data or task file problem located by file, line and field.
    case dataFile(DataFileError)
    /// A task name that is neither built in nor defined; `suggestions` are the closest names.
    case unknownTask(name: String, suggestions: [String], available: [String])
    /// The requested length cannot hold even the smallest prompt of the task.
    case lengthTooShort(task: String, length: Int, minimum: Int)
    /// A target length beyond the model's context (generation alone needs only the tokenizer).
    case lengthExceedsContext(task: String, length: Int, context: Int)
    /// A prompt longer than the model can hold while truncation is off.
    case promptTooLong(task: String, id: String, tokens: Int, limit: Int)
    /// A data file whose name names no task (`niah_single_1_4096.jsonl`): `NAME=PATH` names it.
    case unnamedTaskFile(path: String, inferred: String, suggestions: [String])
    /// A task that has no generator (LongBench and custom tasks need a data file).
    case notGeneratable(task: String)
    /// A bundled resource is missing from the module's bundle.
    case missingResource(String)

    public var description: String {
        switch self {
        case .dataFile(let error):
            return error.description
        case .unknownTask(let name, let suggestions, let available):
            var text = "unknown task \"\(name)\""
            if !suggestions.isEmpty { text += "; did you mean \(suggestions.joined(separator: ", "))?" }
            return text + "\nvalid tasks: \(available.joined(separator: ", "))"
        case .lengthTooShort(let task, let length, let minimum):
            return "task \(task): length \(length) is too short; the smallest prompt plus the answer tokens needs \(minimum) tokens"
        case .lengthExceedsContext(let task, let length, let context):
            return "task \(task): length \(length) exceeds the model's context of \(context) tokens"
        case .promptTooLong(let task, let id, let tokens, let limit):
            return "task \(task), sample \(id): prompt has \(tokens) tokens, more than the limit of \(limit) and the task does not truncate"
        case let .unnamedTaskFile(path, inferred, suggestions):
            let example = suggestions.first ?? "TASK"
            var text = "\(path): the file's name (\"\(inferred)\") names no task, so its prompt rule, metric and max new tokens "
                + "are unknown; name the task with --task \(example)=\(path)"
            if suggestions.count > 1 { text += " (closest tasks: \(suggestions.joined(separator: ", ")))" }
            return text + "; `a2ats-eval tasks` lists them"
        case .notGeneratable(let task):
            return "task \(task) is not synthetic: run it with a data file (--task FILE.jsonl)"
        case .missingResource(let name):
            return "bundled task data \"\(name)\" is missing from the A2ATSTasks resources"
        }
    }
}
