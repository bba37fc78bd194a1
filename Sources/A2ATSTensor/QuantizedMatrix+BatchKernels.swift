import Dispatch

/// Swift batch kernels for the formats without a C kernel, where widening the codes (shifts,
/// masks, the exponent trick) costs more than the FMAs: four vectors share each widened code.
/// Per vector the arithmetic is the one-vector kernel's, in its order, so results are equal bit
/// for bit. AVX-512 only: with AVX2's 16 registers four vectors' partial sums spill.
extension QuantizedMatrix {
    /// Whether `multiply(count:…)` has a Swift batch kernel for this format on this CPU.
    var hasSwiftBatchKernel: Bool { CPUFeatures.hasAVX512 && (format == .q5_0 || format == .q5_1) }

    /// `y[i] = W·x[i]` for `count` vectors with the Swift batch kernels, split between two workers
    /// like `multiply`. Q5_1 takes Σx per block of each vector, as `multiply` computes it.
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
            multiplyQ5_0(groups: range, count: count, x: input.pointer, xStride: xStride,
                         sums: withSums ? UnsafePointer(blockSums.pointer) : nil, y: output.pointer, yStride: yStride,
                         accumulate: accumulate)
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
}
