import Foundation
import XCTest
@testable import A2ATSTensor
@testable import A2ATSModel

/// The products of forks decoded together (`QuantizedMatrix.multiply(count:…)`, batch.h) against
/// the one-vector product they replace, which `GGUFWeightTypeTests` checks against dequantize +
/// `sgemv`: bit for bit, so that a fork's tokens cannot depend on the other forks of its batch.
/// And `CopyOnWriteFloats`, the shared prefill's pages that those forks read.
final class BatchedProductTests: XCTestCase {
    /// Every block format (the C kernels' four read a block once per pass of vectors, the others
    /// loop), f32, and a mixed stack (Q5_0 rows over Q8_0 rows, as the Qwen file's QKV); 1 to 9
    /// vectors (passes of 4 or 2 and their remainders), strides wider than the rows, plain and
    /// accumulating; on AVX-512 and, where the CPU has it, the AVX2 variants too.
    func testBatchedProductsEqualOneVectorProductsBitForBit() throws {
        let native = CPUFeatures.hasAVX512
        defer { CPUFeatures.hasAVX512 = native }
        var generator = SeededGenerator(seed: 41)
        let rows = 37, cols = 256
        var matrices = GGUFWeightTypeTests.blockFormats.map { format, type in
            let blocks = GGUFWeightTypeTests.randomBlocks(type, rows: rows, cols: cols, generator: &generator)
            return blocks.withUnsafeBytes { QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: $0) }
        }
        matrices.append(QuantizedMatrix(rows: rows, cols: cols, values: (0..<rows * cols).map { _ in generator.nextGaussian() }))
        let top = GGUFWeightTypeTests.randomBlocks(.q5_0, rows: 32, cols: cols, generator: &generator)
        let bottom = GGUFWeightTypeTests.randomBlocks(.q8_0, rows: 16, cols: cols, generator: &generator)
        let mixed = try XCTUnwrap(QuantizedMatrix.stacked([
            top.withUnsafeBytes { QuantizedMatrix(format: .q5_0, rows: 32, cols: cols, ggufBlocks: $0) },
            bottom.withUnsafeBytes { QuantizedMatrix(format: .q8_0, rows: 16, cols: cols, ggufBlocks: $0) }]))
        XCTAssertEqual(mixed.format, .mixed)
        matrices.append(mixed)
        for wide in native ? [true, false] : [false] {
            CPUFeatures.hasAVX512 = wide
            for matrix in matrices {
                for count in 1...9 {
                    let xStride = matrix.cols + 5, yStride = matrix.rows + 3
                    let x = (0..<count * xStride).map { _ in generator.nextGaussian() }
                    let start = (0..<count * yStride).map { _ in generator.nextGaussian() }
                    for accumulate in [false, true] {
                        var together = start, alone = start
                        x.withUnsafeBufferPointer { x in
                            together.withUnsafeMutableBufferPointer {
                                matrix.multiply(count: count, x.baseAddress!, xStride: xStride, into: $0.baseAddress!,
                                                yStride: yStride, accumulate: accumulate)
                            }
                            alone.withUnsafeMutableBufferPointer { y in
                                for i in 0..<count {
                                    matrix.multiply(x.baseAddress! + i * xStride, into: y.baseAddress! + i * yStride,
                                                    accumulate: accumulate)
                                }
                            }
                        }
                        XCTAssertEqual(together.map(\.bitPattern), alone.map(\.bitPattern),
                                       "\(matrix.format) × \(count) vectors, accumulate=\(accumulate), avx512=\(wide)")
                    }
                }
            }
        }
    }

    /// A fork reads what its original held when forked; its writes stay its own (the original and
    /// a second fork keep their values); a fork of a fork-free buffer copies.
    func testCopyOnWriteForksKeepTheirWritesApart() {
        let count = 3 * 4096 + 17   // several pages and a part page
        let original = CopyOnWriteFloats(count: count)
        for i in 0..<count { original.pointer[i] = Float(i) }
        let first = original.fork(), second = original.fork()
        for i in Swift.stride(from: 0, to: count, by: 1000) { first.pointer[i] = -1 }
        second.pointer[count - 1] = -2
        for i in 0..<count {
            XCTAssertEqual(original.pointer[i], Float(i))
            XCTAssertEqual(first.pointer[i], i % 1000 == 0 ? -1 : Float(i))
            XCTAssertEqual(second.pointer[i], i == count - 1 ? -2 : Float(i))
        }
        let copy = first.fork()   // forks hold no file: a copy
        XCTAssertFalse(first.sharesPages)
        copy.pointer[1] = 7
        XCTAssertEqual(first.pointer[1], 1)
        XCTAssertEqual(copy.pointer[0], -1)
    }
}
