import A2ATSTensor
import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// Hand-built cases whose kept tokens are worked out here from each paper's rule (see each
/// method's file for the paper and its reference settings).
final class EvictionRuleTests: XCTestCase {
    private func zeroKeys(_ model: ModelConfig, _ n: Int) -> KVCache { makeCache(model, tokens: n) { _, _, _ in [0, 0, 0, 0] } }

    /// StreamingLLM: 4 sinks + the last B − 4 tokens; the window rolls while decoding.
    func testStreamingLLMKeepsSinksAndRecent() throws {
        let model = makeModel()
        let cache = zeroKeys(model, 10)
        let method = StreamingLLM(model: model, budget: 6, sinks: 4)
        try prefill(method, cache, makeStatistics(model, promptLength: 10))
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let first = step(method, cache, model: model) { _, n in [Float](repeating: 1 / Float(n), count: n) }
        XCTAssertEqual(ints(first.perKVHead[0]), [0, 1, 2, 3, 9, 10])
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let second = step(method, cache, model: model) { _, n in [Float](repeating: 1 / Float(n), count: n) }
        XCTAssertEqual(ints(second.perKVHead[0]), [0, 1, 2, 3, 10, 11])
    }

    /// KNorm: the B keys with the lowest L2 norm; equal norms go to the lower index.
    func testKNormKeepsLowestNormKeys() throws {
        let model = makeModel()
        let norms: [Float] = [5, 1, 3, 2, 4, 0.5, 2]
        let cache = makeCache(model, tokens: norms.count) { _, _, j in [0, norms[j], 0, 0] }
        let method = KNorm(model: model, budget: 3)
        try prefill(method, cache, makeStatistics(model, promptLength: norms.count))
        XCTAssertEqual(ints(method.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), [1, 3, 5])
        let tie = KNorm(model: model, budget: 4)
        try prefill(tie, cache, makeStatistics(model, promptLength: norms.count))
        XCTAssertEqual(ints(tie.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), [1, 3, 5, 6])
    }

    /// SnapKV: sum over the observation window's queries, max-pool (kernel 3 here), mean over the
    /// GQA group, top B − window plus the window.
    func testSnapKVKeepsPooledTopOfObservation() throws {
        let model = makeModel(heads: 2, kvHeads: 1)
        let n = 12
        // Two observation rows per head; head 0 sends 0.6 to token 2 and 0.1 to token 3, head 1 0.5 to
        // token 6; both send much to the window's own token 10 (kept anyway, never scored).
        let observed: (Int, Int, Int) -> [Float] = { _, head, row in
            var a = [Float](repeating: 0, count: n)
            if head == 0 { a[2] = 0.3; a[3] = 0.05 } else { a[6] = 0.25 }
            a[10] = 0.4
            _ = row
            return a
        }
        let statistics = makeStatistics(model, promptLength: n, window: 2, observed: observed)
        let cache = zeroKeys(model, n)
        // Pooled per head: head 0 gives tokens 1–3 0.6 and token 4 0.1; head 1 gives 5–7 0.5.
        // Group mean: 1–3 → 0.3, 4 → 0.05, 5–7 → 0.25.
        let cases: [(budget: Int, kernel: Int, kept: [Int])] = [
            (5, 3, [1, 2, 3, 10, 11]),
            (7, 3, [1, 2, 3, 5, 6, 10, 11]),     // 5–7 tie: the lower indices win
            (5, 1, [2, 3, 6, 10, 11]),           // no pooling: 2 (0.3), 6 (0.25), 3 (0.05)
        ]
        for c in cases {
            let method = SnapKV(model: model, budget: c.budget, window: 2, kernel: c.kernel, pooling: .max)
            try prefill(method, cache, statistics)
            XCTAssertEqual(ints(method.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), c.kept, "\(c)")
        }
        XCTAssertEqual(SnapKV.pool([0, 3, 0, 0, 6], kernel: 3, pooling: .avg), [1, 1, 1, 2, 2])
    }

    /// H2O: half heavy hitters by accumulated attention, half recent; while decoding the lowest
    /// accumulated score outside the recent window is evicted, the step's weights added on.
    func testH2OHeavyPlusRecentAndDecodeEviction() throws {
        let model = makeModel()
        let accumulated: [Float] = [5, 1, 0, 7, 0, 0, 3, 0, 9, 9]
        let statistics = makeStatistics(model, promptLength: 10, accumulated: { _, _ in accumulated })
        let cache = zeroKeys(model, 10)
        let method = H2O(model: model, budget: 4, recentFraction: 0.5)
        try prefill(method, cache, statistics)
        // Window 2 → {8, 9}; heavy 2 among 0..<8 → 3 (7) and 0 (5).
        XCTAssertEqual(ints(method.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), [0, 3, 8, 9])
        // Token 10 arrives: {9, 10} are recent, lowest of 0 (5), 3 (7), 8 (9) goes.
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let first = step(method, cache, model: model) { _, _ in [0.1, 0.0, 0.5, 0.4] }
        XCTAssertEqual(ints(first.perKVHead[0]), [3, 8, 9, 10])
        // Scores now 3: 7.1, 8: 9, 9: 9.5, 10: 0.4; token 11 arrives, {10, 11} recent, 3 goes.
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let second = step(method, cache, model: model) { _, n in [Float](repeating: 1 / Float(n), count: n) }
        XCTAssertEqual(ints(second.perKVHead[0]), [8, 9, 10, 11])
    }

    /// TOVA: the last query's attention averaged over all heads of the layer prunes the prompt;
    /// while decoding the token with the lowest current attention is dropped.
    func testTOVAEvictsLowestAttention() throws {
        let model = makeModel(heads: 2, kvHeads: 2)
        let last: [[Float]] = [[0.3, 0, 0.1, 0, 0.2, 0, 0.1, 0.3], [0.1, 0.2, 0, 0, 0.2, 0.1, 0.1, 0.3]]
        let statistics = makeStatistics(model, promptLength: 8, window: 1, observed: { _, head, _ in last[head] })
        let cache = zeroKeys(model, 8)
        let method = TOVA(model: model, budget: 4, averaging: .layer)
        try prefill(method, cache, statistics)
        // Mean: [.2, .1, .05, 0, .2, .05, .1, .3]; 7 is the newest (kept); then 0, 4 and 1 (ties 1/6 → 1).
        let kept = method.select(dummyQuery(model, cache), cache: cache)
        XCTAssertEqual(ints(kept.perKVHead[0]), [0, 1, 4, 7])
        XCTAssertEqual(ints(kept.perKVHead[1]), [0, 1, 4, 7])
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        // Token 8 arrives: lowest of 0 (.2), 1 (.1), 4 (.2), 7 (.3) is 1.
        let first = step(method, cache, model: model) { head, _ in head == 0 ? [0.5, 0.25, 0, 0.25] : [0.25, 0.5, 0, 0.25] }
        XCTAssertEqual(ints(first.perKVHead[0]), [0, 4, 7, 8])
        // This step's mean over heads: 0 → .375, 4 → .375, 7 → 0, 8 → .25; token 9 arrives, 7 goes.
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let second = step(method, cache, model: model) { _, n in [Float](repeating: 1 / Float(n), count: n) }
        XCTAssertEqual(ints(second.perKVHead[1]), [0, 4, 8, 9])
    }

    /// CORM (arXiv 2404.15949): a key's rank is its largest relative attention a·t over the last r
    /// queries, t = the query's position + 1 (the paper's 1/t uniform level) in prefill and decode
    /// alike. Under a budget exactly B stay: the window (capped at B/2) plus the best-ranked rest;
    /// `adaptive` adds the paper's threshold (rank ≥ α) on top. Worked by hand below.
    func testCORMKeepsExactlyBAndOneNormalizer() throws {
        let model = makeModel()
        let rows: [[Float]] = [[0.3, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1, 0],          // query 6: t = 7
                               [0.2, 0.05, 0.05, 0.1, 0.3, 0.05, 0.1, 0.15]]    // query 7: t = 8
        let statistics = makeStatistics(model, promptLength: 8, window: 2, observed: { _, _, row in rows[row] })
        let cache = zeroKeys(model, 8)
        // Ranks, max over the two queries: [2.1, .7, .7, 1.4, 2.4, .7, .8, 1.2]; window {6, 7}.
        let full = CORM(model: model, budget: 7, recent: 2, threshold: 1, window: 2, adaptive: false)
        try prefill(full, cache, statistics)
        XCTAssertEqual(ints(full.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), [0, 1, 2, 3, 4, 6, 7],
                       "exactly B = 7: 4, 0, 3, then the .7 ties to the lower indices 1 and 2")
        let adaptive = CORM(model: model, budget: 7, recent: 2, threshold: 1, window: 2, adaptive: true)
        try prefill(adaptive, cache, statistics)
        XCTAssertEqual(ints(adaptive.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), [0, 3, 4, 6, 7],
                       "adaptive: keys ranked below α = 1 go although B allows more")
        let capped = CORM(model: model, budget: 4, recent: 2, threshold: 1, window: 8, adaptive: false)
        XCTAssertEqual(capped.window, 2, "the window takes at most half of B")

        let tight = CORM(model: model, budget: 4, recent: 2, threshold: 1, window: 2, adaptive: false)
        try prefill(tight, cache, statistics)
        XCTAssertEqual(ints(tight.select(dummyQuery(model, cache), cache: cache).perKVHead[0]), [0, 4, 6, 7])
        // Token 8 arrives: 6 leaves the window and ranks lowest (.8 < 2.1, 2.4): exactly B = 4 stay.
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let first = step(tight, cache, model: model) { _, _ in [0.05, 0.3, 0.35, 0.3] }
        XCTAssertEqual(ints(first.perKVHead[0]), [0, 4, 7, 8])
        // Query 8 (t = 9) overwrote query 6's slot: 0 → max(.45, 1.6), 4 → max(2.7, 2.4), 7 → max(3.15, 1.2).
        // Token 9 arrives and 0 goes. (With t = tokens read, 4, the old decode normalizer, 7 would go.)
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let second = step(tight, cache, model: model) { _, n in [Float](repeating: 1 / Float(n), count: n) }
        XCTAssertEqual(ints(second.perKVHead[0]), [4, 7, 8, 9])
        XCTAssertEqual(second.count(kvHead: 0, cachedTokens: cache.length), 4, "CORM reads exactly B per KV head")
    }

    /// KNorm's `skip_layers` (the authors' l2compress code): a skipped layer reads its whole cache,
    /// the others their B lowest-norm keys.
    func testKNormSkipsLayers() throws {
        let model = makeModel(layers: 3)
        let norms: [Float] = [5, 1, 3, 2, 4, 0.5, 2]
        let cache = makeCache(model, tokens: norms.count) { _, _, j in [0, norms[j], 0, 0] }
        let method = try MethodRegistry.make(MethodSpec(name: "knorm"), budgetTokens: 3, model: model)
        try prefill(method, cache, makeStatistics(model, promptLength: norms.count))
        XCTAssertNil(method.select(dummyQuery(model, cache, layer: 0), cache: cache).perKVHead[0], "layer 0 is skipped by default")
        XCTAssertEqual(ints(method.select(dummyQuery(model, cache, layer: 1), cache: cache).perKVHead[0]), [1, 3, 5])
        let skipping = try MethodRegistry.make(MethodSpec(name: "knorm", parameters: ["skip_layers": "2/0"]), budgetTokens: 3,
                                               model: model)
        try prefill(skipping, cache, makeStatistics(model, promptLength: norms.count))
        XCTAssertEqual((0..<3).map { skipping.select(dummyQuery(model, cache, layer: $0), cache: cache).perKVHead[0] == nil },
                       [true, false, true])
    }

    /// PyramidKV: budgets fall from the lowest to the highest layer by the reference formula, sum to
    /// L·B, and each layer keeps exactly its budget.
    func testPyramidKVLayerBudgets() throws {
        // B 40, window 8 → C 32; min ⌊32/20⌋ = 1, max 63; exact 63, 42.33, 21.67, 1 (sum 128 = 4·32);
        // floors sum to 127, the missing token goes to the largest remainder (layer 2).
        XCTAssertEqual(PyramidKV.layerBudgets(budget: 40, window: 8, promptLength: 200, layers: 4, beta: 20), [71, 50, 30, 9])
        for (budget, n, layers) in [(64, 1000, 30), (100, 150, 7), (33, 70, 5), (1024, 4000, 30)] {
            let budgets = PyramidKV.layerBudgets(budget: budget, window: 32, promptLength: n, layers: layers, beta: 20)
            XCTAssertEqual(budgets.reduce(0, +), layers * budget, "\(budget) \(n)")
            XCTAssertEqual(budgets, budgets.sorted(by: >))
            XCTAssertTrue(budgets.allSatisfy { $0 <= n })
        }
        // Prompt shorter than 2C: SnapKV's uniform budget.
        XCTAssertEqual(PyramidKV.layerBudgets(budget: 40, window: 8, promptLength: 60, layers: 3, beta: 20), [40, 40, 40])

        let model = makeModel(layers: 4, heads: 2, kvHeads: 1)
        var rng = SeededGenerator(seed: 9)
        let statistics = makeStatistics(model, promptLength: 200, window: 8,
                                        observed: { _, _, _ in (0..<200).map { _ in Float.random(in: 0...1, using: &rng) } })
        let cache = zeroKeys(model, 200)
        let method = PyramidKV(model: model, budget: 40, window: 8, kernel: 7, pooling: .max, beta: 20)
        try prefill(method, cache, statistics)
        let counts = (0..<4).map { layer in
            method.select(dummyQuery(model, cache, layer: layer), cache: cache).count(kvHead: 0, cachedTokens: 200)
        }
        XCTAssertEqual(counts, [71, 50, 30, 9])
    }
}

/// A query that reads nothing from the method's point of view (eviction methods ignore it).
func dummyQuery(_ model: ModelConfig, _ cache: KVCache, layer: Int = 0) -> DecodeQuery {
    DecodeQuery(layer: layer, position: cache.length - 1, queries: zeroQuery, preRoPEQueries: zeroQuery)
}

private let zeroQuery: UnsafePointer<Float> = {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: 1024)
    p.initialize(repeating: 0, count: 1024)
    return UnsafePointer(p)
}()
