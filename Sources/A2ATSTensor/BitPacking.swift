import CKernels

/// Codes of 1–8 bits packed into bytes least-significant bit first, code i at bit i·bits (KIVI's
/// order within a word): what a quantized K/V store really holds, so its byte count is the
/// length of its buffers.
public enum BitPacking {
    /// Bytes that hold `codes` codes of `bits` bits.
    public static func byteCount(codes: Int, bits: Int) -> Int { (codes * bits + 7) / 8 }

    /// Packs `count` codes (each < 2^bits) into `out` (`byteCount` bytes, overwritten).
    public static func pack(_ codes: UnsafePointer<UInt8>, count: Int, bits: Int, into out: UnsafeMutablePointer<UInt8>) {
        precondition((1...8).contains(bits))
        out.update(repeating: 0, count: byteCount(codes: count, bits: bits))
        for i in 0..<count {
            let bit = i * bits, byte = bit >> 3, shift = bit & 7
            let code = UInt16(codes[i]) << UInt16(shift)
            out[byte] |= UInt8(truncatingIfNeeded: code)
            if shift + bits > 8 { out[byte + 1] |= UInt8(truncatingIfNeeded: code >> 8) }
        }
    }

    /// Unpacks `count` codes as floats (what the attention kernels multiply by).
    @inline(__always)
    public static func unpack(_ bytes: UnsafePointer<UInt8>, count: Int, bits: Int, into out: UnsafeMutablePointer<Float>) {
        switch bits {
        case 8:
            for i in 0..<count { out[i] = Float(bytes[i]) }
        case 4:
            for i in 0..<(count / 2) {
                let b = bytes[i]
                out[2 * i] = Float(b & 15)
                out[2 * i + 1] = Float(b >> 4)
            }
            if count % 2 == 1 { out[count - 1] = Float(bytes[count / 2] & 15) }
        case 2:
            for i in 0..<(count / 4) {
                let b = bytes[i]
                out[4 * i] = Float(b & 3)
                out[4 * i + 1] = Float((b >> 2) & 3)
                out[4 * i + 2] = Float((b >> 4) & 3)
                out[4 * i + 3] = Float(b >> 6)
            }
            for i in (count / 4 * 4)..<count { out[i] = Float((bytes[i / 4] >> UInt8(2 * (i % 4))) & 3) }
        default:
            let mask = UInt16(1) << UInt16(bits) - 1
            for i in 0..<count {
                let bit = i * bits, byte = bit >> 3, shift = UInt16(bit & 7)
                var word = UInt16(bytes[byte])
                if Int(shift) + bits > 8 { word |= UInt16(bytes[byte + 1]) << 8 }
                out[i] = Float((word >> shift) & mask)
            }
        }
    }
}

/// KIVI's asymmetric quantizer (arXiv 2402.02750; jy-yuan/KIVI `quant/new_pack.py`): per group,
/// scale = (max − min) / (2^b − 1) and zero point = min, both stored as fp16 as the reference
/// stores them; code = round-half-even(clamp((x − min) / scale, 0, 2^b − 1)); x̂ = code · scale + min.
/// A constant group (scale 0), which divides by zero in the reference, gets code 0, so x̂ = min.
public enum MinMaxQuantizer {
    /// Quantizes `count` values read at `stride`; codes go to `codes[i · codeStride]`.
    public static func quantize(_ values: UnsafePointer<Float>, stride: Int, count: Int, bits: Int,
                                codes: UnsafeMutablePointer<UInt8>, codeStride: Int) -> (scale: Float16, minimum: Float16) {
        var low = Float.infinity, high = -Float.infinity
        for i in 0..<count {
            low = min(low, values[i * stride])
            high = max(high, values[i * stride])
        }
        let levels = Float((1 << bits) - 1)
        let minimum = Float16(low), maximum = Float16(high)
        let scale = Float16(Float(Float16(Float(maximum) - Float(minimum))) / levels)
        let s = Float(scale), m = Float(minimum)
        for i in 0..<count {
            let code = s == 0 ? 0 : min(max((values[i * stride] - m) / s, 0), levels).rounded(.toNearestOrEven)
            codes[i * codeStride] = UInt8(code)
        }
        return (scale, minimum)
    }
}

/// Rows of `d` codes at 2, 4 or 8 bits laid out so that 16 consecutive channels unpack from one
/// 16-byte load: with P = d·bits/8 bytes per row, channel c sits in byte c mod P at bit
/// bits·⌊c / P⌋. Same bytes as `BitPacking`, a layout the decode kernels read in SIMD.
public enum InterleavedCodes {
    public static func byteCount(codes d: Int, bits: Int) -> Int { d * bits / 8 }

    /// Whether rows of `d` codes can use this layout at all (whole bytes, 8/bits codes per byte).
    public static func supports(headDim d: Int, bits: Int) -> Bool { [2, 4, 8].contains(bits) && (d * bits) % 8 == 0 }

    /// Whether `chunk` applies: every run of 16 channels lies in 16 bytes at one shift.
    public static func isVectorized(headDim d: Int, bits: Int) -> Bool {
        supports(headDim: d, bits: bits) && d % 16 == 0 && byteCount(codes: d, bits: bits) % 16 == 0
    }

    public static func pack(_ codes: UnsafePointer<UInt8>, count d: Int, bits: Int, into out: UnsafeMutablePointer<UInt8>) {
        let p = byteCount(codes: d, bits: bits)
        out.update(repeating: 0, count: p)
        for c in 0..<d { out[c % p] |= codes[c] << UInt8(bits * (c / p)) }
    }

    /// One contiguous pass per shift, which the compiler vectorizes (load, shift, mask, convert).
    @inlinable
    public static func unpack(_ row: UnsafePointer<UInt8>, count d: Int, bits: Int, into out: UnsafeMutablePointer<Float>) {
        let p = d * bits / 8, mask = UInt8((1 << bits) - 1)
        switch bits {
        case 8:
            for j in 0..<p { out[j] = Float(row[j]) }
        case 4:
            for j in 0..<p { out[j] = Float(row[j] & 15) }
            for j in 0..<p { out[p + j] = Float(row[j] >> 4) }
        case 2:
            for j in 0..<p { out[j] = Float(row[j] & 3) }
            for j in 0..<p { out[p + j] = Float((row[j] >> 2) & 3) }
            for j in 0..<p { out[2 * p + j] = Float((row[j] >> 4) & 3) }
            for j in 0..<p { out[3 * p + j] = Float(row[j] >> 6) }
        default:
            for c in 0..<d { out[c] = Float((row[c % p] >> UInt8(bits * (c / p))) & mask) }
        }
    }

    /// x̂[c] = code[c] · scale[c] + offset[c] for one row (per-channel scales: KIVI's keys).
    /// `scale` and `offset` have `d` entries.
    public static func dequantize(_ row: UnsafePointer<UInt8>, count d: Int, bits: Int, scale: UnsafePointer<Float>,
                                  offset: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if isVectorized(headDim: d, bits: bits) {
            a2ats_dequantize(row, Int32(d), Int32(bits), scale, offset, 1, out)
            return
        }
        unpack(row, count: d, bits: bits, into: out)
        for c in 0..<d { out[c] = out[c] * scale[c] + offset[c] }
    }

    /// x̂[c] = code[c] · scale[c / group] + offset[c / group] (per-token groups: KIVI's values).
    public static func dequantize(_ row: UnsafePointer<UInt8>, count d: Int, bits: Int, groupScales: UnsafePointer<Float>,
                                  groupOffsets: UnsafePointer<Float>, group: Int, into out: UnsafeMutablePointer<Float>) {
        if isVectorized(headDim: d, bits: bits), group % 16 == 0 {
            a2ats_dequantize(row, Int32(d), Int32(bits), groupScales, groupOffsets, Int32(group), out)
            return
        }
        unpack(row, count: d, bits: bits, into: out)
        for c in 0..<d { out[c] = out[c] * groupScales[c / group] + groupOffsets[c / group] }
    }
}

/// fp16 → f32 for `count` values (F16C, eight per instruction).
public func halfToFloat(_ half: UnsafePointer<Float16>, count: Int, into out: UnsafeMutablePointer<Float>) {
    UnsafeRawPointer(half).withMemoryRebound(to: UInt16.self, capacity: count) { a2ats_half_to_float($0, Int32(count), out) }
}

/// f32 → fp16 for `count` values, rounded to nearest even as `Float16(_:)` rounds (F16C).
public func floatToHalf(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt16>) {
    a2ats_float_to_half(x, count, out)
}
