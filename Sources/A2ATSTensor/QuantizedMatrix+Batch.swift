import CKernels
import Dispatch

/// Decode products of several vectors at once: the forks of one prefill decoded together read
/// each weight block once for a pass of vectors (4 with AVX-512, 2 with AVX2) instead of once per
/// fork, which is what a step of compact weights costs (bytes, not FLOPs).
extension QuantizedMatrix {
    /// Whether `multiply(count:…)` reads a block once for several vectors (the C kernels' formats,
    /// and Q4_K/Q5_K on AVX-512); the other formats run `multiply` once per vector.
    public var hasBatchKernel: Bool {
        format.hasHalfScales || [.q5_0, .q5_1, .q6_K, .q3_K].contains(format) || hasSwiftBatchKernel
    }

    /// `y[i] = W·x[i]` (or `+=` with `accumulate`) for `count` vectors `xStride` apart, into rows
    /// `yStride` apart. Each result equals `multiply` of its vector bit for bit (same products
    /// summed in the same order; see batch.h), so a fork's tokens do not depend on its batch.
    public func multiply(count: Int, _ x: UnsafePointer<Float>, xStride: Int, into y: UnsafeMutablePointer<Float>,
                         yStride: Int, accumulate: Bool = false) {
        if format == .mixed {
            var first = 0
            for part in parts {
                part.multiply(count: count, x, xStride: xStride, into: y + first, yStride: yStride, accumulate: accumulate)
                first += part.rows
            }
            return
        }
        guard count > 1, hasBatchKernel else {
            for i in 0..<count { multiply(x + i * xStride, into: y + i * yStride, accumulate: accumulate) }
            return
        }
        if hasSwiftBatchKernel {
            multiplyWithSwiftBatchKernel(count: count, x, xStride: xStride, into: y, yStride: yStride, accumulate: accumulate)
            return
        }
        let fiveBit = format == .q5_0 || format == .q5_1, sixBit = format == .q6_K || format == .q3_K
        let hasOffsets = format.hasOffsets, scaledInputs = hasOffsets || fiveBit || sixBit
        let blocks = cols / 32
        // Inputs scaled per code place and their Σx per block (per 16 columns for Q6_K's
        // sub-blocks), as the one-vector products make them.
        let sumWidth = sixBit ? 16 : 32, sumsPerVector = cols / sumWidth
        let scaled = UnsafeMutablePointer<Float>.allocate(capacity: scaledInputs ? count * cols : 0)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: scaledInputs ? count * sumsPerVector : 0)
        defer { scaled.deallocate(); sums.deallocate() }
        if scaledInputs {
            let factors = sixBit ? Self.q6ColumnScales : fiveBit ? Self.q5ColumnScales : Self.q4_1ColumnScales
            for i in 0..<count {
                let row = x + i * xStride
                for k in 0..<sumsPerVector { sums[i * sumsPerVector + k] = vectorSum(row + k * sumWidth, sumWidth) }
                Self.scaleByCodePlace(row, cols: cols, factors: factors, into: scaled + i * cols)
            }
        }
        let inputs = scaledInputs ? UnsafePointer(scaled) : x, inputStride = scaledInputs ? cols : xStride
        let groups = self.groups
        let groupsPerWorker = rows * cols >= 1 << 18 ? (groups + 1) / 2 : groups
        let workers = (groups + groupsPerWorker - 1) / groupsPerWorker
        let (input, output, blockSums) = (SendableFloats(UnsafeMutablePointer(mutating: inputs)), SendableFloats(y), SendableFloats(sums))
        let pass = CPUFeatures.hasAVX512 ? Int(A2ATS_BATCH_AVX512) : Int(A2ATS_BATCH_AVX2)
        let work = { (worker: Int) in
            let range = worker * groupsPerWorker..<min(groups, (worker + 1) * groupsPerWorker)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: count * 16) { results in
                let out = results.baseAddress!
                halfScales.withUnsafeBufferPointer { halves in codes.withUnsafeBufferPointer { codes in
                  scales.withUnsafeBufferPointer { fiveBitScales in offsets.withUnsafeBufferPointer { fiveBitOffsets in
                    for group in range {
                        let block = group * blocks
                        var first = 0
                        while first < count {
                            let vectors = count - first >= pass ? pass : 1
                            let xs = input.pointer + first * inputStride, o = out + first * 16
                            let s = blockSums.pointer + first * sumsPerVector
                            if sixBit {
                                let superBlocks = blocksPerRow, slot = group * superBlocks * 16
                                let (c, d) = (codes.baseAddress! + slot * 52, fiveBitScales.baseAddress! + slot)
                                switch (vectors > 1, CPUFeatures.hasAVX512) {
                                case (true, true): a2ats_q6_k_batch_avx512(c, d, Int32(superBlocks), xs, inputStride, s, sumsPerVector, o, 16)
                                case (true, false): a2ats_q6_k_batch_avx2(c, d, Int32(superBlocks), xs, inputStride, s, sumsPerVector, o, 16)
                                case (false, true): a2ats_q6_k_group_avx512(c, d, Int32(superBlocks), xs, s, o)
                                case (false, false): a2ats_q6_k_group_avx2(c, d, Int32(superBlocks), xs, s, o)
                                }
                            } else if fiveBit {
                                let slot = block * 16
                                let (c, d) = (codes.baseAddress! + slot * 5, fiveBitScales.baseAddress! + slot)
                                let off = format == .q5_1 ? UnsafePointer(fiveBitOffsets.baseAddress! + slot) : nil
                                switch (vectors > 1, CPUFeatures.hasAVX512) {
                                case (true, true): a2ats_q5_batch_avx512(c, d, off, Int32(blocks), xs, inputStride, s, sumsPerVector, o, 16)
                                case (true, false): a2ats_q5_batch_avx2(c, d, off, Int32(blocks), xs, inputStride, s, sumsPerVector, o, 16)
                                case (false, true): a2ats_q5_group_avx512(c, d, off, Int32(blocks), xs, s, o)
                                case (false, false): a2ats_q5_group_avx2(c, d, off, Int32(blocks), xs, s, o)
                                }
                            } else if hasOffsets {
                                let (c, h) = (codes.baseAddress! + block * 64, halves.baseAddress! + block * 32)
                                switch (vectors > 1, CPUFeatures.hasAVX512) {
                                case (true, true): a2ats_q4_1_batch_avx512(c, h, Int32(blocks), xs, inputStride, s, sumsPerVector, o, 16)
                                case (true, false): a2ats_q4_1_batch_avx2(c, h, Int32(blocks), xs, inputStride, s, sumsPerVector, o, 16)
                                case (false, true): a2ats_q4_1_group_avx512(c, h, Int32(blocks), xs, s, o)
                                case (false, false): a2ats_q4_1_group_avx2(c, h, Int32(blocks), xs, s, o)
                                }
                            } else {
                                let (c, h) = (codes.baseAddress! + block * 128, halves.baseAddress! + block * 16)
                                switch (vectors > 1, CPUFeatures.hasAVX512) {
                                case (true, true): a2ats_q8_0_batch_avx512(c, h, Int32(blocks), xs, inputStride, o, 16)
                                case (true, false): a2ats_q8_0_batch_avx2(c, h, Int32(blocks), xs, inputStride, o, 16)
                                case (false, true): a2ats_q8_0_group_avx512(c, h, Int32(blocks), xs, o)
                                case (false, false): a2ats_q8_0_group_avx2(c, h, Int32(blocks), xs, o)
                                }
                            }
                            first += vectors
                        }
                        for i in 0..<count {
                            store(UnsafeRawPointer(out + i * 16).loadUnaligned(as: SIMD16<Float>.self), group: group,
                                  y: output.pointer + i * yStride, accumulate: accumulate)
                        }
                    }
                  } }
                } }
            }
        }
        Parallel.perform(workers, work)
    }
}
