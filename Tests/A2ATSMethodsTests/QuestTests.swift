import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// Quest against the paper's page rule worked out here: a hand-computed case (page scores
/// written out below), and a brute force that takes each page's elementwise min/max from the raw
/// keys, scores Σ_c max(q_c·max_c, q_c·min_c), sorts pages (ties → lower page) and takes the top
/// ⌊B/page⌋ per query head, the union over the group and the last page.
final class QuestTests: XCTestCase {
    private func select(_ method: Quest, _ cache: KVCache, layer: Int = 0, q: [Float]) -> TokenSelection {
        q.withUnsafeBufferPointer {
            method.select(DecodeQuery(layer: layer, position: cache.length - 1, queries: $0.baseAddress!,
                                      preRoPEQueries: $0.baseAddress!), cache: cache)
        }
    }

    /// Pages of 2 over 7 tokens: page 0 = {(1,0), (0,1)}: max (1,1), min (0,0); page 1 = {(−2,0), (0,−2)}:
    /// max (0,0), min (−2,−2); page 2 = {(3,−1), (−1,3)}: max (3,3), min (−1,−1); page 3 = {token 6}, last.
    /// Head 0, q = (1,−1): scores 1+0 = 1, 0+2 = 2, 3+1 = 4. Head 1, q = (−1,0): 0, 2, 1.
    func testHandWorkedPageScores() throws {
        let model = makeModel(heads: 2, kvHeads: 1, headDim: 2)
        let keys: [[Float]] = [[1, 0], [0, 1], [-2, 0], [0, -2], [3, -1], [-1, 3], [0, 0]]
        let cache = makeCache(model, tokens: 7) { _, _, t in keys[t] }
        let statistics = makeStatistics(model, promptLength: 7)
        // B = 2 buys one page per head: head 0 takes page 2, head 1 page 1; plus the last page.
        let quest = Quest(model: model, budget: 2, pageSize: 2, denseLayers: 0)
        try prefill(quest, cache, statistics)
        XCTAssertEqual(ints(select(quest, cache, q: [1, -1, -1, 0]).perKVHead[0]), [2, 3, 4, 5, 6])
        // One head alone (the other query matches nothing better): only page 2 and the last.
        XCTAssertEqual(ints(select(quest, cache, q: [1, -1, 1, -1]).perKVHead[0]), [4, 5, 6])
        // B = 4: two pages each; head 0 → pages 2, 1.
        let wider = Quest(model: model, budget: 4, pageSize: 2, denseLayers: 0)
        try prefill(wider, cache, statistics)
        XCTAssertEqual(ints(select(wider, cache, q: [1, -1, 1, -1]).perKVHead[0]), [2, 3, 4, 5, 6])
        // B = 6 affords all three earlier pages: everything, as full attention.
        let all = Quest(model: model, budget: 6, pageSize: 2, denseLayers: 0)
        try prefill(all, cache, statistics)
        XCTAssertNil(select(all, cache, q: [1, -1, 1, -1]).perKVHead[0])
    }

    func testMatchesBruteForcePagesWhileDecoding() throws {
        let model = makeModel(layers: 2, heads: 6, kvHeads: 2, headDim: 8)
        var rng = SeededGenerator(seed: 7)
        let n = 70, page = 8
        let cache = makeCache(model, tokens: n, capacity: 100) { _, _, _ in rng.vector(8) }
        let statistics = makeStatistics(model, promptLength: n)
        for budget in [1, 8, 20, 40] {
            let quest = Quest(model: model, budget: budget, pageSize: page, denseLayers: 0)
            try prefill(quest, cache, statistics)
            for _ in 0..<12 {   // decoding opens new pages and grows the last one
                appendTokens(cache, count: 1) { _, _, _ in rng.vector(8) }
                for layer in 0..<2 {
                    let q = rng.vector(6 * 8)
                    let selection = select(quest, cache, layer: layer, q: q)
                    for kvHead in 0..<2 {
                        XCTAssertEqual(ints(selection.perKVHead[kvHead]),
                                       bruteForce(cache, layer: layer, kvHead: kvHead, q: q, budget: budget, page: page),
                                       "B=\(budget) n=\(cache.length)")
                    }
                }
            }
            cache.truncate(to: n)
        }
    }

    func testDenseLayersAndCoveringBudgetReadEverything() throws {
        let model = makeModel(layers: 3, heads: 2, kvHeads: 1, headDim: 4)
        var rng = SeededGenerator(seed: 3)
        let cache = makeCache(model, tokens: 64) { _, _, _ in rng.vector(4) }
        let quest = Quest(model: model, budget: 16, pageSize: 16, denseLayers: 2)
        try prefill(quest, cache, makeStatistics(model, promptLength: 64))
        let q = rng.vector(8)
        XCTAssertNil(select(quest, cache, layer: 0, q: q).perKVHead[0])
        XCTAssertNil(select(quest, cache, layer: 1, q: q).perKVHead[0])
        XCTAssertNotNil(select(quest, cache, layer: 2, q: q).perKVHead[0])
        // Summaries of one layer × one KV head × 4 pages × (min + max) × 4 channels × f32.
        XCTAssertEqual(quest.sideBytes(cache: cache), 1 * 1 * 4 * 2 * 4 * 4)
        let covering = Quest(model: model, budget: 64, pageSize: 16, denseLayers: 0)
        try prefill(covering, cache, makeStatistics(model, promptLength: 64))
        XCTAssertNil(select(covering, cache, layer: 2, q: q).perKVHead[0])
    }

    private func bruteForce(_ cache: KVCache, layer: Int, kvHead: Int, q: [Float], budget: Int, page: Int) -> [Int]? {
        let n = cache.length, d = cache.headDim, g = 3
        let keys = cache.keys(layer: layer, kvHead: kvHead)
        let lastPage = (n - 1) / page
        if budget >= n || budget / page >= lastPage { return nil }
        var pages = Set<Int>()
        for head in (kvHead * g)..<((kvHead + 1) * g) {
            let scores = (0..<lastPage).map { p -> Float in
                (0..<d).reduce(Float(0)) { sum, c in
                    let column = (p * page..<(p + 1) * page).map { keys[$0 * d + c] }
                    let qc = q[head * d + c]
                    return sum + max(qc * column.max()!, qc * column.min()!)
                }
            }
            let order = (0..<lastPage).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            pages.formUnion(order.prefix(budget / page))
        }
        return pages.sorted().flatMap { Array($0 * page..<($0 + 1) * page) } + Array(lastPage * page..<n)
    }
}
