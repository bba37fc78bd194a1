import A2ATSTensor

/// What decode attention reads for one fork: the K/V of the tokens its method keeps, stored as
/// the method stores them (f32 rows, quantized codes, pruned key channels).
///
/// The shared prefill's cache is read-only here (`KVCache` hands out `UnsafePointer`s); a store
/// that changes the representation builds its own copy from it at `didPrefill`, and decoded
/// tokens enter through `didAppend`, so forking the next method from the same prefill sees the
/// cache exactly as the prefill left it. `kvBytes` is what the store really holds for the
/// tokens the token method still keeps, measured from its own buffers.
public protocol KVStore: AnyObject {
    /// Statistics the store needs from the shared prefill (ThinK scores channels by the last queries).
    var prefillNeeds: PrefillNeeds { get }
    /// Called once per layer after the prefill and after the token method's own `didPrefill`;
    /// `resident[kvHead]` lists the prompt tokens that method keeps (ascending), nil for all.
    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws
    /// Called once per layer and decode step, once the new token's K/V are at `cache.length - 1`.
    func didAppend(layer: Int, cache: KVCache)
    /// Exact softmax attention of one GQA group (`queries`: `groupSize × headDim`, after RoPE)
    /// over `count` cached tokens (`0..<count`, or the cache indices `rows[0..<count]`, ascending).
    /// On return `weights[g · stride + i]` holds head g's softmax weight of the i-th token read.
    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>)
    /// K/V bytes held for the tokens `resident(layer, kvHead)` lists (nil: every cached token).
    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int
    /// What the store keeps besides K/V (kept-channel lists): part of `side_bytes`.
    var sideBytes: Int { get }
    /// K/V bytes one (layer, KV head) holds right after a prefill that keeps `tokens` prompt
    /// tokens: what a KV-memory budget is resolved against (an upper bound where it depends on data).
    func promptBytesPerHead(keeping tokens: Int, headDim: Int) -> Int
}

/// Bytes of one token's K and V at the engine's storage precision (f32), per layer and KV head:
/// the unit a KV-memory budget is a fraction of.
public func denseBytesPerTokenAndHead(headDim: Int) -> Int { 2 * headDim * MemoryLayout<Float>.size }

/// Today's rows, read in place: the default store, no copy.
public final class DenseKVStore: KVStore {
    public init() {}

    public var prefillNeeds: PrefillNeeds { .none }
    public func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {}
    public func didAppend(layer: Int, cache: KVCache) {}

    public func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                       rows: UnsafePointer<Int32>?, count: Int,
                       weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        GroupedAttention.attend(queries: queries, groupSize: groupSize, headDim: cache.headDim,
                                keys: cache.keys(layer: layer, kvHead: kvHead), values: cache.values(layer: layer, kvHead: kvHead),
                                rows: rows, count: count, weights: weights, stride: stride, output: output)
    }

    public func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        var tokens = 0
        for layer in 0..<cache.layerCount {
            for kvHead in 0..<cache.kvHeadCount { tokens += resident(layer, kvHead)?.count ?? cache.length }
        }
        return tokens * denseBytesPerTokenAndHead(headDim: cache.headDim)
    }

    public var sideBytes: Int { 0 }

    public func promptBytesPerHead(keeping tokens: Int, headDim: Int) -> Int {
        tokens * denseBytesPerTokenAndHead(headDim: headDim)
    }
}
