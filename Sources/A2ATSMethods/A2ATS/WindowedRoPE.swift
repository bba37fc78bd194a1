import Foundation
import A2ATSModel

/// Windowed RoPE (A²ATS, arXiv 2502.12665, §3.1): a far key j is ranked as if it sat at one fixed
/// distance b from the query, so the score (q R_b) · k_j needs only the *pre-RoPE* key and one
/// rotation of the query per step, and the keys can be quantized position-free.
///
/// Convention of this engine (GGUF / llama.cpp "normal" RoPE): adjacent pairs (x[2i], x[2i+1])
/// rotate by angle pos·θ_i with θ_i = base^(−2i/d), after the model's frequency scaling. Since a
/// rotation is orthogonal, R(i)q · R(j)k = R(i−j)q · k: rotating the pre-RoPE query *forward* by
/// b = i − j reproduces the true post-RoPE score at that distance exactly.
public struct WindowedRoPE: Sendable {
    public let headDim: Int
    /// The fixed relative position b.
    public let offset: Int
    private let cosines: [Float]   // headDim / 2
    private let sines: [Float]

    public init(headDim: Int, ropeTheta: Float, scaling: RoPEScaling?, contextLength: Int, offset: Int) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension")
        self.headDim = headDim
        self.offset = offset
        let frequencies = Self.frequencies(headDim: headDim, ropeTheta: ropeTheta, scaling: scaling,
                                           contextLength: contextLength)
        cosines = frequencies.map { Float(cos(Double(offset) * $0)) }
        sines = frequencies.map { Float(sin(Double(offset) * $0)) }
    }

    public init(config: ModelConfig, offset: Int) {
        self.init(headDim: config.headDim, ropeTheta: config.ropeTheta, scaling: config.ropeScaling,
                  contextLength: config.contextLength, offset: offset)
    }

    /// Angular frequency of each pair after the model's scaling, as the engine's
    /// `RotaryEmbedding` computes it (linear, llama3, yarn; dynamic NTK at its original-context
    /// frequencies, which a position-free ranking cannot follow as the sequence grows).
    public static func frequencies(headDim: Int, ropeTheta: Float, scaling: RoPEScaling?, contextLength: Int) -> [Double] {
        let config = ModelConfig(layerCount: 1, hiddenSize: headDim, intermediateSize: 1, headCount: 1, kvHeadCount: 1,
                                 headDim: headDim, vocabSize: 1, contextLength: contextLength, ropeTheta: ropeTheta,
                                 ropeScaling: scaling, rmsNormEpsilon: 0, tiedEmbeddings: true)
        let rope = RotaryEmbedding(config: config)
        return rope.inverseFrequencies.map { $0 / rope.positionScale }
    }

    /// Writes q R_b for one head (`headDim` floats); `input` and `output` may not overlap.
    @inline(__always)
    public func rotate(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        for i in 0 ..< headDim / 2 {
            let x0 = input[2 * i], x1 = input[2 * i + 1]
            let c = cosines[i], s = sines[i]
            output[2 * i] = x0 * c - x1 * s
            output[2 * i + 1] = x0 * s + x1 * c
        }
    }
}
