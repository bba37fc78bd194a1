import A2ATSTensor
import Foundation

/// A Llama-family decoder (RMSNorm, RoPE, GQA attention with any group size, optional Q/K/V
/// biases as Qwen2 has them, SwiGLU MLP) on f32 weights.
///
/// Prefill pushes the whole prompt through `cblas_sgemm`; attention over long prompts is
/// blocked by query rows so no n×n matrix ever exists. Decode reuses the KV cache and hands
/// the choice of tokens to read to a `CacheMethod` (see `DecodeAttention`).
public final class LlamaModel {
    public let config: ModelConfig
    let weights: LlamaWeights
    let rope: RotaryEmbedding

    /// Query rows per attention block in prefill: large enough for efficient sgemm,
    /// small enough that a block's score rows (`rows × n`) stay in cache-friendly sizes.
    static let prefillBlockRows = 128

    /// Which copy of the projection weights decode streams: the file's compact blocks (the
    /// default; a step is bound by bytes read) or the matrices prefill uses (f32 for a GGUF, for
    /// comparison; a checkpoint's 16-bit floats are one copy serving both).
    public enum DecodeWeights: String, Sendable { case compact, f32 }
    public var decodeWeights: DecodeWeights = .compact {
        didSet { precondition(decodeWeights == .compact || hasF32Weights, "f32 decode needs the f32 copies (PrefillWeights.f32)") }
    }

    /// Where the prefill reads quantized weights from (manifests record it).
    public var prefillWeights: PrefillWeights { weights.prefillWeights }

    /// Whether the matrices prefill multiplies are in memory, as `decodeWeights = .f32` needs.
    public var hasF32Weights: Bool { weights.layers.allSatisfy { $0.prefill.resident != nil } && residentHead != nil }

    /// The LM head prefill multiplies, when it is in memory.
    private var residentHead: QuantizedMatrix? { (weights.lmHead ?? weights.embedding).resident }

    /// Weight bytes one decode step reads (projections and LM head) under `decodeWeights`.
    public var decodeWeightBytesPerStep: Int {
        let layers = weights.layers.reduce(0) {
            $0 + (decodeWeights == .compact ? $1.decode.bytesRead : $1.prefill.resident!.bytesRead)
        }
        return layers + decodeHeadBytesPerStep
    }

    /// Of `decodeWeightBytesPerStep`, the LM head's bytes.
    public var decodeHeadBytesPerStep: Int {
        let head = decodeWeights == .compact ? weights.outputHead : nil
        return (head ?? residentHead!).bytesRead
    }

    /// `prefillWeights` nil: chosen by `PrefillWeights.choose` (the size of the f32 copies, or
    /// `A2ATS_PREFILL_WEIGHTS`).
    public init(source: WeightSource, prefillWeights: PrefillWeights? = nil) throws {
        config = source.config
        weights = try LlamaWeights(source: source, prefillWeights: prefillWeights)
        rope = RotaryEmbedding(config: config)
    }

    var qkvWidth: Int { (config.headCount + 2 * config.kvHeadCount) * config.headDim }

    /// Logits of the LM head for one normalized hidden state.
    func lmHead(_ hidden: UnsafePointer<Float>, into logits: UnsafeMutablePointer<Float>) {
        // Called for f32 decode, or when the file's head is f32 (so resident); else compact.
        (residentHead ?? weights.outputHead!).multiply(hidden, into: logits)
    }

    /// Copies token embeddings into `rows × hidden`.
    func embed(_ tokens: [Int], into x: UnsafeMutablePointer<Float>) {
        let hidden = config.hiddenSize
        for (row, token) in tokens.enumerated() { weights.embedding.copyRow(token, into: x + row * hidden) }
    }

    /// Splits one token's fused QKV row: stores pre-RoPE keys, rotates Q and K in place, and
    /// writes K/V into the cache at `position`.
    func storeKeysAndValues(qkvRow: UnsafeMutablePointer<Float>, layer: Int, position: Int, cache: KVCache,
                            cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let d = config.headDim
        let keyRow = qkvRow + config.headCount * d
        let valueRow = keyRow + config.kvHeadCount * d
        for kvHead in 0..<config.kvHeadCount {
            (cache.writablePreRoPEKeys(layer: layer, kvHead: kvHead) + position * d).update(from: keyRow + kvHead * d, count: d)
        }
        rope.rotate(qkvRow, heads: config.headCount, cos: cos, sin: sin)
        rope.rotate(keyRow, heads: config.kvHeadCount, cos: cos, sin: sin)
        for kvHead in 0..<config.kvHeadCount {
            (cache.writableKeys(layer: layer, kvHead: kvHead) + position * d).update(from: keyRow + kvHead * d, count: d)
            (cache.writableValues(layer: layer, kvHead: kvHead) + position * d).update(from: valueRow + kvHead * d, count: d)
        }
    }
}
