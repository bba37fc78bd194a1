/// How each GGUF block format is repacked for the decode kernels: the block's f16 scale (and
/// offset) become lane values (f16 for the C kernels' formats, f32 for the Swift kernels'), its
/// code bytes become 32-bit words in the order the kernel reads them. Block layouts follow
/// ggml's `ggml-common.h` (all little-endian).
extension QuantizedMatrix.Format {
    /// Formats held as GGUF blocks (everything but `f32` and `mixed`).
    public var isBlockFormat: Bool { self != .f32 && self != .mixed }

    /// Columns per GGUF block: 32, or 256 for a K-quant super-block.
    public var blockColumns: Int {
        switch self {
        case .q3_K, .q4_K, .q5_K, .q6_K: return 256
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_NL, .bf16, .f16, .f32, .mixed: return 32
        }
    }

    /// Bytes of one GGUF block (ggml's `type_size`).
    var ggufBlockBytes: Int {
        switch self {
        case .q4_0, .iq4_NL: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .bf16, .f16: return 64
        case .f32, .mixed: return 0
        }
    }

    /// 32-bit words per block and row after repacking (see `QuantizedMatrix.pack`).
    var wordsPerBlock: Int {
        switch self {
        case .q4_0, .q4_1: return 4
        case .q5_0, .q5_1: return 5
        case .q8_0, .iq4_NL: return 8
        case .q4_K: return 36
        case .q5_K: return 44
        case .q3_K, .q6_K: return 52
        case .bf16, .f16: return 16
        case .f32, .mixed: return 0
        }
    }

    /// Whether the scales (and offsets) are kept as f16 (`halfScales`): the formats of the C kernels.
    var hasHalfScales: Bool { self == .q4_0 || self == .q4_1 || self == .q8_0 || self == .iq4_NL }

    /// Whether blocks carry an offset (kept in `offsets` or `halfScales`, applied through
    /// per-32-column Σx).
    var hasOffsets: Bool { self == .q4_0 || self == .q4_1 || self == .q5_1 || self == .q4_K || self == .q5_K }
}

extension QuantizedMatrix {
    /// Writes one GGUF block's words to `words[k · stride]` and returns its (scale, offset):
    /// - Q4_1 (f16 d, f16 m, 16 nibble bytes): words 0–3 the nibbles; (d, m).
    /// - Q8_0 (f16 d, 32 int8): words 0–7 the codes; (d, 0).
    /// - Q5_0 (f16 d, u32 qh, 16 nibble bytes): the 32 five-bit codes repacked, see `packFiveBit`; (d, 0).
    /// - Q4_K (f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 nibble bytes): word 0–1 the
    ///   eight sub-block scales as bytes, words 2–3 the eight mins, words 4–35 the nibbles; (d, dmin).
    ///   Unpacking the 6-bit fields here keeps that bit-juggling out of the kernel.
    /// - Q6_K (128 bytes ql, 64 bytes qh, 16 int8 scales, f16 d): words 0–3 the scales, words
    ///   4–51 the 256 six-bit codes repacked, see `packSixBit`; (d, 0).
    ///
    /// Formats without a kernel of their own are repacked exactly into one that has it:
    /// - Q4_0 (f16 d, 16 nibble bytes) as Q4_1 with offset −8·d (d·(q − 8) = d·q − 8·d, and 8·d is exact).
    /// - Q5_1 (f16 d, f16 m, u32 qh, 16 nibble bytes) as Q5_0's codes; (d, m), its kernel reads the offset.
    /// - IQ4_NL (f16 d, 16 nibble bytes indexing 16 int8 levels) as Q8_0 holding the levels; (d, 0).
    /// - Q3_K (32 bytes hmask, 64 bytes 2-bit codes, 12 bytes of 6-bit scales, f16 d) as Q6_K: the
    ///   scales minus 32 fit an int8, the signed 3-bit codes q ∈ [−4, 3] become q + 32; (d, 0).
    /// - Q5_K (Q4_K's fields plus 32 bytes qh of fifth bits) as Q4_K with words 36–43 the qh bytes.
    ///
    /// Q5_0 and Q6_K split each code over two fields (low nibble, high bits); joining the two
    /// in the kernel costs a shift, a mask and an OR per weight, more than the rest of the work.
    /// Repacked as whole codes at a fixed bit stride, in as many bytes as the file uses, one shift
    /// and one mask give a code.
    static func pack(_ format: Format, block: UnsafeRawPointer, into words: UnsafeMutablePointer<UInt32>,
                     stride: Int) -> (scale: Float, offset: Float) {
        func word(at byteOffset: Int) -> UInt32 {
            UInt32(littleEndian: block.loadUnaligned(fromByteOffset: byteOffset, as: UInt32.self))
        }
        func half(at byteOffset: Int) -> Float {
            Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self))))
        }
        switch format {
        case .q4_0:
            for k in 0..<4 { words[k * stride] = word(at: 2 + 4 * k) }
            return (half(at: 0), -8 * half(at: 0))
        case .q4_1:
            for k in 0..<4 { words[k * stride] = word(at: 4 + 4 * k) }
            return (half(at: 0), half(at: 2))
        case .iq4_NL:
            let nibbles = (block + 2).assumingMemoryBound(to: UInt8.self)
            for k in 0..<8 {
                var packed: UInt32 = 0
                for byte in 0..<4 {
                    let j = 4 * k + byte
                    let level = IQ4Levels.values[Int(j < 16 ? nibbles[j] & 0x0F : nibbles[j - 16] >> 4)]
                    packed |= UInt32(UInt8(bitPattern: level)) << UInt32(8 * byte)
                }
                words[k * stride] = packed
            }
            return (half(at: 0), 0)
        case .q5_1:
            let high = word(at: 4)
            let nibbles = (block + 8).assumingMemoryBound(to: UInt8.self)
            packFiveBit(into: words, stride: stride) { j in
                UInt32(j < 16 ? nibbles[j] & 0x0F : nibbles[j - 16] >> 4) | ((high >> UInt32(j)) & 1) << 4
            }
            return (half(at: 0), half(at: 2))
        case .q8_0:
            for k in 0..<8 { words[k * stride] = word(at: 2 + 4 * k) }
            return (half(at: 0), 0)
        case .q5_0:
            let high = word(at: 2)
            let nibbles = (block + 6).assumingMemoryBound(to: UInt8.self)
            packFiveBit(into: words, stride: stride) { j in
                UInt32(j < 16 ? nibbles[j] & 0x0F : nibbles[j - 16] >> 4) | ((high >> UInt32(j)) & 1) << 4
            }
            return (half(at: 0), 0)
        case .q4_K, .q5_K:
            let packed = (block + 4).assumingMemoryBound(to: UInt8.self)
            for k in 0..<2 {
                var scales: UInt32 = 0, mins: UInt32 = 0
                for byte in 0..<4 {
                    let (scale, min) = KQuantScales.scaleMin(4 * k + byte, packed)
                    scales |= UInt32(scale) << (8 * byte)
                    mins |= UInt32(min) << (8 * byte)
                }
                words[k * stride] = scales
                words[(2 + k) * stride] = mins
            }
            let codes = format == .q5_K ? 48 : 16
            for k in 0..<32 { words[(4 + k) * stride] = word(at: codes + 4 * k) }
            if format == .q5_K { for k in 0..<8 { words[(36 + k) * stride] = word(at: 16 + 4 * k) } }
            return (half(at: 0), half(at: 2))
        case .q3_K:
            let hmask = block.assumingMemoryBound(to: UInt8.self), low = (block + 32).assumingMemoryBound(to: UInt8.self)
            let packed = (block + 96).assumingMemoryBound(to: UInt8.self)
            for k in 0..<4 {
                var scales: UInt32 = 0
                for byte in 0..<4 {
                    scales |= UInt32(UInt8(bitPattern: Int8(KQuantScales.q3Scale(4 * k + byte, packed)))) << UInt32(8 * byte)
                }
                words[k * stride] = scales
            }
            packSixBit(into: words + 4 * stride, stride: stride) { j in
                // ggml's dequantize_row_q3_K: element j is byte 32·(j / 128) + j % 32 at shift
                // 2·((j % 128) / 32), its hmask bit j / 32 clear meaning q − 4.
                let code = (low[32 * (j / 128) + j % 32] >> UInt8(2 * ((j % 128) / 32))) & 3
                let set = (hmask[j % 32] >> UInt8(j / 32)) & 1
                return UInt32(code) + (set == 1 ? 32 : 28)
            }
            return (half(at: 108), 0)
        case .q6_K:
            for k in 0..<4 { words[k * stride] = word(at: 192 + 4 * k) }
            let low = block.assumingMemoryBound(to: UInt8.self), high = (block + 128).assumingMemoryBound(to: UInt8.self)
            packSixBit(into: words + 4 * stride, stride: stride) { j in
                // ggml's dequantize_row_q6_K: in each 128-element half, l < 32 and quarter r.
                let part = j / 128, r = (j % 128) / 32, l = j % 32
                let nibbleByte = low[64 * part + l + 32 * (r % 2)]
                let nibble = r < 2 ? nibbleByte & 0x0F : nibbleByte >> 4
                return UInt32(nibble) | UInt32((high[32 * part + l] >> (2 * r)) & 3) << 4
            }
            return (half(at: 208), 0)
        case .bf16, .f16:
            for k in 0..<16 { words[k * stride] = word(at: 4 * k) }
            return (1, 0)
        case .f32, .mixed:
            preconditionFailure("\(format) has no GGUF blocks")
        }
    }
}

extension QuantizedMatrix {
    /// 32 five-bit codes in five words: word m holds codes 6m … 6m + 5 at bits 5i; codes 30 and 31
    /// are the 10 bits made of each word's top two bits (word m gives bits 2m, 2m + 1).
    static func packFiveBit(into words: UnsafeMutablePointer<UInt32>, stride: Int, code: (Int) -> UInt32) {
        let spare = code(30) | code(31) << 5
        for m in 0..<5 {
            var word = ((spare >> UInt32(2 * m)) & 3) << 30
            for i in 0..<6 { word |= code(6 * m + i) << UInt32(5 * i) }
            words[m * stride] = word
        }
    }

    /// 256 six-bit codes in 48 words, three per 16-code sub-block: word m of sub-block s holds
    /// codes 16s + 5m … 16s + 5m + 4 at bits 6i; code 16s + 15 is the 6 bits made of the three
    /// words' top two bits (word m gives bits 2m, 2m + 1).
    static func packSixBit(into words: UnsafeMutablePointer<UInt32>, stride: Int, code: (Int) -> UInt32) {
        for s in 0..<16 {
            let last = code(16 * s + 15)
            for m in 0..<3 {
                var word = ((last >> UInt32(2 * m)) & 3) << 30
                for i in 0..<5 { word |= code(16 * s + 5 * m + i) << UInt32(6 * i) }
                words[(3 * s + m) * stride] = word
            }
        }
    }
}

/// IQ4_NL's 16 non-uniform levels (ggml's `kvalues_iq4nl`), shared by dequantization and packing.
public enum IQ4Levels {
    public static let values: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
}

/// The 6-bit scale/min fields of Q4_K and Q5_K super-blocks, shared by dequantization and packing.
public enum KQuantScales {
    /// The j-th (scale, min) pair, j in 0..<8, of a 12-byte `scales` field (ggml's `get_scale_min_k4`):
    /// pairs 0–3 are the low 6 bits of bytes 0–3 and 4–7; pairs 4–7 take 4 bits from bytes 8–11 and
    /// their top 2 bits from the top of bytes 0–3 and 4–7.
    @inline(__always)
    public static func scaleMin(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// The i-th of Q3_K's sixteen scales, i in 0..<16, minus 32, from its 12-byte `scales` field:
    /// the low 4 bits are a nibble of bytes 0–7 (low nibbles for i < 8), the top 2 bits come from
    /// bytes 8–11 at shift 2·(i / 4).
    @inline(__always)
    public static func q3Scale(_ i: Int, _ q: UnsafePointer<UInt8>) -> Int {
        let low = i < 8 ? q[i] & 0x0F : q[i - 8] >> 4
        let high = (q[8 + i % 4] >> UInt8(2 * (i / 4))) & 3
        return Int(low | high << 4) - 32
    }
}
