import Dispatch

/// Swift batch kernels for the formats without a C kernel, where widening the codes (shifts,
/// masks, the exponent trick) costs more than the FMAs: four vectors share each widened code.
/// Per vector the arithmetic is the one-vector kernel's, in its order, so results are equal bit
/// for bit. AVX-512 only: with AVX2's 16 registers four vectors' partial sums spill.
extension QuantizedMatrix {
    /// Whether `multiply(count:…)` has a Swift batch kernel for this format on this CPU.
    var hasSwiftBatchKernel: Bool {
        CPUFeatures.hasAVX512 && [.q5_0, .q5_1, .q4_K, .q5_K, .q3_K, .q6_K].contains(format)
    }

    /// `y[i] = W·x[i]` for `count` vectors with the Swift batch kernels, split between two workers
    /// like `multiply`. Q5_1 and Q4_K take Σx per 32 columns of each vector, as `multiply` computes it.
    func multiplyWithSwiftBatchKernel(count: Int, _ x: UnsafePointer<Float>, xStride: Int, into y: UnsafeMutablePointer<Float>,
                                      yStride: Int, accumulate: Bool) {
        let blocks = cols / 32, withSums = format.hasOffsets
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: withSums ? count * blocks : 0)
        defer { sums.deallocate() }
        if withSums {
            for i in 0..<count {
                for b in 0..<blocks { sums[i * blocks + b] = vectorSum(x + i * xStride + b * 32, 32) }
            }
        }
        let groups = self.groups
        let groupsPerWorker = rows * cols >= 1 << 18 ? (groups + 1) / 2 : groups
        let workers = (groups + groupsPerWorker - 1) / groupsPerWorker
        let (input, output, blockSums) = (SendableFloats(UnsafeMutablePointer(mutating: x)), SendableFloats(y), SendableFloats(sums))
        let work = { (worker: Int) in
            let range = worker * groupsPerWorker..<min(groups, (worker + 1) * groupsPerWorker)
            let (x, y, sums) = (input.pointer, output.pointer, UnsafePointer(blockSums.pointer))
            switch format {
            case .q4_K: multiplyQ4_K(groups: range, count: count, x: x, xStride: xStride, sums: sums, y: y, yStride: yStride,
                                     accumulate: accumulate, fifthBit: false)
            case .q5_K: multiplyQ4_K(groups: range, count: count, x: x, xStride: xStride, sums: sums, y: y, yStride: yStride,
                                     accumulate: accumulate, fifthBit: true)
            case .q3_K, .q6_K: multiplyQ6_K(groups: range, count: count, x: x, xStride: xStride, y: y, yStride: yStride,
                                            accumulate: accumulate)
            default: multiplyQ5_0(groups: range, count: count, x: x, xStride: xStride, sums: withSums ? sums : nil, y: y,
                                  yStride: yStride, accumulate: accumulate)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
    }

    /// `multiplyQ5_0` for `count` vectors, four at a time (a short last pass repeats its last
    /// vector and stores only the real ones). `sums`: Σx per block, `blocksPerRow` per vector.
    private func multiplyQ5_0(groups range: Range<Int>, count: Int, x: UnsafePointer<Float>, xStride: Int,
                              sums: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool) {
        typealias Partials = (SIMD16<Float>, SIMD16<Float>)
        let blocksPerRow = self.blocksPerRow
        let fiveBits = SIMD16<UInt32>(repeating: 0x1F)
        let zero = SIMD16<Float>(repeating: UnsignedCode.twoTo23 + (sums == nil ? 16 : 0))
        scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in
            codes.withUnsafeBufferPointer { codes in
                for group in range {
                    for first in Swift.stride(from: 0, to: count, by: 4) {
                        let v = (first, min(first + 1, count - 1), min(first + 2, count - 1), min(first + 3, count - 1))
                        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                        for b in 0..<blocksPerRow {
                            let slot = (group * blocksPerRow + b) * 16
                            let words = UnsafeRawPointer(codes.baseAddress! + slot * 5)
                            let x0 = x + v.0 * xStride + b * 32, x1 = x + v.1 * xStride + b * 32
                            let x2 = x + v.2 * xStride + b * 32, x3 = x + v.3 * xStride + b * 32
                            var p0 = Partials(.init(), .init()), p1 = p0, p2 = p0, p3 = p0
                            var spare = SIMD16<UInt32>()
                            for m in 0..<5 {
                                let w = words.loadUnaligned(fromByteOffset: m * 64, as: SIMD16<UInt32>.self)
                                spare |= (w &>> 30) &<< UInt32(2 * m)
                                for i in 0..<6 {
                                    let j = 6 * m + i
                                    let value = UnsignedCode.float((w &>> UInt32(5 * i)) & fiveBits, minus: zero)
                                    UnsignedCode.accumulate(&p0, j % 2, value, x0[j])
                                    UnsignedCode.accumulate(&p1, j % 2, value, x1[j])
                                    UnsignedCode.accumulate(&p2, j % 2, value, x2[j])
                                    UnsignedCode.accumulate(&p3, j % 2, value, x3[j])
                                }
                            }
                            let last0 = UnsignedCode.float(spare & fiveBits, minus: zero)
                            let last1 = UnsignedCode.float(spare &>> 5, minus: zero)
                            UnsignedCode.accumulate(&p0, 0, last0, x0[30]); UnsignedCode.accumulate(&p0, 1, last1, x0[31])
                            UnsignedCode.accumulate(&p1, 0, last0, x1[30]); UnsignedCode.accumulate(&p1, 1, last1, x1[31])
                            UnsignedCode.accumulate(&p2, 0, last0, x2[30]); UnsignedCode.accumulate(&p2, 1, last1, x2[31])
                            UnsignedCode.accumulate(&p3, 0, last0, x3[30]); UnsignedCode.accumulate(&p3, 1, last1, x3[31])
                            let scale = UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                            a0.addProduct(p0.0 + p0.1, scale); a1.addProduct(p1.0 + p1.1, scale)
                            a2.addProduct(p2.0 + p2.1, scale); a3.addProduct(p3.0 + p3.1, scale)
                            if let sums {
                                let offset = UnsafeRawPointer(offsets.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                                a0.addProduct(offset, SIMD16<Float>(repeating: sums[v.0 * blocksPerRow + b]))
                                a1.addProduct(offset, SIMD16<Float>(repeating: sums[v.1 * blocksPerRow + b]))
                                a2.addProduct(offset, SIMD16<Float>(repeating: sums[v.2 * blocksPerRow + b]))
                                a3.addProduct(offset, SIMD16<Float>(repeating: sums[v.3 * blocksPerRow + b]))
                            }
                        }
                        for (lane, acc) in [a0, a1, a2, a3].enumerated() where first + lane < count {
                            store(acc, group: group, y: y + (first + lane) * yStride, accumulate: accumulate)
                        }
                    }
                }
            }
        } }
    }

    /// `multiplyQ4_K` (Q5_K with `fifthBit`) for `count` vectors, four at a time as above.
    @inline(__always)
    private func multiplyQ4_K(groups range: Range<Int>, count: Int, x: UnsafePointer<Float>, xStride: Int,
                              sums: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool,
                              fifthBit: Bool) {
        let superBlocks = blocksPerRow, wordsPerBlock = format.wordsPerBlock, sumStride = cols / 32
        let nibble = SIMD16<UInt32>(repeating: 0x0F), byteMask = SIMD16<UInt32>(repeating: 0xFF)
        let bit = SIMD16<UInt32>(repeating: 0x10)
        let zero = SIMD16<Float>(repeating: UnsignedCode.twoTo23)
        scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in
            codes.withUnsafeBufferPointer { codes in
                for group in range {
                    for first in Swift.stride(from: 0, to: count, by: 4) {
                        let v = (first, min(first + 1, count - 1), min(first + 2, count - 1), min(first + 3, count - 1))
                        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                        for s in 0..<superBlocks {
                            let slot = (group * superBlocks + s) * 16
                            let words = UnsafeRawPointer(codes.baseAddress! + slot * wordsPerBlock)
                            func word(_ k: Int) -> SIMD16<UInt32> {
                                words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self)
                            }
                            let x0 = x + v.0 * xStride + 256 * s, x1 = x + v.1 * xStride + 256 * s
                            let x2 = x + v.2 * xStride + 256 * s, x3 = x + v.3 * xStride + 256 * s
                            let s0 = sums + v.0 * sumStride + 8 * s, s1 = sums + v.1 * sumStride + 8 * s
                            let s2 = sums + v.2 * sumStride + 8 * s, s3 = sums + v.3 * sumStride + 8 * s
                            var c0 = SIMD16<Float>(), c1 = c0, c2 = c0, c3 = c0, m0 = c0, m1 = c0, m2 = c0, m3 = c0
                            for chunk in 0..<4 {
                                var l0 = SIMD16<Float>(), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0
                                for k in 0..<8 {
                                    let w = word(4 + 8 * chunk + k)
                                    let h = fifthBit ? word(36 + k) : SIMD16<UInt32>()
                                    for t in 0..<4 {
                                        let j = 64 * chunk + 4 * k + t
                                        var lowCode = (w &>> UInt32(8 * t)) & nibble, highCode = (w &>> UInt32(8 * t + 4)) & nibble
                                        if fifthBit {
                                            lowCode |= ((h &>> UInt32(8 * t + 2 * chunk)) &<< 4) & bit
                                            highCode |= ((h &>> UInt32(8 * t + 2 * chunk + 1)) &<< 4) & bit
                                        }
                                        let low = UnsignedCode.float(lowCode, minus: zero)
                                        let high = UnsignedCode.float(highCode, minus: zero)
                                        l0.addProduct(low, SIMD16<Float>(repeating: x0[j])); h0.addProduct(high, SIMD16<Float>(repeating: x0[j + 32]))
                                        l1.addProduct(low, SIMD16<Float>(repeating: x1[j])); h1.addProduct(high, SIMD16<Float>(repeating: x1[j + 32]))
                                        l2.addProduct(low, SIMD16<Float>(repeating: x2[j])); h2.addProduct(high, SIMD16<Float>(repeating: x2[j + 32]))
                                        l3.addProduct(low, SIMD16<Float>(repeating: x3[j])); h3.addProduct(high, SIMD16<Float>(repeating: x3[j + 32]))
                                    }
                                }
                                let scaleWord = word(chunk / 2), minWord = word(2 + chunk / 2)
                                let shift = UInt32(16 * (chunk % 2))
                                let scaleLow = UnsignedCode.float((scaleWord &>> shift) & byteMask, minus: zero)
                                let scaleHigh = UnsignedCode.float((scaleWord &>> (shift + 8)) & byteMask, minus: zero)
                                let minLow = UnsignedCode.float((minWord &>> shift) & byteMask, minus: zero)
                                let minHigh = UnsignedCode.float((minWord &>> (shift + 8)) & byteMask, minus: zero)
                                c0.addProduct(l0, scaleLow); c0.addProduct(h0, scaleHigh)
                                c1.addProduct(l1, scaleLow); c1.addProduct(h1, scaleHigh)
                                c2.addProduct(l2, scaleLow); c2.addProduct(h2, scaleHigh)
                                c3.addProduct(l3, scaleLow); c3.addProduct(h3, scaleHigh)
                                m0.addProduct(minLow, SIMD16<Float>(repeating: s0[2 * chunk])); m0.addProduct(minHigh, SIMD16<Float>(repeating: s0[2 * chunk + 1]))
                                m1.addProduct(minLow, SIMD16<Float>(repeating: s1[2 * chunk])); m1.addProduct(minHigh, SIMD16<Float>(repeating: s1[2 * chunk + 1]))
                                m2.addProduct(minLow, SIMD16<Float>(repeating: s2[2 * chunk])); m2.addProduct(minHigh, SIMD16<Float>(repeating: s2[2 * chunk + 1]))
                                m3.addProduct(minLow, SIMD16<Float>(repeating: s3[2 * chunk])); m3.addProduct(minHigh, SIMD16<Float>(repeating: s3[2 * chunk + 1]))
                            }
                            let d = UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                            let dmin = UnsafeRawPointer(offsets.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                            a0.addProduct(d, c0); a0.addProduct(-dmin, m0)
                            a1.addProduct(d, c1); a1.addProduct(-dmin, m1)
                            a2.addProduct(d, c2); a2.addProduct(-dmin, m2)
                            a3.addProduct(d, c3); a3.addProduct(-dmin, m3)
                        }
                        for (lane, acc) in [a0, a1, a2, a3].enumerated() where first + lane < count {
                            store(acc, group: group, y: y + (first + lane) * yStride, accumulate: accumulate)
                        }
                    }
                }
            }
        } }
    }

    /// `multiplyQ6_K` for `count` vectors, four at a time as above.
    private func multiplyQ6_K(groups range: Range<Int>, count: Int, x: UnsafePointer<Float>, xStride: Int,
                              y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool) {
        typealias Partials = (SIMD16<Float>, SIMD16<Float>)
        let superBlocks = blocksPerRow
        let sixBits = SIMD16<UInt32>(repeating: 0x3F)
        let zero = SIMD16<Float>(repeating: UnsignedCode.twoTo23 + 32)
        scales.withUnsafeBufferPointer { scales in codes.withUnsafeBufferPointer { codes in
            for group in range {
                for first in Swift.stride(from: 0, to: count, by: 4) {
                    let v = (first, min(first + 1, count - 1), min(first + 2, count - 1), min(first + 3, count - 1))
                    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                    for s in 0..<superBlocks {
                        let slot = (group * superBlocks + s) * 16
                        let words = UnsafeRawPointer(codes.baseAddress! + slot * 52)
                        func word(_ k: Int) -> SIMD16<UInt32> {
                            words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self)
                        }
                        var t0 = SIMD16<Float>(), t1 = t0, t2 = t0, t3 = t0
                        for sub in 0..<16 {
                            let base = 256 * s + 16 * sub
                            let x0 = x + v.0 * xStride + base, x1 = x + v.1 * xStride + base
                            let x2 = x + v.2 * xStride + base, x3 = x + v.3 * xStride + base
                            var p0 = Partials(.init(), .init()), p1 = p0, p2 = p0, p3 = p0
                            var spare = SIMD16<UInt32>()
                            for m in 0..<3 {
                                let w = word(4 + 3 * sub + m)
                                spare |= (w &>> 30) &<< UInt32(2 * m)
                                for i in 0..<5 {
                                    let j = 5 * m + i
                                    let value = UnsignedCode.float((w &>> UInt32(6 * i)) & sixBits, minus: zero)
                                    UnsignedCode.accumulate(&p0, j % 2, value, x0[j])
                                    UnsignedCode.accumulate(&p1, j % 2, value, x1[j])
                                    UnsignedCode.accumulate(&p2, j % 2, value, x2[j])
                                    UnsignedCode.accumulate(&p3, j % 2, value, x3[j])
                                }
                            }
                            let last = UnsignedCode.float(spare, minus: zero)
                            UnsignedCode.accumulate(&p0, 1, last, x0[15]); UnsignedCode.accumulate(&p1, 1, last, x1[15])
                            UnsignedCode.accumulate(&p2, 1, last, x2[15]); UnsignedCode.accumulate(&p3, 1, last, x3[15])
                            let scale = SignedByte.float(unsafeBitCast(word(sub / 4), to: SIMD16<Int32>.self), byte: sub % 4)
                            t0.addProduct(p0.0 + p0.1, scale); t1.addProduct(p1.0 + p1.1, scale)
                            t2.addProduct(p2.0 + p2.1, scale); t3.addProduct(p3.0 + p3.1, scale)
                        }
                        let d = UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                        a0.addProduct(d, t0); a1.addProduct(d, t1); a2.addProduct(d, t2); a3.addProduct(d, t3)
                    }
                    for (lane, acc) in [a0, a1, a2, a3].enumerated() where first + lane < count {
                        store(acc, group: group, y: y + (first + lane) * yStride, accumulate: accumulate)
                    }
                }
            }
        } }
    }
}
