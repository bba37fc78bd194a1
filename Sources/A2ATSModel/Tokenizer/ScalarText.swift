/// One stretch of input decoded to Unicode scalars with the character classes the
/// pre-tokenizer regexes ask about, computed once per scalar so the scanners only test bits.
/// Buffers are reused across calls (`load` keeps capacity) to avoid allocating per segment.
struct ScalarText {
    /// Class bits, as the regexes define them (Oniguruma's Unicode `\s`, `\p{L}`, `\p{N}`).
    static let letter: UInt8 = 1        // \p{L}: general category Lu Ll Lt Lm Lo
    static let number: UInt8 = 2        // \p{N}: Nd Nl No
    static let whitespace: UInt8 = 4    // \s: the White_Space property
    static let lineBreak: UInt8 = 8     // \r or \n
    static let space: UInt8 = 16        // U+0020 only (the regexes' literal " ")

    /// Scalar values.
    private(set) var values: [UInt32] = []
    /// Class bits per scalar.
    private(set) var classes: [UInt8] = []
    /// UTF-8 offset of each scalar within the loaded bytes, plus the end offset.
    private(set) var byteOffsets: [Int] = []

    var count: Int { values.count }

    /// Decodes `bytes` (valid UTF-8, as every Swift String's storage is).
    mutating func load(_ bytes: UnsafeBufferPointer<UInt8>) {
        values.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        byteOffsets.removeAll(keepingCapacity: true)
        var i = 0
        let n = bytes.count
        while i < n {
            let lead = UInt32(bytes[i])
            var value: UInt32
            var length: Int
            if lead < 0x80 {
                value = lead; length = 1
            } else if lead < 0xE0 {
                value = lead & 0x1F; length = 2
            } else if lead < 0xF0 {
                value = lead & 0x0F; length = 3
            } else {
                value = lead & 0x07; length = 4
            }
            length = min(length, n - i)
            for k in 1..<max(length, 1) { value = (value << 6) | (UInt32(bytes[i + k]) & 0x3F) }
            values.append(value)
            classes.append(ScalarText.classify(value))
            byteOffsets.append(i)
            i += length
        }
        byteOffsets.append(n)
    }

    private static let asciiClasses: [UInt8] = (0..<128).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        var bits: UInt8 = 0
        if (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) { bits |= letter }
        if (0x30...0x39).contains(value) { bits |= number }
        if scalar.properties.isWhitespace { bits |= whitespace }
        if value == 0x0A || value == 0x0D { bits |= lineBreak }
        if value == 0x20 { bits |= space }
        return bits
    }

    static func classify(_ value: UInt32) -> UInt8 {
        if value < 128 { return asciiClasses[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return properties.isWhitespace ? whitespace : 0
        }
    }
}
