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
        try generate(from: prefill, methods: [method], maxNewTokens: maxNewTokens, stopTokens: stopTokens)[0]
    }

    /// Greedy decoding of several forks of one prefill together, one per entry of `methods` (nil =
    /// full attention): `prepareFork` for each (a lone method runs on the shared cache itself), then
    /// `generate(from:forks:…)`.
    public func generate(from prefill: PrefillResult, methods: [CacheMethod?], maxNewTokens: Int,
                         stopTokens: Set<Int>, whileForksLive: (() -> Void)? = nil) throws -> [Generation] {
        let forks = try methods.map { try prepareFork(from: prefill, method: $0, alone: methods.count == 1, maxNewTokens: maxNewTokens) }
        return generate(from: prefill, forks: forks, maxNewTokens: maxNewTokens, stopTokens: stopTokens,
                        whileForksLive: whileForksLive)
    }

    /// Forks `prefill` under `method` (nil = full attention) and does the method's one-off work
    /// (`didPrefill` of the method and its store), so that a caller can see what the fork holds
    /// before it adds another to a batch. `alone`: the fork runs on the shared cache itself (cut back
    /// to the prompt; no other fork may live beside it); otherwise it shares the prompt's pages
    /// copy-on-write and keeps its decoded rows its own.
    public func prepareFork(from prefill: PrefillResult, method: CacheMethod?, alone: Bool,
                            maxNewTokens: Int) throws -> PreparedFork {
        let start = Date()
        let shared = prefill.cache
        shared.truncate(to: prefill.tokens.count)
        precondition(prefill.tokens.count + maxNewTokens - 1 <= shared.capacity, "prefill made without room to decode")
        let cache = alone ? shared : shared.fork()
        let store = method?.kvStore ?? DenseKVStore()
        for layer in 0..<config.layerCount {
            try method?.didPrefill(layer: layer, cache: cache, statistics: prefill.statistics)
            let resident = (0..<config.kvHeadCount).map { method?.residentTokens(layer: layer, kvHead: $0) }
            try store.didPrefill(layer: layer, cache: cache, statistics: prefill.statistics, resident: resident)
        }
        return PreparedFork(fork: DecodeFork(cache: cache, method: method, store: store), seconds: Date().timeIntervalSince(start))
    }

    /// Greedy decoding of prepared forks of one prefill together: each step reads the weights once
    /// for every fork still decoding, while each fork attends over its own cache through its own
    /// method and store. Each fork's tokens, attended tokens and bytes equal a decode of that method
    /// alone; its `seconds` are its own fork work and attention plus its share of the steps'
    /// weights, logits and the rest (divided by the forks that stepped together). `whileForksLive`
    /// runs after the last step, while every fork still holds its pages (what the runner samples
    /// memory at). Stops at a stop token or after `maxNewTokens`.
    public func generate(from prefill: PrefillResult, forks prepared: [PreparedFork], maxNewTokens: Int,
                         stopTokens: Set<Int>, whileForksLive: (() -> Void)? = nil) -> [Generation] {
        let shared = prefill.cache
        let forks = prepared.map { (fork: $0.fork, seconds: $0.seconds) }
        let methods = prepared.map { $0.fork.method }
        let decoder = Decoder(model: self, capacity: shared.capacity, batch: max(1, methods.count))
        let first = prefill.lastLogits.withUnsafeBufferPointer { argmax($0) }
        var generated = [[Int]](repeating: [], count: methods.count)
        var next = [Int](repeating: first, count: methods.count)
        var stepping = Array(methods.indices)
        while true {
            stepping = stepping.filter { i in
                guard !stopTokens.contains(next[i]) && generated[i].count < maxNewTokens else { return false }
                generated[i].append(next[i])
                return generated[i].count < maxNewTokens
            }
            if stepping.isEmpty { break }
            decoder.step(tokens: stepping.map { next[$0] }, forks: stepping.map { forks[$0].fork })
            decoder.logits.withUnsafeBufferPointer { logits in
                for (row, i) in stepping.enumerated() {
                    next[i] = argmax(UnsafeBufferPointer(rebasing: logits[row * config.vocabSize ..< (row + 1) * config.vocabSize]))
                }
            }
        }
        whileForksLive?()
        return zip(forks, generated).map { entry, tokens in
            let (fork, forkSeconds) = entry
            let method = fork.method
            // K/V bytes come from the store, for the tokens the method still keeps.
            let memory = MemoryFootprint(
                kvBytes: fork.store.kvBytes(cache: fork.cache) { method?.residentTokens(layer: $0, kvHead: $1) },
                sideBytes: (method?.sideBytes(cache: fork.cache) ?? 0) + fork.store.sideBytes)
            let steps = fork.readSlots / max(1, config.kvHeadCount * config.layerCount)
            let b = fork.breakdown
            let stepNanoseconds = b.weightNanoseconds + b.attentionNanoseconds + b.logitsNanoseconds + b.otherNanoseconds
            return Generation(tokens: tokens,
                              attendedTokens: fork.readSlots == 0 ? 0 : Double(fork.tokensRead) / Double(fork.readSlots),
                              decodeSteps: steps, memory: memory, seconds: forkSeconds + Double(stepNanoseconds) / 1e9,
                              selectionSeconds: Double(fork.selectionNanoseconds) / 1e9, breakdown: b,
                              forkSeconds: forkSeconds)
        }
    }
}

/// A fork of a prefill under one method, its one-off work done, ready to decode (see
/// `LlamaModel.prepareFork`).
public final class PreparedFork {
    let fork: DecodeFork
    /// The one-off work's time (`didPrefill` of the method and its store).
    let seconds: Double

    init(fork: DecodeFork, seconds: Double) {
        self.fork = fork
        self.seconds = seconds
    }
}
