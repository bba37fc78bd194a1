import Foundation
import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// MagicPIG (arXiv 2410.16179) against its rules worked out here by hand: the keys between the sinks
/// and the window are centered and hashed with the seeded hyperplanes (K sign bits per table), a token
/// is sampled for a query head when ≥ 2 of the L table codes equal the query's, and the attention
/// estimate is one softmax over the exact tokens (logit q·k/√d) and the head's own samples (logit
/// q·k/√d − log(w + 1e−4), w = 1 − (1−p)^L − L·p·(1−p)^(L−1), p = (1 − θ/π)^K with θ the angle
/// between q and the centered key), computed here without the store.
final class MagicPIGTests: XCTestCase {
    let model = makeModel(layers: 1, heads: 2, kvHeads: 1, headDim: 4)

    /// θ = π/4 gives u = 3/4; with K = 2, L = 4: p = 9/16 and w = 1 − (7/16)^4 − 4·(9/16)·(7/16)^3.
    func testImportanceWeightOfOneToken() {
        let p = 9.0 / 16, q = 7.0 / 16
        let w = 1 - pow(q, 4) - 4 * p * pow(q, 3)
        XCTAssertEqual(w, 0.774948, accuracy: 1e-6)
        // q = (2, 0, …), centered key (1, 1, …) − a mean with q·mean = 0.5: raw = q·k = 2·(1 + 0.25) = 2.5.
        let logit = MagicPIGStore.correctedLogit(dot: 2.5, queryDotMean: 0.5, queryNorm: 2, keyNorm: Float(2).squareRoot(),
                                                 bits: 2, tables: 4, scale: 0.5)
        XCTAssertEqual(Double(logit), 2.5 * 0.5 - log(w + 1e-4), accuracy: 1e-5)
    }

    func testSamplesAndEstimateFollowThePaper() throws {
        let n = 40, sinks = 2, window = 6, bits = 2, tables = 5, d = model.headDim
        var sampledSomewhere = false, skippedSomewhere = false
        for seed: UInt64 in 1...4 {
            var rng = SeededGenerator(seed: seed)
            let cache = makeCache(model, tokens: n, capacity: n + 1) { _, _, _ in rng.vector(d) }
            let method = try MagicPIG(model: model, bits: bits, tables: tables, sinks: sinks, window: window, denseLayers: [])
            try method.didPrefill(layer: 0, cache: cache, statistics: makeStatistics(model, promptLength: n))
            try method.store.didPrefill(layer: 0, cache: cache, statistics: makeStatistics(model, promptLength: n), resident: [nil])
            appendTokens(cache, count: 1) { _, _, _ in rng.vector(d) }
            let q = rng.vector(model.headCount * d).map { $0 * 2 }

            // Hashing by hand: the same seeded hyperplanes, d rows × K·L columns, bit j of table l in column l·K + j.
            var planes = SeededGenerator(seed: MagicPIG.seed)
            let w = (0..<(d * bits * tables)).map { _ in planes.nextGaussian() }
            func codes(_ x: [Float]) -> [Int] {
                (0..<tables).map { l in (0..<bits).reduce(0) { code, j in
                    (0..<d).map { x[$0] * w[$0 * bits * tables + l * bits + j] }.reduce(0, +) > 0 ? code | (1 << j) : code
                } }
            }
            let keys = cache.keys(layer: 0, kvHead: 0), values = cache.values(layer: 0, kvHead: 0)
            func key(_ t: Int) -> [Float] { (0..<d).map { keys[t * d + $0] } }
            let hashed = Array(sinks..<(n - window))
            let mean = (0..<d).map { c in hashed.map { key($0)[c] }.reduce(0, +) / Float(hashed.count) }
            let centered = Dictionary(uniqueKeysWithValues: hashed.map { t in (t, zip(key(t), mean).map(-)) })
            let exact = Array(0..<sinks) + Array((n - window)...n)
            var samples: [[Int]] = []
            for h in 0..<model.headCount {
                let qh = Array(q[(h * d)..<((h + 1) * d)]), qc = codes(qh)
                samples.append(hashed.filter { t in zip(codes(centered[t]!), qc).filter { $0 == $1 }.count >= 2 })
            }
            let union = Set(samples.joined())
            sampledSomewhere = sampledSomewhere || !union.isEmpty
            skippedSomewhere = skippedSomewhere || union.count < hashed.count

            let selection = q.withUnsafeBufferPointer { qp in
                method.select(DecodeQuery(layer: 0, position: n, queries: qp.baseAddress!, preRoPEQueries: qp.baseAddress!), cache: cache)
            }
            let rows = try XCTUnwrap(selection.perKVHead[0])
            XCTAssertEqual(rows.map(Int.init), (exact + union).sorted(), "seed \(seed)")

            var output = [Float](repeating: 0, count: model.headCount * d), weights = [Float](repeating: 0, count: 2 * cache.capacity)
            q.withUnsafeBufferPointer { qp in rows.withUnsafeBufferPointer { r in
                method.store.attend(layer: 0, kvHead: 0, queries: qp.baseAddress!, groupSize: 2, cache: cache, rows: r.baseAddress!,
                                    count: rows.count, weights: &weights, stride: cache.capacity, output: &output)
            } }
            for h in 0..<model.headCount {
                let qh = (0..<d).map { Double(q[h * d + $0]) }
                let read = exact + samples[h]
                func dot(_ a: [Double], _ b: [Float]) -> Double {
                    var total = 0.0
                    for (x, y) in zip(a, b) { total += x * Double(y) }
                    return total
                }
                let queryNorm = dot(qh, qh.map(Float.init)).squareRoot()
                let logits = read.map { t -> Double in
                    let raw = dot(qh, key(t))
                    guard let c = centered[t] else { return raw / 2 }
                    let keyNorm = dot(c.map(Double.init), c).squareRoot()
                    let cosine = dot(qh, c) / (queryNorm * keyNorm)
                    let p = pow(1 - acos(cosine) / Double.pi, Double(bits))
                    let weight = 1 - pow(1 - p, Double(tables)) - Double(tables) * p * pow(1 - p, Double(tables - 1))
                    return raw / 2 - log(weight + 1e-4)
                }
                let top = logits.max()!, e = logits.map { exp($0 - top) }, sum = e.reduce(0, +)
                for c in 0..<d {
                    var expected = 0.0
                    for (weight, t) in zip(e, read) { expected += weight / sum * Double(values[t * d + c]) }
                    XCTAssertEqual(Double(output[h * d + c]), expected, accuracy: 1e-4 * max(1, abs(expected)), "seed \(seed) head \(h)")
                }
                // A token only the other head sampled gets no weight.
                for (i, t) in rows.enumerated() where !read.contains(Int(t)) { XCTAssertEqual(weights[h * cache.capacity + i], 0) }
            }
        }
        XCTAssertTrue(sampledSomewhere && skippedSomewhere, "the cases must sample some tokens and skip others")
    }

    func testDenseLayersReadEverythingAndBytesAreCounted() throws {
        var rng = SeededGenerator(seed: 3)
        let model = makeModel(layers: 2, heads: 2, kvHeads: 1, headDim: 4), n = 30, d = 4
        let cache = makeCache(model, tokens: n, capacity: n + 1) { _, _, _ in rng.vector(d) }
        let method = try MagicPIG(model: model, bits: 3, tables: 6, sinks: 4, window: 8, denseLayers: [0])
        for layer in 0..<2 {
            try method.store.didPrefill(layer: layer, cache: cache, statistics: makeStatistics(model, promptLength: n), resident: [nil])
        }
        appendTokens(cache, count: 1) { _, _, _ in rng.vector(d) }
        let q = rng.vector(2 * d)
        let selections = q.withUnsafeBufferPointer { qp in
            (0..<2).map { method.select(DecodeQuery(layer: $0, position: n, queries: qp.baseAddress!, preRoPEQueries: qp.baseAddress!),
                                        cache: cache) }
        }
        XCTAssertNil(selections[0].perKVHead[0])
        XCTAssertNotNil(selections[1].perKVHead[0])
        XCTAssertEqual(method.store.kvBytes(cache: cache) { _, _ in nil }, 2 * (n + 1) * 2 * d * 4)
        // Hyperplanes d × K·L; one sparse head: offsets L × (2^K + 1) and members L × 18 (Int32), mean and 18 norms (f32).
        let hashed = n - 4 - 8
        XCTAssertEqual(method.store.sideBytes, d * 3 * 6 * 4 + (6 * 9 + 6 * hashed) * 4 + (d + hashed) * 4)
    }
}
