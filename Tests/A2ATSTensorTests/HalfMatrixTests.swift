import XCTest
@testable import A2ATSTensor

/// bf16/f16 matrices kept at 2 bytes a weight (issue 18): the kernels' conversions and products
/// against the standard library's own conversions (`Float16`, bf16 as the top half of an f32)
/// and a plain double-precision product of the same values.
final class HalfMatrixTests: XCTestCase {
    /// Every finite f16 bit pattern (subnormals and signed zeros included) widens exactly.
    func testHalfToFloatIsExactForEveryFiniteHalf() {
        for start in stride(from: 0, to: 65536, by: 16) {
            let patterns = SIMD16<UInt32>((0..<16).map { UInt32(start + $0) })
            let widened = QuantizedMatrix.halfToFloat(patterns)
            for lane in 0..<16 {
                let half = Float16(bitPattern: UInt16(start + lane))
                guard half.isFinite else { continue }
                XCTAssertEqual(widened[lane].bitPattern, Float(half).bitPattern, "pattern \(start + lane)")
            }
        }
    }

    /// Decode product, prefill panels and row copies of a 40 × 96 matrix (rows not a multiple of
    /// 16, so the last group is padded) in both formats, against doubles of the stored values.
    func testProductsRowsAndPanelsMatchDoubles() {
        let rows = 40, cols = 96, batch = 3
        var generator = SystemRandomNumberGenerator()
        for format in [QuantizedMatrix.Format.bf16, .f16] {
            let bits: [UInt16] = (0..<rows * cols).map { _ in
                let value = Float.random(in: -2...2, using: &generator)
                return format == .f16 ? Float16(value).bitPattern : UInt16(value.bitPattern >> 16)
            }
            let values = bits.map { format == .f16 ? Double(Float16(bitPattern: $0)) : Double(Float(bitPattern: UInt32($0) << 16)) }
            let matrix = bits.withUnsafeBytes { QuantizedMatrix(halfFormat: format, rows: rows, cols: cols, values: $0) }
            XCTAssertEqual(matrix.bytesRead, (rows + 8) * cols * 2, "padded to whole 16-row groups")
            let x = (0..<batch * cols).map { _ in Float.random(in: -1...1, using: &generator) }
            func expected(_ b: Int, _ r: Int) -> Double { (0..<cols).reduce(0) { $0 + values[r * cols + $1] * Double(x[b * cols + $1]) } }
            var y = [Float](repeating: 0, count: rows)
            matrix.multiply(x, into: &y)
            for r in 0..<rows { XCTAssertEqual(Double(y[r]), expected(0, r), accuracy: 1e-4, "\(format) decode row \(r)") }
            // One panel, two-group panels (two workers), one-group panels (the last one padded).
            for panelGroups in [nil, 2, 1] {
                var batched = [Float](repeating: 7, count: batch * rows)
                matrix.multiplyBatch(m: batch, a: x, lda: cols, beta: 0, c: &batched, ldc: rows, panelGroups: panelGroups)
                for r in 0..<rows {
                    for b in 0..<batch {
                        XCTAssertEqual(Double(batched[b * rows + r]), expected(b, r), accuracy: 1e-4,
                                       "\(format) prefill \(b), \(r), panels of \(panelGroups ?? 0) groups")
                    }
                }
            }
            var row = [Float](repeating: 0, count: cols)
            matrix.copyRow(37, into: &row)
            XCTAssertEqual(row.map(Double.init), Array(values[(37 * cols)..<(38 * cols)]), "\(format) row 37")
        }
    }
}
