import Dispatch
import COpenBLAS

/// One Lloyd iteration's two steps over `workers` threads, with every buffer allocated once per
/// fit, computing exactly what the plain loop computes, bit for bit (so codebooks stay the same
/// files):
/// - assignment: the points are cut into the batches `NearestCentroidSearch` uses, each batch's
///   products come from the same `sgemm` call (OpenBLAS's own threads: a one-thread `sgemm` per
///   worker rounds some shapes differently), and the workers share its rows for the argmin and
///   distances, with ‖x‖² computed once per fit;
/// - update: each worker sums its share of the dimensions over every point in point order, so
///   each cluster's Double sums add the same terms in the same order as one thread would.
final class LloydStep {
    let count: Int
    let dimension: Int
    let k: Int
    let batchSize: Int
    let workers: Int
    private let points: UnsafePointer<Float>
    private let pointNorms: UnsafeMutablePointer<Float>
    private let products: UnsafeMutablePointer<Float>        // batchSize × k
    private let centroidNorms: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Double>           // k × dimension (Double: clusters can be large)
    private let members: UnsafeMutablePointer<Int>
    private let emptyClusters: UnsafeMutablePointer<Int>
    private let donors: UnsafeMutablePointer<Int32>
    private let farthest: TopKSelector

    /// `batchSize` nil: the search's default for `k` (tests cut small problems finer).
    init(points: UnsafePointer<Float>, count: Int, dimension d: Int, k: Int, workers: Int, batchSize: Int? = nil) {
        self.points = points
        self.count = count
        dimension = d
        self.k = k
        self.batchSize = batchSize ?? NearestCentroidSearch.defaultBatchSize(centroids: k)
        self.workers = max(1, min(workers, d))
        pointNorms = .allocate(capacity: count)
        products = .allocate(capacity: self.batchSize * k)
        centroidNorms = .allocate(capacity: k)
        sums = .allocate(capacity: k * d)
        members = .allocate(capacity: k)
        emptyClusters = .allocate(capacity: k)
        donors = .allocate(capacity: k)
        farthest = TopKSelector(capacity: count)
        for i in 0 ..< count {
            let x = points + i * d
            var norm: Float = 0
            for t in 0 ..< d { norm += x[t] * x[t] }
            pointNorms[i] = norm
        }
    }

    deinit {
        pointNorms.deallocate()
        products.deallocate()
        centroidNorms.deallocate()
        sums.deallocate()
        members.deallocate()
        emptyClusters.deallocate()
        donors.deallocate()
    }

    /// Nearest centroid (ties → lower index) and squared distance (clamped at 0) of every point;
    /// returns the mean squared distance.
    func assign(centroids: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                distances: UnsafeMutablePointer<Float>) -> Double {
        let d = dimension, k = k, count = count, batchSize = batchSize, workers = workers
        for c in 0 ..< k {
            var norm: Float = 0
            for t in 0 ..< d { let v = centroids[c * d + t]; norm += v * v }
            centroidNorms[c] = norm
        }
        let shared = LloydShared(points: points, pointNorms: pointNorms, products: products, centroids: centroids,
                                 centroidNorms: centroidNorms, labels: labels, distances: distances, sums: sums)
        var start = 0
        while start < count {
            let rows = min(batchSize, count - start)
            // products[r][c] = x_r · c: the very call (shape, OpenBLAS threads) the plain search makes.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(k), Int32(d),
                        1, points + start * d, Int32(d), centroids, Int32(d), 0, products, Int32(k))
            let parts = min(workers, rows), first = start
            parallel(parts) { worker in
                for r in worker * rows / parts ..< (worker + 1) * rows / parts {
                    let (best, bestValue) = NearestCentroidSearch.argmin(shared.centroidNorms, shared.products + r * k, count: k)
                    shared.labels[first + r] = Int32(best)
                    shared.distances[first + r] = max(shared.pointNorms[first + r] + bestValue, 0)
                }
            }
            start += rows
        }
        var total = 0.0
        for i in 0 ..< count { total += Double(distances[i]) }
        return total / Double(count)
    }

    /// Centroids = means of their points; an empty cluster is moved onto one of the points
    /// farthest from its centroid (each such point used once, in point order).
    func update(centroids: UnsafeMutablePointer<Float>, labels: UnsafePointer<Int32>, distances: UnsafePointer<Float>) {
        let d = dimension, k = k, count = count, workers = workers
        sums.initialize(repeating: 0, count: k * d)
        members.initialize(repeating: 0, count: k)
        for i in 0 ..< count { members[Int(labels[i])] += 1 }
        let shared = LloydShared(points: points, pointNorms: pointNorms, products: products, centroids: centroids,
                                 centroidNorms: centroidNorms, labels: UnsafeMutablePointer(mutating: labels),
                                 distances: UnsafeMutablePointer(mutating: distances), sums: sums)
        parallel(workers) { worker in
            let first = worker * d / workers, last = (worker + 1) * d / workers
            for i in 0 ..< count {
                let x = shared.points + i * d, sum = shared.sums + Int(shared.labels[i]) * d
                for t in first ..< last { sum[t] += Double(x[t]) }
            }
        }
        var empty = 0
        for c in 0 ..< k {
            guard members[c] > 0 else { emptyClusters[empty] = c; empty += 1; continue }
            let scale = 1 / Double(members[c])
            for t in 0 ..< d { centroids[c * d + t] = Float(sums[c * d + t] * scale) }
        }
        guard empty > 0 else { return }
        let found = farthest.select(distances, count: count, k: empty, into: donors)
        for slot in 0 ..< min(empty, found) {
            let x = points + Int(donors[slot]) * d, c = emptyClusters[slot]
            for t in 0 ..< d { centroids[c * d + t] = x[t] }
        }
    }

    /// Runs `body(worker)` for `workers` workers, on as many threads (no BLAS inside).
    private func parallel(_ workers: Int, _ body: (Int) -> Void) {
        guard workers > 1 else { body(0); return }
        DispatchQueue.concurrentPerform(iterations: workers, execute: body)
    }
}

/// The buffers workers read and write (disjoint rows or dimensions), as one Sendable value.
private struct LloydShared: @unchecked Sendable {
    let points: UnsafePointer<Float>
    let pointNorms: UnsafePointer<Float>
    let products: UnsafeMutablePointer<Float>
    let centroids: UnsafePointer<Float>
    let centroidNorms: UnsafePointer<Float>
    let labels: UnsafeMutablePointer<Int32>
    let distances: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Double>

    init(points: UnsafePointer<Float>, pointNorms: UnsafeMutablePointer<Float>, products: UnsafeMutablePointer<Float>,
         centroids: UnsafePointer<Float>, centroidNorms: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>,
         distances: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Double>) {
        self.points = points
        self.pointNorms = UnsafePointer(pointNorms)
        self.products = products
        self.centroids = centroids
        self.centroidNorms = UnsafePointer(centroidNorms)
        self.labels = labels
        self.distances = distances
        self.sums = sums
    }
}
