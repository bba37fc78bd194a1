import A2ATSModel
import A2ATSTensor
@testable import A2ATSMethods
import XCTest

/// ActQKV (arXiv 2502.13542) on hand-built cases: activation-bias weights, the probe and its cosine
/// ranking, the normalized entropy and the layer budgets are worked out here from the paper's
/// formulas (see `ActQKV.swift`) and compared with the method; a random case checks the budget
/// bound (mean over layers within G·B + sinks + window) and that a covering budget reads everything.
final class ActQKVTests: XCTestCase {
    private func method(_ model: ModelConfig, budget: Int, sinks: Int = 0, window: Int = 0, probeWindow: Int,
                        similarity: ActQKV.Similarity = .cosine) -> ActQKV {
        ActQKV(model: model, budget: budget, sinks: sinks, window: window, probeWindow: probeWindow, similarity: similarity,
               dynamic: true, history: 100)
    }

    private func select(_ method: ActQKV, _ cache: KVCache, queries: [Float], layer: Int = 0) -> TokenSelection {
        queries.withUnsafeBufferPointer { q in
            method.select(DecodeQuery(layer: layer, position: cache.length - 1, queries: q.baseAddress!,
                                      preRoPEQueries: q.baseAddress!), cache: cache)
        }
    }

    /// Window rows (3, 0), (0, 0), (0, 0): μ = (1, 0), σ² = (2, 0), mean σ² = 1, so the biases are
    /// (4/2.01)/2 and twice (1/2.01)/2 (channel 1 adds 0): weights 4/6, 1/6, 1/6, probe (2, 0).
    /// Keys (10, 10), (1, 0), (0, 5), (−1, 0) and the new token's (0, 1): by cosine the best is token 1
    /// (cos 1 against 0.707); by dot product token 0 (20 against 2).
    func testActivatedQueryDominatesTheProbeAndCosineRanks() throws {
        var weights = [Float](repeating: 0, count: 3), mean = [Float](repeating: 0, count: 2), variance = mean
        let rows: [Float] = [3, 0, 0, 0, 0, 0]
        ActQKV.activationWeights(rows: rows, count: 3, channels: 2, mean: &mean, variance: &variance, into: &weights)
        for (got, expected) in zip(weights, [Float(4) / 6, Float(1) / 6, Float(1) / 6]) { XCTAssertEqual(got, expected, accuracy: 1e-6) }

        let model = makeModel(headDim: 2)
        let keys: [[Float]] = [[10, 10], [1, 0], [0, 5], [-1, 0], [0, 1]]
        for (similarity, expected) in [(ActQKV.Similarity.cosine, [1]), (.dot, [0])] {
            let cache = makeCache(model, tokens: 4) { _, _, j in keys[j] }
            let statistics = makeStatistics(model, promptLength: 4, observedQueries: 3)
            // Rows are tokens 1, 2, 3; the decode query replaces the oldest (token 1's).
            statistics.withObservedQueries(layer: 0) { $0.update(from: [9, 9, 0, 0, 0, 0], count: 6) }
            let actqkv = method(model, budget: 1, probeWindow: 3, similarity: similarity)
            try prefill(actqkv, cache, statistics)
            appendTokens(cache, count: 1) { _, _, j in keys[j] }
            XCTAssertEqual(ints(select(actqkv, cache, queries: [3, 0]).perKVHead[0]), expected, "\(similarity)")
        }
    }

    /// GQA: two query heads of one KV head, probe window 1 (the probe is the query itself): head 0
    /// (1, 0.1) picks token 1 (1, 0), head 1 (0.1, 1) picks token 2 (0, 1) among candidates 1…3; the
    /// KV head reads their union with the sink (token 0) and the 1-token window (token 4).
    func testGroupReadsTheUnionOfItsHeadsPicks() throws {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 2)
        let keys: [[Float]] = [[1, 1], [1, 0], [0, 1], [-1, -1], [5, 5]]
        let cache = makeCache(model, tokens: 4) { _, _, j in keys[j] }
        let actqkv = method(model, budget: 1, sinks: 1, window: 1, probeWindow: 1)
        try prefill(actqkv, cache, makeStatistics(model, promptLength: 4, observedQueries: 1))
        appendTokens(cache, count: 1) { _, _, j in keys[j] }
        XCTAssertEqual(ints(select(actqkv, cache, queries: [1, 0.1, 0.1, 1]).perKVHead[0]), [0, 1, 2, 4])
    }

    /// Dynamic cut-off end to end (dot scores, probe = query (1, 0)): layer 0 scores one key 100 and
    /// the rest 0 (normalized entropy ≈ 0), layer 1 scores all keys 0 (entropy 1). The first step
    /// reads B = 2 in both; the second gives layer 0 max(⌈2/2⌉, 4 · 0/1) = 1 and layer 1 the other 3
    /// (equal scores: the lowest indices).
    func testCutoffMovesBudgetToTheDenserLayer() throws {
        let model = makeModel(layers: 2, headDim: 2)
        let key: (Int, Int, Int) -> [Float] = { layer, _, j in layer == 0 && j == 1 ? [100, 0] : [0, 0] }
        let cache = makeCache(model, tokens: 6, key: key)
        let actqkv = method(model, budget: 2, probeWindow: 1, similarity: .dot)
        try prefill(actqkv, cache, makeStatistics(model, promptLength: 6, observedQueries: 1))
        var reads: [[Int]?] = []
        for _ in 0..<2 {
            appendTokens(cache, count: 1, key: key)
            reads = (0..<2).map { ints(select(actqkv, cache, queries: [1, 0], layer: $0).perKVHead[0]) }
        }
        XCTAssertEqual(actqkv.layerBudgets, [1, 3])
        XCTAssertEqual(reads[0], [1])
        XCTAssertEqual(reads[1], [0, 1, 2])
    }

    /// softmax(ln 3, 0) = (3/4, 1/4): H = −(¾ ln ¾ + ¼ ln ¼) = 0.5623, over ln 2 = 0.8113; equal scores give 1.
    func testNormalizedEntropy() {
        XCTAssertEqual(ActQKV.normalizedEntropy([logf(3), 0], count: 2), 0.811_278, accuracy: 1e-5)
        XCTAssertEqual(ActQKV.normalizedEntropy([Float](repeating: 0.3, count: 11), count: 11), 1, accuracy: 1e-5)
    }

    /// L·B handed out in layer order by mean entropy over the layers still to serve, each within
    /// [⌈B/2⌉, 2B] and leaving the later layers feasible.
    func testLayerBudgetsFollowEntropyAndSumToTheTotal() {
        // 4 · 0.9/1.2 = 3 for layer 0, the remaining 1 for layer 1.
        XCTAssertEqual(ActQKV.layerBudgets(meanEntropies: [0.9, 0.3], budget: 2, layers: 2), [3, 1])
        // 8 · 0.99 ≈ 8, but layer 1 needs at least ⌈4/2⌉ = 2: layer 0 gets 6.
        XCTAssertEqual(ActQKV.layerBudgets(meanEntropies: [0.99, 0.01], budget: 4, layers: 2), [6, 2])
        // 12 · 0.5/2 = 3; then 9 · 1/1.5 = 6; then the remaining 3.
        XCTAssertEqual(ActQKV.layerBudgets(meanEntropies: [0.5, 1.0, 0.5], budget: 4, layers: 3), [3, 6, 3])
        XCTAssertEqual(ActQKV.layerBudgets(meanEntropies: nil, budget: 4, layers: 3), [4, 4, 4])
    }

    /// Random keys and queries over several steps: each step's layer budgets sum to L·B, a layer reads
    /// at most G·2B + sinks + window per KV head, the mean over layers at most G·B + sinks + window,
    /// sinks and window always; a budget covering the cache reads everything.
    func testBudgetBoundAndCoveringBudget() throws {
        let model = makeModel(layers: 3, heads: 4, kvHeads: 2, headDim: 8)
        let (n, sinks, window, budget, steps) = (120, 4, 8, 10, 6)
        let g = model.groupSize, d = model.headDim
        var rng = SeededGenerator(seed: 7)
        let cache = makeCache(model, tokens: n, capacity: n + steps + 1) { _, _, _ in rng.vector(d) }
        let statistics = makeStatistics(model, promptLength: n, observedQueries: 16)
        for layer in 0..<model.layerCount {
            let values = rng.vector(16 * model.headCount * d)
            statistics.withObservedQueries(layer: layer) { $0.update(from: values, count: values.count) }
        }
        let actqkv = method(model, budget: budget, sinks: sinks, window: window, probeWindow: 16)
        let full = method(model, budget: n + steps, sinks: sinks, window: window, probeWindow: 16)
        try prefill(actqkv, cache, statistics)
        try prefill(full, cache, statistics)
        for _ in 0..<steps {
            appendTokens(cache, count: 1) { _, _, _ in rng.vector(d) }
            var total = 0
            for layer in 0..<model.layerCount {
                let q = rng.vector(model.headCount * d)
                let selection = select(actqkv, cache, queries: q, layer: layer)
                XCTAssertEqual(actqkv.layerBudgets.reduce(0, +), model.layerCount * budget)
                XCTAssertTrue(select(full, cache, queries: q, layer: layer).perKVHead.allSatisfy { $0 == nil })
                for kvHead in 0..<model.kvHeadCount {
                    let list = try XCTUnwrap(selection.perKVHead[kvHead]).map(Int.init)
                    XCTAssertEqual(list, list.sorted())
                    XCTAssertEqual(Set(list).count, list.count)
                    XCTAssertTrue(Set(0..<sinks).union((cache.length - window)..<cache.length).isSubset(of: list))
                    XCTAssertLessThanOrEqual(list.count, g * 2 * budget + sinks + window)
                    total += list.count
                }
            }
            XCTAssertLessThanOrEqual(total, model.layerCount * model.kvHeadCount * (g * budget + sinks + window))
        }
    }
}
