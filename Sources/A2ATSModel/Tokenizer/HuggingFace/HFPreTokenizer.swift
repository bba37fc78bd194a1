/// The tokenizer.json `pre_tokenizer`, compiled to what this engine runs: an optional text
/// rewrite of each stretch between added tokens (Metaspace's "▁" for spaces and its prefix,
/// ByteLevel's `add_prefix_space`), then a word splitter built from the scanners the GGUF
/// path uses (`Split` with the Llama-3, Qwen2 or GPT-2 regex, `Digits`, `ByteLevel(use_regex)`).
struct HFPreTokenization {
    /// Text prepended to a stretch that does not already start with it.
    var prefix: String?
    /// Metaspace `prepend_scheme: first`: only the stretch at the very start of the input.
    var prefixOnlyAtStart = false
    /// Metaspace: spaces become this before splitting.
    var spaceReplacement: String?
    /// Splits a stretch into words; nil keeps each stretch one word.
    var splitter: PreTokenizer?

    static let supportedTypes = ["ByteLevel", "Digits", "Metaspace", "Sequence", "Split"]

    /// The Split regexes we scan by hand, by their exact tokenizer.json spelling.
    static let knownRegexes: [String: PreTokenizer] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            Llama3PreTokenizer(),
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            Qwen2PreTokenizer(),
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: GPT2PreTokenizer(),
        // SmolLM's digit split as a regex (the same as Digits with individual_digits).
        #"\p{N}"#: DigitsPreTokenizer(individual: true),
    ]

    static func parse(_ field: HFField) throws -> HFPreTokenization {
        var result = HFPreTokenization()
        if field.isAbsent { return result }
        var stages: [PreTokenizer] = []
        try collect(field, into: &result, stages: &stages)
        if !stages.isEmpty { result.splitter = stages.count == 1 ? stages[0] : ChainedPreTokenizer(stages: stages) }
        return result
    }

    private static func collect(_ field: HFField, into result: inout HFPreTokenization, stages: inout [PreTokenizer]) throws {
        let type = try field.type()
        switch type {
        case "Sequence":
            for stage in try field.child("pretokenizers").array() { try collect(stage, into: &result, stages: &stages) }
        case "Split":
            let pattern = field.child("pattern")
            guard let regex = pattern.value?["Regex"]?.stringValue else {
                throw pattern.bad("only {\"Regex\": …} patterns are supported")
            }
            guard let scanner = knownRegexes[regex] else {
                throw pattern.child("Regex").unsupported(regex, supported: ["the Llama-3, Qwen2 and GPT-2 word regexes", "\\p{N}"])
            }
            let behavior = try field.child("behavior").string()
            guard behavior == "Isolated" else {
                throw field.child("behavior").unsupported(behavior, supported: ["Isolated"])
            }
            guard try !field.child("invert").bool(default: false) else { throw field.child("invert").bad("must be false") }
            stages.append(scanner)
        case "Digits":
            stages.append(DigitsPreTokenizer(individual: try field.child("individual_digits").bool(default: false)))
        case "ByteLevel":
            if try field.child("add_prefix_space").bool(default: true) {
                guard stages.isEmpty else {
                    throw field.child("add_prefix_space").bad("true is only supported on the first pre-tokenizer")
                }
                result.prefix = " "
            }
            if try field.child("use_regex").bool(default: true) { stages.append(GPT2PreTokenizer()) }
        case "Metaspace":
            guard stages.isEmpty else { throw field.bad("Metaspace is only supported as the first pre-tokenizer") }
            let replacement = try field.child("replacement").string()
            guard replacement.unicodeScalars.count == 1 else { throw field.child("replacement").bad("expected one character") }
            result.spaceReplacement = replacement
            let scheme: String
            if let named = try field.child("prepend_scheme").optionalString() {
                scheme = named
            } else {
                scheme = try field.child("add_prefix_space").bool(default: true) ? "always" : "never"
            }
            switch scheme {
            case "always": result.prefix = replacement
            case "first": result.prefix = replacement; result.prefixOnlyAtStart = true
            case "never": break
            default: throw field.child("prepend_scheme").unsupported(scheme, supported: ["always", "first", "never"])
            }
            if try field.child("split").bool(default: true) {
                stages.append(MetaspaceSplitter(replacement: replacement.unicodeScalars.first!.value))
            }
        default:
            throw field.child("type").unsupported(type, supported: supportedTypes)
        }
    }

    /// The stretch's text after the pre-tokenizer's rewrites. `atStart`: the stretch begins the input.
    func rewrite(_ text: String, atStart: Bool) -> String {
        var out = text
        if let spaceReplacement { out = out.replacingOccurrences(of: " ", with: spaceReplacement) }
        if let prefix, !out.hasPrefix(prefix), atStart || !prefixOnlyAtStart { out = prefix + out }
        return out
    }
}

/// Hugging Face `Sequence`: each stage splits every word the previous stage produced.
struct ChainedPreTokenizer: PreTokenizer {
    let stages: [PreTokenizer]

    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        var current = [range]
        var next: [Range<Int>] = []
        for stage in stages {
            next.removeAll(keepingCapacity: true)
            for piece in current { stage.split(text, piece, into: &next) }
            swap(&current, &next)
        }
        words.append(contentsOf: current)
    }
}

/// Hugging Face `Digits`: numbers (`\p{N}`) are cut out, one word per digit when `individual`,
/// one per run of digits otherwise; the stretches between are words too.
struct DigitsPreTokenizer: PreTokenizer {
    let individual: Bool

    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        text.classes.withUnsafeBufferPointer { classes in
            var start = range.lowerBound
            var i = range.lowerBound
            while i < range.upperBound {
                guard classes[i] & ScalarText.number != 0 else { i += 1; continue }
                if start < i { words.append(start..<i) }
                var end = i + 1
                if !individual { while end < range.upperBound && classes[end] & ScalarText.number != 0 { end += 1 } }
                words.append(i..<end)
                start = end
                i = end
            }
            if start < range.upperBound { words.append(start..<range.upperBound) }
        }
    }
}

/// Metaspace `split: true`: every "▁" begins a new word (Hugging Face `MergedWithNext`).
struct MetaspaceSplitter: PreTokenizer {
    let replacement: UInt32

    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        var start = range.lowerBound
        for i in range where i > start && text.values[i] == replacement {
            words.append(start..<i)
            start = i
        }
        if start < range.upperBound { words.append(start..<range.upperBound) }
    }
}
