import A2ATSTensor
import Foundation

/// What one greedy continuation produced and what it cost.
public struct Generation {
    /// New tokens, the stop token excluded.
    public var tokens: [Int]
    /// Mean over decode steps, layers and KV heads of distinct cached tokens read
    /// (0 when generation stopped before any decode step).
    public var attendedTokens: Double
    public var decodeSteps: Int
    public var memory: MemoryFootprint
    /// Decode time (the shared prefill is not included).
    public var seconds: Double
    /// Of `seconds`, the time the method spent in `select` (0 for full attention).
    public var selectionSeconds: Double
    /// Where the decode steps' time went (weights, attention, logits, the rest).
    public var breakdown: DecodeBreakdown
    /// Of `seconds`, the one-off work before the first step: the method's and its store's
    /// `didPrefill` (encoding the prompt's keys, building indexes), prefill-side work in serving.
    public var forkSeconds: Double
}

/// Decode time by part, summed over steps, for benchmarks that must say where a step's time
/// goes: the layers' weight products, attention (the method's selection, K/V append and read
/// included), the LM head, and the rest (norms, RoPE, embedding row, activation).
public struct DecodeBreakdown: Sendable {
    public var weightNanoseconds: UInt64 = 0
    public var attentionNanoseconds: UInt64 = 0
    public var logitsNanoseconds: UInt64 = 0
    public var otherNanoseconds: UInt64 = 0
    public init() {}
}

extension LlamaModel {
    /// Greedy decoding from a shared prefill under `method` (nil = full attention). The cache is
    /// first cut back to the prompt, so several methods can fork from one prefill in turn; what
    /// attention reads comes from the method's `kvStore` (dense rows when it has none).
    /// Stops at a stop token or after `maxNewTokens`.
    public func generate(from prefill: PrefillResult, method: CacheMethod?, maxNewTokens: Int,
                         stopTokens: Set<Int>) throws -> Generation {
        let start = Date()
        let cache = prefill.cache
        let promptLength = prefill.tokens.count
        cache.truncate(to: promptLength)
        precondition(promptLength + maxNewTokens - 1 <= cache.capacity, "prefill made without room to decode")
        let store = method?.kvStore ?? DenseKVStore()
        let forkStart = Date()
        for layer in 0..<config.layerCount {
            try method?.didPrefill(layer: layer, cache: cache, statistics: prefill.statistics)
            let resident = (0..<config.kvHeadCount).map { method?.residentTokens(layer: layer, kvHead: $0) }
            try store.didPrefill(layer: layer, cache: cache, statistics: prefill.statistics, resident: resident)
        }
        let forkSeconds = Date().timeIntervalSince(forkStart)
        let decoder = Decoder(model: self, capacity: cache.capacity)
        var generated: [Int] = []
        var next = prefill.lastLogits.withUnsafeBufferPointer { argmax($0) }
        while !stopTokens.contains(next) && generated.count < maxNewTokens {
            generated.append(next)
            if generated.count == maxNewTokens { break }
            decoder.step(token: next, cache: cache, method: method, store: store)
            next = decoder.logits.withUnsafeBufferPointer { argmax($0) }
        }
        // K/V bytes come from the store, for the tokens the method still keeps.
        let memory = MemoryFootprint(kvBytes: store.kvBytes(cache: cache) { method?.residentTokens(layer: $0, kvHead: $1) },
                                     sideBytes: (method?.sideBytes(cache: cache) ?? 0) + store.sideBytes)
        let steps = decoder.readSlots / max(1, config.kvHeadCount * config.layerCount)
        return Generation(tokens: generated,
                          attendedTokens: decoder.readSlots == 0 ? 0 : Double(decoder.tokensRead) / Double(decoder.readSlots),
                          decodeSteps: steps, memory: memory, seconds: Date().timeIntervalSince(start),
                          selectionSeconds: decoder.selectionSeconds, breakdown: decoder.breakdown,
                          forkSeconds: forkSeconds)
    }
}
