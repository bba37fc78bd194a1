import A2ATSTensor

/// The K-quant super-blocks (256 elements, ggml's `block_q{2,3,4,5,6}_K`): sub-block scales
/// inside the block, one f16 `d` (and `dmin`) per super-block. Each function follows ggml's
/// `dequantize_row_*_K` and multiplies in the same order as the `gguf` package's NumPy
/// dequantizer (sub-block scale first, then the code), so the values are bit-identical.
extension Dequantize {
    /// block_q2_K (84 bytes): u8 scales[16] (low nibble scale, high nibble min, per 16 elements),
    /// u8 qs[64] (2-bit codes), f16 d, f16 dmin. Each 128-element half reads 32 code bytes at
    /// shifts 0, 2, 4, 6; x = (d·scale)·q − dmin·min.
    public static func q2_K(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 256 {
            let block = src + 84 * b
            let scales = block.assumingMemoryBound(to: UInt8.self)
            let d = half(block, 80)
            let dmin = half(block, 82)
            for part in 0..<2 {
                let q = (block + 16 + 32 * part).assumingMemoryBound(to: UInt8.self)
                for shift in 0..<4 {
                    for sub in 0..<2 {
                        let sc = scales[8 * part + 2 * shift + sub]
                        let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                        let o = dst + 256 * b + 128 * part + 32 * shift + 16 * sub
                        for l in 0..<16 { o[l] = dl * Float((q[16 * sub + l] >> UInt8(2 * shift)) & 3) - ml }
                    }
                }
            }
        }
    }

    /// block_q3_K (110 bytes): u8 hmask[32] (third bit, bit k for elements 32k…32k+31), u8 qs[64]
    /// (low 2 bits, as Q2_K), u8 scales[12] (sixteen 6-bit scales, offset 32), f16 d.
    /// x = (d·(scale − 32))·(q − 4 if the hmask bit is clear).
    public static func q3_K(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 256 {
            let block = src + 110 * b
            let hmask = block.assumingMemoryBound(to: UInt8.self)
            let packed = (block + 96).assumingMemoryBound(to: UInt8.self)
            let d = half(block, 108)
            for part in 0..<2 {
                let q = (block + 32 + 32 * part).assumingMemoryBound(to: UInt8.self)
                for shift in 0..<4 {
                    let bit = UInt8(4 * part + shift)
                    for sub in 0..<2 {
                        let dl = d * Float(KQuantScales.q3Scale(8 * part + 2 * shift + sub, packed))
                        let o = dst + 256 * b + 128 * part + 32 * shift + 16 * sub
                        for l in 0..<16 {
                            let low = Int((q[16 * sub + l] >> UInt8(2 * shift)) & 3)
                            let high = (hmask[16 * sub + l] >> bit) & 1
                            o[l] = dl * Float(high == 0 ? low - 4 : low)
                        }
                    }
                }
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


    /// block_q5_K (176 bytes): f16 d, f16 dmin, u8 scales[12] (as Q4_K), u8 qh[32] (fifth bit,
    /// bit k for elements 32k…32k+31), u8 qs[128] (low nibbles, as Q4_K); x = (d·sc)·q − dmin·m.
    public static func q5_K(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<count / 256 {
            let block = src + 176 * b
            let d = half(block, 0)
            let dmin = half(block, 2)
            let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
            let qs = (block + 48).assumingMemoryBound(to: UInt8.self)
            for chunk in 0..<4 {
                let (sc1, m1) = KQuantScales.scaleMin(2 * chunk, scales)
                let (sc2, m2) = KQuantScales.scaleMin(2 * chunk + 1, scales)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                let q = qs + 32 * chunk
                let o = dst + 256 * b + 64 * chunk
                let lowBit = UInt8(2 * chunk), highBit = UInt8(2 * chunk + 1)
                for l in 0..<32 {
                    o[l] = d1 * Float(q[l] & 0x0F | ((qh[l] >> lowBit) & 1) << 4) - min1
                    o[l + 32] = d2 * Float(q[l] >> 4 | ((qh[l] >> highBit) & 1) << 4) - min2
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
