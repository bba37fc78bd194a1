/// The pre-tokenizer splits text into words before BPE, so merges never cross a word
/// boundary. Each GGUF `tokenizer.ggml.pre` name stands for a fixed regex (llama.cpp's
/// `llama_vocab` table); we scan those regexes by hand over classified scalars, which is
/// exact (alternation order, greedy runs, the `\s+(?!\S)` look-ahead) and fast.
protocol PreTokenizer {
    /// Appends the words of `text[range]` as consecutive scalar ranges covering it.
    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>])
}

/// A pre-tokenizer defined by one word regex, scanned by hand: each word is the match that
/// starts where the previous one ended.
protocol RegexScanningPreTokenizer: PreTokenizer {
    /// End of the regex match starting at `i` (always > i).
    static func matchEnd(_ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
                         _ i: Int, _ end: Int) -> Int
}

extension RegexScanningPreTokenizer {
    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        text.values.withUnsafeBufferPointer { values in
            text.classes.withUnsafeBufferPointer { classes in
                var i = range.lowerBound
                while i < range.upperBound {
                    let next = Self.matchEnd(values, classes, i, range.upperBound)
                    words.append(i..<next)
                    i = next
                }
            }
        }
    }
}

/// What a pre-tokenizer name implies for the whole pipeline.
struct PreTokenizerChoice {
    let preTokenizer: PreTokenizer
    /// Llama-3 style vocabularies take a word found whole in the vocabulary without merging
    /// (Hugging Face `ignore_merges`, llama.cpp does the same for these names).
    let ignoreMerges: Bool

    static let supportedNames = ["smollm", "gpt2", "llama-bpe", "llama3", "llama-v3", "qwen2"]

    static func named(_ name: String) throws -> PreTokenizerChoice {
        switch name {
        case "smollm":
            return PreTokenizerChoice(preTokenizer: DigitIsolatingPreTokenizer(inner: GPT2PreTokenizer()),
                                      ignoreMerges: false)
        case "gpt2":
            return PreTokenizerChoice(preTokenizer: GPT2PreTokenizer(), ignoreMerges: false)
        case "llama-bpe", "llama3", "llama-v3":
            return PreTokenizerChoice(preTokenizer: Llama3PreTokenizer(), ignoreMerges: true)
        case "qwen2":
            // Qwen2's BPE merges every word (Hugging Face `ignore_merges` false, as llama.cpp).
            return PreTokenizerChoice(preTokenizer: Qwen2PreTokenizer(), ignoreMerges: false)
        default:
            throw TokenizerError.unsupportedPreTokenizer(name: name, supported: supportedNames)
        }
    }
}

/// Hugging Face `Split(\p{N}, behavior: isolated)` before another pre-tokenizer: every
/// number scalar becomes a word of its own and the stretches between are split by `inner`
/// independently (so its look-aheads never see past a digit).
struct DigitIsolatingPreTokenizer: PreTokenizer {
    let inner: PreTokenizer

    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        text.classes.withUnsafeBufferPointer { classes in
            var start = range.lowerBound
            for i in range where classes[i] & ScalarText.number != 0 {
                if start < i { inner.split(text, start..<i, into: &words) }
                words.append(i..<(i + 1))
                start = i + 1
            }
            if start < range.upperBound { inner.split(text, start..<range.upperBound, into: &words) }
        }
    }
}
