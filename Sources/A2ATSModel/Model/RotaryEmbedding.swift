import Foundation

/// Rotary position embedding (Su et al., arXiv 2104.09864) in llama.cpp's "normal" layout:
/// adjacent pairs (x[2i], x[2i+1]) rotate by pos·θ_i with θ_i = base^(−2i/d). GGUF files store
/// the Q/K projection rows permuted for exactly this layout, so weights are used as stored.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    /// θ_i per pair, after any frequency scaling (llama3) — `headDim / 2` values.
    public let inverseFrequencies: [Double]
    /// Positions are divided by this (linear scaling); 1 otherwise.
    public let positionScale: Double

    public init(config: ModelConfig) {
        headDim = config.headDim
        var frequencies = (0..<config.headDim / 2).map {
            pow(Double(config.ropeTheta), -2 * Double($0) / Double(config.headDim))
        }
        var scale = 1.0
        if let scaling = config.ropeScaling {
            switch scaling.kind {
            case .linear:
                scale = Double(scaling.factor)
            case .llama3:
                let original = Double(scaling.originalContextLength ?? config.contextLength)
                let lowWavelength = original / Double(scaling.lowFrequencyFactor)
                let highWavelength = original / Double(scaling.highFrequencyFactor)
                let factor = Double(scaling.factor)
                frequencies = frequencies.map { frequency in
                    let wavelength = 2 * Double.pi / frequency
                    if wavelength < highWavelength { return frequency }
                    if wavelength > lowWavelength { return frequency / factor }
                    let smooth = (original / wavelength - Double(scaling.lowFrequencyFactor))
                        / Double(scaling.highFrequencyFactor - scaling.lowFrequencyFactor)
                    return (1 - smooth) * frequency / factor + smooth * frequency
                }
            }
        }
        inverseFrequencies = frequencies
        positionScale = scale
    }

    /// Cosines and sines for `count` consecutive positions from `start`: two arrays of
    /// `count × headDim/2`, computed in double precision so long positions stay exact.
    public func table(start: Int, count: Int) -> (cos: [Float], sin: [Float]) {
        let half = headDim / 2
        var cosines = [Float](repeating: 0, count: count * half)
        var sines = [Float](repeating: 0, count: count * half)
        for t in 0..<count {
            let position = Double(start + t) / positionScale
            for i in 0..<half {
                let angle = position * inverseFrequencies[i]
                cosines[t * half + i] = Float(cos(angle))
                sines[t * half + i] = Float(sin(angle))
            }
        }
        return (cosines, sines)
    }

    /// Rotates `heads` vectors of `headDim` at `x` (consecutive) by one position's angles.
    @inline(__always)
    public func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int,
                       cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = headDim / 2
        for head in 0..<heads {
            let v = x + head * headDim
            for i in 0..<half {
                let a = v[2 * i], b = v[2 * i + 1]
                v[2 * i] = a * cos[i] - b * sin[i]
                v[2 * i + 1] = a * sin[i] + b * cos[i]
            }
        }
    }
}
