/// What the shared full-attention prefill recorded for eviction methods, per layer and query head.
public final class PrefillStatistics {
    public let layerCount: Int
    public let headCount: Int
    public let promptLength: Int
    /// Number of last prompt queries whose attention rows were kept (0 if none was asked for).
    public let observationWindow: Int
    public let hasAccumulatedAttention: Bool

    private var observation: [[Float]]   // per layer: heads × window × promptLength
    private var accumulated: [[Float]]   // per layer: heads × promptLength

    public init(layerCount: Int, headCount: Int, promptLength: Int, needs: PrefillNeeds) {
        self.layerCount = layerCount
        self.headCount = headCount
        self.promptLength = promptLength
        observationWindow = min(needs.observationWindow, promptLength)
        hasAccumulatedAttention = needs.accumulatedAttention
        observation = Array(repeating: [Float](repeating: 0, count: headCount * observationWindow * promptLength),
                            count: observationWindow > 0 ? layerCount : 0)
        accumulated = Array(repeating: [Float](repeating: 0, count: headCount * promptLength),
                            count: needs.accumulatedAttention ? layerCount : 0)
    }

    /// Attention probabilities of the last `observationWindow` prompt queries of `head`:
    /// `observationWindow × promptLength`, row r is query `promptLength - observationWindow + r`
    /// (zero beyond its causal limit).
    public func observedAttention(layer: Int, head: Int) -> UnsafeBufferPointer<Float> {
        precondition(observationWindow > 0, "observation window was not requested")
        let size = observationWindow * promptLength
        return observation[layer].withUnsafeBufferPointer {
            UnsafeBufferPointer(rebasing: $0[head * size ..< (head + 1) * size])
        }
    }

    /// Attention each prompt token received from all prompt queries of `head`, summed.
    public func accumulatedAttention(layer: Int, head: Int) -> UnsafeBufferPointer<Float> {
        precondition(hasAccumulatedAttention, "accumulated attention was not requested")
        return accumulated[layer].withUnsafeBufferPointer {
            UnsafeBufferPointer(rebasing: $0[head * promptLength ..< (head + 1) * promptLength])
        }
    }

    /// Mutable access for the prefill that fills the rows (and for tests that build a case by hand);
    /// same layout as `observedAttention`, all heads back to back.
    public func withObservation<R>(layer: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        observation[layer].withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Mutable access to all heads' accumulated attention, laid out as `accumulatedAttention`.
    public func withAccumulated<R>(layer: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        accumulated[layer].withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
