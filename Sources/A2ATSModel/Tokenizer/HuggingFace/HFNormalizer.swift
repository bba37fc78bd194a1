import Foundation

/// The tokenizer.json `normalizer` stages that Llama, Qwen2, Mistral and SmolLM checkpoints
/// use: Unicode normalization forms (Qwen2: NFC), and SentencePiece-style `Prepend("▁")` +
/// `Replace(" ", "▁")` (Llama-2, TinyLlama, Mistral). Applied to each stretch of text between
/// added tokens, as Hugging Face does.
indirect enum HFNormalizer {
    case nfc, nfd, nfkc, nfkd
    /// Prepends the text to a non-empty input (even if it already starts with it, as HF does).
    case prepend(String)
    /// Replaces every occurrence of a literal string.
    case replace(String, String)
    case sequence([HFNormalizer])

    static let supportedTypes = ["NFC", "NFD", "NFKC", "NFKD", "Prepend", "Replace", "Sequence"]

    /// The normalizer `field` describes, nil for JSON null.
    static func parse(_ field: HFField) throws -> HFNormalizer? {
        if field.isAbsent { return nil }
        let type = try field.type()
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Prepend": return .prepend(try field.child("prepend").string())
        case "Replace":
            return .replace(try literalPattern(field.child("pattern")), try field.child("content").string())
        case "Sequence":
            return .sequence(try field.child("normalizers").array().compactMap { try parse($0) })
        default:
            throw field.child("type").unsupported(type, supported: supportedTypes)
        }
    }

    /// A `{"String": …}` pattern; regex patterns are refused (none of the supported families use one).
    static func literalPattern(_ field: HFField) throws -> String {
        if let text = field.value?["String"]?.stringValue { return text }
        if let regex = field.value?["Regex"]?.stringValue {
            throw field.child("Regex").unsupported(regex, supported: [])
        }
        throw field.bad("expected {\"String\": …}")
    }

    func apply(_ text: String) -> String {
        switch self {
        case .nfc:
            // Below U+0300 there are no combining marks or singleton decompositions: NFC is the identity.
            if text.unicodeScalars.allSatisfy({ $0.value < 0x300 }) { return text }
            return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .prepend(let prefix): return text.isEmpty ? text : prefix + text
        case .replace(let pattern, let content): return text.replacingOccurrences(of: pattern, with: content)
        case .sequence(let stages): return stages.reduce(text) { $1.apply($0) }
        }
    }
}
