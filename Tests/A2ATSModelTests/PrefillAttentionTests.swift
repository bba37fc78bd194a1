import A2ATSTensor
import Foundation
import XCTest
@testable import A2ATSModel

/// Reference: causal softmax attention in Float64, written out row by row (scores, max, exp,
/// normalize, weighted sum of values), against the prefill pass: blocks of rows, GQA groups of 3
/// and 7, rows left unnormalized until after the value product, and the rows the statistics
/// record (the observation window and accumulated attention).
final class PrefillAttentionTests: XCTestCase {
    struct Case {
        let heads: Int, kvHeads: Int, headDim: Int, count: Int
        var needs = PrefillNeeds.none
    }

    func testBlockedPassMatchesFloat64ReferenceForGroupsOfThreeAndSeven() throws {
        try check(Case(heads: 9, kvHeads: 3, headDim: 16, count: 301))
        try check(Case(heads: 14, kvHeads: 2, headDim: 8, count: 250))
    }

    func testObservedRowsAndAccumulatedAttentionMatchFloat64Reference() throws {
        try check(Case(heads: 6, kvHeads: 2, headDim: 16, count: 211, needs: PrefillNeeds(observationWindow: 40)))
        try check(Case(heads: 6, kvHeads: 3, headDim: 16, count: 190,
                       needs: PrefillNeeds(observationWindow: 7, accumulatedAttention: true)))
    }

    private func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let config = ModelConfig(layerCount: 1, hiddenSize: c.heads * c.headDim, intermediateSize: 1, headCount: c.heads,
                                 kvHeadCount: c.kvHeads, headDim: c.headDim, vocabSize: 1, contextLength: c.count,
                                 ropeTheta: 10_000, rmsNormEpsilon: 1e-6, tiedEmbeddings: true)
        var generator = SeededGenerator(seed: UInt64(c.heads * 1000 + c.count))
        func random() -> Float { Float.random(in: -2...2, using: &generator) }
        let d = c.headDim, n = c.count, stride = c.heads * d
        let cache = KVCache.filled(layerCount: 1, kvHeadCount: c.kvHeads, headDim: d, capacity: n, tokens: n) { _, _, k, _, v in
            for i in 0..<n * d { k[i] = random(); v[i] = random() }
        }
        let queries = (0..<n * stride).map { _ in random() }
        let statistics = PrefillStatistics(layerCount: 1, headCount: c.heads, promptLength: n, needs: c.needs, headDim: d)
        // Blocks of 32 rows: the last block is partial, and the observation window starts inside one.
        let pass = PrefillAttention(config: config, blockRows: 32)
        var output = [Float](repeating: .nan, count: n * stride)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: pass.scratchCount(count: n))
        defer { scratch.deallocate() }
        queries.withUnsafeBufferPointer { q in
            pass.run(queries: q.baseAddress!, queryStride: stride, count: n, layer: 0, cache: cache,
                     statistics: statistics, scratch: scratch, output: &output)
        }

        var worstOutput = 0.0, worstWeight = 0.0
        for head in 0..<c.heads {
            let keys = cache.keys(layer: 0, kvHead: head / (c.heads / c.kvHeads))
            let values = cache.values(layer: 0, kvHead: head / (c.heads / c.kvHeads))
            var accumulated = [Double](repeating: 0, count: n)
            for row in 0..<n {
                var scores = (0...row).map { j in
                    (0..<d).reduce(0.0) { $0 + Double(queries[row * stride + head * d + $1]) * Double(keys[j * d + $1]) }
                        / Double(d).squareRoot()
                }
                let maximum = scores.max()!
                scores = scores.map { Foundation.exp($0 - maximum) }
                let sum = scores.reduce(0, +)
                let weights = scores.map { $0 / sum }
                for i in 0..<d {
                    let expected = (0...row).reduce(0.0) { $0 + weights[$1] * Double(values[$1 * d + i]) }
                    worstOutput = max(worstOutput, abs(Double(output[row * stride + head * d + i]) - expected))
                }
                for j in 0...row { accumulated[j] += weights[j] }
                let window = c.needs.observationWindow
                if window > 0 && row >= n - window {
                    let recorded = statistics.observedAttention(layer: 0, head: head)
                    for j in 0..<n {
                        let expected = j <= row ? weights[j] : 0
                        worstWeight = max(worstWeight, abs(Double(recorded[(row - (n - window)) * n + j]) - expected))
                    }
                }
            }
            if c.needs.accumulatedAttention {
                let recorded = statistics.accumulatedAttention(layer: 0, head: head)
                for j in 0..<n { worstWeight = max(worstWeight, abs(Double(recorded[j]) - accumulated[j]) / max(1, accumulated[j])) }
            }
        }
        // Values are in [-2, 2]: outputs are averages of them, so 1e-5 is ~100 float32 ulps.
        XCTAssertLessThan(worstOutput, 1e-5, "outputs, heads \(c.heads) / KV heads \(c.kvHeads)", file: file, line: line)
        XCTAssertLessThan(worstWeight, 1e-5, "recorded weights", file: file, line: line)
        if c.needs == .none { XCTAssertEqual(worstWeight, 0) }
    }
}
