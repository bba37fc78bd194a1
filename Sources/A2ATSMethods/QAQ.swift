import A2ATSModel
import A2ATSTensor
import Foundation

/// QAQ, "Quality Adaptive Quantization for LLM KV Cache" (arXiv 2403.04643; code
/// ClubieDong/QAQ-KVCacheQuantization, read at f8d47e0, `src/quantizer.py`). Every prompt token's
/// key and value vector (per KV head: the code's "head" level) gets its own bit width from a
/// bound on the attention error it may cause, so keys and values get different widths:
/// - keys (§3, L159-172): step ≤ √(12 / ‖q‖² · ln(T³/(T−1) · ε_K² + 1)), the same for every token;
///   ‖q‖² is the paper's upper-10% quantile of the queries' squared norm (here of q/√d, the
///   query attention really uses, over the last prompt queries), or `query_norm` when given;
/// - values: step ≤ √(12/T) · ε_V / a_t, where a_t is the largest attention token t received from
///   the last `window` prompt queries of the group's heads ("precision follows attention");
/// - bits = clamp(⌈log2(range / (2 · step) + 1)⌉, min_bits, max_bits) (L176-196), and the last
///   `window` − 1 prompt tokens, whose attention history is short, get max_bits;
/// - outliers (L198-212): per vector the share α split over both tails is kept exact and left out
///   of min, max and mean;
/// - quantizer (L215-253): x̂ = round(clamp((x − mean) / s)) · s + mean, s = (max − min) / 2^B,
///   codes in [−2^(B−1), 2^(B−1) − 1]; mean and s stored as fp16.
/// As in the reference, the prompt is quantized once; decoded tokens stay in full precision.
/// Settings from the reference grid (`experiments/grid_search.py` L55-96): ε ∈ {1, 3, 10, 30}
/// (default 1), α = 1%, window 5, bits in 2…4.
public enum QAQ {
    public static let parameterSpecs = [
        ParameterSpec(name: "key_error", defaultValue: "1", help: "ε_K: target quantization error of keys", type: .number(1e-6...1e6)),
        ParameterSpec(name: "value_error", defaultValue: "1", help: "ε_V: target quantization error of values", type: .number(1e-6...1e6)),
        ParameterSpec(name: "min_bits", defaultValue: "2", help: "fewest bits per code", type: .integer(1...8)),
        ParameterSpec(name: "max_bits", defaultValue: "4", help: "most bits per code", type: .integer(1...8)),
        ParameterSpec(name: "outliers", defaultValue: "0.01", help: "α: share of each vector kept exact (both tails)",
                      type: .number(0...0.5)),
        ParameterSpec(name: "window", defaultValue: "5", help: "last prompt queries whose attention sets value bits",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "query_norm", defaultValue: "0", help: "‖q‖² of the key bound; 0 = measured from the prompt",
                      type: .number(0...1e9)),
    ]

    public static let descriptor = MethodDescriptor(
        storeMethod: "qaq", summary: "per-token bit widths from attention-error bounds, outliers kept exact", kind: .precision,
        parameters: parameterSpecs,
        validate: { parameters in
            let p = try MethodParameters(parameters, specs: parameterSpecs, method: "qaq")
            guard p.int("min_bits") <= p.int("max_bits") else {
                throw MethodError.invalidParameter(method: "qaq", name: "min_bits", value: String(p.int("min_bits")),
                                                   expected: "at most max_bits (\(p.int("max_bits")))")
            }
        }
    ) { parameters, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "qaq")
        return QAQStore(model: context.model,
                        settings: QAQSettings(keyError: p.double("key_error"), valueError: p.double("value_error"),
                                              minBits: p.int("min_bits"), maxBits: p.int("max_bits"),
                                              outliers: p.double("outliers"), window: p.int("window"),
                                              queryNorm: p.double("query_norm")))
    }

    /// Queries the measured ‖q‖² is taken from.
    static let queryNormRows = 32

    /// The step bound of every key of a prompt of `tokens` tokens.
    static func keyStep(error: Double, queryNorm: Double, tokens: Int) -> Double {
        let t = Double(tokens)
        return (12 / queryNorm * log(t * t * t / max(t - 1, 1) * error * error + 1)).squareRoot()
    }

    /// The step bound of a value that received at most `attention`.
    static func valueStep(error: Double, attention: Double, tokens: Int) -> Double {
        (12 / Double(tokens)).squareRoot() * error / attention
    }

    /// Bits for a vector of `range` (non-outlier max − min) under a step bound.
    static func bits(range: Double, step: Double, minBits: Int, maxBits: Int) -> Int {
        guard step.isFinite, step > 0 else { return step > 0 ? minBits : maxBits }
        let needed = Int(log2(range / (2 * step) + 1).rounded(.up))
        return min(max(needed, minBits), maxBits)
    }

    /// The upper-10% quantile of ‖q/√d‖² over `rows` observed queries of the group's heads.
    static func measuredQueryNorm(_ queries: UnsafeBufferPointer<Float>, rows: Int, heads: Range<Int>, headCount: Int, headDim d: Int) -> Double {
        var norms: [Double] = []
        for r in 0..<rows {
            for h in heads {
                var sum = 0.0
                for c in 0..<d { let q = Double(queries[(r * headCount + h) * d + c]); sum += q * q }
                norms.append(sum / Double(d))
            }
        }
        norms.sort()
        return norms.isEmpty ? 1 : norms[min(norms.count - 1, Int(0.9 * Double(norms.count)))]
    }
}

public struct QAQSettings: Sendable {
    public var keyError, valueError: Double
    public var minBits, maxBits: Int
    public var outliers: Double
    public var window: Int
    /// 0: measured.
    public var queryNorm: Double
}

/// One vector quantized by QAQ's rule: codes (offset by 2^(B−1) to be unsigned), fp16 mean and
/// step, and the outliers kept exact.
struct QAQVector: Equatable {
    var bits: Int
    var mean: Float16, step: Float16
    /// `count` codes offset by 2^(B−1), packed at `bits` bits (`BitPacking`).
    var packed: [UInt8]
    var count: Int
    var outlierChannels: [UInt8]
    var outlierValues: [Float]

    /// Outlier thresholds as `torch.kthvalue` gives them (1-based k), then QAQ's quantizer.
    init(_ x: UnsafePointer<Float>, count d: Int, bits: (_ range: Double) -> Int, outliers alpha: Double) {
        let sorted = (0..<d).map { x[$0] }.sorted()
        var isOutlier = [Bool](repeating: false, count: d)
        if alpha > 0 {
            let lower = sorted[max(1, Int((alpha / 2 * Double(d)).rounded(.up))) - 1]
            let upper = sorted[max(1, Int(((1 - alpha / 2) * Double(d)).rounded(.down))) - 1]
            for c in 0..<d where x[c] <= lower || x[c] > upper { isOutlier[c] = true }
        }
        var low = Float.infinity, high = -Float.infinity, sum: Float = 0, inliers = 0
        for c in 0..<d where !isOutlier[c] {
            low = min(low, x[c]); high = max(high, x[c]); sum += x[c]; inliers += 1
        }
        if inliers == 0 { low = 0; high = 0 }
        self.bits = bits(Double(high - low))
        mean = Float16(inliers == 0 ? 0 : sum / Float(inliers))
        step = Float16((high - low) / Float(1 << self.bits))
        let half = Float(1 << (self.bits - 1)), m = Float(mean), s = Float(step)
        let codes = (0..<d).map { c in
            let q = s == 0 ? 0 : min(max(((x[c] - m) / s).rounded(.toNearestOrEven), -half), half - 1)
            return UInt8(q + half)
        }
        count = d
        var packed = [UInt8](repeating: 0, count: BitPacking.byteCount(codes: d, bits: self.bits))
        let width = self.bits
        codes.withUnsafeBufferPointer { c in packed.withUnsafeMutableBufferPointer {
            BitPacking.pack(c.baseAddress!, count: d, bits: width, into: $0.baseAddress!)
        } }
        self.packed = packed
        outlierChannels = (0..<d).filter { isOutlier[$0] }.map { UInt8($0) }
        outlierValues = (0..<d).filter { isOutlier[$0] }.map { x[$0] }
    }

    /// x̂, outliers exact.
    func dequantized(into out: UnsafeMutablePointer<Float>) {
        let half = Float(1 << (bits - 1)), m = Float(mean), s = Float(step)
        packed.withUnsafeBufferPointer { BitPacking.unpack($0.baseAddress!, count: count, bits: bits, into: out) }
        for c in 0..<count { out[c] = (out[c] - half) * s + m }
        for (i, c) in outlierChannels.enumerated() { out[Int(c)] = outlierValues[i] }
    }

    /// Packed codes + mean and step (fp16) + each outlier as a channel byte and an f32 value.
    var bytes: Int {
        packed.count + 2 * MemoryLayout<Float16>.size
            + outlierChannels.count * (1 + MemoryLayout<Float>.size)
    }

    static func outlierCount(dimension d: Int, alpha: Double) -> Int {
        guard alpha > 0 else { return 0 }
        return max(1, Int((alpha / 2 * Double(d)).rounded(.up))) + d - max(1, Int(((1 - alpha / 2) * Double(d)).rounded(.down)))
    }
}

/// The prompt's keys and values of one fork as QAQ stores them; decoded tokens in full precision.
final class QAQStore: KVStore {
    let settings: QAQSettings
    private let model: ModelConfig
    /// Per (layer, KV head), per cache position: the quantized key and value (nil: full precision).
    private var keys: [[QAQVector?]], values: [[QAQVector?]]
    private var scratch: [Float] = []

    init(model: ModelConfig, settings: QAQSettings) {
        self.model = model
        self.settings = settings
        keys = Array(repeating: [], count: model.layerCount * model.kvHeadCount)
        values = keys
    }

    var prefillNeeds: PrefillNeeds {
        PrefillNeeds(observationWindow: settings.window, observedQueries: settings.queryNorm > 0 ? 0 : QAQ.queryNormRows)
    }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {
        let n = cache.length, d = model.headDim, g = model.groupSize, s = settings
        let window = min(s.window, n)
        guard statistics.observationWindow >= window else {
            throw MethodError.missingStatistics(method: "qaq", layer: layer, needed: "attention of the last \(window) prompt queries")
        }
        for kvHead in 0..<model.kvHeadCount {
            let heads = (kvHead * g)..<((kvHead + 1) * g)
            var queryNorm = s.queryNorm
            if queryNorm == 0 {
                guard statistics.observedQueryCount > 0 else {
                    throw MethodError.missingStatistics(method: "qaq", layer: layer, needed: "the last prompt queries")
                }
                // A shared prefill may have recorded more queries for another fork: measure over our own last rows.
                let rows = min(QAQ.queryNormRows, statistics.observedQueryCount)
                let all = statistics.observedQueries(layer: layer)
                queryNorm = QAQ.measuredQueryNorm(UnsafeBufferPointer(rebasing: all[((statistics.observedQueryCount - rows) * model.headCount * d)...]),
                                                  rows: rows, heads: heads, headCount: model.headCount, headDim: d)
            }
            let keyStep = QAQ.keyStep(error: s.keyError, queryNorm: queryNorm, tokens: n)
            // a_t: the most attention token t got from the last `window` prompt queries of the group.
            var attention = [Float](repeating: 0, count: n)
            for h in heads {
                let rows = statistics.observedAttention(layer: layer, head: h)
                for r in (statistics.observationWindow - window)..<statistics.observationWindow {
                    for t in 0..<n { attention[t] = max(attention[t], rows[r * n + t]) }
                }
            }
            let at = layer * model.kvHeadCount + kvHead
            keys[at] = Array(repeating: nil, count: cache.capacity)
            values[at] = keys[at]
            let keyRows = cache.keys(layer: layer, kvHead: kvHead), valueRows = cache.values(layer: layer, kvHead: kvHead)
            for position in resident[kvHead] ?? (0..<Int32(n)).map({ $0 }) {
                let t = Int(position)
                let recent = t >= n - (window - 1)
                let bits = { (step: Double) in { (range: Double) in
                    recent ? s.maxBits : QAQ.bits(range: range, step: step, minBits: s.minBits, maxBits: s.maxBits)
                } }
                keys[at][t] = QAQVector(keyRows + t * d, count: d, bits: bits(keyStep), outliers: s.outliers)
                let valueStep = QAQ.valueStep(error: s.valueError, attention: Double(attention[t]), tokens: n)
                values[at][t] = QAQVector(valueRows + t * d, count: d, bits: bits(valueStep), outliers: s.outliers)
            }
        }
    }

    func didAppend(layer: Int, cache: KVCache) {}

    /// The stored vectors of one token (tests).
    func vectors(layer: Int, kvHead: Int, position: Int) -> (key: QAQVector?, value: QAQVector?) {
        let at = layer * model.kvHeadCount + kvHead
        return (keys[at][position], values[at][position])
    }

    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        let at = layer * model.kvHeadCount + kvHead, d = model.headDim
        let keyRows = cache.keys(layer: layer, kvHead: kvHead), valueRows = cache.values(layer: layer, kvHead: kvHead)
        if scratch.count < GroupedAttention.blockRows * d { scratch = [Float](repeating: 0, count: GroupedAttention.blockRows * d) }
        keys[at].withUnsafeBufferPointer { keys in values[at].withUnsafeBufferPointer { values in
        scratch.withUnsafeMutableBufferPointer { scratch in
            /// Each block's rows: a stored vector dequantized, a decoded token copied as it is.
            func fill(_ vectors: UnsafeBufferPointer<QAQVector?>, _ full: UnsafePointer<Float>) -> (Int, Int, UnsafeMutablePointer<Float>) -> Void {
                { start, end, block in
                    for i in start..<end {
                        let position = rows.map { Int($0[i]) } ?? i, out = block + (i - start) * d
                        if let vector = vectors[position] { vector.dequantized(into: out) } else { out.update(from: full + position * d, count: d) }
                    }
                }
            }
            GroupedAttention.attendBlocks(queries: queries, groupSize: groupSize, headDim: d, count: count, weights: weights,
                                          stride: stride, output: output, scratch: scratch.baseAddress!,
                                          keys: fill(keys, keyRows), values: fill(values, valueRows))
        } } }
    }

    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        let full = model.headDim * MemoryLayout<Float>.size
        var total = 0
        for layer in 0..<model.layerCount {
            for kvHead in 0..<model.kvHeadCount {
                let at = layer * model.kvHeadCount + kvHead
                for position in resident(layer, kvHead) ?? (0..<Int32(cache.length)).map({ $0 }) {
                    total += (keys[at][Int(position)]?.bytes ?? full) + (values[at][Int(position)]?.bytes ?? full)
                }
            }
        }
        return total
    }

    var sideBytes: Int { 0 }

    /// An upper bound: every vector at max_bits.
    func promptBytesPerHead(keeping tokens: Int, headDim d: Int) -> Int {
        let vector = BitPacking.byteCount(codes: d, bits: settings.maxBits) + 2 * MemoryLayout<Float16>.size
            + QAQVector.outlierCount(dimension: d, alpha: settings.outliers) * (1 + MemoryLayout<Float>.size)
        return 2 * tokens * vector
    }
}
