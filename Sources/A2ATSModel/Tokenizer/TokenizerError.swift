/// Why a tokenizer could not be built from a model's vocabulary fields. Each case names the
/// GGUF field at fault so the loader can report "file: field: problem" in one line.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// `tokenizer.ggml.pre` names a pre-tokenizer this engine does not implement.
    case unsupportedPreTokenizer(name: String, supported: [String])
    /// Entry `index` of `tokenizer.ggml.merges` is not "left right" with all three of
    /// left, right and left+right in the vocabulary.
    case badMerge(index: Int, merge: String, problem: String)
    /// A field is inconsistent (wrong length, id out of range, empty vocabulary).
    case badField(field: String, problem: String)

    public var description: String {
        switch self {
        case .unsupportedPreTokenizer(let name, let supported):
            return "field \"tokenizer.ggml.pre\": unsupported pre-tokenizer \"\(name)\" "
                + "(supported: \(supported.joined(separator: ", ")))"
        case .badMerge(let index, let merge, let problem):
            return "field \"tokenizer.ggml.merges\": entry \(index) \"\(merge)\": \(problem)"
        case .badField(let field, let problem):
            return "field \"\(field)\": \(problem)"
        }
    }
}
