/// C[m×n] = alpha · A[m×k] · B[k×n], all row-major, for a few rows m (a GQA group's queries)
/// against a wide B (e.g. A²ATS centroids stored dimension by dimension, k = d, n = C).
///
/// `sgemm` packs all of B on every call and `sgemv` streams B once per row of A; here each
/// 32-column strip of B is loaded once for three rows of A, whose accumulators stay in
/// registers, so B (1 MiB at 4096 centroids × 64 dims) is read once per three query heads.
public func multiplyFewRows(_ a: UnsafePointer<Float>, rows m: Int, inner k: Int, by b: UnsafePointer<Float>,
                            columns n: Int, alpha: Float, into c: UnsafeMutablePointer<Float>) {
    typealias Lane = SIMD16<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lane { UnsafeRawPointer(p).loadUnaligned(as: Lane.self) }
    @inline(__always) func store(_ v: Lane, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v * alpha, as: Lane.self)
    }
    var first = 0
    while first < m {
        // Three rows per pass (six accumulators); a short last pass repeats its last row.
        let r0 = first, r1 = min(first + 1, m - 1), r2 = min(first + 2, m - 1)
        let a0 = a + r0 * k, a1 = a + r1 * k, a2 = a + r2 * k
        var column = 0
        while column + 2 * Lane.scalarCount <= n {
            var x0 = Lane(), x1 = Lane(), y0 = Lane(), y1 = Lane(), z0 = Lane(), z1 = Lane()
            for i in 0 ..< k {
                let strip = b + i * n + column
                let low = load(strip), high = load(strip + Lane.scalarCount)
                let p = Lane(repeating: a0[i]), q = Lane(repeating: a1[i]), r = Lane(repeating: a2[i])
                x0.addProduct(p, low); x1.addProduct(p, high)
                y0.addProduct(q, low); y1.addProduct(q, high)
                z0.addProduct(r, low); z1.addProduct(r, high)
            }
            store(x0, c + r0 * n + column); store(x1, c + r0 * n + column + Lane.scalarCount)
            store(y0, c + r1 * n + column); store(y1, c + r1 * n + column + Lane.scalarCount)
            store(z0, c + r2 * n + column); store(z1, c + r2 * n + column + Lane.scalarCount)
            column += 2 * Lane.scalarCount
        }
        for row in r0 ... r2 {
            for tail in column ..< n {
                var sum: Float = 0
                for i in 0 ..< k { sum += a[row * k + i] * b[i * n + tail] }
                c[row * n + tail] = alpha * sum
            }
        }
        first += 3
    }
}
