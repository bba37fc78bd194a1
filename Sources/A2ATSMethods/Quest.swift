import A2ATSModel
import A2ATSTensor
import COpenBLAS

/// Quest, "Query-Aware Sparsity for Efficient Long-Context LLM Inference" (arXiv 2406.10774).
/// Reference settings: pages of 16 tokens (`page=16`), per page the elementwise min and max of
/// the post-RoPE keys, page score Σ_c max(q_c·max_c, q_c·min_c) (an upper bound of q·k over the
/// page), the first 2 layers dense (`dense_layers=2`).
///
/// Budget: B tokens per query head buy ⌊B/page⌋ whole pages, chosen by score among the pages
/// before the last; the last (partial, current) page is always read, on top of B — it plays the
/// recent window of the contract. Each KV head reads the union over its GQA group, so
/// attended ≤ G·⌊B/page⌋·page + page ≤ G·B + page. Dense layers read every token, and that is
/// what `attended_tokens` counts for them, as the paper does. With every earlier page affordable
/// (or B ≥ cached tokens) the method reads everything, like `full`.
///
/// Reference code read (mit-han-lab/Quest @ 01c1623):
/// - `quest/models/llama.py` 524–538: `page_budget = token_budget // page_size`, skip 2 layers.
/// - `quest/utils/controller.py` 100–116: top-k over every page but the last, which is always
///   read; the reference counts that last page inside its page budget (top `page_budget − 1`
///   pages + last), here it comes on top, as the contract puts sinks and windows.
/// - `evaluation/quest_attention.py` 23–69, 146–186 (the accuracy runs): the score as
///   q·k with each channel's key taken at the page max or min by the sign of q_c, pages aligned
///   at token 0, the partial last page scored over its real tokens. That path ranks the last
///   page with the others and reads at least 3 pages (`max(3, B // 16)`); here the kernel path's
///   rule is followed, so small budgets stay small.
public final class Quest: CacheMethod {
    public static let parameterSpecs = [
        ParameterSpec(name: "page", defaultValue: "16", help: "tokens per page", type: .integer(1...4096)),
        ParameterSpec(name: "dense_layers", defaultValue: "2", help: "first layers that read every token",
                      type: .integer(0...Int.max)),
    ]

    public static let descriptor = MethodDescriptor(
        name: "quest", summary: "pages of keys ranked by a min/max upper bound of q·k, top pages per query head",
        kind: .retrieval, parameters: parameterSpecs, takesBudget: true
    ) { parameters, budget, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "quest")
        return Quest(model: context.model, budget: budget ?? 0, pageSize: p.int("page"), denseLayers: p.int("dense_layers"))
    }

    public let budget: Int
    public let pageSize: Int
    public let denseLayers: Int
    private let kvHeads: Int
    private let groupSize: Int
    private let headDim: Int
    /// Per layer and KV head: `pages × headDim` elementwise maxima and minima of the keys.
    private var pageMax: [[UnsafeMutablePointer<Float>]] = []
    private var pageMin: [[UnsafeMutablePointer<Float>]] = []
    /// Per layer: tokens already folded into the page summaries.
    private var summarized: [Int]
    private var pageCapacity = 0
    // Scratch for one step.
    private let positive: UnsafeMutablePointer<Float>   // max(q, 0)
    private let negative: UnsafeMutablePointer<Float>   // min(q, 0)
    private var scores: UnsafeMutablePointer<Float>
    private var chosen: UnsafeMutablePointer<Int32>
    private var marked: UnsafeMutablePointer<Bool>
    private let selector = TopKSelector()

    public init(model: ModelConfig, budget: Int, pageSize: Int, denseLayers: Int) {
        self.budget = budget
        self.pageSize = pageSize
        self.denseLayers = denseLayers
        kvHeads = model.kvHeadCount
        groupSize = model.groupSize
        headDim = model.headDim
        summarized = Array(repeating: 0, count: model.layerCount)
        positive = .allocate(capacity: model.headDim)
        negative = .allocate(capacity: model.headDim)
        scores = .allocate(capacity: 1)
        chosen = .allocate(capacity: 1)
        marked = .allocate(capacity: 1)
    }

    deinit {
        for layer in pageMax + pageMin { layer.forEach { $0.deallocate() } }
        positive.deallocate()
        negative.deallocate()
        scores.deallocate()
        chosen.deallocate()
        marked.deallocate()
    }

    public var kind: CacheMethodKind { .retrieval }
    public var prefillNeeds: PrefillNeeds { .none }

    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws {
        if pageCapacity == 0 { allocate(layers: cache.layerCount, tokenCapacity: cache.capacity) }
        guard layer >= denseLayers else { return }
        summarize(layer: layer, cache: cache)
    }

    public func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection {
        let n = cache.length, layer = query.layer
        guard layer >= denseLayers, budget < n else { return .all(kvHeads: kvHeads) }
        if pageCapacity == 0 { allocate(layers: cache.layerCount, tokenCapacity: cache.capacity) }
        summarize(layer: layer, cache: cache)
        let lastPage = (n - 1) / pageSize          // always read; pages 0..<lastPage compete
        let affordable = budget / pageSize
        guard affordable < lastPage else { return .all(kvHeads: kvHeads) }
        let d = headDim
        var perKVHead: [[Int32]?] = []
        perKVHead.reserveCapacity(kvHeads)
        for kvHead in 0..<kvHeads {
            marked.update(repeating: false, count: lastPage)
            for head in (kvHead * groupSize)..<((kvHead + 1) * groupSize) {
                let q = query.queries + head * d
                for c in 0..<d {
                    positive[c] = max(q[c], 0)
                    negative[c] = min(q[c], 0)
                }
                // score[p] = max_p · q⁺ + min_p · q⁻ = Σ_c max(q_c·max_c, q_c·min_c).
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(lastPage), Int32(d), 1, pageMax[layer][kvHead], Int32(d),
                            positive, 1, 0, scores, 1)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(lastPage), Int32(d), 1, pageMin[layer][kvHead], Int32(d),
                            negative, 1, 1, scores, 1)
                let found = selector.select(scores, count: lastPage, k: affordable, into: chosen)
                for i in 0..<found { marked[Int(chosen[i])] = true }
            }
            var rows: [Int32] = []
            rows.reserveCapacity(groupSize * affordable * pageSize + pageSize)
            for page in 0..<lastPage where marked[page] {
                rows.append(contentsOf: Int32(page * pageSize)..<Int32((page + 1) * pageSize))
            }
            rows.append(contentsOf: Int32(lastPage * pageSize)..<Int32(n))
            perKVHead.append(rows)
        }
        return TokenSelection(perKVHead: perKVHead)
    }

    /// The min/max summaries at f32, for every page (the last, partial one included) of every
    /// layer that selects.
    public func sideBytes(cache: KVCache) -> Int {
        let pages = (cache.length + pageSize - 1) / pageSize
        return max(0, cache.layerCount - denseLayers) * kvHeads * pages * 2 * headDim * MemoryLayout<Float>.size
    }

    private func allocate(layers: Int, tokenCapacity: Int) {
        pageCapacity = (tokenCapacity + pageSize - 1) / pageSize
        let size = pageCapacity * headDim
        pageMax = (0..<layers).map { layer in
            layer < denseLayers ? [] : (0..<kvHeads).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: size) }
        }
        pageMin = (0..<layers).map { layer in
            layer < denseLayers ? [] : (0..<kvHeads).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: size) }
        }
        scores.deallocate()
        chosen.deallocate()
        marked.deallocate()
        scores = .allocate(capacity: pageCapacity)
        chosen = .allocate(capacity: pageCapacity)
        marked = .allocate(capacity: pageCapacity)
    }

    /// Folds the tokens cached since the last call into their pages' min and max: the
    /// summaries follow decoding, a new page opening with its first token.
    private func summarize(layer: Int, cache: KVCache) {
        let d = headDim, n = cache.length
        for kvHead in 0..<kvHeads {
            let keys = cache.keys(layer: layer, kvHead: kvHead)
            let maxima = pageMax[layer][kvHead], minima = pageMin[layer][kvHead]
            for token in summarized[layer]..<n {
                let key = keys + token * d, page = token / pageSize
                let high = maxima + page * d, low = minima + page * d
                if token % pageSize == 0 {
                    high.update(from: key, count: d)
                    low.update(from: key, count: d)
                } else {
                    for c in 0..<d {
                        high[c] = max(high[c], key[c])
                        low[c] = min(low[c], key[c])
                    }
                }
            }
        }
        summarized[layer] = n
    }
}
