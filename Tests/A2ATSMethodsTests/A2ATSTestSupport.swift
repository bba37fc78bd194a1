import XCTest
import A2ATSModel
import A2ATSTensor
@testable import A2ATSMethods

/// Small synthetic GQA shapes for the A²ATS tests (no model needed).
enum A2ATSFixture {
    static func config(layers: Int = 1, heads: Int = 6, kvHeads: Int = 2, headDim: Int = 8) -> ModelConfig {
        ModelConfig(layerCount: layers, hiddenSize: heads * headDim, intermediateSize: 16, headCount: heads,
                    kvHeadCount: kvHeads, headDim: headDim, vocabSize: 10, contextLength: 4096, ropeTheta: 10_000,
                    rmsNormEpsilon: 1e-5, tiedEmbeddings: false)
    }

    static func gaussian(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0 ..< count).map { _ in g.nextGaussian() }
    }

    /// Exact RoPE at `position`, written from the formula (Double) independently of WindowedRoPE.
    static func rope(_ x: [Float], position: Int, theta: Double = 10_000) -> [Float] {
        let d = x.count
        var out = x
        for i in 0 ..< d / 2 {
            let angle = Double(position) * pow(theta, -2 * Double(i) / Double(d))
            let x0 = Double(x[2 * i]), x1 = Double(x[2 * i + 1])
            out[2 * i] = Float(x0 * cos(angle) - x1 * sin(angle))
            out[2 * i + 1] = Float(x0 * sin(angle) + x1 * cos(angle))
        }
        return out
    }

    static func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Codebooks calibrated on the given keys and queries for every (layer, KV head).
    static func codebooks(config: ModelConfig, keys: [Float], queries: [Float], configuration: CodebookConfiguration,
                          fingerprint: String = "0123456789abcdef") throws -> CodebookSet {
        var options = CalibrationOptions(configuration: configuration)
        options.maxIterations = 100
        let calibrator = Calibrator(options: options, modelFingerprint: fingerprint, layerCount: config.layerCount,
                                    kvHeadCount: config.kvHeadCount, headDim: config.headDim)
        return try calibrator.run(workDirectory: nil) { _ in
            Array(repeating: CalibrationSamples(queries: queries, keys: keys), count: config.kvHeadCount)
        }
    }
}
