import A2ATSModel
import A2ATSTensor
import Foundation

/// ActQKV, "Activation-aware Probe-Query: Effective Key-Value Retrieval for Long-Context LLMs
/// Inference" (arXiv 2502.13542; code MrXiaoaa/ActQKV, read at 175c84b: the Llama-3 config
/// `config/llama3-qllm-…-dynamic_dev.yaml` runs `actqkv_dev`, i.e.
/// `benchmark/actqkv/attention/context_manager_activate_3_dev.py`). Reference settings: 64 initial
/// tokens and a 512-token local window always read (`n_init`, `n_local`), a probe built over the
/// queries of a context window (256 at prefill, `exc_block_size`; one at decode), cosine similarity, an entropy history of
/// 100 steps per layer (`warmup_step`).
///
/// From the paper and its code:
/// - Activation bias (`activate`, L867-935): a query's channels scored by (q_c − μ_c)² /
///   (σ²_c + mean(σ²)/100), averaged over the channels of all heads; the window's tokens weigh
///   their queries by that bias, normalized to sum 1 (`calc_block_topk`, L840-845), and the
///   weighted sum is the probe (`get_topk`, L362).
/// - Retrieval by cosine similarity of keys to the probe (L370).
/// - Dynamic cut-off (`get_topk` L393-430, `adjust_tok_K` L466-500, `predict_current_budget`
///   L47-195): the normalized entropy H/log m of softmax over the m candidate scores measures a
///   layer's information density; the total budget L·B is handed out layer by layer, layer l
///   getting the remaining budget × (its mean entropy over the last 100 steps) / (the sum of those
///   means over the layers not yet served), clamped per layer (the code: 32 to 2·46 blocks around a
///   nominal 46).
///
/// Our adaptation to a per-step retrieval method (kind .retrieval, budget B per query head):
/// - Tokens, not InfLLM blocks: the code retrieves 32-token blocks by 4 representative keys each
///   and scores all heads as one concatenated vector; here each query head scores every cached
///   token outside the sinks and window and takes its top B_l (ties to the lower index), the union
///   over its GQA group read with the sinks and window on top.
/// - The probe: in the code decode steps see one query per chunk, so the probe is that query and
///   activation bias only acts at prefill, which is exact here. So by default (`probe_window=1`)
///   the probe is the step's own query, as the reference decodes. `probe_window=W` builds it
///   instead from the last W post-RoPE queries (the prompt's last ones, then each decode query
///   replacing the oldest), weighted by activation bias with μ and σ² over that window (the code
///   keeps running statistics over all chunks): the paper's probe carried over to decode. On
///   niah_multikey_1 at 4K (default model, 2 samples) W = 256 found 0 of 2 needles at 30%
///   attended while W = 1 found 2 of 2 at 3%, so it is an option, not the default. The prefill's
///   question term (weight 4 on the question's similarity, prefill only in the code) has no
///   counterpart.
/// - The cut-off: B_l ∈ [⌈B/2⌉, 2B] with Σ_l B_l = L·B exactly (the code does not carry the
///   remainder from layer to layer); it starts as soon as every layer has scored once (the code
///   waits for 100 samples, more steps than most tasks decode). Budgets are set at layer 0 of a
///   step from earlier steps' entropies. So one layer may read up to G·2B + sinks + window, and the
///   mean over layers stays within the contract's G·B + sinks + window.
public final class ActQKV: CacheMethod {
    /// How a key's relevance to the probe is measured.
    public enum Similarity: String, CaseIterable, Sendable {
        /// cos(probe, k), as the reference code scores.
        case cosine
        /// probe·k.
        case dot
    }

    public static let parameterSpecs = [
        ParameterSpec(name: "sinks", defaultValue: "64", help: "first tokens always read, on top of the budget (n_init)",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "window", defaultValue: "512", help: "most recent tokens always read, on top of the budget (n_local)",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "probe_window", defaultValue: "1", help: "recent queries whose activation-weighted sum is the probe (1: the step's own query, as the reference decodes)",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "similarity", defaultValue: "cosine", help: "cosine (reference) or dot",
                      type: .choice(Similarity.allCases.map(\.rawValue))),
        ParameterSpec(name: "dynamic", defaultValue: "true", help: "share L·B between layers by information density",
                      type: .boolean),
        ParameterSpec(name: "history", defaultValue: "100", help: "past steps of entropy a layer's share averages",
                      type: .integer(1...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "actqkv", summary: "activation-weighted probe of recent queries retrieves top-B per query head; entropy-driven layer budgets",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "actqkv")
        return ActQKV(model: context.model, budget: budget ?? 0, sinks: p.int("sinks"), window: p.int("window"),
                      probeWindow: p.int("probe_window"), similarity: p.choice("similarity", as: Similarity.self),
                      dynamic: p.bool("dynamic"), history: p.int("history"))
    }

    public let budget: Int
    public let sinks: Int
    public let window: Int
    public let probeWindow: Int
    public let similarity: Similarity
    public let dynamic: Bool
    public let history: Int
    private let layers: Int, heads: Int, kvHeads: Int, groupSize: Int, headDim: Int
    /// Floats of one query row: all heads' channels.
    private let channels: Int

    /// Per layer: up to `probeWindow` query rows (`channels` floats each), the oldest overwritten.
    private var queryRows: [Float]
    private var queryCount: [Int], queryNext: [Int]
    /// Per layer: the last `history` normalized entropies (mean over the layer's query heads), a ring.
    private var entropies: [Float]
    private var entropyCount: [Int], entropyNext: [Int]
    /// Per (layer, KV head): 1/‖k_j‖ for the first `normed[at]` cached keys (cosine only).
    private var inverseNorms: [[Float]]
    private var normed: [Int]
    /// This step's top-k per query head of each layer, and the decode position they were set for.
    public private(set) var layerBudgets: [Int]
    private var budgetPosition = -1
    // Scratch, sized once (no allocation per token).
    private var rowWeights: [Float], mean: [Float], variance: [Float], probe: [Float]
    private var scores: [Float] = [], picked: [Int32] = [], marks: [Bool] = []
    private var selector = TopKSelector()

    public init(model: ModelConfig, budget: Int, sinks: Int, window: Int, probeWindow: Int, similarity: Similarity,
                dynamic: Bool, history: Int) {
        self.budget = budget
        self.sinks = sinks
        self.window = window
        self.probeWindow = probeWindow
        self.similarity = similarity
        self.dynamic = dynamic
        self.history = history
        layers = model.layerCount
        heads = model.headCount
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = model.headDim
        channels = model.headCount * model.headDim
        queryRows = [Float](repeating: 0, count: layers * probeWindow * channels)
        queryCount = Array(repeating: 0, count: layers)
        queryNext = Array(repeating: 0, count: layers)
        entropies = [Float](repeating: 0, count: layers * history)
        entropyCount = Array(repeating: 0, count: layers)
        entropyNext = Array(repeating: 0, count: layers)
        inverseNorms = Array(repeating: [], count: layers * kvHeads)
        normed = Array(repeating: 0, count: layers * kvHeads)
        layerBudgets = Array(repeating: budget, count: layers)
        rowWeights = [Float](repeating: 0, count: probeWindow)
        mean = [Float](repeating: 0, count: channels)
        variance = [Float](repeating: 0, count: channels)
        probe = [Float](repeating: 0, count: channels)
    }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { PrefillNeeds(observedQueries: probeWindow) }

    /// Seeds the layer's probe window with the prompt's last queries.
    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let rows = min(probeWindow, statistics.observedQueryCount)
        guard rows > 0 else {
            throw MethodError.missingStatistics(method: "actqkv", layer: layer, needed: "the last prompt queries")
        }
        let observed = statistics.observedQueries(layer: layer)
        let skip = statistics.observedQueryCount - rows
        queryRows.withUnsafeMutableBufferPointer { all in
            for r in 0..<rows {
                (all.baseAddress! + (layer * probeWindow + r) * channels)
                    .update(from: observed.baseAddress! + (skip + r) * channels, count: channels)
            }
        }
        queryCount[layer] = rows
        queryNext[layer] = rows % probeWindow
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let layer = query.layer, n = cache.length
        remember(query.queries, layer: layer)
        let candidates = n - sinks - window   // cache indices sinks ..< n − window
        guard budget < n, candidates > 0 else { return .all(kvHeads: kvHeads) }
        if query.position != budgetPosition {
            budgetPosition = query.position
            layerBudgets = Self.layerBudgets(meanEntropies: dynamic ? meanEntropies() : nil, budget: budget, layers: layers)
        }
        let k = layerBudgets[layer]
        guard k < candidates else { return .all(kvHeads: kvHeads) }
        if scores.count < cache.capacity {
            scores = [Float](repeating: 0, count: cache.capacity)
            picked = [Int32](repeating: 0, count: cache.capacity)
            marks = [Bool](repeating: false, count: cache.capacity)
            selector = TopKSelector(capacity: cache.capacity)
        }
        buildProbe(layer: layer)
        var entropy: Float = 0
        var perKVHead: [[Int32]?] = []
        perKVHead.reserveCapacity(kvHeads)
        for kvHead in 0..<kvHeads {
            if similarity == .cosine { updateNorms(layer: layer, kvHead: kvHead, cache: cache) }
            let keys = cache.keys(layer: layer, kvHead: kvHead) + sinks * headDim
            let norms = inverseNorms[layer * kvHeads + kvHead]
            for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                scores.withUnsafeMutableBufferPointer { s in
                    probe.withUnsafeBufferPointer { p in
                        let q = p.baseAddress! + head * headDim, out = s.baseAddress!
                        // out[j] = K[sinks + j] · probe_head, K row-major n × headDim.
                        BLAS.matrixVector(rows: candidates, cols: headDim, a: keys, lda: headDim, x: q, y: out)
                        if similarity == .cosine {
                            let probeNorm = dot(q, q, headDim).squareRoot()
                            let scale = probeNorm > 0 ? 1 / probeNorm : 0
                            for j in 0..<candidates { out[j] *= norms[sinks + j] * scale }
                        }
                        entropy += Self.normalizedEntropy(out, count: candidates)
                        picked.withUnsafeMutableBufferPointer { o in
                            let found = selector.select(out, count: candidates, k: k, indexOffset: Int32(sinks), into: o.baseAddress!)
                            for i in 0..<found { marks[Int(o[i])] = true }
                        }
                    }
                }
            }
            var chosen: [Int32] = []
            chosen.reserveCapacity(sinks + window + groupSize * k)
            for j in 0..<n where j < sinks || j >= n - window || marks[j] {
                chosen.append(Int32(j))
                marks[j] = false
            }
            perKVHead.append(chosen)
        }
        record(entropy / Float(heads), layer: layer)
        return TokenSelection(perKVHead: perKVHead)
    }

    /// Query rows, entropy history and (cosine) inverse key norms: what the method keeps besides K/V.
    public func sideBytes(cache: KVCache) -> Int {
        let norms = similarity == .cosine ? layers * kvHeads * cache.length : 0
        return (queryRows.count + entropies.count + norms) * MemoryLayout<Float>.size
    }

    /// Per layer, the mean normalized entropy of its past steps; nil until every layer has one.
    private func meanEntropies() -> [Double]? {
        guard entropyCount.allSatisfy({ $0 > 0 }) else { return nil }
        return (0..<layers).map { layer in
            let values = entropies[(layer * history)..<(layer * history + entropyCount[layer])]
            return Double(values.reduce(0, +)) / Double(entropyCount[layer])
        }
    }

    /// Top-k per query head of each layer: L·B handed out layer by layer in proportion to each
    /// layer's mean entropy among the layers still to serve, within [⌈B/2⌉, 2B] and summing to L·B
    /// exactly (each layer's range leaves the later ones feasible). Without means: B everywhere.
    static func layerBudgets(meanEntropies: [Double]?, budget: Int, layers: Int) -> [Int] {
        guard let means = meanEntropies, layers > 1 else { return Array(repeating: budget, count: layers) }
        precondition(means.count == layers)
        let low = (budget + 1) / 2, high = 2 * budget
        var remaining = layers * budget
        var tail = means.reduce(0, +)
        var out: [Int] = []
        for (layer, density) in means.enumerated() {
            let rest = layers - 1 - layer
            let share = tail > 0 ? Double(remaining) * density / tail : Double(remaining) / Double(rest + 1)
            tail -= density
            let lowest = max(low, remaining - rest * high), highest = min(high, remaining - rest * low)
            let given = min(highest, max(lowest, Int(share.rounded())))
            out.append(given)
            remaining -= given
        }
        return out
    }

    /// H / log m of softmax over m scores (1 for equal scores, towards 0 for one dominant score).
    static func normalizedEntropy(_ scores: UnsafePointer<Float>, count m: Int) -> Float {
        guard m > 1 else { return 0 }
        var top = -Float.infinity
        for j in 0..<m { top = max(top, scores[j]) }
        let shift = FloatVector(repeating: top)
        var sums = FloatVector(), weighted = FloatVector()
        var j = 0
        while j + 8 <= m {
            let x = UnsafeRawPointer(scores + j).loadUnaligned(as: FloatVector.self) - shift
            let e = fastExp(x)
            sums += e
            weighted += e * x
            j += 8
        }
        var z = horizontalSum(sums), zx = horizontalSum(weighted)
        while j < m {
            let x = scores[j] - top, e = fastExp(x)
            z += e
            zx += e * x
            j += 1
        }
        return (logf(z) - zx / z) / logf(Float(m))
    }

    /// Activation-bias weights of the window's rows, normalized to sum 1 (equal when no row stands
    /// out, e.g. a single row). Channels are those of all heads, as the reference flattens them.
    static func activationWeights(rows: UnsafePointer<Float>, count: Int, channels: Int,
                                  mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
                                  into weights: UnsafeMutablePointer<Float>) {
        mean.update(repeating: 0, count: channels)
        variance.update(repeating: 0, count: channels)
        for r in 0..<count { for c in 0..<channels { mean[c] += rows[r * channels + c] } }
        for c in 0..<channels { mean[c] /= Float(count) }
        for r in 0..<count {
            for c in 0..<channels { let x = rows[r * channels + c] - mean[c]; variance[c] += x * x }
        }
        var meanVariance: Float = 0
        for c in 0..<channels { variance[c] /= Float(count); meanVariance += variance[c] }
        meanVariance /= Float(channels)
        for c in 0..<channels { variance[c] = 1 / (variance[c] + meanVariance / 100) }   // now the inverse denominators
        var total: Float = 0
        for r in 0..<count {
            var bias: Float = 0
            for c in 0..<channels { let x = rows[r * channels + c] - mean[c]; bias += x * x * variance[c] }
            weights[r] = bias.isFinite ? bias / Float(channels) : 0
            total += weights[r]
        }
        for r in 0..<count { weights[r] = total > 0 ? weights[r] / total : 1 / Float(count) }
    }

    /// probe = Σ_r w_r · q_r over the layer's window rows (all heads at once).
    private func buildProbe(layer: Int) {
        let count = queryCount[layer]
        queryRows.withUnsafeBufferPointer { all in
            let rows = all.baseAddress! + layer * probeWindow * channels
            mean.withUnsafeMutableBufferPointer { m in variance.withUnsafeMutableBufferPointer { v in
                rowWeights.withUnsafeMutableBufferPointer { w in probe.withUnsafeMutableBufferPointer { p in
                    Self.activationWeights(rows: rows, count: count, channels: channels, mean: m.baseAddress!,
                                           variance: v.baseAddress!, into: w.baseAddress!)
                    BLAS.transposedMatrixVector(rows: count, cols: channels, a: rows, lda: channels, x: w.baseAddress!,
                                                y: p.baseAddress!)
                } }
            } }
        }
    }

    /// Puts this step's queries into the layer's window, over the oldest row once it is full.
    private func remember(_ queries: UnsafePointer<Float>, layer: Int) {
        queryRows.withUnsafeMutableBufferPointer { all in
            (all.baseAddress! + (layer * probeWindow + queryNext[layer]) * channels).update(from: queries, count: channels)
        }
        queryNext[layer] = (queryNext[layer] + 1) % probeWindow
        queryCount[layer] = min(queryCount[layer] + 1, probeWindow)
    }

    private func record(_ entropy: Float, layer: Int) {
        entropies[layer * history + entropyNext[layer]] = entropy
        entropyNext[layer] = (entropyNext[layer] + 1) % history
        entropyCount[layer] = min(entropyCount[layer] + 1, history)
    }

    /// Extends one head's inverse key norms to every cached key (keys never change once cached).
    private func updateNorms(layer: Int, kvHead: Int, cache: KVCache) {
        let at = layer * kvHeads + kvHead
        if inverseNorms[at].count < cache.capacity { inverseNorms[at] += [Float](repeating: 0, count: cache.capacity - inverseNorms[at].count) }
        let keys = cache.keys(layer: layer, kvHead: kvHead)
        for j in normed[at]..<cache.length {
            let norm = dot(keys + j * headDim, keys + j * headDim, headDim).squareRoot()
            inverseNorms[at][j] = norm > 0 ? 1 / norm : 0
        }
        normed[at] = cache.length
    }
}
