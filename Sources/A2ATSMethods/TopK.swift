/// Partial selection of the k best-scored indices, as `std::nth_element` does: expected O(n), no
/// full sort. The order is total — a higher score wins, equal scores go to the lower index
/// (contract: top-k ties go to the lower token index) — so the chosen set is unique.
enum TopK {
    /// Puts the `k` best of `indices[0..<n]` (token indices into `scores`) into `indices[0..<k]`,
    /// in no particular order. `indices` is permuted in place.
    static func partition(_ indices: UnsafeMutablePointer<Int32>, count n: Int, k: Int, scores: UnsafePointer<Float>) {
        guard k > 0, k < n else { return }
        @inline(__always) func better(_ a: Int32, _ b: Int32) -> Bool {
            let sa = scores[Int(a)], sb = scores[Int(b)]
            return sa > sb || (sa == sb && a < b)
        }
        let target = k - 1
        var lo = 0, hi = n - 1
        while lo < hi {
            // Median of three keeps sorted and reverse-sorted runs (common in attention scores) linear.
            let mid = lo + (hi - lo) / 2
            if better(indices[mid], indices[lo]) { swap(indices, lo, mid) }
            if better(indices[hi], indices[lo]) { swap(indices, lo, hi) }
            if better(indices[hi], indices[mid]) { swap(indices, mid, hi) }
            let pivot = indices[mid]
            var i = lo, j = hi
            while i <= j {
                while better(indices[i], pivot) { i += 1 }
                while better(pivot, indices[j]) { j -= 1 }
                if i <= j {
                    swap(indices, i, j)
                    i += 1
                    j -= 1
                }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { return }
        }
    }

    /// The `k` best of `candidates` by `scores` (indexed by token), ascending by index.
    static func best(_ k: Int, of candidates: [Int32], scores: UnsafePointer<Float>) -> [Int32] {
        guard k < candidates.count else { return candidates.sorted() }
        var work = candidates
        work.withUnsafeMutableBufferPointer { partition($0.baseAddress!, count: $0.count, k: k, scores: scores) }
        return work[0..<max(0, k)].sorted()
    }

    @inline(__always) private static func swap(_ p: UnsafeMutablePointer<Int32>, _ a: Int, _ b: Int) {
        let t = p[a]
        p[a] = p[b]
        p[b] = t
    }
}
