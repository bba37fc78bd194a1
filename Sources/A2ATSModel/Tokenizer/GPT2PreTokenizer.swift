/// GPT-2's word regex, scanned by hand:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// At each position the first alternative that matches wins, as in a backtracking engine.
struct GPT2PreTokenizer: RegexScanningPreTokenizer {
    /// End of the regex match starting at `i` (always > i).
    @inline(__always)
    static func matchEnd(_ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
                         _ i: Int, _ end: Int) -> Int {
        // 's|'t|'re|'ve|'m|'ll|'d  (case-sensitive)
        if values[i] == 0x27, i + 1 < end {
            switch values[i + 1] {
            case 0x73, 0x74, 0x6D, 0x64: return i + 2                                // s t m d
            case 0x72, 0x76: if i + 2 < end, values[i + 2] == 0x65 { return i + 3 }  // re ve
            case 0x6C: if i + 2 < end, values[i + 2] == 0x6C { return i + 3 }        // ll
            default: break
            }
        }
        // ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]: an optional space, then a run of X.
        let spaceFirst = classes[i] & ScalarText.space != 0 && i + 1 < end
        for kind in 0..<3 {
            let start: Int
            if spaceFirst && matches(classes[i + 1], kind) {
                start = i + 1
            } else if matches(classes[i], kind) {
                start = i
            } else {
                continue
            }
            var k = start + 1
            while k < end && matches(classes[k], kind) { k += 1 }
            return k
        }
        // \s+(?!\S) | \s+
        precondition(classes[i] & ScalarText.whitespace != 0, "every scalar is letter, number, other or space")
        var k = i + 1
        while k < end && classes[k] & ScalarText.whitespace != 0 { k += 1 }
        if k == end { return end }
        return k - i >= 2 ? k - 1 : k
    }

    /// kind 0: \p{L}; 1: \p{N}; 2: [^\s\p{L}\p{N}].
    @inline(__always)
    static func matches(_ bits: UInt8, _ kind: Int) -> Bool {
        switch kind {
        case 0: return bits & ScalarText.letter != 0
        case 1: return bits & ScalarText.number != 0
        default: return bits & (ScalarText.letter | ScalarText.number | ScalarText.whitespace) == 0
        }
    }
}
