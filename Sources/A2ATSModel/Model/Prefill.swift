import A2ATSTensor
import Foundation

/// The result of running a prompt with full attention: the cache every method forks from,
/// the statistics eviction methods asked for, and the logits that pick the first new token.
public final class PrefillResult {
    public let tokens: [Int]
    public let cache: KVCache
    public let statistics: PrefillStatistics
    /// Logits at the last prompt position (`vocab`).
    public let lastLogits: [Float]
    /// Logits at every prompt position (`tokens.count × vocab`), when asked for.
    public let allLogits: [Float]?
    public let seconds: Double

    init(tokens: [Int], cache: KVCache, statistics: PrefillStatistics, lastLogits: [Float], allLogits: [Float]?,
         seconds: Double) {
        self.tokens = tokens
        self.cache = cache
        self.statistics = statistics
        self.lastLogits = lastLogits
        self.allLogits = allLogits
        self.seconds = seconds
    }
}

/// Whether observed queries are rotated yet.
public enum QueryStage: Sendable { case beforeRoPE, afterRoPE }

/// Sees one layer's prompt queries during prefill: `(layer, stage, rows, rowStride, count)`;
/// each row starts with `headCount × headDim` query values.
public typealias QueryObserver = (_ layer: Int, _ stage: QueryStage, _ rows: UnsafePointer<Float>,
                                  _ rowStride: Int, _ count: Int) -> Void

extension LlamaModel {
    /// Runs `tokens` through the model with full causal attention into a new cache with room
    /// for `extraCapacity` decoded tokens.
    /// `queryObserver` sees every layer's queries (`count` rows of `headCount × headDim` at
    /// `stride`), before and after RoPE — what A²ATS calibration collects.
    public func prefill(_ tokens: [Int], extraCapacity: Int = 0, needs: PrefillNeeds = .none,
                        allLogits wantAllLogits: Bool = false,
                        queryObserver: QueryObserver? = nil) throws -> PrefillResult {
        let start = Date()
        let n = tokens.count
        guard n > 0 else { throw ModelError.emptyPrompt }
        guard n + extraCapacity <= config.maxPositions else {
            throw ModelError.contextTooLong(tokens: n + extraCapacity, maxPositions: config.maxPositions)
        }
        let hidden = config.hiddenSize, ffn = config.intermediateSize
        let qkvWidth = self.qkvWidth, attentionWidth = config.headCount * config.headDim
        let cache = KVCache(layerCount: config.layerCount, kvHeadCount: config.kvHeadCount,
                            headDim: config.headDim, capacity: n + extraCapacity)
        cache.append(count: n)
        let statistics = PrefillStatistics(layerCount: config.layerCount, headCount: config.headCount,
                                           promptLength: n, needs: needs, headDim: config.headDim)
        let angles = rope.table(start: 0, count: n)

        var x = [Float](repeating: 0, count: n * hidden)
        var normed = [Float](repeating: 0, count: n * hidden)
        var qkv = [Float](repeating: 0, count: n * qkvWidth)
        var attention = [Float](repeating: 0, count: n * attentionWidth)
        var gateUp = [Float](repeating: 0, count: n * 2 * ffn)
        var activated = [Float](repeating: 0, count: n * ffn)
        let attentionPass = PrefillAttention(config: config, blockRows: Self.prefillBlockRows)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: attentionPass.scratchCount(count: n))
        defer { scratch.deallocate() }

        x.withUnsafeMutableBufferPointer { embed(tokens, into: $0.baseAddress!) }
        for layer in 0..<config.layerCount {
            let w = weights.layers[layer]
            x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in
                w.attentionNorm.withUnsafeBufferPointer { weight in
                    for row in 0..<n {
                        rmsNorm(x.baseAddress! + row * hidden, weight: weight.baseAddress!, epsilon: config.rmsNormEpsilon,
                                into: out.baseAddress! + row * hidden, count: hidden)
                    }
                }
            } }
            normed.withUnsafeBufferPointer { a in qkv.withUnsafeMutableBufferPointer { c in
                w.prefill.qkv.multiplyBatch(m: n, a: a.baseAddress!, lda: hidden, c: c.baseAddress!, ldc: qkvWidth)
                w.addQKVBias(c.baseAddress!, count: n, stride: qkvWidth)
            } }
            qkv.withUnsafeBufferPointer { queryObserver?(layer, .beforeRoPE, $0.baseAddress!, qkvWidth, n) }
            qkv.withUnsafeMutableBufferPointer { qkv in angles.cos.withUnsafeBufferPointer { cos in
                angles.sin.withUnsafeBufferPointer { sin in
                    let half = config.headDim / 2
                    for row in 0..<n {
                        storeKeysAndValues(qkvRow: qkv.baseAddress! + row * qkvWidth, layer: layer, position: row,
                                           cache: cache, cos: cos.baseAddress! + row * half, sin: sin.baseAddress! + row * half)
                    }
                }
            } }
            qkv.withUnsafeBufferPointer { queryObserver?(layer, .afterRoPE, $0.baseAddress!, qkvWidth, n) }
            if statistics.observedQueryCount > 0 {
                let first = n - statistics.observedQueryCount
                qkv.withUnsafeBufferPointer { qkv in statistics.withObservedQueries(layer: layer) { out in
                    for row in first..<n {
                        (out + (row - first) * attentionWidth).update(from: qkv.baseAddress! + row * qkvWidth, count: attentionWidth)
                    }
                } }
            }
            qkv.withUnsafeBufferPointer { q in attention.withUnsafeMutableBufferPointer { out in
                attentionPass.run(queries: q.baseAddress!, queryStride: qkvWidth, count: n, layer: layer, cache: cache,
                                  statistics: statistics, scratch: scratch, output: out.baseAddress!)
            } }
            attention.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { c in
                w.prefill.output.multiplyBatch(m: n, a: a.baseAddress!, lda: attentionWidth, beta: 1, c: c.baseAddress!,
                                               ldc: hidden)
            } }
            x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in
                w.ffnNorm.withUnsafeBufferPointer { weight in
                    for row in 0..<n {
                        rmsNorm(x.baseAddress! + row * hidden, weight: weight.baseAddress!, epsilon: config.rmsNormEpsilon,
                                into: out.baseAddress! + row * hidden, count: hidden)
                    }
                }
            } }
            normed.withUnsafeBufferPointer { a in gateUp.withUnsafeMutableBufferPointer { c in
                w.prefill.gateUp.multiplyBatch(m: n, a: a.baseAddress!, lda: hidden, c: c.baseAddress!, ldc: 2 * ffn)
            } }
            gateUp.withUnsafeMutableBufferPointer { gu in activated.withUnsafeMutableBufferPointer { act in
                for row in 0..<n {
                    let gate = gu.baseAddress! + row * 2 * ffn
                    swiGLU(gate: gate, up: gate + ffn, count: ffn)
                    (act.baseAddress! + row * ffn).update(from: gate, count: ffn)
                }
            } }
            activated.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { c in
                w.prefill.down.multiplyBatch(m: n, a: a.baseAddress!, lda: ffn, beta: 1, c: c.baseAddress!, ldc: hidden)
            } }
        }

        // Final norm and LM head: only the last row unless every position's logits are wanted.
        let firstLogitRow = wantAllLogits ? 0 : n - 1
        let logitRows = n - firstLogitRow
        var logits = [Float](repeating: 0, count: logitRows * config.vocabSize)
        x.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { out in
            weights.outputNorm.withUnsafeBufferPointer { weight in
                for row in firstLogitRow..<n {
                    rmsNorm(x.baseAddress! + row * hidden, weight: weight.baseAddress!, epsilon: config.rmsNormEpsilon,
                            into: out.baseAddress! + (row - firstLogitRow) * hidden, count: hidden)
                }
            }
        } }
        normed.withUnsafeBufferPointer { a in logits.withUnsafeMutableBufferPointer { c in
            let head = weights.lmHead ?? weights.embedding
            // A mapped head would be dequantized whole for a few rows: the decode kernels read its
            // compact blocks instead.
            if head.resident == nil, logitRows < 16, let compact = weights.outputHead {
                compact.multiply(count: logitRows, a.baseAddress!, xStride: hidden, into: c.baseAddress!, yStride: config.vocabSize)
            } else {
                head.multiplyBatch(m: logitRows, a: a.baseAddress!, lda: hidden, c: c.baseAddress!, ldc: config.vocabSize)
            }
        } }
        let last = Array(logits[(logitRows - 1) * config.vocabSize ..< logitRows * config.vocabSize])
        return PrefillResult(tokens: tokens, cache: cache, statistics: statistics, lastLogits: last,
                             allLogits: wantAllLogits ? logits : nil, seconds: Date().timeIntervalSince(start))
    }
}
