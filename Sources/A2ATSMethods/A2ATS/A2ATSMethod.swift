import A2ATSModel
import A2ATSTensor
import Foundation

/// A²ATS (arXiv 2502.12665): windowed RoPE + query-aware vector quantization of keys for
/// retrieval attention. Reference settings: topk 0.03 per query head, 8 sinks, 64-token window,
/// b = 2048, 4096 centroids (our default model: 512, see methods.md "Sizing A²ATS").
///
/// Each pre-RoPE key has a 16-bit code per KV head. A decode step builds, per query head, the table
/// T = q̃·Cᵀ/√d (q̃ = q R_b, one `sgemv` per head), scores every non-sink, non-window token
/// as T[code_j], keeps the top ⌊topk·n⌋ (or the run's per-head budget) by partial selection over the
/// C distinct table values (`CodeSelection`), and reads the union over the group plus sinks and
/// window; attention over it is the engine's exact one.
///
/// Codes: the prompt's keys are encoded in `didPrefill`; a decoded token's key is encoded at the
/// first `select` after it was appended (its own step), so every cached token has a code while it
/// is ranked. An inverted index (code → tokens, `CodeIndex`) lets a step visit only the tokens of
/// selected codes; it is built at prefill and rebuilt when the unindexed tail of decoded tokens
/// outgrows `max(256, n/16)`. Memory: retrieval keeps all K/V (in the paper's serving design, in
/// CPU memory); codes and index are side bytes.
public final class A2ATSMethod: CacheMethod {
    public let kind: CacheMethodKind = .retrieval
    public let prefillNeeds: PrefillNeeds = .none
    public let parameters: A2ATSParameters
    public let codebooks: CodebookSet
    /// Tokens each query head selects beyond sinks and window; nil = ⌊topk · n⌋.
    public let budgetTokens: Int?
    private let headCount: Int, kvHeadCount: Int, headDim: Int, groupSize: Int
    private let rope: WindowedRoPE
    private let codeSelections: [CodeSelection]              // per KV head, so heads select in parallel
    private var codes: [UnsafeMutablePointer<UInt16>] = []   // per (layer, KV head): capacity codes
    private var indexes: [CodeIndex] = []                     // per (layer, KV head)
    private var encodedCount: [Int] = []
    private var capacity = 0
    private let rotated: UnsafeMutablePointer<Float>        // per KV head: groupSize × headDim
    private let table: UnsafeMutablePointer<Float>          // per KV head: groupSize × C

    public init(parameters: A2ATSParameters, codebooks: CodebookSet, config: ModelConfig, budgetTokens: Int? = nil) throws {
        func mismatch(_ field: String, _ expected: Any, _ found: Any) -> A2ATSError {
            .codebookMismatch(file: "codebooks", field: field, expected: "\(expected)", found: "\(found)")
        }
        guard codebooks.configuration == parameters.codebookConfiguration else {
            throw mismatch("configuration", parameters.codebookConfiguration, codebooks.configuration)
        }
        guard codebooks.layerCount == config.layerCount else { throw mismatch("layer count", config.layerCount, codebooks.layerCount) }
        guard codebooks.kvHeadCount == config.kvHeadCount else { throw mismatch("KV head count", config.kvHeadCount, codebooks.kvHeadCount) }
        guard codebooks.headDim == config.headDim else { throw mismatch("head dimension", config.headDim, codebooks.headDim) }
        if let budgetTokens, budgetTokens < 0 {
            throw A2ATSError.invalidParameter(name: "budget", value: "\(budgetTokens)", expected: "a token count ≥ 0")
        }
        self.parameters = parameters
        self.codebooks = codebooks
        self.budgetTokens = budgetTokens
        headCount = config.headCount
        kvHeadCount = config.kvHeadCount
        headDim = config.headDim
        groupSize = config.groupSize
        rope = WindowedRoPE(config: config, offset: parameters.offset)
        rotated = .allocate(capacity: kvHeadCount * groupSize * headDim)
        table = .allocate(capacity: kvHeadCount * groupSize * parameters.centroids)
        let (centroids, group) = (parameters.centroids, config.groupSize)
        codeSelections = (0 ..< config.kvHeadCount).map { _ in CodeSelection(centroidCount: centroids, groupSize: group) }
    }

    deinit {
        codes.forEach { $0.deallocate() }
        rotated.deallocate()
        table.deallocate()
    }

    /// Tokens one query head selects out of the ranked ones when `n` tokens are cached.
    public func perHeadBudget(cachedTokens n: Int) -> Int {
        budgetTokens ?? Int((parameters.topk * Double(n)).rounded(.down))
    }

    /// Encodes the prompt's keys not yet encoded (all of them after the shared prefill; none
    /// after a fork, which only cuts codes back) and rebuilds the indexes: the KV heads in
    /// parallel, each with single-threaded BLAS, since each has its own codebook, codes and index.
    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        reserve(cache)
        // Forking cuts the cache back to the prompt: codes past it belong to another branch.
        let starts = (0 ..< kvHeadCount).map { min(encodedCount[layer * kvHeadCount + $0], cache.length) }
        let savedThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = savedThreads }
        let workers = min(kvHeadCount, Self.workerCount)
        Parallel.perform(workers) { worker in
            for kvHead in Swift.stride(from: worker, to: kvHeadCount, by: workers) {
                let slot = layer * kvHeadCount + kvHead
                encode(layer: layer, kvHead: kvHead, from: starts[kvHead], cache: cache)
                indexes[slot].rebuild(codes: codes[slot], count: cache.length)
            }
        }
        for kvHead in 0 ..< kvHeadCount { encodedCount[layer * kvHeadCount + kvHead] = cache.length }
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length
        let rankedStart = min(parameters.sinks, n)
        let rankedEnd = max(rankedStart, n - parameters.window)
        let ranked = rankedEnd - rankedStart
        let k = min(perHeadBudget(cachedTokens: n), ranked)
        if k >= ranked { return .all(kvHeads: kvHeadCount) }   // sinks + window + every ranked token
        // Codes and indexes first, one head at a time (they may grow or rebuild shared state);
        // then each KV head's tables and selection, which touch only that head's scratch, on the
        // cores a step has (the model's attention already runs on two; selection was one core's).
        let slots = (0 ..< kvHeadCount).map { query.layer * kvHeadCount + $0 }
        for kvHead in 0 ..< kvHeadCount { encodeNewKeys(layer: query.layer, kvHead: kvHead, cache: cache) }
        let indexesNow = k > 0 ? slots.map { currentIndex(slot: $0, cachedTokens: n) } : []
        var perKVHead = [[Int32]?](repeating: nil, count: kvHeadCount)
        perKVHead.withUnsafeMutableBufferPointer { results in
            let results = SelectionResults(buffer: results)
            let choose = { (kvHead: Int) in
                var chosen = [Int32]()
                chosen.reserveCapacity(rankedStart + self.groupSize * k + (n - rankedEnd))
                for j in 0 ..< rankedStart { chosen.append(Int32(j)) }
                if k > 0 {
                    self.fillTables(query, kvHead: kvHead)
                    self.codeSelections[kvHead].select(codes: self.codes[slots[kvHead]], index: indexesNow[kvHead],
                                                       range: rankedStart ..< rankedEnd, tables: self.tables(kvHead), k: k,
                                                       into: &chosen)
                }
                for j in rankedEnd ..< n { chosen.append(Int32(j)) }
                results.buffer[kvHead] = chosen
            }
            let workers = min(kvHeadCount, Self.workerCount)
            if workers > 1 && k > 0 {
                Parallel.perform(workers) { worker in
                    for kvHead in Swift.stride(from: worker, to: kvHeadCount, by: workers) { choose(kvHead) }
                }
            } else {
                for kvHead in 0 ..< kvHeadCount { choose(kvHead) }
            }
        }
        return TokenSelection(perKVHead: perKVHead)
    }

    /// Cores a step's selection may use.
    private static let workerCount = ProcessInfo.processInfo.activeProcessorCount

    /// KV head `kvHead`'s tables: `groupSize × C`.
    private func tables(_ kvHead: Int) -> UnsafeMutablePointer<Float> { table + kvHead * groupSize * parameters.centroids }

    /// The slot's code index, rebuilt when the cache was cut back below it (a fork) or when the
    /// decoded tokens it does not cover (scanned one by one each step) outgrow max(256, n/16).
    private func currentIndex(slot: Int, cachedTokens n: Int) -> CodeIndex {
        let index = indexes[slot]
        if index.count > n || n - index.count > max(256, n / 16) { index.rebuild(codes: codes[slot], count: n) }
        return index
    }

    /// Approximate scores T[code_j] of every cached token for one query head (same scale as
    /// q·k/√d), for the fidelity report. `output` holds `cache.length` floats.
    public func approximateScores(_ query: DecodeQuery, cache: KVCache, queryHead: Int, into output: UnsafeMutablePointer<Float>) {
        let kvHead = queryHead / groupSize
        encodeNewKeys(layer: query.layer, kvHead: kvHead, cache: cache)
        fillTables(query, kvHead: kvHead)
        let row = tables(kvHead) + (queryHead % groupSize) * parameters.centroids
        let code = codes[query.layer * kvHeadCount + kvHead]
        for j in 0 ..< cache.length { output[j] = row[Int(code[j])] }
    }

    /// Codes, code indexes and codebooks; the K/V themselves stay whole (a retrieval method).
    public func sideBytes(cache: KVCache) -> Int {
        let codeBytes = cache.length * kvHeadCount * codebooks.layerCount * MemoryLayout<UInt16>.size
        let indexBytes = indexes.reduce(0) { $0 + $1.residentBytes }
        return codeBytes + indexBytes + codebooks.residentBytes
    }

    /// tables(kvHead)[g] = q̃_g · Cᵀ / √d for the query heads of `kvHead`, all heads in one pass over
    /// the centroids (`multiplyFewRows`), instead of one pass per head.
    private func fillTables(_ query: DecodeQuery, kvHead: Int) {
        let d = headDim
        let book = codebooks.codebook(layer: query.layer, kvHead: kvHead)
        let rotated = self.rotated + kvHead * groupSize * d
        for g in 0 ..< groupSize {
            let head = kvHead * groupSize + g
            if parameters.wrope {
                rope.rotate(query.preRoPEQueries + head * d, into: rotated + g * d)
            } else {
                (rotated + g * d).update(from: query.queries + head * d, count: d)
            }
        }
        book.centroidsByDimension.withUnsafeBufferPointer { centroids in
            multiplyFewRows(rotated, rows: groupSize, inner: d, by: centroids.baseAddress!, columns: book.centroidCount,
                            alpha: 1 / Float(d).squareRoot(), into: tables(kvHead))
        }
    }

    /// Codes for the tokens appended since the last call (pre-RoPE keys, or post-RoPE without WRoPE).
    private func encodeNewKeys(layer: Int, kvHead: Int, cache: KVCache) {
        reserve(cache)
        let slot = layer * kvHeadCount + kvHead
        encode(layer: layer, kvHead: kvHead, from: min(encodedCount[slot], cache.length), cache: cache)
        encodedCount[slot] = cache.length
    }

    /// Codes of tokens `start ..< cache.length` of one KV head; touches only that head's codes.
    private func encode(layer: Int, kvHead: Int, from start: Int, cache: KVCache) {
        guard start < cache.length else { return }
        let keys = parameters.wrope ? cache.preRoPEKeys(layer: layer, kvHead: kvHead) : cache.keys(layer: layer, kvHead: kvHead)
        codebooks.codebook(layer: layer, kvHead: kvHead)
            .encode(keys + start * headDim, count: cache.length - start, into: codes[layer * kvHeadCount + kvHead] + start)
    }

    private func reserve(_ cache: KVCache) {
        guard cache.capacity > capacity else { return }
        let slots = codebooks.layerCount * kvHeadCount
        let grown = (0 ..< slots).map { slot -> UnsafeMutablePointer<UInt16> in
            let p = UnsafeMutablePointer<UInt16>.allocate(capacity: cache.capacity)
            if slot < codes.count { p.update(from: codes[slot], count: min(encodedCount[slot], capacity)) }
            return p
        }
        codes.forEach { $0.deallocate() }
        codes = grown
        if encodedCount.isEmpty {
            encodedCount = Array(repeating: 0, count: slots)
            indexes = (0 ..< slots).map { _ in CodeIndex(centroidCount: parameters.centroids) }
        }
        capacity = cache.capacity
    }
}

/// The per-KV-head results of one `select`, written by the workers at disjoint indices.
private struct SelectionResults: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<[Int32]?>
}
