import A2ATSModel
import Foundation

extension FuzzTarget {
    /// A checkpoint's `tokenizer.json` and `tokenizer_config.json` (one input, split at its first
    /// NUL byte), loaded as `HuggingFaceTokenizer.load(directory:)` loads them, then used: a line
    /// encoded and decoded, and the chat prompt of one user turn.
    static let hfTokenizer = FuzzTarget(
        name: "hf-tokenizer",
        summary: "tokenizer.json + tokenizer_config.json (A2ATSModel HuggingFaceTokenizer: model, normalizer, "
            + "pre-tokenizer, decoder, added tokens, chat template), then encode/decode of a line",
        fileName: "tokenizer.json"
    ) { run in
        let directory = try run.directory(first: "tokenizer.json", second: "tokenizer_config.json")
        var loaded: HuggingFaceTokenizer?
        // Each error names tokenizer.json or tokenizer_config.json, both inside `directory`.
        try run.stage("HuggingFaceTokenizer.load", refusal: [HuggingFaceTokenizerError.self], naming: directory) {
            loaded = try HuggingFaceTokenizer.load(directory: URL(fileURLWithPath: directory))
        }
        guard let tokenizer = loaded else { return }
        let ids = tokenizer.encode("The quick brown fox, 12 cats <|im_end|> naïve 東京\n  <s>[INST]")
        _ = tokenizer.decode(ids + [-1, tokenizer.vocabularySize, Int.max])
        _ = tokenizer.chatPrompt(user: "hi")
    }
}
