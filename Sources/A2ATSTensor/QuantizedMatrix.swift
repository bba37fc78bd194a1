import Foundation

/// A weight matrix kept in its compact GGUF block format for decode, where each token reads
/// every weight once and time is bytes moved: Q4_1 is 0.75 bytes a weight against 4 for f32.
/// Values are exactly the dequantized GGUF values, so decode and prefill compute the same model.
///
/// Layout after load: rows are interleaved in groups of 16 (the last group zero-padded). For a
/// group and a block (32 columns, or a 256-column K-quant super-block), the 16 rows' scales
/// (and offsets; f16 for the formats of the C kernels, else f32) are contiguous, and the block's bytes are stored as 32-bit words, word k of the
/// 16 rows side by side. One 512-bit load then holds the same 4 bytes of 16 rows, so a kernel
/// widens codes with shifts, masks and an exponent-bits trick (no per-lane conversions),
/// multiplies by one broadcast input value, and ends with 16 finished outputs — no horizontal
/// sums. Which words a block holds is format-specific (`QuantizedMatrix+Packing.swift`); the
/// kernels live in `QuantizedMatrix+BlockKernels.swift` (32-column blocks) and
/// `QuantizedMatrix+KQuantKernels.swift` (super-blocks).
public struct QuantizedMatrix: @unchecked Sendable {
    /// `mixed` is rows stacked from parts of different formats (Q5_0 Q/K with a Q8_0 V, as
    /// llama.cpp's mixes write them), each part multiplied by its own kernel. Q4_0, Q5_1, IQ4_NL,
    /// Q3_K and Q5_K share the kernels of Q4_1, Q5_0, Q8_0, Q6_K and Q4_K (see `pack`).
    /// `bf16` and `f16` hold a checkpoint's 16-bit floats as they are (2 bytes a weight), in the same
    /// interleaved layout, with no scales; prefill reads them through f32 panels
    /// (`QuantizedMatrix+Half.swift`).
    public enum Format: String, Sendable, CaseIterable {
        case q4_0, q4_1, q5_0, q5_1, q8_0, iq4_NL, q3_K, q4_K, q5_K, q6_K, bf16, f16, f32, mixed
    }

    public let format: Format
    public let rows: Int
    public let cols: Int
    /// Rows per interleaved group: one SIMD16 lane per row.
    static let groupRows = 16
    /// Per block and lane: the f32 block scale (Q4_K/Q6_K: the super-block's `d`); empty where
    /// `halfScales` holds them.
    let scales: [Float]
    /// Per block and lane: Q5_1's offset `m`, Q4_K's `dmin`; empty for other formats.
    let offsets: [Float]
    /// For the formats of the C kernels (`Format.hasHalfScales`), per block: the 16 lanes' scales
    /// `d` as f16 bits, then (Q4_1, Q4_0) their 16 offsets. The file's scales are f16, so this is
    /// exact, and a Q4_1 block is read in 20 bytes per row (as in the file), not 24.
    let halfScales: [UInt16]
    /// Per block: `format.wordsPerBlock` words × 16 lanes.
    let codes: [UInt32]
    let dense: [Float]
    /// The row blocks of a `mixed` matrix, top to bottom.
    let parts: [QuantizedMatrix]

    /// Bytes the decode kernel reads per matrix-vector product.
    public var bytesRead: Int {
        scales.count * 4 + offsets.count * 4 + halfScales.count * 2 + codes.count * 4 + dense.count * 4
            + parts.reduce(0) { $0 + $1.bytesRead }
    }

    var groups: Int { (rows + Self.groupRows - 1) / Self.groupRows }
    /// Blocks (or super-blocks) per row.
    var blocksPerRow: Int { cols / format.blockColumns }

    /// From raw GGUF blocks (`rows × cols/blockColumns` blocks, little-endian, as ggml writes them).
    public init(format: Format, rows: Int, cols: Int, ggufBlocks: UnsafeRawBufferPointer) {
        precondition(format.isBlockFormat && cols % format.blockColumns == 0)
        let blocksPerRow = cols / format.blockColumns
        let groupRows = Self.groupRows
        let paddedBlocks = (rows + groupRows - 1) / groupRows * groupRows * blocksPerRow
        let words = format.wordsPerBlock
        let blockBytes = format.ggufBlockBytes
        precondition(ggufBlocks.count >= rows * blocksPerRow * blockBytes)
        let half = format.hasHalfScales, halvesPerBlock = format.hasOffsets ? 2 : 1
        var scales = [Float](repeating: 0, count: half ? 0 : paddedBlocks)
        var offsets = [Float](repeating: 0, count: format.hasOffsets && !half ? paddedBlocks : 0)
        var halfScales = [UInt16](repeating: 0, count: half ? paddedBlocks * halvesPerBlock : 0)
        var codes = [UInt32](repeating: 0, count: paddedBlocks * words)
        codes.withUnsafeMutableBufferPointer { codes in
            for row in 0..<rows {
                let group = row / groupRows, lane = row % groupRows
                for b in 0..<blocksPerRow {
                    let block = ggufBlocks.baseAddress! + (row * blocksPerRow + b) * blockBytes
                    let slot = (group * blocksPerRow + b) * groupRows
                    let (scale, offset) = Self.pack(format, block: block, into: codes.baseAddress! + slot * words + lane,
                                                    stride: groupRows)
                    if half {
                        let first = slot * halvesPerBlock + lane
                        halfScales[first] = Self.exactHalf(scale)
                        if format.hasOffsets { halfScales[first + groupRows] = Self.exactHalf(offset) }
                    } else {
                        scales[slot + lane] = scale
                        if format.hasOffsets { offsets[slot + lane] = offset }
                    }
                }
            }
        }
        self.init(format: format, rows: rows, cols: cols, scales: scales, offsets: offsets, codes: codes, dense: [],
                  parts: [], halfScales: halfScales)
    }

    /// The f16 bits of a scale that came from an f16 field (Q4_0's −8·d too: a power of two
    /// times an f16, exact below 8,188, far beyond any trained weight's block scale).
    private static func exactHalf(_ value: Float) -> UInt16 {
        let half = Float16(value)
        precondition(Float(half) == value, "block scale \(value) is not an f16 value")
        return half.bitPattern
    }

    /// A plain f32 matrix (`rows × cols`), for tensors stored unquantized.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols)
        self.init(format: .f32, rows: rows, cols: cols, scales: [], offsets: [], codes: [], dense: values, parts: [])
    }

    /// Several matrices with the same width stacked by rows (fused Q/K/V or gate/up). Parts of one
    /// format are merged into one matrix when every part but the last fills whole row groups;
    /// otherwise the result is `mixed` and multiplies part by part. Nil when the widths differ.
    public static func stacked(_ parts: [QuantizedMatrix]) -> QuantizedMatrix? {
        guard let first = parts.first, parts.allSatisfy({ $0.cols == first.cols }) else { return nil }
        let rows = parts.reduce(0) { $0 + $1.rows }
        if parts.count > 1, first.format != .mixed,
           parts.allSatisfy({ $0.format == first.format }),
           first.format == .f32 || parts.dropLast().allSatisfy({ $0.rows % groupRows == 0 }) {
            return QuantizedMatrix(format: first.format, rows: rows, cols: first.cols,
                                   scales: parts.flatMap(\.scales), offsets: parts.flatMap(\.offsets),
                                   codes: parts.flatMap(\.codes), dense: parts.flatMap(\.dense), parts: [],
                                   halfScales: parts.flatMap(\.halfScales))
        }
        if parts.count == 1 { return first }
        let flat = parts.flatMap { $0.format == .mixed ? $0.parts : [$0] }
        return QuantizedMatrix(format: .mixed, rows: rows, cols: first.cols, scales: [], offsets: [], codes: [],
                               dense: [], parts: flat)
    }

    init(format: Format, rows: Int, cols: Int, scales: [Float], offsets: [Float], codes: [UInt32], dense: [Float],
         parts: [QuantizedMatrix], halfScales: [UInt16] = []) {
        self.format = format
        self.rows = rows
        self.cols = cols
        self.scales = scales
        self.offsets = offsets
        self.halfScales = halfScales
        self.codes = codes
        self.dense = dense
        self.parts = parts
    }

    /// y = W·x (or y += W·x with `accumulate`), `x` of `cols`, `y` of `rows`.
    public func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        switch format {
        case .f32:
            dense.withUnsafeBufferPointer {
                BLAS.matrixVector(rows: rows, cols: cols, a: $0.baseAddress!, lda: cols, x: x,
                                  beta: accumulate ? 1 : 0, y: y)
            }
            return
        case .mixed:
            var first = 0
            for part in parts {
                part.multiply(x, into: y + first, accumulate: accumulate)
                first += part.rows
            }
            return
        default: break
        }
        let groups = self.groups
        // Two workers for matrices big enough to amortize the hand-off.
        let groupsPerWorker = rows * cols >= 1 << 18 ? (groups + 1) / 2 : groups
        let workers = (groups + groupsPerWorker - 1) / groupsPerWorker
        let output = SendableFloats(y)
        let input = SendableFloats(UnsafeMutablePointer(mutating: x))
        // Σx per 32 columns turns a per-block offset (Q4_1's m, Q4_K's dmin·min, Q5_0's −16·d) into one multiply.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols / 32) { blockSums in
            if format.hasOffsets || format == .q5_0 {
                for b in 0..<cols / 32 { blockSums[b] = vectorSum(x + b * 32, 32) }
            }
            let sums = SendableFloats(blockSums.baseAddress!)
            let work = { (worker: Int) in
                let range = worker * groupsPerWorker..<min(groups, (worker + 1) * groupsPerWorker)
                let (x, y, sums) = (input.pointer, output.pointer, sums.pointer)
                switch format {
                case .q4_0, .q4_1: multiplyQ4_1(groups: range, x: x, sums: sums, y: y, accumulate: accumulate)
                case .q8_0, .iq4_NL: multiplyQ8_0(groups: range, x: x, y: y, accumulate: accumulate)
                case .q5_0: multiplyQ5_0(groups: range, x: x, sums: sums, withOffsets: false, y: y, accumulate: accumulate)
                case .q5_1: multiplyQ5_0(groups: range, x: x, sums: sums, withOffsets: true, y: y, accumulate: accumulate)
                case .q4_K: multiplyQ4_K(groups: range, x: x, sums: sums, y: y, accumulate: accumulate, fifthBit: false)
                case .q5_K: multiplyQ4_K(groups: range, x: x, sums: sums, y: y, accumulate: accumulate, fifthBit: true)
                case .q3_K, .q6_K: multiplyQ6_K(groups: range, x: x, y: y, accumulate: accumulate)
                case .bf16: multiplyBF16(groups: range, x: x, y: y, accumulate: accumulate)
                case .f16: multiplyF16(groups: range, x: x, y: y, accumulate: accumulate)
                case .f32, .mixed: break
                }
            }
            Parallel.perform(workers, work)
        }
    }

    /// Writes one group's 16 results, skipping padded rows.
    @inline(__always)
    func store(_ total: SIMD16<Float>, group: Int, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
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
}

/// A float pointer that may cross into `Parallel.perform`; workers write disjoint rows.
struct SendableFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
