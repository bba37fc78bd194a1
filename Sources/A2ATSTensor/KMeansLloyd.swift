import Dispatch
import COpenBLAS

/// The buffers of one k-means fit, allocated once, and Lloyd's update step over `workers` threads
/// (the assignment step, with its bounds, is `LloydAssignment`; it searches in the batches
/// `NearestCentroidSearch` uses, with the products of one `sgemm` per batch on OpenBLAS's own
/// threads, since a one-thread `sgemm` per worker rounds some shapes differently). The update:
/// each worker sums its share of the dimensions over every point in point order, so each
/// cluster's Double sums add the same terms in the same order as one thread would, and the
/// codebook does not depend on the core count.
final class LloydStep {
    let count: Int
    let dimension: Int
    let k: Int
    let batchSize: Int
    let workers: Int
    let points: UnsafePointer<Float>
    let pointNorms: UnsafeMutablePointer<Float>
    let products: UnsafeMutablePointer<Float>                // batchSize × k
    let centroidNorms: UnsafeMutablePointer<Float>
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

    /// ‖c‖² of every centroid, for the search's ‖c‖² − 2x·c.
    func computeCentroidNorms(_ centroids: UnsafePointer<Float>) {
        for c in 0 ..< k {
            var norm: Float = 0
            for t in 0 ..< dimension { let v = centroids[c * dimension + t]; norm += v * v }
            centroidNorms[c] = norm
        }
    }

    /// Centroids = means of their points; an empty cluster is moved onto one of the points
    /// farthest from its centroid (each such point used once, in point order).
    func update(centroids: UnsafeMutablePointer<Float>, labels: UnsafePointer<Int32>, distances: UnsafePointer<Float>) {
        let d = dimension, k = k, count = count, workers = workers
        sums.initialize(repeating: 0, count: k * d)
        members.initialize(repeating: 0, count: k)
        for i in 0 ..< count { members[Int(labels[i])] += 1 }
        let points = points, sums = sums
        parallel(workers) { worker in
            let first = worker * d / workers, last = (worker + 1) * d / workers
            for i in 0 ..< count {
                let x = points + i * d, sum = sums + Int(labels[i]) * d
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
    func parallel(_ workers: Int, _ body: (Int) -> Void) {
        guard workers > 1 else { body(0); return }
        DispatchQueue.concurrentPerform(iterations: workers, execute: body)
    }
}
