import CKernels

/// Centroids laid out for the fused nearest-centroid kernel (`nearest.h`): in blocks of 32, each
/// block transposed (dimension by dimension, d × 32 contiguous floats), padded to a whole block
/// with centroids of norm +∞, which are never chosen.
/// ‖x − c‖² = ‖x‖² − 2·x·c + ‖c‖², so the nearest centroid minimizes ‖c‖² − 2·x·c.
struct CentroidPanel {
    let count: Int
    let dimension: Int
    /// `count` rounded up to the AVX-512 kernel's tile (32 centroids; the AVX2 tile, 16, divides it).
    let paddedCount: Int
    private(set) var transposed: [Float]   // paddedCount / 32 blocks of dimension × 32
    private(set) var norms: [Float]        // paddedCount

    init(count: Int, dimension: Int) {
        self.count = count
        self.dimension = dimension
        paddedCount = (count + 31) / 32 * 32
        transposed = [Float](repeating: 0, count: dimension * paddedCount)
        norms = [Float](repeating: .infinity, count: paddedCount)
    }

    /// Loads `centroids` (`count × dimension`, row-major).
    mutating func update(_ centroids: UnsafePointer<Float>) {
        let (k, d) = (count, dimension)
        transposed.withUnsafeMutableBufferPointer { t in
            for c in 0 ..< k {
                var norm: Float = 0
                for i in 0 ..< d {
                    let v = centroids[c * d + i]
                    t[c / 32 * d * 32 + i * 32 + c % 32] = v
                    norm += v * v
                }
                norms[c] = norm
            }
        }
    }

    /// labels[r] = the nearest centroid of point r (ties → lower index), values[r] = its
    /// ‖c‖² − 2·x·c, for `rows` points (`rows × dimension`, row-major), on the calling thread.
    func nearest(_ points: UnsafePointer<Float>, rows: Int, labels: UnsafeMutablePointer<Int32>,
                 values: UnsafeMutablePointer<Float>) {
        guard rows > 0 else { return }
        transposed.withUnsafeBufferPointer { t in norms.withUnsafeBufferPointer { n in
            if CPUFeatures.hasAVX512 {
                a2ats_nearest_avx512(points, Int32(rows), Int32(dimension), t.baseAddress!, n.baseAddress!,
                                     Int32(paddedCount), labels, values)
            } else {
                a2ats_nearest_avx2(points, Int32(rows), Int32(dimension), t.baseAddress!, n.baseAddress!,
                                   Int32(paddedCount), labels, values)
            }
        } }
    }
}

/// Nearest-centroid assignment by squared Euclidean distance, on the calling thread. Shared by
/// k-means (assignment step, `LloydStep` splits the points between cores) and by A²ATS and
/// PQCache, which encode keys to their nearest centroids. Keeps its scratch between calls, so
/// encoding one token per decode step does not allocate. Not thread-safe: one instance per user.
public final class NearestCentroidSearch {
    public let centroidCount: Int
    public let dimension: Int
    private var panel: CentroidPanel
    private var values: [Float]

    public init(centroids: [Float], count: Int, dimension: Int) {
        precondition(centroids.count == count * dimension)
        centroidCount = count
        self.dimension = dimension
        panel = CentroidPanel(count: count, dimension: dimension)
        values = []
        updateCentroids(centroids)
    }

    /// Replaces the centroids (same count and dimension).
    public func updateCentroids(_ newCentroids: [Float]) {
        precondition(newCentroids.count == centroidCount * dimension)
        newCentroids.withUnsafeBufferPointer { panel.update($0.baseAddress!) }
    }

    /// For each of `count` points (`count × dimension`, row-major) writes the index of its nearest
    /// centroid (ties → lower index) and, if asked, the squared distance to it (clamped at 0).
    public func assign(_ points: UnsafePointer<Float>, count: Int,
                       labels: UnsafeMutablePointer<Int32>, distances: UnsafeMutablePointer<Float>? = nil) {
        if values.count < count { values = [Float](repeating: 0, count: count) }
        values.withUnsafeMutableBufferPointer { v in
            panel.nearest(points, rows: count, labels: labels, values: v.baseAddress!)
            guard let distances else { return }
            let d = dimension
            for r in 0 ..< count {
                let x = points + r * d
                var norm: Float = 0
                for t in 0 ..< d { norm += x[t] * x[t] }
                distances[r] = max(norm + v[r], 0)
            }
        }
    }
}
