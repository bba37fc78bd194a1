import CKernels
import COpenBLAS
import Foundation

/// Row-major BLAS calls under names that say which operand is transposed. Weights are stored
/// as GGUF stores them: `out × in` rows, so a layer is y = W·x and a batch is Y = X·Wᵀ.
public enum BLAS {
    /// C[m×n] = alpha · A[m×k] · B[n×k]ᵀ + beta · C, all row-major with leading dimensions.
    @inline(__always)
    public static func multiplyTransposedB(m: Int, n: Int, k: Int, alpha: Float = 1,
                                           a: UnsafePointer<Float>, lda: Int,
                                           b: UnsafePointer<Float>, ldb: Int,
                                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if ownProduct && m >= ownProductMinimumRows {
            product(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, transposedB: true, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[m×n] = alpha · A[m×k] · B[k×n] + beta · C, all row-major with leading dimensions.
    @inline(__always)
    public static func multiply(m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if ownProduct && m >= ownProductMinimumRows {
            product(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, transposedB: false, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Whether the two products above run our AVX-512 kernel (`gemm.h`) instead of OpenBLAS's
    /// sgemm: where the CPU has AVX-512F but OpenBLAS runs narrower kernels. OpenBLAS chooses its
    /// kernels by CPU model (or as `OPENBLAS_CORETYPE` pins them) and ran AVX2 kernels on a Zen 5
    /// host at half the FMA width it has; there ours is 1.3–1.5× faster, while OpenBLAS's own
    /// AVX-512 kernels beat ours (two cores: 451 against 345 GFLOP/s at 1024 × 9728 × 896, 10–20%
    /// over a whole prefill; `reports/performance.md`, session 13). `A2ATS_GEMM=openblas|a2ats`
    /// chooses; tests switch it to compare the two.
    public static var ownProduct = ownProductByDefault(environment: ProcessInfo.processInfo.environment,
                                                       hasAVX512: CPUFeatures.hasAVX512,
                                                       openBLASFamily: BLASKernelFamily.current)

    static func ownProductByDefault(environment: [String: String], hasAVX512: Bool, openBLASFamily: String) -> Bool {
        switch environment["A2ATS_GEMM"] {
        case "openblas": return false
        case "a2ats": return hasAVX512
        default: return hasAVX512 && !BLASKernelFamily.runsAVX512(openBLASFamily)
        }
    }

    /// Fewer rows than this go to OpenBLAS: our kernel packs all of B for any number of rows, which
    /// a product of one row (the prefill's last logits: a 151,936 × 896 head) would pay in full.
    static let ownProductMinimumRows = 16

    /// Which product the prefill runs, for benchmarks and manifests.
    public static var productName: String { ownProduct ? "a2ats AVX-512" : "OpenBLAS sgemm (\(BLASKernelFamily.current))" }

    /// `gemm.h` on `threadCount` workers: rows split when A is the taller side, columns otherwise
    /// (at multiples of the kernel's 32-column panels). Each element sums in the same order whatever
    /// the split, so results do not depend on the threads.
    private static func product(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int, transposedB: Bool, beta: Float,
                                c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        let (pa, pb, pc) = (SendableFloats(UnsafeMutablePointer(mutating: a)), SendableFloats(UnsafeMutablePointer(mutating: b)), SendableFloats(c))
        let panels = (n + 31) / 32
        let splitRows = m >= n
        let workers = max(1, min(threadCount, splitRows ? (m + 13) / 14 : panels))
        func per(_ parts: Int) -> Int { (parts + workers - 1) / workers }
        Parallel.perform(workers) { worker in
            let workspace = a2ats_gemm_thread_workspace(a2ats_gemm_workspace_count(Int32(splitRows ? n : (per(panels) * 32))))!
            if splitRows {
                let first = worker * per(m), rows = min(m, first + per(m)) - first
                guard rows > 0 else { return }
                a2ats_gemm_avx512(Int32(rows), 0, Int32(n), Int32(k), alpha, pa.pointer + first * lda, Int32(lda), pb.pointer,
                                  Int32(ldb), transposedB ? 1 : 0, beta, pc.pointer + first * ldc, Int32(ldc), workspace)
            } else {
                let first = min(n, worker * per(panels) * 32), last = min(n, (worker + 1) * per(panels) * 32)
                guard last > first else { return }
                a2ats_gemm_avx512(Int32(m), Int32(first), Int32(last), Int32(k), alpha, pa.pointer, Int32(lda), pb.pointer,
                                  Int32(ldb), transposedB ? 1 : 0, beta, pc.pointer, Int32(ldc), workspace)
            }
        }
    }

    /// y[rows] = alpha · A[rows×cols] · x + beta · y.
    @inline(__always)
    public static func matrixVector(rows: Int, cols: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                    x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(cols), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// y[cols] = alpha · A[rows×cols]ᵀ · x + beta · y (e.g. Σ_j p_j · v_j over cached values).
    @inline(__always)
    public static func transposedMatrixVector(rows: Int, cols: Int, alpha: Float = 1, a: UnsafePointer<Float>,
                                              lda: Int, x: UnsafePointer<Float>, beta: Float = 0,
                                              y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Threads OpenBLAS may use; callers that parallelize themselves set 1 around their loop.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
