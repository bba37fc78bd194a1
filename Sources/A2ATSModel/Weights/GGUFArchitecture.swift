/// What differs between the GGUF architectures this engine runs. All follow llama.cpp's Llama
/// tensor layout (RMSNorm, RoPE, GQA, SwiGLU); they differ in how the file orders the rotated
/// Q/K rows and in the Q/K/V projection biases (llama.cpp `llm_arch`, `llama_model_rope_type`,
/// and the tensors `llm_build_qwen2` reads). Mistral models are Llama's graph: llama.cpp's
/// converter writes `MistralForCausalLM` as `llama`, other writers (and `transformers`' GGUF
/// loader) use `mistral`, and llama.cpp's `mistral3` (Mistral Small 3.x) is Llama plus optional
/// attention-temperature scaling, which the loader refuses, as it does a binding sliding window.
public struct GGUFArchitecture: Sendable, Equatable {
    /// How a file lays out the two halves of each rotated pair within a head.
    public enum RoPELayout: Sendable, Equatable {
        /// llama.cpp's `LLAMA_ROPE_TYPE_NORM`: pairs (x[2i], x[2i+1]); Llama converters permute
        /// Q/K rows into this order, which is the order the engine computes in.
        case adjacentPairs
        /// `LLAMA_ROPE_TYPE_NEOX`: pairs (x[i], x[i + d/2]), Hugging Face's `rotate_half`,
        /// stored unpermuted (Qwen2). The loader reorders Q/K rows (and biases) into adjacent
        /// pairs so that prefill, decode and every method that rotates keys share one layout;
        /// q·k is unchanged because queries and keys are reordered alike.
        case halves
    }

    /// Whether `blk.N.attn_{q,k,v}.bias` are part of the architecture.
    public enum ProjectionBias: Sendable, Equatable {
        /// Used when the file has them (llama.cpp loads them as optional for Llama).
        case optional
        /// Qwen2 always has them: a file without them is malformed.
        case required
    }

    public let name: String
    public let ropeLayout: RoPELayout
    public let projectionBias: ProjectionBias

    /// Every `general.architecture` value the engine runs.
    public static let known: [GGUFArchitecture] = [
        GGUFArchitecture(name: "llama", ropeLayout: .adjacentPairs, projectionBias: .optional),
        GGUFArchitecture(name: "qwen2", ropeLayout: .halves, projectionBias: .required),
        GGUFArchitecture(name: "mistral", ropeLayout: .adjacentPairs, projectionBias: .optional),
        GGUFArchitecture(name: "mistral3", ropeLayout: .adjacentPairs, projectionBias: .optional),
    ]

    public static func named(_ name: String) -> GGUFArchitecture? { known.first { $0.name == name } }

    /// Tensors whose rows are rotated by RoPE (so a `.halves` file's rows are reordered on load).
    static func isRotated(_ tensor: String) -> Bool {
        tensor.hasSuffix(".attn_q.weight") || tensor.hasSuffix(".attn_k.weight")
            || tensor.hasSuffix(".attn_q.bias") || tensor.hasSuffix(".attn_k.bias")
    }

    /// For `rows` rows made of heads of `headDim`: the stored row that engine row r reads, turning
    /// halves (i, i + d/2) into adjacent pairs (2i, 2i + 1) in every head.
    static func adjacentPairOrder(rows: Int, headDim: Int) -> [Int] {
        let half = headDim / 2
        return (0..<rows).map { row in
            let head = row / headDim, within = row % headDim
            return head * headDim + within / 2 + (within % 2) * half
        }
    }
}
