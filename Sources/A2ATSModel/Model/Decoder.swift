import A2ATSTensor
import Foundation

/// Runs decode steps one token at a time over a prefilled cache, with preallocated scratch so
/// the per-token loop does not allocate.
final class Decoder {
    private let model: LlamaModel
    private let attention: DecodeAttention
    private var x: [Float], normed: [Float], qkv: [Float], preRoPEQueries: [Float]
    private var attended: [Float], gateUp: [Float]
    /// One position's RoPE cosines and sines (`headDim / 2` each), refilled every step.
    private var cosines: [Float], sines: [Float]
    private(set) var logits: [Float]
    /// Σ over steps, layers and KV heads of tokens read; `readSlots` counts the terms.
    private(set) var tokensRead = 0
    private(set) var readSlots = 0
    /// Seconds the method spent choosing tokens, over every step so far.
    var selectionSeconds: Double { Double(attention.selectionNanoseconds) / 1e9 }
    /// Where the steps' time went, summed over every step so far.
    private(set) var breakdown = DecodeBreakdown()
    private var clock = DispatchTime.now().uptimeNanoseconds
    /// Charges the time since the last lap to `part`.
    @inline(__always)
    private func lap(_ part: WritableKeyPath<DecodeBreakdown, UInt64>) {
        let now = DispatchTime.now().uptimeNanoseconds
        breakdown[keyPath: part] += now - clock
        clock = now
    }

    init(model: LlamaModel, capacity: Int) {
        self.model = model
        let c = model.config
        attention = DecodeAttention(config: c, capacity: capacity)
        x = [Float](repeating: 0, count: c.hiddenSize)
        normed = x
        qkv = [Float](repeating: 0, count: model.qkvWidth)
        preRoPEQueries = [Float](repeating: 0, count: c.headCount * c.headDim)
        attended = preRoPEQueries
        gateUp = [Float](repeating: 0, count: 2 * c.intermediateSize)
        logits = [Float](repeating: 0, count: c.vocabSize)
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

    /// Feeds `token` at the next cache position; the next-token logits land in `logits`.
    func step(token: Int, cache: KVCache, method: CacheMethod?, store: KVStore) {
        let c = model.config
        let hidden = c.hiddenSize, ffn = c.intermediateSize, d = c.headDim
        let position = cache.length
        clock = DispatchTime.now().uptimeNanoseconds
        cache.append(count: 1)
        fillAngles(position: position)
        x.withUnsafeMutableBufferPointer { model.weights.embedding.copyRow(token, into: $0.baseAddress!) }
        for layer in 0..<c.layerCount {
            let w = model.weights.layers[layer]
            let matrices = model.decodeWeights == .compact ? w.decode : w.prefill
            x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in w.attentionNorm.withUnsafeBufferPointer {
                rmsNorm(x.baseAddress!, weight: $0.baseAddress!, epsilon: c.rmsNormEpsilon, into: out.baseAddress!, count: hidden)
            } } }
            normed.withUnsafeBufferPointer { h in qkv.withUnsafeMutableBufferPointer { y in
                lap(\.otherNanoseconds)
                matrices.qkv.multiply(h.baseAddress!, into: y.baseAddress!)
                w.addQKVBias(y.baseAddress!, count: 1, stride: model.qkvWidth)
                lap(\.weightNanoseconds)
            } }
            qkv.withUnsafeMutableBufferPointer { qkv in preRoPEQueries.withUnsafeMutableBufferPointer { pre in
                pre.baseAddress!.update(from: qkv.baseAddress!, count: c.headCount * d)
                cosines.withUnsafeBufferPointer { cos in sines.withUnsafeBufferPointer { sin in
                    model.storeKeysAndValues(qkvRow: qkv.baseAddress!, layer: layer, position: position, cache: cache,
                                             cos: cos.baseAddress!, sin: sin.baseAddress!)
                } }
                store.didAppend(layer: layer, cache: cache)
                let query = DecodeQuery(layer: layer, position: position, queries: UnsafePointer(qkv.baseAddress!),
                                        preRoPEQueries: UnsafePointer(pre.baseAddress!))
                attended.withUnsafeMutableBufferPointer { out in
                    tokensRead += attention.run(query, cache: cache, method: method, store: store, output: out.baseAddress!)
                }
            } }
            readSlots += c.kvHeadCount
            lap(\.attentionNanoseconds)
            attended.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { y in
                matrices.output.multiply(a.baseAddress!, into: y.baseAddress!, accumulate: true)
            } }
            lap(\.weightNanoseconds)
            x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in w.ffnNorm.withUnsafeBufferPointer {
                rmsNorm(x.baseAddress!, weight: $0.baseAddress!, epsilon: c.rmsNormEpsilon, into: out.baseAddress!, count: hidden)
            } } }
            lap(\.otherNanoseconds)
            normed.withUnsafeBufferPointer { h in gateUp.withUnsafeMutableBufferPointer { y in
                matrices.gateUp.multiply(h.baseAddress!, into: y.baseAddress!)
                swiGLU(gate: y.baseAddress!, up: y.baseAddress! + ffn, count: ffn)
            } }
            gateUp.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { y in
                matrices.down.multiply(a.baseAddress!, into: y.baseAddress!, accumulate: true)
            } }
            lap(\.weightNanoseconds)
        }
        x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in model.weights.outputNorm.withUnsafeBufferPointer {
            rmsNorm(x.baseAddress!, weight: $0.baseAddress!, epsilon: c.rmsNormEpsilon, into: out.baseAddress!, count: hidden)
        } } }
        normed.withUnsafeBufferPointer { h in logits.withUnsafeMutableBufferPointer { logits in
            if model.decodeWeights == .compact, let head = model.weights.outputHead {
                head.multiply(h.baseAddress!, into: logits.baseAddress!)
            } else {
                model.lmHead(h.baseAddress!, into: logits.baseAddress!)
            }
        } }
        lap(\.logitsNanoseconds)
    }
}
