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

    /// Angular frequency of each pair, with Hugging Face's `linear` and `llama3` scaling rules.
    public static func frequencies(headDim: Int, ropeTheta: Float, scaling: RoPEScaling?, contextLength: Int) -> [Double] {
        let base = Double(ropeTheta)
        let raw = (0 ..< headDim / 2).map { pow(base, -2 * Double($0) / Double(headDim)) }
        guard let scaling else { return raw }
        let factor = Double(scaling.factor)
        switch scaling.kind {
        case .linear:
            return raw.map { $0 / factor }
        case .llama3:
            let original = Double(scaling.originalContextLength ?? contextLength)
            let low = Double(scaling.lowFrequencyFactor), high = Double(scaling.highFrequencyFactor)
            let lowWavelength = original / low, highWavelength = original / high
            return raw.map { frequency in
                let wavelength = 2 * Double.pi / frequency
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / factor }
                let smooth = (original / wavelength - low) / (high - low)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
        }
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
