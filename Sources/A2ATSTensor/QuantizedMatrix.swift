import Foundation

/// A weight matrix kept in its compact GGUF block format for decode, where each token reads
/// every weight once and time is bytes moved: Q4_1 is 0.75 bytes a weight against 4 for f32.
/// Values are exactly the dequantized GGUF values, so decode and prefill compute the same model.
///
/// Layout after load: per block of 32 weights one Float scale, one Float offset (Q4_1) and the
/// packed codes, each array contiguous so the kernel streams three sequential arrays.
public struct QuantizedMatrix: @unchecked Sendable {
    public enum Format: String, Sendable { case q4_1, q8_0, f32 }

    public let format: Format
    public let rows: Int
    public let cols: Int
    private let scales: [Float]
    private let offsets: [Float]
    private let codes: [UInt8]
    private let dense: [Float]

    /// Bytes the decode kernel reads per matrix-vector product.
    public var bytesRead: Int { scales.count * 4 + offsets.count * 4 + codes.count + dense.count * 4 }

    /// From raw GGUF blocks (`rows × cols/32` blocks, little-endian f16 scales as ggml writes them).
    public init(format: Format, rows: Int, cols: Int, ggufBlocks: UnsafeRawBufferPointer) {
        precondition(format != .f32 && cols % 32 == 0)
        self.format = format
        self.rows = rows
        self.cols = cols
        let blocks = rows * cols / 32
        var scales = [Float](repeating: 0, count: blocks)
        var offsets = [Float](repeating: 0, count: format == .q4_1 ? blocks : 0)
        let codeBytes = format == .q4_1 ? 16 : 32
        var codes = [UInt8](repeating: 0, count: blocks * codeBytes)
        let blockSize = format == .q4_1 ? 20 : 34
        precondition(ggufBlocks.count >= blocks * blockSize)
        codes.withUnsafeMutableBytes { codes in
            for b in 0..<blocks {
                let block = ggufBlocks.baseAddress! + b * blockSize
                scales[b] = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                if format == .q4_1 {
                    offsets[b] = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                    (codes.baseAddress! + b * 16).copyMemory(from: block + 4, byteCount: 16)
                } else {
                    (codes.baseAddress! + b * 32).copyMemory(from: block + 2, byteCount: 32)
                }
            }
        }
        self.scales = scales
        self.offsets = offsets
        self.codes = codes
        dense = []
    }

    /// A plain f32 matrix (`rows × cols`), for tensors stored unquantized.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols)
        format = .f32
        self.rows = rows
        self.cols = cols
        scales = []
        offsets = []
        codes = []
        dense = values
    }

    /// Several matrices with the same format and width stacked by rows (fused Q/K/V or gate/up),
    /// or nil when they differ.
    public static func stacked(_ parts: [QuantizedMatrix]) -> QuantizedMatrix? {
        guard let first = parts.first,
              parts.allSatisfy({ $0.format == first.format && $0.cols == first.cols }) else { return nil }
        return QuantizedMatrix(format: first.format, rows: parts.reduce(0) { $0 + $1.rows }, cols: first.cols,
                               scales: parts.flatMap(\.scales), offsets: parts.flatMap(\.offsets),
                               codes: parts.flatMap(\.codes), dense: parts.flatMap(\.dense))
    }

    private init(format: Format, rows: Int, cols: Int, scales: [Float], offsets: [Float], codes: [UInt8], dense: [Float]) {
        self.format = format
        self.rows = rows
        self.cols = cols
        self.scales = scales
        self.offsets = offsets
        self.codes = codes
        self.dense = dense
    }

    /// y = W·x (or y += W·x with `accumulate`), `x` of `cols`, `y` of `rows`.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if format == .f32 {
            dense.withUnsafeBufferPointer {
                BLAS.matrixVector(rows: rows, cols: cols, a: $0.baseAddress!, lda: cols, x: x,
                                  beta: accumulate ? 1 : 0, y: y)
            }
            return
        }
        let blocksPerRow = cols / 32
        // Σx per block turns the Q4_1 offset into one multiply per block.
        var blockSums = [Float](repeating: 0, count: blocksPerRow)
        if format == .q4_1 {
            for b in 0..<blocksPerRow { blockSums[b] = vectorSum(x + b * 32, 32) }
        }
        let rowsPerWorker = rows * cols >= 1 << 18 ? (rows + 1) / 2 : rows
        let workers = (rows + rowsPerWorker - 1) / rowsPerWorker
        let output = SendableFloats(y)
        let input = SendableFloats(UnsafeMutablePointer(mutating: x))
        blockSums.withUnsafeBufferPointer { sums in
            let sums = SendableFloats(UnsafeMutablePointer(mutating: sums.baseAddress!))
            let work = { (worker: Int) in
                let first = worker * rowsPerWorker
                let last = min(rows, first + rowsPerWorker)
                switch format {
                case .q4_1: multiplyQ4_1(rows: first..<last, x: input.pointer, sums: sums.pointer, y: output.pointer, accumulate: accumulate)
                case .q8_0: multiplyQ8_0(rows: first..<last, x: input.pointer, y: output.pointer, accumulate: accumulate)
                case .f32: break
                }
            }
            if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        }
    }

    private func multiplyQ4_1(rows range: Range<Int>, x: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                              y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let blocksPerRow = cols / 32
        scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in codes.withUnsafeBytes { codes in
            for row in range {
                var total: Float = 0
                var acc = SIMD16<Float>()
                var offsetTotal: Float = 0
                for b in 0..<blocksPerRow {
                    let block = row * blocksPerRow + b
                    let packed = codes.loadUnaligned(fromByteOffset: block * 16, as: SIMD16<UInt8>.self)
                    let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: packed & 0x0F))
                    let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: packed &>> 4))
                    let xs = x + b * 32
                    var partial = low * UnsafeRawPointer(xs).loadUnaligned(as: SIMD16<Float>.self)
                    partial.addProduct(high, UnsafeRawPointer(xs + 16).loadUnaligned(as: SIMD16<Float>.self))
                    acc.addProduct(partial, SIMD16<Float>(repeating: scales[block]))
                    offsetTotal += offsets[block] * sums[b]
                }
                total = acc.sum() + offsetTotal
                y[row] = accumulate ? y[row] + total : total
            }
        } } }
    }

    private func multiplyQ8_0(rows range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                              accumulate: Bool) {
        let blocksPerRow = cols / 32
        scales.withUnsafeBufferPointer { scales in codes.withUnsafeBytes { codes in
            for row in range {
                var acc = SIMD16<Float>()
                for b in 0..<blocksPerRow {
                    let block = row * blocksPerRow + b
                    let first = codes.loadUnaligned(fromByteOffset: block * 32, as: SIMD16<Int8>.self)
                    let second = codes.loadUnaligned(fromByteOffset: block * 32 + 16, as: SIMD16<Int8>.self)
                    let xs = x + b * 32
                    var partial = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: first))
                        * UnsafeRawPointer(xs).loadUnaligned(as: SIMD16<Float>.self)
                    partial.addProduct(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: second)),
                                       UnsafeRawPointer(xs + 16).loadUnaligned(as: SIMD16<Float>.self))
                    acc.addProduct(partial, SIMD16<Float>(repeating: scales[block]))
                }
                let total = acc.sum()
                y[row] = accumulate ? y[row] + total : total
            }
        } }
    }
}

/// A float pointer that may cross into `concurrentPerform`; workers write disjoint rows.
struct SendableFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
