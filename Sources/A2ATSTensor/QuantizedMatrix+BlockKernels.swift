import CKernels

/// Decode kernels for the 32-column block formats (Q4_1, Q8_0, Q5_0, and the formats repacked
/// into them: Q4_0, IQ4_NL, Q5_1): one SIMD lane per row of a 16-row group, codes widened in
/// registers, one broadcast input per column, in the C kernels of `CKernels` (512-bit where the
/// CPU has AVX-512F, else AVX2).
extension QuantizedMatrix {
    /// 2^(−4j) for each of a block's 32 columns, j the place of its nibble in the code word
    /// (column 4k+t: byte t's low nibble, j = 2t; column 4k+t+16: its high nibble, j = 2t+1, but
    /// the top nibble is shifted down in the kernel, so 1 for t = 3).
    static let q4_1ColumnScales: [Float] = (0..<32).map { column in
        let t = column % 4
        return Float(sign: .plus, exponent: column < 16 ? -8 * t : t == 3 ? 0 : -8 * t - 4, significand: 1)
    }

    /// `x` with column c multiplied by `factors[c % 32]`, powers of two (so exact): the inputs of
    /// the C kernels that read codes masked in place instead of shifted down.
    static func scaleByCodePlace(_ x: UnsafePointer<Float>, cols: Int, factors: [Float], into out: UnsafeMutablePointer<Float>) {
        factors.withUnsafeBufferPointer { factors in
            for block in Swift.stride(from: 0, to: cols, by: 32) {
                for half in Swift.stride(from: 0, to: 32, by: 16) {
                    let factor = UnsafeRawPointer(factors.baseAddress! + half).loadUnaligned(as: SIMD16<Float>.self)
                    let value = UnsafeRawPointer(x + block + half).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(out + block + half).storeBytes(of: value * factor, as: SIMD16<Float>.self)
                }
            }
        }
    }

    func multiplyQ4_1(groups range: Range<Int>, x: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                      y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let blocksPerRow = self.blocksPerRow
        // Each column's x scaled by 2^(−4j), j its nibble's place in the code word (see kernels.h):
        // a power of two, so exact, and every product in the kernel equals code · x.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols + 16) { scaled in
            Self.scaleByCodePlace(x, cols: cols, factors: Self.q4_1ColumnScales, into: scaled.baseAddress!)
            let xs = UnsafePointer(scaled.baseAddress!), out = scaled.baseAddress! + cols
            halfScales.withUnsafeBufferPointer { halves in codes.withUnsafeBufferPointer { codes in
                for group in range {
                    let block = group * blocksPerRow
                    let (c, h) = (codes.baseAddress! + block * 64, halves.baseAddress! + block * 32)
                    if CPUFeatures.hasAVX512 {
                        a2ats_q4_1_group_avx512(c, h, Int32(blocksPerRow), xs, sums, out)
                    } else {
                        a2ats_q4_1_group_avx2(c, h, Int32(blocksPerRow), xs, sums, out)
                    }
                    store(UnsafeRawPointer(out).loadUnaligned(as: SIMD16<Float>.self), group: group, y: y,
                          accumulate: accumulate)
                }
            } }
        }
    }

    func multiplyQ8_0(groups range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                      accumulate: Bool) {
        let blocksPerRow = self.blocksPerRow
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { out in
            halfScales.withUnsafeBufferPointer { halves in codes.withUnsafeBufferPointer { codes in
                for group in range {
                    let block = group * blocksPerRow
                    let (c, h) = (codes.baseAddress! + block * 128, halves.baseAddress! + block * 16)
                    if CPUFeatures.hasAVX512 {
                        a2ats_q8_0_group_avx512(c, h, Int32(blocksPerRow), x, out.baseAddress!)
                    } else {
                        a2ats_q8_0_group_avx2(c, h, Int32(blocksPerRow), x, out.baseAddress!)
                    }
                    store(UnsafeRawPointer(out.baseAddress!).loadUnaligned(as: SIMD16<Float>.self), group: group, y: y,
                          accumulate: accumulate)
                }
            } }
        }
    }

    /// 2^(−5i) for each of a block's 32 columns, i the place of its code in word ⌊j/6⌋ (columns 30
    /// and 31, assembled from the words' top bits, shifted down in the kernel: 1).
    static let q5ColumnScales: [Float] = (0..<32).map { column in
        column >= 30 ? 1 : Float(sign: .plus, exponent: -5 * (column % 6), significand: 1)
    }

    /// Q5_0 in the layout of `packFiveBit`: value d·(code − 16). With `offsets` (Q5_1): value
    /// d·code + m. Both apply their offset once per block through `sums` (Σx per 32 columns).
    func multiplyQ5_0(groups range: Range<Int>, x: UnsafePointer<Float>, sums: UnsafePointer<Float>, withOffsets: Bool,
                      y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let blocksPerRow = self.blocksPerRow
        // Each column's x scaled by 2^(−5i), i its code's place in its word (see kernels.h): a
        // power of two, so exact, and every product in the kernel equals code · x.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols + 16) { scaled in
            Self.scaleByCodePlace(x, cols: cols, factors: Self.q5ColumnScales, into: scaled.baseAddress!)
            let xs = UnsafePointer(scaled.baseAddress!), out = scaled.baseAddress! + cols
            scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in
                codes.withUnsafeBufferPointer { codes in
                    for group in range {
                        let slot = group * blocksPerRow * 16
                        let (c, d) = (codes.baseAddress! + slot * 5, scales.baseAddress! + slot)
                        let o = withOffsets ? UnsafePointer(offsets.baseAddress! + slot) : nil
                        if CPUFeatures.hasAVX512 {
                            a2ats_q5_group_avx512(c, d, o, Int32(blocksPerRow), xs, sums, out)
                        } else {
                            a2ats_q5_group_avx2(c, d, o, Int32(blocksPerRow), xs, sums, out)
                        }
                        store(UnsafeRawPointer(out).loadUnaligned(as: SIMD16<Float>.self), group: group, y: y,
                              accumulate: accumulate)
                    }
                }
            } }
        }
    }
}

/// Small unsigned integers in 32-bit lanes to floats without conversion instructions.
enum UnsignedCode {
    /// 2²³: OR-ing an integer below 2²³ into the mantissa of 2²³ gives 2²³ + that integer exactly.
    static let twoTo23: Float = 8_388_608

    /// `code − (zero − 2²³)` as floats, exact; `zero` is 2²³ plus the format's zero point.
    @inline(__always)
    static func float(_ code: SIMD16<UInt32>, minus zero: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(code | SIMD16<UInt32>(repeating: 0x4B00_0000), to: SIMD16<Float>.self) - zero
    }

    /// partials[lane] += value · x, `lane` 0 or 1 (a constant once the caller's loops unroll):
    /// alternating two accumulators halves the FMA dependency chain. Two, not four: with 16
    /// AVX2 registers (a SIMD16 takes two), four spilled and ran the old Swift Q5_0 kernel at 0.6×
    /// the speed of two.
    @inline(__always)
    static func accumulate(_ partials: inout (SIMD16<Float>, SIMD16<Float>), _ lane: Int, _ value: SIMD16<Float>,
                           _ x: Float) {
        if lane == 0 {
            partials.0.addProduct(value, SIMD16<Float>(repeating: x))
        } else {
            partials.1.addProduct(value, SIMD16<Float>(repeating: x))
        }
    }
}
