import Foundation
import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// MagicPIG's hash tables and its estimator (see `MagicPIG`). K/V are read in place from the shared
/// rows (the reference offloads them exact); what the store adds, per sparse (layer, KV head), is one
/// bucket index per table over the hashed prompt tokens (`offsets` L × (2^K + 1), `members` L × m,
/// Int32, as the reference's sorted tables), the centering mean and the centered key norms (f32), and
/// the shared hyperplanes (d × K·L, f32).
final class MagicPIGStore: KVStore {
    /// One sparse (layer, KV head): the hashed tokens are `sinks ..< sinks + count`.
    struct Tables {
        var count = 0
        /// Mean of the hashed keys (d).
        var mean: [Float] = []
        /// ‖k − mean‖ per hashed token.
        var norms: [Float] = []
        /// Per table, bucket b holds `members[l · count + offsets[l · (2^K+1) + b] ..< … + offsets[… + b + 1]]`.
        var offsets: [Int32] = [], members: [Int32] = []
    }

    let bits: Int, tables: Int, sinks: Int, window: Int
    let denseLayers: Set<Int>
    private let model: ModelConfig
    /// d × K·L: column l·K + j is bit j of table l.
    private let hyperplanes: [Float]
    private var index: [[Tables]]
    private(set) var promptLength = 0
    /// The last `sample` per KV head: for each selected row, a bit per query head of the group that
    /// sampled it (all bits for exact rows).
    private var stepMasks: [[UInt64]]
    /// Scratch: query projections (G × K·L), collision counts, per-token head marks, touched tokens, logits.
    private var projections: [Float] = [], queryCodes: [Int32] = [], counts: [UInt8] = [], marks: [UInt64] = [], touched: [Int32] = []
    private var sampledTotal = 0, sampledSlots = 0

    init(model: ModelConfig, bits: Int, tables: Int, sinks: Int, window: Int, denseLayers: Set<Int>, seed: UInt64) {
        self.model = model
        self.bits = bits
        self.tables = tables
        self.sinks = sinks
        self.window = window
        self.denseLayers = denseLayers
        var rng = SeededGenerator(seed: seed)
        hyperplanes = (0..<(model.headDim * bits * tables)).map { _ in rng.nextGaussian() }
        index = Array(repeating: Array(repeating: Tables(), count: model.kvHeadCount), count: model.layerCount)
        stepMasks = Array(repeating: [], count: model.kvHeadCount)
    }

    var prefillNeeds: PrefillNeeds { .none }
    var meanSampledTokens: Double { sampledSlots == 0 ? 0 : Double(sampledTotal) / Double(sampledSlots) }

    /// Whether `layer` samples: not dense, and the prompt has tokens between the sinks and the window.
    func isSparse(layer: Int) -> Bool { !denseLayers.contains(layer) && index[layer][0].count > 0 }

    /// The hashed (offloaded) tokens of the prompt.
    private var hashed: Range<Int> { sinks ..< max(sinks, promptLength - window) }

    /// Hash codes of `rows` vectors (`rows × d`) for every table into `codes` (`rows × L`).
    func hash(_ vectors: UnsafePointer<Float>, rows: Int, into codes: UnsafeMutablePointer<Int32>) {
        let width = bits * tables
        if projections.count < rows * width { projections = [Float](repeating: 0, count: rows * width) }
        projections.withUnsafeMutableBufferPointer { p in hyperplanes.withUnsafeBufferPointer { w in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(width), Int32(model.headDim), 1,
                        vectors, Int32(model.headDim), w.baseAddress!, Int32(width), 0, p.baseAddress!, Int32(width))
            for r in 0..<rows {
                for l in 0..<tables {
                    var code: Int32 = 0
                    for j in 0..<bits where p[r * width + l * bits + j] > 0 { code |= 1 << j }
                    codes[r * tables + l] = code
                }
            }
        } }
    }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {
        promptLength = cache.length
        let range = hashed, m = range.count, d = model.headDim, buckets = 1 << bits
        guard !denseLayers.contains(layer), m > 0 else { return }
        for kvHead in 0..<model.kvHeadCount {
            let keys = cache.keys(layer: layer, kvHead: kvHead)
            var t = Tables()
            t.count = m
            t.mean = [Float](repeating: 0, count: d)
            for i in range { for c in 0..<d { t.mean[c] += keys[i * d + c] } }
            for c in 0..<d { t.mean[c] /= Float(m) }
            var centered = [Float](repeating: 0, count: m * d)
            for i in 0..<m { for c in 0..<d { centered[i * d + c] = keys[(range.lowerBound + i) * d + c] - t.mean[c] } }
            t.norms = (0..<m).map { i in centered.withUnsafeBufferPointer { dot($0.baseAddress! + i * d, $0.baseAddress! + i * d, d).squareRoot() } }
            var codes = [Int32](repeating: 0, count: m * tables)
            centered.withUnsafeBufferPointer { c in codes.withUnsafeMutableBufferPointer { hash(c.baseAddress!, rows: m, into: $0.baseAddress!) } }
            // Counting sort per table: members in bucket order, ascending token within a bucket.
            t.offsets = [Int32](repeating: 0, count: tables * (buckets + 1))
            t.members = [Int32](repeating: 0, count: tables * m)
            for l in 0..<tables {
                let base = l * (buckets + 1)
                for i in 0..<m { t.offsets[base + Int(codes[i * tables + l]) + 1] += 1 }
                for b in 0..<buckets { t.offsets[base + b + 1] += t.offsets[base + b] }
                var next = Array(t.offsets[base ..< base + buckets])
                for i in 0..<m {
                    let b = Int(codes[i * tables + l])
                    t.members[l * m + Int(next[b])] = Int32(i)
                    next[b] += 1
                }
            }
            index[layer][kvHead] = t
        }
    }

    func didAppend(layer: Int, cache: KVCache) {}

    /// The rows one KV head reads at this step: sinks, then the tokens any query head of the group
    /// sampled (≥ 2 collisions), then the window and the decoded tokens. Records which head sampled which.
    func sample(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, cache: KVCache) -> [Int32] {
        let t = index[layer][kvHead], g = model.groupSize, d = model.headDim, m = t.count, buckets = 1 << bits
        if counts.count < m {
            counts = [UInt8](repeating: 0, count: m)
            marks = [UInt64](repeating: 0, count: m)
        }
        if queryCodes.count < g * tables { queryCodes = [Int32](repeating: 0, count: g * tables) }
        var codes: [Int32] = []
        swap(&codes, &queryCodes)
        defer { swap(&codes, &queryCodes) }
        codes.withUnsafeMutableBufferPointer { hash(queries + kvHead * g * d, rows: g, into: $0.baseAddress!) }
        touched.removeAll(keepingCapacity: true)
        for h in 0..<g {
            counts.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: m) }
            var sampled = 0
            for l in 0..<tables {
                let base = l * (buckets + 1), bucket = Int(codes[h * tables + l])
                for slot in Int(t.offsets[base + bucket]) ..< Int(t.offsets[base + bucket + 1]) {
                    let i = Int(t.members[l * m + slot])
                    guard counts[i] < 2 else { continue }
                    counts[i] += 1
                    if counts[i] == 2 {
                        if marks[i] == 0 { touched.append(Int32(i)) }
                        marks[i] |= 1 << UInt64(h)
                        sampled += 1
                    }
                }
            }
            sampledTotal += sampled
            sampledSlots += 1
        }
        touched.sort()
        let all: UInt64 = g == 64 ? .max : (1 << UInt64(g)) - 1
        let start = hashed.upperBound
        var rows: [Int32] = [], masks: [UInt64] = []
        swap(&masks, &stepMasks[kvHead])
        masks.removeAll(keepingCapacity: true)
        rows.reserveCapacity(sinks + touched.count + cache.length - start)
        for i in 0..<min(sinks, cache.length) { rows.append(Int32(i)); masks.append(all) }
        for i in touched {
            rows.append(Int32(sinks) + i)
            masks.append(marks[Int(i)])
            marks[Int(i)] = 0
        }
        for i in start..<cache.length { rows.append(Int32(i)); masks.append(all) }
        swap(&masks, &stepMasks[kvHead])
        return rows
    }

    /// The importance-corrected logit of a sampled token (`transform_kernel`): cosine between q and
    /// the centered key, u = 1 − θ/π, p = u^K, w = P(≥ 2 of L tables collide).
    static func correctedLogit(dot raw: Float, queryDotMean: Float, queryNorm: Float, keyNorm: Float,
                               bits: Int, tables: Int, scale: Float) -> Float {
        let cosine = Double(raw - queryDotMean) / max(Double(queryNorm) * Double(keyNorm), 1e-30)
        let u = 1 - acos(Swift.min(1, Swift.max(-1, cosine))) / Double.pi
        let p = pow(u, Double(bits)), q = 1 - p
        let w = 1 - pow(q, Double(tables - 1)) * (Double(tables) * p + q)
        return raw * scale - Float(log(w + 1e-4))
    }

    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        let d = model.headDim, keys = cache.keys(layer: layer, kvHead: kvHead), values = cache.values(layer: layer, kvHead: kvHead)
        guard let rows, isSparse(layer: layer) else {
            GroupedAttention.attend(queries: queries, groupSize: groupSize, headDim: d, keys: keys, values: values,
                                    rows: rows, count: count, weights: weights, stride: stride, output: output)
            return
        }
        let t = index[layer][kvHead], masks = stepMasks[kvHead], scale = 1 / Float(d).squareRoot()
        let hashedRange = hashed
        output.update(repeating: 0, count: groupSize * d)
        t.mean.withUnsafeBufferPointer { mean in
            for h in 0..<groupSize {
                let q = queries + h * d, w = weights + h * stride, bit = UInt64(1) << UInt64(h)
                let queryDotMean = dot(q, mean.baseAddress!, d), queryNorm = dot(q, q, d).squareRoot()
                for i in 0..<count {
                    let position = Int(rows[i])
                    guard masks[i] & bit != 0 else { w[i] = -.infinity; continue }
                    let raw = dot(q, keys + position * d, d)
                    w[i] = hashedRange.contains(position)
                        ? Self.correctedLogit(dot: raw, queryDotMean: queryDotMean, queryNorm: queryNorm,
                                              keyNorm: t.norms[position - sinks], bits: bits, tables: tables, scale: scale)
                        : raw * scale
                }
                softmaxInPlace(w, count)
                for i in 0..<count where w[i] > 0 { accumulate(w[i], values + Int(rows[i]) * d, into: output + h * d, d) }
            }
        }
    }

    /// Every token's K and V at f32 (nothing is dropped or compressed).
    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        model.layerCount * model.kvHeadCount * cache.length * denseBytesPerTokenAndHead(headDim: model.headDim)
    }

    /// Hyperplanes, and per sparse (layer, KV head) the bucket offsets and members (Int32), the
    /// centering mean and the key norms (f32).
    var sideBytes: Int {
        let f32 = MemoryLayout<Float>.size, i32 = MemoryLayout<Int32>.size
        return hyperplanes.count * f32 + index.joined().reduce(0) {
            $0 + ($1.offsets.count + $1.members.count) * i32 + ($1.mean.count + $1.norms.count) * f32
        }
    }

    func promptBytesPerHead(keeping tokens: Int, headDim: Int) -> Int { tokens * denseBytesPerTokenAndHead(headDim: headDim) }
}
