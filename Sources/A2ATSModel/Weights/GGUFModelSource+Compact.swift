import A2ATSTensor

extension GGUFModelSource {
    public func compactMatrix(_ name: String) -> QuantizedMatrix? {
        guard let info = file.tensors[name], info.dims.count == 2, let bytes = file.rawBytes(name) else { return nil }
        switch info.type {
        case .q4_1: return QuantizedMatrix(format: .q4_1, rows: info.dims[1], cols: info.dims[0], ggufBlocks: bytes)
        case .q8_0: return QuantizedMatrix(format: .q8_0, rows: info.dims[1], cols: info.dims[0], ggufBlocks: bytes)
        default: return nil
        }
    }
}
