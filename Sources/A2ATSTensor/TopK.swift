/// Partial top-k selection over a Float buffer: expected O(n), never a full sort.
///
/// Finds the k-th largest value by quickselect on a scratch copy, then collects the indices
/// above it and, for ties at the threshold, the lowest indices first (the contract's tie rule).
/// Indices come out ascending, the order `TokenSelection` wants. The scratch buffer is kept
/// between calls so a decode step does not allocate. Not thread-safe: one selector per user.
public final class TopKSelector {
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCapacity: Int

    public init(capacity: Int = 0) {
        scratchCapacity = max(capacity, 1)
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit { scratch.deallocate() }

    /// Writes the indices (offset by `indexOffset`) of the `k` largest of `scores[0..<count]`
    /// to `output` in ascending order and returns how many were written (min(k, count)).
    /// NaN scores rank below every number.
    @discardableResult
    public func select(_ scores: UnsafePointer<Float>, count: Int, k: Int,
                       indexOffset: Int32 = 0, into output: UnsafeMutablePointer<Int32>) -> Int {
        let wanted = min(max(k, 0), count)
        if wanted == 0 { return 0 }
        if wanted == count {
            for i in 0 ..< count { output[i] = indexOffset + Int32(i) }
            return count
        }
        let threshold = kthLargest(scores, count: count, k: wanted)
        var above = 0
        for i in 0 ..< count where rank(scores[i]) > threshold { above += 1 }
        var tiesAllowed = wanted - above
        var written = 0
        for i in 0 ..< count {
            let s = rank(scores[i])
            if s > threshold {
                output[written] = indexOffset + Int32(i)
                written += 1
            } else if s == threshold && tiesAllowed > 0 {
                output[written] = indexOffset + Int32(i)
                written += 1
                tiesAllowed -= 1
            }
        }
        return written
    }

    /// The value that a descending sort would put at position k − 1 (NaN mapped to −∞).
    private func kthLargest(_ scores: UnsafePointer<Float>, count: Int, k: Int) -> Float {
        if count > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = count
            scratch = .allocate(capacity: count)
        }
        let a = scratch
        for i in 0 ..< count { a[i] = rank(scores[i]) }
        let target = k - 1   // position in descending order
        var lo = 0, hi = count - 1
        while lo < hi {
            // Median of three as pivot keeps sorted or constant inputs from going quadratic.
            let mid = lo + (hi - lo) / 2
            let pivot = median(a[lo], a[mid], a[hi])
            var i = lo, j = hi
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j {
                    let t = a[i]; a[i] = a[j]; a[j] = t
                    i += 1; j -= 1
                }
            }
            // Now a[lo...j] ≥ pivot, a[i...hi] ≤ pivot, and anything between equals pivot.
            if target <= j { hi = j } else if target >= i { lo = i } else { return pivot }
        }
        return a[target]
    }

    @inline(__always) private func rank(_ s: Float) -> Float { s.isNaN ? -.infinity : s }

    @inline(__always) private func median(_ x: Float, _ y: Float, _ z: Float) -> Float {
        max(min(x, y), min(max(x, y), z))
    }
}
