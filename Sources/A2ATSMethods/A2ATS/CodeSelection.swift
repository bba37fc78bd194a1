/// Per-query-head top-k over table-lookup scores, unioned over the GQA group, exploiting that a
/// token's approximate score T_g[code_j] takes at most C distinct values.
///
/// Instead of ranking n scores per head: count the ranked tokens per code (from the index, so
/// O(C) plus the few tokens outside it), find each head's threshold by a count-weighted selection
/// over its C table entries (expected O(C): values are bucketed first), then visit only the
/// tokens of the codes above some head's threshold, through the index. Tokens whose code ties a
/// threshold are kept while that head has room, lowest indices first (the contract's tie rule).
/// The result equals sorting every head's scores, taking k, and uniting; the cost per KV head is
/// O(G·C + selected + n/64), not O(n).
final class CodeSelection {
    let centroidCount: Int
    let groupSize: Int
    private let counts: UnsafeMutablePointer<Int32>   // C: ranked tokens per code
    private let flags: UnsafeMutablePointer<UInt32>   // C: bit 31 above a threshold, bit g tie of head g
    private let values: UnsafeMutablePointer<Float>   // C: quickselect scratch
    private let weights: UnsafeMutablePointer<Int32>  // C
    private var tiesLeft: [Int]
    private var buckets = [Int32](repeating: 0, count: 1024)
    /// One bit per token: the ranked tokens kept, emitted in ascending order by scanning words;
    /// and the tokens whose code ties some head's threshold, visited in the same order.
    private var keptBits: [UInt64] = []
    private var tiedBits: [UInt64] = []
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
    /// `index` must cover a prefix of the tokens whose codes are `codes`.
    func select(codes: UnsafePointer<UInt16>, index: CodeIndex, range: Range<Int>, tables: UnsafePointer<Float>, k: Int,
                into output: inout [Int32]) {
        precondition(k > 0 && k < range.count, "CodeSelection needs 0 < k < ranked tokens")
        precondition(index.centroidCount == centroidCount, "index built for another codebook size")
        let c = centroidCount
        let indexed = min(index.count, range.upperBound)
        let tail = max(indexed, range.lowerBound) ..< range.upperBound   // ranked tokens outside the index
        countRankedTokens(codes: codes, index: index, indexed: indexed, range: range, tail: tail)
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
        // One bit per token the index or the range holds: kept, and tied with some head's threshold.
        // A code's tokens are marked without testing each against `range` (the flags are the code's);
        // the sinks before it and the index's tokens after it are masked off when the bits are read.
        let words = (max(index.count, range.upperBound) + 63) / 64
        if keptBits.count < words { keptBits = Array(repeating: 0, count: words) }
        if tiedBits.count < words { tiedBits = Array(repeating: 0, count: words) }
        keptBits.withUnsafeMutableBufferPointer { kept in tiedBits.withUnsafeMutableBufferPointer { tied in
            let (kept, tied) = (kept.baseAddress!, tied.baseAddress!)
            index.offsets.withUnsafeBufferPointer { offsets in
                index.tokens.withUnsafeBufferPointer { tokens in
                    for code in 0 ..< c where flags[code] != 0 && counts[code] > 0 {
                        let f = flags[code], slots = Int(offsets[code]) ..< Int(offsets[code + 1])
                        if f & Self.above != 0 { for slot in slots { Self.mark(Int(tokens[slot]), in: kept) } }
                        if f & ~Self.above != 0 { for slot in slots { Self.mark(Int(tokens[slot]), in: tied) } }
                    }
                }
            }
            for j in tail {
                let f = flags[Int(codes[j])]
                if f & Self.above != 0 { Self.mark(j, in: kept) }
                if f & ~Self.above != 0 { Self.mark(j, in: tied) }
            }
            // A tie consumes the head's room in token order, even if another head keeps the token.
            Self.forEachBit(of: tied, in: range) { j in
                var tieBits = flags[Int(codes[j])] & ~Self.above
                while tieBits != 0 {
                    let g = tieBits.trailingZeroBitCount
                    tieBits &= tieBits - 1
                    if tiesLeft[g] > 0 { tiesLeft[g] -= 1; Self.mark(j, in: kept) }
                }
            }
            // The kept tokens of `range`, ascending, written in place after what `output` holds.
            var total = 0
            Self.forEachWord(of: kept, in: range) { _, word in total += word.nonzeroBitCount }
            let first = output.count
            output.append(contentsOf: repeatElement(0, count: total))
            output.withUnsafeMutableBufferPointer { out in
                var next = first
                Self.forEachBit(of: kept, in: range) { j in out[next] = Int32(j); next += 1 }
            }
            kept.update(repeating: 0, count: words)
            tied.update(repeating: 0, count: words)
        } }
        flags.update(repeating: 0, count: c)
    }

    @inline(__always) private static func mark(_ j: Int, in bits: UnsafeMutablePointer<UInt64>) {
        bits[j >> 6] |= 1 << UInt64(j & 63)
    }

    /// `body(w, word)` for the words of `bits` that hold tokens of `range`, with the bits of
    /// tokens outside it cleared.
    @inline(__always) private static func forEachWord(of bits: UnsafeMutablePointer<UInt64>, in range: Range<Int>,
                                                      _ body: (Int, UInt64) -> Void) {
        guard !range.isEmpty else { return }
        let low = range.lowerBound >> 6, high = (range.upperBound - 1) >> 6
        for w in low ... high {
            var word = bits[w]
            if w == low { word &= ~UInt64(0) << UInt64(range.lowerBound & 63) }
            if w == high { word &= ~UInt64(0) >> UInt64(63 - ((range.upperBound - 1) & 63)) }
            body(w, word)
        }
    }

    /// `body(j)` for every token j of `range` whose bit is set, ascending.
    @inline(__always) private static func forEachBit(of bits: UnsafeMutablePointer<UInt64>, in range: Range<Int>,
                                                     _ body: (Int) -> Void) {
        forEachWord(of: bits, in: range) { w, word in
            var word = word
            while word != 0 {
                body(w << 6 + word.trailingZeroBitCount)
                word &= word - 1
            }
        }
    }

    /// counts[code] = ranked tokens with that code: the index's counts, less its tokens outside
    /// `range` (sinks before it, window after it), plus the tail the index does not cover yet.
    private func countRankedTokens(codes: UnsafePointer<UInt16>, index: CodeIndex, indexed: Int, range: Range<Int>,
                                   tail: Range<Int>) {
        index.offsets.withUnsafeBufferPointer { offsets in
            for code in 0 ..< centroidCount { counts[code] = offsets[code + 1] - offsets[code] }
        }
        for j in 0 ..< min(range.lowerBound, index.count) { counts[Int(codes[j])] -= 1 }
        if index.count > range.upperBound { for j in range.upperBound ..< index.count { counts[Int(codes[j])] -= 1 } }
        for j in tail { counts[Int(codes[j])] += 1 }
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
