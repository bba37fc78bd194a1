import A2ATSTensor

extension GGUFFile {
    /// The decode-kernel format of each quantized ggml type stored compactly; F16 and BF16 keep
    /// their 2 bytes a weight as one matrix for prefill and decode (`halfFormats`), as a
    /// checkpoint's do; other types (F32, Q2_K) are dequantized once and multiplied as f32.
    static let compactFormats: [GGMLType: QuantizedMatrix.Format] = [
        .q4_0: .q4_0, .q4_1: .q4_1, .q5_0: .q5_0, .q5_1: .q5_1, .q8_0: .q8_0, .iq4_NL: .iq4_NL,
        .q3_K: .q3_K, .q4_K: .q4_K, .q5_K: .q5_K, .q6_K: .q6_K,
    ]

    /// Matrix `name` repacked from its GGUF blocks for the decode kernels; nil for other types.
    public func compactMatrix(_ name: String) -> QuantizedMatrix? {
        guard let info = tensors[name], info.dims.count == 2, let bytes = rawBytes(name) else { return nil }
        return compactMatrix(info, bytes: bytes)
    }

    /// The 16-bit float types, read by prefill (widened per panel) and decode alike.
    static let halfFormats: [GGMLType: QuantizedMatrix.Format] = [.f16: .f16, .bf16: .bf16]

    /// `bytes` (the tensor's blocks, rows in engine order) in the decode kernels' layout.
    func compactMatrix(_ info: GGUFTensorInfo, bytes: UnsafeRawBufferPointer) -> QuantizedMatrix? {
        let (rows, cols) = (info.dims[1], info.dims[0])
        if let half = Self.halfFormats[info.type], cols % 32 == 0 {
            return QuantizedMatrix(halfFormat: half, rows: rows, cols: cols, values: bytes)
        }
        guard let format = Self.compactFormats[info.type] else { return nil }
        return QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: bytes)
    }
}

extension GGUFModelSource {
    /// The compact matrix with its rows in the engine's order (Qwen2's Q/K rows reordered from
    /// the rotate-half RoPE layout).
    public func compactMatrix(_ name: String) -> QuantizedMatrix? {
        guard let order = adjacentPairOrder(name) else { return file.compactMatrix(name) }
        guard let info = file.tensors[name], info.dims.count == 2, let bytes = file.rawBytes(name) else { return nil }
        // Each row is whole blocks, so reordering rows moves bytes and never touches a block.
        let rowBytes = bytes.count / order.count
        let reordered = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        defer { reordered.deallocate() }
        for (row, stored) in order.enumerated() {
            let source = UnsafeRawBufferPointer(rebasing: bytes[(stored * rowBytes)...].prefix(rowBytes))
            UnsafeMutableRawBufferPointer(rebasing: reordered[(row * rowBytes)...]).copyMemory(from: source)
        }
        return file.compactMatrix(info, bytes: UnsafeRawBufferPointer(reordered))
    }
}
