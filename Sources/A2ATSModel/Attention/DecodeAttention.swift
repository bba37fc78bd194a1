import A2ATSTensor

/// One decode step's attention at one layer: asks the method which tokens each KV head may
/// read, gathers exactly those K/V rows, and runs exact softmax attention over them. This is
/// the single place where a cache-reduction method meets the model, and where the tokens
/// actually read are counted (`attended_tokens` is measured here, not self-reported).
final class DecodeAttention {
    private let config: ModelConfig
    /// Gathered keys/values of one KV head: `capacity × headDim` each.
    private let gatheredKeys: UnsafeMutablePointer<Float>
    private let gatheredValues: UnsafeMutablePointer<Float>
    /// Softmax weights per query head over its KV head's selection: `headCount × capacity`.
    private let weights: UnsafeMutablePointer<Float>
    private let capacity: Int
    /// Tokens each KV head read at the current step (handed to `didAttend`).
    private let counts: UnsafeMutablePointer<Int>

    init(config: ModelConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        gatheredKeys = .allocate(capacity: capacity * config.headDim)
        gatheredValues = .allocate(capacity: capacity * config.headDim)
        weights = .allocate(capacity: config.headCount * capacity)
        counts = .allocate(capacity: config.kvHeadCount)
    }

    deinit {
        gatheredKeys.deallocate()
        gatheredValues.deallocate()
        weights.deallocate()
        counts.deallocate()
    }

    /// Attention for `query` into `output` (`headCount × headDim`); returns the number of
    /// cached tokens read, summed over KV heads.
    func run(_ query: DecodeQuery, cache: KVCache, method: CacheMethod?, output: UnsafeMutablePointer<Float>) -> Int {
        let d = config.headDim, group = config.groupSize
        let scale = 1 / Float(d).squareRoot()
        // Without a method every head reads everything: no selection is built.
        let selection = method?.select(query, cache: cache)
        var tokensRead = 0
        for kvHead in 0..<config.kvHeadCount {
            var keys = UnsafePointer(cache.keys(layer: query.layer, kvHead: kvHead))
            var values = UnsafePointer(cache.values(layer: query.layer, kvHead: kvHead))
            var count = cache.length
            if let indices = selection?.perKVHead[kvHead] {
                precondition(indices.count <= capacity, "selection larger than the cache")
                count = indices.count
                for (row, index) in indices.enumerated() {
                    (gatheredKeys + row * d).update(from: keys + Int(index) * d, count: d)
                    (gatheredValues + row * d).update(from: values + Int(index) * d, count: d)
                }
                keys = UnsafePointer(gatheredKeys)
                values = UnsafePointer(gatheredValues)
            }
            counts[kvHead] = count
            tokensRead += count
            guard count > 0 else {
                (output + kvHead * group * d).update(repeating: 0, count: group * d)
                continue
            }
            for member in 0..<group {
                let head = kvHead * group + member
                let scores = weights + head * capacity
                BLAS.matrixVector(rows: count, cols: d, alpha: scale, a: keys, lda: d,
                                  x: query.queries + head * d, y: scores)
                softmaxInPlace(scores, count)
                BLAS.transposedMatrixVector(rows: count, cols: d, a: values, lda: d, x: scores,
                                            y: output + head * d)
            }
        }
        if let method, let selection {
            let weights = self.weights, capacity = self.capacity, group = config.groupSize, counts = self.counts
            method.didAttend(query, selection: selection, weights: AttentionWeights { head in
                UnsafeBufferPointer(start: weights + head * capacity, count: counts[head / group])
            })
        }
        return tokensRead
    }
}
