import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation

/// Runs calibration text through the model and collects, per (layer, KV head), what A²ATS
/// fits its codebooks on: the group's queries (WRoPE-rotated pre-RoPE queries, or post-RoPE
/// queries for the naive variant) and the keys (pre-RoPE, or post-RoPE for the naive variant).
struct CalibrationCollector {
    let model: LlamaModel
    let configuration: CodebookConfiguration
    /// Keep one token's queries in `queryStride` (H is a d×d second moment; a subsample
    /// estimates it well and keeps memory at a few hundred MB for the default model).
    let queryStride: Int

    /// Samples for every layer, indexed `[layer][kvHead]`.
    func collect(sequences: [[Int]], progress: (Int) -> Void) throws -> [[CalibrationSamples]] {
        let c = model.config
        let d = c.headDim
        var queries = Array(repeating: Array(repeating: [Float](), count: c.kvHeadCount), count: c.layerCount)
        var keys = queries
        let wrope = WindowedRoPE(config: c, offset: configuration.wropeOffset)
        var rotated = [Float](repeating: 0, count: d)
        for (index, sequence) in sequences.enumerated() {
            let stage: QueryStage = configuration.wrope ? .beforeRoPE : .afterRoPE
            let prefill = try model.prefill(sequence) { layer, observed, rows, stride, count in
                guard observed == stage else { return }
                for row in Swift.stride(from: 0, to: count, by: queryStride) {
                    for head in 0..<c.headCount {
                        let query = rows + row * stride + head * d
                        if configuration.wrope {
                            rotated.withUnsafeMutableBufferPointer { wrope.rotate(query, into: $0.baseAddress!) }
                            queries[layer][head / c.groupSize] += rotated
                        } else {
                            queries[layer][head / c.groupSize] += UnsafeBufferPointer(start: query, count: d)
                        }
                    }
                }
            }
            let cache = prefill.cache
            for layer in 0..<c.layerCount {
                for kvHead in 0..<c.kvHeadCount {
                    let source = configuration.wrope ? cache.preRoPEKeys(layer: layer, kvHead: kvHead)
                                                     : cache.keys(layer: layer, kvHead: kvHead)
                    keys[layer][kvHead] += UnsafeBufferPointer(start: source, count: cache.length * d)
                }
            }
            progress(index + 1)
        }
        return (0..<c.layerCount).map { layer in
            (0..<c.kvHeadCount).map { CalibrationSamples(queries: queries[layer][$0], keys: keys[layer][$0]) }
        }
    }
}
