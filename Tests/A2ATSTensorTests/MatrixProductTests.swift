@testable import A2ATSTensor
import XCTest

/// Our AVX-512 matrix product (`gemm.h`, behind `BLAS.multiply` and `BLAS.multiplyTransposedB`)
/// against a float64 product written out here, on shapes that cut every block of the kernel
/// (14-row tiles, 32-column panels, 256-deep and 512-wide blocks) and leading dimensions wider than
/// the rows; and against itself on one and two threads, bit for bit.
final class MatrixProductTests: XCTestCase {
    override func setUpWithError() throws {
        guard CPUFeatures.hasAVX512 else { throw XCTSkip("the CPU has no AVX-512F: OpenBLAS runs every product") }
    }

    struct Case { let m, n, k: Int; let alpha, beta: Float }
    static let cases: [Case] = [
        Case(m: 16, n: 1, k: 1, alpha: 1, beta: 0), Case(m: 17, n: 31, k: 7, alpha: 1, beta: 0),
        Case(m: 14, n: 32, k: 256, alpha: 0.125, beta: 0), Case(m: 15, n: 33, k: 257, alpha: 1, beta: 1),
        Case(m: 170, n: 70, k: 300, alpha: 0.5, beta: -2), Case(m: 37, n: 600, k: 520, alpha: 1, beta: 1),
        Case(m: 200, n: 64, k: 700, alpha: 1, beta: 0), Case(m: 19, n: 1100, k: 64, alpha: 0.125, beta: 0),
        // Fewer than 16 rows go to OpenBLAS (`ownProductMinimumRows`): the same answer.
        Case(m: 1, n: 300, k: 40, alpha: 1, beta: 0),
    ]

    /// Elements from a seeded generator; C starts non-zero so that beta counts (and beta 0 must not read it).
    func operands(_ c: Case, transposedB: Bool, seed: UInt64) -> (a: [Float], b: [Float], c: [Float], lda: Int, ldb: Int, ldc: Int) {
        var rng = SeededGenerator(seed: seed)
        let lda = c.k + 3, ldb = (transposedB ? c.k : c.n) + 5, ldc = c.n + 2
        let a = (0..<(c.m * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
        let b = (0..<((transposedB ? c.n : c.k) * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
        let out = (0..<(c.m * ldc)).map { _ in c.beta == 0 ? Float.nan : Float.random(in: -1...1, using: &rng) }
        return (a, b, out, lda, ldb, ldc)
    }

    func run(_ c: Case, transposedB: Bool, threads: Int, seed: UInt64) -> (result: [Float], reference: [Double], bound: [Double], ldc: Int) {
        var (a, b, out, lda, ldb, ldc) = operands(c, transposedB: transposedB, seed: seed)
        var reference = [Double](repeating: 0, count: c.m * ldc), bound = reference
        for i in 0..<c.m {
            for j in 0..<c.n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<c.k {
                    let x = Double(a[i * lda + p]) * Double(transposedB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x; magnitude += abs(x)
                }
                let old = c.beta == 0 ? 0 : Double(c.beta) * Double(out[i * ldc + j])
                reference[i * ldc + j] = Double(c.alpha) * sum + old
                bound[i * ldc + j] = 1e-6 * (Double(abs(c.alpha)) * magnitude + abs(old)) + 1e-30
            }
        }
        let saved = BLAS.threadCount
        BLAS.threadCount = threads
        defer { BLAS.threadCount = saved }
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { o in
            if transposedB {
                BLAS.multiplyTransposedB(m: c.m, n: c.n, k: c.k, alpha: c.alpha, a: a.baseAddress!, lda: lda, b: b.baseAddress!,
                                         ldb: ldb, beta: c.beta, c: o.baseAddress!, ldc: ldc)
            } else {
                BLAS.multiply(m: c.m, n: c.n, k: c.k, alpha: c.alpha, a: a.baseAddress!, lda: lda, b: b.baseAddress!,
                              ldb: ldb, beta: c.beta, c: o.baseAddress!, ldc: ldc)
            }
        } } }
        return (out, reference, bound, ldc)
    }

    /// Every element within 1e-6 of Σ|a·b| (float32 sums over k ≤ 700 stay far inside it), the
    /// padding between rows of C untouched, and two threads equal to one bit for bit.
    func testEqualsAFloat64ProductOnEveryBlockEdge() {
        let saved = BLAS.ownProduct
        BLAS.ownProduct = true
        defer { BLAS.ownProduct = saved }
        for (index, c) in Self.cases.enumerated() {
            for transposedB in [true, false] {
                let label = "m \(c.m) n \(c.n) k \(c.k) alpha \(c.alpha) beta \(c.beta) transposedB \(transposedB)"
                let one = run(c, transposedB: transposedB, threads: 1, seed: UInt64(index))
                for i in 0..<c.m {
                    for j in 0..<c.n {
                        let e = i * one.ldc + j
                        if abs(Double(one.result[e]) - one.reference[e]) > one.bound[e] {
                            XCTFail("\(label): C[\(i)][\(j)] = \(one.result[e]), float64 \(one.reference[e])")
                            return
                        }
                    }
                    for j in c.n..<one.ldc where c.beta == 0 {
                        XCTAssertTrue(one.result[i * one.ldc + j].isNaN, "\(label): wrote past column n")
                    }
                }
                let two = run(c, transposedB: transposedB, threads: 2, seed: UInt64(index))
                XCTAssertEqual(two.result.map(\.bitPattern), one.result.map(\.bitPattern), "\(label): two threads")
            }
        }
    }

    /// Which product runs by default: ours only where OpenBLAS's kernels are narrower than the CPU's
    /// vectors (measured: OpenBLAS SkylakeX 451, ours 345, OpenBLAS Haswell ≈ 240 GFLOP/s on two
    /// Zen 5 cores), and `A2ATS_GEMM` overrides either way.
    func testDefaultProductFollowsOpenBLASKernels() {
        func own(_ environment: [String: String], avx512: Bool = true, family: String) -> Bool {
            BLAS.ownProductByDefault(environment: environment, hasAVX512: avx512, openBLASFamily: family)
        }
        XCTAssertTrue(own([:], family: "Haswell"))
        XCTAssertTrue(own([:], family: "Zen"))
        XCTAssertFalse(own([:], family: "SkylakeX"))
        XCTAssertFalse(own([:], family: "Cooperlake"))
        XCTAssertFalse(own([:], avx512: false, family: "Haswell"))
        XCTAssertFalse(own(["A2ATS_GEMM": "openblas"], family: "Haswell"))
        XCTAssertTrue(own(["A2ATS_GEMM": "a2ats"], family: "SkylakeX"))
        XCTAssertFalse(own(["A2ATS_GEMM": "a2ats"], avx512: false, family: "Haswell"))
    }
}
