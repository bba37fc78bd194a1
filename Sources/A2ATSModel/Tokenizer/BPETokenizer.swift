/// Byte-level BPE tokenizer built from a GGUF file's `tokenizer.ggml.*` fields (GPT-2,
/// SmolLM, Llama-3, Qwen2 families). Encoding: special tokens are cut out whole, the rest is split
/// into words by the pre-tokenizer the file names, each word's UTF-8 bytes are merged by
/// BPE rank. Ids equal Hugging Face `tokenizers` on the same vocabulary and merges
/// (TokenizerParityTests, fixture from scripts/make_tokenizer_fixture.py).
public final class BPETokenizer: TextTokenizer, @unchecked Sendable {
    public let bosTokenID: Int?
    public let stopTokenIDs: Set<Int>
    /// The GGUF `tokenizer.ggml.pre` name this tokenizer splits words with.
    public let preTokenizerName: String
    /// Vocabulary size (ids are 0..<vocabularySize).
    public var vocabularySize: Int { tokenBytes.count }
    public var summary: String { "GGUF byte-level BPE (\(preTokenizerName)), vocab \(vocabularySize)" }

    private let preTokenizer: PreTokenizer
    private let encoder: BytePairEncoder
    private let specials: SpecialTokenMatcher
    /// Bytes each id decodes to (control and user-defined tokens: their text).
    private let tokenBytes: [[UInt8]]
    private let chatTemplate: ChatTemplate?

    /// - Parameters mirror the GGUF fields: `tokens` = tokenizer.ggml.tokens,
    ///   `merges` = tokenizer.ggml.merges ("left right", in rank order),
    ///   `tokenTypes` = tokenizer.ggml.token_type (1 normal, 3 control, 4 user-defined, …),
    ///   `preTokenizer` = tokenizer.ggml.pre, `bosTokenID`/`eosTokenID` =
    ///   tokenizer.ggml.bos_token_id/eos_token_id, `addBOS` = tokenizer.ggml.add_bos_token,
    ///   `chatTemplate` = tokenizer.chat_template.
    /// - Throws: `TokenizerError` for an unknown pre-tokenizer, a malformed merge, or
    ///   inconsistent fields.
    public init(tokens: [String], merges: [String], tokenTypes: [Int], preTokenizer: String,
                bosTokenID: Int?, eosTokenID: Int?, addBOS: Bool, chatTemplate: String?) throws {
        guard !tokens.isEmpty else {
            throw TokenizerError.badField(field: "tokenizer.ggml.tokens", problem: "empty vocabulary")
        }
        guard tokenTypes.count == tokens.count else {
            throw TokenizerError.badField(field: "tokenizer.ggml.token_type",
                                          problem: "\(tokenTypes.count) entries for \(tokens.count) tokens")
        }
        for (field, id) in [("tokenizer.ggml.bos_token_id", bosTokenID), ("tokenizer.ggml.eos_token_id", eosTokenID)] {
            if let id, !(0..<tokens.count).contains(id) {
                throw TokenizerError.badField(field: field, problem: "id \(id) outside the vocabulary of \(tokens.count)")
            }
        }
        if addBOS && bosTokenID == nil {
            throw TokenizerError.badField(field: "tokenizer.ggml.bos_token_id",
                                          problem: "missing, but tokenizer.ggml.add_bos_token is true")
        }
        let choice = try PreTokenizerChoice.named(preTokenizer)
        self.preTokenizerName = preTokenizer
        self.preTokenizer = choice.preTokenizer
        self.encoder = try BytePairEncoder(tokens: tokens, merges: merges, ignoreMerges: choice.ignoreMerges)
        self.specials = SpecialTokenMatcher(tokens: tokens, tokenTypes: tokenTypes)
        self.tokenBytes = tokens.indices.map { id in
            tokenTypes[id] == 3 || tokenTypes[id] == 4
                ? Array(tokens[id].utf8) : ByteLevelAlphabet.bytes(ofToken: tokens[id])
        }
        self.bosTokenID = addBOS ? bosTokenID : nil

        var stops = Set<Int>()
        if let eosTokenID { stops.insert(eosTokenID) }
        let endOfTurn: Set<String> = ["<|im_end|>", "<|eot_id|>", "<|endoftext|>"]
        for (id, token) in tokens.enumerated() where endOfTurn.contains(token) { stops.insert(id) }
        self.stopTokenIDs = stops
        self.chatTemplate = chatTemplate.flatMap(ChatTemplate.init(template:))
    }

    /// The tokenizer a GGUF file describes.
    public convenience init(gguf fields: GGUFTokenizerFields) throws {
        try self.init(tokens: fields.tokens, merges: fields.merges, tokenTypes: fields.tokenTypes,
                      preTokenizer: fields.preTokenizer, bosTokenID: fields.bosTokenID, eosTokenID: fields.eosTokenID,
                      addBOS: fields.addBOS, chatTemplate: fields.chatTemplate)
    }

    public func encode(_ text: String) -> [Int] {
        encoder.encode(Array(text.utf8), specials: specials, prepare: { piece, _ in piece },
                       split: { scalars, words in preTokenizer.split(scalars, 0..<scalars.count, into: &words) })
    }

    /// Byte-level decoding: the ids' bytes are joined, then read as UTF-8 with each invalid
    /// sequence replaced by U+FFFD (so a character split across calls shows as U+FFFD).
    /// Ids outside the vocabulary are skipped.
    public func decode(_ tokens: [Int]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        for id in tokens where id >= 0 && id < tokenBytes.count { bytes.append(contentsOf: tokenBytes[id]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ChatML and Llama-3 header templates are rendered (see `ChatTemplate`); other
    /// templates give nil rather than a guess.
    public func chatPrompt(user: String) -> String? {
        chatTemplate?.render(user: user)
    }
}
