import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// InfiniGen against its rule worked out here by brute force (arXiv 2406.19707; reference
/// `modeling_llama_ours.py` `kv_cache_mask`): speculated scores (q·A)[P]·(k·A)[P]/√d per query
/// head, per head the count of tokens within α of its max, fetch = mean count over the layer's
/// heads (truncated) capped at B, each head's top-fetch tokens, union over the GQA group. The skew
/// basis is checked as an eigenbasis of QᵀQ, and the partial channels against the union rule.
final class InfiniGenTests: XCTestCase {
    let model = makeModel(layers: 1, heads: 2, kvHeads: 1, headDim: 4)

    private func topK(_ scores: [Float], _ k: Int) -> [Int32] {
        Array(scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(k))
            .sorted().map(Int32.init)
    }

    /// A rotation in the (0, 1) plane for head 0, a permutation for head 1; partial channels {0, 2} and {1}.
    func testSelectsTokensWithinAlphaCappedAtTheBudget() throws {
        let d = 4
        let c = Float(0.8), s = Float(0.6)
        let skew0: [Float] = [c, -s, 0, 0,  s, c, 0, 0,  0, 0, 1, 0,  0, 0, 0, 1]
        let skew1: [Float] = [0, 0, 0, 1,  0, 0, 1, 0,  1, 0, 0, 0,  0, 1, 0, 0]
        let mask = [1, 0, 1, 0,  0, 1, 0, 0]
        var rng = SeededGenerator(seed: 11)
        let n = 40
        let keys = (0..<n).map { _ in rng.vector(d).map { $0 * 12 } }
        let query = rng.vector(2 * d)
        func skewed(_ x: [Float], _ a: [Float]) -> [Float] {
            (0..<d).map { col in (0..<d).reduce(Float(0)) { $0 + x[$1] * a[$1 * d + col] } }
        }
        for (alpha, budget) in [(Float(5), 3), (Float(5), 30), (Float(2), 30), (Float(40), 7)] {
            let cache = makeCache(model, tokens: n) { _, _, t in keys[t] }
            let method = InfiniGen(model: model, skew: skew0 + skew1, channelMask: mask, alpha: alpha, budget: budget, sinks: 0, window: 0)
            try prefill(method, cache, makeStatistics(model, promptLength: n))
            let selection = query.withUnsafeBufferPointer {
                method.select(DecodeQuery(layer: 0, position: n - 1, queries: $0.baseAddress!, preRoPEQueries: $0.baseAddress!), cache: cache)
            }
            var scores: [[Float]] = [], within = 0
            for (head, a) in [skew0, skew1].enumerated() {
                let q = skewed(Array(query[(head * d)..<(head * d + d)]), a)
                let kept = (0..<d).filter { mask[head * d + $0] == 1 }
                let row = keys.map { k in let kk = skewed(k, a); return kept.reduce(Float(0)) { $0 + q[$1] * kk[$1] } / 2 }
                within += row.filter { $0 >= row.max()! - alpha }.count
                scores.append(row)
            }
            let fetch = min(budget, within / 2)
            let expected = Array(Set(topK(scores[0], fetch) + topK(scores[1], fetch))).sorted()
            XCTAssertEqual(selection.perKVHead[0], expected, "alpha=\(alpha) B=\(budget)")
            XCTAssertLessThanOrEqual(expected.count, 2 * budget)
            // Partial keys (2 + 1 channels per token) and the projections A[:, P] (d × m), Float32.
            XCTAssertEqual(method.sideBytes(cache: cache), (n + d) * 3 * 4)
        }
    }

    func testBudgetCoveringTheCacheReadsEverything() throws {
        let identity: [Float] = [1, 0, 0, 0,  0, 1, 0, 0,  0, 0, 1, 0,  0, 0, 0, 1]
        let cache = makeCache(model, tokens: 5) { _, _, t in [Float(t), 1, 0, 2] }
        let method = InfiniGen(model: model, skew: identity + identity, channelMask: [1, 1, 0, 0, 0, 0, 1, 1], alpha: 5, budget: 5,
                               sinks: 0, window: 0)
        try prefill(method, cache, makeStatistics(model, promptLength: 5))
        let query: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        let selection = query.withUnsafeBufferPointer {
            method.select(DecodeQuery(layer: 0, position: 4, queries: $0.baseAddress!, preRoPEQueries: $0.baseAddress!), cache: cache)
        }
        XCTAssertNil(selection.perKVHead[0])
    }

    /// The skew basis of each head is its queries' principal basis; the partial channels are the
    /// union of the top ⌊d·partial⌋ by Σ|Q·A| and by Σ|K·A|, recomputed here from A.
    func testCalibrationSkewsByTheQueryBasisAndKeepsTheUnionOfTopChannels() throws {
        let d = 8, g = 2, tokens = 50
        var rng = SeededGenerator(seed: 5)
        // Queries stretched along a known direction so the first basis vector is that direction.
        let direction = (0..<d).map { Float($0 % 3) - 1 }
        let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let queries = (0..<(tokens * g)).flatMap { _ -> [Float] in
            let scale = Float.random(in: -10...10, using: &rng)
            return zip(rng.vector(d), direction).map { 0.1 * $0 + scale * $1 / norm }
        }
        let keys = rng.vector(tokens * d)
        let sample = CalibrationSamples(queries: queries, keys: keys, keyRows: Array(0..<tokens).reversed())
        let heads = InfiniGen.skewing(sample, groupSize: g, headDim: d, partial: 0.25)
        XCTAssertEqual(heads.count, g)
        for (head, (a, kept)) in heads.enumerated() {
            let first = (0..<d).map { a[$0 * d] }
            let cosine = zip(first, direction).reduce(0) { $0 + $1.0 * $1.1 } / norm
            XCTAssertEqual(abs(cosine), 1, accuracy: 1e-3, "head \(head): first skew column is the dominant query direction")
            func mass(_ rows: [[Float]]) -> [Float] {
                (0..<d).map { col in rows.reduce(0) { sum, x in sum + abs((0..<d).reduce(0) { $0 + x[$1] * a[$1 * d + col] }) } }
            }
            let q = (0..<tokens).map { t in Array(queries[((t * g + head) * d)..<((t * g + head) * d + d)]) }
            let k = (0..<tokens).map { t in Array(keys[(t * d)..<(t * d + d)]) }
            let expected = Set(topK(mass(q), 2).map(Int.init)).union(topK(mass(k), 2).map(Int.init))
            XCTAssertEqual(kept, expected, "head \(head)")
        }
        XCTAssertEqual(InfiniGen.artifactRequest(partial: 0.2).fileName, "infinigen-partial_permille200-tokens4096.a2oa")
    }
}
