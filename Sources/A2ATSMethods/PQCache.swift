import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// PQCache, "Product Quantization-based KVCache for Long Context LLM Inference" (arXiv 2407.12820).
/// Reference settings (`run_llama.sh`): keys product-quantized at prefill per (layer, KV head)
/// into 2 sub-vectors (`subvectors=2`) of 6-bit codes (`bits=6`, 64 centroids each), 32 sink
/// tokens (`sinks=32`) and a recent window worth as many tokens as the top-k (`RECENT_RATIO=0.5`,
/// here `recent_ratio=0.5`). Every layer selects (`PRESERVE_LAYER=0`).
///
/// Decode step, per query head: a table of q_m · c for the 2^bits centroids c of each sub-space m,
/// then each candidate token's approximate score is Σ_m table_m[code_m]; the top B candidates
/// (ties → lower index) are read, the union over the GQA group, plus the sinks and the window on
/// top of B. The window is the last w = max(1, round(B·r/(1−r))) tokens, the new token
/// included (w = B at the reference ratio; the reference reads its `recent_size` tokens plus the
/// new one: one token more). So attended ≤ G·B + sinks + w; candidates are the tokens between the
/// sinks and the window, and when B covers them all (or B ≥ cached tokens) everything is read.
///
/// Reference code read (HugoZHL/PQCache @ 0b74e12):
/// - `vq_method/retrieval_based/pq_search.py` 99–108, 232–249: sinks are not quantized; codebooks
///   are fitted on the post-RoPE keys after the sinks; `recent_size` and `topk_size` split the
///   budget by `recent_ratio`. 282–322: the lookup table and scores; in GQA mode the reference
///   sums the group's softmaxed scores and takes one top-k per KV head, here each query head takes
///   its own top B and the group reads the union, as the contract has retrieval methods do.
///   344–354: a token leaving the window gets the code of its nearest centroid in each sub-space
///   (Euclidean, `predict_index_*` 188–212) under the prefill's codebooks, never refitted: here
///   each decoded token is encoded that way when first seen (same codes, codebooks unchanged).
///   155: with no more points than centroids no codebook is built and the layer reads everything.
/// - `vq_method/retrieval_based/multi_core_compressor_v2.py` 165–174, 409–415: sklearn Lloyd
///   k-means, `n_init=1`, random points as initial centroids, `tol=1e-4`, and `max_iter` sized per
///   prompt to hide behind the GPU's prefill (between 3 and 300). Here: k-means++ seeding and at
///   most `iterations=50` Lloyd steps with the project's early stop (relative change < 1e-4).
public final class PQCache: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "subvectors", defaultValue: "2", help: "sub-vectors per key (must divide the head dim)",
                      type: .integerChoice([1, 2, 4, 8, 16])),
        ParameterSpec(name: "bits", defaultValue: "6", help: "bits per code: 2^bits centroids per sub-space",
                      type: .integer(1...8)),
        ParameterSpec(name: "sinks", defaultValue: "32", help: "first tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "recent_ratio", defaultValue: "0.5",
                      help: "share of top-k + window that is window: w = B·r/(1−r) recent tokens on top of B",
                      type: .number(0...0.99)),
        ParameterSpec(name: "iterations", defaultValue: "50", help: "most Lloyd iterations per codebook",
                      type: .integer(1...1000)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "pqcache", summary: "product-quantized keys, top-B by table-lookup scores per query head",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "pqcache")
        let subvectors = p.int("subvectors")
        guard context.model.headDim % subvectors == 0 else {
            throw MethodError.invalidParameter(method: "pqcache", name: "subvectors", value: String(subvectors),
                                               expected: "a divisor of the head dim \(context.model.headDim)")
        }
        return PQCache(model: context.model, budget: budget ?? 0, subvectors: subvectors, bits: p.int("bits"),
                       sinks: p.int("sinks"), recentRatio: p.double("recent_ratio"), iterations: p.int("iterations"))
    }

    public let budget: Int
    public let subvectors: Int
    public let centroidCount: Int
    public let sinks: Int
    /// Recent tokens read on top of B, the new token included.
    public let window: Int
    public let iterations: Int
    private let kvHeads: Int
    private let groupSize: Int
    private let headDim: Int
    private let subDim: Int
    /// Per layer and KV head: `subvectors × centroidCount × subDim`; empty where none was fitted.
    private var codebooks: [[[Float]]]
    /// Per layer and KV head: token t's code in sub-space m at `t × subvectors + m` (t ≥ sinks).
    private var codes: [[[UInt8]]]
    /// Per layer: tokens encoded so far (codes exist for `sinks..<encoded`).
    private var encoded: [Int]
    // Scratch for one step.
    private let table: UnsafeMutablePointer<Float>   // subvectors × centroidCount
    private var scores: [Float] = []
    private var order: [Int32] = []
    private let selector = TopKSelector()

    public init(model: ModelConfig, budget: Int, subvectors: Int, bits: Int, sinks: Int, recentRatio: Double,
                iterations: Int) {
        precondition(model.headDim % subvectors == 0, "sub-vectors must divide the head dim")
        self.budget = budget
        self.subvectors = subvectors
        centroidCount = 1 << bits
        self.sinks = sinks
        window = max(1, Int((Double(budget) * recentRatio / (1 - recentRatio)).rounded()))
        self.iterations = iterations
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = model.headDim
        subDim = model.headDim / subvectors
        codebooks = Array(repeating: Array(repeating: [], count: model.kvHeadCount), count: model.layerCount)
        codes = Array(repeating: Array(repeating: [], count: model.kvHeadCount), count: model.layerCount)
        encoded = Array(repeating: 0, count: model.layerCount)
        table = .allocate(capacity: subvectors * centroidCount)
    }

    deinit { table.deallocate() }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }

    /// Fits one codebook per sub-space on the keys after the sinks and encodes them.
    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        let n = cache.length, points = n - sinks
        guard points > centroidCount else { return }
        // The codebooks depend on the prompt and the settings, not on the budget: built once per prefill.
        let key = "pqcache/m=\(subvectors)/centroids=\(centroidCount)/sinks=\(sinks)/iterations=\(iterations)/layer=\(layer)"
        let fitted = try statistics.derived(key) { () throws -> [(book: [Float], codes: [UInt8])] in
            var subKeys = [Float](repeating: 0, count: points * subDim)
            var labels = [Int32](repeating: 0, count: points)
            return try (0..<kvHeads).map { kvHead in
                let keys = cache.keys(layer: layer, kvHead: kvHead)
                var book = [Float](repeating: 0, count: subvectors * centroidCount * subDim)
                var headCodes = [UInt8](repeating: 0, count: cache.capacity * subvectors)
                for m in 0..<subvectors {
                    for t in 0..<points {
                        for c in 0..<subDim { subKeys[t * subDim + c] = keys[(sinks + t) * headDim + m * subDim + c] }
                    }
                    let seed = UInt64((layer * kvHeads + kvHead) * subvectors + m)
                    let fit = try subKeys.withUnsafeBufferPointer {
                        try KMeans.fit($0.baseAddress!, count: points, dimension: subDim,
                                       options: KMeansOptions(centroids: centroidCount, maxIterations: iterations, seed: seed))
                    }
                    let search = NearestCentroidSearch(centroids: fit.centroids, count: centroidCount, dimension: subDim)
                    subKeys.withUnsafeBufferPointer { s in
                        labels.withUnsafeMutableBufferPointer { search.assign(s.baseAddress!, count: points, labels: $0.baseAddress!) }
                    }
                    for t in 0..<points { headCodes[(sinks + t) * subvectors + m] = UInt8(labels[t]) }
                    book.replaceSubrange((m * centroidCount * subDim)..<((m + 1) * centroidCount * subDim), with: fit.centroids)
                }
                return (book, headCodes)
            }
        }
        for kvHead in 0..<kvHeads {
            codebooks[layer][kvHead] = fitted[kvHead].book
            codes[layer][kvHead] = fitted[kvHead].codes
        }
        encoded[layer] = n
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length, layer = query.layer
        let candidateEnd = n - window, candidates = candidateEnd - sinks
        guard budget < n, candidates > budget, !codebooks[layer][0].isEmpty else { return .all(kvHeads: kvHeads) }
        encodeNewTokens(layer: layer, cache: cache)
        if scores.count < cache.capacity {
            scores = [Float](repeating: 0, count: cache.capacity)
            order = [Int32](repeating: 0, count: cache.capacity)
        }
        let d = headDim, ds = subDim, k = centroidCount, m = subvectors
        var perKVHead: [[Int32]?] = []
        perKVHead.reserveCapacity(kvHeads)
        for kvHead in 0..<kvHeads {
            var chosen: [Int32] = []
            chosen.reserveCapacity(groupSize * budget + sinks + window)
            codebooks[layer][kvHead].withUnsafeBufferPointer { book in
                codes[layer][kvHead].withUnsafeBufferPointer { code in
                    scores.withUnsafeMutableBufferPointer { s in
                        order.withUnsafeMutableBufferPointer { o in
                            for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                                let q = query.queries + head * d
                                // table[sub][c] = q_sub · centroid_{sub,c}
                                for sub in 0..<m {
                                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(k), Int32(ds), 1,
                                                book.baseAddress! + sub * k * ds, Int32(ds), q + sub * ds, 1, 0, table + sub * k, 1)
                                }
                                for j in 0..<candidates {
                                    let row = code.baseAddress! + (sinks + j) * m
                                    var score: Float = 0
                                    for sub in 0..<m { score += table[sub * k + Int(row[sub])] }
                                    s[j] = score
                                }
                                let found = selector.select(s.baseAddress!, count: candidates, k: budget,
                                                            indexOffset: Int32(sinks), into: o.baseAddress!)
                                chosen.append(contentsOf: o[0..<found])
                            }
                        }
                    }
                }
            }
            chosen.append(contentsOf: (0..<Int32(min(sinks, n))))
            chosen.append(contentsOf: Int32(candidateEnd)..<Int32(n))
            chosen.sort()
            perKVHead.append(uniqued(chosen))
        }
        return TokenSelection(perKVHead: perKVHead)
    }

    /// UInt8 codes of every cached token after the sinks plus the f32 codebooks, for each layer that fitted them.
    public func sideBytes(cache: KVCache) -> Int {
        var bytes = 0
        for layer in 0..<codebooks.count where !codebooks[layer][0].isEmpty {
            let tokens = cache.length - sinks
            bytes += kvHeads * (tokens * subvectors + subvectors * centroidCount * subDim * MemoryLayout<Float>.size)
        }
        return bytes
    }

    /// Decoded tokens get, per sub-space, the code of the nearest centroid (squared Euclidean,
    /// ties → lower index) under the prefill's codebooks.
    private func encodeNewTokens(layer: Int, cache: KVCache) {
        let n = cache.length, ds = subDim, k = centroidCount
        guard encoded[layer] < n else { return }
        for kvHead in 0..<kvHeads {
            let keys = cache.keys(layer: layer, kvHead: kvHead)
            codebooks[layer][kvHead].withUnsafeBufferPointer { book in
                codes[layer][kvHead].withUnsafeMutableBufferPointer { code in
                    for t in encoded[layer]..<n {
                        for sub in 0..<subvectors {
                            let x = keys + t * headDim + sub * ds
                            var best = 0, bestDistance = Float.infinity
                            for c in 0..<k {
                                let centroid = book.baseAddress! + (sub * k + c) * ds
                                var distance: Float = 0
                                for i in 0..<ds { let e = x[i] - centroid[i]; distance += e * e }
                                if distance < bestDistance { bestDistance = distance; best = c }
                            }
                            code[t * subvectors + sub] = UInt8(best)
                        }
                    }
                }
            }
        }
        encoded[layer] = n
    }
}
