/// What the shared full-attention prefill recorded for eviction methods, per layer and query head.
public final class PrefillStatistics {
    public let layerCount: Int
    public let headCount: Int
    public let promptLength: Int
    /// Number of last prompt queries whose attention rows were kept (0 if none was asked for).
    public let observationWindow: Int
    public let hasAccumulatedAttention: Bool
    /// Number of last prompt tokens whose post-RoPE queries were kept (0 if none was asked for).
    public let observedQueryCount: Int
    public let headDim: Int

    /// Per layer: heads × window × promptLength, zero-initialized.
    private let observation: [UnsafeMutablePointer<Float>]
    /// Per layer: heads × promptLength, zero-initialized.
    private let accumulated: [UnsafeMutablePointer<Float>]
    /// Per layer: observedQueryCount × heads × headDim.
    private let queries: [UnsafeMutablePointer<Float>]
    /// What methods derived from the prompt alone, by key (see `derived(_:make:)`).
    private var derivedStructures: [String: Any] = [:]

    public init(layerCount: Int, headCount: Int, promptLength: Int, needs: PrefillNeeds, headDim: Int = 0) {
        self.layerCount = layerCount
        self.headCount = headCount
        self.promptLength = promptLength
        observationWindow = min(needs.observationWindow, promptLength)
        hasAccumulatedAttention = needs.accumulatedAttention
        observedQueryCount = headDim > 0 ? min(needs.observedQueries, promptLength) : 0
        self.headDim = headDim
        func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }
        let observationSize = headCount * observationWindow * promptLength
        observation = (0..<(observationWindow > 0 ? layerCount : 0)).map { _ in zeroed(observationSize) }
        accumulated = (0..<(needs.accumulatedAttention ? layerCount : 0)).map { _ in zeroed(headCount * promptLength) }
        let queryCount = observedQueryCount
        queries = (0..<(queryCount > 0 ? layerCount : 0)).map { _ in zeroed(queryCount * headCount * headDim) }
    }

    /// A structure a method derives from the prompt alone (k-means of its keys, low-rank factors),
    /// built by the first fork that asks and handed to the other forks of the same prefill, so a
    /// sweep over budgets (or an attended-fraction search) builds it once per sample. `key` must
    /// name the method, every setting the structure depends on, and the layer. Value types only:
    /// a fork that changes its copy leaves the others' untouched.
    public func derived<T>(_ key: String, make: () throws -> T) rethrows -> T {
        if let found = derivedStructures[key] as? T { return found }
        let made = try make()
        derivedStructures[key] = made
        return made
    }

    deinit {
        observation.forEach { $0.deallocate() }
        accumulated.forEach { $0.deallocate() }
        queries.forEach { $0.deallocate() }
    }

    /// Post-RoPE queries of the last `observedQueryCount` prompt tokens at `layer`: row r (token
    /// `promptLength - observedQueryCount + r`) holds `headCount × headDim` values.
    public func observedQueries(layer: Int) -> UnsafeBufferPointer<Float> {
        precondition(observedQueryCount > 0, "observed queries were not requested")
        return UnsafeBufferPointer(start: queries[layer], count: observedQueryCount * headCount * headDim)
    }

    /// Mutable access for the prefill (and for tests), laid out as `observedQueries`.
    public func withObservedQueries<R>(layer: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        body(queries[layer])
    }

    /// Attention probabilities of the last `observationWindow` prompt queries of `head`:
    /// `observationWindow × promptLength`, row r is query `promptLength - observationWindow + r`
    /// (zero beyond its causal limit).
    public func observedAttention(layer: Int, head: Int) -> UnsafeBufferPointer<Float> {
        precondition(observationWindow > 0, "observation window was not requested")
        let size = observationWindow * promptLength
        return UnsafeBufferPointer(start: observation[layer] + head * size, count: size)
    }

    /// Attention each prompt token received from all prompt queries of `head`, summed.
    public func accumulatedAttention(layer: Int, head: Int) -> UnsafeBufferPointer<Float> {
        precondition(hasAccumulatedAttention, "accumulated attention was not requested")
        return UnsafeBufferPointer(start: accumulated[layer] + head * promptLength, count: promptLength)
    }

    /// Mutable access for the prefill that fills the rows (and for tests that build a case by hand);
    /// same layout as `observedAttention`, all heads back to back.
    public func withObservation<R>(layer: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        body(observation[layer])
    }

    /// Mutable access to all heads' accumulated attention, laid out as `accumulatedAttention`.
    public func withAccumulated<R>(layer: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        body(accumulated[layer])
    }
}
