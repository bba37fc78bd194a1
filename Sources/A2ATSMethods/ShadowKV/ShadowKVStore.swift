import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// What ShadowKV keeps of one fork (see `ShadowKV`): per layer a rank-r factorization of the
/// prompt's pre-RoPE keys, all KV heads side by side (`factors` n × r, one `bases` r × d per KV
/// head, so k_h(t) ≈ factors[t] · bases_h); per KV head the chunk landmarks and outlier chunks;
/// values and the keys of outlier, local and decoded tokens exact, read from the shared rows.
/// `attend` rebuilds the keys of the other chunk tokens from the factors and rotates them to their
/// positions, block by block, so attention reads exactly what ShadowKV's GPU buffer holds.
final class ShadowKVStore: KVStore {
    /// One (layer, KV head): landmarks of the non-outlier chunks and which chunks are outliers.
    struct Head {
        /// `landmarkChunks.count × d`: mean post-RoPE key of each non-outlier chunk.
        var landmarks: [Float] = []
        /// The chunk each landmark row stands for (ascending).
        var landmarkChunks: [Int32] = []
        /// Outlier chunks (ascending): kept with exact keys and read at every step.
        var outlierChunks: [Int32] = []
        /// Per chunk: true for an outlier.
        var isOutlier: [Bool] = []
    }

    let rank: Int, chunk: Int, window: Int
    /// Fraction of the prompt's chunks kept as outliers (rounded up), at most `maxOutlierChunks`.
    let outlierFraction: Double
    let maxOutlierChunks: Int
    /// Set when the budget covers the prompt: nothing is factored and every key is read exact.
    private(set) var isExact = false
    private let model: ModelConfig
    private let rope: RotaryEmbedding
    /// Prompt tokens at prefill; chunks cover `0 ..< chunkCount · chunk`, the rest is local.
    private(set) var promptLength = 0, chunkCount = 0, outlierCount = 0, effectiveRank = 0
    private var factors: [[Float]], bases: [[Float]], heads: [[Head]]
    /// RoPE angles of the chunked positions: `chunkCount · chunk × d/2` each.
    private var cosines: [Float] = [], sines: [Float] = []
    /// Scratch: one block of keys as attention reads them.
    private var block: [Float] = []

    init(model: ModelConfig, rank: Int, chunk: Int, window: Int, outlierFraction: Double, maxOutlierChunks: Int) {
        self.model = model
        self.rank = rank
        self.chunk = chunk
        self.window = window
        self.outlierFraction = outlierFraction
        self.maxOutlierChunks = maxOutlierChunks
        rope = RotaryEmbedding(config: model)
        factors = Array(repeating: [], count: model.layerCount)
        bases = Array(repeating: [], count: model.layerCount)
        heads = Array(repeating: Array(repeating: Head(), count: model.kvHeadCount), count: model.layerCount)
    }

    var prefillNeeds: PrefillNeeds { .none }

    /// Called before `didPrefill` when the budget covers the prompt.
    func keepExact() { isExact = true }

    func head(layer: Int, kvHead: Int) -> Head { heads[layer][kvHead] }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {
        let n = cache.length
        promptLength = n
        chunkCount = max(0, (n - window) / chunk)
        guard !isExact, chunkCount > 0 else { return }
        outlierCount = min(chunkCount, maxOutlierChunks, Int((outlierFraction * Double(chunkCount)).rounded(.up)))
        if layer == 0 {
            (cosines, sines) = rope.table(start: 0, count: chunkCount * chunk)
        }
        factorize(layer: layer, cache: cache)
        for kvHead in 0..<model.kvHeadCount { heads[layer][kvHead] = chunkHead(keys: cache.keys(layer: layer, kvHead: kvHead)) }
    }

    /// The rank-r factorization of one layer's pre-RoPE prompt keys K (n × H·d): the top r
    /// eigenvectors V of KᵀK are K's top right singular vectors, so K ≈ (K V) Vᵀ, the reference's
    /// U · (S Vᵀ) with the same memory.
    private func factorize(layer: Int, cache: KVCache) {
        let n = promptLength, d = model.headDim, h = model.kvHeadCount, width = h * d
        let r = min(rank, width, n)
        effectiveRank = r
        var gram = [Float](repeating: 0, count: width * width)
        gram.withUnsafeMutableBufferPointer { gram in
            for a in 0..<h {
                for b in a..<h {
                    // Block (a, b) = K_aᵀ K_b.
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(n), 1,
                                cache.preRoPEKeys(layer: layer, kvHead: a), Int32(d),
                                cache.preRoPEKeys(layer: layer, kvHead: b), Int32(d), 0,
                                gram.baseAddress! + a * d * width + b * d, Int32(width))
                }
            }
        }
        // Fill the lower triangle from the blocks above the diagonal.
        var symmetric = [Double](repeating: 0, count: width * width)
        for i in 0..<width {
            for j in 0..<width { symmetric[i * width + j] = Double(i / d <= j / d ? gram[i * width + j] : gram[j * width + i]) }
        }
        let vectors = SymmetricEigen.decompose(symmetric, n: width).vectors
        var layerBases = [Float](repeating: 0, count: h * r * d)
        for kvHead in 0..<h {
            for j in 0..<r { for c in 0..<d { layerBases[(kvHead * r + j) * d + c] = Float(vectors[j * width + kvHead * d + c]) } }
        }
        var layerFactors = [Float](repeating: 0, count: n * r)
        layerFactors.withUnsafeMutableBufferPointer { f in layerBases.withUnsafeBufferPointer { b in
            for kvHead in 0..<h {
                // factors += K_h · basesₕᵀ.
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(r), Int32(d), 1,
                            cache.preRoPEKeys(layer: layer, kvHead: kvHead), Int32(d), b.baseAddress! + kvHead * r * d, Int32(d),
                            kvHead == 0 ? 0 : 1, f.baseAddress!, Int32(r))
            }
        } }
        factors[layer] = layerFactors
        bases[layer] = layerBases
    }

    /// Landmarks and outliers of one KV head from its post-RoPE keys: a chunk's landmark is the mean
    /// of its keys, and the chunks whose least key-to-landmark cosine similarity is lowest are the
    /// outliers (ties to the lower chunk).
    private func chunkHead(keys: UnsafePointer<Float>) -> Head {
        let d = model.headDim
        var means = [Float](repeating: 0, count: chunkCount * d), similarity = [Float](repeating: 0, count: chunkCount)
        for c in 0..<chunkCount {
            for t in (c * chunk)..<((c + 1) * chunk) { for i in 0..<d { means[c * d + i] += keys[t * d + i] } }
            for i in 0..<d { means[c * d + i] /= Float(chunk) }
            var least = Float.infinity
            means.withUnsafeBufferPointer { m in
                let landmark = m.baseAddress! + c * d
                let norm = dot(landmark, landmark, d).squareRoot()
                for t in (c * chunk)..<((c + 1) * chunk) {
                    let key = keys + t * d
                    least = min(least, dot(landmark, key, d) / max(norm * dot(key, key, d).squareRoot(), 1e-8))
                }
            }
            similarity[c] = least
        }
        let outliers = (0..<chunkCount).sorted { similarity[$0] != similarity[$1] ? similarity[$0] < similarity[$1] : $0 < $1 }
            .prefix(outlierCount)
        var head = Head()
        head.isOutlier = [Bool](repeating: false, count: chunkCount)
        for c in outliers { head.isOutlier[c] = true }
        head.outlierChunks = outliers.sorted().map { Int32($0) }
        for c in 0..<chunkCount where !head.isOutlier[c] {
            head.landmarkChunks.append(Int32(c))
            head.landmarks.append(contentsOf: means[(c * d)..<((c + 1) * d)])
        }
        return head
    }

    func didAppend(layer: Int, cache: KVCache) {}

    /// Whether the key of `position` is rebuilt from the factors (a non-outlier chunk token).
    @inline(__always) private func isRebuilt(_ position: Int, _ outlier: UnsafePointer<Bool>) -> Bool {
        position < chunkCount * chunk && !outlier[position / chunk]
    }

    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        let d = model.headDim, keys = cache.keys(layer: layer, kvHead: kvHead), values = cache.values(layer: layer, kvHead: kvHead)
        guard !isExact, chunkCount > 0, let rows else {
            GroupedAttention.attend(queries: queries, groupSize: groupSize, headDim: d, keys: keys, values: values,
                                    rows: rows, count: count, weights: weights, stride: stride, output: output)
            return
        }
        let r = effectiveRank, half = d / 2
        if block.isEmpty { block = [Float](repeating: 0, count: GroupedAttention.blockRows * d) }
        block.withUnsafeMutableBufferPointer { scratch in
        factors[layer].withUnsafeBufferPointer { factors in bases[layer].withUnsafeBufferPointer { bases in
        heads[layer][kvHead].isOutlier.withUnsafeBufferPointer { outlier in
        cosines.withUnsafeBufferPointer { cosines in sines.withUnsafeBufferPointer { sines in
            let outlier = outlier.baseAddress!, basis = bases.baseAddress! + kvHead * r * d
            GroupedAttention.attendBlocks(
                queries: queries, groupSize: groupSize, headDim: d, count: count, weights: weights, stride: stride,
                output: output, scratch: scratch.baseAddress!,
                keys: { start, end, block in
                    for i in start..<end {
                        let position = Int(rows[i]), row = block + (i - start) * d
                        guard isRebuilt(position, outlier) else { row.update(from: keys + position * d, count: d); continue }
                        Self.rebuild(factors.baseAddress! + position * r, rank: r, basis: basis, headDim: d, into: row)
                        rope.rotate(row, heads: 1, cos: cosines.baseAddress! + position * half, sin: sines.baseAddress! + position * half)
                    }
                },
                values: { start, end, block in
                    for i in start..<end { (block + (i - start) * d).update(from: values + Int(rows[i]) * d, count: d) }
                })
        } } } } } }
    }

    /// Pre-RoPE key = `factor` (1 × r) · `basis` (r × d): per 16 lanes one accumulator kept in a
    /// register across the rank (a BLAS call per row or block costs more than the work at this size).
    @inline(__always)
    private static func rebuild(_ factor: UnsafePointer<Float>, rank r: Int, basis: UnsafePointer<Float>, headDim d: Int,
                                into row: UnsafeMutablePointer<Float>) {
        var c = 0
        while c + 16 <= d {
            var sum = SIMD16<Float>()
            for j in 0..<r { sum.addProduct(factor[j], UnsafeRawPointer(basis + j * d + c).loadUnaligned(as: SIMD16<Float>.self)) }
            UnsafeMutableRawPointer(row + c).storeBytes(of: sum, as: SIMD16<Float>.self)
            c += 16
        }
        while c < d {
            var sum: Float = 0
            for j in 0..<r { sum += factor[j] * basis[j * d + c] }
            row[c] = sum
            c += 1
        }
    }

    /// Values of every cached token, exact keys of outlier, local and decoded tokens, and the factors
    /// (all prompt rows of `factors` and every `bases`), at f32; every token exact when nothing was
    /// factored. ShadowKV keeps every token (`resident` is nil).
    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        let f32 = MemoryLayout<Float>.size, d = model.headDim, n = cache.length
        guard !isExact, chunkCount > 0 else { return model.layerCount * model.kvHeadCount * n * 2 * d * f32 }
        let exactKeys = outlierCount * chunk + (n - chunkCount * chunk)
        let perLayer = (promptLength * effectiveRank + model.kvHeadCount * effectiveRank * d) * f32
            + model.kvHeadCount * (n + exactKeys) * d * f32
        return model.layerCount * perLayer
    }

    /// Landmarks (f32) with their chunk ids and the outlier chunk ids (Int32).
    var sideBytes: Int {
        let f32 = MemoryLayout<Float>.size, i32 = MemoryLayout<Int32>.size
        return heads.joined().reduce(0) { $0 + $1.landmarks.count * f32 + ($1.landmarkChunks.count + $1.outlierChunks.count) * i32 }
    }

    /// ShadowKV is never put under a KV-memory budget (it cannot be composed); dense bytes bound it.
    func promptBytesPerHead(keeping tokens: Int, headDim: Int) -> Int { tokens * denseBytesPerTokenAndHead(headDim: headDim) }
}
