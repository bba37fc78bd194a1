import Foundation

/// Eigen-decomposition of a small dense symmetric matrix (a few hundred rows): Householder
/// reduction to tridiagonal form, then the implicit QL iteration (the EISPACK tred2/tql2
/// algorithms, Golub & Van Loan §8.3). ShadowKV's low-rank keys are the top eigenvectors of a
/// layer's key Gram matrix KᵀK (192 × 192 for the default model), which is cheaper than an SVD of
/// the n × 192 keys; no LAPACK is linked, and this is O(n³) with no iteration count to tune.
/// Works in Double: the Gram matrix's small eigenvalues lose precision in f32.
public enum SymmetricEigen {
    /// Eigenvalues in descending order and the matching unit eigenvectors as the rows of
    /// `vectors` (`n × n`, row-major: row j is the j-th vector). `matrix` is `n × n`, row-major,
    /// symmetric (only its lower triangle is read).
    public static func decompose(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        precondition(matrix.count == n * n && n > 0)
        // v[i * n + j]: column j of the accumulated orthogonal transformation, as in tred2.
        var v = matrix
        for i in 0 ..< n { for j in 0 ..< i { v[j * n + i] = v[i * n + j] } }
        var d = [Double](repeating: 0, count: n), e = [Double](repeating: 0, count: n)
        v.withUnsafeMutableBufferPointer { v in d.withUnsafeMutableBufferPointer { d in e.withUnsafeMutableBufferPointer { e in
            tridiagonalize(v.baseAddress!, d.baseAddress!, e.baseAddress!, n)
            diagonalize(v.baseAddress!, d.baseAddress!, e.baseAddress!, n)
        } } }
        let order = (0 ..< n).sorted { d[$0] != d[$1] ? d[$0] > d[$1] : $0 < $1 }
        var vectors = [Double](repeating: 0, count: n * n)
        for (row, j) in order.enumerated() { for k in 0 ..< n { vectors[row * n + k] = v[k * n + j] } }
        return (order.map { d[$0] }, vectors)
    }

    /// Householder reduction: on return `d` is the diagonal, `e[1...]` the sub-diagonal, and `v`
    /// the orthogonal matrix that reduced it.
    private static func tridiagonalize(_ v: UnsafeMutablePointer<Double>, _ d: UnsafeMutablePointer<Double>,
                                       _ e: UnsafeMutablePointer<Double>, _ n: Int) {
        for j in 0 ..< n { d[j] = v[(n - 1) * n + j] }
        for i in stride(from: n - 1, to: 0, by: -1) {
            var scale = 0.0, h = 0.0
            for k in 0 ..< i { scale += abs(d[k]) }
            if scale == 0 {
                e[i] = d[i - 1]
                for j in 0 ..< i { d[j] = v[(i - 1) * n + j]; v[i * n + j] = 0; v[j * n + i] = 0 }
            } else {
                for k in 0 ..< i { d[k] /= scale; h += d[k] * d[k] }
                var f = d[i - 1]
                var g = h.squareRoot()
                if f > 0 { g = -g }
                e[i] = scale * g
                h -= f * g
                d[i - 1] = f - g
                for j in 0 ..< i { e[j] = 0 }
                for j in 0 ..< i {
                    f = d[j]
                    v[j * n + i] = f
                    g = e[j] + v[j * n + j] * f
                    var k = j + 1
                    while k <= i - 1 { g += v[k * n + j] * d[k]; e[k] += v[k * n + j] * f; k += 1 }
                    e[j] = g
                }
                f = 0
                for j in 0 ..< i { e[j] /= h; f += e[j] * d[j] }
                let hh = f / (h + h)
                for j in 0 ..< i { e[j] -= hh * d[j] }
                for j in 0 ..< i {
                    f = d[j]; g = e[j]
                    for k in j ... (i - 1) { v[k * n + j] -= f * e[k] + g * d[k] }
                    d[j] = v[(i - 1) * n + j]
                    v[i * n + j] = 0
                }
            }
            d[i] = h
        }
        for i in 0 ..< (n - 1) {
            v[(n - 1) * n + i] = v[i * n + i]
            v[i * n + i] = 1
            let h = d[i + 1]
            if h != 0 {
                for k in 0 ... i { d[k] = v[k * n + i + 1] / h }
                for j in 0 ... i {
                    var g = 0.0
                    for k in 0 ... i { g += v[k * n + i + 1] * v[k * n + j] }
                    for k in 0 ... i { v[k * n + j] -= g * d[k] }
                }
            }
            for k in 0 ... i { v[k * n + i + 1] = 0 }
        }
        for j in 0 ..< n { d[j] = v[(n - 1) * n + j]; v[(n - 1) * n + j] = 0 }
        v[(n - 1) * n + n - 1] = 1
        e[0] = 0
    }

    /// Implicit QL with Wilkinson-style shifts on the tridiagonal (`d`, `e`), rotating `v` along:
    /// on return `d` holds the eigenvalues and column j of `v` the j-th eigenvector.
    private static func diagonalize(_ v: UnsafeMutablePointer<Double>, _ d: UnsafeMutablePointer<Double>,
                                    _ e: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 1 ..< max(n, 1) { e[i - 1] = e[i] }
        e[n - 1] = 0
        var shift = 0.0, norm = 0.0
        let eps = Double.ulpOfOne
        for l in 0 ..< n {
            norm = max(norm, abs(d[l]) + abs(e[l]))
            var m = l
            while m < n - 1 && abs(e[m]) > eps * norm { m += 1 }
            if m > l {
                repeat {
                    var g = d[l]
                    var p = (d[l + 1] - g) / (2 * e[l])
                    var r = (p * p + 1).squareRoot()
                    if p < 0 { r = -r }
                    d[l] = e[l] / (p + r)
                    d[l + 1] = e[l] * (p + r)
                    let dl1 = d[l + 1]
                    var h = g - d[l]
                    var i = l + 2
                    while i < n { d[i] -= h; i += 1 }
                    shift += h
                    p = d[m]
                    var c = 1.0, c2 = 1.0, c3 = 1.0, s = 0.0, s2 = 0.0
                    let el1 = e[l + 1]
                    for i in stride(from: m - 1, through: l, by: -1) {
                        c3 = c2; c2 = c; s2 = s
                        g = c * e[i]
                        h = c * p
                        r = (p * p + e[i] * e[i]).squareRoot()
                        e[i + 1] = s * r
                        s = e[i] / r
                        c = p / r
                        p = c * d[i] - s * g
                        d[i + 1] = h + s * (c * g + s * d[i])
                        for k in 0 ..< n {
                            let upper = v[k * n + i + 1], lower = v[k * n + i]
                            v[k * n + i + 1] = s * lower + c * upper
                            v[k * n + i] = c * lower - s * upper
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1
                    e[l] = s * p
                    d[l] = c * p
                } while abs(e[l]) > eps * norm
            }
            d[l] += shift
            e[l] = 0
        }
    }
}
