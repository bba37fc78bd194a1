/// A Llama-family model read from one GGUF file (`llama`, `qwen2`, `mistral`, `mistral3`; see
/// `GGUFArchitecture`): the config from `<arch>.*` metadata, the raw `tokenizer.ggml.*` fields for
/// the tokenizer to build on, and dequantized tensors on request, with Q/K rows in the
/// adjacent-pair RoPE order `WeightSource` promises whatever order the file stores them in.
/// Every tensor the architecture needs is checked on open (present, right dims, a type this
/// loader can dequantize) so that a bad file fails before any compute starts.
public final class GGUFModelSource: WeightSource {
    /// `general.architecture` values whose tensors and keys follow llama.cpp's Llama layout.
    public static let supportedArchitectures = GGUFArchitecture.known.map(\.name)

    public let file: GGUFFile
    public let config: ModelConfig
    public let architecture: GGUFArchitecture
    /// Whether the file has Q/K/V projection biases (`blk.N.attn_{q,k,v}.bias`).
    public let hasProjectionBias: Bool
    public var location: String { file.path }

    /// The `tokenizer.*` fields, as `GGUFTokenizerFields` reads them.
    public let tokenizerFields: GGUFTokenizerFields
    public var tokenizerModel: String { tokenizerFields.model }
    public var tokenizerTokens: [String] { tokenizerFields.tokens }
    public var tokenizerMerges: [String] { tokenizerFields.merges }
    public var tokenTypes: [Int] { tokenizerFields.tokenTypes }
    public var preTokenizer: String { tokenizerFields.preTokenizer }
    public var bosTokenID: Int? { tokenizerFields.bosTokenID }
    public var eosTokenID: Int? { tokenizerFields.eosTokenID }
    public var addBOS: Bool { tokenizerFields.addBOS }
    public var chatTemplate: String? { tokenizerFields.chatTemplate }

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    public init(file: GGUFFile) throws {
        self.file = file
        let reader = MetadataReader(file: file)
        let architectureName = try reader.string("general.architecture")
        guard let architecture = GGUFArchitecture.named(architectureName) else {
            throw ModelLoadError.unsupportedArchitecture(path: file.path, architecture: architectureName)
        }
        self.architecture = architecture
        hasProjectionBias = architecture.projectionBias == .required || file.tensors["blk.0.attn_q.bias"] != nil

        tokenizerFields = try GGUFTokenizerFields(file: file)
        let vocabSize = tokenizerFields.tokens.count

        let p = architectureName + "."
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
        // Sizes the tensor table cannot back are refused before the expected shapes are built
        // from them: a lying header could otherwise ask for billions of layers or wrap a product.
        let layerCount = try reader.positiveInt(p + "block_count")
        guard layerCount <= file.tensors.count / 9 else {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "block_count",
                                                 problem: "\(layerCount) layers need \(layerCount) × 9 tensors, the file has \(file.tensors.count)")
        }
        for (key, count) in [("attention.head_count", headCount), ("attention.head_count_kv", kvHeadCount)] {
            let (width, overflow) = count.multipliedReportingOverflow(by: headDim)
            guard !overflow, width <= Int(Int32.max) else {
                throw ModelLoadError.invalidMetadata(path: file.path, key: p + key,
                                                     problem: "\(count) heads × head dimension \(headDim) is larger than any tensor can be")
            }
        }
        let contextLength = try reader.positiveInt(p + "context_length")
        // The engine attends to the whole context; a window narrower than it (Mistral-7B-v0.1's
        // 4096 of 32768) would change the model, so it is refused rather than ignored (0: none).
        if file.metadata[p + "attention.sliding_window"]?.intValue != 0,
           let window = try reader.optionalPositiveInt(p + "attention.sliding_window"), window < contextLength {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "attention.sliding_window",
                                                 problem: "sliding-window attention (\(window) of \(contextLength) tokens) "
                                                     + "is not supported; this engine computes full attention")
        }
        if let scale = try reader.optionalFloat(p + "attention.temperature_scale"), scale != 0 {
            throw ModelLoadError.invalidMetadata(path: file.path, key: p + "attention.temperature_scale",
                                                 problem: "attention temperature scaling (\(scale)) is not supported")
        }
        config = ModelConfig(
            architecture: architectureName,
            layerCount: layerCount,
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

    public func tensor(_ name: String) throws -> [Float] {
        let values = try file.floats(name)
        guard let order = adjacentPairOrder(name) else { return values }
        let width = values.count / order.count
        var reordered = [Float](repeating: 0, count: values.count)
        for (row, stored) in order.enumerated() {
            reordered[(row * width)..<((row + 1) * width)] = values[(stored * width)..<((stored + 1) * width)]
        }
        return reordered
    }

    /// For a Q/K weight or bias of a `.halves` file: the stored row each engine row reads; nil
    /// when the tensor is used in stored order.
    func adjacentPairOrder(_ name: String) -> [Int]? {
        guard architecture.ropeLayout == .halves, GGUFArchitecture.isRotated(name),
              let dims = file.tensors[name]?.dims else { return nil }
        let rows = name.hasSuffix(".bias") ? dims[0] : dims[1]
        return GGUFArchitecture.adjacentPairOrder(rows: rows, headDim: config.headDim)
    }

    public func shape(_ name: String) -> [Int]? { file.tensors[name]?.dims }

    /// Names and ggml dims every Llama tensor must have under `config` (and the Q/K/V biases
    /// when `projectionBias`).
    public static func expectedShapes(_ c: ModelConfig, projectionBias: Bool = false) -> [(String, [Int])] {
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
            if projectionBias { shapes += [(b + "attn_q.bias", [q]), (b + "attn_k.bias", [kv]), (b + "attn_v.bias", [kv])] }
        }
        return shapes
    }

    private func validateTensors() throws {
        for (name, expected) in Self.expectedShapes(config, projectionBias: hasProjectionBias) {
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
