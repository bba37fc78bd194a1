import A2ATSTensor
import Foundation

/// One decode step's attention at one layer: asks the method which tokens each KV head may
/// read and runs exact softmax attention over exactly those tokens, read from the fork's
/// `KVStore` (dense rows in place, or the method's quantized or pruned copy). This is the
/// single place where a cache-reduction
/// method meets the model, and where the tokens actually read are counted (`attended_tokens`
/// is measured here, not self-reported).
final class DecodeAttention {
    private let config: ModelConfig
    /// Softmax weights per query head over its KV head's selection: `headCount × capacity`.
    private let weights: UnsafeMutablePointer<Float>
    private let capacity: Int
    /// Tokens each KV head read at the current step (handed to `didAttend`).
    private let counts: UnsafeMutablePointer<Int>

    init(config: ModelConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        weights = .allocate(capacity: config.headCount * capacity)
        counts = .allocate(capacity: config.kvHeadCount)
    }

    deinit {
        weights.deallocate()
        counts.deallocate()
    }

    /// Attention for `query` into `output` (`headCount × headDim`); returns the number of
    /// cached tokens read, summed over KV heads, and the time spent in the method's `select`
    /// (kept apart so that a retrieval method's selection cost is reported on its own:
    /// `selection_seconds`).
    func run(_ query: DecodeQuery, cache: KVCache, method: CacheMethod?, store: KVStore,
             output: UnsafeMutablePointer<Float>) -> (tokens: Int, selectionNanoseconds: UInt64) {
        let d = config.headDim, group = config.groupSize
        // Without a method every head reads everything: no selection is built.
        let started = DispatchTime.now().uptimeNanoseconds
        let selection = method?.select(query, cache: cache)
        let selectionNanoseconds = method == nil ? 0 : DispatchTime.now().uptimeNanoseconds - started
        var tokensRead = 0
        for kvHead in 0..<config.kvHeadCount {
            let indices = selection?.perKVHead[kvHead]
            let count = indices?.count ?? cache.length
            precondition(count <= capacity, "selection larger than the cache")
            counts[kvHead] = count
            tokensRead += count
            let attend = { (rows: UnsafePointer<Int32>?) in
                store.attend(layer: query.layer, kvHead: kvHead, queries: query.queries + kvHead * group * d,
                             groupSize: group, cache: cache, rows: rows, count: count,
                             weights: self.weights + kvHead * group * self.capacity, stride: self.capacity,
                             output: output + kvHead * group * d)
            }
            if let indices { indices.withUnsafeBufferPointer { attend($0.baseAddress) } } else { attend(nil) }
        }
        if let method, let selection {
            let weights = self.weights, capacity = self.capacity, group = config.groupSize, counts = self.counts
            method.didAttend(query, selection: selection, weights: AttentionWeights { head in
                UnsafeBufferPointer(start: weights + head * capacity, count: counts[head / group])
            })
        }
        return (tokensRead, selectionNanoseconds)
    }
}
