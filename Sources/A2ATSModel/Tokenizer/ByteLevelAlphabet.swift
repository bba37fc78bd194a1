/// GPT-2's `bytes_to_unicode`: byte-level BPE vocabularies spell every byte as a printable
/// character, so a token's text must be mapped back through this table to get its bytes.
/// Printable Latin-1 bytes ('!'...'~', '¡'...'¬', '®'...'ÿ') stand for themselves; the
/// remaining 68 bytes take U+0100, U+0101, ... in byte order (so ' ' is 'Ġ', '\n' is 'Ċ').
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the character that spells byte `b` in the vocabulary.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte)
                || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `scalarForByte`, keyed by scalar value.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in scalarForByte.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    /// The bytes a vocabulary entry stands for. Characters outside the alphabet (which a
    /// well-formed byte-level vocabulary never has) keep their own UTF-8 bytes, as the
    /// Hugging Face ByteLevel decoder does.
    static func bytes(ofToken token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            if let byte = byteForScalar[scalar.value] {
                out.append(byte)
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    /// The vocabulary spelling of `bytes` (the inverse of `bytes(ofToken:)`).
    static func token(ofBytes bytes: some Sequence<UInt8>) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(scalarForByte[Int(byte)]) }
        return String(text)
    }
}
