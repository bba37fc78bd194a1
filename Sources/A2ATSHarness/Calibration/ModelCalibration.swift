import A2ATSMethods
import A2ATSModel
import A2ATSSupport
import Foundation

/// Runs calibration text through the model once and collects, per (layer, KV head), what
/// A²ATS fits its codebooks on: the group's queries (WRoPE-rotated pre-RoPE queries, or
/// post-RoPE queries for the naive variant) and the keys (pre-RoPE, or post-RoPE for the naive
/// variant). One pass serves every variant asked for, each over a prefix of the sequences, so
/// A²ATS with its ablations and other methods' artifacts cost one forward pass over the
/// calibration text, not one per variant. Offline artifacts of other methods read the post-RoPE
/// variant, pairing each sampled query with its token's key (`keyRows`).
struct CalibrationCollector {
    let model: LlamaModel
    /// Keep one token's queries in `queryStride` (H is a d×d second moment; a subsample
    /// estimates it well and keeps memory at a few hundred MB for the default model).
    let queryStride: Int
    /// Sees each sequence just before it runs through the model (tests count forward passes).
    var willPrefill: (([Int]) -> Void)? = nil

    /// What a configuration's samples depend on: which keys, and how queries are rotated.
    struct Variant: Hashable {
        let wrope: Bool
        /// WRoPE offset b (ignored without WRoPE).
        let offset: Int

        init(_ configuration: CodebookConfiguration) {
            wrope = configuration.wrope
            offset = configuration.wrope ? configuration.wropeOffset : 0
        }

        /// Post-RoPE queries and keys: A²ATS without WRoPE, and other methods' artifacts.
        static let postRoPE = Variant(CodebookConfiguration(wrope: false))
    }

    /// Samples of every variant in `sequenceCounts`, each over the first `sequenceCounts[variant]`
    /// of `sequences`: the model runs once per sequence, up to the largest count; `progress` sees
    /// each finished sequence.
    func collect(sequences: [[Int]], sequenceCounts: [Variant: Int], progress: (Int) -> Void) throws -> CalibrationCollection {
        let c = model.config
        let d = c.headDim, length = sequences[0].count
        let variants = Array(sequenceCounts.keys)
        let passes = min(sequences.count, sequenceCounts.values.max() ?? 0)
        let sampledPerSequence = (length + queryStride - 1) / queryStride
        var queries: [Variant: [[[Float]]]] = [:], keys = queries, keyRows: [Variant: [Int]] = [:]
        for variant in variants {
            let n = sequenceCounts[variant]!
            queries[variant] = (0..<c.layerCount).map { _ in (0..<c.kvHeadCount).map { _ in
                reserved(n * sampledPerSequence * c.groupSize * d)
            } }
            keys[variant] = (0..<c.layerCount).map { _ in (0..<c.kvHeadCount).map { _ in reserved(n * length * d) } }
        }
        let rotations = Dictionary(uniqueKeysWithValues: variants.filter(\.wrope).map {
            ($0, WindowedRoPE(config: c, offset: $0.offset))
        })
        var rotated = [Float](repeating: 0, count: d)
        for index in 0..<passes {
            let sequence = sequences[index]
            precondition(sequence.count == length, "calibration sequences have one length")
            let active = variants.filter { sequenceCounts[$0]! > index }
            for variant in active {
                keyRows[variant, default: []] += Swift.stride(from: 0, to: length, by: queryStride).map { index * length + $0 }
            }
            willPrefill?(sequence)
            let prefill = try model.prefill(sequence) { layer, stage, rows, stride, count in
                for variant in active where (stage == .beforeRoPE) == variant.wrope {
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
            for variant in active {
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
        var samples: [Variant: [[CalibrationSamples]]] = [:]
        for variant in variants {
            samples[variant] = (0..<c.layerCount).map { layer in
                (0..<c.kvHeadCount).map {
                    CalibrationSamples(queries: queries[variant]![layer][$0], keys: keys[variant]![layer][$0],
                                       keyRows: keyRows[variant] ?? [])
                }
            }
            queries[variant] = nil
            keys[variant] = nil
        }
        return CalibrationCollection(samples: samples, sequenceLength: length, sampledPerSequence: sampledPerSequence,
                                     groupSize: c.groupSize, headDim: d)
    }

    private func reserved(_ count: Int) -> [Float] {
        var array: [Float] = []
        array.reserveCapacity(count)
        return array
    }
}

/// What one forward pass collected, per variant, `[layer][kvHead]`, rows in sequence order: the
/// samples of the first n sequences are a prefix of each array, so a request for fewer
/// calibration tokens reads exactly what a pass over those sequences alone would have collected.
final class CalibrationCollection {
    private var samples: [CalibrationCollector.Variant: [[CalibrationSamples]]]
    let sequenceLength: Int
    let sampledPerSequence: Int
    let groupSize: Int
    let headDim: Int

    init(samples: [CalibrationCollector.Variant: [[CalibrationSamples]]], sequenceLength: Int, sampledPerSequence: Int,
         groupSize: Int, headDim: Int) {
        self.samples = samples
        self.sequenceLength = sequenceLength
        self.sampledPerSequence = sampledPerSequence
        self.groupSize = groupSize
        self.headDim = headDim
    }

    /// One sample per KV head of `layer`, over the first `sequences` sequences.
    func samples(_ variant: CalibrationCollector.Variant, layer: Int, sequences: Int) -> [CalibrationSamples] {
        let all = samples[variant]![layer]
        let sampled = sequences * sampledPerSequence
        guard sampled < all[0].keyRows.count else { return all }
        return all.map {
            CalibrationSamples(queries: Array($0.queries.prefix(sampled * groupSize * headDim)),
                               keys: Array($0.keys.prefix(sequences * sequenceLength * headDim)),
                               keyRows: Array($0.keyRows.prefix(sampled)))
        }
    }

    /// Frees a variant no configuration still needs (the default model's take about 2.6 GB each).
    func release(_ variant: CalibrationCollector.Variant) { samples[variant] = nil }
}
