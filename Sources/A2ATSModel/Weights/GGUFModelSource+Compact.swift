import A2ATSTensor

extension GGUFFile {
    /// The decode-kernel format of each ggml type stored compactly; other types (F32, F16, …)
    /// are multiplied as f32.
    static let compactFormats: [GGMLType: QuantizedMatrix.Format] = [
        .q4_1: .q4_1, .q8_0: .q8_0, .q5_0: .q5_0, .q4_K: .q4_K, .q6_K: .q6_K,
    ]

    /// Matrix `name` repacked from its GGUF blocks for the decode kernels; nil for other types.
    public func compactMatrix(_ name: String) -> QuantizedMatrix? {
        guard let info = tensors[name], info.dims.count == 2, let format = Self.compactFormats[info.type],
              let bytes = rawBytes(name) else { return nil }
        return QuantizedMatrix(format: format, rows: info.dims[1], cols: info.dims[0], ggufBlocks: bytes)
    }
}

extension GGUFModelSource {
    public func compactMatrix(_ name: String) -> QuantizedMatrix? { file.compactMatrix(name) }
}
