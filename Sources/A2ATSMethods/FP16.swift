import A2ATSModel
import A2ATSTensor

/// K/V in IEEE half precision: the uncompressed reference of most KV-cache papers (their models
/// run in fp16 or bf16; KIVI's and QAQ's "fp16" rows) and what llama.cpp stores by default. Alone
/// it is full attention over f16 rows — half the bytes of the engine's f32 rows, every element
/// rounded to nearest even — and after `+` it stores the tokens a token method keeps
/// (`snapkv+fp16`). The attention kernels widen each row as they load it, so a step reads half the
/// bytes, and its products are the f32 kernels' on the rounded rows, bit for bit.
public enum FP16 {
    public static let descriptor = MethodDescriptor(
        storeMethod: "fp16", summary: "K/V stored in IEEE half precision, widened as attention reads them",
        kind: .precision, parameters: []
    ) { _, context in FP16Store(model: context.model) }
}

/// One fork's K/V rounded to f16, by cache position: per (layer, KV head) `capacity` key rows, then
/// as many value rows. Only the tokens the token method keeps are converted (and counted).
final class FP16Store: KVStore {
    private let headDim: Int, kvHeadCount: Int
    private var capacity = 0
    private var heads: [UnsafeMutablePointer<UInt16>?]

    init(model: ModelConfig) {
        headDim = model.headDim
        kvHeadCount = model.kvHeadCount
        heads = Array(repeating: nil, count: model.layerCount * model.kvHeadCount)
    }

    deinit { for head in heads { head?.deallocate() } }

    var prefillNeeds: PrefillNeeds { .none }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {
        capacity = cache.capacity
        for kvHead in 0..<kvHeadCount {
            let slot = layer * kvHeadCount + kvHead
            heads[slot]?.deallocate()
            heads[slot] = .allocate(capacity: 2 * capacity * headDim)
            if let kept = resident[kvHead] {
                for position in kept { convert(Int(position), layer: layer, kvHead: kvHead, cache: cache) }
            } else {
                convert(rows: 0..<cache.length, layer: layer, kvHead: kvHead, cache: cache)
            }
        }
    }

    func didAppend(layer: Int, cache: KVCache) {
        for kvHead in 0..<kvHeadCount { convert(cache.length - 1, layer: layer, kvHead: kvHead, cache: cache) }
    }

    private func convert(_ position: Int, layer: Int, kvHead: Int, cache: KVCache) {
        convert(rows: position..<(position + 1), layer: layer, kvHead: kvHead, cache: cache)
    }

    private func convert(rows: Range<Int>, layer: Int, kvHead: Int, cache: KVCache) {
        let d = headDim, keys = heads[layer * kvHeadCount + kvHead]!, values = keys + capacity * d
        let start = rows.lowerBound * d, count = rows.count * d
        floatToHalf(cache.keys(layer: layer, kvHead: kvHead) + start, count: count, into: keys + start)
        floatToHalf(cache.values(layer: layer, kvHead: kvHead) + start, count: count, into: values + start)
    }

    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        let keys = heads[layer * kvHeadCount + kvHead]!
        GroupedAttention.attend(queries: queries, groupSize: groupSize, headDim: headDim,
                                stored: .f16(keys: keys, values: keys + capacity * headDim), rows: rows, count: count,
                                weights: weights, stride: stride, output: output)
    }

    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        var tokens = 0
        for layer in 0..<cache.layerCount {
            for kvHead in 0..<kvHeadCount { tokens += resident(layer, kvHead)?.count ?? cache.length }
        }
        return tokens * promptBytesPerHead(keeping: 1, headDim: headDim)
    }

    var sideBytes: Int { 0 }

    func promptBytesPerHead(keeping tokens: Int, headDim d: Int) -> Int { tokens * 2 * d * MemoryLayout<UInt16>.size }
}
