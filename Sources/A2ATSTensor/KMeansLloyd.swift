import Dispatch

/// One Lloyd iteration's two steps over `workers` threads, with every buffer allocated once per
/// fit. The result does not depend on `workers`:
/// - assignment: each worker runs the fused nearest-centroid kernel (`CentroidPanel`, the one
///   `NearestCentroidSearch` runs) on its share of the points, so labels and distances are the
///   search's bit for bit, with ‖x‖² computed once per fit;
/// - update: each worker sums its share of the dimensions over every point in point order, so
///   each cluster's Double sums add the same terms in the same order as one thread would.
final class LloydStep {
    let count: Int
    let dimension: Int
    let k: Int
    let workers: Int
    private let points: UnsafePointer<Float>
    private let pointNorms: UnsafeMutablePointer<Float>
    private var panel: CentroidPanel
    private let values: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Double>           // k × dimension (Double: clusters can be large)
    private let members: UnsafeMutablePointer<Int>
    private let emptyClusters: UnsafeMutablePointer<Int>
    private let donors: UnsafeMutablePointer<Int32>
    private let farthest: TopKSelector

    init(points: UnsafePointer<Float>, count: Int, dimension d: Int, k: Int, workers: Int) {
        self.points = points
        self.count = count
        dimension = d
        self.k = k
        self.workers = max(1, min(workers, d))
        pointNorms = .allocate(capacity: count)
        panel = CentroidPanel(count: k, dimension: d)
        values = .allocate(capacity: count)
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
        values.deallocate()
        sums.deallocate()
        members.deallocate()
        emptyClusters.deallocate()
        donors.deallocate()
    }

    /// Nearest centroid (ties → lower index) and squared distance (clamped at 0) of every point;
    /// returns the mean squared distance.
    func assign(centroids: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                distances: UnsafeMutablePointer<Float>) -> Double {
        let d = dimension, count = count, workers = min(workers, count)
        panel.update(centroids)
        let (panel, points, pointNorms, values) = (panel, points, pointNorms, values)
        Parallel.perform(workers) { worker in
            let first = worker * count / workers, last = (worker + 1) * count / workers
            panel.nearest(points + first * d, rows: last - first, labels: labels + first, values: values + first)
            for i in first ..< last { distances[i] = max(pointNorms[i] + values[i], 0) }
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
        let points = points, sums = sums
        Parallel.perform(workers) { worker in
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
}
