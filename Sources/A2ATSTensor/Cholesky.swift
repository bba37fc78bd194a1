/// Cholesky factorization and triangular inverse for small dense matrices (head_dim × head_dim),
/// row-major. A²ATS whitens keys with the factor of the query covariance H = L Lᵀ, which turns
/// the query-weighted quantization error (k−c) H (k−c)ᵀ into a plain squared distance ‖(k−c) L‖².
/// Accumulates in Double: H can be ill-conditioned (the reference adds only 1e-6·I).
public enum Cholesky {
    /// The lower-triangular L with `matrix` = L Lᵀ (`n × n`, row-major; upper triangle zero).
    public static func factor(_ matrix: [Float], n: Int) throws -> [Float] {
        precondition(matrix.count == n * n)
        var l = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n {
            for j in 0 ... i {
                var sum = Double(matrix[i * n + j])
                for k in 0 ..< j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else { throw TensorError.notPositiveDefinite(row: i, pivot: sum) }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        return l.map(Float.init)
    }

    /// The inverse of a lower-triangular matrix (also lower-triangular), by forward substitution.
    public static func invertLower(_ lower: [Float], n: Int) -> [Float] {
        precondition(lower.count == n * n)
        var inverse = [Double](repeating: 0, count: n * n)
        for column in 0 ..< n {
            inverse[column * n + column] = 1 / Double(lower[column * n + column])
            for i in column + 1 ..< n {
                var sum = 0.0
                for k in column ..< i { sum -= Double(lower[i * n + k]) * inverse[k * n + column] }
                inverse[i * n + column] = sum / Double(lower[i * n + i])
            }
        }
        return inverse.map(Float.init)
    }
}
