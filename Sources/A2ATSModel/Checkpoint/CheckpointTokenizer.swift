import Foundation

/// Builds a checkpoint directory's tokenizer from its `tokenizer.json` / `tokenizer_config.json`
/// (with the EOS ids `generation_config.json` adds). The weights path does not depend on it:
/// `LanguageModel.load(path:checkpointTokenizer:)` takes any loader of this shape, so tests and
/// benchmarks can run a checkpoint with another tokenizer of the same vocabulary.
public typealias CheckpointTokenizerLoader = (_ directory: String, _ checkpoint: CheckpointConfig) throws -> any TextTokenizer

public enum CheckpointTokenizer {
    /// The directory's `HuggingFaceTokenizer`; generation stops on its EOS and end-of-turn ids and
    /// on every id `generation_config.json` lists (Llama-3.1 stops on `<|eot_id|>` and
    /// `<|eom_id|>` there, not in tokenizer_config.json).
    public static func load(directory: String, checkpoint: CheckpointConfig) throws -> any TextTokenizer {
        let tokenizer = try HuggingFaceTokenizer.load(directory: URL(fileURLWithPath: directory))
        let extra = Set(checkpoint.eosTokenIDs).subtracting(tokenizer.stopTokenIDs)
        return extra.isEmpty ? tokenizer : WithStopTokens(base: tokenizer, extra: extra)
    }

    /// A tokenizer whose stop set is widened; everything else is the base's.
    final class WithStopTokens: TextTokenizer {
        let base: any TextTokenizer
        let stopTokenIDs: Set<Int>
        init(base: any TextTokenizer, extra: Set<Int>) {
            self.base = base
            stopTokenIDs = base.stopTokenIDs.union(extra)
        }
        func encode(_ text: String) -> [Int] { base.encode(text) }
        func decode(_ tokens: [Int]) -> String { base.decode(tokens) }
        var bosTokenID: Int? { base.bosTokenID }
        func chatPrompt(user: String) -> String? { base.chatPrompt(user: user) }
        var summary: String { base.summary + ", stop ids from generation_config.json" }
    }
}
