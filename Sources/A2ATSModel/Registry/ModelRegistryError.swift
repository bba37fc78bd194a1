/// What can be wrong with the registry of known models (`configs/models.json`) or with a model
/// name given to `--model`: each case names the file, entry, field or value so the CLI prints one
/// clear line.
public enum ModelRegistryError: Error, Equatable, CustomStringConvertible {
    /// Not JSON, not an object at the top, or an unsupported `version`.
    case malformed(file: String, problem: String)
    /// A required field is absent; `entry` is e.g. `models[1] (qwen2.5-coder-0.5b)` or `top level`.
    case missingField(file: String, entry: String, field: String)
    /// A field holds a value of the wrong type or an impossible value.
    case invalidField(file: String, entry: String, field: String, value: String, problem: String)
    /// A known name whose file `scripts/setup --model NAME` has not installed.
    case notInstalled(name: String, path: String)
    /// The installed file's size differs from the registry's: a partial copy or another file.
    case installedSizeMismatch(name: String, path: String, size: Int, expected: Int)
    /// Neither an existing path nor a known name.
    case unknownModel(name: String, known: [String], suggestions: [String])

    public var description: String {
        switch self {
        case let .malformed(file, problem):
            return "\(file): \(problem)"
        case let .missingField(file, entry, field):
            return "\(file): \(entry): required field \"\(field)\" is missing"
        case let .invalidField(file, entry, field, value, problem):
            return "\(file): \(entry): field \"\(field)\" = \(value): \(problem)"
        case let .notInstalled(name, path):
            return "model \(name) is not installed (expected at \(path)); run scripts/setup --model \(name)"
        case let .installedSizeMismatch(name, path, size, expected):
            return "model \(name) at \(path) has \(size) bytes, expected \(expected) (an incomplete or different file); "
                + "run scripts/setup --model \(name) to reinstall it"
        case let .unknownModel(name, known, suggestions):
            let hint = suggestions.isEmpty ? "" : "; did you mean \(suggestions.joined(separator: " or "))?"
            return "--model \(name): no such file or directory, and not a known model name (known: "
                + "\(known.joined(separator: ", ")))\(hint)"
        }
    }
}
