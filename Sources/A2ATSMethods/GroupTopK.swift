import A2ATSTensor

/// What one KV head reads under a per-query-head selector (contract, "Budgets and accounting"):
/// each query head of the GQA group picks its own top k by its own scores (ties to the lower
/// index), and the KV head reads the union of the picks with the first `sinks` and last `window`
/// cached tokens on top. Shared by the selectors that rank every token (oracle, Double Sparsity,
/// InfiniGen), with preallocated scratch so a step does not allocate per token.
final class GroupTopK {
    private var scores: UnsafeMutablePointer<Float>
    private var order: UnsafeMutablePointer<Int32>
    private var capacity = 0
    private var selector = TopKSelector()

    init() {
        scores = .allocate(capacity: 1)
        order = .allocate(capacity: 1)
    }

    deinit {
        scores.deallocate()
        order.deallocate()
    }

    /// The ascending tokens of `0..<n` the heads in `heads` read together: each head's top `k` of
    /// the `n` scores `score(head, into)` writes, plus the sinks and the window.
    func union(heads: Range<Int>, count n: Int, k: Int, sinks: Int, window: Int,
               score: (_ head: Int, _ into: UnsafeMutablePointer<Float>) -> Void) -> [Int32] {
        if capacity < n {
            scores.deallocate()
            order.deallocate()
            capacity = n
            scores = .allocate(capacity: n)
            order = .allocate(capacity: n)
            selector = TopKSelector(capacity: n)
        }
        var chosen: [Int32] = []
        chosen.reserveCapacity(heads.count * k + sinks + window)
        for head in heads {
            score(head, scores)
            let found = selector.select(scores, count: n, k: k, into: order)
            chosen.append(contentsOf: UnsafeBufferPointer(start: order, count: found))
        }
        chosen.append(contentsOf: (0..<min(sinks, n)).map { Int32($0) })
        chosen.append(contentsOf: (max(0, n - window)..<n).map { Int32($0) })
        chosen.sort()
        return uniqued(chosen)
    }
}
