import Foundation
import XCTest
@testable import A2ATSTensor

/// Reference: Foundation's `exp` in Double. The softmax numerators (the C kernels, AVX2 and, where
/// the CPU has it, AVX-512) and the Swift `fastExp` must match e^(x − max) and its sum to the
/// polynomial's stated 2e-7 relative error (of the float argument x − max), on lengths around
/// every vector width, with −∞ entries (weight 0) and arguments below the −87.3 underflow cut.
final class FastMathTests: XCTestCase {
    func testSoftmaxNumeratorsMatchDoubleExponentials() {
        let native = CPUFeatures.hasAVX512
        defer { CPUFeatures.hasAVX512 = native }
        var generator = SeededGenerator(seed: 5)
        for wide in native ? [false, true] : [false] {
            CPUFeatures.hasAVX512 = wide
            for count in Array(1...40) + [63, 64, 65, 1000, 4097] {
                var x = (0..<count).map { _ in Float.random(in: -30...30, using: &generator) }
                if count > 3 { x[1] = -.infinity; x[2] = x.max()! - 95 }
                let original = x
                let (maximum, sum) = x.withUnsafeMutableBufferPointer { softmaxNumerators($0.baseAddress!, count) }
                let top = original.max()!
                XCTAssertEqual(maximum, top, "count \(count) avx512 \(wide)")
                var expectedSum = 0.0
                for (i, value) in original.enumerated() {
                    let argument = value - top  // the float difference the kernel exponentiates
                    let expected = argument < -87.3 ? 0 : Foundation.exp(Double(argument))
                    expectedSum += expected
                    XCTAssertEqual(Double(x[i]), expected, accuracy: 3e-7 * expected + 1e-30, "count \(count) index \(i) avx512 \(wide)")
                }
                XCTAssertEqual(Double(sum), expectedSum, accuracy: 1e-6 * expectedSum, "count \(count) avx512 \(wide)")
            }
        }
    }

    func testFastExpMatchesDoubleExponential() {
        for x in stride(from: Float(-87), through: 88, by: 0.37) {
            XCTAssertEqual(Double(fastExp(x)), Foundation.exp(Double(x)), accuracy: 3e-7 * Foundation.exp(Double(x)), "x \(x)")
        }
        XCTAssertEqual(fastExp(-100), 0)
    }
}
