import CKernels
import Dispatch

/// Exact softmax attention for the query heads that share one KV head (GQA), reading each cached
/// K and V row from memory once for the whole group instead of once per head.
///
/// Decode attention is bandwidth-bound: with G query heads per KV head, per-head `sgemv` streams
/// the keys and values G times. Here the C kernels take rows in small blocks (8 for the scores,
/// 128 for the value pass) and serve every head of the group from them before the next block is
/// loaded, requesting rows ahead of use. The same kernels read a contiguous prefix (full
/// attention) or an index list (a method's selection, no gather copy), so dense and sparse
/// attention are timed on equal terms.
public enum GroupedAttention {
    /// Rows per block that `attendBlocks` materializes: 64 rows of K (or V) at d = 64 are 16 KiB,
    /// which stays in L1 while the group's heads use them.
    public static let blockRows = 64
    private typealias Lane = SIMD16<Float>

    /// Attention of the group's `queries` (`groupSize × d`) over `count` cached rows (all rows
    /// `0..<count`, or `rows[0..<count]`). On return `weights[g · stride + i]` holds head g's
    /// softmax weight of the i-th row read, and `output` (`groupSize × d`) the attention output.
    public static func attend(queries: UnsafePointer<Float>, groupSize: Int, headDim d: Int,
                              keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              rows: UnsafePointer<Int32>?, count: Int,
                              weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        attend(queries: queries, groupSize: groupSize, headDim: d, stored: .f32(keys: keys, values: values), rows: rows,
               count: count, weights: weights, stride: stride, output: output)
    }

    /// `attend` over rows stored as `stored` says (f32, or f16 widened as they are read).
    public static func attend(queries: UnsafePointer<Float>, groupSize: Int, headDim d: Int, stored: StoredRows,
                              rows: UnsafePointer<Int32>?, count: Int,
                              weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        attend(queries: queries, groupSize: groupSize, headDim: d, stored: stored, rows: rows, count: count,
               weights: weights, stride: stride, output: output, workers: count * groupSize * d >= parallelWork ? 2 : 1)
    }

    /// `attend` on `workers` (1 or 2) threads; timers that measure one core's speed pass 1. Each
    /// worker takes a contiguous half of the rows — K and V rows are read whole, by one core —
    /// and computes its half as flash-decoding does: scores, exponentials relative to its own
    /// maximum, their sums, and the unnormalized weighted sum of its V rows. The halves are then
    /// joined exactly as one softmax over all rows: each rescaled by e^(its max − the max), over
    /// the total. One hand-off per call, and no core reads another's rows.
    public static func attend(queries: UnsafePointer<Float>, groupSize: Int, headDim d: Int,
                              keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: UnsafePointer<Int32>?,
                              count: Int, weights: UnsafeMutablePointer<Float>, stride: Int,
                              output: UnsafeMutablePointer<Float>, workers: Int) {
        attend(queries: queries, groupSize: groupSize, headDim: d, stored: .f32(keys: keys, values: values), rows: rows,
               count: count, weights: weights, stride: stride, output: output, workers: workers)
    }

    /// `attend` over `stored` rows on `workers` threads.
    public static func attend(queries: UnsafePointer<Float>, groupSize: Int, headDim d: Int, stored: StoredRows,
                              rows: UnsafePointer<Int32>?, count: Int, weights: UnsafeMutablePointer<Float>, stride: Int,
                              output: UnsafeMutablePointer<Float>, workers: Int) {
        output.update(repeating: 0, count: groupSize * d)
        guard count > 0 else { return }
        // Per worker: the group's maxima, sums and unnormalized outputs.
        let partialFloats = groupSize * (2 + d)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: workers * partialFloats) { partials in
            let p = AttentionPointers(queries: queries, stored: stored, rows: rows, weights: weights,
                                      partials: partials.baseAddress!)
            Parallel.perform(workers) { worker in
                let first = count * worker / workers, n = count * (worker + 1) / workers - first
                let maxima = p.partials + worker * partialFloats, sums = maxima + groupSize, out = sums + groupSize
                out.update(repeating: 0, count: groupSize * d)
                let rows = p.rows.map { $0 + first }
                let stored = rows == nil ? p.stored.advanced(by: first, headDim: d) : p.stored
                scores(queries: p.queries, groupSize: groupSize, headDim: d, keys: stored, rows: rows, count: n,
                       into: p.weights + first, stride: stride)
                for g in 0 ..< groupSize {
                    (maxima[g], sums[g]) = softmaxNumerators(p.weights + g * stride + first, n)
                }
                weightedSum(weights: p.weights + first, stride: stride, groupSize: groupSize, headDim: d,
                            values: stored, rows: rows, count: n, into: out)
            }
            for g in 0 ..< groupSize {
                var maximum = -Float.infinity
                for w in 0 ..< workers { maximum = max(maximum, partials[w * partialFloats + g]) }
                var total: Float = 0
                for w in 0 ..< workers {
                    total += fastExp(partials[w * partialFloats + g] - maximum) * partials[w * partialFloats + groupSize + g]
                }
                for w in 0 ..< workers {
                    let base = w * partialFloats
                    let factor = fastExp(partials[base + g] - maximum) / total
                    let first = count * w / workers, last = count * (w + 1) / workers
                    scale(weights + g * stride + first, count: last - first, by: factor)
                    let out = partials.baseAddress! + base + 2 * groupSize + g * d
                    for c in 0 ..< d { output[g * d + c] += factor * out[c] }
                }
            }
        }
    }

    /// Rows × heads × d (multiply-adds per pass) above which two workers share the passes: below
    /// it the hand-off (≈1 µs) outweighs the halved work.
    static let parallelWork = 1 << 15

    /// The raw pointers of one `attend` call, to cross into `Parallel.perform`; workers write
    /// disjoint rows of `weights` and their own slice of `partials`.
    private struct AttentionPointers: @unchecked Sendable {
        let queries: UnsafePointer<Float>, stored: StoredRows
        let rows: UnsafePointer<Int32>?
        let weights: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>
    }

    private static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        var i = 0
        while i + Lane.scalarCount <= count { store(load(x + i) * factor, x + i); i += Lane.scalarCount }
        while i < count { x[i] *= factor; i += 1 }
    }

    /// Attention over rows a store materializes block by block (dequantized codes, pruned keys put
    /// back): `keys(start, end, block)` and `values(start, end, block)` write rows `start..<end` of
    /// the selection as f32 into `block` (`blockRows × d`), and the dense kernels read them from
    /// L1. Same contract as `attend`; `scratch` holds `blockRows × d` floats.
    public static func attendBlocks(queries: UnsafePointer<Float>, groupSize: Int, headDim d: Int, count: Int,
                                    weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>,
                                    scratch: UnsafeMutablePointer<Float>,
                                    keys: (_ start: Int, _ end: Int, _ block: UnsafeMutablePointer<Float>) -> Void,
                                    values: (_ start: Int, _ end: Int, _ block: UnsafeMutablePointer<Float>) -> Void) {
        output.update(repeating: 0, count: groupSize * d)
        guard count > 0 else { return }
        var start = 0
        while start < count {
            let end = min(start + blockRows, count)
            keys(start, end, scratch)
            scores(queries: queries, groupSize: groupSize, headDim: d, keys: .f32(keys: scratch, values: scratch), rows: nil,
                   count: end - start, into: weights + start, stride: stride)
            start = end
        }
        for g in 0 ..< groupSize { softmaxInPlace(weights + g * stride, count) }
        start = 0
        while start < count {
            let end = min(start + blockRows, count)
            values(start, end, scratch)
            weightedSum(weights: weights + start, stride: stride, groupSize: groupSize, headDim: d,
                        values: .f32(keys: scratch, values: scratch), rows: nil, count: end - start, into: output)
            start = end
        }
    }

    /// `scores[g · stride + i] = q_g · k(i) / √d`, eight rows at a time in C (`a2ats_scores_*`: a
    /// row at a time, a horizontal sum per row and head cost more than reading the row). The
    /// kernel serves every head from each eight rows, so it needs no blocks, and requests rows
    /// ahead itself.
    private static func scores(queries: UnsafePointer<Float>, groupSize: Int, headDim d: Int,
                               keys stored: StoredRows, rows: UnsafePointer<Int32>?, count: Int,
                               into scores: UnsafeMutablePointer<Float>, stride: Int) {
        let scale = 1 / Float(d).squareRoot(), (g, dim, n) = (Int32(groupSize), Int32(d), Int32(count))
        switch (stored, CPUFeatures.hasAVX512) {
        case let (.f32(keys, _), true): a2ats_scores_avx512(queries, g, dim, keys, rows, 0, n, scale, scores, stride)
        case let (.f32(keys, _), false): a2ats_scores_avx2(queries, g, dim, keys, rows, 0, n, scale, scores, stride)
        case let (.f16(keys, _), true): a2ats_scores_f16_avx512(queries, g, dim, keys, rows, 0, n, scale, scores, stride)
        case let (.f16(keys, _), false): a2ats_scores_f16_avx2(queries, g, dim, keys, rows, 0, n, scale, scores, stride)
        }
    }

    /// `output[g] += Σ_i weights[g · stride + i] · v(i)`, in C (`a2ats_weighted_sum_*`: each V
    /// vector loaded serves up to four heads of the group from registers).
    private static func weightedSum(weights: UnsafePointer<Float>, stride: Int, groupSize: Int, headDim d: Int,
                                    values stored: StoredRows, rows: UnsafePointer<Int32>?,
                                    count: Int, into output: UnsafeMutablePointer<Float>) {
        let (g, dim, n) = (Int32(groupSize), Int32(d), Int32(count))
        switch (stored, CPUFeatures.hasAVX512) {
        case let (.f32(_, values), true): a2ats_weighted_sum_avx512(weights, stride, g, dim, values, rows, n, output)
        case let (.f32(_, values), false): a2ats_weighted_sum_avx2(weights, stride, g, dim, values, rows, n, output)
        case let (.f16(_, values), true): a2ats_weighted_sum_f16_avx512(weights, stride, g, dim, values, rows, n, output)
        case let (.f16(_, values), false): a2ats_weighted_sum_f16_avx2(weights, stride, g, dim, values, rows, n, output)
        }
    }

    @inline(__always) private static func load(_ p: UnsafePointer<Float>) -> Lane {
        UnsafeRawPointer(p).loadUnaligned(as: Lane.self)
    }

    @inline(__always) private static func store(_ v: Lane, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lane.self)
    }
}

/// The K and V rows attention reads, `headDim` elements each: f32 as the cache holds them, or f16
/// (IEEE half, the `fp16` store's), widened to f32 as the kernels load them.
public enum StoredRows: @unchecked Sendable {
    case f32(keys: UnsafePointer<Float>, values: UnsafePointer<Float>)
    case f16(keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>)

    /// The rows from row `first` on.
    func advanced(by first: Int, headDim d: Int) -> StoredRows {
        switch self {
        case let .f32(keys, values): .f32(keys: keys + first * d, values: values + first * d)
        case let .f16(keys, values): .f16(keys: keys + first * d, values: values + first * d)
        }
    }
}
