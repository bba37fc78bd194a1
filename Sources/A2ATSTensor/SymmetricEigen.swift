/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan
/// §8.5): InfiniGen's skew matrix is the right singular basis of a head's query matrix Q, i.e. the
/// eigenvectors of QᵀQ (d × d, d = 64 here), so no SVD of the long T × d matrix is needed and no
/// LAPACK dependency either. Accumulates in Double; converges quadratically, a few sweeps at d = 64.
public enum SymmetricEigen {
    /// Eigenvalues (descending) and eigenvectors of the symmetric `n × n` row-major `matrix`:
    /// `vectors[i * n + j]` is component i of the eigenvector of `values[j]` (vectors are columns).
    public static func decompose(_ matrix: [Float], n: Int, maxSweeps: Int = 60) -> (values: [Float], vectors: [Float]) {
        precondition(matrix.count == n * n)
        var a = matrix.map(Double.init)
        var v = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n { v[i * n + i] = 1 }
        for _ in 0 ..< maxSweeps {
            var off = 0.0, total = 0.0
            for i in 0 ..< n { for j in 0 ..< n { total += a[i * n + j] * a[i * n + j]; if i != j { off += a[i * n + j] * a[i * n + j] } } }
            if off <= 1e-24 * max(total, 1e-300) { break }
            for p in 0 ..< n - 1 {
                for q in p + 1 ..< n where a[p * n + q] != 0 {
                    // The rotation in the (p, q) plane that zeroes a[p][q].
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0 ..< n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0 ..< n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0 ..< n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0 ..< n).sorted { a[$0 * n + $0] > a[$1 * n + $1] || (a[$0 * n + $0] == a[$1 * n + $1] && $0 < $1) }
        var vectors = [Float](repeating: 0, count: n * n)
        for (column, source) in order.enumerated() { for i in 0 ..< n { vectors[i * n + column] = Float(v[i * n + source]) } }
        return (order.map { Float(a[$0 * n + $0]) }, vectors)
    }
}
