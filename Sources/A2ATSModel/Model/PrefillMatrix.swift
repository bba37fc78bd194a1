import A2ATSTensor
import Foundation

/// Where the prefill's products read a GGUF's quantized weights from.
public enum PrefillWeights: String, Sendable, CaseIterable {
    /// An f32 copy of every quantized matrix, made once at load: no work per product, 4 bytes a
    /// weight of memory for the model's life.
    case f32
    /// The file's blocks, mapped, dequantized panel by panel inside each product: no copy (the
    /// pages are the file's, shared and reclaimable), one dequantization per product, which a
    /// prompt of m tokens spreads over m rows (≈ 1% of a 4K prefill of the 0.5B model).
    case mapped

    /// f32 copies up to this many bytes are kept (the default model's 0.54 GB); above it the
    /// prefill reads the file (the 0.5B long-context model would hold 2.0 GB, an 8B model 32 GB).
    public static let residentLimitBytes = 1 << 30

    /// `A2ATS_PREFILL_WEIGHTS=f32|mapped` when set, else by the size of the f32 copies.
    static func choose(f32Bytes: Int, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PrefillWeights {
        if let named = environment["A2ATS_PREFILL_WEIGHTS"] {
            guard let choice = PrefillWeights(rawValue: named) else {
                throw ModelError.unknownPrefillWeights(named)
            }
            return choice
        }
        return f32Bytes > residentLimitBytes ? .mapped : .f32
    }
}

/// A weight as the prefill multiplies it: a matrix held in memory (f32, or a checkpoint's 16-bit
/// floats widened per panel) or rows stacked from mapped GGUF tensors, dequantized per panel.
enum PrefillMatrix {
    case resident(QuantizedMatrix)
    case mapped([MappedRows])

    /// The matrix itself when it is held in memory (f32 decode multiplies it; tests read its format).
    var resident: QuantizedMatrix? {
        if case .resident(let matrix) = self { return matrix }
        return nil
    }

    /// Rows of a mapped panel: ≈ 8 MiB of floats, in multiples of the product's 32-column panels,
    /// so each product call amortizes packing its A rows over many columns.
    static func panelRows(cols: Int) -> Int { max(32, (2 << 20) / cols / 32 * 32) }

    /// C[m × rows] = A[m × cols] · Wᵀ + beta · C. A mapped matrix goes panel by panel: each panel's
    /// rows are dequantized (two workers) and multiplied as f32; every output element is the same
    /// sum in the same order as with the whole f32 matrix (the product never splits k).
    func multiplyBatch(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float = 0,
                       c: UnsafeMutablePointer<Float>, ldc: Int, panelRows: Int? = nil) {
        switch self {
        case .resident(let matrix):
            matrix.multiplyBatch(m: m, a: a, lda: lda, beta: beta, c: c, ldc: ldc)
        case .mapped(let parts):
            let cols = parts[0].cols
            let step = panelRows ?? Self.panelRows(cols: cols)
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: step * cols)
            defer { panel.deallocate() }
            let target = SendablePointer(panel)
            var column = 0
            for part in parts {
                for first in stride(from: 0, to: part.rows, by: step) {
                    let rows = min(step, part.rows - first), half = (rows + 1) / 2
                    Parallel.perform(rows > 1 ? 2 : 1) { worker in
                        let range = worker == 0 ? first ..< first + half : first + half ..< first + rows
                        part.dequantize(range, into: target.pointer + (range.lowerBound - first) * cols)
                    }
                    BLAS.multiplyTransposedB(m: m, n: rows, k: cols, a: a, lda: lda, b: panel, ldb: cols,
                                             beta: beta, c: c + column + first, ldc: ldc)
                }
                column += part.rows
            }
        }
    }

    /// Row `row` (an embedding lookup) as f32.
    func copyRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .resident(let matrix): matrix.copyRow(row, into: out)
        case .mapped(let parts):
            var first = 0
            for part in parts {
                if row < first + part.rows { part.dequantize(row - first ..< row - first + 1, into: out); return }
                first += part.rows
            }
            preconditionFailure("row \(row) of a \(first)-row matrix")
        }
    }
}
