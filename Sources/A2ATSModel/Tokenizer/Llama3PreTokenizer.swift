/// Llama-3's word regex (`llama-bpe`), scanned by hand:
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|`
/// ` ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
/// At each position the first alternative that matches wins, as in a backtracking engine.
/// Qwen2's regex differs only in taking single digits (`Qwen2PreTokenizer`).
struct Llama3PreTokenizer: RegexScanningPreTokenizer {
    /// ASCII lowercase of `value` (the contractions are ASCII).
    @inline(__always)
    private static func lower(_ value: UInt32) -> UInt32 {
        (0x41...0x5A).contains(value) ? value | 0x20 : value
    }

    /// End of the regex match starting at `i` (always > i).
    static func matchEnd(_ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
                         _ i: Int, _ end: Int) -> Int {
        matchEnd(values, classes, i, end, digitRun: 3)
    }

    /// The same regex with `\p{N}{1,digitRun}` as its number alternative.
    @inline(__always)
    static func matchEnd(_ values: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>,
                         _ i: Int, _ end: Int, digitRun: Int) -> Int {
        let letter = ScalarText.letter, number = ScalarText.number
        let whitespace = ScalarText.whitespace, lineBreak = ScalarText.lineBreak
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if values[i] == 0x27, i + 1 < end {
            let a = lower(values[i + 1])
            switch a {
            case 0x73, 0x74, 0x6D, 0x64: return i + 2
            case 0x72, 0x76: if i + 2 < end, lower(values[i + 2]) == 0x65 { return i + 3 }
            case 0x6C: if i + 2 < end, lower(values[i + 2]) == 0x6C { return i + 3 }
            default: break
            }
        }
        let c = classes[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var letterStart = -1
        if c & (letter | number | lineBreak) == 0, i + 1 < end, classes[i + 1] & letter != 0 {
            letterStart = i + 1
        } else if c & letter != 0 {
            letterStart = i
        }
        if letterStart >= 0 {
            var k = letterStart + 1
            while k < end && classes[k] & letter != 0 { k += 1 }
            return k
        }
        // \p{N}{1,3}
        if c & number != 0 {
            var k = i + 1
            while k < end && k < i + digitRun && classes[k] & number != 0 { k += 1 }
            return k
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let other = letter | number | whitespace
        var otherStart = -1
        if c & ScalarText.space != 0, i + 1 < end, classes[i + 1] & other == 0 {
            otherStart = i + 1
        } else if c & other == 0 {
            otherStart = i
        }
        if otherStart >= 0 {
            var k = otherStart + 1
            while k < end && classes[k] & other == 0 { k += 1 }
            while k < end && classes[k] & lineBreak != 0 { k += 1 }
            return k
        }
        // Only whitespace is left. \s*[\r\n]+ : up to and including the run's last line break.
        var runEnd = i + 1
        while runEnd < end && classes[runEnd] & whitespace != 0 { runEnd += 1 }
        var k = runEnd - 1
        while k >= i {
            if classes[k] & lineBreak != 0 { return k + 1 }
            k -= 1
        }
        // \s+(?!\S) | \s+
        if runEnd == end { return end }
        return runEnd - i >= 2 ? runEnd - 1 : runEnd
    }
}
