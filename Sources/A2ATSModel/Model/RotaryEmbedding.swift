import Foundation

/// Rotary position embedding (Su et al., arXiv 2104.09864) in llama.cpp's "normal" layout:
/// adjacent pairs (x[2i], x[2i+1]) rotate by pos·θ_i with θ_i = base^(−2i/d). GGUF files store
/// the Q/K projection rows permuted for exactly this layout, so weights are used as stored.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    /// θ_i per pair, after any frequency scaling (llama3, yarn) — `headDim / 2` values; for
    /// dynamic NTK, the frequencies of sequences within the original context.
    public let inverseFrequencies: [Double]
    /// Positions are divided by this (linear scaling); 1 otherwise.
    public let positionScale: Double
    /// Cosines and sines are multiplied by this (YaRN's attention factor); 1 otherwise.
    public let attentionScale: Double
    /// Dynamic NTK (`factor`, `max_position_embeddings`, `rope_theta`): frequencies grow with the
    /// sequence length once it passes the original context; nil for the other kinds.
    let dynamic: (factor: Double, original: Int, base: Double)?

    public init(config: ModelConfig) {
        headDim = config.headDim
        let d = Double(config.headDim), base = Double(config.ropeTheta)
        var frequencies = Self.frequencies(base: base, headDim: config.headDim)
        var scale = 1.0, attention = 1.0
        var dynamic: (factor: Double, original: Int, base: Double)?
        if let scaling = config.ropeScaling {
            let factor = Double(scaling.factor)
            switch scaling.kind {
            case .linear:
                scale = factor
            case .dynamic:
                dynamic = (factor, config.contextLength, base)
            case .llama3:
                let original = Double(scaling.originalContextLength ?? config.contextLength)
                let lowWavelength = original / Double(scaling.lowFrequencyFactor)
                let highWavelength = original / Double(scaling.highFrequencyFactor)
                frequencies = frequencies.map { frequency in
                    let wavelength = 2 * Double.pi / frequency
                    if wavelength < highWavelength { return frequency }
                    if wavelength > lowWavelength { return frequency / factor }
                    let smooth = (original / wavelength - Double(scaling.lowFrequencyFactor))
                        / Double(scaling.highFrequencyFactor - scaling.lowFrequencyFactor)
                    return (1 - smooth) * frequency / factor + smooth * frequency
                }
            case .yarn:
                // transformers' `_compute_yarn_parameters`: dimensions rotating fewer than
                // `beta_slow` times over the original context are interpolated (θ/factor), more
                // than `beta_fast` times kept, with a linear ramp between.
                let original = Double(scaling.originalContextLength ?? config.contextLength)
                func correctionDimension(_ rotations: Double) -> Double {
                    d * log(original / (rotations * 2 * Double.pi)) / (2 * log(base))
                }
                var low = correctionDimension(scaling.betaFast), high = correctionDimension(scaling.betaSlow)
                if scaling.truncate { (low, high) = (low.rounded(.down), high.rounded(.up)) }
                (low, high) = (max(low, 0), min(high, d - 1))
                if low == high { high += 0.001 }
                frequencies = frequencies.enumerated().map { i, frequency in
                    let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
                    let extrapolation = 1 - ramp
                    return frequency / factor * (1 - extrapolation) + frequency * extrapolation
                }
                attention = scaling.attentionFactor
            }
        }
        inverseFrequencies = frequencies
        positionScale = scale
        attentionScale = attention
        self.dynamic = dynamic
    }

    /// base^(−2i/d) for the `headDim / 2` pairs.
    static func frequencies(base: Double, headDim: Int) -> [Double] {
        (0..<headDim / 2).map { pow(base, -2 * Double($0) / Double(headDim)) }
    }

    /// Pair `i`'s frequency for a sequence of `length` positions. Dynamic NTK follows
    /// transformers' `_compute_dynamic_ntk_parameters` and `dynamic_rope_update`: a forward over
    /// positions up to L uses base · (factor·L/original − (factor − 1))^(d/(d−2)) once L exceeds
    /// the original context, so a prompt's positions share one base and each decoded token gets
    /// the base of its own length (cached keys keep theirs).
    @inline(__always)
    func frequency(_ i: Int, sequenceLength length: Int) -> Double {
        guard let dynamic, length > dynamic.original else { return inverseFrequencies[i] }
        let d = Double(headDim)
        let ratio = dynamic.factor * Double(length) / Double(dynamic.original) - (dynamic.factor - 1)
        return pow(dynamic.base * pow(ratio, d / (d - 2)), -2 * Double(i) / d)
    }

    /// One position's angles (`headDim / 2` cosines and sines, YaRN-scaled) in a forward over
    /// `sequenceLength` positions, in double precision so long positions stay exact.
    @inline(__always)
    public func angles(position: Int, sequenceLength: Int, cos cosines: UnsafeMutablePointer<Float>,
                       sin sines: UnsafeMutablePointer<Float>) {
        let scaled = Double(position) / positionScale
        for i in 0..<headDim / 2 {
            let angle = scaled * frequency(i, sequenceLength: sequenceLength)
            cosines[i] = Float(cos(angle) * attentionScale)
            sines[i] = Float(sin(angle) * attentionScale)
        }
    }

    /// Cosines and sines for `count` consecutive positions from `start` (one forward over
    /// `start + count` positions): two arrays of `count × headDim/2`.
    public func table(start: Int, count: Int) -> (cos: [Float], sin: [Float]) {
        let half = headDim / 2
        var cosines = [Float](repeating: 0, count: count * half)
        var sines = [Float](repeating: 0, count: count * half)
        cosines.withUnsafeMutableBufferPointer { c in sines.withUnsafeMutableBufferPointer { s in
            for t in 0..<count {
                angles(position: start + t, sequenceLength: start + count, cos: c.baseAddress! + t * half,
                       sin: s.baseAddress! + t * half)
            }
        } }
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
