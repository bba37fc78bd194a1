@testable import A2ATSModel
import A2ATSTensor
@testable import A2ATSMethods
import XCTest

extension SeededGenerator {
    /// `count` uniform values in [-1, 1] for test data.
    mutating func vector(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1, using: &self) } }
}

func makeModel(layers: Int = 1, heads: Int = 1, kvHeads: Int = 1, headDim: Int = 4) -> ModelConfig {
    ModelConfig(layerCount: layers, hiddenSize: heads * headDim, intermediateSize: 4 * heads * headDim, headCount: heads,
                kvHeadCount: kvHeads, headDim: headDim, vocabSize: 16, contextLength: 4096, ropeTheta: 10000,
                rmsNormEpsilon: 1e-5, tiedEmbeddings: true)
}

/// A cache holding `tokens` rows whose keys (post- and pre-RoPE alike) and values come from `key`.
func makeCache(_ model: ModelConfig, tokens: Int, capacity: Int = 256,
               key: (_ layer: Int, _ kvHead: Int, _ token: Int) -> [Float]) -> KVCache {
    let cache = KVCache(layerCount: model.layerCount, kvHeadCount: model.kvHeadCount, headDim: model.headDim,
                        capacity: capacity)
    appendTokens(cache, count: tokens, key: key)
    return cache
}

/// Appends `count` rows to every layer and KV head.
func appendTokens(_ cache: KVCache, count: Int, key: (_ layer: Int, _ kvHead: Int, _ token: Int) -> [Float]) {
    let start = cache.length
    cache.append(count: count)
    for layer in 0..<cache.layerCount {
        for kvHead in 0..<cache.kvHeadCount {
            for token in start..<(start + count) {
                let k = key(layer, kvHead, token)
                for c in 0..<cache.headDim {
                    cache.writableKeys(layer: layer, kvHead: kvHead)[token * cache.headDim + c] = k[c]
                    cache.writablePreRoPEKeys(layer: layer, kvHead: kvHead)[token * cache.headDim + c] = k[c]
                    cache.writableValues(layer: layer, kvHead: kvHead)[token * cache.headDim + c] = k[(c + 1) % cache.headDim]
                }
            }
        }
    }
}

/// Statistics filled by hand: `observed(layer, head, row)` gives the row of one of the last
/// `window` prompt queries (length `promptLength`), `accumulated(layer, head)` the summed attention.
func makeStatistics(_ model: ModelConfig, promptLength n: Int, window: Int = 0,
                    observed: ((_ layer: Int, _ head: Int, _ row: Int) -> [Float])? = nil,
                    accumulated: ((_ layer: Int, _ head: Int) -> [Float])? = nil,
                    observedQueries: Int = 0) -> PrefillStatistics {
    let statistics = PrefillStatistics(layerCount: model.layerCount, headCount: model.headCount, promptLength: n,
                                       needs: PrefillNeeds(observationWindow: window, accumulatedAttention: accumulated != nil,
                                                           observedQueries: observedQueries),
                                       headDim: model.headDim)
    for layer in 0..<model.layerCount {
        if let observed, statistics.observationWindow > 0 {
            let w = statistics.observationWindow
            statistics.withObservation(layer: layer) { p in
                for head in 0..<model.headCount {
                    for row in 0..<w {
                        let values = observed(layer, head, row)
                        for j in 0..<n { p[(head * w + row) * n + j] = values[j] }
                    }
                }
            }
        }
        if let accumulated {
            statistics.withAccumulated(layer: layer) { p in
                for head in 0..<model.headCount {
                    let values = accumulated(layer, head)
                    for j in 0..<n { p[head * n + j] = values[j] }
                }
            }
        }
    }
    return statistics
}

/// Runs `didPrefill` for every layer.
func prefill(_ method: CacheMethod, _ cache: KVCache, _ statistics: PrefillStatistics) throws {
    for layer in 0..<cache.layerCount { try method.didPrefill(layer: layer, cache: cache, statistics: statistics) }
}

/// One decode step at one layer with hand-given attention weights per query head (lined up with the
/// selection), for checking a method's decode-time rule. The new token is already in the cache.
func step(_ method: CacheMethod, _ cache: KVCache, layer: Int = 0, model: ModelConfig,
          weights: (_ head: Int, _ count: Int) -> [Float]) -> TokenSelection {
    let q = [Float](repeating: 0, count: model.headCount * model.headDim)
    return q.withUnsafeBufferPointer { qp in
        let query = DecodeQuery(layer: layer, position: cache.length - 1, queries: qp.baseAddress!,
                                preRoPEQueries: qp.baseAddress!)
        let selection = method.select(query, cache: cache)
        let perHead = (0..<model.headCount).map { head in
            weights(head, selection.count(kvHead: head / model.groupSize, cachedTokens: cache.length))
        }
        let storage = perHead.map { row -> UnsafeMutableBufferPointer<Float> in
            let p = UnsafeMutableBufferPointer<Float>.allocate(capacity: row.count)
            _ = p.initialize(from: row)
            return p
        }
        defer { storage.forEach { $0.deallocate() } }
        method.didAttend(query, selection: selection, weights: AttentionWeights { UnsafeBufferPointer(storage[$0]) })
        return selection
    }
}

/// Exact softmax attention weights of `q` over the selected keys, as the model computes them.
func softmaxWeights(q: ArraySlice<Float>, cache: KVCache, layer: Int, kvHead: Int, selected: [Int]) -> [Float] {
    let d = cache.headDim
    let keys = cache.keys(layer: layer, kvHead: kvHead)
    let logits = selected.map { j in (0..<d).reduce(Float(0)) { $0 + q[q.startIndex + $1] * keys[j * d + $1] } / Float(d).squareRoot() }
    let top = logits.max() ?? 0
    let e = logits.map { expf($0 - top) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
}

func ints(_ list: [Int32]?) -> [Int]? { list.map { $0.map(Int.init) } }
