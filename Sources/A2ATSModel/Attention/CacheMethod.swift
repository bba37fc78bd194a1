/// Whether a method may drop K/V for good or only chooses what to read.
public enum CacheMethodKind: String, Sendable {
    /// Reads everything (the reference).
    case dense
    /// Drops tokens for good; memory saved = tokens dropped (StreamingLLM, H2O, SnapKV, …).
    case eviction
    /// Keeps all K/V and picks per step what to read (oracle, Quest, A²ATS, …).
    case retrieval
    /// Keeps every token at lower precision (KIVI, QAQ): what changes is the `KVStore`.
    case precision
    /// Keeps every token with fewer key channels (ThinK).
    case channel
    /// A token method with a precision or channel method (`snapkv+kivi:bits=2`).
    case composed
}

/// Statistics the shared prefill must collect so that forked methods can decide what to keep.
public struct PrefillNeeds: Equatable, Sendable {
    /// Record the attention of the last `observationWindow` prompt queries (SnapKV, PyramidKV).
    public var observationWindow: Int
    /// Record, per prompt token, the attention it received summed over all prompt queries (H2O).
    public var accumulatedAttention: Bool

    /// Record the post-RoPE queries of the last `observedQueries` prompt tokens (ThinK).
    public var observedQueries: Int

    public init(observationWindow: Int = 0, accumulatedAttention: Bool = false, observedQueries: Int = 0) {
        self.observationWindow = observationWindow
        self.accumulatedAttention = accumulatedAttention
        self.observedQueries = observedQueries
    }

    public static let none = PrefillNeeds()

    /// The union of two needs: one prefill serves both methods.
    public func merged(with other: PrefillNeeds) -> PrefillNeeds {
        PrefillNeeds(observationWindow: max(observationWindow, other.observationWindow),
                     accumulatedAttention: accumulatedAttention || other.accumulatedAttention,
                     observedQueries: max(observedQueries, other.observedQueries))
    }
}

/// The new token's queries at one layer of one decode step. Its own K/V are already appended
/// to the cache at `position` (= `cache.length - 1`).
public struct DecodeQuery {
    public let layer: Int
    public let position: Int
    /// `headCount × headDim`, after RoPE: what exact attention uses.
    public let queries: UnsafePointer<Float>
    /// `headCount × headDim`, before RoPE: what WRoPE rotates by a fixed offset.
    public let preRoPEQueries: UnsafePointer<Float>

    public init(layer: Int, position: Int, queries: UnsafePointer<Float>, preRoPEQueries: UnsafePointer<Float>) {
        self.layer = layer
        self.position = position
        self.queries = queries
        self.preRoPEQueries = preRoPEQueries
    }
}

/// The cached tokens each KV head reads at one step. Every query head of a GQA group reads its
/// KV head's set, so per-query-head selectors return the union over the group.
public struct TokenSelection {
    /// Per KV head: ascending cache indices, or nil for "every cached token".
    public var perKVHead: [[Int32]?]

    public init(perKVHead: [[Int32]?]) { self.perKVHead = perKVHead }

    /// Every KV head reads every cached token.
    public static func all(kvHeads: Int) -> TokenSelection { TokenSelection(perKVHead: Array(repeating: nil, count: kvHeads)) }

    /// Tokens KV head `kvHead` reads out of `cachedTokens`.
    public func count(kvHead: Int, cachedTokens: Int) -> Int { perKVHead[kvHead]?.count ?? cachedTokens }
}

/// Softmax weights that one step's attention produced, for methods that learn from them
/// (H2O accumulates, TOVA and CORM evict by them).
public struct AttentionWeights {
    /// `weights(queryHead)` lines up with the selection of that head's KV head (or all tokens).
    public let weights: (_ queryHead: Int) -> UnsafeBufferPointer<Float>

    public init(weights: @escaping (_ queryHead: Int) -> UnsafeBufferPointer<Float>) { self.weights = weights }
}

/// Bytes a fork keeps, as `kv_bytes` and `side_bytes` of results.jsonl report them.
public struct MemoryFootprint: Equatable, Sendable {
    /// K/V resident as the fork's `KVStore` holds them.
    public var kvBytes: Int
    /// Codes, codebooks, page summaries, tables.
    public var sideBytes: Int

    public init(kvBytes: Int, sideBytes: Int) {
        self.kvBytes = kvBytes
        self.sideBytes = sideBytes
    }
}

/// A cache-reduction method: decides which past tokens each KV head may read, and, through its
/// `kvStore`, how the kept K/V are stored.
///
/// The model's attention calls the method at three points and never knows its policy:
/// once per layer after the (shared) prefill, before each decode step's attention, and after
/// it. A method never reaches into the model. One instance serves one sample at one budget;
/// the harness builds a fresh one per fork.
public protocol CacheMethod: AnyObject {
    var kind: CacheMethodKind { get }
    /// Statistics this method needs from the shared prefill.
    var prefillNeeds: PrefillNeeds { get }
    /// Called once per layer after prefill; `cache.length` is the prompt length.
    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics) throws
    /// Called at each decode step and layer before attention: the tokens to read.
    func select(_ query: DecodeQuery, cache: KVCache) -> TokenSelection
    /// Called after attention with its softmax weights over the selection.
    func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights)
    /// The tokens of one KV head still resident (ascending), nil for every cached token: what
    /// `kv_bytes` counts and what a precision store builds its copy of.
    func residentTokens(layer: Int, kvHead: Int) -> [Int32]?
    /// Bytes of the method's own side structures (scores, codes, codebooks): `side_bytes`.
    func sideBytes(cache: KVCache) -> Int
    /// The store decode attention reads; nil for the shared rows as they are (`DenseKVStore`).
    var kvStore: KVStore? { get }
}

extension CacheMethod {
    public func didAttend(_ query: DecodeQuery, selection: TokenSelection, weights: AttentionWeights) {}
    public func residentTokens(layer: Int, kvHead: Int) -> [Int32]? { nil }
    public func sideBytes(cache: KVCache) -> Int { 0 }
    public var kvStore: KVStore? { nil }
}
