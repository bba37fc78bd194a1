import Foundation
import XCTest
@testable import A2ATSTensor

/// The k-means fast path (`LloydStep`: both cores, ‖x‖² once per fit, no allocation per
/// iteration) and the fused nearest-centroid kernel, against the one-thread search, Float64
/// distances and an independent NumPy float64 Lloyd reference.
final class KMeansFastPathTests: XCTestCase {
    /// Clustered points: Gaussian blobs around `blobs` random centres (real keys are clustered too).
    private func clustered(_ count: Int, dimension d: Int, blobs: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        let centres = (0 ..< blobs * d).map { _ in 4 * g.nextGaussian() }
        return (0 ..< count).flatMap { i in (0 ..< d).map { centres[(i % blobs) * d + $0] + g.nextGaussian() } }
    }

    /// Reference: `NearestCentroidSearch.assign` (the fused kernel on one thread, ‖x‖² per call: the
    /// encoding A²ATS applies to keys). Labels and distances of the k-means step on one and two
    /// workers must be equal bit for bit, at the calibration's shape and at ragged ones.
    func testParallelAssignmentEqualsThePlainSearchBitForBit() {
        for (count, d, k) in [(65_536, 64, 512), (16_384, 64, 1_024), (10_037, 64, 100), (3_001, 16, 300)] {
            let points = clustered(count, dimension: d, blobs: 3 * k / 2, seed: UInt64(count))
            let centroids = Array(points[0 ..< k * d])
            let search = NearestCentroidSearch(centroids: centroids, count: k, dimension: d)
            var plainLabels = [Int32](repeating: -1, count: count), plainDistances = [Float](repeating: -1, count: count)
            search.assign(points, count: count, labels: &plainLabels, distances: &plainDistances)
            for workers in [1, 2] {
                var labels = [Int32](repeating: -1, count: count), distances = [Float](repeating: -1, count: count)
                let objective = points.withUnsafeBufferPointer { p in
                    let step = LloydStep(points: p.baseAddress!, count: count, dimension: d, k: k, workers: workers)
                    return step.assign(centroids: centroids, labels: &labels, distances: &distances)
                }
                let wrongLabels = (0 ..< count).filter { labels[$0] != plainLabels[$0] }
                let wrongDistances = (0 ..< count).filter { distances[$0].bitPattern != plainDistances[$0].bitPattern }
                XCTAssertEqual(wrongLabels.count, 0, "\(count)×\(d), C=\(k), \(workers) workers: labels differ at \(wrongLabels.prefix(5))")
                XCTAssertEqual(wrongDistances.count, 0, "\(count)×\(d), C=\(k), \(workers) workers: distances differ at "
                               + "\(wrongDistances.prefix(5).map { (distances[$0], plainDistances[$0]) })")
                XCTAssertEqual(objective, plainDistances.reduce(0.0) { $0 + Double($1) } / Double(count))
            }
        }
    }

    /// Reference: a Float64 evaluation of ‖x − c‖² over every centroid. The fused kernel (both
    /// variants) must pick a nearest centroid wherever the two nearest differ by more than float
    /// rounding (1e-5 relative), report ‖c‖² − 2x·c within that rounding, and break exact ties
    /// (duplicated centroids) toward the lower index; shapes off every tile: d = 13, 64, 100;
    /// k = 1, 5, 33, 300; point counts off the 8- and 4-point passes.
    func testFusedNearestCentroidMatchesFloat64() {
        let native = CPUFeatures.hasAVX512
        defer { CPUFeatures.hasAVX512 = native }
        var g = SeededGenerator(seed: 31)
        for (count, d, k) in [(1, 13, 1), (7, 13, 5), (203, 64, 33), (1_001, 100, 300), (517, 64, 300)] {
            let points = (0 ..< count * d).map { _ in g.nextGaussian() }
            var centroids = (0 ..< k * d).map { _ in 0.5 * g.nextGaussian() }
            if k >= 5 { for t in 0 ..< d { centroids[4 * d + t] = centroids[2 * d + t] } }   // centroid 4 duplicates 2
            for wide in native ? [true, false] : [false] {
                CPUFeatures.hasAVX512 = wide
                var labels = [Int32](repeating: -1, count: count), distances = [Float](repeating: -1, count: count)
                NearestCentroidSearch(centroids: centroids, count: k, dimension: d)
                    .assign(points, count: count, labels: &labels, distances: &distances)
                for i in 0 ..< count {
                    let exact = (0 ..< k).map { c in
                        (0 ..< d).reduce(0.0) { $0 + pow(Double(points[i * d + $1]) - Double(centroids[c * d + $1]), 2) }
                    }
                    let order = exact.indices.filter { k < 5 || $0 != 4 }.sorted { exact[$0] < exact[$1] }
                    let label = Int(labels[i]), where_ = "\(count)×\(d), C=\(k), avx512=\(wide), point \(i)"
                    XCTAssertNotEqual(label, 4, "a duplicated centroid goes to the lower index: \(where_)")
                    if order.count == 1 || exact[order[1]] - exact[order[0]] > 1e-5 * exact[order[0]] + 1e-6 {
                        XCTAssertEqual(label, order[0], where_)
                    }
                    XCTAssertEqual(Double(distances[i]), exact[label], accuracy: 1e-5 * (exact[label] + 1), where_)
                }
            }
        }
    }

    /// Reference: the same fit on one worker. The update step splits dimensions between workers
    /// and the assignment splits batches, so codebooks must not depend on the core count.
    func testLloydGivesTheSameCodebookOnOneAndTwoWorkers() {
        let count = 20_000, d = 64, k = 256
        let points = clustered(count, dimension: d, blobs: 300, seed: 5)
        var initial = Array(points[0 ..< k * d])
        for t in 0 ..< d { initial[7 * d + t] = 1_000 }   // an empty cluster on the first update
        let options = KMeansOptions(centroids: k, maxIterations: 12, tolerance: 0)
        let results = [1, 2].map { workers in
            points.withUnsafeBufferPointer {
                KMeans.lloyd($0.baseAddress!, count: count, dimension: d, initial: initial, options: options, workers: workers)
            }
        }
        XCTAssertEqual(results[0].iterations, 12)
        XCTAssertEqual(results[1].iterations, results[0].iterations)
        XCTAssertEqual(results[1].objective.bitPattern, results[0].objective.bitPattern)
        XCTAssertEqual(results[1].centroids.map(\.bitPattern), results[0].centroids.map(\.bitPattern))
        XCTAssertNotEqual(Array(results[0].centroids[7 * d ..< 8 * d]), Array(initial[7 * d ..< 8 * d]), "emptied cluster moved")
    }

    /// Reference: scripts/reference/kmeans_reference.py (NumPy float64 Lloyd from the same initial
    /// centroids, one of which empties), Tests/Fixtures/kmeans-reference.json. Iteration count,
    /// convergence and final labels exactly; centroids within 1e-4 (float32 sums of ≤ 125 points
    /// of magnitude ≤ 100 against float64); objective within 1e-5 relative.
    func testLloydMatchesTheNumPyReference() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/kmeans-reference.json")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let d = try XCTUnwrap(json["dimension"] as? Int), k = try XCTUnwrap(json["centroids"] as? Int)
        let points = try XCTUnwrap(json["points"] as? [Double]).map(Float.init)
        let initial = try XCTUnwrap(json["initial"] as? [Double]).map(Float.init)
        let expected = try XCTUnwrap(json["final_centroids"] as? [Double])
        let count = points.count / d
        let options = KMeansOptions(centroids: k, maxIterations: try XCTUnwrap(json["max_iterations"] as? Int),
                                    tolerance: try XCTUnwrap(json["tolerance"] as? Double))
        for workers in [1, 2] {
            let result = points.withUnsafeBufferPointer {
                KMeans.lloyd($0.baseAddress!, count: count, dimension: d, initial: initial, options: options,
                             workers: workers)
            }
            XCTAssertEqual(result.iterations, json["iterations"] as? Int)
            XCTAssertEqual(result.converged, json["converged"] as? Bool)
            XCTAssertEqual(result.objective, try XCTUnwrap(json["objective"] as? Double),
                           accuracy: 1e-5 * (json["objective"] as! Double))
            for (index, (ours, reference)) in zip(result.centroids, expected).enumerated() {
                XCTAssertEqual(Double(ours), reference, accuracy: 1e-4, "centroid \(index / d) dimension \(index % d)")
            }
            var labels = [Int32](repeating: -1, count: count)
            NearestCentroidSearch(centroids: result.centroids, count: k, dimension: d).assign(points, count: count, labels: &labels)
            XCTAssertEqual(labels.map(Int.init), try XCTUnwrap(json["labels"] as? [Int]))
        }
    }
}
