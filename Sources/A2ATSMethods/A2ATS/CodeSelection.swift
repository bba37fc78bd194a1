/// Per-query-head top-k over table-lookup scores, unioned over the GQA group, exploiting that a
/// token's approximate score T_g[code_j] takes at most C distinct values.
///
/// Instead of ranking n scores per head, count how many ranked tokens carry each code, find each
/// head's threshold by a count-weighted selection over its C table entries (expected O(C): values
/// are bucketed first), then make one pass over the n codes that keeps a token if its code is
/// above some head's threshold, or ties with it while that head still has room (lowest indices
/// first: the contract's tie rule).
/// The result equals sorting every head's scores, taking k, and uniting; the cost per KV head is
/// O(n + G·C) reads of 2-byte codes and small tables instead of G partial selections over n floats.
final class CodeSelection {
    let centroidCount: Int
    let groupSize: Int
    private let counts: UnsafeMutablePointer<Int32>   // C: ranked tokens per code
    private let flags: UnsafeMutablePointer<UInt32>   // C: bit 31 above a threshold, bit g tie of head g
    private let values: UnsafeMutablePointer<Float>   // C: quickselect scratch
    private let weights: UnsafeMutablePointer<Int32>  // C
    private var tiesLeft: [Int]
    private var buckets = [Int32](repeating: 0, count: 1024)
    private static let above: UInt32 = 1 << 31

    init(centroidCount: Int, groupSize: Int) {
        precondition(groupSize <= 31, "tie flags hold at most 31 query heads per KV head")
        self.centroidCount = centroidCount
        self.groupSize = groupSize
        counts = .allocate(capacity: centroidCount)
        flags = .allocate(capacity: centroidCount)
        flags.initialize(repeating: 0, count: centroidCount)
        values = .allocate(capacity: centroidCount)
        weights = .allocate(capacity: centroidCount)
        tiesLeft = Array(repeating: 0, count: groupSize)
    }

    deinit {
        counts.deallocate()
        flags.deallocate()
        values.deallocate()
        weights.deallocate()
    }

    /// Appends to `output`, in ascending order, the tokens of `range` that are in the top `k` of at
    /// least one head, where head g scores token j as `tables[g·C + codes[j]]`. 0 < k < range.count.
    func select(codes: UnsafePointer<UInt16>, range: Range<Int>, tables: UnsafePointer<Float>, k: Int,
                into output: inout [Int32]) {
        precondition(k > 0 && k < range.count, "CodeSelection needs 0 < k < ranked tokens")
        let c = centroidCount
        counts.initialize(repeating: 0, count: c)
        for j in range { counts[Int(codes[j])] &+= 1 }
        for g in 0 ..< groupSize {
            let table = tables + g * c
            let (threshold, ties) = weightedThreshold(table, k: k)
            tiesLeft[g] = ties
            let tieBit = UInt32(1) << UInt32(g)
            for code in 0 ..< c where counts[code] > 0 {
                let v = table[code]
                if v > threshold { flags[code] |= Self.above } else if v == threshold { flags[code] |= tieBit }
            }
        }
        for j in range {
            let f = flags[Int(codes[j])]
            if f == 0 { continue }
            var keep = f & Self.above != 0
            var tieBits = f & ~Self.above
            while tieBits != 0 {   // a tie consumes the head's room even if another head keeps the token
                let g = tieBits.trailingZeroBitCount
                tieBits &= tieBits - 1
                if tiesLeft[g] > 0 { tiesLeft[g] -= 1; keep = true }
            }
            if keep { output.append(Int32(j)) }
        }
        flags.update(repeating: 0, count: c)
    }

    /// The score t of the k-th best token for one head, and how many tokens scoring exactly t it keeps.
    /// Buckets the present codes' values by a monotone linear map, finds the bucket holding the
    /// k-th token, then runs the count-weighted quickselect over that bucket only.
    private func weightedThreshold(_ table: UnsafePointer<Float>, k: Int) -> (Float, Int) {
        var m = 0
        var low = Float.infinity, high = -Float.infinity
        for code in 0 ..< centroidCount where counts[code] > 0 {
            let v = table[code]
            values[m] = v
            weights[m] = counts[code]
            low = min(low, v)
            high = max(high, v)
            m += 1
        }
        guard high > low else { return (high, k) }
        guard (high - low).isFinite else { return quickselect(count: m, need: k) }
        let bucketCount = buckets.count
        let scale = Float(bucketCount - 1) / (high - low)
        let last = Float(bucketCount - 1)
        @inline(__always) func bucket(_ v: Float) -> Int {   // NaN-safe and clamped
            let p = (v - low) * scale
            return p < last ? (p >= 1 ? Int(p) : 0) : bucketCount - 1
        }
        buckets.withUnsafeMutableBufferPointer { b in
            b.update(repeating: 0)
            for i in 0 ..< m { b[bucket(values[i])] &+= weights[i] }
        }
        // Equal values share a bucket and the map is monotone, so higher buckets hold strictly higher scores.
        var need = k, target = bucketCount - 1
        while need > Int(buckets[target]) { need -= Int(buckets[target]); target -= 1 }
        var kept = 0
        for i in 0 ..< m where bucket(values[i]) == target {
            values[kept] = values[i]
            weights[kept] = weights[i]
            kept += 1
        }
        return quickselect(count: kept, need: need)
    }

    /// Count-weighted quickselect over values[0..<count]: the value where the cumulative count from
    /// the top reaches `need`, and how much of `need` falls on that value.
    private func quickselect(count: Int, need wanted: Int) -> (Float, Int) {
        var need = wanted, lo = 0, hi = count   // the answer lies in values[lo..<hi]
        while true {
            let pivot = median(values[lo], values[lo + (hi - lo) / 2], values[hi - 1])
            // Three-way partition: [lo, greaterEnd) > pivot, [greaterEnd, lessStart) == pivot, [lessStart, hi) < pivot.
            var greaterEnd = lo, i = lo, lessStart = hi
            var greaterCount = 0, equalCount = 0
            while i < lessStart {
                let v = values[i]
                if v > pivot {
                    swapAt(i, greaterEnd); greaterCount += Int(weights[greaterEnd]); greaterEnd += 1; i += 1
                } else if v < pivot {
                    lessStart -= 1; swapAt(i, lessStart)
                } else {
                    equalCount += Int(weights[i]); i += 1
                }
            }
            if need <= greaterCount {
                hi = greaterEnd
            } else if need <= greaterCount + equalCount {
                return (pivot, need - greaterCount)
            } else {
                need -= greaterCount + equalCount
                lo = lessStart
            }
        }
    }

    @inline(__always) private func swapAt(_ a: Int, _ b: Int) {
        let v = values[a]; values[a] = values[b]; values[b] = v
        let w = weights[a]; weights[a] = weights[b]; weights[b] = w
    }

    @inline(__always) private func median(_ x: Float, _ y: Float, _ z: Float) -> Float {
        max(min(x, y), min(max(x, y), z))
    }
}
