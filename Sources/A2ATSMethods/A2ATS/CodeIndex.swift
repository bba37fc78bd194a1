/// The tokens of one (layer, KV head) grouped by code: a compressed inverted index over the
/// first `count` tokens (offsets per code, token ids ascending within a code).
///
/// With it, a decode step reads only the tokens whose code is selected, instead of all n codes.
/// Tokens appended later are scanned one by one until the index is rebuilt (`A2ATSMethod`
/// rebuilds it when that tail grows long).
final class CodeIndex {
    let centroidCount: Int
    /// Tokens indexed: `0 ..< count`.
    private(set) var count = 0
    private(set) var offsets: [Int32]   // C + 1
    private(set) var tokens: [Int32] = []

    init(centroidCount: Int) {
        self.centroidCount = centroidCount
        offsets = Array(repeating: 0, count: centroidCount + 1)
    }

    /// Bytes the index keeps resident (side memory of the method).
    var residentBytes: Int { (offsets.count + tokens.count) * MemoryLayout<Int32>.size }

    /// Indexes tokens `0 ..< count` by a counting sort of their codes: O(count + C).
    func rebuild(codes: UnsafePointer<UInt16>, count: Int) {
        self.count = count
        offsets.withUnsafeMutableBufferPointer { offsets in
            offsets.update(repeating: 0)
            for j in 0 ..< count { offsets[Int(codes[j]) + 1] &+= 1 }
            for c in 0 ..< centroidCount { offsets[c + 1] &+= offsets[c] }
        }
        if tokens.count < count { tokens = Array(repeating: 0, count: count) }
        var next = offsets
        tokens.withUnsafeMutableBufferPointer { tokens in
            next.withUnsafeMutableBufferPointer { next in
                for j in 0 ..< count {
                    let c = Int(codes[j])
                    tokens[Int(next[c])] = Int32(j)
                    next[c] &+= 1
                }
            }
        }
    }
}
