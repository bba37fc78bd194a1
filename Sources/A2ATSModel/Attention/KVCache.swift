import A2ATSTensor

/// Keys and values of one sequence, for every layer and KV head.
///
/// Layout: per (layer, KV head) one contiguous block of `capacity × headDim` floats, token-major,
/// so that q·K over all cached tokens is one `sgemv`. Keys are stored twice: after RoPE (what
/// attention reads) and before RoPE (what A²ATS quantizes and WRoPE rotates).
///
/// Forking for a sweep: one fork at a time runs on the cache itself, `truncate(to: promptLength)`
/// dropping its decoded tokens before the next; forks decoded together each get a `fork()`, which
/// shares the prompt's pages copy-on-write and keeps its own appended rows.
///
/// Read-only to methods by type: outside this module the rows are `UnsafePointer`s; only the
/// model (prefill, decode) writes them. A method that stores K/V differently (quantized,
/// channel-pruned) builds its own copy in a `KVStore`, so no fork can change what the next reads.
public final class KVCache {
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let capacity: Int
    /// Tokens currently cached (prompt plus decoded).
    public private(set) var length: Int = 0

    /// Keys, values and pre-RoPE keys, one after the other.
    private let storage: CopyOnWriteFloats
    private let keyStorage: UnsafeMutablePointer<Float>
    private let valueStorage: UnsafeMutablePointer<Float>
    private let preRoPEKeyStorage: UnsafeMutablePointer<Float>

    convenience init(layerCount: Int, kvHeadCount: Int, headDim: Int, capacity: Int) {
        let total = layerCount * kvHeadCount * capacity * headDim
        self.init(layerCount: layerCount, kvHeadCount: kvHeadCount, headDim: headDim, capacity: capacity,
                  length: 0, storage: CopyOnWriteFloats(count: 3 * total))
    }

    private init(layerCount: Int, kvHeadCount: Int, headDim: Int, capacity: Int, length: Int, storage: CopyOnWriteFloats) {
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.capacity = capacity
        self.length = length
        self.storage = storage
        let total = layerCount * kvHeadCount * capacity * headDim
        keyStorage = storage.pointer
        valueStorage = storage.pointer + total
        preRoPEKeyStorage = storage.pointer + 2 * total
    }

    /// A cache that reads as this one does now and appends rows of its own: a fork decoded beside
    /// others from one prefill. This cache must not be written while the fork lives.
    func fork() -> KVCache {
        KVCache(layerCount: layerCount, kvHeadCount: kvHeadCount, headDim: headDim, capacity: capacity, length: length,
                storage: storage.fork())
    }

    @inline(__always) private func offset(_ layer: Int, _ kvHead: Int) -> Int {
        (layer * kvHeadCount + kvHead) * capacity * headDim
    }

    /// Post-RoPE keys of one KV head: `capacity × headDim`, valid for the first `length` rows.
    public func keys(layer: Int, kvHead: Int) -> UnsafePointer<Float> { UnsafePointer(keyStorage + offset(layer, kvHead)) }
    /// Values of one KV head, laid out as `keys`.
    public func values(layer: Int, kvHead: Int) -> UnsafePointer<Float> { UnsafePointer(valueStorage + offset(layer, kvHead)) }
    /// Keys before RoPE, laid out as `keys`.
    public func preRoPEKeys(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        UnsafePointer(preRoPEKeyStorage + offset(layer, kvHead))
    }

    func writableKeys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> { keyStorage + offset(layer, kvHead) }
    func writableValues(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> { valueStorage + offset(layer, kvHead) }
    func writablePreRoPEKeys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> { preRoPEKeyStorage + offset(layer, kvHead) }

    /// A new cache of `tokens` rows filled by `fill(layer, kvHead, keys, preRoPEKeys, values)` (each
    /// `capacity × headDim`): synthetic caches for benchmarks and tests, never the shared prefill's.
    public static func filled(layerCount: Int, kvHeadCount: Int, headDim: Int, capacity: Int, tokens: Int,
                              fill: (_ layer: Int, _ kvHead: Int, _ keys: UnsafeMutablePointer<Float>,
                                     _ preRoPEKeys: UnsafeMutablePointer<Float>, _ values: UnsafeMutablePointer<Float>) -> Void) -> KVCache {
        let cache = KVCache(layerCount: layerCount, kvHeadCount: kvHeadCount, headDim: headDim, capacity: capacity)
        cache.append(count: tokens)
        for layer in 0..<layerCount {
            for kvHead in 0..<kvHeadCount {
                fill(layer, kvHead, cache.writableKeys(layer: layer, kvHead: kvHead),
                     cache.writablePreRoPEKeys(layer: layer, kvHead: kvHead), cache.writableValues(layer: layer, kvHead: kvHead))
            }
        }
        return cache
    }

    /// Makes room for `count` more tokens; the caller then fills rows `length - count ..< length`.
    func append(count: Int) {
        precondition(length + count <= capacity, "KV cache capacity \(capacity) exceeded")
        length += count
    }

    /// Drops every token after the first `newLength` (used to fork decoding from a shared prefill).
    func truncate(to newLength: Int) {
        precondition(newLength <= length)
        length = newLength
    }

    /// Bytes one cached token occupies across all layers and KV heads (post-RoPE K and V, f32).
    public var bytesPerToken: Int { layerCount * kvHeadCount * denseBytesPerTokenAndHead(headDim: headDim) }
}
