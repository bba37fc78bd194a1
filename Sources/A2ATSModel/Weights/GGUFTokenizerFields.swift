/// The `tokenizer.*` fields of a GGUF file, read on their own: the tokenizer of a model can be
/// built (to generate tasks at any length, or to check token ids) without dequantizing or even
/// supporting the model's weight types.
public struct GGUFTokenizerFields: Sendable {
    /// `tokenizer.ggml.model` ("gpt2" for byte-level BPE).
    public let model: String
    /// `tokenizer.ggml.tokens`: the vocabulary, index = token id.
    public let tokens: [String]
    /// `tokenizer.ggml.merges`: "left right" pairs, highest priority first (empty if absent
    /// and the tokenizer model is not BPE).
    public let merges: [String]
    /// `tokenizer.ggml.token_type` (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    /// 6 byte); all 1 when the file has none.
    public let tokenTypes: [Int]
    /// `tokenizer.ggml.pre` ("default" when absent, as llama.cpp does).
    public let preTokenizer: String
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// `tokenizer.ggml.add_bos_token`; false when absent.
    public let addBOS: Bool
    /// `tokenizer.chat_template` (a Jinja template), if the file carries one.
    public let chatTemplate: String?

    public init(file: GGUFFile) throws {
        let reader = MetadataReader(file: file)
        model = try reader.string("tokenizer.ggml.model")
        tokens = try reader.strings("tokenizer.ggml.tokens")
        let vocabSize = tokens.count
        guard vocabSize > 0 else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: "tokenizer.ggml.tokens", problem: "vocabulary is empty")
        }
        if model == "gpt2" {
            merges = try reader.strings("tokenizer.ggml.merges")
        } else {
            merges = try reader.optionalStrings("tokenizer.ggml.merges") ?? []
        }
        tokenTypes = try reader.optionalInts("tokenizer.ggml.token_type") ?? Array(repeating: 1, count: vocabSize)
        guard tokenTypes.count == vocabSize else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: "tokenizer.ggml.token_type",
                                                 problem: "has \(tokenTypes.count) entries for \(vocabSize) tokens")
        }
        preTokenizer = try reader.optionalString("tokenizer.ggml.pre") ?? "default"
        bosTokenID = try reader.optionalTokenID("tokenizer.ggml.bos_token_id", vocabSize: vocabSize)
        eosTokenID = try reader.optionalTokenID("tokenizer.ggml.eos_token_id", vocabSize: vocabSize)
        addBOS = try reader.optionalBool("tokenizer.ggml.add_bos_token") ?? false
        chatTemplate = try reader.optionalString("tokenizer.chat_template")
    }
}
