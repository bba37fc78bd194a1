import COpenBLAS
import Foundation

/// Lloyd's assignment step with Hamerly's bounds (G. Hamerly, "Making k-means even faster",
/// SDM 2010). After the first iterations most points keep their centroid; a point whose distance
/// to its own centroid is at most a lower bound on its distance to every other centroid needs no
/// search. Per point the step keeps that lower bound (the distance to the second-nearest centroid
/// at the last search, less how far the other centroids have moved since); per iteration it pays
/// one distance per point, to its own centroid (which is also what the objective and the
/// farthest-point rule need), and a full search (one `sgemm` per batch, as the plain search) only
/// for the points the bounds cannot settle. A second test skips points closer to their centroid
/// than half its distance to the nearest other centroid.
///
/// The bounds hold in real arithmetic. In floats, ‖x‖² + ‖c‖² − 2x·c carries a rounding error of
/// a few ulps of ‖x‖² + ‖c‖², so every lower bound is taken that much (1e-5 of it, squared
/// distances) further down: a skipped point's centroid is its nearest up to that margin, which is
/// as close as the plain search's own rounding decides near-ties.
final class LloydAssignment {
    private let step: LloydStep
    /// Per point: a lower bound on the distance (not squared) to its second-nearest centroid.
    private let lower: UnsafeMutablePointer<Float>
    private let needsSearch: UnsafeMutablePointer<Bool>
    private let pending: UnsafeMutablePointer<Int32>
    private let gathered: UnsafeMutablePointer<Float>      // batchSize × d
    private let previous: UnsafeMutablePointer<Float>      // k × d: the centroids of the last assignment
    private let halfGap: UnsafeMutablePointer<Float>       // k: half the distance to the nearest other centroid
    private let gram: UnsafeMutablePointer<Float>          // k × k
    private var started = false
    /// Points searched over every centroid, summed over the assignments so far (the rest were
    /// settled by their bounds).
    private(set) var searched = 0

    init(step: LloydStep) {
        self.step = step
        let (count, d, k) = (step.count, step.dimension, step.k)
        lower = .allocate(capacity: count)
        needsSearch = .allocate(capacity: count)
        pending = .allocate(capacity: count)
        gathered = .allocate(capacity: step.batchSize * d)
        previous = .allocate(capacity: k * d)
        halfGap = .allocate(capacity: k)
        gram = .allocate(capacity: k * k)
    }

    deinit {
        lower.deallocate()
        needsSearch.deallocate()
        pending.deallocate()
        gathered.deallocate()
        previous.deallocate()
        halfGap.deallocate()
        gram.deallocate()
    }

    /// Nearest centroid of every point (up to the rounding margin above; ties of the full search →
    /// lower index) and its squared distance ‖x − c‖²; returns the mean squared distance.
    func assign(centroids: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                distances: UnsafeMutablePointer<Float>) -> Double {
        let (count, d, k) = (step.count, step.dimension, step.k)
        step.computeCentroidNorms(centroids)
        var largestNorm: Float = 0
        for c in 0 ..< k { largestNorm = max(largestNorm, step.centroidNorms[c]) }
        var pendingCount = 0
        if started {
            settleByBounds(centroids: centroids, labels: labels, distances: distances, largestNorm: largestNorm)
            for i in 0 ..< count where needsSearch[i] { pending[pendingCount] = Int32(i); pendingCount += 1 }
        } else {
            for i in 0 ..< count { pending[i] = Int32(i) }
            pendingCount = count
            started = true
        }
        search(pendingCount, centroids: centroids, labels: labels, distances: distances, largestNorm: largestNorm)
        searched += pendingCount
        previous.update(from: centroids, count: k * d)
        var total = 0.0
        for i in 0 ..< count { total += Double(distances[i]) }
        return total / Double(count)
    }

    /// Moves every lower bound down by the largest move of another centroid, measures each
    /// point's distance to its own (moved) centroid, and marks the points the bounds cannot settle.
    private func settleByBounds(centroids: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                                distances: UnsafeMutablePointer<Float>, largestNorm: Float) {
        let (count, d, k) = (step.count, step.dimension, step.k)
        var largest: Float = 0, runnerUp: Float = 0, largestIndex = -1
        for c in 0 ..< k {
            let move = Self.squaredDistance(centroids + c * d, previous + c * d, d).squareRoot()
            if move > largest { runnerUp = largest; largest = move; largestIndex = c } else if move > runnerUp { runnerUp = move }
        }
        computeHalfGaps(centroids, largestNorm: largestNorm)
        let parts = step.workers, points = step.points
        let (lower, needsSearch, halfGap) = (lower, needsSearch, halfGap)
        step.parallel(parts) { worker in
            for i in worker * count / parts ..< (worker + 1) * count / parts {
                let label = Int(labels[i])
                let distance = Self.squaredDistance(points + i * d, centroids + label * d, d)
                distances[i] = distance
                lower[i] -= label == largestIndex ? runnerUp : largest
                needsSearch[i] = distance.squareRoot() > max(lower[i], halfGap[label])
            }
        }
    }

    /// halfGap[c] = ½ min over c′ ≠ c of ‖c − c′‖, from one k × k `sgemm` (less the rounding margin).
    private func computeHalfGaps(_ centroids: UnsafePointer<Float>, largestNorm: Float) {
        let (d, k) = (step.dimension, step.k)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(k), Int32(k), Int32(d),
                    1, centroids, Int32(d), centroids, Int32(d), 0, gram, Int32(k))
        let norms = step.centroidNorms, margin = 2e-5 * largestNorm
        for c in 0 ..< k {
            var nearest = Float.infinity
            for other in 0 ..< k where other != c {
                nearest = min(nearest, norms[c] + norms[other] - 2 * gram[c * k + other])
            }
            halfGap[c] = 0.5 * max(nearest - margin, 0).squareRoot()
        }
    }

    /// Searches the first `pendingCount` points of `pending` over every centroid, in batches of
    /// `batchSize` gathered rows: label, squared distance, and a fresh lower bound from the
    /// second-nearest centroid.
    private func search(_ pendingCount: Int, centroids: UnsafePointer<Float>, labels: UnsafeMutablePointer<Int32>,
                        distances: UnsafeMutablePointer<Float>, largestNorm: Float) {
        let (d, k) = (step.dimension, step.k)
        let (points, pointNorms, centroidNorms, products) = (step.points, step.pointNorms, step.centroidNorms, step.products)
        let (pending, lower) = (pending, lower)
        var start = 0
        while start < pendingCount {
            let rows = min(step.batchSize, pendingCount - start), first = start
            for r in 0 ..< rows { (gathered + r * d).update(from: points + Int(pending[first + r]) * d, count: d) }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(k), Int32(d),
                        1, gathered, Int32(d), centroids, Int32(d), 0, products, Int32(k))
            let parts = min(step.workers, rows)
            step.parallel(parts) { worker in
                for r in worker * rows / parts ..< (worker + 1) * rows / parts {
                    let i = Int(pending[first + r])
                    let (best, secondValue) = Self.nearestTwo(centroidNorms, products + r * k, count: k)
                    labels[i] = Int32(best)
                    distances[i] = Self.squaredDistance(points + i * d, centroids + best * d, d)
                    let second = pointNorms[i] + secondValue - 1e-5 * (pointNorms[i] + largestNorm)
                    lower[i] = max(second, 0).squareRoot()
                }
            }
            start += rows
        }
    }

    /// The index minimizing ‖c‖² − 2x·c (ties → lower index) and the second-smallest value
    /// (+∞ with one centroid).
    static func nearestTwo(_ norms: UnsafePointer<Float>, _ row: UnsafePointer<Float>, count: Int) -> (Int, Float) {
        var best = 0, bestValue = Float.infinity, secondValue = Float.infinity
        var c = 0
        if count >= 8 {
            var lanes = SIMD8<Float>(repeating: .infinity), seconds = lanes
            var laneIndex = SIMD8<Int32>(repeating: 0)
            var current = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
            while c + 8 <= count {
                let v = UnsafeRawPointer(norms + c).loadUnaligned(as: SIMD8<Float>.self)
                    - 2 * UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
                seconds = pointwiseMin(seconds, pointwiseMax(lanes, v))
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
            for lane in 0 ..< 8 {   // the other lanes' minima compete with every lane's runner-up
                secondValue = Swift.min(secondValue, Int(laneIndex[lane]) == best ? seconds[lane] : lanes[lane])
            }
        }
        while c < count {
            let v = norms[c] - 2 * row[c]
            if v < bestValue { secondValue = bestValue; bestValue = v; best = c } else if v < secondValue { secondValue = v }
            c += 1
        }
        return (best, secondValue)
    }

    /// ‖a − b‖² over `d` floats.
    @inline(__always)
    static func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var sum = SIMD16<Float>()
        var t = 0
        while t + 16 <= d {
            let difference = UnsafeRawPointer(a + t).loadUnaligned(as: SIMD16<Float>.self)
                - UnsafeRawPointer(b + t).loadUnaligned(as: SIMD16<Float>.self)
            sum.addProduct(difference, difference)
            t += 16
        }
        var total = sum.sum()
        while t < d { let difference = a[t] - b[t]; total += difference * difference; t += 1 }
        return total
    }
}
