/// A Llama-family model read from one GGUF file: the config from `<arch>.*` metadata, the raw
/// `tokenizer.ggml.*` fields for the tokenizer to build on, and dequantized tensors on request.
/// Every tensor the architecture needs is checked on open (present, right dims, a type this
/// loader can dequantize) so that a bad file fails before any compute starts.
public final class GGUFModelSource: WeightSource {
    /// `general.architecture` values whose tensors and keys follow llama.cpp's Llama layout.
    public static let supportedArchitectures = ["llama"]

    public let file: GGUFFile
    public let config: ModelConfig
    public var location: String { file.path }

    /// `tokenizer.ggml.model` ("gpt2" for byte-level BPE).
    public let tokenizerModel: String
    /// `tokenizer.ggml.tokens`: the vocabulary, index = token id.
    public let tokenizerTokens: [String]
    /// `tokenizer.ggml.merges`: "left right" pairs, highest priority first (empty if absent
    /// and the tokenizer model is not BPE).
    public let tokenizerMerges: [String]
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

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    public init(file: GGUFFile) throws {
        self.file = file
        let reader = MetadataReader(file: file)
        let architecture = try reader.string("general.architecture")
        guard Self.supportedArchitectures.contains(architecture) else {
            throw ModelLoadError.unsupportedArchitecture(path: file.path, architecture: architecture)
        }

        tokenizerModel = try reader.string("tokenizer.ggml.model")
        tokenizerTokens = try reader.strings("tokenizer.ggml.tokens")
        let vocabSize = tokenizerTokens.count
        guard vocabSize > 0 else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: "tokenizer.ggml.tokens", problem: "vocabulary is empty")
        }
        if tokenizerModel == "gpt2" {
            tokenizerMerges = try reader.strings("tokenizer.ggml.merges")
        } else {
            tokenizerMerges = try reader.optionalStrings("tokenizer.ggml.merges") ?? []
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

        let p = architecture + "."
        let hidden = try reader.positiveInt(p + "embedding_length")
        let headCount = try reader.positiveInt(p + "attention.head_count")
        let kvHeadCount = try reader.optionalPositiveInt(p + "attention.head_count_kv") ?? headCount
        guard hidden % headCount == 0 || file.metadata[p + "attention.key_length"] != nil else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "embedding_length",
                                                 problem: "\(hidden) is not divisible by the head count \(headCount)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "attention.head_count_kv",
                                                 problem: "\(kvHeadCount) does not divide the head count \(headCount)")
        }
        let headDim = try reader.optionalPositiveInt(p + "attention.key_length") ?? hidden / headCount
        if let valueDim = try reader.optionalPositiveInt(p + "attention.value_length"), valueDim != headDim {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "attention.value_length",
                                                 problem: "\(valueDim) differs from the key length \(headDim); not supported")
        }
        if let ropeDim = try reader.optionalPositiveInt(p + "rope.dimension_count"), ropeDim != headDim {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "rope.dimension_count",
                                                 problem: "partial rotary (\(ropeDim) of \(headDim) dims) is not supported")
        }
        if file.tensors["rope_freqs.weight"] != nil {
            throw ModelLoadError.invalidMetadata(path: file.path, key: "rope_freqs.weight",
                                                 problem: "per-frequency RoPE factors (Llama 3.1 scaling) are not supported")
        }
        let contextLength = try reader.positiveInt(p + "context_length")
        config = ModelConfig(
            architecture: architecture,
            layerCount: try reader.positiveInt(p + "block_count"),
            hiddenSize: hidden,
            intermediateSize: try reader.positiveInt(p + "feed_forward_length"),
            headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim,
            vocabSize: vocabSize, contextLength: contextLength,
            ropeTheta: try reader.optionalFloat(p + "rope.freq_base") ?? 10_000,
            ropeScaling: try reader.ropeScaling(prefix: p),
            rmsNormEpsilon: try reader.float(p + "attention.layer_norm_rms_epsilon"),
            tiedEmbeddings: file.tensors["output.weight"] == nil)
        try validateTensors()
    }

    public func tensor(_ name: String) throws -> [Float] { try file.floats(name) }

    public func shape(_ name: String) -> [Int]? { file.tensors[name]?.dims }

    /// Names and ggml dims every Llama tensor must have under `config`.
    public static func expectedShapes(_ c: ModelConfig) -> [(String, [Int])] {
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim
        var shapes: [(String, [Int])] = [("token_embd.weight", [c.hiddenSize, c.vocabSize]),
                                         ("output_norm.weight", [c.hiddenSize])]
        if !c.tiedEmbeddings { shapes.append(("output.weight", [c.hiddenSize, c.vocabSize])) }
        for layer in 0..<c.layerCount {
            let b = "blk.\(layer)."
            shapes += [(b + "attn_norm.weight", [c.hiddenSize]), (b + "attn_q.weight", [c.hiddenSize, q]),
                       (b + "attn_k.weight", [c.hiddenSize, kv]), (b + "attn_v.weight", [c.hiddenSize, kv]),
                       (b + "attn_output.weight", [q, c.hiddenSize]), (b + "ffn_norm.weight", [c.hiddenSize]),
                       (b + "ffn_gate.weight", [c.hiddenSize, c.intermediateSize]),
                       (b + "ffn_up.weight", [c.hiddenSize, c.intermediateSize]),
                       (b + "ffn_down.weight", [c.intermediateSize, c.hiddenSize])]
        }
        return shapes
    }

    private func validateTensors() throws {
        for (name, expected) in Self.expectedShapes(config) {
            guard let info = file.tensors[name] else { throw ModelLoadError.missingTensor(path: file.path, tensor: name) }
            // ggml drops trailing 1-sized dims inconsistently across writers; compare without them.
            var found = info.dims
            while found.count > expected.count, found.last == 1 { found.removeLast() }
            guard found == expected else {
                throw ModelLoadError.tensorShapeMismatch(path: file.path, tensor: name, expected: expected, found: info.dims)
            }
            guard info.type.isDequantizable else {
                throw ModelLoadError.unsupportedTensorType(path: file.path, tensor: name, type: info.type.name)
            }
        }
    }
}
