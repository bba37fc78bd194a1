import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// ClusterKV, "Manipulating LLM KV Cache in Semantic Space for Recallable Compression"
/// (arXiv 2412.03213). Reference settings: per (layer, KV head) the post-RoPE keys after 16 sink
/// tokens (`sinks=16`) are clustered by cosine similarity, 400 clusters at 32K context — here
/// one cluster per 80 prompt tokens (`tokens_per_cluster=80`, 32K/400), so the clusters keep the
/// paper's size at any prompt length — with 20 Lloyd iterations (`iterations=20`); the first 2
/// layers are dense (`dense_layers=2`). Decoded tokens are read directly until a block of 320
/// (`window=320`) is complete, which is then clustered into 8 new clusters
/// (`window_clusters=8`), appended to the layer's index.
///
/// Decode step, per query head: clusters in descending centroid score q·c (ties → lower
/// cluster), their members taken whole until B tokens; the last cluster is truncated to its
/// lowest token indices so that exactly B clustered tokens are read (the reference's `truc`).
/// Each KV head reads the union over its GQA group plus the sinks and the current block of
/// decoded tokens (between 1 and `window`), on top of B: attended ≤ G·B + sinks + window. When B
/// covers every clustered token (or B ≥ cached tokens) everything is read, like `full`.
///
/// Reference code read (sjtu-zhao-lab/ClusterKV @ cb66a22):
/// - `accuracy/patch.py` 25–41: defaults `nlist=400`, `fit_iter=20`, `sink=16`, `dist_t=cosine`,
///   `head_sel=truc`. `accuracy/cluster_attention.py` 100–180: clusters by descending q·centroid,
///   taken until the prefix of sizes passes the budget, truncated to the budget (`truc`);
///   247–249: layers 0 and 1 dense; 266–268: sinks are not clustered.
/// - `clusterkv/clusterkv_utils/__init__.py` 140–172 (`build_cluster`): random keys as initial
///   centroids, `niter` rounds of argmax cosine assignment and mean update, a final assignment.
///   `kernel/cluster/include/km_include/cluster.cuh` 6–82: centroids are means of the raw keys
///   (an empty cluster keeps its centroid); 84–168: the truncation of the last cluster.
/// - `clusterkv/clusterkv_utils/clusterkv_controller.py` 144–164 and
///   `clusterkv/clusterkv_models/ClusterKVAttention.py` 121–129: every `window` decoded tokens
///   the block is clustered into `window_nlist` clusters; the block that is being filled (the
///   whole block at the step that clusters it) is read directly. Defaults `window=320`,
///   `window_nlist=8`: `clusterkv/clusterkv_models/llama.py` 505–516.
public final class ClusterKV: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "sinks", defaultValue: "16", help: "first tokens always read, on top of the budget",
                      type: .integer(0...Int.max)),
        ParameterSpec(name: "tokens_per_cluster", defaultValue: "80",
                      help: "prompt tokens per cluster (the paper: 400 clusters at 32K)", type: .integer(1...Int.max)),
        ParameterSpec(name: "iterations", defaultValue: "20", help: "Lloyd iterations of the cosine k-means",
                      type: .integer(0...1000)),
        ParameterSpec(name: "window", defaultValue: "320",
                      help: "decoded tokens read directly, clustered once a block of this many is complete",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "window_clusters", defaultValue: "8", help: "clusters made of each block of decoded tokens",
                      type: .integer(1...Int.max)),
        ParameterSpec(name: "dense_layers", defaultValue: "2", help: "first layers that read every token",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "clusterkv", summary: "cosine k-means clusters of keys, whole clusters by centroid score per query head",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "clusterkv")
        return ClusterKV(model: context.model, budget: budget ?? 0, sinks: p.int("sinks"),
                         tokensPerCluster: p.int("tokens_per_cluster"), iterations: p.int("iterations"),
                         window: p.int("window"), windowClusters: p.int("window_clusters"), denseLayers: p.int("dense_layers"))
    }

    /// One (layer, KV head)'s clusters: centroids and members grouped by cluster (CSR).
    struct Index {
        /// `clusters × headDim`.
        var centroids: [Float] = []
        /// Cluster c's members are `members[offsets[c]..<offsets[c + 1]]`, ascending.
        var offsets: [Int32] = [0]
        var members: [Int32] = []
        var clusterCount: Int { offsets.count - 1 }
    }

    public let budget: Int
    public let sinks: Int
    public let tokensPerCluster: Int
    public let iterations: Int
    public let window: Int
    public let windowClusters: Int
    public let denseLayers: Int
    private let kvHeads: Int
    private let groupSize: Int
    private let headDim: Int
    /// Per layer and KV head.
    private(set) var indexes: [[Index]]
    private var promptLength = 0
    /// Per layer: tokens up to here are sinks or clustered.
    private var clusteredEnd: [Int]
    // Scratch for one step.
    private var scores: [Float] = []
    private var order: [Int32] = []
    private var marked: [Bool] = []

    public init(model: ModelConfig, budget: Int, sinks: Int, tokensPerCluster: Int, iterations: Int, window: Int,
                windowClusters: Int, denseLayers: Int) {
        self.budget = budget
        self.sinks = sinks
        self.tokensPerCluster = tokensPerCluster
        self.iterations = iterations
        self.window = window
        self.windowClusters = windowClusters
        self.denseLayers = denseLayers
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = model.headDim
        indexes = Array(repeating: Array(repeating: Index(), count: model.kvHeadCount), count: model.layerCount)
        clusteredEnd = Array(repeating: 0, count: model.layerCount)
    }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        promptLength = cache.length
        clusteredEnd[layer] = cache.length
        guard layer >= denseLayers, cache.length > sinks else { return }
        let points = cache.length - sinks
        let clusters = min(points, (points + tokensPerCluster - 1) / tokensPerCluster)
        // The prompt's clusters depend on the prompt and the settings, not on the budget: built once per prefill.
        let key = "clusterkv/sinks=\(sinks)/tokens_per_cluster=\(tokensPerCluster)/iterations=\(iterations)/layer=\(layer)"
        indexes[layer] = statistics.derived(key) {
            for kvHead in 0..<kvHeads {
                addClusters(layer: layer, kvHead: kvHead, cache: cache, from: sinks, count: points, clusters: clusters,
                            seed: UInt64(layer * kvHeads + kvHead))
            }
            return indexes[layer]
        }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length, layer = query.layer
        guard layer >= denseLayers, budget < n else { return .all(kvHeads: kvHeads) }
        let decoded = n - promptLength
        // Each complete block of decoded tokens joins the index (the one completed at this step too).
        while clusteredEnd[layer] + window <= n {
            let from = clusteredEnd[layer], block = (from - promptLength) / window
            for kvHead in 0..<kvHeads {
                addClusters(layer: layer, kvHead: kvHead, cache: cache, from: from, count: window,
                            clusters: min(windowClusters, window), seed: UInt64(((layer * kvHeads + kvHead) << 20) + block + 1))
            }
            clusteredEnd[layer] = from + window
        }
        let clustered = indexes[layer][0].members.count
        guard clustered > budget else { return .all(kvHeads: kvHeads) }
        let recent = decoded == 0 ? 0 : (decoded % window == 0 ? window : decoded % window)
        if marked.count < cache.capacity {
            marked = [Bool](repeating: false, count: cache.capacity)
            scores = [Float](repeating: 0, count: cache.capacity)
            order = [Int32](repeating: 0, count: cache.capacity)
        }
        let d = headDim
        var perKVHead: [[Int32]?] = []
        perKVHead.reserveCapacity(kvHeads)
        for kvHead in 0..<kvHeads {
            let index = indexes[layer][kvHead], clusters = index.clusterCount
            for token in 0..<n { marked[token] = token < sinks || token >= n - recent }
            for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                index.centroids.withUnsafeBufferPointer { c in
                    scores.withUnsafeMutableBufferPointer { s in
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(clusters), Int32(d), 1, c.baseAddress!, Int32(d),
                                    query.queries + head * d, 1, 0, s.baseAddress!, 1)
                    }
                }
                for c in 0..<clusters { order[c] = Int32(c) }
                scores.withUnsafeBufferPointer { s in
                    order.withUnsafeMutableBufferPointer { o in
                        o[0..<clusters].sort { s[Int($0)] > s[Int($1)] || (s[Int($0)] == s[Int($1)] && $0 < $1) }
                    }
                }
                var remaining = budget
                for rank in 0..<clusters where remaining > 0 {
                    let c = Int(order[rank])
                    let start = Int(index.offsets[c]), end = min(Int(index.offsets[c + 1]), start + remaining)
                    for i in start..<end { marked[Int(index.members[i])] = true }
                    remaining -= end - start
                }
            }
            var rows: [Int32] = []
            rows.reserveCapacity(groupSize * budget + sinks + recent)
            for token in 0..<n where marked[token] { rows.append(Int32(token)) }
            perKVHead.append(rows)
        }
        return TokenSelection(perKVHead: perKVHead)
    }

    /// f32 centroids, one Int32 per clustered token (its place in its cluster's member list, the
    /// labels in sorted form) and one Int32 offset per cluster, for every layer that selects.
    public func sideBytes(cache: KVCache) -> Int {
        var bytes = 0
        for layer in indexes.indices where layer >= denseLayers {
            for index in indexes[layer] {
                bytes += index.centroids.count * MemoryLayout<Float>.size
                    + (index.members.count + index.offsets.count) * MemoryLayout<Int32>.size
            }
        }
        return bytes
    }

    /// Clusters keys `from..<from + count` of one KV head and appends the clusters to its index.
    private func addClusters(layer: Int, kvHead: Int, cache: KVCache, from: Int, count: Int, clusters: Int, seed: UInt64) {
        let keys = cache.keys(layer: layer, kvHead: kvHead) + from * headDim
        let (centroids, labels) = CosineKMeans.fit(keys, count: count, dimension: headDim, clusters: clusters,
                                                   iterations: iterations, seed: seed)
        var sizes = [Int](repeating: 0, count: clusters)
        for label in labels { sizes[Int(label)] += 1 }
        var index = indexes[layer][kvHead]
        let base = index.members.count
        var next = [Int](repeating: 0, count: clusters)   // where each cluster's next member goes
        var running = base
        for c in 0..<clusters {
            next[c] = running
            running += sizes[c]
            index.offsets.append(Int32(running))
        }
        index.members.append(contentsOf: repeatElement(0, count: count))
        for (i, label) in labels.enumerated() {   // ascending tokens: each member list stays sorted
            index.members[next[Int(label)]] = Int32(from + i)
            next[Int(label)] += 1
        }
        index.centroids.append(contentsOf: centroids)
        indexes[layer][kvHead] = index
    }
}

/// k-means under cosine similarity as ClusterKV runs it: assignment to the centroid of highest
/// cosine similarity (one `sgemm` of normalized keys and centroids per batch, ties → lower
/// cluster), update to the mean of the raw member keys; an empty cluster keeps its centroid.
enum CosineKMeans {
    /// `clusters ≤ count` centroids (`clusters × dimension`) and each point's cluster.
    static func fit(_ points: UnsafePointer<Float>, count: Int, dimension d: Int, clusters k: Int, iterations: Int,
                    seed: UInt64) -> (centroids: [Float], labels: [Int32]) {
        precondition(k >= 1 && k <= count, "cluster count \(k) for \(count) points")
        var normalized = [Float](repeating: 0, count: count * d)
        normalized.withUnsafeMutableBufferPointer { out in
            for i in 0..<count { normalize(points + i * d, into: out.baseAddress! + i * d, dimension: d) }
        }
        // Distinct random points as initial centroids (partial Fisher–Yates).
        var generator = SeededGenerator(seed: seed)
        var pick = Array(0..<count)
        var centroids = [Float](repeating: 0, count: k * d)
        for c in 0..<k {
            pick.swapAt(c, c + Int(generator.next() % UInt64(count - c)))
            for t in 0..<d { centroids[c * d + t] = points[pick[c] * d + t] }
        }
        var labels = [Int32](repeating: 0, count: count)
        let batch = max(1, min(count, 262_144 / k))
        let similarities = UnsafeMutablePointer<Float>.allocate(capacity: batch * k)
        let unit = UnsafeMutablePointer<Float>.allocate(capacity: k * d)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: k * d)   // Double: clusters can be large
        var sizes = [Int](repeating: 0, count: k)
        defer { similarities.deallocate(); unit.deallocate(); sums.deallocate() }
        func assign() {
            centroids.withUnsafeBufferPointer { c in
                for i in 0..<k { normalize(c.baseAddress! + i * d, into: unit + i * d, dimension: d) }
            }
            normalized.withUnsafeBufferPointer { x in
                labels.withUnsafeMutableBufferPointer { l in
                    var start = 0
                    while start < count {
                        let rows = min(batch, count - start)
                        BLAS.multiplyTransposedB(m: rows, n: k, k: d, a: x.baseAddress! + start * d, lda: d,
                                                 b: unit, ldb: d, c: similarities, ldc: k)
                        for r in 0..<rows {
                            let row = similarities + r * k
                            var best = 0
                            for c in 1..<k where row[c] > row[best] { best = c }
                            l[start + r] = Int32(best)
                        }
                        start += rows
                    }
                }
            }
        }
        for _ in 0..<iterations {
            assign()
            sums.initialize(repeating: 0, count: k * d)
            for c in 0..<k { sizes[c] = 0 }
            for i in 0..<count {
                let c = Int(labels[i]), sum = sums + c * d, x = points + i * d
                sizes[c] += 1
                for t in 0..<d { sum[t] += Double(x[t]) }
            }
            for c in 0..<k where sizes[c] > 0 {
                let scale = 1 / Double(sizes[c])
                for t in 0..<d { centroids[c * d + t] = Float(sums[c * d + t] * scale) }
            }
        }
        assign()
        return (centroids, labels)
    }

    /// x / (‖x‖ + 1e-8), the reference's guard against zero keys.
    private static func normalize(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, dimension d: Int) {
        var norm: Float = 0
        for t in 0..<d { norm += x[t] * x[t] }
        let scale = 1 / (norm.squareRoot() + 1e-8)
        for t in 0..<d { out[t] = x[t] * scale }
    }
}
