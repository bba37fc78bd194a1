import XCTest
@testable import A2ATSModel
import A2ATSTensor
@testable import A2ATSMethods

final class A2ATSMethodTests: XCTestCase {
    // Reference: exact RoPE written from the formula; q_i·R(i) · k_j·R(j) at i − j = b.
    func testWRoPEScoreEqualsTrueScoreAtDistanceB() {
        let d = 16, b = 2048
        let rope = WindowedRoPE(headDim: d, ropeTheta: 10_000, scaling: nil, contextLength: 8192, offset: b)
        let q = A2ATSFixture.gaussian(d, seed: 1), k = A2ATSFixture.gaussian(d, seed: 2)
        var rotated = [Float](repeating: 0, count: d)
        rope.rotate(q, into: &rotated)
        for j in [0, 5, 3000] {
            let truth = A2ATSFixture.dot(A2ATSFixture.rope(q, position: j + b)[...], A2ATSFixture.rope(k, position: j)[...])
            let windowed = A2ATSFixture.dot(rotated[...], k[...])
            XCTAssertEqual(windowed, truth, accuracy: 1e-4 * max(1, abs(truth)))
        }
        // And not at another distance (the sign matters).
        let wrong = A2ATSFixture.dot(A2ATSFixture.rope(q, position: 0)[...], A2ATSFixture.rope(k, position: b)[...])
        XCTAssertGreaterThan(abs(wrong - A2ATSFixture.dot(rotated[...], k[...])), 1e-3)
    }

    /// A one-layer cache with the given pre-RoPE keys (post-RoPE keys written by exact RoPE).
    private func cache(config: ModelConfig, keys: [[Float]]) -> KVCache {
        let n = keys[0].count / config.headDim, d = config.headDim
        let cache = KVCache(layerCount: 1, kvHeadCount: config.kvHeadCount, headDim: d, capacity: n + 4)
        cache.append(count: n)
        for h in 0 ..< config.kvHeadCount {
            let pre = cache.writablePreRoPEKeys(layer: 0, kvHead: h), post = cache.writableKeys(layer: 0, kvHead: h)
            let vals = cache.writableValues(layer: 0, kvHead: h)
            for j in 0 ..< n {
                let row = Array(keys[h][j * d ..< (j + 1) * d])
                let rotated = A2ATSFixture.rope(row, position: j)
                for t in 0 ..< d { pre[j * d + t] = row[t]; post[j * d + t] = rotated[t]; vals[j * d + t] = row[t] }
            }
        }
        return cache
    }

    // Reference: an oracle written here that ranks every token by the exact WRoPE score (q R_b)·k/√d.
    func testSelectionEqualsWRoPEOracleWhenEveryKeyHasItsCentroid() throws {
        let config = A2ATSFixture.config()
        let d = config.headDim, n = 400, distinct = 24
        let pool = A2ATSFixture.gaussian(distinct * d, seed: 5)
        var g = SeededGenerator(seed: 6)
        let keys = (0 ..< config.kvHeadCount).map { _ in
            (0 ..< n).flatMap { _ in let r = Int(g.next() % UInt64(distinct)); return Array(pool[r * d ..< (r + 1) * d]) }
        }
        let queries = A2ATSFixture.gaussian(300 * d, seed: 7)
        let books = try A2ATSFixture.codebooks(config: config, keys: pool, queries: queries,
                                               configuration: CodebookConfiguration(centroids: distinct, wropeOffset: 2048))
        var parameters = A2ATSParameters()
        parameters.centroids = distinct
        let method = try A2ATSMethod(parameters: parameters, codebooks: books, config: config)
        let kv = cache(config: config, keys: keys)
        try method.didPrefill(layer: 0, cache: kv, statistics: PrefillStatistics(layerCount: 1, headCount: 6, promptLength: n, needs: .none))
        let pre = A2ATSFixture.gaussian(config.headCount * d, seed: 8)
        let post = pre   // unused with WRoPE
        let selection = pre.withUnsafeBufferPointer { p in post.withUnsafeBufferPointer { q in
            method.select(DecodeQuery(layer: 0, position: n - 1, queries: q.baseAddress!, preRoPEQueries: p.baseAddress!), cache: kv)
        } }
        let k = Int(0.03 * Double(n))
        for kvHead in 0 ..< config.kvHeadCount {
            var expected = Set(0 ..< 8).union(n - 64 ..< n)
            for g in 0 ..< config.groupSize {
                let head = kvHead * config.groupSize + g
                let q = A2ATSFixture.rope(Array(pre[head * d ..< (head + 1) * d]), position: 2048)
                let scores = (8 ..< n - 64).map { j in (j, A2ATSFixture.dot(q[...], keys[kvHead][j * d ..< (j + 1) * d])) }
                // Equal keys give bit-equal scores here, so ties fall to the lower index as in the contract.
                let ranked = scores.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
                expected.formUnion(ranked.prefix(k).map(\.0))
            }
            XCTAssertEqual(selection.perKVHead[kvHead], expected.sorted().map(Int32.init), "KV head \(kvHead)")
        }
    }

    // Reference: each token's score at relative distance b by true RoPE on both sides,
    // rope(q, j + b)·rope(k_j, j), sorted here; `oracle:scores=wrope` must pick that top-k.
    func testWRoPEOracleRanksByScoresAtDistanceB() throws {
        let config = A2ATSFixture.config()
        let d = config.headDim, n = 300, budget = 11
        let keys = (0 ..< config.kvHeadCount).map { h in A2ATSFixture.gaussian(n * d, seed: 40 + UInt64(h)) }
        let kv = cache(config: config, keys: keys)
        let oracle = OracleTopK(model: config, budget: budget, sinks: 0, window: 0,
                                windowedRoPE: WindowedRoPE(config: config, offset: 2048))
        let pre = A2ATSFixture.gaussian(config.headCount * d, seed: 41)
        let selection = pre.withUnsafeBufferPointer { p in
            oracle.select(DecodeQuery(layer: 0, position: n - 1, queries: p.baseAddress!, preRoPEQueries: p.baseAddress!), cache: kv)
        }
        for kvHead in 0 ..< config.kvHeadCount {
            var expected = Set<Int>()
            for g in 0 ..< config.groupSize {
                let head = kvHead * config.groupSize + g
                let q = Array(pre[head * d ..< (head + 1) * d])
                let scores = (0 ..< n).map { j in
                    A2ATSFixture.dot(A2ATSFixture.rope(q, position: j + 2048)[...],
                                     A2ATSFixture.rope(Array(keys[kvHead][j * d ..< (j + 1) * d]), position: j)[...])
                }
                expected.formUnion((0 ..< n).sorted { scores[$0] > scores[$1] }.prefix(budget))
            }
            XCTAssertEqual(selection.perKVHead[kvHead], expected.sorted().map(Int32.init), "KV head \(kvHead)")
        }
    }

    // Reference: the table entry T[code] against q̃·c computed from the stored centroid directly;
    // accounting against a union recomputed here from the approximate scores.
    func testTableLookupAndAccounting() throws {
        let config = A2ATSFixture.config()
        let d = config.headDim, n = 1000
        let keys = (0 ..< config.kvHeadCount).map { A2ATSFixture.gaussian(n * d, seed: UInt64(10 + $0)) }
        let books = try A2ATSFixture.codebooks(config: config, keys: keys[0], queries: A2ATSFixture.gaussian(300 * d, seed: 3),
                                               configuration: CodebookConfiguration(centroids: 32))
        var parameters = A2ATSParameters()
        parameters.centroids = 32
        let method = try A2ATSMethod(parameters: parameters, codebooks: books, config: config)
        let kv = cache(config: config, keys: keys)
        let pre = A2ATSFixture.gaussian(config.headCount * d, seed: 4)
        let query = pre.withUnsafeBufferPointer { DecodeQuery(layer: 0, position: n - 1, queries: $0.baseAddress!, preRoPEQueries: $0.baseAddress!) }
        let selection = method.select(query, cache: kv)
        let rope = WindowedRoPE(config: config, offset: 2048)
        var codes = [UInt16](repeating: 0, count: n)
        let k = Int(0.03 * Double(n))
        for kvHead in 0 ..< config.kvHeadCount {
            let book = books.codebook(layer: 0, kvHead: kvHead)
            book.encode(keys[kvHead], count: n, into: &codes)
            var union = Set<Int>()
            for g in 0 ..< config.groupSize {
                let head = kvHead * config.groupSize + g
                var approx = [Float](repeating: 0, count: n), q = [Float](repeating: 0, count: d)
                method.approximateScores(query, cache: kv, queryHead: head, into: &approx)
                rope.rotate(Array(pre[head * d ..< (head + 1) * d]), into: &q)
                for j in [0, 17, 500, n - 1] {
                    let c = Int(codes[j])
                    let direct = A2ATSFixture.dot(q[...], book.centroids[c * d ..< (c + 1) * d]) / Double(d).squareRoot()
                    XCTAssertEqual(Double(approx[j]), direct, accuracy: 1e-5 * max(1, abs(direct)))
                }
                let ranked = (8 ..< n - 64).sorted { approx[$0] != approx[$1] ? approx[$0] > approx[$1] : $0 < $1 }
                union.formUnion(ranked.prefix(k))
            }
            let attended = selection.count(kvHead: kvHead, cachedTokens: n)
            XCTAssertEqual(attended, union.count + 8 + 64)
            XCTAssertLessThanOrEqual(attended, config.groupSize * k + 8 + 64)
        }
        XCTAssertNil(method.kvStore, "A²ATS reads the shared rows as they are")
        XCTAssertEqual(DenseKVStore().kvBytes(cache: kv) { method.residentTokens(layer: $0, kvHead: $1) }, n * kv.bytesPerToken)
        // Side bytes: a 2-byte code and a 4-byte index entry per token and KV head, (C + 1) index
        // offsets per KV head, and the codebooks.
        let indexBytes = config.kvHeadCount * ((books.configuration.centroids + 1) * 4 + n * 4)
        XCTAssertEqual(method.sideBytes(cache: kv), n * 2 * config.kvHeadCount + indexBytes + books.residentBytes)
    }

    // Reference: the bound worked out by hand: with ⌊topk·n⌋ = 0 only sinks and window are read;
    // when the budget covers every ranked token, all tokens are.
    func testTinyBudgetsReadSinksAndWindowOnly() throws {
        let config = A2ATSFixture.config(headDim: 4)
        let n = 30
        let keys = (0 ..< config.kvHeadCount).map { A2ATSFixture.gaussian(n * 4, seed: UInt64(20 + $0)) }
        let books = try A2ATSFixture.codebooks(config: config, keys: keys[0], queries: A2ATSFixture.gaussian(80, seed: 3),
                                               configuration: CodebookConfiguration(centroids: 4))
        var parameters = try A2ATSParameters(parsing: ["centroids": "4", "sinks": "2", "window": "4"])
        let pre = A2ATSFixture.gaussian(config.headCount * 4, seed: 4)
        let query = pre.withUnsafeBufferPointer { DecodeQuery(layer: 0, position: n - 1, queries: $0.baseAddress!, preRoPEQueries: $0.baseAddress!) }
        let kv = cache(config: config, keys: keys)
        let none = try A2ATSMethod(parameters: parameters, codebooks: books, config: config).select(query, cache: kv)
        XCTAssertEqual(none.perKVHead[0], [0, 1, 26, 27, 28, 29])
        let all = try A2ATSMethod(parameters: parameters, codebooks: books, config: config, budgetTokens: 24).select(query, cache: kv)
        XCTAssertNil(all.perKVHead[1])
        parameters.topk = 0.1   // ⌊3.0⌋ = 3 per head, so at most 9 ranked tokens per KV head
        let some = try A2ATSMethod(parameters: parameters, codebooks: books, config: config).select(query, cache: kv)
        XCTAssertLessThanOrEqual(some.count(kvHead: 0, cachedTokens: n), 6 + 9)
        XCTAssertGreaterThanOrEqual(some.count(kvHead: 0, cachedTokens: n), 6 + 3)
    }

    func testParametersParseAndReject() throws {
        let p = try A2ATSParameters(parsing: ["topk": "0.1", "wrope": "false", "b": "1024"])
        XCTAssertEqual(p.topk, 0.1)
        XCTAssertFalse(p.wrope)
        XCTAssertEqual(p.offset, 1024)
        XCTAssertThrowsError(try A2ATSParameters(parsing: ["bogus": "1"]))
        XCTAssertThrowsError(try A2ATSParameters(parsing: ["topk": "2"]))
        XCTAssertEqual(A2ATSMethod.descriptor.parameters.map(\.name), ["topk", "sinks", "window", "wrope", "query_aware", "b", "centroids"])
    }
}
