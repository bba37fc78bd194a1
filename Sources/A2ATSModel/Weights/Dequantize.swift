import A2ATSTensor

/// ggml block formats converted to f32, one function per type, following the block layouts of
/// ggml's `ggml-common.h` / `dequantize_row_*` (all little-endian, f16 scales). Each loop walks
/// raw pointers block by block so the compiler can vectorize the inner 16/32-element loops.
/// The K-quants live in `Dequantize+KQuants.swift`.
public enum Dequantize {
    /// Converts `count` elements of `type` at `source` into `destination`.
    /// `count` must be a multiple of the type's block size (the header parser checks ne0).
    public static func convert(_ type: GGMLType, from source: UnsafeRawPointer, count: Int,
                               into destination: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32: f32(source, count: count, into: destination)
        case .f16: f16(source, count: count, into: destination)
        case .bf16: bf16(source, count: count, into: destination)
        case .q8_0: q8_0(source, count: count, into: destination)
        case .q4_0: q4_0(source, count: count, into: destination)
        case .q4_1: q4_1(source, count: count, into: destination)
        case .q5_0: q5_0(source, count: count, into: destination)
        case .q5_1: q5_1(source, count: count, into: destination)
        case .iq4_NL: iq4_NL(source, count: count, into: destination)
        case .q2_K: q2_K(source, count: count, into: destination)
        case .q3_K: q3_K(source, count: count, into: destination)
        case .q4_K: q4_K(source, count: count, into: destination)
        case .q5_K: q5_K(source, count: count, into: destination)
        case .q6_K: q6_K(source, count: count, into: destination)
        default: preconditionFailure("Dequantize.convert called with \(type.name); callers check isDequantizable")
        }
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ byteOffset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self))))
    }

    public static func f32(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
    }

    public static func f16(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count { dst[i] = half(src, 2 * i) }
    }

    /// bfloat16 is the upper half of an f32.
    public static func bf16(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            dst[i] = Float(bitPattern: UInt32(bits) << 16)
        }
    }

    /// block_q8_0 (34 bytes): f16 d, int8 qs[32]; x = d·q.
    public static func q8_0(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 32 {
            let block = src + 34 * b
            let d = half(block, 0)
            let qs = (block + 2).assumingMemoryBound(to: Int8.self)
            let out = dst + 32 * b
            for j in 0..<32 { out[j] = d * Float(qs[j]) }
        }
    }

    /// block_q4_0 (18 bytes): f16 d, u8 qs[16]; element j is the low nibble of qs[j],
    /// element j+16 the high nibble; x = d·(q − 8).
    public static func q4_0(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 32 {
            let block = src + 18 * b
            let d = half(block, 0)
            let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
            let out = dst + 32 * b
            for j in 0..<16 {
                out[j] = d * Float(Int(qs[j] & 0x0F) - 8)
                out[j + 16] = d * Float(Int(qs[j] >> 4) - 8)
            }
        }
    }

    /// block_q4_1 (20 bytes): f16 d, f16 m, u8 qs[16]; nibble order as Q4_0; x = d·q + m.
    public static func q4_1(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 32 {
            let block = src + 20 * b
            let d = half(block, 0)
            let m = half(block, 2)
            let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
            let out = dst + 32 * b
            for j in 0..<16 {
                out[j] = d * Float(qs[j] & 0x0F) + m
                out[j + 16] = d * Float(qs[j] >> 4) + m
            }
        }
    }

    /// block_q5_0 (22 bytes): f16 d, u32 qh, u8 qs[16]; nibble order as Q4_0, bit j of qh is
    /// element j's fifth bit; x = d·(q − 16).
    public static func q5_0(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 32 {
            let block = src + 22 * b
            let d = half(block, 0)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
            let out = dst + 32 * b
            for j in 0..<16 {
                let low = Int(qs[j] & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
                let high = Int(qs[j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                out[j] = d * Float(low - 16)
                out[j + 16] = d * Float(high - 16)
            }
        }
    }

    /// block_q5_1 (24 bytes): f16 d, f16 m, u32 qh, u8 qs[16]; codes as Q5_0; x = d·q + m.
    public static func q5_1(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 32 {
            let block = src + 24 * b
            let d = half(block, 0)
            let m = half(block, 2)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
            let out = dst + 32 * b
            for j in 0..<16 {
                let low = UInt32(qs[j] & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = UInt32(qs[j] >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                out[j] = d * Float(low) + m
                out[j + 16] = d * Float(high) + m
            }
        }
    }

    /// block_iq4_nl (18 bytes): f16 d, u8 qs[16]; nibble order as Q4_0, each nibble indexes
    /// `IQ4Levels.values`; x = d·level.
    public static func iq4_NL(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        IQ4Levels.values.withUnsafeBufferPointer { levels in
            for b in 0..<count / 32 {
                let block = src + 18 * b
                let d = half(block, 0)
                let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
                let out = dst + 32 * b
                for j in 0..<16 {
                    out[j] = d * Float(levels[Int(qs[j] & 0x0F)])
                    out[j + 16] = d * Float(levels[Int(qs[j] >> 4)])
                }
            }
        }
    }
}
