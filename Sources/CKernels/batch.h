// Decode products of several vectors at once: the forks of one prefill decoded together, so each
// weight block is read and widened once for V vectors instead of once per fork. Editing: as for
// kernels.h, touch a Swift file of A2ATSTensor so SwiftPM recompiles its importer.
//
// Bit for bit the single-vector kernels of kernels.h: every vector gets the same FMAs into the
// same four partial sums in the same order, and the same two FMAs per block into its lane
// accumulator; only the widened codes are shared. So a fork's tokens do not depend on which
// other forks share its batch.
#pragma once
#include "kernels.h"

#define A2ATS_BATCH_UNROLL _Pragma("clang loop unroll(full)")

// One FMA of widened code `C` into partial `P` of each of the V vectors, with each vector's
// input at column offset `COL` of this block.
#define A2ATS_BATCH_FMA(V, FMA, SET1, P, C, COL) \
    A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) P[v] = FMA(C, SET1(x[v][COL]), P[v]);

// Q4_1 (layout and nibble scaling as A2ATS_Q4_1_GROUP) for V vectors: `xs` holds V scaled
// inputs `xstride` apart, `sums` their per-block Σx `sstride` apart, `out` V rows of 16.
#define A2ATS_Q4_1_BATCH(NAME, TARGET, VEC, LANES, V, SETZERO, SET1, SET1I, LOADI, AND, SRLI, CVT, FMA, ADD, LOADH, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const uint16_t *halves, int blocks, const float *xs, long xstride, \
          const float *sums, long sstride, float *out, long ostride) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc[V]; \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) acc[v] = SETZERO(); \
        for (int b = 0; b < blocks; b++) { \
            const uint32_t *w = codes + b * 64 + half; \
            const float *x[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) x[v] = xs + v * xstride + b * 32; \
            a2ats_prefetch_ahead(codes + b * 64, 256); \
            VEC p0[V], p1[V], p2[V], p3[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { p0[v] = SETZERO(); p1[v] = SETZERO(); p2[v] = SETZERO(); p3[v] = SETZERO(); } \
            for (int k = 0; k < 4; k++) { \
                const VEC##i_t word = LOADI(w + 16 * k); \
                A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x0000000F))), 4 * k) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(AND(word, SET1I(0x000000F0))), 4 * k + 16) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p2, CVT(AND(word, SET1I(0x00000F00))), 4 * k + 1) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p3, CVT(AND(word, SET1I(0x0000F000))), 4 * k + 17) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x000F0000))), 4 * k + 2) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(AND(word, SET1I(0x00F00000))), 4 * k + 18) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p2, CVT(AND(word, SET1I(0x0F000000))), 4 * k + 3) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p3, CVT(SRLI(word, 28)), 4 * k + 19) \
            } \
            const VEC scale = LOADH(halves + b * 32 + half), offset = LOADH(halves + b * 32 + 16 + half); \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { \
                acc[v] = FMA(ADD(ADD(p0[v], p1[v]), ADD(p2[v], p3[v])), scale, acc[v]); \
                acc[v] = FMA(offset, SET1(sums[v * sstride + b]), acc[v]); \
            } \
        } \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) STOREF(out + v * ostride + half, acc[v]); \
    } \
}

// Q8_0 (layout as A2ATS_Q8_0_GROUP) for V vectors `xstride` apart into V rows of 16.
#define A2ATS_Q8_0_BATCH(NAME, TARGET, VEC, LANES, V, SETZERO, SET1, LOADI, SLLI, SRAI, CVT, FMA, ADD, LOADH, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const uint16_t *halves, int blocks, const float *xs, long xstride, \
          float *out, long ostride) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc[V]; \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) acc[v] = SETZERO(); \
        for (int b = 0; b < blocks; b++) { \
            const uint32_t *w = codes + b * 128 + half; \
            const float *x[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) x[v] = xs + v * xstride + b * 32; \
            a2ats_prefetch_ahead(codes + b * 128, 512); \
            VEC p0[V], p1[V], p2[V], p3[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { p0[v] = SETZERO(); p1[v] = SETZERO(); p2[v] = SETZERO(); p3[v] = SETZERO(); } \
            for (int k = 0; k < 8; k++) { \
                const VEC##i_t word = LOADI(w + 16 * k); \
                A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(SRAI(SLLI(word, 24), 24)), 4 * k) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(SRAI(SLLI(word, 16), 24)), 4 * k + 1) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p2, CVT(SRAI(SLLI(word, 8), 24)), 4 * k + 2) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p3, CVT(SRAI(word, 24)), 4 * k + 3) \
            } \
            const VEC scale = LOADH(halves + b * 16 + half); \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) \
                acc[v] = FMA(ADD(ADD(p0[v], p1[v]), ADD(p2[v], p3[v])), scale, acc[v]); \
        } \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) STOREF(out + v * ostride + half, acc[v]); \
    } \
}

// Q5_0 / Q5_1 (layout, code scaling and offsets as A2ATS_Q5_GROUP) for V vectors: `xs` holds V
// scaled inputs `xstride` apart, `sums` their per-block Σx `sstride` apart, `out` V rows of 16.
#define A2ATS_Q5_BATCH(NAME, TARGET, VEC, LANES, V, SETZERO, SET1, SET1I, LOADI, AND, OR, SRLI, SLLI, CVT, FMA, MUL, ADD, \
                       LOADF, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const float *scales, const float *offsets, int blocks, const float *xs, long xstride, \
          const float *sums, long sstride, float *out, long ostride) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc[V]; \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) acc[v] = SETZERO(); \
        for (int b = 0; b < blocks; b++) { \
            const uint32_t *w = codes + b * 80 + half; \
            const float *x[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) x[v] = xs + v * xstride + b * 32; \
            a2ats_prefetch_ahead(codes + b * 80, 320); \
            VEC p0[V], p1[V], p2[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { p0[v] = SETZERO(); p1[v] = SETZERO(); p2[v] = SETZERO(); } \
            VEC##i_t spare = SET1I(0); \
            for (int m = 0; m < 5; m++) { \
                const VEC##i_t word = LOADI(w + 16 * m); \
                spare = OR(spare, SLLI(SRLI(word, 30), 2 * m)); \
                A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x1F))), 6 * m) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(AND(word, SET1I(0x1F << 5))), 6 * m + 1) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p2, CVT(AND(word, SET1I(0x1F << 10))), 6 * m + 2) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x1F << 15))), 6 * m + 3) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(AND(word, SET1I(0x1F << 20))), 6 * m + 4) \
                A2ATS_BATCH_FMA(V, FMA, SET1, p2, CVT(AND(word, SET1I(0x1F << 25))), 6 * m + 5) \
            } \
            A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(spare, SET1I(0x1F))), 30) \
            A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(SRLI(spare, 5)), 31) \
            const VEC d = LOADF(scales + b * 16 + half); \
            const VEC o = offsets ? LOADF(offsets + b * 16 + half) : MUL(d, SET1(-16.0f)); \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { \
                acc[v] = FMA(ADD(ADD(p0[v], p1[v]), p2[v]), d, acc[v]); \
                acc[v] = FMA(o, SET1(sums[v * sstride + b]), acc[v]); \
            } \
        } \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) STOREF(out + v * ostride + half, acc[v]); \
    } \
}

// Q6_K (layout, code scaling and zero point as A2ATS_Q6_K_GROUP) for V vectors: `xs` holds V
// scaled inputs `xstride` apart, `sums16` their Σx per 16 columns `sstride` apart, `out` V rows of 16.
#define A2ATS_Q6_K_BATCH(NAME, TARGET, VEC, LANES, V, SETZERO, SET1, SET1I, LOADI, AND, OR, SRLI, SLLI, SRAI, CVT, FMA, \
                         SUB, ADD, LOADF, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const float *scales, int superBlocks, const float *xs, long xstride, \
          const float *sums16, long sstride, float *out, long ostride) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc[V]; \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) acc[v] = SETZERO(); \
        for (int sb = 0; sb < superBlocks; sb++) { \
            const uint32_t *w = codes + sb * 832 + half; \
            a2ats_prefetch_ahead(codes + sb * 832, 3328); \
            VEC total[V]; \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) total[v] = SETZERO(); \
            for (int sub = 0; sub < 16; sub++) { \
                const float *x[V]; \
                A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) x[v] = xs + v * xstride + 256 * sb + 16 * sub; \
                VEC p0[V], p1[V]; \
                A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { p0[v] = SETZERO(); p1[v] = SETZERO(); } \
                VEC##i_t spare = SET1I(0); \
                for (int m = 0; m < 3; m++) { \
                    const VEC##i_t word = LOADI(w + 16 * (4 + 3 * sub + m)); \
                    spare = OR(spare, SLLI(SRLI(word, 30), 2 * m)); \
                    A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x3F))), 5 * m) \
                    A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(AND(word, SET1I(0x3F << 6))), 5 * m + 1) \
                    A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x3F << 12))), 5 * m + 2) \
                    A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(AND(word, SET1I(0x3F << 18))), 5 * m + 3) \
                    A2ATS_BATCH_FMA(V, FMA, SET1, p0, CVT(AND(word, SET1I(0x3F << 24))), 5 * m + 4) \
                } \
                A2ATS_BATCH_FMA(V, FMA, SET1, p1, CVT(spare), 15) \
                const VEC##i_t scaleWord = LOADI(w + 16 * (sub / 4)); \
                const VEC scale = CVT(SRAI(SLLI(scaleWord, 24 - 8 * (sub % 4)), 24)); \
                A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) { \
                    const VEC dot = SUB(ADD(p0[v], p1[v]), SET1(32.0f * sums16[v * sstride + 16 * sb + sub])); \
                    total[v] = FMA(dot, scale, total[v]); \
                } \
            } \
            const VEC d = LOADF(scales + sb * 16 + half); \
            A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) acc[v] = FMA(d, total[v], acc[v]); \
        } \
        A2ATS_BATCH_UNROLL for (int v = 0; v < V; v++) STOREF(out + v * ostride + half, acc[v]); \
    } \
}

// Vectors per pass: partial sums of V vectors stay in registers (4·V + V accumulators + one
// widened code: 21 of AVX-512's 32, 11 of AVX2's 16).
#define A2ATS_BATCH_AVX512 4
#define A2ATS_BATCH_AVX2 2

A2ATS_Q4_1_BATCH(a2ats_q4_1_batch_avx2, "avx2,fma,f16c", __m256, 8, 2, _mm256_setzero_ps, _mm256_set1_ps,
                 _mm256_set1_epi32, A2ATS_LOADI256, _mm256_and_si256, _mm256_srli_epi32, _mm256_cvtepi32_ps,
                 _mm256_fmadd_ps, _mm256_add_ps, A2ATS_LOADH256, _mm256_storeu_ps)
A2ATS_Q4_1_BATCH(a2ats_q4_1_batch_avx512, "avx512f", __m512, 16, 4, _mm512_setzero_ps, _mm512_set1_ps,
                 _mm512_set1_epi32, A2ATS_LOADI512, _mm512_and_si512, _mm512_srli_epi32, _mm512_cvtepi32_ps,
                 _mm512_fmadd_ps, _mm512_add_ps, A2ATS_LOADH512, _mm512_storeu_ps)
A2ATS_Q8_0_BATCH(a2ats_q8_0_batch_avx2, "avx2,fma,f16c", __m256, 8, 2, _mm256_setzero_ps, _mm256_set1_ps,
                 A2ATS_LOADI256, _mm256_slli_epi32, _mm256_srai_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps,
                 _mm256_add_ps, A2ATS_LOADH256, _mm256_storeu_ps)
A2ATS_Q8_0_BATCH(a2ats_q8_0_batch_avx512, "avx512f", __m512, 16, 4, _mm512_setzero_ps, _mm512_set1_ps,
                 A2ATS_LOADI512, _mm512_slli_epi32, _mm512_srai_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps,
                 _mm512_add_ps, A2ATS_LOADH512, _mm512_storeu_ps)
A2ATS_Q5_BATCH(a2ats_q5_batch_avx2, "avx2,fma", __m256, 8, 2, _mm256_setzero_ps, _mm256_set1_ps, _mm256_set1_epi32,
               A2ATS_LOADI256, _mm256_and_si256, _mm256_or_si256, _mm256_srli_epi32, _mm256_slli_epi32,
               _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps)
A2ATS_Q5_BATCH(a2ats_q5_batch_avx512, "avx512f", __m512, 16, 4, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
               A2ATS_LOADI512, _mm512_and_si512, _mm512_or_si512, _mm512_srli_epi32, _mm512_slli_epi32,
               _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps, _mm512_loadu_ps, _mm512_storeu_ps)
A2ATS_Q6_K_BATCH(a2ats_q6_k_batch_avx2, "avx2,fma", __m256, 8, 2, _mm256_setzero_ps, _mm256_set1_ps, _mm256_set1_epi32,
                 A2ATS_LOADI256, _mm256_and_si256, _mm256_or_si256, _mm256_srli_epi32, _mm256_slli_epi32,
                 _mm256_srai_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_sub_ps, _mm256_add_ps, _mm256_loadu_ps,
                 _mm256_storeu_ps)
A2ATS_Q6_K_BATCH(a2ats_q6_k_batch_avx512, "avx512f", __m512, 16, 4, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
                 A2ATS_LOADI512, _mm512_and_si512, _mm512_or_si512, _mm512_srli_epi32, _mm512_slli_epi32,
                 _mm512_srai_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_sub_ps, _mm512_add_ps, _mm512_loadu_ps,
                 _mm512_storeu_ps)
