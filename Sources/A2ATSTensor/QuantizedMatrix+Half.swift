import Foundation

/// 16-bit float matrices (a Hugging Face checkpoint's bf16 or f16 weights) kept at 2 bytes a
/// weight, so an 8B model's projections take 16 GB instead of 32. Decode multiplies them with
/// the same 16-row interleaved kernels as the GGUF block formats (a 32-column block is 16 words
/// per row, two values a word); prefill widens 16-row groups into f32 panels and hands each
/// panel to `cblas_sgemm`, so the compute is f32 on exactly the stored values.
extension QuantizedMatrix {
    /// Whether `format` holds 16-bit floats.
    public var isHalfFormat: Bool { format == .bf16 || format == .f16 }

    /// Whether prefill can multiply this matrix as it is (`multiplyBatch`), so no f32 copy is needed.
    public var isBatchReadable: Bool {
        isHalfFormat || format == .f32 || (format == .mixed && parts.allSatisfy { $0.isBatchReadable })
    }

    /// A `rows × cols` matrix from row-major little-endian 16-bit floats (`cols` a multiple of 32).
    public init(halfFormat format: Format, rows: Int, cols: Int, values: UnsafeRawBufferPointer) {
        precondition((format == .bf16 || format == .f16) && cols % 32 == 0 && values.count >= rows * cols * 2)
        // A row of 32-column "blocks" of 64 bytes is the block layout `pack` reads; scales are all 1 and dropped.
        let packed = QuantizedMatrix(format: format, rows: rows, cols: cols, ggufBlocks: values)
        self.init(format: format, rows: rows, cols: cols, scales: [], offsets: [], codes: packed.codes, dense: [],
                  parts: [])
    }

    /// bf16 → f32 is the 16 bits moved to the top of the word.
    @inline(__always)
    static func bf16Low(_ w: SIMD16<UInt32>) -> SIMD16<Float> { unsafeBitCast(w &<< 16, to: SIMD16<Float>.self) }
    @inline(__always)
    static func bf16High(_ w: SIMD16<UInt32>) -> SIMD16<Float> {
        unsafeBitCast(w & SIMD16<UInt32>(repeating: 0xFFFF_0000), to: SIMD16<Float>.self)
    }

    /// IEEE half in the low 16 bits of each lane → f32, exact for every finite half (subnormals
    /// included): exponent and mantissa shifted into place, rebiased by a multiply by 2¹¹².
    @inline(__always)
    static func halfToFloat(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
        let magnitude = unsafeBitCast((h & SIMD16<UInt32>(repeating: 0x7FFF)) &<< 13, to: SIMD16<Float>.self)
            * SIMD16<Float>(repeating: 0x1p112)
        let sign = (h & SIMD16<UInt32>(repeating: 0x8000)) &<< 16
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD16<UInt32>.self) | sign, to: SIMD16<Float>.self)
    }

    /// Word `w`'s two values (columns 2k and 2k + 1 of 16 rows) as f32.
    @inline(__always)
    func widen(_ w: SIMD16<UInt32>) -> (SIMD16<Float>, SIMD16<Float>) {
        format == .bf16 ? (Self.bf16Low(w), Self.bf16High(w))
            : (Self.halfToFloat(w & SIMD16<UInt32>(repeating: 0xFFFF)), Self.halfToFloat(w &>> 16))
    }

    func multiplyBF16(groups range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                      accumulate: Bool) {
        multiplyHalf(groups: range, x: x, y: y, accumulate: accumulate) { (Self.bf16Low($0), Self.bf16High($0)) }
    }

    func multiplyF16(groups range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                     accumulate: Bool) {
        let low = SIMD16<UInt32>(repeating: 0xFFFF)
        multiplyHalf(groups: range, x: x, y: y, accumulate: accumulate) {
            (Self.halfToFloat($0 & low), Self.halfToFloat($0 &>> 16))
        }
    }

    /// One broadcast input per column against 16 rows' values; two accumulators (even and odd
    /// columns) halve the FMA dependency chain.
    @inline(__always)
    private func multiplyHalf(groups range: Range<Int>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                              accumulate: Bool, widen: (SIMD16<UInt32>) -> (SIMD16<Float>, SIMD16<Float>)) {
        let blocksPerRow = self.blocksPerRow
        codes.withUnsafeBufferPointer { codes in
            for group in range {
                var even = SIMD16<Float>(), odd = SIMD16<Float>()
                let words = UnsafeRawPointer(codes.baseAddress! + group * blocksPerRow * 256)
                for k in 0..<blocksPerRow * 16 {
                    let (low, high) = widen(words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self))
                    even.addProduct(low, SIMD16<Float>(repeating: x[2 * k]))
                    odd.addProduct(high, SIMD16<Float>(repeating: x[2 * k + 1]))
                }
                store(even + odd, group: group, y: y, accumulate: accumulate)
            }
        }
    }

    /// The rows of `groups` as f32 columns of a `cols × ldp` panel (panel[c][r] = W[r][c], rows
    /// counted from `first`): a word of 16 lanes is one column pair of 16 rows, so each load
    /// becomes two contiguous 16-float stores and nothing is scattered.
    func widenGroups(_ groups: Range<Int>, first: Int, into panel: UnsafeMutablePointer<Float>, ldp: Int) {
        let blocksPerRow = self.blocksPerRow
        codes.withUnsafeBufferPointer { codes in
            for group in groups {
                let words = UnsafeRawPointer(codes.baseAddress! + group * blocksPerRow * 256)
                let column = UnsafeMutableRawPointer(panel + (group - first) * Self.groupRows)
                for k in 0..<blocksPerRow * 16 {
                    let (low, high) = widen(words.loadUnaligned(fromByteOffset: k * 64, as: SIMD16<UInt32>.self))
                    column.storeBytes(of: low, toByteOffset: 2 * k * ldp * 4, as: SIMD16<Float>.self)
                    column.storeBytes(of: high, toByteOffset: (2 * k + 1) * ldp * 4, as: SIMD16<Float>.self)
                }
            }
        }
    }

    /// Row `row` as f32 into `out` (`cols` values): an embedding lookup.
    public func copyRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        switch format {
        case .f32:
            dense.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + row * cols, count: cols) }
        case .bf16, .f16:
            let group = row / Self.groupRows, lane = row % Self.groupRows
            codes.withUnsafeBufferPointer { codes in
                let words = codes.baseAddress! + group * blocksPerRow * 256 + lane
                for k in 0..<blocksPerRow * 16 {
                    let word = words[k * Self.groupRows]
                    let (low, high) = widen(SIMD16<UInt32>(repeating: word))
                    out[2 * k] = low[0]
                    out[2 * k + 1] = high[0]
                }
            }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_NL, .q3_K, .q4_K, .q5_K, .q6_K, .mixed:
            preconditionFailure("copyRow reads f32 and 16-bit float matrices only, not \(format)")
        }
    }

    /// Groups (of 16 rows) per f32 panel in `multiplyBatch`: about 2 MiB of floats.
    var defaultPanelGroups: Int { max(1, (1 << 19) / (cols * Self.groupRows)) }

    /// C[m × rows] = A[m × cols] · Wᵀ + beta · C (row-major, leading dimensions given): the
    /// prefill product. f32 matrices go to `cblas_sgemm` directly; 16-bit ones panel by panel.
    /// `panelGroups` overrides the panel size (tests cover several panels on small matrices).
    public func multiplyBatch(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float = 0,
                              c: UnsafeMutablePointer<Float>, ldc: Int, panelGroups: Int? = nil) {
        switch format {
        case .f32:
            dense.withUnsafeBufferPointer {
                BLAS.multiplyTransposedB(m: m, n: rows, k: cols, a: a, lda: lda, b: $0.baseAddress!, ldb: cols,
                                         beta: beta, c: c, ldc: ldc)
            }
        case .bf16, .f16:
            let step = min(groups, panelGroups ?? defaultPanelGroups), ldp = step * Self.groupRows
            let panel = UnsafeMutablePointer<Float>.allocate(capacity: ldp * cols)
            defer { panel.deallocate() }
            let target = SendableFloats(panel)
            for first in stride(from: 0, to: groups, by: step) {
                let last = min(groups, first + step)
                // Two workers widen halves of the panel; sgemm then uses every BLAS thread.
                let half = (last - first + 1) / 2
                Parallel.perform(last - first > 1 ? 2 : 1) { worker in
                    let range = (first + worker * half)..<(worker == 0 ? min(last, first + half) : last)
                    widenGroups(range, first: first, into: target.pointer, ldp: ldp)
                }
                let panelRows = min(rows, last * Self.groupRows) - first * Self.groupRows
                BLAS.multiply(m: m, n: panelRows, k: cols, a: a, lda: lda, b: panel, ldb: ldp, beta: beta,
                              c: c + first * Self.groupRows, ldc: ldc)
            }
        case .mixed:
            var first = 0
            for part in parts {
                part.multiplyBatch(m: m, a: a, lda: lda, beta: beta, c: c + first, ldc: ldc)
                first += part.rows
            }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_NL, .q3_K, .q4_K, .q5_K, .q6_K:
            preconditionFailure("multiplyBatch reads f32 and 16-bit float matrices only, not \(format)")
        }
    }
}
