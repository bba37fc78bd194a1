/// Builds a checkpoint directory's tokenizer from its `tokenizer.json` / `tokenizer_config.json`
/// (with the EOS ids `generation_config.json` adds). The weights path does not depend on it:
/// `LanguageModel.load(path:checkpointTokenizer:)` takes any loader of this shape, so tests and
/// benchmarks can run a checkpoint with another tokenizer of the same vocabulary.
public typealias CheckpointTokenizerLoader = (_ directory: String, _ checkpoint: CheckpointConfig) throws -> BPETokenizer

public enum CheckpointTokenizer {
    /// The default loader. tokenizer.json support lives in `Tokenizer/` (issue 18 part 3); until
    /// it is wired in here, a checkpoint's tokenizer is refused with this message.
    public static func load(directory: String, checkpoint: CheckpointConfig) throws -> BPETokenizer {
        throw CheckpointError.unreadable(path: directory + "/tokenizer.json",
                                         reason: "tokenizer.json tokenizers are not supported yet (the weights load; "
                                             + "pass a GGUF of the same model for now)")
    }
}
