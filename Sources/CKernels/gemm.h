// Single-precision matrix product with AVX-512 for the prefill: C = alpha·A·op(B) + beta·C, all
// row-major, op(B) = B (k × n) or Bᵀ (B stored n × k, as weights and keys are). OpenBLAS picks its
// kernels from a table of CPU models and falls back to older ones on CPUs it does not know, or
// where an environment pins them (AVX2 kernels on a Zen 5 here: half its FMA width); this one needs
// only AVX-512F, checked at run time by the caller.
//
// Layout after GotoBLAS: for each block of KC of the inner dimension, B is packed into panels of
// KC × 32 (a 32-column panel stays in L1 while it meets every row tile), A into MC × KC blocks of
// KC × 14 slivers (in L2), and a 14 × 32 tile of C lives in 28 registers while the kernel runs
// over KC. Each element of C sums its products in order of k within a KC block,
// then adds blocks in order: results do not depend on the thread split or on m.
#pragma once
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>

// Tile rows (≤ 14: 28 accumulators, two B vectors and a broadcast fill the 32 registers), tile
// columns, depth and rows of a block. A C benchmark may define the three tunable ones before
// including this file; 12 or 13 rows and depths of 192 timed within the host's noise of these.
#ifndef A2ATS_GEMM_MR
#define A2ATS_GEMM_MR 14
#endif
#define A2ATS_GEMM_NR 32
#ifndef A2ATS_GEMM_KC
#define A2ATS_GEMM_KC 256
#endif
#ifndef A2ATS_GEMM_MC
#define A2ATS_GEMM_MC (A2ATS_GEMM_MR * 12)
#endif

// Transposes 16 vectors of 16 floats in place: r[i][j] becomes r[j][i].
static inline __attribute__((target("avx512f"), always_inline)) void a2ats_transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    // In lanes of 128 bits: lane L of r[i] holds rows 4⌊i/4⌋ … +3 of column 4L + (i mod 4).
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x44);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xEE);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x44);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 4] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 8] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

// `rows` rows (≤ 16) of `src` (stride ld), inner indices p … p + 15, written transposed: index p + q
// goes to dst[q·dstStride + i] for rows i (lanes past `rows` are zeros, `lanes` of them stored).
static inline __attribute__((target("avx512f"), always_inline))
void a2ats_pack16(const float *src, int ld, int rows, float *dst, int dstStride, __mmask16 lanes) {
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_loadu_ps(src + (size_t)i * ld) : _mm512_setzero_ps();
    a2ats_transpose16(r);
    for (int q = 0; q < 16; q++) _mm512_mask_storeu_ps(dst + (size_t)q * dstStride, lanes, r[q]);
}

// B's columns j0 … j0 + nc − 1, inner indices p0 … p0 + kc − 1, as ⌈nc/32⌉ panels of kc × 32
// (columns past nc are zeros). transposed: element (p, j) is b[j·ldb + p]; else b[p·ldb + j].
static inline __attribute__((target("avx512f")))
void a2ats_gemm_pack_b(const float *b, int ldb, int transposed, int p0, int kc, int j0, int nc, float *packed) {
    for (int jp = 0; jp < nc; jp += A2ATS_GEMM_NR) {
        const int nr = nc - jp < A2ATS_GEMM_NR ? nc - jp : A2ATS_GEMM_NR;
        float *panel = packed + (size_t)jp * kc;
        if (transposed) {
            // Sixteen columns by sixteen inner indices at a time, through registers.
            const int full = kc / 16 * 16;
            for (int half = 0; half < 2; half++) {
                const int rows = nr - 16 * half < 0 ? 0 : nr - 16 * half > 16 ? 16 : nr - 16 * half;
                const float *src = b + (size_t)(j0 + jp + 16 * half) * ldb + p0;
                for (int p = 0; p < full; p += 16)
                    a2ats_pack16(src + p, ldb, rows, panel + (size_t)p * A2ATS_GEMM_NR + 16 * half, A2ATS_GEMM_NR, 0xFFFF);
            }
            for (int p = full; p < kc; p++)
                for (int j = 0; j < A2ATS_GEMM_NR; j++)
                    panel[p * A2ATS_GEMM_NR + j] = j < nr ? b[(size_t)(j0 + jp + j) * ldb + p0 + p] : 0.0f;
        } else {
            const __mmask16 lo = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
            const __mmask16 hi = (__mmask16)(nr <= 16 ? 0 : nr >= 32 ? 0xFFFF : (1u << (nr - 16)) - 1);
            for (int p = 0; p < kc; p++) {
                const float *src = b + (size_t)(p0 + p) * ldb + j0 + jp;
                _mm512_store_ps(panel + p * A2ATS_GEMM_NR, _mm512_maskz_loadu_ps(lo, src));
                _mm512_store_ps(panel + p * A2ATS_GEMM_NR + 16, _mm512_maskz_loadu_ps(hi, src + 16));
            }
        }
    }
}

// Rows i0 … i0 + mc − 1 of A, inner indices p0 … p0 + kc − 1, as slivers of kc × 14 (rows past mc
// are zeros).
static inline __attribute__((target("avx512f")))
void a2ats_gemm_pack_a(const float *a, int lda, int i0, int mc, int p0, int kc, float *packed) {
    const int full = kc / 16 * 16;
    for (int ip = 0; ip < mc; ip += A2ATS_GEMM_MR) {
        const int mr = mc - ip < A2ATS_GEMM_MR ? mc - ip : A2ATS_GEMM_MR;
        float *sliver = packed + (size_t)ip * kc;
        const float *src = a + (size_t)(i0 + ip) * lda + p0;
        for (int p = 0; p < full; p += 16)
            a2ats_pack16(src + p, lda, mr, sliver + (size_t)p * A2ATS_GEMM_MR, A2ATS_GEMM_MR, (1u << A2ATS_GEMM_MR) - 1);
        for (int p = full; p < kc; p++)
            for (int i = 0; i < A2ATS_GEMM_MR; i++)
                sliver[p * A2ATS_GEMM_MR + i] = i < mr ? src[(size_t)i * lda + p] : 0.0f;
    }
}

// One 14 × 32 tile: acc = sliver · panel over kc, then rows < mr and columns < nr of C get
// alpha·acc + (first block ? beta·C : C); beta 0 reads nothing of C.
static inline __attribute__((target("avx512f")))
void a2ats_gemm_tile(int kc, const float *sliver, const float *panel, float *c, int ldc, int mr, int nr,
                     float alpha, float beta, int first) {
    // Fully unrolled, so that the 28 accumulators live in registers (a loop keeps them in memory).
    __m512 c0[A2ATS_GEMM_MR], c1[A2ATS_GEMM_MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < A2ATS_GEMM_MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    for (int p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_load_ps(panel + p * A2ATS_GEMM_NR), b1 = _mm512_load_ps(panel + p * A2ATS_GEMM_NR + 16);
        const float *ap = sliver + p * A2ATS_GEMM_MR;
#pragma clang loop unroll(full)
        for (int i = 0; i < A2ATS_GEMM_MR; i++) {
            const __m512 ai = _mm512_set1_ps(ap[i]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    const __mmask16 lo = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
    const __mmask16 hi = (__mmask16)(nr <= 16 ? 0 : nr >= 32 ? 0xFFFF : (1u << (nr - 16)) - 1);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(first ? beta : 1.0f);
    const int readC = !first || beta != 0.0f;
#pragma clang loop unroll(full)
    for (int i = 0; i < A2ATS_GEMM_MR; i++) {
        if (i < mr) {
            float *row = c + (size_t)i * ldc;
            __m512 r0 = _mm512_mul_ps(va, c0[i]), r1 = _mm512_mul_ps(va, c1[i]);
            if (readC) {
                r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(lo, row), r0);
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(hi, row + 16), r1);
            }
            _mm512_mask_storeu_ps(row, lo, r0);
            _mm512_mask_storeu_ps(row + 16, hi, r1);
        }
    }
}

// Floats of the workspace one thread needs for columns of width `nc`: B's packed panels for one
// KC block of every column, and one MC × KC block of A.
static inline size_t a2ats_gemm_workspace_count(int nc) {
    return (size_t)((nc + A2ATS_GEMM_NR - 1) / A2ATS_GEMM_NR) * A2ATS_GEMM_NR * A2ATS_GEMM_KC
        + (size_t)A2ATS_GEMM_MC * A2ATS_GEMM_KC;
}

// Columns n0 … n1 − 1 of C = alpha·A·op(B) + beta·C (A m × k); `workspace` holds
// a2ats_gemm_workspace_count(n1 − n0) floats, 64-byte aligned. One thread; callers split columns
// or rows. Each KC block of B is packed once for all columns (it stays in L3: 10 MB for the widest
// weight), each MC × KC block of A once for all of them (in L2), so neither is packed twice.
static inline __attribute__((target("avx512f")))
void a2ats_gemm_avx512(int m, int n0, int n1, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                       int transposedB, float beta, float *c, int ldc, float *workspace) {
    const int nc = n1 - n0;
    float *packedB = workspace, *packedA = workspace + (size_t)((nc + A2ATS_GEMM_NR - 1) / A2ATS_GEMM_NR) * A2ATS_GEMM_NR * A2ATS_GEMM_KC;
    if (k == 0) {
        for (int i = 0; i < m; i++)
            for (int j = n0; j < n1; j++) c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    for (int pc = 0; pc < k; pc += A2ATS_GEMM_KC) {
        const int kc = k - pc < A2ATS_GEMM_KC ? k - pc : A2ATS_GEMM_KC;
        a2ats_gemm_pack_b(b, ldb, transposedB, pc, kc, n0, nc, packedB);
        for (int ic = 0; ic < m; ic += A2ATS_GEMM_MC) {
            const int mc = m - ic < A2ATS_GEMM_MC ? m - ic : A2ATS_GEMM_MC;
            a2ats_gemm_pack_a(a, lda, ic, mc, pc, kc, packedA);
            for (int jr = 0; jr < nc; jr += A2ATS_GEMM_NR) {
                const int nr = nc - jr < A2ATS_GEMM_NR ? nc - jr : A2ATS_GEMM_NR;
                for (int ir = 0; ir < mc; ir += A2ATS_GEMM_MR) {
                    const int mr = mc - ir < A2ATS_GEMM_MR ? mc - ir : A2ATS_GEMM_MR;
                    a2ats_gemm_tile(kc, packedA + (size_t)ir * kc, packedB + (size_t)jr * kc,
                                    c + (size_t)(ic + ir) * ldc + n0 + jr, ldc, mr, nr, alpha, beta, pc == 0);
                }
            }
        }
    }
}

// This thread's workspace of at least `count` floats, grown on demand and kept for the thread's
// life (a few threads run products: the caller and the parallel helpers).
static inline float *a2ats_gemm_thread_workspace(size_t count) {
    static __thread float *workspace = NULL;
    static __thread size_t capacity = 0;
    if (count > capacity) {
        free(workspace);
        workspace = (float *)aligned_alloc(64, sizeof(float) * count);
        capacity = workspace ? count : 0;
    }
    return workspace;
}
