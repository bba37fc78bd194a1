import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// PQCache against its rule worked out here. Keys are built so that product quantization is
/// predictable without running k-means in the test: when each sub-space holds exactly 2^bits
/// distinct sub-vectors, the codebook is those sub-vectors and the approximate score is the exact
/// q·k, so the expected selection is a brute-force top-B of q·k over the candidates (between the
/// sinks and the window), per query head, united over the group, plus sinks and window. With
/// noisy clusters every member of a cluster shares one code, hence one score: the expected order
/// is by the cluster's centre score, ties to the lower token index — not by the exact q·k.
final class PQCacheTests: XCTestCase {
    private func select(_ method: PQCache, _ cache: KVCache, q: [Float]) -> TokenSelection {
        q.withUnsafeBufferPointer {
            method.select(DecodeQuery(layer: 0, position: cache.length - 1, queries: $0.baseAddress!,
                                      preRoPEQueries: $0.baseAddress!), cache: cache)
        }
    }

    private func dot(_ a: ArraySlice<Float>, _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testExactCodebookRanksByTrueScores() throws {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 4)
        let firstHalves: [[Float]] = [[1, 0], [-1, 2]], secondHalves: [[Float]] = [[0, 1], [3, -1]]
        var rng = SeededGenerator(seed: 9)
        let n = 24, sinks = 2
        let keys: [[Float]] = (0..<(n + 3)).map { t in
            t < sinks ? rng.vector(4) : firstHalves[Int(rng.next() % 2)] + secondHalves[Int(rng.next() % 2)]
        }
        let cache = makeCache(model, tokens: n, capacity: n + 3) { _, _, t in keys[t] }
        // B = 3 and r = 0.5: window w = 3 (the new token included).
        let method = PQCache(model: model, budget: 3, subvectors: 2, bits: 1, sinks: sinks, recentRatio: 0.5, iterations: 20)
        XCTAssertEqual(method.window, 3)
        try prefill(method, cache, makeStatistics(model, promptLength: n))
        for step in 0...3 {
            if step > 0 { appendTokens(cache, count: 1) { _, _, t in keys[t] } }   // decoded tokens reuse the codebooks
            let length = cache.length
            let q = rng.vector(8)
            var expected = Set(0..<sinks).union((length - 3)..<length)
            for head in 0..<2 {
                let candidates = Array(sinks..<(length - 3))
                let scores = candidates.map { dot(q[(head * 4)..<(head * 4 + 4)], keys[$0]) }
                let order = candidates.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                expected.formUnion(order.prefix(3).map { candidates[$0] })
            }
            XCTAssertEqual(ints(select(method, cache, q: q).perKVHead[0]), expected.sorted(), "n=\(length)")
        }
        // Codes (one byte per sub-vector) of the tokens after the sinks + two codebooks of 2 × 2 floats.
        XCTAssertEqual(method.sideBytes(cache: cache), (cache.length - sinks) * 2 + 2 * 2 * 2 * 4)
    }

    func testNoisyClustersShareOneScore() throws {
        let model = makeModel(heads: 1, kvHeads: 1, headDim: 4)
        let centres: [[Float]] = [[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0], [0, 0, 0, 4]]
        var rng = SeededGenerator(seed: 4)
        let n = 60
        var cluster: [Int] = []
        let keys: [[Float]] = (0..<n).map { _ in
            let c = Int(rng.next() % 4)
            cluster.append(c)
            return zip(centres[c], rng.vector(4)).map { $0 + 0.05 * $1 }
        }
        let cache = makeCache(model, tokens: n) { _, _, t in keys[t] }
        let method = PQCache(model: model, budget: 10, subvectors: 1, bits: 2, sinks: 0, recentRatio: 0, iterations: 50)
        try prefill(method, cache, makeStatistics(model, promptLength: n))
        let q: [Float] = [1, 3, -2, 0.5]   // centre scores 4, 12, −8, 2: cluster 1 first, then 0
        let members = { (c: Int) in (0..<(n - 1)).filter { cluster[$0] == c } }
        let ranked = members(1) + members(0)
        let expected = Set(ranked.prefix(10)).union([n - 1])
        XCTAssertEqual(ints(select(method, cache, q: q).perKVHead[0]), expected.sorted())
    }

    func testCoveringBudgetOrShortPromptReadsEverything() throws {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 4)
        var rng = SeededGenerator(seed: 1)
        let cache = makeCache(model, tokens: 100) { _, _, _ in rng.vector(4) }
        let q = rng.vector(8)
        for budget in [100, 40] {   // 40: the 32 sinks + a 40-token window leave 28 candidates
            let method = PQCache(model: model, budget: budget, subvectors: 2, bits: 2, sinks: 32, recentRatio: 0.5, iterations: 10)
            try prefill(method, cache, makeStatistics(model, promptLength: 100))
            XCTAssertNil(select(method, cache, q: q).perKVHead[0], "B=\(budget)")
        }
        let short = makeCache(model, tokens: 40) { _, _, _ in rng.vector(4) }
        let method = PQCache(model: model, budget: 1, subvectors: 2, bits: 6, sinks: 0, recentRatio: 0.5, iterations: 10)
        try prefill(method, short, makeStatistics(model, promptLength: 40))   // 40 keys < 64 centroids: no codebook
        XCTAssertNil(select(method, short, q: q).perKVHead[0])
        XCTAssertEqual(method.sideBytes(cache: short), 0)
    }

    func testSubvectorsMustDivideTheHeadDim() {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 4)
        XCTAssertThrowsError(try MethodRegistry.make(MethodSpec.parse("pqcache:subvectors=8"), budgetTokens: 8, model: model)) {
            XCTAssertTrue("\($0)".contains("divisor of the head dim 4"), "\($0)")
        }
    }
}
