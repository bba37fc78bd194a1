import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// InfiniGen (arXiv 2406.19707): speculate attention from a few channels of "skewed" queries and
/// keys, and read the tokens whose speculated score is within α of the maximum. Reference
/// settings for Llama-2 (`accuracy/perplexity/table2.sh`): `partial=0.2` of the channels, `alpha=5`,
/// no sinks, no window.
///
/// Read in snu-comparch/InfiniGen:
/// - `accuracy/setup/gen_llama_skewing_matrix.py` l. 46–69: for Llama the skew matrix of a head is
///   the right singular basis V of its *post-RoPE* query matrix from a calibration prompt (columns
///   reordered by σ_q·σ_k, which does not change which directions are kept); RoPE stays in place
///   and q·A, k·A are taken after it, so q·k is unchanged (A is orthogonal).
/// - `accuracy/src/modeling_llama_ours_setup.py` l. 214–224: the partial channels of a head are the
///   union of the top ⌊d·partial⌋ columns of Σ_t |Q·A| and of Σ_t |K·A| (so between r and 2r).
/// - `accuracy/src/modeling_llama_ours.py` l. 203–229 and 306–316: speculated scores
///   (q·A)[partial]·(k·A)[partial]/√d; per head, count the tokens with a score ≥ max − α; the
///   fetch number is the mean of those counts over the layer's heads (truncated), capped at
///   `budget`·n; each head then reads its top-`fetch` tokens by speculated score.
///
/// Deviations, because the harness hands a method the current layer's query only: InfiniGen
/// speculates layer i+1's attention from layer i's input (to prefetch in time); here the current
/// layer's post-RoPE query is skewed and cut to the partial channels instead. The reference's cap
/// (a fraction of n, 0.2) becomes the run's budget B per query head, so B is a monotone knob: a
/// head reads min(fetch, B) tokens. GQA (the reference is MHA): each query head has its own A and
/// channels and skews its KV head's keys with them.
///
/// `side_bytes`: the partial key cache (every cached token's skewed partial key, Float32, per query
/// head) plus the partial projections A[:, channels] it is computed with.
public final class InfiniGen: CacheMethod {
    public static let artifactKind = "infinigen"
    /// The reference fits its skew matrices on the first 2,048 tokens of one PG-19 book.
    static let calibrationTokens = 4_096

    public static let parameterSpecs = [
        ParameterSpec(name: "partial", defaultValue: "0.2", help: "share of channels (per Q and per K top list) used to speculate",
                      type: .fraction),
        ParameterSpec(name: "alpha", defaultValue: "5", help: "read tokens whose speculated score is within alpha of the max",
                      type: .number(0...1_000)),
        ParameterSpec(name: "sinks", defaultValue: "0", help: "first tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "window", defaultValue: "0", help: "most recent tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "infinigen", summary: "tokens within alpha of the max speculated score (skewed partial q·k), at most B per query head",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let model = context.model, d = model.headDim
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "infinigen")
        guard let resources = context.resources else { throw OfflineArtifactError.noSource(kind: artifactKind) }
        let artifact = try resources.artifact(artifactRequest(partial: p.double("partial")))
        let perHead = model.layerCount * model.headCount
        return InfiniGen(model: model, skew: try artifact.tensor("skew", count: perHead * d * d),
                         channelMask: try artifact.indices("channel_mask", count: perHead * d, in: 0..<2),
                         alpha: p.float("alpha"), budget: budget ?? 0, sinks: p.int("sinks"), window: p.int("window"))
    }

    /// Skew matrices (`layers × heads × d × d`, A's columns) and partial-channel masks
    /// (`layers × heads × d`, 1 = kept) for a partial ratio.
    public static func artifactRequest(partial: Double) -> ArtifactRequest {
        ArtifactRequest(kind: artifactKind, settings: ["partial_permille": Int((partial * 1000).rounded())],
                        calibrationTokens: calibrationTokens) { shape, samples in
            var skew: [Float] = [], mask: [Float] = []
            for layer in 0..<shape.layers {
                for sample in try samples(layer) {
                    for (a, kept) in skewing(sample, groupSize: shape.heads / shape.kvHeads, headDim: shape.headDim, partial: partial) {
                        skew += a
                        mask += (0..<shape.headDim).map { kept.contains($0) ? 1 : 0 }
                    }
                }
            }
            return ["skew": skew, "channel_mask": mask]
        }
    }

    /// Per query head of one KV head's group: A = eigenvectors of QᵀQ (V of Q's SVD), columns by
    /// descending singular value, and the partial channels: top ⌊d·partial⌋ of Σ_t|q_t·A| ∪ top
    /// ⌊d·partial⌋ of Σ_t|k_t·A| (ties to the lower channel), over the same sampled tokens.
    static func skewing(_ sample: CalibrationSamples, groupSize: Int, headDim d: Int, partial: Double) -> [([Float], Set<Int>)] {
        let tokens = sample.keyRows.count, r = Int(Double(d) * partial)
        var keys: [Float] = []
        keys.reserveCapacity(tokens * d)
        for row in sample.keyRows { keys += sample.keys[(row * d)..<(row * d + d)] }
        return (0..<groupSize).map { g in
            var q: [Float] = []
            q.reserveCapacity(tokens * d)
            for t in 0..<tokens {
                let start = (t * groupSize + g) * d
                q += sample.queries[start..<(start + d)]
            }
            var gram = [Float](repeating: 0, count: d * d)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(tokens), 1, q, Int32(d), q, Int32(d),
                        0, &gram, Int32(d))
            // A: the eigenvectors of QᵀQ as columns (`SymmetricEigen` returns them as rows).
            let basis = SymmetricEigen.decompose(gram.map(Double.init), n: d).vectors
            var a = [Float](repeating: 0, count: d * d)
            for i in 0..<d { for j in 0..<d { a[i * d + j] = Float(basis[j * d + i]) } }
            func top(_ rows: [Float]) -> [Int] {
                var projected = [Float](repeating: 0, count: tokens * d)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tokens), Int32(d), Int32(d), 1, rows, Int32(d), a, Int32(d),
                            0, &projected, Int32(d))
                var mass = [Double](repeating: 0, count: d)
                for t in 0..<tokens { for c in 0..<d { mass[c] += Double(abs(projected[t * d + c])) } }
                return Array((0..<d).sorted { mass[$0] > mass[$1] || (mass[$0] == mass[$1] && $0 < $1) }.prefix(r))
            }
            return (a, Set(top(q)).union(top(keys)))
        }
    }

    public let budget: Int
    public let sinks: Int
    public let window: Int
    public let alpha: Float
    private let heads: Int
    private let kvHeads: Int
    private let groupSize: Int
    private let headDim: Int
    /// `[layer][head]`: A[:, channels] as `headDim × m` row-major, m = that head's channel count.
    private let projections: [[[Float]]]
    private let widths: [[Int]]
    /// `[layer][head]`: offset of that head's partial keys (`capacity × m`) in `partialKeys`.
    private var offsets: [[Int]] = []
    private var partialKeys: UnsafeMutablePointer<Float>?
    private var capacity = 0
    private var projected: [Int]
    private var scores: [Float] = []
    private let group = GroupTopK()
    private var skewedQuery: [Float]

    /// `skew`: per (layer, head) A (`headDim × headDim`, row-major); `channelMask`: per (layer, head)
    /// `headDim` flags (1 = a partial channel).
    public init(model: ModelConfig, skew: [Float], channelMask: [Int], alpha: Float, budget: Int, sinks: Int, window: Int) {
        let d = model.headDim
        precondition(skew.count == model.layerCount * model.headCount * d * d && channelMask.count == model.layerCount * model.headCount * d)
        self.budget = budget
        self.sinks = sinks
        self.window = window
        self.alpha = alpha
        heads = model.headCount
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = d
        var projections: [[[Float]]] = [], widths: [[Int]] = []
        for layer in 0..<model.layerCount {
            var layerProjections: [[Float]] = [], layerWidths: [Int] = []
            for head in 0..<model.headCount {
                let index = layer * model.headCount + head
                let kept = (0..<d).filter { channelMask[index * d + $0] != 0 }
                let a = skew[(index * d * d)..<((index + 1) * d * d)]
                layerProjections.append((0..<d).flatMap { row in kept.map { a[a.startIndex + row * d + $0] } })
                layerWidths.append(kept.count)
            }
            projections.append(layerProjections)
            widths.append(layerWidths)
        }
        self.projections = projections
        self.widths = widths
        projected = Array(repeating: 0, count: model.layerCount)
        skewedQuery = Array(repeating: 0, count: d)
    }

    deinit { partialKeys?.deallocate() }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        project(layer: layer, cache: cache)
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length, layer = query.layer
        guard budget < n else { return .all(kvHeads: kvHeads) }
        project(layer: layer, cache: cache)
        if scores.count < heads * n {
            scores = [Float](repeating: 0, count: heads * cache.capacity)
        }
        let scale = 1 / Float(headDim).squareRoot()
        var withinAlpha = 0
        scores.withUnsafeMutableBufferPointer { s in
            skewedQuery.withUnsafeMutableBufferPointer { q in
                for head in 0..<heads {
                    let m = widths[layer][head], row = s.baseAddress! + head * n
                    if m == 0 { row.update(repeating: 0, count: n); withinAlpha += n; continue }
                    // q′ = q·A[:, channels] (1 × m), then s = K′ q′ / √d over every cached token.
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(headDim), Int32(m), 1, projections[layer][head], Int32(m),
                                query.queries + head * headDim, 1, 0, q.baseAddress!, 1)
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(m), scale, partialKeys! + offsets[layer][head],
                                Int32(m), q.baseAddress!, 1, 0, row, 1)
                    var best = -Float.infinity
                    for j in 0..<n { best = max(best, row[j]) }
                    for j in 0..<n where row[j] >= best - alpha { withinAlpha += 1 }
                }
            }
        }
        let fetch = min(budget, withinAlpha / heads)
        return scores.withUnsafeBufferPointer { s in
            TokenSelection(perKVHead: (0..<kvHeads).map { kvHead in
                group.union(heads: (kvHead * groupSize)..<((kvHead + 1) * groupSize), count: n, k: fetch,
                            sinks: sinks, window: window) { head, into in into.update(from: s.baseAddress! + head * n, count: n) }
            })
        }
    }

    /// Partial keys of every cached token plus the partial projections, Float32.
    public func sideBytes(cache: KVCache) -> Int {
        widths.joined().reduce(0) { $0 + (cache.length + headDim) * $1 } * MemoryLayout<Float>.size
    }

    /// Writes the skewed partial keys K·A[:, channels] of tokens `projected[layer]..<cache.length`.
    private func project(layer: Int, cache: KVCache) {
        if partialKeys == nil || capacity < cache.capacity {
            partialKeys?.deallocate()
            capacity = cache.capacity
            var next = 0
            offsets = widths.map { layerWidths in layerWidths.map { width in defer { next += capacity * width }; return next } }
            partialKeys = .allocate(capacity: max(next, 1))
            projected = Array(repeating: 0, count: widths.count)
        }
        let start = projected[layer], count = cache.length - start
        guard count > 0 else { return }
        for head in 0..<heads where widths[layer][head] > 0 {
            let m = widths[layer][head]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(m), Int32(headDim), 1,
                        cache.keys(layer: layer, kvHead: head / groupSize) + start * headDim, Int32(headDim),
                        projections[layer][head], Int32(m), 0, partialKeys! + offsets[layer][head] + start * m, Int32(m))
        }
        projected[layer] = cache.length
    }
}
