import A2ATSTensor

/// One transformer block's weights, with projections fused so each step is one matrix product.
struct LayerWeights {
    /// `hidden`
    var attentionNorm: [Float]
    /// `(headCount + 2·kvHeadCount)·headDim`, added after the QKV projection (Qwen2); nil when
    /// the model has no projection biases.
    var qkvBias: [Float]?
    /// `hidden`
    var ffnNorm: [Float]
    /// The matrices prefill multiplies in batches: f32 (a GGUF's weights dequantized once), the
    /// GGUF's mapped blocks dequantized per panel (`PrefillWeights.mapped`), or a checkpoint's
    /// bf16/f16 values kept at 2 bytes a weight and widened panel by panel.
    var prefill: PrefillProjections
    /// The same four matrices for decode, compact where the file stores them compactly (GGUF
    /// blocks; a checkpoint's 16-bit floats are the `prefill` matrices themselves, not a copy).
    var decode: ProjectionMatrices
}

/// A layer's four projections. Decode reads each once per token and is bound by their bytes.
struct ProjectionMatrices {
    /// `(headCount + 2·kvHeadCount)·headDim × hidden`: Q rows, then K, then V.
    var qkv: QuantizedMatrix
    /// `hidden × headCount·headDim`
    var output: QuantizedMatrix
    /// `2·intermediate × hidden`: gate rows, then up rows.
    var gateUp: QuantizedMatrix
    /// `hidden × intermediate`
    var down: QuantizedMatrix

    /// Bytes one decode step streams through these four matrices.
    var bytesRead: Int { qkv.bytesRead + output.bytesRead + gateUp.bytesRead + down.bytesRead }
}

/// A layer's four projections as the prefill multiplies them.
struct PrefillProjections {
    var qkv: PrefillMatrix
    var output: PrefillMatrix
    var gateUp: PrefillMatrix
    var down: PrefillMatrix

    /// The four as matrices in memory (f32 decode multiplies them); nil when they are mapped.
    var resident: ProjectionMatrices? {
        guard let qkv = qkv.resident, let output = output.resident, let gateUp = gateUp.resident,
              let down = down.resident else { return nil }
        return ProjectionMatrices(qkv: qkv, output: output, gateUp: gateUp, down: down)
    }
}

extension LayerWeights {
    /// Adds the QKV bias (if any) to `count` fused QKV rows `stride` apart.
    func addQKVBias(_ rows: UnsafeMutablePointer<Float>, count: Int, stride: Int) {
        guard let qkvBias else { return }
        qkvBias.withUnsafeBufferPointer { bias in
            for row in 0..<count {
                let out = rows + row * stride
                for i in 0..<bias.count { out[i] += bias[i] }
            }
        }
    }
}

/// All weights of a Llama-family model.
struct LlamaWeights {
    /// `vocab × hidden` for prefill and token lookup.
    var embedding: PrefillMatrix
    var layers: [LayerWeights]
    /// `hidden`
    var outputNorm: [Float]
    /// `vocab × hidden` for prefill; nil when tied to the embedding.
    var lmHead: PrefillMatrix?
    /// The LM head for decode in compact form, when the file stores it so.
    var outputHead: QuantizedMatrix?
    /// Where prefill reads the quantized matrices from.
    let prefillWeights: PrefillWeights

    /// `prefillWeights` nil: `PrefillWeights.choose` by the size the f32 copies would have.
    init(source: WeightSource, prefillWeights: PrefillWeights? = nil) throws {
        let config = source.config
        func load(_ name: String, count: Int) throws -> [Float] {
            let values = try source.tensor(name)
            guard values.count == count else {
                throw ModelError.tensorShape(name: name, expected: count, found: values.count)
            }
            return values
        }
        let layerMatrices = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        let matrixNames = ["token_embd.weight", "output.weight"]
            + (0..<config.layerCount).flatMap { layer in layerMatrices.map { "blk.\(layer).\($0).weight" } }
        // Matrices the decode kernels keep compact but prefill cannot read as they are.
        let copied = matrixNames.compactMap { source.mappedRows($0) }.filter(\.hasCompactForm)
        let policy = try prefillWeights ?? PrefillWeights.choose(f32Bytes: copied.reduce(0) { $0 + 4 * $1.rows * $1.cols })
        self.prefillWeights = policy
        /// The rows of `names` stacked (`rows` each, `cols` wide) for prefill and for decode: the
        /// source's compact form serves both when prefill can read it, else prefill gets f32 or,
        /// under `.mapped`, the file's rows.
        func matrices(_ names: [String], rows: [Int], cols: Int) throws -> (prefill: PrefillMatrix, decode: QuantizedMatrix) {
            let parts = names.compactMap { source.compactMatrix($0) }
            let compact = parts.count == names.count ? QuantizedMatrix.stacked(parts) : nil
            if let compact, compact.rows != rows.reduce(0, +) || compact.cols != cols {
                throw ModelError.tensorShape(name: names.joined(separator: "+"), expected: rows.reduce(0, +) * cols,
                                             found: compact.rows * compact.cols)
            }
            if let compact, compact.isBatchReadable { return (.resident(compact), compact) }
            let mapped = names.compactMap { source.mappedRows($0) }
            if policy == .mapped, let compact, mapped.count == names.count { return (.mapped(mapped), compact) }
            let dense = try zip(names, rows).flatMap { try load($0, count: $1 * cols) }
            let f32 = QuantizedMatrix(rows: dense.count / cols, cols: cols, values: dense)
            return (.resident(f32), compact ?? f32)
        }
        let hidden = config.hiddenSize
        let qRows = config.headCount * config.headDim
        let kvRows = config.kvHeadCount * config.headDim
        let ffn = config.intermediateSize
        let embeddings = try matrices(["token_embd.weight"], rows: [config.vocabSize], cols: hidden)
        embedding = embeddings.prefill
        layers = try (0..<config.layerCount).map { layer in
            let prefix = "blk.\(layer)."
            let qkvBias = source.shape(prefix + "attn_q.bias") == nil ? nil
                : try load(prefix + "attn_q.bias", count: qRows) + load(prefix + "attn_k.bias", count: kvRows)
                    + load(prefix + "attn_v.bias", count: kvRows)
            let qkv = try matrices(["attn_q.weight", "attn_k.weight", "attn_v.weight"].map { prefix + $0 },
                                   rows: [qRows, kvRows, kvRows], cols: hidden)
            let output = try matrices([prefix + "attn_output.weight"], rows: [hidden], cols: qRows)
            let gateUp = try matrices([prefix + "ffn_gate.weight", prefix + "ffn_up.weight"], rows: [ffn, ffn], cols: hidden)
            let down = try matrices([prefix + "ffn_down.weight"], rows: [hidden], cols: ffn)
            return LayerWeights(
                attentionNorm: try load(prefix + "attn_norm.weight", count: hidden), qkvBias: qkvBias,
                ffnNorm: try load(prefix + "ffn_norm.weight", count: hidden),
                prefill: PrefillProjections(qkv: qkv.prefill, output: output.prefill, gateUp: gateUp.prefill,
                                            down: down.prefill),
                decode: ProjectionMatrices(qkv: qkv.decode, output: output.decode, gateUp: gateUp.decode,
                                           down: down.decode))
        }
        outputNorm = try load("output_norm.weight", count: hidden)
        if source.shape("output.weight") == nil {
            lmHead = nil
            outputHead = embeddings.decode.format == .f32 ? nil : embeddings.decode
        } else {
            let head = try matrices(["output.weight"], rows: [config.vocabSize], cols: hidden)
            lmHead = head.prefill
            outputHead = head.decode.format == .f32 ? nil : head.decode
        }
    }
}

/// Why a model could not be built from its weights.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case tensorShape(name: String, expected: Int, found: Int)
    case contextTooLong(tokens: Int, maxPositions: Int)
    case emptyPrompt
    case unknownPrefillWeights(String)

    public var description: String {
        switch self {
        case .tensorShape(let name, let expected, let found):
            return "tensor \(name) has \(found) values, expected \(expected)"
        case .contextTooLong(let tokens, let maxPositions):
            return "\(tokens) tokens do not fit the model's context of \(maxPositions) positions"
        case .emptyPrompt:
            return "the prompt has no tokens"
        case .unknownPrefillWeights(let name):
            return "A2ATS_PREFILL_WEIGHTS=\(name) is not one of " + PrefillWeights.allCases.map(\.rawValue).joined(separator: ", ")
        }
    }
}
