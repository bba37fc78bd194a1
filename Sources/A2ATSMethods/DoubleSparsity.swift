import A2ATSModel
import A2ATSTensor

/// Double Sparsity (arXiv 2408.07092): rank tokens with only a few offline-chosen "outlier"
/// channels of q and k (the label cache), attend to the top B per query head. Reference settings
/// scaled to head dim 64: `channels=8` (16 of 128 in the paper's 1/8 channel ratio), `bits=4`
/// (the paper's 4-bit label cache), no sinks, no window.
///
/// Read in andy-yang-1/DoubleSparse:
/// - `config/offline_calibration.py` l. 66–93 (`get_qk_hook`, "Method 1"): per query head, the
///   channel importance is mean_t |q_t ⊙ k_t| over calibration tokens, q and k *after* RoPE, k of
///   the head's KV group (`repeat_kv`); l. 182–184 saves every head's channels sorted by it.
///   `evaluation/generate.py` l. 28 picks this "qk" rule by default.
/// - `evaluation/offload_llama.py` l. 357–412 and `LongBench/modify_llama.py` l. 167–231: gather
///   the post-RoPE q and k at the head's first `head_dim / group_factor` sorted channels, pseudo-
///   quantize both per token to `label_bits` (min–max over those channels, `pseudo_quantize`
///   l. 23–37), score q̂·k̂, keep the top `heavy_const` tokens per head; no sinks or window.
/// - `models/model.py` l. 245–289: the fast kernel keeps the label cache as a separate
///   `seq × heads × channels` buffer written at each step (post-RoPE keys).
///
/// Deviations: the reference's LongBench path keeps layers 0–1 dense (`modify_llama.py` l. 100);
/// here every layer selects, so the contract's bound G·B + sinks + window holds at every layer.
/// Channel counts vary between its scripts (`group_factor` 2–8 with 2–16 bits); ours are parameters.
///
/// Budget: B tokens per query head, union over the GQA group, sinks and window on top.
/// `side_bytes`: the label cache at its stored precision (packed codes plus a Float32 min and scale
/// per token and query head; Float16 values at `bits=16`) for every cached token, plus the channel lists.
public final class DoubleSparsity: CacheMethod {
    public static let artifactKind = "doublesparsity"
    /// Calibration tokens for the channel statistics (the reference uses up to 256 × 512 Pile tokens).
    static let calibrationTokens = 16_384

    public static let parameterSpecs = [
        ParameterSpec(name: "channels", defaultValue: "8", help: "outlier channels per query head in the label cache",
                      type: .integer(1...4096)),
        ParameterSpec(name: "bits", defaultValue: "4", help: "label cache precision (16 = Float16, else min-max codes per token)",
                      type: .integerChoice([2, 4, 8, 16])),
        ParameterSpec(name: "sinks", defaultValue: "0", help: "first tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "window", defaultValue: "0", help: "most recent tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "doublesparsity", summary: "top-B per query head by q·k over offline outlier channels (label cache)",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "doublesparsity")
        guard p.int("channels") <= model.headDim else {
            throw MethodError.invalidParameter(method: "doublesparsity", name: "channels", value: String(p.int("channels")),
                                               expected: "at most the head dimension \(model.headDim)")
        }
        guard let resources = context.resources else { throw OfflineArtifactError.noSource(kind: artifactKind) }
        let artifact = try resources.artifact(artifactRequest)
        let order = try artifact.indices("channel_order", count: model.layerCount * model.headCount * model.headDim,
                                         in: 0..<model.headDim)
        return DoubleSparsity(model: model, channelOrder: order, channels: p.int("channels"), bits: p.int("bits"),
                              budget: budget ?? 0, sinks: p.int("sinks"), window: p.int("window"))
    }

    /// Per (layer, query head), all `headDim` channels by descending mean |q_t ⊙ k_t| (ties: lower channel).
    public static let artifactRequest = ArtifactRequest(kind: artifactKind, settings: [:], calibrationTokens: calibrationTokens) {
        shape, samples in
        var order: [Float] = []
        order.reserveCapacity(shape.layers * shape.heads * shape.headDim)
        for layer in 0..<shape.layers {
            for sample in try samples(layer) {
                for channels in channelOrder(sample, groupSize: shape.heads / shape.kvHeads, headDim: shape.headDim) {
                    order += channels.map(Float.init)
                }
            }
        }
        return ["channel_order": order]
    }

    /// The calibration rule for one KV head's samples: per query head of its group, channels sorted
    /// by Σ_t |q_t[c] · k_t[c]| (the mean's order), post-RoPE.
    static func channelOrder(_ sample: CalibrationSamples, groupSize: Int, headDim d: Int) -> [[Int]] {
        var importance = [[Double]](repeating: [Double](repeating: 0, count: d), count: groupSize)
        for (t, keyRow) in sample.keyRows.enumerated() {
            for g in 0..<groupSize {
                let q = (t * groupSize + g) * d, k = keyRow * d
                for c in 0..<d { importance[g][c] += Double(abs(sample.queries[q + c] * sample.keys[k + c])) }
            }
        }
        return importance.map { row in (0..<d).sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) } }
    }

    public let budget: Int
    public let sinks: Int
    public let window: Int
    public let channels: Int
    public let bits: Int
    private let layers: Int
    private let heads: Int
    private let kvHeads: Int
    private let groupSize: Int
    private let headDim: Int
    /// `[layer][head]`: the `channels` label channels.
    private let labelChannels: [[[Int]]]
    private let rowBytes: Int
    private var capacity = 0
    /// `layers × heads × capacity × rowBytes`: codes (or Float16 bit patterns) of each token's label.
    private var labels: UnsafeMutablePointer<UInt8>?
    /// `layers × heads × capacity × 2`: each label's min and scale (quantized labels only).
    private var ranges: UnsafeMutablePointer<Float>?
    /// Per layer, the tokens whose labels are written.
    private var labeled: [Int]
    private let group = GroupTopK()
    private var query: [Float]
    private var values: [Float]

    /// `channelOrder`: per (layer, query head), the head's channels by importance (`headDim` each).
    public init(model: ModelConfig, channelOrder: [Int], channels: Int, bits: Int, budget: Int, sinks: Int, window: Int) {
        precondition(channelOrder.count == model.layerCount * model.headCount * model.headDim && channels <= model.headDim)
        self.budget = budget
        self.sinks = sinks
        self.window = window
        self.channels = channels
        self.bits = bits
        layers = model.layerCount
        heads = model.headCount
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = model.headDim
        labelChannels = (0..<layers).map { layer in
            (0..<model.headCount).map { head in
                let start = (layer * model.headCount + head) * model.headDim
                return Array(channelOrder[start..<(start + channels)])
            }
        }
        rowBytes = (channels * bits + 7) / 8
        labeled = Array(repeating: 0, count: layers)
        query = Array(repeating: 0, count: channels)
        values = Array(repeating: 0, count: channels)
    }

    deinit {
        labels?.deallocate()
        ranges?.deallocate()
    }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        label(layer: layer, cache: cache)
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length
        guard budget < n else { return .all(kvHeads: kvHeads) }
        label(layer: query.layer, cache: cache)
        return TokenSelection(perKVHead: (0..<kvHeads).map { kvHead in
            group.union(heads: (kvHead * groupSize)..<((kvHead + 1) * groupSize), count: n, k: budget,
                        sinks: sinks, window: window) { head, scores in
                approximateScores(layer: query.layer, head: head, query: query.queries + head * headDim, count: n, into: scores)
            }
        })
    }

    /// Label cache over every cached token (each query head's own channels), plus the channel lists (Int32).
    public func sideBytes(cache: KVCache) -> Int {
        let perToken = rowBytes + (bits < 16 ? 2 * MemoryLayout<Float>.size : 0)
        return layers * heads * (cache.length * perToken + channels * MemoryLayout<Int32>.size)
    }

    /// scores[j] = q̂ · k̂_j over the head's label channels, both quantized as the reference does.
    private func approximateScores(layer: Int, head: Int, query q: UnsafePointer<Float>, count n: Int,
                                   into s: UnsafeMutablePointer<Float>) {
        let channelList = labelChannels[layer][head]
        for (i, c) in channelList.enumerated() { values[i] = q[c] }
        let base = (layer * heads + head) * capacity
        let codes = labels! + base * rowBytes
        query.withUnsafeMutableBufferPointer { qHat in
            if bits == 16 {
                for i in 0..<channels { qHat[i] = Float(Float16(values[i])) }
                for j in 0..<n {
                    let row = UnsafeRawPointer(codes + j * rowBytes)
                    var dot: Float = 0
                    for i in 0..<channels { dot += qHat[i] * Float(Float16(bitPattern: row.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                    s[j] = dot
                }
                return
            }
            let (low, scale) = quantize(values, into: nil)
            for i in 0..<channels { qHat[i] = code(values[i], low: low, scale: scale) / scale + low }
            let qSum = qHat.reduce(0, +)
            let mask = UInt8((1 << bits) - 1)
            let range = ranges! + base * 2
            for j in 0..<n {
                let row = codes + j * rowBytes
                var dot: Float = 0
                for i in 0..<channels {
                    let bit = i * bits
                    dot += qHat[i] * Float((row[bit >> 3] >> UInt8(bit & 7)) & mask)
                }
                s[j] = range[2 * j] * qSum + dot / range[2 * j + 1]
            }
        }
    }

    /// Writes the labels of tokens `labeled[layer]..<cache.length` from their post-RoPE keys.
    private func label(layer: Int, cache: KVCache) {
        if labels == nil || capacity < cache.capacity {
            labels?.deallocate()
            ranges?.deallocate()
            capacity = cache.capacity
            labels = .allocate(capacity: layers * heads * capacity * rowBytes)
            ranges = .allocate(capacity: layers * heads * capacity * 2)
            labeled = Array(repeating: 0, count: layers)
        }
        let n = cache.length
        guard labeled[layer] < n else { return }
        for head in 0..<heads {
            let keys = cache.keys(layer: layer, kvHead: head / groupSize)
            let channelList = labelChannels[layer][head]
            let base = (layer * heads + head) * capacity
            for j in labeled[layer]..<n {
                for (i, c) in channelList.enumerated() { values[i] = keys[j * headDim + c] }
                let row = labels! + (base + j) * rowBytes
                if bits == 16 {
                    for i in 0..<channels { UnsafeMutableRawPointer(row).storeBytes(of: Float16(values[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
                } else {
                    let (low, scale) = quantize(values, into: row)
                    ranges![2 * (base + j)] = low
                    ranges![2 * (base + j) + 1] = scale
                }
            }
        }
        labeled[layer] = n
    }

    /// Min–max quantization of `x` to `bits` (the reference's `pseudo_quantize`): scale =
    /// (2^bits − 1)/(max − min), with a flat range taken as 1; codes (packed low bits first into
    /// `codes` when given) dequantize as x̂ = code/scale + min. Returns (min, scale).
    private func quantize(_ x: [Float], into codes: UnsafeMutablePointer<UInt8>?) -> (low: Float, scale: Float) {
        var low = x[0], high = x[0]
        for value in x.prefix(channels) { low = min(low, value); high = max(high, value) }
        let scale = Float((1 << bits) - 1) / (high - low == 0 ? 1 : high - low)
        if let codes {
            for i in 0..<rowBytes { codes[i] = 0 }
            for i in 0..<channels { codes[(i * bits) >> 3] |= UInt8(code(x[i], low: low, scale: scale)) << UInt8((i * bits) & 7) }
        }
        return (low, scale)
    }

    private func code(_ value: Float, low: Float, scale: Float) -> Float {
        min(max(((value - low) * scale).rounded(.toNearestOrEven), 0), Float((1 << bits) - 1))
    }
}
