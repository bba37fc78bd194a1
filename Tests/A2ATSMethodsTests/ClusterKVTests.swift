import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// ClusterKV against its rule worked out here. Two clusterings are known without running k-means
/// in the test: one token per cluster (each key is its own centroid, so the method must read the
/// exact top-B by q·k) and one cluster for all (so it must read the B lowest tokens after the
/// sinks: the last cluster is truncated to its lowest indices). For a real clustering the test
/// checks the cosine assignment against the stored centroids and recomputes the selection by brute
/// force from them: clusters by descending q·c (ties → lower cluster), whole until B, the last
/// one truncated, the union over the group, plus sinks and the block of decoded tokens.
final class ClusterKVTests: XCTestCase {
    private func select(_ method: ClusterKV, _ cache: KVCache, layer: Int = 0, q: [Float]) -> TokenSelection {
        q.withUnsafeBufferPointer {
            method.select(DecodeQuery(layer: layer, position: cache.length - 1, queries: $0.baseAddress!,
                                      preRoPEQueries: $0.baseAddress!), cache: cache)
        }
    }

    private func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    private func make(_ model: ModelConfig, budget: Int, sinks: Int, tokensPerCluster: Int, window: Int = 320,
                      windowClusters: Int = 8) -> ClusterKV {
        ClusterKV(model: model, budget: budget, sinks: sinks, tokensPerCluster: tokensPerCluster, iterations: 20,
                  window: window, windowClusters: windowClusters, denseLayers: 0)
    }

    func testOneTokenPerClusterIsTheExactTopK() throws {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 4)
        var rng = SeededGenerator(seed: 5)
        let n = 40, sinks = 3
        let keys = (0..<n).map { _ in rng.vector(4) }
        let cache = makeCache(model, tokens: n, capacity: 48) { _, _, t in keys[t] }
        let method = make(model, budget: 5, sinks: sinks, tokensPerCluster: 1)
        try prefill(method, cache, makeStatistics(model, promptLength: n))
        appendTokens(cache, count: 1) { _, _, _ in rng.vector(4) }
        let q = rng.vector(8)
        var expected = Set(0..<sinks).union([n])   // sinks and the one decoded token
        for head in 0..<2 {
            let scores = (sinks..<n).map { dot(q[(head * 4)..<(head * 4 + 4)], keys[$0][...]) }
            expected.formUnion(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(5).map { $0 + sinks })
        }
        XCTAssertEqual(ints(select(method, cache, q: q).perKVHead[0]), expected.sorted())
    }

    func testOneClusterIsTruncatedToItsLowestTokens() throws {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 4)
        var rng = SeededGenerator(seed: 6)
        let cache = makeCache(model, tokens: 30, capacity: 40) { _, _, _ in rng.vector(4) }
        let method = make(model, budget: 4, sinks: 2, tokensPerCluster: 100)
        try prefill(method, cache, makeStatistics(model, promptLength: 30))
        appendTokens(cache, count: 2) { _, _, _ in rng.vector(4) }
        XCTAssertEqual(ints(select(method, cache, q: rng.vector(8)).perKVHead[0]), [0, 1, 2, 3, 4, 5, 30, 31])
    }

    func testSelectionFollowsTheStoredClusters() throws {
        let model = makeModel(layers: 2, heads: 6, kvHeads: 2, headDim: 8)
        var rng = SeededGenerator(seed: 8)
        let n = 200, sinks = 16, window = 4
        let cache = makeCache(model, tokens: n, capacity: 220) { _, _, _ in rng.vector(8) }
        let method = make(model, budget: 30, sinks: sinks, tokensPerCluster: 12, window: window, windowClusters: 2)
        try prefill(method, cache, makeStatistics(model, promptLength: n))
        for decoded in 1...9 {
            appendTokens(cache, count: 1) { _, _, _ in rng.vector(8) }
            let recent = decoded % window == 0 ? window : decoded % window
            for layer in 0..<2 {
                let q = rng.vector(6 * 8)
                let selection = select(method, cache, layer: layer, q: q)
                for kvHead in 0..<2 {
                    let index = method.indexes[layer][kvHead]
                    // Prompt tokens after the sinks plus each complete block of decoded tokens.
                    XCTAssertEqual(index.members.count, n - sinks + decoded / window * window)
                    XCTAssertEqual(index.clusterCount, 16 + decoded / window * 2)   // ⌈184 / 12⌉ + 2 per block
                    checkAssignment(index, cache: cache, layer: layer, kvHead: kvHead)
                    var expected = Set(0..<sinks).union((cache.length - recent)..<cache.length)
                    for head in (kvHead * 3)..<((kvHead + 1) * 3) {
                        let scores = (0..<index.clusterCount).map {
                            dot(q[(head * 8)..<(head * 8 + 8)], index.centroids[($0 * 8)..<($0 * 8 + 8)])
                        }
                        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                        let taken = order.flatMap { c in index.members[Int(index.offsets[c])..<Int(index.offsets[c + 1])] }
                        expected.formUnion(taken.prefix(30).map(Int.init))
                    }
                    XCTAssertEqual(ints(selection.perKVHead[kvHead]), expected.sorted(), "layer \(layer) step \(decoded)")
                }
            }
        }
    }

    func testDenseLayersAndCoveringBudgetReadEverything() throws {
        let model = makeModel(layers: 3, heads: 2, kvHeads: 1, headDim: 4)
        var rng = SeededGenerator(seed: 2)
        let cache = makeCache(model, tokens: 60) { _, _, _ in rng.vector(4) }
        let method = ClusterKV(model: model, budget: 10, sinks: 16, tokensPerCluster: 8, iterations: 5, window: 320,
                               windowClusters: 8, denseLayers: 2)
        // B = 44 covers the 44 clustered tokens (60 − 16 sinks).
        let covering = ClusterKV(model: model, budget: 44, sinks: 16, tokensPerCluster: 8, iterations: 5, window: 320,
                                 windowClusters: 8, denseLayers: 0)
        try prefill(method, cache, makeStatistics(model, promptLength: 60))
        try prefill(covering, cache, makeStatistics(model, promptLength: 60))
        appendTokens(cache, count: 1) { _, _, _ in rng.vector(4) }
        let q = rng.vector(8)
        XCTAssertNil(select(method, cache, layer: 1, q: q).perKVHead[0])
        XCTAssertNotNil(select(method, cache, layer: 2, q: q).perKVHead[0])
        // One selecting layer: 6 centroids × 4 f32, 44 member indices and 7 offsets as Int32.
        XCTAssertEqual(method.sideBytes(cache: cache), 6 * 4 * 4 + (44 + 7) * 4)
        XCTAssertNil(select(covering, cache, layer: 2, q: q).perKVHead[0])
    }

    /// Every member sits in the cluster of highest cosine similarity to its key (ties → lower cluster),
    /// among the clusters built from the same block of tokens.
    private func checkAssignment(_ index: ClusterKV.Index, cache: KVCache, layer: Int, kvHead: Int) {
        let d = cache.headDim, keys = cache.keys(layer: layer, kvHead: kvHead)
        func cosine(_ token: Int, _ c: Int) -> Float {
            let k = (0..<d).map { keys[token * d + $0] }, centroid = Array(index.centroids[(c * d)..<(c * d + d)])
            let kn = k.reduce(0) { $0 + $1 * $1 }.squareRoot(), cn = centroid.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return dot(k[...], centroid[...]) / ((kn + 1e-8) * (cn + 1e-8))
        }
        let blocks = [0..<16] + stride(from: 16, to: index.clusterCount, by: 2).map { $0..<($0 + 2) }
        for block in blocks {
            for c in block {
                for i in Int(index.offsets[c])..<Int(index.offsets[c + 1]) {
                    let token = Int(index.members[i])
                    let best = block.max { cosine(token, $0) < cosine(token, $1) || (cosine(token, $0) == cosine(token, $1) && $0 > $1) }!
                    XCTAssertTrue(best == c || abs(cosine(token, best) - cosine(token, c)) < 1e-5, "token \(token)")
                }
            }
        }
    }
}
