import Foundation
@testable import A2ATSModel
@testable import A2ATSMethods
import A2ATSTensor
import XCTest

/// The precision and channel stores against independent references (issue 13, "Tests must show"):
/// KIVI's and QAQ's quantize → dequantize against `scripts/reference/precision_reference.py`
/// (NumPy, written from the papers' and reference code's rules; golden file
/// Tests/Fixtures/precision-reference.json) within 1e-6 relative, KIVI's residual rules through
/// prefill and 30 decoded tokens included; each store's attention against softmax attention over
/// its own dequantized rows computed here in Double; ThinK's channel rule on a case worked by hand.
final class PrecisionStoreTests: XCTestCase {
    static let fixture: [String: Any] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/precision-reference.json").standardized.path
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }()

    static func floats(_ value: Any?) -> [Float] { (value as! [Any]).map { Float(($0 as! NSNumber).doubleValue) } }
    static func rows(_ value: Any?) -> [[Float]] { (value as! [Any]).map { floats($0) } }

    func assertClose(_ actual: [Float], _ expected: [Float], _ label: String, tolerance: Float = 1e-6) {
        XCTAssertEqual(actual.count, expected.count, label)
        for (a, b) in zip(actual, expected) where abs(a - b) > tolerance * max(abs(b), 1e-3) {
            XCTFail("\(label): \(a) vs reference \(b)")
            return
        }
    }

    /// A one-layer, one-KV-head cache of `rows` (keys and values), with room for `extra` more.
    func cache(keys: [[Float]], values: [[Float]], count: Int, capacity: Int) -> KVCache {
        let d = keys[0].count
        return KVCache.filled(layerCount: 1, kvHeadCount: 1, headDim: d, capacity: capacity, tokens: count) { _, _, k, pre, v in
            for t in 0..<count {
                for c in 0..<d { k[t * d + c] = keys[t][c]; pre[t * d + c] = keys[t][c]; v[t * d + c] = values[t][c] }
            }
        }
    }

    func append(_ cache: KVCache, key: [Float], value: [Float]) {
        let t = cache.length, d = cache.headDim
        cache.append(count: 1)
        for c in 0..<d {
            cache.writableKeys(layer: 0, kvHead: 0)[t * d + c] = key[c]
            cache.writablePreRoPEKeys(layer: 0, kvHead: 0)[t * d + c] = key[c]
            cache.writableValues(layer: 0, kvHead: 0)[t * d + c] = value[c]
        }
    }

    func testKIVIMatchesTheNumPyReferenceThroughPrefillAndDecode() throws {
        let kivi = Self.fixture["kivi"] as! [String: Any]
        let keys = Self.rows(kivi["keys"]), values = Self.rows(kivi["values"])
        let prefill = kivi["prefill"] as! Int, steps = kivi["steps"] as! Int
        let model = makeModel(layers: 1, heads: 1, kvHeads: 1, headDim: keys[0].count)
        for case let reference as [String: Any] in kivi["cases"] as! [Any] {
            let bits = reference["bits"] as! Int
            let store = try KIVIStore(model: model, bits: bits, group: reference["group"] as! Int,
                                      residual: reference["residual"] as! Int)
            let kv = cache(keys: keys, values: values, count: prefill, capacity: prefill + steps)
            try store.didPrefill(layer: 0, cache: kv, statistics: makeStatistics(model, promptLength: prefill), resident: [nil])
            for t in prefill..<(prefill + steps) {
                append(kv, key: keys[t], value: values[t])
                store.didAppend(layer: 0, cache: kv)
            }
            let expectedKeys = reference["keys"] as! [Any], expectedValues = reference["values"] as! [Any]
            var quantized = 0
            for t in 0..<(prefill + steps) {
                let label = "kivi bits=\(bits) token \(t)"
                let key = store.dequantizedKey(layer: 0, kvHead: 0, position: t)
                let value = store.dequantizedValue(layer: 0, kvHead: 0, position: t)
                XCTAssertEqual(key == nil, expectedKeys[t] is NSNull, "\(label): key quantized or full precision")
                XCTAssertEqual(value == nil, expectedValues[t] is NSNull, "\(label): value quantized or full precision")
                if let key, !(expectedKeys[t] is NSNull) { assertClose(key, Self.floats(expectedKeys[t]), label + " key"); quantized += 1 }
                if let value, !(expectedValues[t] is NSNull) { assertClose(value, Self.floats(expectedValues[t]), label + " value") }
            }
            XCTAssertEqual(quantized, 96, "64 keys at prefill and 32 while decoding")
        }
    }

    func testQAQMatchesTheNumPyReference() throws {
        let qaq = Self.fixture["qaq"] as! [String: Any]
        let keys = Self.rows(qaq["keys"]), values = Self.rows(qaq["values"])
        let n = qaq["tokens"] as! Int, heads = qaq["heads"] as! Int, d = keys[0].count
        let settings = qaq["settings"] as! [String: Any]
        let window = settings["window"] as! Int
        let model = makeModel(layers: 1, heads: heads, kvHeads: 1, headDim: d)
        let queries = (qaq["queries"] as! [Any]).map { Self.rows($0) }     // rows × heads × d
        let attention = (qaq["attention"] as! [Any]).map { Self.rows($0) } // heads × window × n
        let statistics = PrefillStatistics(layerCount: 1, headCount: heads, promptLength: n,
                                           needs: PrefillNeeds(observationWindow: window, observedQueries: queries.count),
                                           headDim: d)
        statistics.withObservation(layer: 0) { p in
            for h in 0..<heads { for r in 0..<window { for t in 0..<n { p[(h * window + r) * n + t] = attention[h][r][t] } } }
        }
        statistics.withObservedQueries(layer: 0) { p in
            for r in 0..<queries.count { for h in 0..<heads { for c in 0..<d { p[(r * heads + h) * d + c] = queries[r][h][c] } } }
        }
        let store = QAQStore(model: model, settings: QAQSettings(
            keyError: (settings["key_error"] as! NSNumber).doubleValue, valueError: (settings["value_error"] as! NSNumber).doubleValue,
            minBits: settings["min_bits"] as! Int, maxBits: settings["max_bits"] as! Int,
            outliers: (settings["outliers"] as! NSNumber).doubleValue, window: window, queryNorm: 0))
        let kv = cache(keys: keys, values: values, count: n, capacity: n)
        try store.didPrefill(layer: 0, cache: kv, statistics: statistics, resident: [nil])
        var bitsSeen = Set<Int>()
        for (t, item) in (qaq["expected"] as! [Any]).enumerated() {
            let expected = item as! [String: Any]
            let (key, value) = store.vectors(layer: 0, kvHead: 0, position: t)
            let k = try XCTUnwrap(key), v = try XCTUnwrap(value)
            XCTAssertEqual(k.bits, expected["key_bits"] as? Int, "token \(t) key bits")
            XCTAssertEqual(v.bits, expected["value_bits"] as? Int, "token \(t) value bits")
            bitsSeen.insert(v.bits)
            var out = [Float](repeating: 0, count: d)
            out.withUnsafeMutableBufferPointer { k.dequantized(into: $0.baseAddress!) }
            assertClose(out, Self.floats(expected["key"]), "token \(t) key")
            out.withUnsafeMutableBufferPointer { v.dequantized(into: $0.baseAddress!) }
            assertClose(out, Self.floats(expected["value"]), "token \(t) value")
        }
        XCTAssertGreaterThan(bitsSeen.count, 1, "value precision must follow attention")
    }

    /// A prefill shared with a fork that asked for more query rows (ThinK at window 48) records
    /// extra, older rows: QAQ's measured ‖q‖² must come from its own last 32 only. Reference: the
    /// same store over statistics holding just those rows; the older rows are made 100× larger, so
    /// reading them would change the key bit widths.
    func testQAQMeasuresTheQueryNormOverItsOwnRowsOnly() throws {
        let qaq = Self.fixture["qaq"] as! [String: Any]
        let keys = Self.rows(qaq["keys"]), values = Self.rows(qaq["values"])
        let n = qaq["tokens"] as! Int, heads = qaq["heads"] as! Int, d = keys[0].count
        let model = makeModel(layers: 1, heads: heads, kvHeads: 1, headDim: d)
        var rng = SeededGenerator(seed: 9)
        let own = (0..<QAQ.queryNormRows).map { _ in rng.vector(heads * d) }
        let older = (0..<16).map { _ in rng.vector(heads * d).map { 100 * $0 } }
        func keyBits(_ queries: [[Float]]) throws -> [Int] {
            let statistics = PrefillStatistics(layerCount: 1, headCount: heads, promptLength: n,
                                               needs: PrefillNeeds(observationWindow: 1, observedQueries: queries.count), headDim: d)
            statistics.withObservedQueries(layer: 0) { p in
                for (r, row) in queries.enumerated() { for i in 0..<(heads * d) { p[r * heads * d + i] = row[i] } }
            }
            let store = QAQStore(model: model, settings: QAQSettings(keyError: 1, valueError: 1, minBits: 2, maxBits: 4,
                                                                      outliers: 0.01, window: 1, queryNorm: 0))
            try store.didPrefill(layer: 0, cache: cache(keys: keys, values: values, count: n, capacity: n), statistics: statistics,
                                 resident: [nil])
            return try (0..<n).map { try XCTUnwrap(store.vectors(layer: 0, kvHead: 0, position: $0).key).bits }
        }
        XCTAssertEqual(try keyBits(older + own), try keyBits(own))
        XCTAssertNotEqual(try keyBits(older + own), try keyBits(older.prefix(QAQ.queryNormRows).map { $0 }), "the older rows matter")
    }

    /// Softmax attention of `queries` over `rows`, in Double, from rows given by `key`/`value`.
    func referenceAttention(queries: [Float], groupSize: Int, d: Int, rows: [Int],
                            key: (Int) -> [Float], value: (Int) -> [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: groupSize * d)
        for h in 0..<groupSize {
            let q = queries[(h * d)..<((h + 1) * d)].map(Double.init)
            let logits: [Double] = rows.map { j in
                let k = key(j)
                var sum = 0.0
                for c in 0..<d { sum += q[c] * Double(k[c]) }
                return sum / Double(d).squareRoot()
            }
            let top = logits.max()!
            let e = logits.map { exp($0 - top) }, sum = e.reduce(0, +)
            for (i, j) in rows.enumerated() { for c in 0..<d { out[h * d + c] += e[i] / sum * Double(value(j)[c]) } }
        }
        return out
    }

    /// Each store's attention equals softmax attention over the rows it holds (dequantized codes,
    /// full-precision residual rows, pruned keys), over all rows and over a selection: d = 64 runs
    /// the vectorized kernels, d = 8 the scalar ones.
    func testStoreAttentionEqualsAttentionOverItsRows() throws {
        for d in [64, 8] {
            let groupSize = 3, n = 300
            let model = makeModel(layers: 1, heads: groupSize, kvHeads: 1, headDim: d)
            var rng = SeededGenerator(seed: 7)
            let keys = (0..<n).map { _ in rng.vector(d).map { $0 * 3 } }, values = (0..<n).map { _ in rng.vector(d) }
            let kv = cache(keys: keys, values: values, count: n, capacity: n)
            let statistics = PrefillStatistics(layerCount: 1, headCount: groupSize, promptLength: n,
                                               needs: PrefillNeeds(observationWindow: 32, observedQueries: 32), headDim: d)
            statistics.withObservedQueries(layer: 0) { p in for i in 0..<(32 * groupSize * d) { p[i] = rng.vector(1)[0] } }
            statistics.withObservation(layer: 0) { p in for i in 0..<(groupSize * 32 * n) { p[i] = 1 / Float(n) } }
            let specs = ["kivi", "kivi:bits=4,group=8,residual=64", "kivi:bits=8", "qaq", "think"]
            for spec in specs {
                let store = try XCTUnwrap(try MethodRegistry.make(MethodSpec.parse(spec), budgetTokens: nil, model: model).kvStore)
                try store.didPrefill(layer: 0, cache: kv, statistics: statistics, resident: [nil])
                let (key, value) = dequantized(store, kv)
                let queries = rng.vector(groupSize * d)
                for rows in [Array(0..<n), Array(stride(from: 0, to: n, by: 7)) + [n - 1]] {
                    var weights = [Float](repeating: 0, count: groupSize * n), output = [Float](repeating: 0, count: groupSize * d)
                    let int32 = rows.map { Int32($0) }
                    queries.withUnsafeBufferPointer { q in int32.withUnsafeBufferPointer { r in
                        weights.withUnsafeMutableBufferPointer { w in output.withUnsafeMutableBufferPointer { o in
                            store.attend(layer: 0, kvHead: 0, queries: q.baseAddress!, groupSize: groupSize, cache: kv,
                                         rows: rows.count == n ? nil : r.baseAddress!, count: rows.count,
                                         weights: w.baseAddress!, stride: n, output: o.baseAddress!)
                        } }
                    } }
                    let expected = referenceAttention(queries: queries, groupSize: groupSize, d: d, rows: rows, key: key, value: value)
                    for (a, b) in zip(output, expected) {
                        XCTAssertEqual(Double(a), b, accuracy: 1e-5 * max(1, abs(b)), "\(spec) d=\(d) rows=\(rows.count)")
                    }
                }
            }
        }
    }

    /// The rows a store holds, rebuilt from its own buffers (tests only).
    func dequantized(_ store: KVStore, _ kv: KVCache) -> (key: (Int) -> [Float], value: (Int) -> [Float]) {
        let d = kv.headDim
        let keyRow = { (j: Int) in Array(UnsafeBufferPointer(start: kv.keys(layer: 0, kvHead: 0) + j * d, count: d)) }
        let valueRow = { (j: Int) in Array(UnsafeBufferPointer(start: kv.values(layer: 0, kvHead: 0) + j * d, count: d)) }
        switch store {
        case let kivi as KIVIStore:
            return ({ kivi.dequantizedKey(layer: 0, kvHead: 0, position: $0) ?? keyRow($0) },
                    { kivi.dequantizedValue(layer: 0, kvHead: 0, position: $0) ?? valueRow($0) })
        case let qaq as QAQStore:
            func rebuild(_ vector: QAQVector?, _ fallback: [Float]) -> [Float] {
                guard let vector else { return fallback }
                var out = [Float](repeating: 0, count: d)
                out.withUnsafeMutableBufferPointer { vector.dequantized(into: $0.baseAddress!) }
                return out
            }
            return ({ rebuild(qaq.vectors(layer: 0, kvHead: 0, position: $0).key, keyRow($0)) },
                    { rebuild(qaq.vectors(layer: 0, kvHead: 0, position: $0).value, valueRow($0)) })
        case let think as ChannelPrunedStore:
            // Pruned tokens keep only the kept channels: the others read as zero.
            let kept = Set(think.keptChannelList(layer: 0, kvHead: 0).map(Int.init))
            return ({ j in j >= kv.length - think.window ? keyRow(j) : keyRow(j).enumerated().map { kept.contains($0.offset) ? $0.element : 0 } },
                    valueRow)
        default:
            return (keyRow, valueRow)
        }
    }

    /// ThinK by hand: 4 channels, λ = 0.5 keeps 2. Query energy per channel (mean q², last 2
    /// queries, both heads of the group) = [1, 4, 0.25, 9]·c; key energy (mean k²) = [4, 1, 16, 0.01]
    /// → scores ∝ [4, 4, 4, 0.09]: three-way tie, broken to the lower index → channels 0 and 1.
    /// With key energy [4, 1, 16, 1]: scores [4, 4, 4, 9] → channels 3 and 0.
    func testThinKKeepsTheChannelsItsRulePicks() throws {
        let model = makeModel(layers: 1, heads: 2, kvHeads: 1, headDim: 4)
        for (lastKeyChannel, expected) in [(Float(0.1), [Int32(0), 1]), (Float(1), [Int32(0), 3])] {
            let keys = [[Float]](repeating: [2, 1, 4, lastKeyChannel], count: 6)
            let kv = cache(keys: keys, values: keys, count: 6, capacity: 6)
            let statistics = PrefillStatistics(layerCount: 1, headCount: 2, promptLength: 6,
                                               needs: PrefillNeeds(observedQueries: 2), headDim: 4)
            statistics.withObservedQueries(layer: 0) { p in
                let row: [Float] = [1, 2, 0.5, 3]
                for r in 0..<2 { for h in 0..<2 { for c in 0..<4 { p[(r * 2 + h) * 4 + c] = row[c] } } }
            }
            let store = ChannelPrunedStore(model: model, ratio: 0.5, window: 2)
            try store.didPrefill(layer: 0, cache: kv, statistics: statistics, resident: [nil])
            XCTAssertEqual(store.keptChannelList(layer: 0, kvHead: 0), expected)
            // 4 pruned tokens × (2 + 4) floats, 2 whole × 8 floats.
            XCTAssertEqual(store.kvBytes(cache: kv) { _, _ in nil }, (4 * (2 + 4) + 2 * 8) * 4)
        }
    }
}
