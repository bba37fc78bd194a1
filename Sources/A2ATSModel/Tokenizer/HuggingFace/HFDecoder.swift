/// The tokenizer.json `decoder`: turns token strings back into text, stage by stage as
/// Hugging Face does (`ByteLevel` for GPT-2-style vocabularies; `Replace` + `ByteFallback` +
/// `Fuse` + `Strip`, or `Metaspace`, for SentencePiece-style ones).
indirect enum HFDecoder {
    case byteLevel
    case replace(String, String)
    case byteFallback
    case fuse
    case strip(content: Character, start: Int, stop: Int)
    /// Replacement back to spaces; in the first token it is dropped instead unless the scheme
    /// is "never" (every occurrence, as Hugging Face's Metaspace decoder does).
    case metaspace(replacement: String, stripFirst: Bool)
    case sequence([HFDecoder])

    static let supportedTypes = ["ByteFallback", "ByteLevel", "Fuse", "Metaspace", "Replace", "Sequence", "Strip"]

    /// The decoder `field` describes; JSON null gives `fallback`.
    static func parse(_ field: HFField, fallback: HFDecoder) throws -> HFDecoder {
        if field.isAbsent { return fallback }
        let type = try field.type()
        switch type {
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Replace":
            return .replace(try HFNormalizer.literalPattern(field.child("pattern")), try field.child("content").string())
        case "Strip":
            let content = try field.child("content").string()
            guard content.count == 1 else { throw field.child("content").bad("expected one character") }
            return .strip(content: content.first!, start: try field.child("start").int(), stop: try field.child("stop").int())
        case "Metaspace":
            let scheme = try field.child("prepend_scheme").optionalString()
                ?? (try field.child("add_prefix_space").bool(default: true) ? "always" : "never")
            return .metaspace(replacement: try field.child("replacement").string(), stripFirst: scheme != "never")
        case "Sequence":
            return .sequence(try field.child("decoders").array().map { try parse($0, fallback: fallback) })
        default:
            throw field.child("type").unsupported(type, supported: supportedTypes)
        }
    }

    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens { bytes.append(contentsOf: ByteLevelAlphabet.bytes(ofToken: token)) }
            return [String(decoding: bytes, as: UTF8.self)]
        case .replace(let pattern, let content):
            return tokens.map { $0.replacingOccurrences(of: pattern, with: content) }
        case .byteFallback:
            return HFDecoder.fallBackBytes(tokens)
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var characters = Substring(token)
                for _ in 0..<start where characters.first == content { characters = characters.dropFirst() }
                for _ in 0..<stop where characters.last == content { characters = characters.dropLast() }
                return String(characters)
            }
        case .metaspace(let replacement, let stripFirst):
            return tokens.enumerated().map { index, token in
                token.replacingOccurrences(of: replacement, with: index == 0 && stripFirst ? "" : " ")
            }
        case .sequence(let stages):
            return stages.reduce(tokens) { $1.decode($0) }
        }
    }

    /// Runs of `<0xNN>` tokens become the text their bytes spell (one U+FFFD per byte when
    /// they are not valid UTF-8, as Hugging Face's ByteFallback decoder does).
    private static func fallBackBytes(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let text = String(validating: pending, as: UTF8.self) {
                out.append(text)
            } else {
                out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
            }
            pending.removeAll()
        }
        for token in tokens {
            if token.utf8.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"),
               let byte = UInt8(token.dropFirst(3).dropLast(), radix: 16) {
                pending.append(byte)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }
}
