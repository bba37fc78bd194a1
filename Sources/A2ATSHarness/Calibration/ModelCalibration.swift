import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation

/// Runs calibration text through the model once and collects, per (layer, KV head), what
/// A²ATS fits its codebooks on: the group's queries (WRoPE-rotated pre-RoPE queries, or
/// post-RoPE queries for the naive variant) and the keys (pre-RoPE, or post-RoPE for the naive
/// variant). One pass serves every configuration asked for, so an ablation grid costs one
/// forward pass over the calibration text, not one per variant. Offline artifacts of other
/// methods read the post-RoPE variant, pairing each sampled query with its token's key (`keyRows`).
struct CalibrationCollector {
    let model: LlamaModel
    /// Keep one token's queries in `queryStride` (H is a d×d second moment; a subsample
    /// estimates it well and keeps memory at a few hundred MB for the default model).
    let queryStride: Int

    /// What a configuration's samples depend on: which keys, and how queries are rotated.
    struct Variant: Hashable {
        let wrope: Bool
        /// WRoPE offset b (ignored without WRoPE).
        let offset: Int

        init(_ configuration: CodebookConfiguration) {
            wrope = configuration.wrope
            offset = configuration.wrope ? configuration.wropeOffset : 0
        }
    }

    /// Samples for every variant of `configurations`, indexed `[variant][layer][kvHead]`.
    func collect(sequences: [[Int]], for configurations: [CodebookConfiguration],
                 progress: (Int) -> Void) throws -> [Variant: [[CalibrationSamples]]] {
        let c = model.config
        let d = c.headDim
        let variants = Array(Set(configurations.map(Variant.init)))
        let empty = Array(repeating: Array(repeating: [Float](), count: c.kvHeadCount), count: c.layerCount)
        var queries = Dictionary(uniqueKeysWithValues: variants.map { ($0, empty) })
        var keys = queries
        let rotations = Dictionary(uniqueKeysWithValues: variants.filter(\.wrope).map {
            ($0, WindowedRoPE(config: c, offset: $0.offset))
        })
        var rotated = [Float](repeating: 0, count: d)
        var keyRows: [Int] = [], tokensBefore = 0
        for (index, sequence) in sequences.enumerated() {
            keyRows += Swift.stride(from: 0, to: sequence.count, by: queryStride).map { tokensBefore + $0 }
            tokensBefore += sequence.count
            let prefill = try model.prefill(sequence) { layer, stage, rows, stride, count in
                for variant in variants where (stage == .beforeRoPE) == variant.wrope {
                    for row in Swift.stride(from: 0, to: count, by: queryStride) {
                        for head in 0..<c.headCount {
                            let query = rows + row * stride + head * d
                            if let rotation = rotations[variant] {
                                rotated.withUnsafeMutableBufferPointer { rotation.rotate(query, into: $0.baseAddress!) }
                                queries[variant]![layer][head / c.groupSize] += rotated
                            } else {
                                queries[variant]![layer][head / c.groupSize] += UnsafeBufferPointer(start: query, count: d)
                            }
                        }
                    }
                }
            }
            let cache = prefill.cache
            for variant in variants {
                for layer in 0..<c.layerCount {
                    for kvHead in 0..<c.kvHeadCount {
                        let source = variant.wrope ? cache.preRoPEKeys(layer: layer, kvHead: kvHead)
                                                   : cache.keys(layer: layer, kvHead: kvHead)
                        keys[variant]![layer][kvHead] += UnsafeBufferPointer(start: source, count: cache.length * d)
                    }
                }
            }
            progress(index + 1)
        }
        return Dictionary(uniqueKeysWithValues: variants.map { variant in
            (variant, (0..<c.layerCount).map { layer in
                (0..<c.kvHeadCount).map {
                    CalibrationSamples(queries: queries[variant]![layer][$0], keys: keys[variant]![layer][$0], keyRows: keyRows)
                }
            })
        })
    }
}
