import A2ATSModel
import A2ATSTensor

/// KIVI, "A Tuning-Free Asymmetric 2bit Quantization for KV Cache" (arXiv 2402.02750; code
/// jy-yuan/KIVI, read at 876b4d2). Keys are quantized per channel (a group is `group` consecutive
/// tokens of one channel: key outliers live in channels), values per token (a group is `group`
/// consecutive channels of one token), both after RoPE, with `MinMaxQuantizer`'s rule and fp16
/// scales and zero points. The most recent tokens stay in full precision: after the prefill the
/// last n mod R keys and the last R values (`models/llama_kivi.py` L425-452); while decoding, the
/// keys are quantized R at a time when R full-precision keys have gathered, and the oldest value
/// once R + 1 have (L343-399). Reference settings: 2 bits, group 32, residual 128, the repo's
/// LongBench configuration (`docs/long_bench.md`); 2, 4 and 8 bits are supported.
///
/// Composed with a token method (`snapkv+kivi:bits=2`) it quantizes only the tokens that method
/// keeps, grouping them in the order kept, as "More tokens, lower precision" (arXiv 2412.12706)
/// composes eviction with quantization.
public enum KIVI {
    public static let parameterSpecs = [
        ParameterSpec(name: "bits", defaultValue: "2", help: "bits per key and value code", type: .integerChoice([2, 4, 8])),
        ParameterSpec(name: "group", defaultValue: "32", help: "group size: tokens per key scale, channels per value scale",
                      type: .integer(1...4096)),
        ParameterSpec(name: "residual", defaultValue: "128", help: "recent tokens kept in full precision (a multiple of group)",
                      type: .integer(0...65536)),
    ]

    public static let descriptor = MethodDescriptor(
        storeMethod: "kivi", summary: "2/4/8-bit asymmetric quantization: keys per channel, values per token, recent tokens whole",
        kind: .precision, parameters: parameterSpecs,
        validate: { parameters in
            let p = try MethodParameters(parameters, specs: parameterSpecs, method: "kivi")
            guard p.int("residual") % p.int("group") == 0 else {
                throw MethodError.invalidParameter(method: "kivi", name: "residual", value: String(p.int("residual")),
                                                   expected: "a multiple of group (\(p.int("group")))")
            }
        }
    ) { parameters, context in
        let p = try MethodParameters(parameters, specs: parameterSpecs, method: "kivi")
        return try KIVIStore(model: context.model, bits: p.int("bits"), group: p.int("group"), residual: p.int("residual"))
    }
}

/// The quantized K/V of one fork under KIVI's rules (see `KIVI`).
final class KIVIStore: KVStore {
    let bits: Int, group: Int, residual: Int, headDim: Int
    /// Channels per value scale: `group`, or the whole row when the head is narrower.
    let valueGroup: Int
    private let kvHeadCount: Int
    private var heads: [KIVIHead]
    /// Scratch: codes being packed, f32 key scales of a step, and one block of dequantized rows.
    private var codes: [UInt8], keyTables: [Float], scratch: [Float]

    init(model: ModelConfig, bits: Int, group: Int, residual: Int) throws {
        let d = model.headDim
        valueGroup = min(group, d)
        guard d % valueGroup == 0 else {
            throw MethodError.invalidParameter(method: "kivi", name: "group", value: String(group),
                                               expected: "a divisor of the head dimension \(d)")
        }
        guard InterleavedCodes.supports(headDim: d, bits: bits) else {
            throw MethodError.invalidParameter(method: "kivi", name: "bits", value: String(bits),
                                               expected: "a width that packs head dimension \(d) into whole bytes")
        }
        self.bits = bits
        self.group = group
        self.residual = residual
        headDim = d
        kvHeadCount = model.kvHeadCount
        heads = (0..<(model.layerCount * model.kvHeadCount)).map { _ in KIVIHead() }
        codes = [UInt8](repeating: 0, count: group * d)
        keyTables = []
        scratch = []
    }

    var rowBytes: Int { InterleavedCodes.byteCount(codes: headDim, bits: bits) }
    private var scaleBytes: Int { 2 * MemoryLayout<Float16>.size }

    var prefillNeeds: PrefillNeeds { .none }

    func didPrefill(layer: Int, cache: KVCache, statistics: PrefillStatistics, resident: [[Int32]?]) throws {
        for kvHead in 0..<kvHeadCount {
            let head = heads[layer * kvHeadCount + kvHead]
            head.reset(capacity: cache.capacity)
            let kept = resident[kvHead] ?? (0..<Int32(cache.length)).map { $0 }
            let quantizedKeys = kept.count - kept.count % max(residual, 1)
            quantizeKeys(Array(kept[..<quantizedKeys]), head: head, cache: cache, layer: layer, kvHead: kvHead)
            head.keyResidual = Array(kept[quantizedKeys...])
            let quantizedValues = max(0, kept.count - residual)
            for position in kept[..<quantizedValues] { quantizeValue(position, head: head, cache: cache, layer: layer, kvHead: kvHead) }
            head.valueResidual = Array(kept[quantizedValues...])
        }
    }

    /// The reference quantizes after the step that filled the residual; doing it before the next
    /// step's attention reads the same codes at every step.
    func didAppend(layer: Int, cache: KVCache) {
        let position = Int32(cache.length - 1)
        for kvHead in 0..<kvHeadCount {
            let head = heads[layer * kvHeadCount + kvHead]
            if residual > 0, head.keyResidual.count == residual {
                quantizeKeys(head.keyResidual, head: head, cache: cache, layer: layer, kvHead: kvHead)
                head.keyResidual = []
            }
            head.keyResidual.append(position)
            if head.valueResidual.count > residual {
                quantizeValue(head.valueResidual.removeFirst(), head: head, cache: cache, layer: layer, kvHead: kvHead)
            }
            head.valueResidual.append(position)
        }
    }

    /// Per channel, groups of `group` consecutive kept tokens (`positions.count` is a multiple).
    private func quantizeKeys(_ positions: [Int32], head: KIVIHead, cache: KVCache, layer: Int, kvHead: Int) {
        let d = headDim, keys = cache.keys(layer: layer, kvHead: kvHead)
        var block = [Float](repeating: 0, count: group * d)
        var start = 0
        while start + group <= positions.count {
            for t in 0..<group { for c in 0..<d { block[t * d + c] = keys[Int(positions[start + t]) * d + c] } }
            codes.withUnsafeMutableBufferPointer { codes in block.withUnsafeBufferPointer { block in
                for c in 0..<d {
                    let (scale, minimum) = MinMaxQuantizer.quantize(block.baseAddress! + c, stride: d, count: group, bits: bits,
                                                                    codes: codes.baseAddress! + c, codeStride: d)
                    head.keyScales.append(scale)
                    head.keyMins.append(minimum)
                }
                for t in 0..<group {
                    head.keySlot[Int(positions[start + t])] = Int32(head.keyCodes.count / rowBytes)
                    head.appendKeyRow(codes.baseAddress! + t * d, count: d, bits: bits)
                }
            } }
            start += group
        }
    }

    private func quantizeValue(_ position: Int32, head: KIVIHead, cache: KVCache, layer: Int, kvHead: Int) {
        let d = headDim, row = cache.values(layer: layer, kvHead: kvHead) + Int(position) * d
        codes.withUnsafeMutableBufferPointer { codes in
            for start in stride(from: 0, to: d, by: valueGroup) {
                let (scale, minimum) = MinMaxQuantizer.quantize(row + start, stride: 1, count: valueGroup, bits: bits,
                                                                codes: codes.baseAddress! + start, codeStride: 1)
                head.valueScales.append(scale)
                head.valueMins.append(minimum)
            }
            head.valueSlot[Int(position)] = Int32(head.valueCodes.count / rowBytes)
            head.appendValueRow(codes.baseAddress!, count: d, bits: bits)
        }
    }

    /// Dequantized rows, for tests against the reference: nil where the token is in full precision.
    func dequantizedKey(layer: Int, kvHead: Int, position: Int) -> [Float]? {
        let head = heads[layer * kvHeadCount + kvHead]
        let slot = Int(head.keySlot[position])
        guard slot >= 0 else { return nil }
        let g = slot / group
        return unpacked(head.keyCodes, slot: slot).enumerated().map { c, code in
            code * Float(head.keyScales[g * headDim + c]) + Float(head.keyMins[g * headDim + c])
        }
    }

    func dequantizedValue(layer: Int, kvHead: Int, position: Int) -> [Float]? {
        let head = heads[layer * kvHeadCount + kvHead]
        let slot = Int(head.valueSlot[position])
        guard slot >= 0 else { return nil }
        let perRow = headDim / valueGroup
        return unpacked(head.valueCodes, slot: slot).enumerated().map { c, code in
            code * Float(head.valueScales[slot * perRow + c / valueGroup]) + Float(head.valueMins[slot * perRow + c / valueGroup])
        }
    }

    private func unpacked(_ bytes: [UInt8], slot: Int) -> [Float] {
        var out = [Float](repeating: 0, count: headDim)
        bytes.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer {
            InterleavedCodes.unpack(b.baseAddress! + slot * rowBytes, count: headDim, bits: bits, into: $0.baseAddress!)
        } }
        return out
    }

    /// Dequantizes the selection block by block into L1 and runs the dense kernels on it: the
    /// codes are read once per group of query heads, and only the codes cross the memory bus.
    func attend(layer: Int, kvHead: Int, queries: UnsafePointer<Float>, groupSize: Int, cache: KVCache,
                rows: UnsafePointer<Int32>?, count: Int,
                weights: UnsafeMutablePointer<Float>, stride: Int, output: UnsafeMutablePointer<Float>) {
        let head = heads[layer * kvHeadCount + kvHead]
        let d = headDim, keyGroups = head.keyScales.count / d, perRow = d / valueGroup
        let bits = self.bits, rowBytes = self.rowBytes, valueGroup = self.valueGroup, group = self.group
        if keyTables.count < 2 * keyGroups * d + 2 * perRow { keyTables = [Float](repeating: 0, count: 2 * (keyGroups + 16) * d + 2 * perRow) }
        if scratch.count < GroupedAttention.blockRows * d { scratch = [Float](repeating: 0, count: GroupedAttention.blockRows * d) }
        let keys = cache.keys(layer: layer, kvHead: kvHead), values = cache.values(layer: layer, kvHead: kvHead)
        keyTables.withUnsafeMutableBufferPointer { tables in scratch.withUnsafeMutableBufferPointer { scratch in
        head.withBuffers { keySlot, keyCodes, keyScales, keyMins, valueSlot, valueCodes, valueScales, valueMins in
            // fp16 → f32 once per step: per key group, d scales then d zero points.
            let tables = tables.baseAddress!
            for g in 0..<keyGroups {
                halfToFloat(keyScales + g * d, count: d, into: tables + 2 * g * d)
                halfToFloat(keyMins + g * d, count: d, into: tables + (2 * g + 1) * d)
            }
            GroupedAttention.attendBlocks(
                queries: queries, groupSize: groupSize, headDim: d, count: count, weights: weights, stride: stride,
                output: output, scratch: scratch.baseAddress!,
                keys: { start, end, block in
                    for i in start..<end {
                        let position = rows.map { Int($0[i]) } ?? i, out = block + (i - start) * d
                        let slot = Int(keySlot[position])
                        guard slot >= 0 else { out.update(from: keys + position * d, count: d); continue }
                        let scale = tables + 2 * (slot / group) * d
                        InterleavedCodes.dequantize(keyCodes + slot * rowBytes, count: d, bits: bits, scale: scale,
                                                    offset: scale + d, into: out)
                    }
                },
                values: { start, end, block in
                    for i in start..<end {
                        let position = rows.map { Int($0[i]) } ?? i, out = block + (i - start) * d
                        let slot = Int(valueSlot[position])
                        guard slot >= 0 else { out.update(from: values + position * d, count: d); continue }
                        let scales = tables + 2 * keyGroups * d, minimums = scales + perRow
                        for k in 0..<perRow {
                            scales[k] = Float(valueScales[slot * perRow + k])
                            minimums[k] = Float(valueMins[slot * perRow + k])
                        }
                        InterleavedCodes.dequantize(valueCodes + slot * rowBytes, count: d, bits: bits, groupScales: scales,
                                                    groupOffsets: minimums, group: valueGroup, into: out)
                    }
                })
        }
        } }
    }

    func kvBytes(cache: KVCache, resident: (_ layer: Int, _ kvHead: Int) -> [Int32]?) -> Int {
        let full = headDim * MemoryLayout<Float>.size
        var total = 0
        for layer in 0..<cache.layerCount {
            for kvHead in 0..<kvHeadCount {
                let head = heads[layer * kvHeadCount + kvHead]
                let kept = resident(layer, kvHead) ?? (0..<Int32(cache.length)).map { $0 }
                var keyGroups = Set<Int32>()
                for position in kept.map(Int.init) {
                    let keySlot = head.keySlot[position], valueSlot = head.valueSlot[position]
                    if keySlot >= 0 {
                        total += rowBytes
                        keyGroups.insert(keySlot / Int32(group))
                    } else { total += full }
                    total += valueSlot >= 0 ? rowBytes + headDim / valueGroup * scaleBytes : full
                }
                total += keyGroups.count * headDim * scaleBytes
            }
        }
        return total
    }

    var sideBytes: Int { 0 }

    func promptBytesPerHead(keeping tokens: Int, headDim d: Int) -> Int {
        let full = d * MemoryLayout<Float>.size
        let quantizedKeys = tokens - tokens % max(residual, 1), quantizedValues = max(0, tokens - residual)
        return quantizedKeys * rowBytes + quantizedKeys / group * d * scaleBytes + (tokens - quantizedKeys) * full
            + quantizedValues * (rowBytes + d / valueGroup * scaleBytes) + (tokens - quantizedValues) * full
    }
}

/// One (layer, KV head) of a KIVI store: packed rows, fp16 scales and zero points, and which
/// cache positions are quantized (slot ≥ 0) or read in full precision from the shared rows.
final class KIVIHead {
    var keySlot: [Int32] = [], valueSlot: [Int32] = []
    var keyCodes: [UInt8] = [], valueCodes: [UInt8] = []
    /// Keys: per group, one per channel. Values: per quantized token, one per channel group.
    var keyScales: [Float16] = [], keyMins: [Float16] = [], valueScales: [Float16] = [], valueMins: [Float16] = []
    var keyResidual: [Int32] = [], valueResidual: [Int32] = []

    func reset(capacity: Int) {
        keySlot = [Int32](repeating: -1, count: capacity)
        valueSlot = keySlot
        keyCodes = []; valueCodes = []
        keyScales = []; keyMins = []; valueScales = []; valueMins = []
        keyResidual = []; valueResidual = []
    }

    func appendKeyRow(_ codes: UnsafePointer<UInt8>, count: Int, bits: Int) { Self.append(codes, count: count, bits: bits, to: &keyCodes) }
    func appendValueRow(_ codes: UnsafePointer<UInt8>, count: Int, bits: Int) { Self.append(codes, count: count, bits: bits, to: &valueCodes) }

    private static func append(_ codes: UnsafePointer<UInt8>, count: Int, bits: Int, to bytes: inout [UInt8]) {
        let start = bytes.count, size = InterleavedCodes.byteCount(codes: count, bits: bits)
        bytes.append(contentsOf: repeatElement(0, count: size))
        bytes.withUnsafeMutableBufferPointer { InterleavedCodes.pack(codes, count: count, bits: bits, into: $0.baseAddress! + start) }
    }

    func withBuffers<R>(_ body: (UnsafePointer<Int32>, UnsafePointer<UInt8>, UnsafePointer<Float16>, UnsafePointer<Float16>,
                                 UnsafePointer<Int32>, UnsafePointer<UInt8>, UnsafePointer<Float16>, UnsafePointer<Float16>) -> R) -> R {
        keySlot.withUnsafeBufferPointer { ks in keyCodes.withUnsafeBufferPointer { kc in
        keyScales.withUnsafeBufferPointer { kS in keyMins.withUnsafeBufferPointer { km in
        valueSlot.withUnsafeBufferPointer { vs in valueCodes.withUnsafeBufferPointer { vc in
        valueScales.withUnsafeBufferPointer { vS in valueMins.withUnsafeBufferPointer { vm in
            body(ks.baseAddress!, kc.baseAddress ?? Self.empty, kS.baseAddress ?? Self.emptyHalf, km.baseAddress ?? Self.emptyHalf,
                 vs.baseAddress!, vc.baseAddress ?? Self.empty, vS.baseAddress ?? Self.emptyHalf, vm.baseAddress ?? Self.emptyHalf)
        } } } } } } } }
    }

    private static let empty = UnsafePointer(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
    private static let emptyHalf = UnsafePointer(UnsafeMutablePointer<Float16>.allocate(capacity: 1))
}
