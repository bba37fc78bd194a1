import A2ATSSupport

/// Why a Hugging Face tokenizer directory could not be loaded. Every case names the file and
/// the JSON field at fault (a dotted path such as `pre_tokenizer.pretokenizers[0].type`) so
/// the user sees "file: field: problem" in one line.
public enum HuggingFaceTokenizerError: Error, Equatable, CustomStringConvertible {
    /// The file is missing, unreadable or not JSON.
    case unreadable(file: String, reason: String)
    /// A field is missing, of the wrong type, or inconsistent.
    case badField(file: String, field: String, problem: String)
    /// A `type` (model, normalizer, pre-tokenizer, decoder) or option this engine does not implement.
    case unsupported(file: String, field: String, value: String, supported: [String])
    /// The chat template failed to parse or to render a one-turn conversation.
    case chatTemplate(file: String, error: JinjaError)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): \(reason)"
        case .badField(let file, let field, let problem):
            return "\(file): field \"\(field)\": \(problem)"
        case .unsupported(let file, let field, let value, let supported):
            var text = "\(file): field \"\(field)\": unsupported \"\(value)\""
            if let guess = closestMatches(to: value, among: supported, ignoringCase: true).first {
                text += " (did you mean \"\(guess)\"?)"
            }
            return text + (supported.isEmpty ? "" : " (supported: \(supported.joined(separator: ", ")))")
        case .chatTemplate(let file, let error):
            return "\(file): field \"chat_template\": \(error)"
        }
    }
}
