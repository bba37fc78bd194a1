/// Keys and values of one sequence, for every layer and KV head.
///
/// Layout: per (layer, KV head) one contiguous block of `capacity × headDim` floats, token-major,
/// so that q·K over all cached tokens is one `sgemv`. Keys are stored twice: after RoPE (what
/// attention reads) and before RoPE (what A²ATS quantizes and WRoPE rotates).
///
/// Forking for a sweep is `truncate(to: promptLength)`: decode tokens are appended after the
/// prompt and dropped again before the next method × budget runs, so the prefill is shared.
public final class KVCache {
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let capacity: Int
    /// Tokens currently cached (prompt plus decoded).
    public private(set) var length: Int = 0

    private let keyStorage: UnsafeMutablePointer<Float>
    private let valueStorage: UnsafeMutablePointer<Float>
    private let preRoPEKeyStorage: UnsafeMutablePointer<Float>

    public init(layerCount: Int, kvHeadCount: Int, headDim: Int, capacity: Int) {
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.capacity = capacity
        let total = layerCount * kvHeadCount * capacity * headDim
        keyStorage = .allocate(capacity: total)
        valueStorage = .allocate(capacity: total)
        preRoPEKeyStorage = .allocate(capacity: total)
    }

    deinit {
        keyStorage.deallocate()
        valueStorage.deallocate()
        preRoPEKeyStorage.deallocate()
    }

    @inline(__always) private func offset(_ layer: Int, _ kvHead: Int) -> Int {
        (layer * kvHeadCount + kvHead) * capacity * headDim
    }

    /// Post-RoPE keys of one KV head: `capacity × headDim`, valid for the first `length` rows.
    public func keys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> { keyStorage + offset(layer, kvHead) }
    /// Values of one KV head, laid out as `keys`.
    public func values(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> { valueStorage + offset(layer, kvHead) }
    /// Keys before RoPE, laid out as `keys`.
    public func preRoPEKeys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        preRoPEKeyStorage + offset(layer, kvHead)
    }

    /// Makes room for `count` more tokens; the caller then fills rows `length - count ..< length`.
    public func append(count: Int) {
        precondition(length + count <= capacity, "KV cache capacity \(capacity) exceeded")
        length += count
    }

    /// Drops every token after the first `newLength` (used to fork decoding from a shared prefill).
    public func truncate(to newLength: Int) {
        precondition(newLength <= length)
        length = newLength
    }

    /// Bytes one cached token occupies across all layers and KV heads (post-RoPE K and V, f32).
    public var bytesPerToken: Int { layerCount * kvHeadCount * headDim * 2 * MemoryLayout<Float>.size }
}
