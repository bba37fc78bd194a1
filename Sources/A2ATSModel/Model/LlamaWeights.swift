import A2ATSTensor

/// Where a model's named tensors come from (GGUF today, safetensors beside it). Names are
/// GGUF's (`blk.3.attn_q.weight`); matrices are `out × in` rows, dequantized to f32.
public protocol WeightSource {
    var config: ModelConfig { get }
    /// Row-major values of a tensor, its first GGUF dimension fastest.
    func tensor(_ name: String) throws -> [Float]
    /// GGUF dimensions (fastest first), or nil when the tensor is absent.
    func shape(_ name: String) -> [Int]?
}

/// One transformer block's weights, with projections fused so each step is one BLAS call.
struct LayerWeights {
    /// `hidden`
    var attentionNorm: [Float]
    /// `(headCount + 2·kvHeadCount)·headDim × hidden`: Q rows, then K, then V.
    var qkv: [Float]
    /// `hidden × headCount·headDim`
    var output: [Float]
    /// `hidden`
    var ffnNorm: [Float]
    /// `2·intermediate × hidden`: gate rows, then up rows.
    var gateUp: [Float]
    /// `hidden × intermediate`
    var down: [Float]
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
            return LayerWeights(
                attentionNorm: try load(prefix + "attn_norm.weight", count: hidden),
                qkv: try load(prefix + "attn_q.weight", count: qRows * hidden)
                    + load(prefix + "attn_k.weight", count: kvRows * hidden)
                    + load(prefix + "attn_v.weight", count: kvRows * hidden),
                output: try load(prefix + "attn_output.weight", count: hidden * qRows),
                ffnNorm: try load(prefix + "ffn_norm.weight", count: hidden),
                gateUp: try load(prefix + "ffn_gate.weight", count: ffn * hidden)
                    + load(prefix + "ffn_up.weight", count: ffn * hidden),
                down: try load(prefix + "ffn_down.weight", count: hidden * ffn))
        }
        outputNorm = try load("output_norm.weight", count: hidden)
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
