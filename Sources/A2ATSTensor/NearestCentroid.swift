import COpenBLAS

/// Nearest-centroid assignment by squared Euclidean distance, one `sgemm` per batch:
/// ‖x − c‖² = ‖x‖² − 2·x·cᵀ + ‖c‖². Shared by k-means (assignment step) and by A²ATS, which
/// encodes each new key to its nearest centroid. Keeps its scratch between calls, so encoding
/// one token per decode step does not allocate. Not thread-safe: one instance per user.
public final class NearestCentroidSearch {
    public let centroidCount: Int
    public let dimension: Int
    /// Points per `sgemm`: bounds the scratch (`batch × centroidCount` floats).
    public let batchSize: Int
    private var centroids: [Float]       // centroidCount × dimension
    private var centroidNorms: [Float]   // ‖c‖²
    private let products: UnsafeMutablePointer<Float>

    /// `batchSize` nil keeps one batch's products (`batch × count` floats) near 512 KiB, in L2.
    public init(centroids: [Float], count: Int, dimension: Int, batchSize: Int? = nil) {
        precondition(centroids.count == count * dimension)
        centroidCount = count
        self.dimension = dimension
        self.batchSize = batchSize ?? Self.defaultBatchSize(centroids: count)
        self.centroids = centroids
        centroidNorms = [Float](repeating: 0, count: count)
        products = .allocate(capacity: self.batchSize * count)
        updateCentroids(centroids)
    }

    deinit { products.deallocate() }

    /// Points per batch when none is given: one batch's products near 512 KiB.
    static func defaultBatchSize(centroids: Int) -> Int { max(16, 131_072 / max(centroids, 1)) }

    /// Replaces the centroids (same count and dimension), as each Lloyd iteration does.
    public func updateCentroids(_ newCentroids: [Float]) {
        precondition(newCentroids.count == centroidCount * dimension)
        centroids = newCentroids
        for c in 0 ..< centroidCount {
            var norm: Float = 0
            for t in 0 ..< dimension { let v = centroids[c * dimension + t]; norm += v * v }
            centroidNorms[c] = norm
        }
    }

    /// For each of `count` points (`count × dimension`, row-major) writes the index of its nearest
    /// centroid (ties → lower index) and, if asked, the squared distance to it (clamped at 0).
    public func assign(_ points: UnsafePointer<Float>, count: Int,
                       labels: UnsafeMutablePointer<Int32>, distances: UnsafeMutablePointer<Float>? = nil) {
        let d = dimension, k = centroidCount
        centroids.withUnsafeBufferPointer { cb in
            centroidNorms.withUnsafeBufferPointer { norms in
                var start = 0
                while start < count {
                    let rows = min(batchSize, count - start)
                    // products[r][c] = x_r · c
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(k), Int32(d),
                                1, points + start * d, Int32(d), cb.baseAddress!, Int32(d), 0, products, Int32(k))
                    for r in 0 ..< rows {
                        let row = products + r * k
                        let (best, bestValue) = Self.argmin(norms.baseAddress!, row, count: k)
                        labels[start + r] = Int32(best)
                        if let distances {
                            let x = points + (start + r) * d
                            var norm: Float = 0
                            for t in 0 ..< d { norm += x[t] * x[t] }
                            distances[start + r] = max(norm + bestValue, 0)
                        }
                    }
                    start += rows
                }
            }
        }
    }

    /// argmin over c of norms[c] − 2·row[c] (ties → lower index), eight lanes at a time: a scalar
    /// compare chain is the k-means bottleneck after the sgemm.
    @inline(__always)
    static func argmin(_ norms: UnsafePointer<Float>, _ row: UnsafePointer<Float>, count: Int) -> (Int, Float) {
        var bestValue = Float.infinity
        var best = 0
        var c = 0
        if count >= 8 {
            var lanes = SIMD8<Float>(repeating: .infinity)
            var laneIndex = SIMD8<Int32>(repeating: 0)
            var current = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
            while c + 8 <= count {
                let n = UnsafeRawPointer(norms + c).loadUnaligned(as: SIMD8<Float>.self)
                let p = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
                let v = n - 2 * p
                let better = v .< lanes   // strict: each lane keeps its first minimum
                lanes.replace(with: v, where: better)
                laneIndex.replace(with: current, where: better)
                current &+= 8
                c += 8
            }
            bestValue = lanes.min()
            best = Int.max
            for lane in 0 ..< 8 where lanes[lane] == bestValue { best = Swift.min(best, Int(laneIndex[lane])) }
            if best == Int.max { best = 0 }   // only NaN scores
        }
        while c < count {
            let v = norms[c] - 2 * row[c]
            if v < bestValue { bestValue = v; best = c }
            c += 1
        }
        return (best, bestValue)
    }
}
