import XCTest
@testable import A2ATSTensor

/// Reference for both kernels: the textbook formulas evaluated in Double, one head and one
/// row at a time (softmax(q·K/√d)·V; C = αAB). Attention runs on one and on two workers (each
/// half of the rows its own softmax, joined by rescaling), with the score kernel's AVX2 variant
/// and, where the CPU has it, its AVX-512 one: all must land on the reference.
final class GroupedAttentionTests: XCTestCase {
    func testAttentionEqualsPerHeadSoftmaxInDouble() {
        let native = CPUFeatures.hasAVX512
        defer { CPUFeatures.hasAVX512 = native }
        for wide in native ? [false, true] : [false] {
            CPUFeatures.hasAVX512 = wide
            for workers in [1, 2] { checkAttention(workers: workers) }
        }
    }

    private func checkAttention(workers: Int) {
        var g = SeededGenerator(seed: 11)
        // Head dims off the SIMD width, groups of 1–7, counts across block edges, with and without index lists.
        for (d, group, n) in [(64, 3, 300), (16, 1, 64), (80, 4, 129), (24, 2, 65), (7, 3, 5), (128, 2, 2), (96, 7, 333)] {
            let keys = (0 ..< n * d).map { _ in g.nextGaussian() }, values = (0 ..< n * d).map { _ in g.nextGaussian() }
            let queries = (0 ..< group * d).map { _ in 2 * g.nextGaussian() }
            let subsets: [[Int32]?] = [nil, (0 ..< n).filter { _ in g.next() % 3 == 0 }.map(Int32.init), [Int32(n - 1)]]
            for subset in subsets {
                let rows = subset.map { $0.map(Int.init) } ?? Array(0 ..< n)
                var weights = [Float](repeating: 0, count: group * n), output = [Float](repeating: 0, count: group * d)
                let call = { (list: UnsafePointer<Int32>?) in
                    GroupedAttention.attend(queries: queries, groupSize: group, headDim: d, keys: keys, values: values,
                                            rows: list, count: rows.count, weights: &weights, stride: n, output: &output,
                                            workers: rows.count >= workers ? workers : 1)
                }
                if let subset { subset.withUnsafeBufferPointer { call($0.baseAddress) } } else { call(nil) }
                for head in 0 ..< group {
                    let scores = rows.map { r in
                        (0 ..< d).reduce(0.0) { $0 + Double(queries[head * d + $1]) * Double(keys[r * d + $1]) } / Double(d).squareRoot()
                    }
                    let top = scores.max() ?? 0
                    let exps = scores.map { exp($0 - top) }, total = exps.reduce(0, +)
                    for (i, e) in exps.enumerated() {
                        XCTAssertEqual(Double(weights[head * n + i]), e / total, accuracy: 1e-5, "d \(d) head \(head) row \(i) workers \(workers) avx512 \(CPUFeatures.hasAVX512)")
                    }
                    for lane in 0 ..< d {
                        let expected = zip(rows, exps).reduce(0.0) { $0 + $1.1 / total * Double(values[$1.0 * d + lane]) }
                        XCTAssertEqual(Double(output[head * d + lane]), expected, accuracy: 1e-5 * max(1, abs(expected)),
                                       "d \(d) head \(head) lane \(lane) workers \(workers)")
                    }
                }
            }
        }
    }

    /// f16 rows (the `fp16` store) against the f32 kernels on the same rows rounded by Swift's own
    /// `Float16(_:)` beforehand: weights and outputs equal bit for bit (the f16 kernels widen each
    /// row and then do the f32 kernels' arithmetic in their order), for both kernel widths, one
    /// and two workers, contiguous rows and index lists. `floatToHalf` is checked against
    /// `Float16(_:)` on the same values, ties and subnormals included.
    func testHalfRowsEqualFloatRowsRoundedToHalf() {
        let native = CPUFeatures.hasAVX512
        defer { CPUFeatures.hasAVX512 = native }
        var g = SeededGenerator(seed: 13)
        for (d, group, n) in [(64, 3, 300), (64, 7, 1041), (16, 1, 64), (80, 4, 129), (7, 3, 5)] {
            // Every 97th value near a rounding tie (1 + 2⁻¹¹, exactly one when i % 5 == 0), every 89th
            // in f16's subnormal range.
            var raw = [Float](repeating: 0, count: 2 * n * d)
            for i in raw.indices {
                let tie: Float = 1 + 0x1p-11 + Float(i % 5) * 0x1p-20
                raw[i] = i % 97 == 0 ? tie : i % 89 == 0 ? 3e-6 * g.nextGaussian() : 3 * g.nextGaussian()
            }
            var half = [UInt16](repeating: 0, count: raw.count)
            floatToHalf(raw, count: raw.count, into: &half)
            XCTAssertEqual(half, raw.map { Float16($0).bitPattern }, "rounding, d \(d)")
            let rounded = raw.map { Float(Float16($0)) }
            let queries = (0 ..< group * d).map { _ in 2 * g.nextGaussian() }
            let subsets: [[Int32]?] = [nil, (0 ..< n).filter { _ in g.next() % 3 == 0 }.map(Int32.init)]
            for wide in native ? [false, true] : [false] {
                CPUFeatures.hasAVX512 = wide
                for workers in [1, 2] {
                    for subset in subsets {
                        let count = subset?.count ?? n
                        func run(_ stored: StoredRows, _ list: UnsafePointer<Int32>?) -> [Float] {
                            var weights = [Float](repeating: 0, count: group * n), output = [Float](repeating: 0, count: group * d)
                            GroupedAttention.attend(queries: queries, groupSize: group, headDim: d, stored: stored, rows: list,
                                                    count: count, weights: &weights, stride: n, output: &output, workers: workers)
                            return weights + output
                        }
                        let results = rounded.withUnsafeBufferPointer { f in half.withUnsafeBufferPointer { h in
                            (subset ?? []).withUnsafeBufferPointer { list in
                                let rows = subset == nil ? nil : list.baseAddress
                                return (run(.f32(keys: f.baseAddress!, values: f.baseAddress! + n * d), rows),
                                        run(.f16(keys: h.baseAddress!, values: h.baseAddress! + n * d), rows))
                            }
                        } }
                        XCTAssertEqual(results.1.map { $0.bitPattern }, results.0.map { $0.bitPattern },
                                       "d \(d) group \(group) n \(n) workers \(workers) avx512 \(wide) rows \(subset == nil ? "all" : "list")")
                    }
                }
            }
        }
    }

    func testFewRowsProductEqualsDoubleProduct() {
        var g = SeededGenerator(seed: 12)
        for (m, k, n) in [(3, 64, 4096), (1, 64, 32), (4, 16, 70), (2, 5, 33), (5, 7, 1)] {
            let a = (0 ..< m * k).map { _ in g.nextGaussian() }, b = (0 ..< k * n).map { _ in g.nextGaussian() }
            var c = [Float](repeating: .nan, count: m * n)
            multiplyFewRows(a, rows: m, inner: k, by: b, columns: n, alpha: 0.5, into: &c)
            for row in 0 ..< m {
                for column in 0 ..< n {
                    let expected = 0.5 * (0 ..< k).reduce(0.0) { $0 + Double(a[row * k + $1]) * Double(b[$1 * n + column]) }
                    XCTAssertEqual(Double(c[row * n + column]), expected, accuracy: 1e-5 * max(1, abs(expected)),
                                   "m \(m) k \(k) n \(n) at (\(row), \(column))")
                }
            }
        }
    }
}
