import A2ATSTensor

/// ggml block formats converted to f32, one function per type, following the block layouts of
/// ggml's `ggml-common.h` / `dequantize_row_*` (all little-endian, f16 scales). Each loop walks
/// raw pointers block by block so the compiler can vectorize the inner 16/32-element loops.
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
        case .q4_K: q4_K(source, count: count, into: destination)
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

    /// block_q4_K (144 bytes, 256 elements): f16 d, f16 dmin, u8 scales[12] (eight 6-bit
    /// scale/min pairs), u8 qs[128]. Each 64-element chunk uses two sub-blocks: low nibbles of
    /// 32 bytes, then their high nibbles; x = d·sc·q − dmin·m.
    public static func q4_K(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 256 {
            let block = src + 144 * b
            let d = half(block, 0)
            let dmin = half(block, 2)
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            let qs = (block + 16).assumingMemoryBound(to: UInt8.self)
            let out = dst + 256 * b
            for chunk in 0..<4 {
                let (sc1, m1) = KQuantScales.scaleMin(2 * chunk, scales)
                let (sc2, m2) = KQuantScales.scaleMin(2 * chunk + 1, scales)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                let q = qs + 32 * chunk
                let o = out + 64 * chunk
                for l in 0..<32 {
                    o[l] = d1 * Float(q[l] & 0x0F) - min1
                    o[l + 32] = d2 * Float(q[l] >> 4) - min2
                }
            }
        }
    }

    /// block_q6_K (210 bytes, 256 elements): u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits),
    /// int8 scales[16], f16 d; x = d·scale·(q − 32). Each 128-element half reads 64 ql and 32 qh bytes.
    public static func q6_K(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 256 {
            let block = src + 210 * b
            let d = half(block, 208)
            for part in 0..<2 {
                let ql = (block + 64 * part).assumingMemoryBound(to: UInt8.self)
                let qh = (block + 128 + 32 * part).assumingMemoryBound(to: UInt8.self)
                let sc = (block + 192 + 8 * part).assumingMemoryBound(to: Int8.self)
                let o = dst + 256 * b + 128 * part
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int(ql[l] & 0x0F) | Int((qh[l] >> 0) & 3) << 4
                    let q2 = Int(ql[l + 32] & 0x0F) | Int((qh[l] >> 2) & 3) << 4
                    let q3 = Int(ql[l] >> 4) | Int((qh[l] >> 4) & 3) << 4
                    let q4 = Int(ql[l + 32] >> 4) | Int((qh[l] >> 6) & 3) << 4
                    o[l] = d * Float(sc[s]) * Float(q1 - 32)
                    o[l + 32] = d * Float(sc[s + 2]) * Float(q2 - 32)
                    o[l + 64] = d * Float(sc[s + 4]) * Float(q3 - 32)
                    o[l + 96] = d * Float(sc[s + 6]) * Float(q4 - 32)
                }
            }
        }
    }
}
