import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// PrefixKV (arXiv 2412.03409): per-layer sizes and kept tokens worked out by hand from the paper's
/// rule — rank each layer's tokens by head-averaged importance, take the shortest prefix whose
/// cumulative share reaches one global p, add the protected sink and last token, and choose the
/// largest p whose total fits L·B — compared with what the method keeps.
final class PrefixKVTests: XCTestCase {
    /// Importance of tokens 0…9 per layer (each sums to 1), as the mean of two query heads.
    static let importance: [[Float]] = [
        [0.80, 0.01, 0.05, 0.005, 0.04, 0.05, 0.01, 0.02, 0.01, 0.005],
        [0.07, 0.30, 0.02, 0.15, 0.04, 0.20, 0.08, 0.03, 0.10, 0.01],
        [0.32, 0.01, 0.01, 0.08, 0.005, 0.02, 0.50, 0.04, 0.01, 0.005],
    ]

    /// Sorted cumulative shares: layer 0 .80 .85 .90 …, layer 1 .30 .50 .65 .75 .83 .90 …, layer 2
    /// .50 .82 .90 …. A layer keeps (number of shares below p) + 1 + 2 protected tokens. For
    /// p in (.80, .82]: 2 + 5 + 2 = 9 prefix tokens, 15 kept = 3 layers × B = 5; any larger p adds
    /// layer 2's third token (16 > 15). So the sizes are 4, 7, 4; each keeps sink 0, last token 9 and
    /// its best of tokens 1…8: layer 0 → 2, 5 (.05 each); layer 1 → 1, 5, 3, 8, 6; layer 2 → 6, 3.
    func testLayerSizesFollowOneGlobalShare() throws {
        let model = makeModel(layers: 3, heads: 2, kvHeads: 1)
        let n = 10
        let statistics = makeStatistics(model, promptLength: n, accumulated: { layer, head in
            Self.importance[layer].map { $0 * (head == 0 ? 1.5 : 0.5) }
        })
        let cache = makeCache(model, tokens: n) { _, _, _ in [0, 0, 0, 0] }
        let method = PrefixKV(model: model, budget: 5, importance: .prompt, sinks: 1)
        try prefill(method, cache, statistics)
        XCTAssertEqual(method.layerSizes, [4, 7, 4])
        XCTAssertEqual(ints(method.residentTokens(layer: 0, kvHead: 0)), [0, 2, 5, 9])
        XCTAssertEqual(ints(method.residentTokens(layer: 1, kvHead: 0)), [0, 1, 3, 5, 6, 8, 9])
        XCTAssertEqual(ints(method.residentTokens(layer: 2, kvHead: 0)), [0, 3, 6, 9])

        // Decoded tokens join every layer's kept set.
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        let selection = step(method, cache, layer: 2, model: model) { _, count in [Float](repeating: 1 / Float(count), count: count) }
        XCTAssertEqual(ints(selection.perKVHead[0]), [0, 3, 6, 9, 10])
    }

    /// With one token more to place (total 16), the layer that the next larger p grows first gets it:
    /// at p just above .82 layer 2 adds its third token (.82 < layer 1's .83 < layer 0's .85).
    func testLeftoverGoesToTheLayerTheNextShareGrows() {
        XCTAssertEqual(PrefixKV.layerSizes(importance: Self.importance, total: 16, protected: 2), [4, 7, 5])
        XCTAssertEqual(PrefixKV.layerSizes(importance: Self.importance, total: 17, protected: 2), [4, 8, 5])
        // Below the protected floor (3 per layer) the budget is split evenly.
        XCTAssertEqual(PrefixKV.layerSizes(importance: Self.importance, total: 7, protected: 2), [3, 2, 2])
    }

    /// A budget covering the prompt keeps every token in every layer: full attention.
    func testBudgetCoveringThePromptKeepsEverything() throws {
        let model = makeModel(layers: 3, heads: 2, kvHeads: 1)
        let statistics = makeStatistics(model, promptLength: 10, accumulated: { layer, _ in Self.importance[layer] })
        let cache = makeCache(model, tokens: 10) { _, _, _ in [0, 0, 0, 0] }
        let method = PrefixKV(model: model, budget: 10, importance: .prompt, sinks: 1)
        try prefill(method, cache, statistics)
        appendTokens(cache, count: 1) { _, _, _ in [0, 0, 0, 0] }
        for layer in 0..<3 {
            XCTAssertNil(method.residentTokens(layer: layer, kvHead: 0))
            XCTAssertNil(step(method, cache, layer: layer, model: model) { _, count in [Float](repeating: 0, count: count) }.perKVHead[0])
        }
    }
}
