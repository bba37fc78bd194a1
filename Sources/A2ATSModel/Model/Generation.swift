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
}

extension LlamaModel {
    /// Greedy decoding from a shared prefill under `method` (nil = full attention). The cache is
    /// first cut back to the prompt, so several methods can fork from one prefill in turn.
    /// Stops at a stop token or after `maxNewTokens`.
    public func generate(from prefill: PrefillResult, method: CacheMethod?, maxNewTokens: Int,
                         stopTokens: Set<Int>) throws -> Generation {
        let start = Date()
        let cache = prefill.cache
        let promptLength = prefill.tokens.count
        cache.truncate(to: promptLength)
        precondition(promptLength + maxNewTokens - 1 <= cache.capacity, "prefill made without room to decode")
        if let method {
            for layer in 0..<config.layerCount {
                try method.didPrefill(layer: layer, cache: cache, statistics: prefill.statistics)
            }
        }
        let decoder = Decoder(model: self, capacity: cache.capacity)
        var generated: [Int] = []
        var next = prefill.lastLogits.withUnsafeBufferPointer { argmax($0) }
        while !stopTokens.contains(next) && generated.count < maxNewTokens {
            generated.append(next)
            if generated.count == maxNewTokens { break }
            decoder.step(token: next, cache: cache, method: method)
            next = decoder.logits.withUnsafeBufferPointer { argmax($0) }
        }
        let memory = method?.memoryFootprint(cache: cache)
            ?? MemoryFootprint(kvBytes: cache.length * cache.bytesPerToken, sideBytes: 0)
        let steps = decoder.readSlots / max(1, config.kvHeadCount * config.layerCount)
        return Generation(tokens: generated,
                          attendedTokens: decoder.readSlots == 0 ? 0 : Double(decoder.tokensRead) / Double(decoder.readSlots),
                          decodeSteps: steps, memory: memory, seconds: Date().timeIntervalSince(start))
    }
}
