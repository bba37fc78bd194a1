import A2ATSModel
import A2ATSTensor

/// How a statistic measured per query head becomes one score per KV head under GQA.
enum GroupReduction: String, CaseIterable, Sendable {
    case mean, max
}

/// The state every eviction method shares, so that each method mostly defines a score (the
/// kvpress "scorer" design): per (layer, KV head) the ascending list of cache indices still kept,
/// and per kept token `slotsPerToken` floats of the method's running statistic (H2O's accumulated
/// attention, TOVA's last attention, CORM's recent-attention ring).
///
/// Eviction is logical: the shared `KVCache` keeps every row so that forks can reuse one prefill;
/// the method only ever lets attention read its kept rows, and `resident` tells the fork's store
/// what a real evicting cache would hold.
///
/// Budget rules (contract, "Budgets and accounting"): B is per KV head and the method's protected
/// sinks and recent window count inside B. If B ≥ the prompt length a layer keeps everything,
/// generated tokens included, so the method behaves as full attention. Generated tokens join the
/// kept set as they come; methods that evict while decoding call `evictLowest` to stay within B.
final class ScoredEviction {
    let layerCount: Int
    let kvHeadCount: Int
    let headDim: Int
    let budget: Int
    let slotsPerToken: Int
    private var kept: [[Int32]]
    private var slots: [[Float]]
    private var keepsAll: [Bool]
    private var appendedUpTo: [Int]

    init(model: ModelConfig, budget: Int, slotsPerToken: Int = 0) {
        layerCount = model.layerCount
        kvHeadCount = model.kvHeadCount
        headDim = model.headDim
        self.budget = budget
        self.slotsPerToken = slotsPerToken
        kept = Array(repeating: [], count: model.layerCount * model.kvHeadCount)
        slots = Array(repeating: [], count: model.layerCount * model.kvHeadCount)
        keepsAll = Array(repeating: false, count: model.layerCount)
        appendedUpTo = Array(repeating: 0, count: model.layerCount)
    }

    /// Starts a layer after prefill; returns true (and keeps everything from now on) when the
    /// budget covers the whole prompt.
    func startLayer(_ layer: Int, promptLength: Int, budget layerBudget: Int? = nil) -> Bool {
        appendedUpTo[layer] = promptLength
        keepsAll[layer] = (layerBudget ?? budget) >= promptLength
        return keepsAll[layer]
    }

    /// Sets the kept tokens (ascending) of one head and their statistic slots (`indices.count ×
    /// slotsPerToken`, or empty for zeros).
    func keep(layer: Int, kvHead: Int, indices: [Int32], slots initial: [Float] = []) {
        let at = layer * kvHeadCount + kvHead
        kept[at] = indices
        slots[at] = initial.isEmpty ? [Float](repeating: 0, count: indices.count * slotsPerToken) : initial
        precondition(slots[at].count == indices.count * slotsPerToken)
    }

    func isKeepingAll(layer: Int) -> Bool { keepsAll[layer] }

    func keptIndices(layer: Int, kvHead: Int) -> [Int32] { kept[layer * kvHeadCount + kvHead] }

    /// The prefill rule: `sinks` first tokens, the `window` last ones, and the best-scored of the
    /// rest, all within `budget` (sinks first, then window, then heavy hitters). `scores` has one
    /// value per prompt token; values of sinks and window are ignored. Ties go to the lower index.
    static func chooseKept(scores: [Float], budget: Int, sinks: Int, window: Int) -> [Int32] {
        let n = scores.count
        guard budget < n else { return (0..<n).map { Int32($0) } }
        let sinkCount = min(sinks, budget)
        let windowCount = min(window, budget - sinkCount)
        let heavyCount = budget - sinkCount - windowCount
        let candidateCount = n - windowCount - sinkCount
        var heavy = [Int32](repeating: 0, count: heavyCount)
        let found = scores.withUnsafeBufferPointer { s in
            heavy.withUnsafeMutableBufferPointer { h in
                TopKSelector(capacity: candidateCount).select(s.baseAddress! + sinkCount, count: candidateCount, k: heavyCount,
                                                              indexOffset: Int32(sinkCount), into: h.baseAddress!)
            }
        }
        heavy.removeLast(heavyCount - found)
        return (0..<sinkCount).map { Int32($0) } + heavy + ((n - windowCount)..<n).map { Int32($0) }
    }

    /// Adds the tokens decoded since the last call (positions up to `cacheLength`) to every head's
    /// kept set, with zeroed statistic slots.
    func appendNewTokens(layer: Int, cacheLength: Int) {
        guard !keepsAll[layer], appendedUpTo[layer] < cacheLength else { return }
        for kvHead in 0..<kvHeadCount {
            let at = layer * kvHeadCount + kvHead
            for position in appendedUpTo[layer]..<cacheLength {
                kept[at].append(Int32(position))
                slots[at].append(contentsOf: repeatElement(0, count: slotsPerToken))
            }
        }
        appendedUpTo[layer] = cacheLength
    }

    /// While a head holds more than `limit` tokens, drops the non-protected one whose statistic
    /// ranks lowest (ties: the higher index goes, as top-k keeps the lower). Protected: positions
    /// below `sinks` and the last `window` positions of the cache.
    func evictLowest(layer: Int, kvHead: Int, limit: Int, cacheLength: Int, sinks: Int, window: Int,
                     rank: (UnsafeBufferPointer<Float>) -> Float) {
        let at = layer * kvHeadCount + kvHead
        let recentStart = cacheLength - window
        while kept[at].count > limit {
            var victim = -1
            var lowest = Float.infinity
            slots[at].withUnsafeBufferPointer { all in
                for (i, position) in kept[at].enumerated() where Int(position) >= sinks && Int(position) < recentStart {
                    let value = rank(UnsafeBufferPointer(rebasing: all[(i * slotsPerToken)..<((i + 1) * slotsPerToken)]))
                    if victim < 0 || value <= lowest {
                        victim = i
                        lowest = value
                    }
                }
            }
            guard victim >= 0 else { return }   // everything left is protected
            remove(at: victim, from: at)
        }
    }

    /// Drops every non-protected token whose statistic fails `keep` (CORM's threshold rule).
    func evictWhere(layer: Int, kvHead: Int, cacheLength: Int, sinks: Int, window: Int,
                    keep: (UnsafeBufferPointer<Float>) -> Bool) {
        let at = layer * kvHeadCount + kvHead
        let recentStart = cacheLength - window
        var i = kept[at].count - 1
        while i >= 0 {
            let position = Int(kept[at][i])
            if position >= sinks && position < recentStart {
                let passes = slots[at].withUnsafeBufferPointer {
                    keep(UnsafeBufferPointer(rebasing: $0[(i * slotsPerToken)..<((i + 1) * slotsPerToken)]))
                }
                if !passes { remove(at: i, from: at) }
            }
            i -= 1
        }
    }

    private func remove(at index: Int, from at: Int) {
        kept[at].remove(at: index)
        if slotsPerToken > 0 { slots[at].removeSubrange((index * slotsPerToken)..<((index + 1) * slotsPerToken)) }
    }

    /// Mutable statistic slots of one head, `kept.count × slotsPerToken`, lined up with the kept list
    /// (and so with the attention weights of a step whose selection was that list).
    func withSlots<R>(layer: Int, kvHead: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> R) -> R {
        slots[layer * kvHeadCount + kvHead].withUnsafeMutableBufferPointer { body($0) }
    }

    /// What each KV head of `layer` reads now.
    func selection(layer: Int) -> TokenSelection {
        guard !keepsAll[layer] else { return .all(kvHeads: kvHeadCount) }
        return TokenSelection(perKVHead: (0..<kvHeadCount).map { kept[layer * kvHeadCount + $0] })
    }

    /// The tokens one head keeps (nil while the layer keeps everything): what `kv_bytes` counts.
    func resident(layer: Int, kvHead: Int) -> [Int32]? {
        keepsAll[layer] ? nil : kept[layer * kvHeadCount + kvHead]
    }

    /// Bytes of the statistic slots.
    var sideBytes: Int { slots.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.size }

    /// Combines one statistic over the query heads of a GQA group: `value(head)` gives `count` values.
    static func reduce<C: RandomAccessCollection>(heads: Range<Int>, count: Int, mode: GroupReduction,
                                                  _ value: (_ head: Int) -> C) -> [Float]
    where C.Element == Float, C.Index == Int {
        var out = [Float](repeating: mode == .max ? -.infinity : 0, count: count)
        for head in heads {
            let row = value(head)
            precondition(row.count >= count)
            let start = row.startIndex
            for j in 0..<count { out[j] = mode == .max ? Swift.max(out[j], row[start + j]) : out[j] + row[start + j] }
        }
        if mode == .mean {
            let scale = 1 / Float(heads.count)
            for j in 0..<count { out[j] *= scale }
        }
        return out
    }
}
