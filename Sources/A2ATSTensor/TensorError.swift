/// Errors of the numeric kernels; each names the value that made the computation impossible.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Cholesky needs a symmetric positive-definite matrix; `pivot` is the first non-positive one.
    case notPositiveDefinite(row: Int, pivot: Double)
    /// k-means asked for more centroids than points, or for none.
    case invalidClusterCount(centroids: Int, points: Int)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(row, pivot):
            return "matrix is not positive definite: pivot \(pivot) at row \(row)"
        case let .invalidClusterCount(centroids, points):
            return "cannot form \(centroids) clusters from \(points) points"
        }
    }
}
