import Foundation

/// A weight matrix kept in its compact GGUF block format for decode, where each token reads
/// every weight once and time is bytes moved: Q4_1 is 0.75 bytes a weight against 4 for f32.
/// Values are exactly the dequantized GGUF values, so decode and prefill compute the same model.
///
/// Layout after load: rows are interleaved in groups of 16 (the last group zero-padded). For a
/// group and a block of 32 columns, the 16 rows' scales (and Q4_1 offsets) are contiguous, and
/// the codes are stored as 32-bit words, word k of the 16 rows side by side. One 512-bit load
/// then holds the same 4 bytes of 16 rows, so the kernel widens codes with shifts, masks and an
/// exponent-bits trick (no per-lane conversions), multiplies by one broadcast input value, and
/// ends with 16 finished outputs — no horizontal sums.
public struct QuantizedMatrix: @unchecked Sendable {
    public enum Format: String, Sendable { case q4_1, q8_0, f32 }

    public let format: Format
    public let rows: Int
    public let cols: Int
    /// Rows per interleaved group: one SIMD16 lane per row.
    static let groupRows = 16
    private let scales: [Float]
    private let offsets: [Float]
    private let codes: [UInt32]
    private let dense: [Float]

    /// Bytes the decode kernel reads per matrix-vector product.
    public var bytesRead: Int { scales.count * 4 + offsets.count * 4 + codes.count * 4 + dense.count * 4 }

    private var groups: Int { (rows + Self.groupRows - 1) / Self.groupRows }
    /// 32-bit code words per block and row: 4 (Q4_1, 32 nibbles) or 8 (Q8_0, 32 bytes).
    private static func wordsPerBlock(_ format: Format) -> Int { format == .q4_1 ? 4 : 8 }

    /// From raw GGUF blocks (`rows × cols/32` blocks, little-endian f16 scales as ggml writes them).
    public init(format: Format, rows: Int, cols: Int, ggufBlocks: UnsafeRawBufferPointer) {
        precondition(format != .f32 && cols % 32 == 0)
        self.format = format
        self.rows = rows
        self.cols = cols
        let blocksPerRow = cols / 32
        let groupRows = Self.groupRows
        let paddedBlocks = (rows + groupRows - 1) / groupRows * groupRows * blocksPerRow
        let words = Self.wordsPerBlock(format)
        var scales = [Float](repeating: 0, count: paddedBlocks)
        var offsets = [Float](repeating: 0, count: format == .q4_1 ? paddedBlocks : 0)
        var codes = [UInt32](repeating: 0, count: paddedBlocks * words)
        let blockSize = format == .q4_1 ? 20 : 34
        let codeStart = format == .q4_1 ? 4 : 2
        precondition(ggufBlocks.count >= rows * blocksPerRow * blockSize)
        for row in 0..<rows {
            let group = row / groupRows, lane = row % groupRows
            for b in 0..<blocksPerRow {
                let block = ggufBlocks.baseAddress! + (row * blocksPerRow + b) * blockSize
                let slot = (group * blocksPerRow + b) * groupRows
                scales[slot + lane] = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                if format == .q4_1 {
                    offsets[slot + lane] = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                }
                for k in 0..<words {
                    codes[(slot * words) + k * groupRows + lane] = UInt32(littleEndian:
                        block.loadUnaligned(fromByteOffset: codeStart + 4 * k, as: UInt32.self))
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
    /// or nil when they differ or a part other than the last ends in a padded row group.
    public static func stacked(_ parts: [QuantizedMatrix]) -> QuantizedMatrix? {
        guard let first = parts.first,
              parts.allSatisfy({ $0.format == first.format && $0.cols == first.cols }),
              first.format == .f32 || parts.dropLast().allSatisfy({ $0.rows % groupRows == 0 }) else { return nil }
        return QuantizedMatrix(format: first.format, rows: parts.reduce(0) { $0 + $1.rows }, cols: first.cols,
                               scales: parts.flatMap(\.scales), offsets: parts.flatMap(\.offsets),
                               codes: parts.flatMap(\.codes), dense: parts.flatMap(\.dense))
    }

    private init(format: Format, rows: Int, cols: Int, scales: [Float], offsets: [Float], codes: [UInt32], dense: [Float]) {
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
        let groups = self.groups
        // Two workers for matrices big enough to amortize the hand-off.
        let groupsPerWorker = rows * cols >= 1 << 18 ? (groups + 1) / 2 : groups
        let workers = (groups + groupsPerWorker - 1) / groupsPerWorker
        let output = SendableFloats(y)
        let input = SendableFloats(UnsafeMutablePointer(mutating: x))
        // Σx per block turns the Q4_1 offset into one multiply per block.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blocksPerRow) { blockSums in
            if format == .q4_1 {
                for b in 0..<blocksPerRow { blockSums[b] = vectorSum(x + b * 32, 32) }
            }
            let sums = SendableFloats(blockSums.baseAddress!)
            let work = { (worker: Int) in
                let first = worker * groupsPerWorker
                let last = min(groups, first + groupsPerWorker)
                switch format {
                case .q4_1: multiplyQ4_1(groups: first..<last, x: input.pointer, sums: sums.pointer, y: output.pointer,
                                         accumulate: accumulate)
                case .q8_0: multiplyQ8_0(groups: first..<last, x: input.pointer, y: output.pointer, accumulate: accumulate)
                case .f32: break
                }
            }
            if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        }
    }

    /// Writes one group's 16 results, skipping padded rows.
    @inline(__always)
    private func store(_ total: SIMD16<Float>, group: Int, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let first = group * Self.groupRows
        let count = min(Self.groupRows, rows - first)
        if count == Self.groupRows {
            let target = UnsafeMutableRawPointer(y + first)
            let previous = accumulate ? target.loadUnaligned(as: SIMD16<Float>.self) : SIMD16<Float>()
            target.storeBytes(of: previous + total, as: SIMD16<Float>.self)
        } else {
            for lane in 0..<count { y[first + lane] = accumulate ? y[first + lane] + total[lane] : total[lane] }
        }
    }

    private func multiplyQ4_1(groups range: Range<Int>, x: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                              y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let blocksPerRow = cols / 32
        // 0x4B000000 is 2²³ as a float: OR-ing a small integer into its mantissa and subtracting
        // 2²³ gives the integer as a float exactly.
        let exponent = SIMD16<UInt32>(repeating: 0x4B00_0000), twoTo23 = SIMD16<Float>(repeating: 8_388_608)
        let nibble = SIMD16<UInt32>(repeating: 0x0F)
        scales.withUnsafeBufferPointer { scales in offsets.withUnsafeBufferPointer { offsets in
            codes.withUnsafeBufferPointer { codes in
                for group in range {
                    var acc = SIMD16<Float>()
                    for b in 0..<blocksPerRow {
                        let slot = (group * blocksPerRow + b) * 16
                        let words = UnsafeRawPointer(codes.baseAddress! + slot * 4)
                        let xs = x + b * 32
                        var partial = SIMD16<Float>()
                        for k in 0..<4 {
                            let w = words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self)
                            for t in 0..<4 {
                                let low = unsafeBitCast(((w &>> UInt32(8 * t)) & nibble) | exponent, to: SIMD16<Float>.self)
                                let high = unsafeBitCast(((w &>> UInt32(8 * t + 4)) & nibble) | exponent,
                                                         to: SIMD16<Float>.self)
                                partial.addProduct(low - twoTo23, SIMD16<Float>(repeating: xs[4 * k + t]))
                                partial.addProduct(high - twoTo23, SIMD16<Float>(repeating: xs[4 * k + t + 16]))
                            }
                        }
                        let scale = UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                        let offset = UnsafeRawPointer(offsets.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                        acc.addProduct(partial, scale)
                        acc.addProduct(offset, SIMD16<Float>(repeating: sums[b]))
                    }
                    store(acc, group: group, y: y, accumulate: accumulate)
                }
            }
        } }
    }

    private func multiplyQ8_0(groups range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                              accumulate: Bool) {
        let blocksPerRow = cols / 32
        // Adding 1.5·2²³ to a small signed integer's bits gives that float plus the integer, exactly.
        let bias = SIMD16<Int32>(repeating: 0x4B40_0000), magic = SIMD16<Float>(repeating: 12_582_912)
        scales.withUnsafeBufferPointer { scales in codes.withUnsafeBufferPointer { codes in
            for group in range {
                var acc = SIMD16<Float>()
                for b in 0..<blocksPerRow {
                    let slot = (group * blocksPerRow + b) * 16
                    let words = UnsafeRawPointer(codes.baseAddress! + slot * 8)
                    let xs = x + b * 32
                    var partial = SIMD16<Float>()
                    for k in 0..<8 {
                        let w = words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<Int32>.self)
                        for t in 0..<4 {
                            let signed = (w &<< Int32(24 - 8 * t)) &>> 24
                            let value = unsafeBitCast(signed &+ bias, to: SIMD16<Float>.self) - magic
                            partial.addProduct(value, SIMD16<Float>(repeating: xs[4 * k + t]))
                        }
                    }
                    let scale = UnsafeRawPointer(scales.baseAddress! + slot).loadUnaligned(as: SIMD16<Float>.self)
                    acc.addProduct(partial, scale)
                }
                store(acc, group: group, y: y, accumulate: accumulate)
            }
        } }
    }
}

/// A float pointer that may cross into `concurrentPerform`; workers write disjoint rows.
struct SendableFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
