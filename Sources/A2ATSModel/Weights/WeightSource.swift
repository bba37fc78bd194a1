/// A model's weights as the forward pass needs them: a config plus named f32 tensors. GGUF is
/// one implementation; a safetensors/`config.json` loader is meant to be another, mapping its
/// tensor names onto the GGUF names used here so the forward pass never knows the format.
///
/// Tensor names (GGUF convention): `token_embd.weight`, `blk.N.attn_norm.weight`,
/// `blk.N.attn_q.weight`, `blk.N.attn_k.weight`, `blk.N.attn_v.weight`,
/// `blk.N.attn_output.weight`, `blk.N.ffn_norm.weight`, `blk.N.ffn_gate.weight`,
/// `blk.N.ffn_up.weight`, `blk.N.ffn_down.weight`, `output_norm.weight`, and
/// `output.weight` unless `config.tiedEmbeddings`, and optionally `blk.N.attn_{q,k,v}.bias`
/// (Qwen2). Q/K rows (and their biases) are in llama.cpp's "normal" order (RoPE rotates
/// adjacent pairs), whatever order the file stores them in.
import A2ATSTensor

public protocol WeightSource: AnyObject {
    var config: ModelConfig { get }
    /// Where the weights came from (file or directory), for messages and manifests.
    var location: String { get }
    /// Tensor `name` as f32, `shape[0]` fastest: a matrix of shape `[in, out]` is `out` rows of
    /// `in` floats, so y = W·x reads row r at `r * in`.
    func tensor(_ name: String) throws -> [Float]
    /// Dimensions of `name` in ggml order (ne0 first), nil if the model has no such tensor.
    func shape(_ name: String) -> [Int]?
    /// Matrix `name` in its stored block format when the decode kernels can use it as is
    /// (Q4_1, Q8_0, Q5_0, Q4_K, Q6_K), so decode streams compact weights; nil means "use `tensor(_:)`".
    func compactMatrix(_ name: String) -> QuantizedMatrix?
    /// Matrix `name`'s rows where they can be read from a mapped file and dequantized on demand
    /// (`PrefillWeights.mapped`); nil means the prefill keeps its own copy.
    func mappedRows(_ name: String) -> MappedRows?
}

extension WeightSource {
    /// Default: no compact form; decode multiplies the f32 tensor.
    public func compactMatrix(_ name: String) -> QuantizedMatrix? { nil }
    /// Default: nothing mapped.
    public func mappedRows(_ name: String) -> MappedRows? { nil }
}
