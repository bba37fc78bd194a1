import A2ATSModel
import A2ATSTensor

/// ThinK, "Thinner Key Cache by Query-Driven Pruning" (arXiv 2407.21018; code
/// SalesforceAIResearch/ThinK, read at d200577, `ThinK_flash/src/kv_pruning_utils.py` L11-27).
/// Each key channel c is scored by mean_obs(q_c²) · mean_t(k_c²) — the last `window` prompt
/// queries against every kept key, post-RoPE, which ranks channels as the paper's
/// ‖Q_obs[:, c] K[:, c]ᵀ‖_F does — and the int(λ·d) lowest channels of the prompt's keys are
/// dropped. The last `window` prompt tokens and every decoded key stay whole; the mask is fixed
/// at prefill; values are not pruned (the official code never prunes them). A pruned key is
/// scored with the query's kept channels and the full head's 1/√d, as the reference does.
/// Reference settings: λ = 0.4, window 32 (`run_longbench.py` L353-357).
///
/// GQA: the reference repeats K/V per query head and masks each; a per-query-head copy would
/// store G times the keys, so here one mask serves a KV head, the query scores summed over its
/// group (NVIDIA kvpress's ThinKPress averages them, the same ranking).
public enum ThinK {
    public static let parameterSpecs = [
        ParameterSpec(name: "ratio", defaultValue: "0.4", help: "λ: fraction of key channels pruned",
                      type: .number(0...0.95)),
        ParameterSpec(name: "window", defaultValue: "32", help: "last prompt queries that score channels; those tokens stay whole",
                      type: .integer(1...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        storeMethod: "think", summary: "prunes the key channels the last prompt queries use least", kind: .channel,
        parameters: parameterSpecs
    ) { parameters, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "think")
        return ChannelPrunedStore(model: context.model, ratio: p.double("ratio"), window: p.int("window"))
    }
}

/// Keys with fewer channels for the pruned tokens, the rest read from the shared rows.
final class ChannelPrunedStore: KVStore {
    let window: Int
    let keptChannels: Int
    private let model: ModelConfig
    /// Per (layer, KV head): kept channel indices (ascending), the pruned keys (`keptChannels`
    /// floats per token) and each cache position's row in them (−1: whole).
    private var channels: [[Int32]], pruned: [[Float]], slots: [[Int32]]
    private var gathered: [Float]

    init(model: ModelConfig, ratio: Double, window: Int) {
        self.model = model
        self.window = window
        keptChannels = model.headDim - Int(ratio * Double(model.headDim))
        let count = model.layerCount * model.kvHeadCount
        channels = Array(repeating: [], count: count)
        pruned = Array(repeating: [], count: count)
        slots = Array(repeating: [], count: count)
        gathered = []
    }

    var prefillNeeds: PrefillNeeds { PrefillNeeds(observedQueries: window) }

    /// The channels ThinK keeps for one KV head: the `keptChannels` highest scores, ties to the lower index.
    static func keptChannels(queries: UnsafeBufferPointer<Float>, rows: Int, heads: Range<Int>, headCount: Int,
                             keys: UnsafePointer<Float>, tokens: [Int32], headDim d: Int, keep: Int) -> [Int32] {
        var queryEnergy = [Double](repeating: 0, count: d), keyEnergy = [Double](repeating: 0, count: d)
        for r in 0..<rows {
            for h in heads { for c in 0..<d { let q = Double(queries[(r * headCount + h) * d + c]); queryEnergy[c] += q * q } }
        }
        for t in tokens { for c in 0..<d { let k = Double(keys[Int(t) * d + c]); keyEnergy[c] += k * k } }
        let scores = (0..<d).map { queryEnergy[$0] / Double(max(rows, 1)) * keyEnergy[$0] / Double(max(tokens.count, 1)) }
        let order = (0..<d).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return order.prefix(keep).sorted().map { Int32($0) }
    }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {
        let n = cache.length, d = model.headDim, g = model.groupSize
        // A shared prefill may have recorded more queries for another fork: score with the last `window`.
        let rows = min(window, statistics.observedQueryCount)
        guard rows > 0 else { throw MethodError.missingStatistics(method: "think", layer: layer, needed: "the last prompt queries") }
        let all = statistics.observedQueries(layer: layer)
        let queries = UnsafeBufferPointer(rebasing: all[((statistics.observedQueryCount - rows) * model.headCount * d)...])
        for kvHead in 0..<model.kvHeadCount {
            let at = layer * model.kvHeadCount + kvHead
            let keys = cache.keys(layer: layer, kvHead: kvHead)
            let kept = resident[kvHead] ?? (0..<Int32(n)).map { $0 }
            let keepList = Self.keptChannels(queries: queries, rows: rows, heads: (kvHead * g)..<((kvHead + 1) * g),
                                                 headCount: model.headCount, keys: keys, tokens: kept, headDim: d, keep: keptChannels)
            channels[at] = keepList
            slots[at] = [Int32](repeating: -1, count: cache.capacity)
            var rowsOut: [Float] = []
            for position in kept where Int(position) < n - window {
                slots[at][Int(position)] = Int32(rowsOut.count / keptChannels)
                for c in keepList { rowsOut.append(keys[Int(position) * d + Int(c)]) }
            }
            pruned[at] = rowsOut
        }
    }

    func didAppend(layer: Int, cache: KVCache) {}

    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        let at = layer * model.kvHeadCount + kvHead, d = model.headDim, kept = keptChannels
        output.update(repeating: 0, count: groupSize * d)
        guard count > 0 else { return }
        if gathered.count < groupSize * kept { gathered = [Float](repeating: 0, count: groupSize * kept) }
        let keys = cache.keys(layer: layer, kvHead: kvHead), values = cache.values(layer: layer, kvHead: kvHead)
        let scale = 1 / Float(d).squareRoot()
        gathered.withUnsafeMutableBufferPointer { gathered in channels[at].withUnsafeBufferPointer { channels in
        pruned[at].withUnsafeBufferPointer { pruned in slots[at].withUnsafeBufferPointer { slots in
            let q = gathered.baseAddress!
            for h in 0..<groupSize { for (i, c) in channels.enumerated() { q[h * kept + i] = queries[h * d + Int(c)] } }
            for i in 0..<count {
                let position = rows.map { Int($0[i]) } ?? i
                let slot = Int(slots[position])
                for h in 0..<groupSize {
                    weights[h * stride + i] = scale * (slot >= 0 ? dot(q + h * kept, pruned.baseAddress! + slot * kept, kept)
                                                                  : dot(queries + h * d, keys + position * d, d))
                }
            }
            for h in 0..<groupSize { softmaxInPlace(weights + h * stride, count) }
            for i in 0..<count {
                let position = rows.map { Int($0[i]) } ?? i
                for h in 0..<groupSize { accumulate(weights[h * stride + i], values + position * d, into: output + h * d, d) }
            }
        } } } }
    }

    /// The kept channels of one head (tests).
    func keptChannelList(layer: Int, kvHead: Int) -> [Int32] { channels[layer * model.kvHeadCount + kvHead] }

    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        let float = MemoryLayout<Float>.size, d = model.headDim
        var total = 0
        for layer in 0..<model.layerCount {
            for kvHead in 0..<model.kvHeadCount {
                let slots = self.slots[layer * model.kvHeadCount + kvHead]
                for position in resident(layer, kvHead) ?? (0..<Int32(cache.length)).map({ $0 }) {
                    total += (slots[Int(position)] >= 0 ? keptChannels : d) * float + d * float
                }
            }
        }
        return total
    }

    var sideBytes: Int { channels.reduce(0) { $0 + $1.count } * MemoryLayout<Int32>.size }

    func promptBytesPerHead(keeping tokens: Int, headDim d: Int) -> Int {
        let float = MemoryLayout<Float>.size, whole = min(tokens, window)
        return (tokens - whole) * keptChannels * float + whole * d * float + tokens * d * float
    }
}
