import A2ATSTensor
import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// The oracle against a brute-force top-k computed here by sorting every q·k.
final class OracleTests: XCTestCase {
    func testSelectionEqualsBruteForceTopKUnion() {
        let model = makeModel(layers: 2, heads: 6, kvHeads: 2, headDim: 8)
        var rng = SeededGenerator(seed: 11)
        let n = 90
        let cache = makeCache(model, tokens: n) { _, _, _ in rng.vector(8) }
        for (budget, sinks, window) in [(1, 0, 0), (7, 0, 0), (20, 4, 8), (89, 0, 0)] {
            let oracle = OracleTopK(model: model, budget: budget, sinks: sinks, window: window)
            for layer in 0..<2 {
                let q = rng.vector(model.headCount * 8)
                let selection = q.withUnsafeBufferPointer {
                    oracle.select(DecodeQuery(layer: layer, position: n - 1, queries: $0.baseAddress!,
                                              preRoPEQueries: $0.baseAddress!), cache: cache)
                }
                for kvHead in 0..<2 {
                    var expected = Set((0..<min(sinks, n)).map { $0 }).union(max(0, n - window)..<n)
                    let keys = cache.keys(layer: layer, kvHead: kvHead)
                    for head in (kvHead * 3)..<((kvHead + 1) * 3) {
                        let scores = (0..<n).map { j in (0..<8).reduce(Float(0)) { $0 + q[head * 8 + $1] * keys[j * 8 + $1] } }
                        let sorted = (0..<n).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                        expected.formUnion(sorted.prefix(budget))
                    }
                    XCTAssertEqual(ints(selection.perKVHead[kvHead]), expected.sorted(), "budget \(budget) layer \(layer)")
                }
            }
        }
    }

    func testBudgetCoveringTheCacheReadsEverything() {
        let model = makeModel(heads: 2, kvHeads: 1)
        var rng = SeededGenerator(seed: 5)
        let cache = makeCache(model, tokens: 30) { _, _, _ in rng.vector(4) }
        let oracle = OracleTopK(model: model, budget: 30, sinks: 0, window: 0)
        let q = rng.vector(8)
        let selection = q.withUnsafeBufferPointer {
            oracle.select(DecodeQuery(layer: 0, position: 29, queries: $0.baseAddress!, preRoPEQueries: $0.baseAddress!),
                          cache: cache)
        }
        XCTAssertNil(selection.perKVHead[0])
    }
}
