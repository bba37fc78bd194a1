import CKernels
/// Decode kernels for the 256-column K-quant super-blocks (Q4_K and Q5_K, Q6_K and Q3_K), in the
/// layout of `QuantizedMatrix.pack`: the super-block's `d` is a lane scale, sub-block scales (and Q4_K's
/// mins) are bytes widened once per sub-block, so the inner loop is one shift and one mask per code.
extension QuantizedMatrix {
    /// Q4_K: chunk c of 64 columns reads 32 code bytes; their low nibbles are sub-block 2c, their
    /// high nibbles sub-block 2c + 1. x = d·scale·q − dmin·min per sub-block, so
    /// y = d·Σ scale·(Σ q·x) − dmin·Σ min·(Σ x), with Σ x per 32 columns computed once per call.
    /// `fifthBit` (Q5_K): word 36 + k holds the fifth bits of bytes 4k…4k+3 of each chunk, bit 2c
    /// for the low and 2c + 1 for the high sub-block of chunk c. A literal at each call site, so
    /// once inlined the branches fold away for Q4_K.
    @inline(__always)
    func multiplyQ4_K(groups range: Range<Int>, x: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                      y: UnsafeMutablePointer<Float>, accumulate: Bool, fifthBit: Bool) {
        let superBlocks = blocksPerRow, wordsPerBlock = format.wordsPerBlock
        scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in
            codes.withUnsafeBufferPointer { codes in
                for group in range {
                    var acc = SIMD16<Float>()
                    for s in 0..<superBlocks {
                        let slot = (group * superBlocks + s) * 16
                        let words = UnsafeRawPointer(codes.baseAddress! + slot * wordsPerBlock)
                        func word(_ k: Int) -> SIMD16<UInt32> {
                            words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self)
                        }
                        let xs = x + 256 * s
                        var scaled = SIMD16<Float>(), minimum = SIMD16<Float>()
                        for chunk in 0..<4 {
                            var lowSum = SIMD16<Float>(), highSum = SIMD16<Float>()
                            for k in 0..<8 {
                                let w = word(4 + 8 * chunk + k)
                                let h = fifthBit ? word(36 + k) : SIMD16<UInt32>()
                                for t in 0..<4 {
                                    let j = 64 * chunk + 4 * k + t
                                    let (low, high) = UnsignedCode.q4_K(w, fifthBits: h, byte: t, chunk: chunk, fifthBit: fifthBit)
                                    lowSum.addProduct(low, SIMD16<Float>(repeating: xs[j]))
                                    highSum.addProduct(high, SIMD16<Float>(repeating: xs[j + 32]))
                                }
                            }
                            let (scaleLow, scaleHigh, minLow, minHigh) = UnsignedCode.q4_KScales(word(chunk / 2), word(2 + chunk / 2),
                                                                                                chunk: chunk)
                            scaled.addProduct(lowSum, scaleLow)
                            scaled.addProduct(highSum, scaleHigh)
                            minimum.addProduct(minLow, SIMD16<Float>(repeating: sums[8 * s + 2 * chunk]))
                            minimum.addProduct(minHigh, SIMD16<Float>(repeating: sums[8 * s + 2 * chunk + 1]))
                        }
                        let d = UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                        let dmin = UnsafeRawPointer(offsets.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                        acc.addProduct(d, scaled)
                        acc.addProduct(-dmin, minimum)
                    }
                    store(acc, group: group, y: y, accumulate: accumulate)
                }
            }
        } }
    }

    /// 2^(−6i) for column 16s + 5m + i of a sub-block, i the place of its code in its word
    /// (column 16s + 15, assembled from three words' top bits in the kernel: 1); two sub-blocks.
    static let q6ColumnScales: [Float] = (0..<32).map { column in
        column % 16 == 15 ? 1 : Float(sign: .plus, exponent: -6 * (column % 16 % 5), significand: 1)
    }

    /// Q6_K in the layout of `packSixBit`: value d·scale·(code − 32), an int8 scale per 16 columns,
    /// in the C kernels (`kernels.h`): codes masked in place against inputs scaled by 2^(−6i), the
    /// zero point once per sub-block through Σx of its 16 columns.
    func multiplyQ6_K(groups range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                      accumulate: Bool) {
        let superBlocks = blocksPerRow
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols + cols / 16 + 16) { buffer in
            let xs = buffer.baseAddress!, sums16 = xs + cols, out = sums16 + cols / 16
            Self.scaleByCodePlace(x, cols: cols, factors: Self.q6ColumnScales, into: xs)
            for k in 0..<cols / 16 { sums16[k] = vectorSum(x + 16 * k, 16) }
            scales.withUnsafeBufferPointer { scales in codes.withUnsafeBufferPointer { codes in
                for group in range {
                    let slot = group * superBlocks * 16
                    let (c, d) = (codes.baseAddress! + slot * 52, scales.baseAddress! + slot)
                    if CPUFeatures.hasAVX512 {
                        a2ats_q6_k_group_avx512(c, d, Int32(superBlocks), xs, sums16, out)
                    } else {
                        a2ats_q6_k_group_avx2(c, d, Int32(superBlocks), xs, sums16, out)
                    }
                    store(UnsafeRawPointer(out).loadUnaligned(as: SIMD16<Float>.self), group: group, y: y,
                          accumulate: accumulate)
                }
            } }
        }
    }
}

extension UnsignedCode {
    /// Q4_K's codes of byte `t` of word `w` in chunk `chunk` (low nibble: sub-block 2c, high: 2c + 1)
    /// as floats; for Q5_K (`fifthBit`), bits 8t + 2c and 8t + 2c + 1 of `fifthBits` move to bit 4.
    @inline(__always)
    static func q4_K(_ w: SIMD16<UInt32>, fifthBits h: SIMD16<UInt32>, byte t: Int, chunk: Int,
                     fifthBit: Bool) -> (low: SIMD16<Float>, high: SIMD16<Float>) {
        let nibble = SIMD16<UInt32>(repeating: 0x0F), bit = SIMD16<UInt32>(repeating: 0x10)
        var lowCode = (w &>> UInt32(8 * t)) & nibble, highCode = (w &>> UInt32(8 * t + 4)) & nibble
        if fifthBit {
            lowCode |= ((h &>> UInt32(8 * t + 2 * chunk)) &<< 4) & bit
            highCode |= ((h &>> UInt32(8 * t + 2 * chunk + 1)) &<< 4) & bit
        }
        let zero = SIMD16<Float>(repeating: twoTo23)
        return (float(lowCode, minus: zero), float(highCode, minus: zero))
    }

    /// The scales and mins of chunk c's sub-blocks 2c and 2c + 1: bytes 2c mod 4 and 2c + 1 mod 4
    /// of words c / 2 (`scaleWord`) and 2 + c / 2 (`minWord`).
    @inline(__always)
    static func q4_KScales(_ scaleWord: SIMD16<UInt32>, _ minWord: SIMD16<UInt32>, chunk: Int)
        -> (scaleLow: SIMD16<Float>, scaleHigh: SIMD16<Float>, minLow: SIMD16<Float>, minHigh: SIMD16<Float>) {
        let byteMask = SIMD16<UInt32>(repeating: 0xFF), zero = SIMD16<Float>(repeating: twoTo23)
        let shift = UInt32(16 * (chunk % 2))
        return (float((scaleWord &>> shift) & byteMask, minus: zero), float((scaleWord &>> (shift + 8)) & byteMask, minus: zero),
                float((minWord &>> shift) & byteMask, minus: zero), float((minWord &>> (shift + 8)) & byteMask, minus: zero))
    }
}
