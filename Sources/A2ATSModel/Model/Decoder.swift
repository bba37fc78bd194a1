import A2ATSTensor
import Foundation

/// One fork's decode state: the cache it appends to, its method and store, and what its steps
/// read and cost.
final class DecodeFork {
    let cache: KVCache
    let method: CacheMethod?
    let store: KVStore
    /// Σ over steps, layers and KV heads of tokens read; `readSlots` counts the terms.
    var tokensRead = 0
    var readSlots = 0
    /// Time the method spent choosing tokens, over every step so far.
    var selectionNanoseconds: UInt64 = 0
    /// This fork's share of the steps' time: its own attention, and the shared parts (weights,
    /// logits, the rest) divided by the forks that stepped together.
    var breakdown = DecodeBreakdown()

    init(cache: KVCache, method: CacheMethod?, store: KVStore) {
        self.cache = cache
        self.method = method
        self.store = store
    }
}

/// Runs decode steps over prefilled caches with preallocated scratch, so the per-token loop does
/// not allocate. A step takes one token for each of up to `batch` forks of one prefill (all at the
/// same position) and reads every weight once for all of them; attention stays each fork's own.
/// A fork's logits do not depend on the others in its batch (`QuantizedMatrix.multiply(count:…)`
/// is bit for bit the one-vector product).
final class Decoder {
    private let model: LlamaModel
    let batch: Int
    private let attention: DecodeAttention
    /// `batch` rows each.
    private var x: [Float], normed: [Float], qkv: [Float], preRoPEQueries: [Float]
    private var attended: [Float], gateUp: [Float]
    /// One position's RoPE cosines and sines (`headDim / 2` each), refilled every step.
    private var cosines: [Float], sines: [Float]
    /// `batch × vocab`: row i is fork i's next-token logits after `step`.
    private(set) var logits: [Float]
    private var clock = DispatchTime.now().uptimeNanoseconds
    /// Time of the current step's shared parts, charged to its forks at the end of the step.
    private var shared = DecodeBreakdown()

    /// Charges the time since the last lap to `part` of the step's shared time.
    @inline(__always)
    private func lap(_ part: WritableKeyPath<DecodeBreakdown, UInt64>) {
        let now = DispatchTime.now().uptimeNanoseconds
        shared[keyPath: part] += now - clock
        clock = now
    }

    init(model: LlamaModel, capacity: Int, batch: Int = 1) {
        self.model = model
        self.batch = batch
        let c = model.config
        attention = DecodeAttention(config: c, capacity: capacity)
        x = [Float](repeating: 0, count: batch * c.hiddenSize)
        normed = x
        qkv = [Float](repeating: 0, count: batch * model.qkvWidth)
        preRoPEQueries = [Float](repeating: 0, count: c.headCount * c.headDim)
        attended = [Float](repeating: 0, count: batch * c.headCount * c.headDim)
        gateUp = [Float](repeating: 0, count: batch * 2 * c.intermediateSize)
        logits = [Float](repeating: 0, count: batch * c.vocabSize)
        cosines = [Float](repeating: 0, count: c.headDim / 2)
        sines = cosines
    }

    /// The angles of `position` as the last of `position + 1` (what a forward feeding this one
    /// token computes), into the preallocated rows.
    private func fillAngles(position: Int) {
        cosines.withUnsafeMutableBufferPointer { cos in sines.withUnsafeMutableBufferPointer { sin in
            model.rope.angles(position: position, sequenceLength: position + 1, cos: cos.baseAddress!,
                              sin: sin.baseAddress!)
        } }
    }

    /// RMS norm of each of `count` rows of `input` into `normed`.
    private func normalize(_ input: [Float], weight: [Float], count: Int) {
        let hidden = model.config.hiddenSize, epsilon = model.config.rmsNormEpsilon
        input.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in weight.withUnsafeBufferPointer { w in
            for row in 0..<count {
                rmsNorm(x.baseAddress! + row * hidden, weight: w.baseAddress!, epsilon: epsilon,
                        into: out.baseAddress! + row * hidden, count: hidden)
            }
        } } }
    }

    /// Feeds `token` at the next position of `cache`; the next-token logits land in `logits`.
    func step(token: Int, cache: KVCache, method: CacheMethod?, store: KVStore) {
        step(tokens: [token], forks: [DecodeFork(cache: cache, method: method, store: store)])
    }

    /// Feeds `tokens[i]` to `forks[i]` at the next position of its cache (the same position for
    /// every fork); fork i's next-token logits land in row i of `logits`.
    func step(tokens: [Int], forks: [DecodeFork]) {
        let c = model.config
        let count = forks.count, hidden = c.hiddenSize, ffn = c.intermediateSize, d = c.headDim
        let qkvWidth = model.qkvWidth, attentionWidth = c.headCount * d
        precondition(count == tokens.count && count <= batch && count > 0, "a step takes one token per fork, at most \(batch)")
        let position = forks[0].cache.length
        precondition(forks.allSatisfy { $0.cache.length == position }, "forks of one step share their position")
        shared = DecodeBreakdown()
        clock = DispatchTime.now().uptimeNanoseconds
        for fork in forks { fork.cache.append(count: 1) }
        fillAngles(position: position)
        x.withUnsafeMutableBufferPointer { x in
            for (row, token) in tokens.enumerated() { model.weights.embedding.copyRow(token, into: x.baseAddress! + row * hidden) }
        }
        for layer in 0..<c.layerCount {
            let w = model.weights.layers[layer]
            let matrices = model.decodeWeights == .compact ? w.decode : w.prefill.resident!
            normalize(x, weight: w.attentionNorm, count: count)
            lap(\.otherNanoseconds)
            normed.withUnsafeBufferPointer { h in qkv.withUnsafeMutableBufferPointer { y in
                matrices.qkv.multiply(count: count, h.baseAddress!, xStride: hidden, into: y.baseAddress!, yStride: qkvWidth)
                w.addQKVBias(y.baseAddress!, count: count, stride: qkvWidth)
            } }
            lap(\.weightNanoseconds)
            for (row, fork) in forks.enumerated() {
                let started = clock
                attend(row: row, fork: fork, layer: layer, position: position)
                clock = DispatchTime.now().uptimeNanoseconds
                fork.breakdown.attentionNanoseconds += clock - started
            }
            attended.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { y in
                matrices.output.multiply(count: count, a.baseAddress!, xStride: attentionWidth, into: y.baseAddress!,
                                         yStride: hidden, accumulate: true)
            } }
            lap(\.weightNanoseconds)
            normalize(x, weight: w.ffnNorm, count: count)
            lap(\.otherNanoseconds)
            normed.withUnsafeBufferPointer { h in gateUp.withUnsafeMutableBufferPointer { y in
                matrices.gateUp.multiply(count: count, h.baseAddress!, xStride: hidden, into: y.baseAddress!, yStride: 2 * ffn)
                for row in 0..<count {
                    let gate = y.baseAddress! + row * 2 * ffn
                    swiGLU(gate: gate, up: gate + ffn, count: ffn)
                }
            } }
            gateUp.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { y in
                matrices.down.multiply(count: count, a.baseAddress!, xStride: 2 * ffn, into: y.baseAddress!, yStride: hidden,
                                       accumulate: true)
            } }
            lap(\.weightNanoseconds)
        }
        normalize(x, weight: model.weights.outputNorm, count: count)
        normed.withUnsafeBufferPointer { h in logits.withUnsafeMutableBufferPointer { logits in
            if model.decodeWeights == .compact, let head = model.weights.outputHead {
                head.multiply(count: count, h.baseAddress!, xStride: hidden, into: logits.baseAddress!, yStride: c.vocabSize)
            } else {
                for row in 0..<count {
                    model.lmHead(h.baseAddress! + row * hidden, into: logits.baseAddress! + row * c.vocabSize)
                }
            }
        } }
        lap(\.logitsNanoseconds)
        let share = UInt64(count)
        for fork in forks {
            fork.breakdown.weightNanoseconds += shared.weightNanoseconds / share
            fork.breakdown.logitsNanoseconds += shared.logitsNanoseconds / share
            fork.breakdown.otherNanoseconds += shared.otherNanoseconds / share
        }
    }

    /// One fork's RoPE, K/V append and attention at `layer`, from row `row` of `qkv` into row
    /// `row` of `attended`.
    private func attend(row: Int, fork: DecodeFork, layer: Int, position: Int) {
        let c = model.config, d = c.headDim
        qkv.withUnsafeMutableBufferPointer { qkv in preRoPEQueries.withUnsafeMutableBufferPointer { pre in
            let qkvRow = qkv.baseAddress! + row * model.qkvWidth
            pre.baseAddress!.update(from: qkvRow, count: c.headCount * d)
            cosines.withUnsafeBufferPointer { cos in sines.withUnsafeBufferPointer { sin in
                model.storeKeysAndValues(qkvRow: qkvRow, layer: layer, position: position, cache: fork.cache,
                                         cos: cos.baseAddress!, sin: sin.baseAddress!)
            } }
            fork.store.didAppend(layer: layer, cache: fork.cache)
            let query = DecodeQuery(layer: layer, position: position, queries: UnsafePointer(qkvRow),
                                    preRoPEQueries: UnsafePointer(pre.baseAddress!))
            attended.withUnsafeMutableBufferPointer { out in
                let read = attention.run(query, cache: fork.cache, method: fork.method, store: fork.store,
                                         output: out.baseAddress! + row * c.headCount * d)
                fork.tokensRead += read.tokens
                fork.selectionNanoseconds += read.selectionNanoseconds
            }
        } }
        fork.readSlots += c.kvHeadCount
    }
}
