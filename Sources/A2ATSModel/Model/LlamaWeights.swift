import A2ATSTensor

/// One transformer block's weights, with projections fused so each step is one BLAS call.
struct LayerWeights {
    /// `hidden`
    var attentionNorm: [Float]
    /// `(headCount + 2·kvHeadCount)·headDim × hidden`: Q rows, then K, then V.
    var qkv: [Float]
    /// `(headCount + 2·kvHeadCount)·headDim`, added after the QKV projection (Qwen2); nil when
    /// the model has no projection biases.
    var qkvBias: [Float]?
    /// `hidden × headCount·headDim`
    var output: [Float]
    /// `hidden`
    var ffnNorm: [Float]
    /// `2·intermediate × hidden`: gate rows, then up rows.
    var gateUp: [Float]
    /// `hidden × intermediate`
    var down: [Float]
    /// The same four matrices for decode, compact where the file stores them compactly.
    var decode: DecodeMatrices
    /// The same four matrices as f32 for decode (sharing the arrays above, no copy), so a
    /// benchmark can compare the compact kernels with plain `sgemv`.
    var denseDecode: DecodeMatrices
}

/// Matrices decode reads once per token; kept in the file's block format when possible,
/// since a decode step is bound by the bytes of weights it streams.
struct DecodeMatrices {
    var qkv: QuantizedMatrix
    var output: QuantizedMatrix
    var gateUp: QuantizedMatrix
    var down: QuantizedMatrix

    /// Bytes one decode step streams through these four matrices.
    var bytesRead: Int { qkv.bytesRead + output.bytesRead + gateUp.bytesRead + down.bytesRead }
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

/// All weights of a Llama-family model in f32.
struct LlamaWeights {
    /// `vocab × hidden`
    var embedding: [Float]
    var layers: [LayerWeights]
    /// `hidden`
    var outputNorm: [Float]
    /// `vocab × hidden`; nil when tied to the embedding.
    var lmHead: [Float]?
    /// The LM head for decode in compact form, when the file stores it so.
    var outputHead: QuantizedMatrix?

    init(source: WeightSource) throws {
        let config = source.config
        func load(_ name: String, count: Int) throws -> [Float] {
            let values = try source.tensor(name)
            guard values.count == count else {
                throw ModelError.tensorShape(name: name, expected: count, found: values.count)
            }
            return values
        }
        let hidden = config.hiddenSize
        let qRows = config.headCount * config.headDim
        let kvRows = config.kvHeadCount * config.headDim
        let ffn = config.intermediateSize
        embedding = try load("token_embd.weight", count: config.vocabSize * hidden)
        layers = try (0..<config.layerCount).map { layer in
            let prefix = "blk.\(layer)."
            let qkv = try load(prefix + "attn_q.weight", count: qRows * hidden)
                + load(prefix + "attn_k.weight", count: kvRows * hidden)
                + load(prefix + "attn_v.weight", count: kvRows * hidden)
            let qkvBias = source.shape(prefix + "attn_q.bias") == nil ? nil
                : try load(prefix + "attn_q.bias", count: qRows) + load(prefix + "attn_k.bias", count: kvRows)
                    + load(prefix + "attn_v.bias", count: kvRows)
            let output = try load(prefix + "attn_output.weight", count: hidden * qRows)
            let gateUp = try load(prefix + "ffn_gate.weight", count: ffn * hidden)
                + load(prefix + "ffn_up.weight", count: ffn * hidden)
            let down = try load(prefix + "ffn_down.weight", count: hidden * ffn)
            /// Compact when every part is stored compactly in the same format, else f32.
            func decodeMatrix(_ names: [String], dense: [Float], cols: Int) -> QuantizedMatrix {
                let parts = names.compactMap { source.compactMatrix(prefix + $0) }
                return (parts.count == names.count ? QuantizedMatrix.stacked(parts) : nil)
                    ?? QuantizedMatrix(rows: dense.count / cols, cols: cols, values: dense)
            }
            return LayerWeights(
                attentionNorm: try load(prefix + "attn_norm.weight", count: hidden),
                qkv: qkv, qkvBias: qkvBias, output: output,
                ffnNorm: try load(prefix + "ffn_norm.weight", count: hidden),
                gateUp: gateUp, down: down,
                decode: DecodeMatrices(
                    qkv: decodeMatrix(["attn_q.weight", "attn_k.weight", "attn_v.weight"], dense: qkv, cols: hidden),
                    output: decodeMatrix(["attn_output.weight"], dense: output, cols: qRows),
                    gateUp: decodeMatrix(["ffn_gate.weight", "ffn_up.weight"], dense: gateUp, cols: hidden),
                    down: decodeMatrix(["ffn_down.weight"], dense: down, cols: ffn)),
                denseDecode: DecodeMatrices(
                    qkv: QuantizedMatrix(rows: qkv.count / hidden, cols: hidden, values: qkv),
                    output: QuantizedMatrix(rows: hidden, cols: qRows, values: output),
                    gateUp: QuantizedMatrix(rows: gateUp.count / hidden, cols: hidden, values: gateUp),
                    down: QuantizedMatrix(rows: hidden, cols: ffn, values: down)))
        }
        outputNorm = try load("output_norm.weight", count: hidden)
        outputHead = source.shape("output.weight") == nil ? source.compactMatrix("token_embd.weight")
            : source.compactMatrix("output.weight")
        lmHead = source.shape("output.weight") == nil ? nil : try load("output.weight", count: config.vocabSize * hidden)
    }
}

/// Why a model could not be built from its weights.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case tensorShape(name: String, expected: Int, found: Int)
    case contextTooLong(tokens: Int, maxPositions: Int)
    case emptyPrompt

    public var description: String {
        switch self {
        case .tensorShape(let name, let expected, let found):
            return "tensor \(name) has \(found) values, expected \(expected)"
        case .contextTooLong(let tokens, let maxPositions):
            return "\(tokens) tokens do not fit the model's context of \(maxPositions) positions"
        case .emptyPrompt:
            return "the prompt has no tokens"
        }
    }
}
