import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// ShadowKV (arXiv 2410.21465) against the paper's rules worked out here by brute force: chunk
/// landmarks are means of post-RoPE keys, the outliers are the chunks with the lowest least cosine
/// similarity, each query head takes its top chunks by q·landmark (or, with `gqa=max`, the group's
/// maximum softmax probability), and attention over the selection reads keys rebuilt from the rank-r
/// factors with RoPE at their positions. The prompt's pre-RoPE keys are exactly rank 2, so a rank-2
/// factorization rebuilds them and the store's attention must equal exact attention (computed here
/// from the true keys) over the expected selection.
final class ShadowKVTests: XCTestCase {
    let model = makeModel(layers: 1, heads: 2, kvHeads: 1, headDim: 4)
    let prompt = 80   // 6 chunks of 8, then the 32-token local window

    /// Keys k_t = a_t·u + b_t·v before RoPE, rotated to position t after; random values.
    func lowRankCache(seed: UInt64) -> KVCache {
        var rng = SeededGenerator(seed: seed)
        let d = model.headDim, u = rng.vector(d), v = rng.vector(d), rope = RotaryEmbedding(config: model)
        let rows = (0..<(prompt + 1)).map { _ in (Float.random(in: -1...1, using: &rng), Float.random(in: -1...1, using: &rng)) }
        let values = rng.vector((prompt + 1) * d)
        return KVCache.filled(layerCount: 1, kvHeadCount: 1, headDim: d, capacity: prompt + 1, tokens: prompt + 1) { _, _, keys, pre, vals in
            for t in 0...prompt {
                for c in 0..<d { pre[t * d + c] = rows[t].0 * u[c] + rows[t].1 * v[c]; keys[t * d + c] = pre[t * d + c] }
                let (cosines, sines) = rope.table(start: t, count: 1)
                rope.rotate(keys + t * d, heads: 1, cos: cosines, sin: sines)
            }
            vals.update(from: values, count: values.count)
        }
    }

    /// The selection the paper's rule gives, worked out from the post-RoPE keys.
    func expectedSelection(cache: KVCache, q: [Float], budget: Int, outlierChunks: Int, groupMaximum: Bool) -> [Int32] {
        let d = model.headDim, keys = cache.keys(layer: 0, kvHead: 0), chunks = (prompt - 32) / 8
        func key(_ t: Int) -> [Float] { (0..<d).map { keys[t * d + $0] } }
        func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map(*).reduce(0, +) }
        let landmarks = (0..<chunks).map { c in (0..<d).map { i in (0..<8).map { key(c * 8 + $0)[i] }.reduce(0, +) / 8 } }
        let leastCosine = (0..<chunks).map { c in
            (0..<8).map { dot(landmarks[c], key(c * 8 + $0)) / (dot(landmarks[c], landmarks[c]).squareRoot() * dot(key(c * 8 + $0), key(c * 8 + $0)).squareRoot()) }.min()!
        }
        let outliers = Set((0..<chunks).sorted { leastCosine[$0] < leastCosine[$1] }.prefix(outlierChunks))
        let candidates = (0..<chunks).filter { !outliers.contains($0) }
        let k = budget / 8 - outlierChunks
        var chosen = outliers
        let scores = (0..<model.headCount).map { h in candidates.map { dot(Array(q[(h * d)..<((h + 1) * d)]), landmarks[$0]) } }
        if groupMaximum {
            let probabilities = scores.map { row -> [Float] in
                let e = row.map { expf(($0 - row.max()!) / Float(d).squareRoot()) }
                return e.map { $0 / e.reduce(0, +) }
            }
            let maxima = candidates.indices.map { i in probabilities.map { $0[i] }.max()! }
            chosen.formUnion(candidates.indices.sorted { maxima[$0] > maxima[$1] }.prefix(k).map { candidates[$0] })
        } else {
            for row in scores { chosen.formUnion(candidates.indices.sorted { row[$0] > row[$1] }.prefix(k).map { candidates[$0] }) }
        }
        return chosen.sorted().flatMap { c in (c * 8)..<(c * 8 + 8) }.map { Int32($0) } + (chunks * 8...prompt).map { Int32($0) }
    }

    /// Runs one decode step (the token at `prompt` is the new one) and returns the selection and output.
    func step(_ method: ShadowKV, cache: KVCache, q: [Float]) throws -> ([Int32]?, [Float]) {
        cache.truncate(to: prompt)
        try method.didPrefill(layer: 0, cache: cache, statistics: makeStatistics(model, promptLength: prompt))
        try method.store.didPrefill(layer: 0, cache: cache, statistics: makeStatistics(model, promptLength: prompt), resident: [nil])
        cache.append(count: 1)
        method.store.didAppend(layer: 0, cache: cache)
        var output = [Float](repeating: 0, count: model.headCount * model.headDim)
        var weights = [Float](repeating: 0, count: model.headCount * cache.capacity)
        let rows = q.withUnsafeBufferPointer { qp in
            let selection = method.select(DecodeQuery(layer: 0, position: prompt, queries: qp.baseAddress!, preRoPEQueries: qp.baseAddress!),
                                          cache: cache).perKVHead[0]
            let count = selection?.count ?? cache.length
            let attend = { (rows: UnsafePointer<Int32>?) in
                method.store.attend(layer: 0, kvHead: 0, queries: qp.baseAddress!, groupSize: 2, cache: cache, rows: rows, count: count,
                                    weights: &weights, stride: cache.capacity, output: &output)
            }
            if let selection { selection.withUnsafeBufferPointer { attend($0.baseAddress) } } else { attend(nil) }
            return selection
        }
        return (rows, output)
    }

    /// Exact attention of both heads over `rows` with the true keys: Σ softmax(q·k/√d) v.
    func exactAttention(cache: KVCache, q: [Float], rows: [Int32]) -> [Float] {
        let d = model.headDim, values = cache.values(layer: 0, kvHead: 0)
        return (0..<model.headCount).flatMap { h -> [Float] in
            let w = softmaxWeights(q: q[(h * d)..<((h + 1) * d)], cache: cache, layer: 0, kvHead: 0, selected: rows.map(Int.init))
            return (0..<d).map { c in zip(w, rows).map { $0 * values[Int($1) * d + c] }.reduce(0, +) }
        }
    }

    func testSelectionAndRebuiltKeysFollowThePaper() throws {
        for (seed, rule) in [(UInt64(1), ShadowKV.GroupRule.union), (2, .union), (3, .max), (4, .max)] {
            let cache = lowRankCache(seed: seed)
            var rng = SeededGenerator(seed: seed + 100)
            let q = rng.vector(model.headCount * model.headDim).map { $0 * 3 }
            // B = 24: three chunks per query head, two of them the outliers (⌈0.2 · 6⌉).
            let method = ShadowKV(model: model, budget: 24, rank: 2, chunk: 8, window: 32, outliers: 0.2, rule: rule)
            let (rows, output) = try step(method, cache: cache, q: q)
            let expected = expectedSelection(cache: cache, q: q, budget: 24, outlierChunks: 2, groupMaximum: rule == .max)
            XCTAssertEqual(rows, expected, "seed \(seed) \(rule)")
            XCTAssertLessThan(expected.count, prompt + 1, "the case must select")
            let reference = exactAttention(cache: cache, q: q, rows: expected)
            for (a, b) in zip(output, reference) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), "seed \(seed) \(rule)") }
            XCTAssertEqual(method.store.outlierCount, 2)
        }
    }

    /// Rank 1 of rank-2 keys: the rebuilt keys differ, so the attention output moves away from the exact one.
    func testLowerRankChangesTheRebuiltKeys() throws {
        let cache = lowRankCache(seed: 7)
        var rng = SeededGenerator(seed: 8)
        let q = rng.vector(model.headCount * model.headDim).map { $0 * 3 }
        let method = ShadowKV(model: model, budget: 48, rank: 1, chunk: 8, window: 32, outliers: 0, rule: .union)
        let (rows, output) = try step(method, cache: cache, q: q)
        let reference = exactAttention(cache: cache, q: q, rows: try XCTUnwrap(rows))
        XCTAssertGreaterThan(zip(output, reference).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testBudgetCoveringThePromptEqualsFull() throws {
        let cache = lowRankCache(seed: 5)
        var rng = SeededGenerator(seed: 6)
        let q = rng.vector(model.headCount * model.headDim)
        let method = ShadowKV(model: model, budget: prompt, rank: 1, chunk: 8, window: 32, outliers: 0.003, rule: .union)
        let (rows, output) = try step(method, cache: cache, q: q)
        XCTAssertNil(rows)
        let reference = exactAttention(cache: cache, q: q, rows: (0...prompt).map { Int32($0) })
        for (a, b) in zip(output, reference) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
        XCTAssertEqual(method.store.kvBytes(cache: cache) { _, _ in nil }, (prompt + 1) * 2 * model.headDim * 4)
    }

    func testCannotBeComposedWithAStoreMethod() {
        XCTAssertThrowsError(try MethodRegistry.resolve(MethodSpec.parse("shadowkv+kivi")))
    }

    /// The eigen-solver behind the factorization: A v = λ v, unit orthogonal vectors, values descending.
    func testSymmetricEigenDecomposition() {
        var rng = SeededGenerator(seed: 9)
        let n = 12, x = rng.vector(n * n).map(Double.init)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { a[i * n + j] = x[i * n + j] + x[j * n + i] } }
        let (values, vectors) = SymmetricEigen.decompose(a, n: n)
        XCTAssertEqual(values, values.sorted(by: >))
        for i in 0..<n {
            for r in 0..<n {
                let av = (0..<n).map { a[r * n + $0] * vectors[i * n + $0] }.reduce(0, +)
                XCTAssertEqual(av, values[i] * vectors[i * n + r], accuracy: 1e-9)
            }
            for j in 0..<n {
                let product = (0..<n).map { vectors[i * n + $0] * vectors[j * n + $0] }.reduce(0, +)
                XCTAssertEqual(product, i == j ? 1 : 0, accuracy: 1e-9)
            }
        }
    }
}
