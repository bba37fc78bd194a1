import A2ATSTensor
import Foundation

/// Runs decode steps one token at a time over a prefilled cache, with preallocated scratch so
/// the per-token loop does not allocate.
final class Decoder {
    private let model: LlamaModel
    private let attention: DecodeAttention
    private var x: [Float], normed: [Float], qkv: [Float], preRoPEQueries: [Float]
    private var attended: [Float], gateUp: [Float]
    private(set) var logits: [Float]
    /// Σ over steps, layers and KV heads of tokens read; `readSlots` counts the terms.
    private(set) var tokensRead = 0
    private(set) var readSlots = 0

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
    }

    /// Feeds `token` at the next cache position; the next-token logits land in `logits`.
    func step(token: Int, cache: KVCache, method: CacheMethod?) {
        let c = model.config
        let hidden = c.hiddenSize, ffn = c.intermediateSize, d = c.headDim
        let position = cache.length
        cache.append(count: 1)
        let angles = model.rope.table(start: position, count: 1)
        x.withUnsafeMutableBufferPointer { model.embed([token], into: $0.baseAddress!) }
        for layer in 0..<c.layerCount {
            let w = model.weights.layers[layer]
            let matrices = model.decodeWeights == .compact ? w.decode : w.denseDecode
            x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in w.attentionNorm.withUnsafeBufferPointer {
                rmsNorm(x.baseAddress!, weight: $0.baseAddress!, epsilon: c.rmsNormEpsilon, into: out.baseAddress!, count: hidden)
            } } }
            normed.withUnsafeBufferPointer { h in qkv.withUnsafeMutableBufferPointer { y in
                matrices.qkv.multiply(h.baseAddress!, into: y.baseAddress!)
            } }
            qkv.withUnsafeMutableBufferPointer { qkv in preRoPEQueries.withUnsafeMutableBufferPointer { pre in
                pre.baseAddress!.update(from: qkv.baseAddress!, count: c.headCount * d)
                angles.cos.withUnsafeBufferPointer { cos in angles.sin.withUnsafeBufferPointer { sin in
                    model.storeKeysAndValues(qkvRow: qkv.baseAddress!, layer: layer, position: position, cache: cache,
                                             cos: cos.baseAddress!, sin: sin.baseAddress!)
                } }
                let query = DecodeQuery(layer: layer, position: position, queries: UnsafePointer(qkv.baseAddress!),
                                        preRoPEQueries: UnsafePointer(pre.baseAddress!))
                attended.withUnsafeMutableBufferPointer { out in
                    tokensRead += attention.run(query, cache: cache, method: method, output: out.baseAddress!)
                }
            } }
            readSlots += c.kvHeadCount
            attended.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { y in
                matrices.output.multiply(a.baseAddress!, into: y.baseAddress!, accumulate: true)
            } }
            x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in w.ffnNorm.withUnsafeBufferPointer {
                rmsNorm(x.baseAddress!, weight: $0.baseAddress!, epsilon: c.rmsNormEpsilon, into: out.baseAddress!, count: hidden)
            } } }
            normed.withUnsafeBufferPointer { h in gateUp.withUnsafeMutableBufferPointer { y in
                matrices.gateUp.multiply(h.baseAddress!, into: y.baseAddress!)
                swiGLU(gate: y.baseAddress!, up: y.baseAddress! + ffn, count: ffn)
            } }
            gateUp.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { y in
                matrices.down.multiply(a.baseAddress!, into: y.baseAddress!, accumulate: true)
            } }
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
    }
}
