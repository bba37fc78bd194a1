import XCTest
@testable import A2ATSTensor

final class NumericKernelTests: XCTestCase {
    private func gaussian(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0 ..< count).map { _ in g.nextGaussian() }
    }

    // Reference: the definition L·Lᵀ = H, multiplied out in Double.
    func testCholeskyReproducesMatrixAndInverse() throws {
        let n = 6
        let a = gaussian(n * n, seed: 1)
        var h = [Float](repeating: 0, count: n * n)
        for i in 0 ..< n { for j in 0 ..< n {
            h[i * n + j] = (0 ..< n).reduce(Float(0)) { $0 + a[i * n + $1] * a[j * n + $1] } + (i == j ? 1 : 0)
        } }
        let l = try Cholesky.factor(h, n: n)
        let inverse = Cholesky.invertLower(l, n: n)
        for i in 0 ..< n { for j in 0 ..< n {
            let product = (0 ..< n).reduce(0.0) { $0 + Double(l[i * n + $1]) * Double(l[j * n + $1]) }
            XCTAssertEqual(product, Double(h[i * n + j]), accuracy: 1e-4 * max(1, abs(Double(h[i * n + j]))))
            if j > i { XCTAssertEqual(l[i * n + j], 0) }
            let identity = (0 ..< n).reduce(0.0) { $0 + Double(l[i * n + $1]) * Double(inverse[$1 * n + j]) }
            XCTAssertEqual(identity, i == j ? 1 : 0, accuracy: 1e-5)
        } }
        XCTAssertThrowsError(try Cholesky.factor([1, 2, 2, 1], n: 2))
    }

    // Reference: a full sort with (score descending, index ascending).
    func testTopKMatchesSortWithLowerIndexTies() {
        var g = SeededGenerator(seed: 7)
        let selector = TopKSelector()
        for trial in 0 ..< 50 {
            let n = 1 + Int(g.next() % 300)
            let scores = (0 ..< n).map { _ in Float(Int(g.next() % 20)) }   // many ties
            let k = Int(g.next() % UInt64(n + 2))
            var out = [Int32](repeating: -1, count: n)
            let found = selector.select(scores, count: n, k: k, indexOffset: 5, into: &out)
            let order: [Int] = (0 ..< n).sorted { (a: Int, b: Int) -> Bool in
                scores[a] != scores[b] ? scores[a] > scores[b] : a < b
            }
            let expected: [Int32] = order.prefix(min(k, n)).sorted().map { Int32($0 + 5) }
            XCTAssertEqual(Array(out.prefix(found)), expected, "trial \(trial)")
        }
    }

    // Reference: brute-force nearest centroid by explicit distances.
    func testKMeansAssignmentIsNearestAndObjectiveDecreases() throws {
        let n = 2000, d = 8, c = 16
        let points = gaussian(n * d, seed: 3)
        var objectives: [Double] = []
        let result = try KMeans.fit(points, count: n, dimension: d,
                                    options: KMeansOptions(centroids: c, maxIterations: 30, seed: 9)) { _, o in objectives.append(o) }
        XCTAssertEqual(result.centroids.count, c * d)
        for (a, b) in zip(objectives, objectives.dropFirst()) { XCTAssertLessThanOrEqual(b, a * (1 + 1e-6)) }
        let search = NearestCentroidSearch(centroids: result.centroids, count: c, dimension: d)
        var labels = [Int32](repeating: 0, count: n)
        search.assign(points, count: n, labels: &labels)
        var total = 0.0
        for i in 0 ..< n {
            var dist = [Double](repeating: 0, count: c)
            for cc in 0 ..< c {
                for t in 0 ..< d { let x = Double(points[i * d + t] - result.centroids[cc * d + t]); dist[cc] += x * x }
            }
            let best = dist.min()!
            XCTAssertEqual(dist[Int(labels[i])], best, accuracy: 1e-4 * max(1, best))
            total += best
        }
        XCTAssertEqual(total / Double(n), result.objective, accuracy: 1e-4 * result.objective)
        let again = try KMeans.fit(points, count: n, dimension: d, options: KMeansOptions(centroids: c, maxIterations: 30, seed: 9))
        XCTAssertEqual(again.centroids, result.centroids, "same seed, same codebook")
    }

    func testKMeansRecoversDistinctPointsAndRejectsTooManyClusters() throws {
        let d = 4, distinct = gaussian(5 * d, seed: 11)
        let points = (0 ..< 100).flatMap { i in Array(distinct[(i % 5) * d ..< (i % 5 + 1) * d]) }
        let result = try KMeans.fit(points, count: 100, dimension: d, options: KMeansOptions(centroids: 5))
        // The norm expansion ‖x‖² − 2x·c + ‖c‖² cancels to rounding noise, not to exact zero.
        XCTAssertEqual(result.objective, 0, accuracy: 1e-5)
        let matched = (0 ..< 5).map { c in
            (0 ..< 5).first { p in (0 ..< d).allSatisfy { abs(result.centroids[c * d + $0] - distinct[p * d + $0]) < 1e-6 } }
        }
        XCTAssertEqual(Set(matched.compactMap { $0 }), Set(0 ..< 5), "every distinct point is a centroid")
        XCTAssertThrowsError(try KMeans.fit(points, count: 3, dimension: d, options: KMeansOptions(centroids: 5)))
    }
}
