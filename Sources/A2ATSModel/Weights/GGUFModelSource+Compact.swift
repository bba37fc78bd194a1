import A2ATSTensor

extension GGUFModelSource {
    public func compactMatrix(_ name: String) -> QuantizedMatrix? {
        guard let info = file.tensors[name], info.dims.count == 2, let bytes = file.rawBytes(name) else { return nil }
        guard let order = adjacentPairOrder(name) else { return compactMatrix(info, bytes: bytes) }
        // Each row is whole blocks, so reordering rows moves bytes and never touches a block.
        let rowBytes = bytes.count / order.count
        let reordered = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        defer { reordered.deallocate() }
        for (row, stored) in order.enumerated() {
            let source = UnsafeRawBufferPointer(rebasing: bytes[(stored * rowBytes)...].prefix(rowBytes))
            UnsafeMutableRawBufferPointer(rebasing: reordered[(row * rowBytes)...]).copyMemory(from: source)
        }
        return compactMatrix(info, bytes: UnsafeRawBufferPointer(reordered))
    }

    /// `bytes` (the tensor's blocks, rows in engine order) in the decode kernels' layout.
    private func compactMatrix(_ info: GGUFTensorInfo, bytes: UnsafeRawBufferPointer) -> QuantizedMatrix? {
        switch info.type {
        case .q4_1: return QuantizedMatrix(format: .q4_1, rows: info.dims[1], cols: info.dims[0], ggufBlocks: bytes)
        case .q8_0: return QuantizedMatrix(format: .q8_0, rows: info.dims[1], cols: info.dims[0], ggufBlocks: bytes)
        default: return nil
        }
    }
}
