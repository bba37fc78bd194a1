import A2ATSTensor

/// The rows of one quantized GGUF matrix read straight from the mapped file and dequantized on
/// demand, so the prefill can multiply a model whose f32 copy would not fit in memory (4 bytes a
/// weight: 2 GB for a 0.5B model, 32 GB for an 8B one). Holds the file, which keeps the mapping.
public final class MappedRows: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    let type: GGMLType
    private let file: GGUFFile
    private let base: UnsafeRawPointer
    private let rowBytes: Int
    /// The stored row each engine row reads (Qwen2's Q/K rows out of the rotate-half layout); nil
    /// when rows are used in stored order.
    private let order: [Int]?

    init(file: GGUFFile, info: GGUFTensorInfo, bytes: UnsafeRawBufferPointer, order: [Int]?) {
        self.file = file
        type = info.type
        rows = info.dims[1]
        cols = info.dims[0]
        base = bytes.baseAddress!
        rowBytes = bytes.count / rows
        self.order = order
    }

    /// Whether the decode kernels keep this matrix compact (so an f32 copy would be a second one).
    var hasCompactForm: Bool { GGUFFile.compactFormats[type] != nil }

    /// Rows `range` as f32, row-major into `output` (`range.count × cols`): the same values
    /// `GGUFFile.floats` gives, since both run `Dequantize.convert` on whole rows of blocks.
    public func dequantize(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        if order == nil {
            Dequantize.convert(type, from: base + range.lowerBound * rowBytes, count: range.count * cols, into: output)
            return
        }
        for (i, row) in range.enumerated() {
            Dequantize.convert(type, from: base + order![row] * rowBytes, count: cols, into: output + i * cols)
        }
    }
}

extension GGUFModelSource {
    /// Matrix `name`'s rows in engine order, read from the mapped file; nil for a tensor that is
    /// not a dequantizable 2-D matrix.
    public func mappedRows(_ name: String) -> MappedRows? {
        guard let info = file.tensors[name], info.dims.count == 2, info.type.isDequantizable,
              let bytes = file.rawBytes(name) else { return nil }
        return MappedRows(file: file, info: info, bytes: bytes, order: adjacentPairOrder(name))
    }
}
