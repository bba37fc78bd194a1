import Dispatch

/// Swift batch kernels for the formats without a C kernel, where widening the codes (shifts,
/// masks, the exponent trick) costs more than the FMAs: four vectors share each widened code.
/// Per vector the arithmetic is the one-vector kernel's, in its order, so results are equal bit
/// for bit. AVX-512 only: with AVX2's 16 registers four vectors' partial sums spill.
extension QuantizedMatrix {
    /// Whether `multiply(count:…)` has a Swift batch kernel for this format on this CPU.
    var hasSwiftBatchKernel: Bool {
        CPUFeatures.hasAVX512 && [.q4_K, .q5_K].contains(format)
    }

    /// `y[i] = W·x[i]` for `count` vectors with the Swift batch kernels, split between two workers
    /// like `multiply`. Q4_K takes Σx per 32 columns of each vector, as `multiply` computes it.
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
            multiplyQ4_K(groups: range, count: count, x: x, xStride: xStride, sums: sums, y: y, yStride: yStride,
                         accumulate: accumulate, fifthBit: format == .q5_K)
        }
        Parallel.perform(workers, work)
    }

    /// `multiplyQ4_K` (Q5_K with `fifthBit`) for `count` vectors, four at a time.
    @inline(__always)
    private func multiplyQ4_K(groups range: Range<Int>, count: Int, x: UnsafePointer<Float>, xStride: Int,
                              sums: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool,
                              fifthBit: Bool) {
        let superBlocks = blocksPerRow, wordsPerBlock = format.wordsPerBlock, sumStride = cols / 32
        scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in
            codes.withUnsafeBufferPointer { codes in
                for group in range {
                    for pass in FourVectors.passes(count) {
                        var acc = FourSums()
                        for s in 0..<superBlocks {
                            let slot = (group * superBlocks + s) * 16
                            let words = UnsafeRawPointer(codes.baseAddress! + slot * wordsPerBlock)
                            func word(_ k: Int) -> SIMD16<UInt32> {
                                words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self)
                            }
                            let xs = pass.inputs(x, stride: xStride, offset: 256 * s)
                            let blockSums = pass.inputs(sums, stride: sumStride, offset: 8 * s)
                            var scaled = FourSums(), minimum = FourSums()
                            for chunk in 0..<4 {
                                var lowSum = FourSums(), highSum = FourSums()
                                for k in 0..<8 {
                                    let w = word(4 + 8 * chunk + k)
                                    let h = fifthBit ? word(36 + k) : SIMD16<UInt32>()
                                    for t in 0..<4 {
                                        let j = 64 * chunk + 4 * k + t
                                        let (low, high) = UnsignedCode.q4_K(w, fifthBits: h, byte: t, chunk: chunk, fifthBit: fifthBit)
                                        lowSum.add(low, times: xs, j)
                                        highSum.add(high, times: xs, j + 32)
                                    }
                                }
                                let (scaleLow, scaleHigh, minLow, minHigh) = UnsignedCode.q4_KScales(word(chunk / 2), word(2 + chunk / 2),
                                                                                                    chunk: chunk)
                                scaled.add(lowSum, times: scaleLow)
                                scaled.add(highSum, times: scaleHigh)
                                minimum.add(minLow, times: blockSums, 2 * chunk)
                                minimum.add(minHigh, times: blockSums, 2 * chunk + 1)
                            }
                            acc.add(scaled, times: UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self))
                            acc.add(minimum, times: -UnsafeRawPointer(offsets.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self))
                        }
                        pass.store(acc, matrix: self, group: group, y: y, yStride: yStride, accumulate: accumulate)
                    }
                }
            }
        } }
    }
}

/// The four vectors of one pass of a batch kernel; a short last pass repeats its last vector and
/// stores only the real ones.
struct FourVectors {
    let first: Int
    let count: Int

    static func passes(_ count: Int) -> [FourVectors] {
        Swift.stride(from: 0, to: count, by: 4).map { FourVectors(first: $0, count: count) }
    }

    /// Each vector's row of `base` (`stride` apart) from `offset` on.
    @inline(__always)
    func inputs(_ base: UnsafePointer<Float>, stride: Int, offset: Int) -> FourInputs {
        FourInputs(x0: base + first * stride + offset, x1: base + min(first + 1, count - 1) * stride + offset,
                   x2: base + min(first + 2, count - 1) * stride + offset, x3: base + min(first + 3, count - 1) * stride + offset)
    }

    @inline(__always)
    func store(_ sums: FourSums, matrix: QuantizedMatrix, group: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
               accumulate: Bool) {
        for (lane, total) in [sums.a0, sums.a1, sums.a2, sums.a3].enumerated() where first + lane < count {
            matrix.store(total, group: group, y: y + (first + lane) * yStride, accumulate: accumulate)
        }
    }
}

/// One pass's four input rows.
struct FourInputs {
    let x0, x1, x2, x3: UnsafePointer<Float>
}

/// Each vector's two alternating partial sums (`UnsignedCode.accumulate`).
struct FourPartials {
    var p0 = (SIMD16<Float>(), SIMD16<Float>()), p1 = (SIMD16<Float>(), SIMD16<Float>())
    var p2 = (SIMD16<Float>(), SIMD16<Float>()), p3 = (SIMD16<Float>(), SIMD16<Float>())

    /// Partial `lane` of vector i += value · x_i[j].
    @inline(__always)
    mutating func add(_ lane: Int, _ value: SIMD16<Float>, _ x: FourInputs, _ j: Int) {
        UnsignedCode.accumulate(&p0, lane, value, x.x0[j])
        UnsignedCode.accumulate(&p1, lane, value, x.x1[j])
        UnsignedCode.accumulate(&p2, lane, value, x.x2[j])
        UnsignedCode.accumulate(&p3, lane, value, x.x3[j])
    }
}

/// One accumulator per vector.
struct FourSums {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()

    /// a_i += value · x_i[j].
    @inline(__always)
    mutating func add(_ value: SIMD16<Float>, times x: FourInputs, _ j: Int) {
        a0.addProduct(value, SIMD16<Float>(repeating: x.x0[j]))
        a1.addProduct(value, SIMD16<Float>(repeating: x.x1[j]))
        a2.addProduct(value, SIMD16<Float>(repeating: x.x2[j]))
        a3.addProduct(value, SIMD16<Float>(repeating: x.x3[j]))
    }

    /// a_i += s_i · scale.
    @inline(__always)
    mutating func add(_ s: FourSums, times scale: SIMD16<Float>) {
        a0.addProduct(s.a0, scale); a1.addProduct(s.a1, scale); a2.addProduct(s.a2, scale); a3.addProduct(s.a3, scale)
    }

    /// a_i += (p_i's two partials summed) · scale.
    @inline(__always)
    mutating func add(_ p: FourPartials, times scale: SIMD16<Float>) {
        a0.addProduct(p.p0.0 + p.p0.1, scale); a1.addProduct(p.p1.0 + p.p1.1, scale)
        a2.addProduct(p.p2.0 + p.p2.1, scale); a3.addProduct(p.p3.0 + p.p3.1, scale)
    }
}
