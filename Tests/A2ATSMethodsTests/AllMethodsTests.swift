import A2ATSTensor
@testable import A2ATSModel
@testable import A2ATSMethods
import XCTest

/// Every registered method — and every store method under a token method, every token method over
/// KIVI — through the same checks, driven as `Generation` drives a fork (method, then its store;
/// attention from the store's own kernel) (contract, "Budgets and accounting"): the selection is
/// ascending, unique and within the cache; attended tokens stay within G·B + sinks + window for
/// per-query-head selectors and B for the others (plus, for eviction methods that keep what is
/// generated, the tokens decoded so far); a budget covering the whole cache reads every token; and
/// `kv_bytes` equals a count made here from each store's rules (f32 rows, KIVI's quantized and
/// residual tokens with their fp16 scales, QAQ's per-vector widths and outliers, ThinK's pruned keys).
/// The prompt (160 tokens) is longer than A²ATS's sinks + window + top-k, so every method selects.
class AllMethodsTests: XCTestCase {
    /// The model shape every check runs on; subclasses run them on another shape.
    class var shape: ModelConfig { makeModel(layers: 3, heads: 4, kvHeads: 2, headDim: 16) }
    lazy var model = Self.shape
    let promptLength = 160
    let steps = 6
    /// Eviction methods that evict while decoding, so that a head never holds more than B.
    let boundedWhileDecoding: Set = ["streamingllm", "h2o", "tova", "corm"]

    /// A²ATS codebooks calibrated on random keys of this test's shape (what the harness's
    /// codebook store does with a real model's keys), and other methods' offline artifacts likewise.
    final class SyntheticCodebooks: MethodResources {
        let model: ModelConfig
        init(model: ModelConfig) { self.model = model }
        func codebooks(_ configuration: CodebookConfiguration) throws -> CodebookSet {
            try A2ATSFixture.codebooks(config: model, keys: A2ATSFixture.gaussian((configuration.centroids + 100) * model.headDim, seed: 3),
                                       queries: A2ATSFixture.gaussian(200 * model.headDim, seed: 4), configuration: configuration)
        }
        /// Offline artifacts built by the method's own rule from random post-RoPE samples.
        func artifact(_ request: ArtifactRequest) throws -> OfflineArtifact {
            let shape = ArtifactShape(model), tokens = 64
            let samples = (0..<shape.kvHeads).map { kvHead in
                CalibrationSamples(queries: A2ATSFixture.gaussian(tokens * model.groupSize * model.headDim, seed: UInt64(5 + kvHead)),
                                   keys: A2ATSFixture.gaussian(tokens * model.headDim, seed: UInt64(9 + kvHead)), keyRows: Array(0..<tokens))
            }
            return OfflineArtifact(kind: request.kind, modelFingerprint: "synthetic", shape: shape, settings: request.settings,
                                   tensors: try request.build(shape) { _ in samples })
        }
    }

    lazy var codebookSource = SyntheticCodebooks(model: model)

    /// Registered methods, then compositions: snapkv over each store method, each other budgeted token method over KIVI.
    var specs: [String] {
        let descriptors = MethodRegistry.descriptors
        return descriptors.map(\.name)
            + descriptors.filter { $0.makeStore != nil }.map { "snapkv+" + $0.name }
            + descriptors.filter { $0.makeStore == nil && $0.takesBudget && !$0.ownsStore && $0.name != "snapkv" }.map { $0.name + "+kivi" }
    }

    func testEveryMethodHonoursTheProtocol() throws {
        XCTAssertEqual(specs.count, MethodRegistry.descriptors.count + 4 + 15)
        for spec in specs {
            let resolved = try MethodRegistry.resolve(MethodSpec.parse(spec))
            for budget in [1, 5, 16, 100, promptLength, promptLength + steps] {
                try check(spec, resolved: resolved, budget: resolved.takesBudget ? budget : nil)
                if !resolved.takesBudget { break }
            }
        }
    }

    private func check(_ spec: String, resolved: ResolvedMethod, budget: Int?) throws {
        let label = "\(spec) B=\(budget.map(String.init) ?? "-")"
        var rng = SeededGenerator(seed: 21)
        var parsed = try MethodSpec.parse(spec)
        // KNorm's reference setting leaves layer 0 whole (testKNormSkipsLayers); here every layer is held to B.
        if parsed.name == "knorm" { parsed.parameters["skip_layers"] = "none" }
        // Quest's and ClusterKV's dense first layers read everything (QuestTests, ClusterKVTests); here every layer selects.
        if ["quest", "clusterkv"].contains(parsed.name) { parsed.parameters["dense_layers"] = "0" }
        let method = try MethodRegistry.make(parsed, budgetTokens: budget, model: model, resources: codebookSource)
        XCTAssertEqual(method.kind, resolved.kind, label)
        let d = model.headDim, g = model.groupSize
        let cache = makeCache(model, tokens: promptLength, capacity: promptLength + steps) { _, _, _ in rng.vector(d) }
        let statistics = randomStatistics(needs: method.prefillNeeds, rng: &rng)
        let store = method.kvStore ?? DenseKVStore()
        for layer in 0..<model.layerCount {
            try method.didPrefill(layer: layer, cache: cache, statistics: statistics)
            try store.didPrefill(layer: layer, cache: cache, statistics: statistics,
                                 resident: (0..<model.kvHeadCount).map { method.residentTokens(layer: layer, kvHead: $0) })
        }
        let tokenKind = resolved.tokenKind
        let defaults = Dictionary(uniqueKeysWithValues: (resolved.tokenPart?.descriptor.parameters ?? []).map { ($0.name, $0.defaultValue) })
        let perQueryHead = tokenKind == .retrieval
        var extra = perQueryHead ? (Int(defaults["sinks"] ?? "0") ?? 0) + (Int(defaults["window"] ?? "0") ?? 0) : 0
        // Quest's last page is its window, read on top of the budget.
        extra += Int(defaults["page"] ?? "0") ?? 0
        // PQCache's window is a share of the budget: max(1, round(B·r/(1−r))) recent tokens on top.
        if let ratio = Double(defaults["recent_ratio"] ?? ""), let budget {
            extra += max(1, Int((Double(budget) * ratio / (1 - ratio)).rounded()))
        }
        // ShadowKV's local part also holds the < 8 tokens that align the chunks, and it reads every decoded token.
        let readsDecoded = resolved.tokenPart?.descriptor.name == "shadowkv"
        var weights = [Float](repeating: 0, count: model.headCount * cache.capacity)
        var output = [Float](repeating: 0, count: model.headCount * d)
        for decoded in 1...steps {
            appendTokens(cache, count: 1) { _, _, _ in rng.vector(d) }
            var attended = 0
            for layer in 0..<model.layerCount {
                store.didAppend(layer: layer, cache: cache)
                let q = rng.vector(model.headCount * d)
                let selection = q.withUnsafeBufferPointer { qp -> TokenSelection in
                    let query = DecodeQuery(layer: layer, position: cache.length - 1, queries: qp.baseAddress!,
                                            preRoPEQueries: qp.baseAddress!)
                    let selection = method.select(query, cache: cache)
                    var counts: [Int] = []
                    weights.withUnsafeMutableBufferPointer { w in output.withUnsafeMutableBufferPointer { o in
                        let w = w.baseAddress!, o = o.baseAddress!
                        for kvHead in 0..<model.kvHeadCount {
                            let rows = selection.perKVHead[kvHead]
                            let count = rows?.count ?? cache.length
                            counts.append(count)
                            let attend = { (r: UnsafePointer<Int32>?) in
                                store.attend(layer: layer, kvHead: kvHead, queries: qp.baseAddress! + kvHead * g * d, groupSize: g,
                                             cache: cache, rows: r, count: count, weights: w + kvHead * g * cache.capacity,
                                             stride: cache.capacity, output: o + kvHead * g * d)
                            }
                            if let rows { rows.withUnsafeBufferPointer { attend($0.baseAddress) } } else { attend(nil) }
                        }
                        let base = w, capacity = cache.capacity
                        method.didAttend(query, selection: selection, weights: AttentionWeights { head in
                            UnsafeBufferPointer(start: base + head * capacity, count: counts[head / g])
                        })
                    } }
                    return selection
                }
                XCTAssertTrue(output.allSatisfy(\.isFinite), "\(label): attention output")
                XCTAssertEqual(selection.perKVHead.count, model.kvHeadCount, label)
                for kvHead in 0..<model.kvHeadCount {
                    let count = selection.count(kvHead: kvHead, cachedTokens: cache.length)
                    attended += count
                    if let list = selection.perKVHead[kvHead] {
                        XCTAssertTrue(zip(list, list.dropFirst()).allSatisfy { $0 < $1 }, "\(label): not ascending/unique")
                        XCTAssertTrue(list.allSatisfy { $0 >= 0 && Int($0) < cache.length }, "\(label): out of range")
                    }
                    guard let budget else { continue }
                    if budget >= cache.length {
                        XCTAssertEqual(count, cache.length, "\(label): a budget covering the cache must read everything")
                    } else if perQueryHead {
                        XCTAssertLessThanOrEqual(count, g * budget + extra + (readsDecoded ? 7 + decoded : 0), label)
                    } else if boundedWhileDecoding.contains(resolved.tokenPart!.descriptor.name) && budget < promptLength {
                        XCTAssertLessThanOrEqual(count, budget, label)
                    }
                }
            }
            if let budget, tokenKind == .eviction, budget < promptLength {
                // Mean over layers and KV heads (PyramidKV moves budget between layers).
                let mean = Double(attended) / Double(model.layerCount * model.kvHeadCount)
                XCTAssertLessThanOrEqual(mean, Double(budget + decoded), label)
            }
            let resident = { (layer: Int, kvHead: Int) in method.residentTokens(layer: layer, kvHead: kvHead) }
            XCTAssertEqual(store.kvBytes(cache: cache, resident: resident), expectedBytes(store, cache: cache, resident: resident),
                           "\(label): K/V bytes after \(decoded) decoded tokens")
            if tokenKind == .eviction {
                let kept = (0..<model.layerCount).flatMap { l in (0..<model.kvHeadCount).map { resident(l, $0)?.count ?? cache.length } }
                XCTAssertEqual(kept.reduce(0, +), attended, "\(label): an eviction method reads the tokens it keeps")
            }
        }
    }

    /// `kv_bytes` counted here from each store's rules, not from its code.
    private func expectedBytes(_ store: KVStore, cache: KVCache, resident: (Int, Int) -> [Int32]?) -> Int {
        let d = model.headDim, f32 = 4, n = promptLength, decoded = cache.length - n
        var total = 0
        for layer in 0..<model.layerCount {
            for kvHead in 0..<model.kvHeadCount {
                let kept = resident(layer, kvHead)?.map(Int.init) ?? Array(0..<cache.length)
                switch store {
                case let kivi as KIVIStore:
                    // Tokens the store took in, in order: the prompt tokens kept at prefill, then every decoded one.
                    let prompt = kept.filter { $0 < n }
                    let order = prompt + (n..<cache.length)
                    var quantizedKeys = prompt.count - prompt.count % kivi.residual
                    var keyResidual = prompt.count - quantizedKeys
                    var quantizedValues = max(0, prompt.count - kivi.residual), valueResidual = prompt.count - quantizedValues
                    for _ in 0..<decoded {
                        if keyResidual == kivi.residual { quantizedKeys += keyResidual; keyResidual = 0 }
                        keyResidual += 1
                        if valueResidual > kivi.residual { quantizedValues += 1; valueResidual -= 1 }
                        valueResidual += 1
                    }
                    let keySet = Set(order.prefix(quantizedKeys)), valueSet = Set(order.prefix(quantizedValues))
                    let rowBytes = d * kivi.bits / 8
                    var groups = Set<Int>()
                    for t in kept {
                        if let index = order.firstIndex(of: t), keySet.contains(t) { total += rowBytes; groups.insert(index / kivi.group) } else { total += d * f32 }
                        total += valueSet.contains(t) ? rowBytes + d / kivi.valueGroup * 4 : d * f32
                    }
                    total += groups.count * d * 4
                case let qaq as QAQStore:
                    for t in kept {
                        let (key, value) = qaq.vectors(layer: layer, kvHead: kvHead, position: t)
                        for vector in [key, value] {
                            guard let vector else { total += d * f32; continue }
                            total += (d * vector.bits + 7) / 8 + 4 + vector.outlierChannels.count * 5
                        }
                    }
                case let shadow as ShadowKVStore where !shadow.isExact:
                    // Values of every token, exact keys of outlier, local and decoded tokens, and per layer the
                    // rank-r factors of the prompt keys (n × r) and one r × d basis per KV head.
                    let chunks = (n - shadow.window) / shadow.chunk
                    let outliers = min(chunks, shadow.maxOutlierChunks, Int((shadow.outlierFraction * Double(chunks)).rounded(.up)))
                    let rank = min(shadow.rank, model.kvHeadCount * d, n)
                    total += (cache.length + outliers * shadow.chunk + cache.length - chunks * shadow.chunk) * d * f32
                    if kvHead == 0 { total += (n * rank + model.kvHeadCount * rank * d) * f32 }
                case is FP16Store:
                    total += kept.count * 2 * d * 2
                case let think as ChannelPrunedStore:
                    for t in kept { total += (t < n - think.window ? think.keptChannels : d) * f32 + d * f32 }
                default:
                    total += kept.count * 2 * d * f32
                }
            }
        }
        return total
    }

    /// Statistics shaped like a real prefill's: causal softmax rows for the observation window,
    /// column sums of those rows' kind for the accumulated attention, random last queries.
    private func randomStatistics(needs: PrefillNeeds, rng: inout SeededGenerator) -> PrefillStatistics {
        let n = promptLength
        func row(_ query: Int) -> [Float] {
            var a = (0..<n).map { $0 <= query ? Float.random(in: 0...1, using: &rng) : 0 }
            let sum = a.reduce(0, +)
            for j in 0..<n { a[j] /= sum }
            return a
        }
        let window = min(needs.observationWindow, n)
        let rows = (0..<(model.layerCount * model.headCount * window)).map { row(n - window + $0 % max(window, 1)) }
        let sums = (0..<(model.layerCount * model.headCount)).map { _ in
            (0..<n).map { Float(n - $0) * Float.random(in: 0.5...1, using: &rng) / Float(n) }
        }
        let heads = model.headCount
        let statistics = makeStatistics(model, promptLength: n, window: window,
                                        observed: { layer, head, r in rows[(layer * heads + head) * window + r] },
                                        accumulated: needs.accumulatedAttention ? { layer, head in sums[layer * heads + head] } : nil,
                                        observedQueries: needs.observedQueries)
        for layer in 0..<model.layerCount where statistics.observedQueryCount > 0 {
            let values = rng.vector(statistics.observedQueryCount * heads * model.headDim)
            statistics.withObservedQueries(layer: layer) { $0.update(from: values, count: values.count) }
        }
        return statistics
    }
}

/// Every check above with a GQA group of 7 (14 query heads over 2 KV heads, as Qwen2.5-Coder-0.5B;
/// issue 15): per-query-head selectors read the union of 7 heads' picks within G·B + sinks + window.
final class AllMethodsGroupOf7Tests: AllMethodsTests {
    override class var shape: ModelConfig { makeModel(layers: 2, heads: 14, kvHeads: 2, headDim: 16) }

    /// Restated: Linux test discovery lists a subclass only when it declares a test method of its own.
    override func testEveryMethodHonoursTheProtocol() throws { try super.testEveryMethodHonoursTheProtocol() }
}
