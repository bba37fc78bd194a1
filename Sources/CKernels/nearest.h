// Header-only nearest-centroid kernel (k-means assignment, A²ATS key encoding): AVX2, and an
// AVX-512 variant chosen by `CPUFeatures`. Editing: as for kernels.h, touch a Swift file of
// A2ATSTensor so SwiftPM recompiles its importer.
#pragma once
#include <immintrin.h>
#include <stdint.h>

// Loops over a block's points are unrolled so that their accumulators live in registers (left
// rolled, clang kept them on the stack: a load and a store around every FMA).
#define A2ATS_UNROLL _Pragma("clang loop unroll(full)")
// Centroid c's dimension 0 in the blocked layout below; dimension t is 32·t further.
#define A2ATS_CENTROIDS_AT(ct, d, c) ((ct) + (long)((c) / 32) * (d) * 32 + (c) % 32)

// For each of `rows` points (row-major, d floats) the centroid minimizing ‖c‖² − 2·x·c (ties → the
// lower index) and that value. Centroids come transposed in blocks of 32 and padded: dimension t
// of centroid c is ct[(c / 32)·32·d + 32·t + c % 32] (each block's d × 32 floats contiguous: a
// plain transpose put a tile's rows kp floats apart, 2 KiB at kp = 512, all in the same few L1
// sets), kp a multiple of 32, padded centroids with norm +∞ (never chosen).
//
// An sgemm into a products buffer and a separate argmin read every product twice and repacked
// the centroids on every call (k = d = 64 is a small inner dimension for a GEMM): here POINTS
// points at a time sweep the centroids in tiles of 2·LANES, accumulating their dot products in
// registers (each centroid vector loaded once serves every point), and fold each tile straight
// into per-lane running minima kept in L1. Lane j keeps the first minimum among the centroids of
// its lane (strict <, tiles in ascending order), so the final reduction over lanes — least value,
// then least index — breaks ties toward the lower index.
#define A2ATS_NEAREST(NAME, TARGET, VEC, VECI, LANES, POINTS, SETZERO, SET1, SET1I, LOADF, STOREF, LOADI, STOREI, \
                      FMA, LESS, BLENDF, BLENDI, ADDI, ONE) \
static inline __attribute__((target(TARGET))) \
void NAME(const float *points, int rows, int d, const float *ct, const float *norms, int kp, \
          int32_t *labels, float *values) { \
    const int blocked = rows < POINTS ? 0 : rows; /* a short call (a key per decode step) goes point by point */ \
    for (int r = blocked; r < rows; r++) ONE(points + (long)d * r, d, ct, norms, kp, labels + r, values + r); \
    rows = blocked; \
    float bestValue[POINTS][2 * LANES] __attribute__((aligned(64))); \
    int32_t bestIndex[POINTS][2 * LANES] __attribute__((aligned(64))); \
    const VEC minusTwo = SET1(-2.0f); \
    for (int first = 0; first < rows; first += POINTS) { \
        const float *x[POINTS]; \
        A2ATS_UNROLL for (int p = 0; p < POINTS; p++) x[p] = points + (long)d * (first + p < rows ? first + p : rows - 1); \
        A2ATS_UNROLL for (int p = 0; p < POINTS; p++) { \
            STOREF(bestValue[p], SET1(__builtin_inff())); STOREF(bestValue[p] + LANES, SET1(__builtin_inff())); \
            STOREI(bestIndex[p], SET1I(0)); STOREI(bestIndex[p] + LANES, SET1I(0)); \
        } \
        VECI index0 = SET1I(0), index1 = SET1I(0); \
        for (int lane = 0; lane < LANES; lane++) { ((int32_t *)&index0)[lane] = lane; ((int32_t *)&index1)[lane] = lane + LANES; } \
        for (int tile = 0; tile < kp; tile += 2 * LANES) { \
            const float *block = A2ATS_CENTROIDS_AT(ct, d, tile); \
            VEC acc0[POINTS], acc1[POINTS]; \
            A2ATS_UNROLL for (int p = 0; p < POINTS; p++) { acc0[p] = SETZERO(); acc1[p] = SETZERO(); } \
            for (int t = 0; t < d; t++) { \
                const VEC c0 = LOADF(block + t * 32), c1 = LOADF(block + t * 32 + LANES); \
                A2ATS_UNROLL for (int p = 0; p < POINTS; p++) { \
                    const VEC xv = SET1(x[p][t]); \
                    acc0[p] = FMA(xv, c0, acc0[p]); \
                    acc1[p] = FMA(xv, c1, acc1[p]); \
                } \
            } \
            const VEC n0 = LOADF(norms + tile), n1 = LOADF(norms + tile + LANES); \
            A2ATS_UNROLL for (int p = 0; p < POINTS; p++) { \
                const VEC v0 = FMA(minusTwo, acc0[p], n0), v1 = FMA(minusTwo, acc1[p], n1); \
                const VEC b0 = LOADF(bestValue[p]), b1 = LOADF(bestValue[p] + LANES); \
                STOREF(bestValue[p], BLENDF(b0, v0, LESS(v0, b0))); \
                STOREF(bestValue[p] + LANES, BLENDF(b1, v1, LESS(v1, b1))); \
                STOREI(bestIndex[p], BLENDI(LOADI(bestIndex[p]), index0, LESS(v0, b0))); \
                STOREI(bestIndex[p] + LANES, BLENDI(LOADI(bestIndex[p] + LANES), index1, LESS(v1, b1))); \
            } \
            index0 = ADDI(index0, SET1I(2 * LANES)); index1 = ADDI(index1, SET1I(2 * LANES)); \
        } \
        for (int p = 0; p < POINTS && first + p < rows; p++) { \
            float value = __builtin_inff(); int32_t best = INT32_MAX; \
            for (int lane = 0; lane < 2 * LANES; lane++) { \
                const float v = bestValue[p][lane]; const int32_t i = bestIndex[p][lane]; \
                if (v < value || (v == value && i < best)) { value = v; best = i; } \
            } \
            labels[first + p] = best == INT32_MAX ? 0 : best; values[first + p] = value;  /* only NaN: 0 */ \
        } \
    } \
}

// One point against every centroid, for calls with fewer points than a block: four vectors of
// centroids per tile (vector j at centroid tile + j·LANES, in its block of 32), so four
// independent FMA chains instead of a block's duplicated rows.
#define A2ATS_NEAREST_ONE(NAME, TARGET, VEC, LANES, SETZERO, SET1, LOADF, STOREF, FMA) \
static inline __attribute__((target(TARGET))) \
void NAME(const float *x, int d, const float *ct, const float *norms, int kp, int32_t *label, float *value) { \
    float best = __builtin_inff(); int32_t bestIndex = INT32_MAX; \
    float v[4 * LANES] __attribute__((aligned(64))); \
    for (int tile = 0; tile < kp; tile += 4 * LANES) { \
        const int width = kp - tile < 4 * LANES ? kp - tile : 4 * LANES; /* kp is a multiple of 2·LANES */ \
        const float *c0 = A2ATS_CENTROIDS_AT(ct, d, tile), *c1 = A2ATS_CENTROIDS_AT(ct, d, tile + LANES); \
        const float *c2 = A2ATS_CENTROIDS_AT(ct, d, tile + 2 * LANES), *c3 = A2ATS_CENTROIDS_AT(ct, d, tile + 3 * LANES); \
        VEC a0 = SETZERO(), a1 = SETZERO(), a2 = SETZERO(), a3 = SETZERO(); \
        for (int t = 0; t < d; t++) { \
            const VEC xv = SET1(x[t]); \
            a0 = FMA(xv, LOADF(c0 + 32 * t), a0); a1 = FMA(xv, LOADF(c1 + 32 * t), a1); \
            if (width > 2 * LANES) { a2 = FMA(xv, LOADF(c2 + 32 * t), a2); a3 = FMA(xv, LOADF(c3 + 32 * t), a3); } \
        } \
        const VEC minusTwo = SET1(-2.0f); \
        STOREF(v, FMA(minusTwo, a0, LOADF(norms + tile))); STOREF(v + LANES, FMA(minusTwo, a1, LOADF(norms + tile + LANES))); \
        if (width > 2 * LANES) { \
            STOREF(v + 2 * LANES, FMA(minusTwo, a2, LOADF(norms + tile + 2 * LANES))); \
            STOREF(v + 3 * LANES, FMA(minusTwo, a3, LOADF(norms + tile + 3 * LANES))); \
        } \
        for (int j = 0; j < width; j++) if (v[j] < best) { best = v[j]; bestIndex = tile + j; } \
    } \
    *label = bestIndex == INT32_MAX ? 0 : bestIndex; *value = best; \
}

A2ATS_NEAREST_ONE(a2ats_nearest_one_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps,
                  _mm256_store_ps, _mm256_fmadd_ps)
A2ATS_NEAREST_ONE(a2ats_nearest_one_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps,
                  _mm512_store_ps, _mm512_fmadd_ps)

#define A2ATS_LESS256(a, b) _mm256_cmp_ps((a), (b), _CMP_LT_OQ)
#define A2ATS_BLENDF256(a, b, m) _mm256_blendv_ps((a), (b), (m))
#define A2ATS_BLENDI256(a, b, m) _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), (m)))
#define A2ATS_LESS512(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ)
#define A2ATS_BLENDF512(a, b, m) _mm512_mask_blend_ps((m), (a), (b))
#define A2ATS_BLENDI512(a, b, m) _mm512_mask_blend_epi32((m), (a), (b))
#define A2ATS_LOADI256N(p) _mm256_load_si256((const __m256i *)(p))
#define A2ATS_STOREI256(p, v) _mm256_store_si256((__m256i *)(p), (v))
#define A2ATS_LOADI512N(p) _mm512_load_si512((const void *)(p))
#define A2ATS_STOREI512(p, v) _mm512_store_si512((void *)(p), (v))

A2ATS_NEAREST(a2ats_nearest_avx2, "avx2,fma", __m256, __m256i, 8, 4, _mm256_setzero_ps, _mm256_set1_ps, _mm256_set1_epi32,
              _mm256_loadu_ps, _mm256_storeu_ps, A2ATS_LOADI256N, A2ATS_STOREI256, _mm256_fmadd_ps,
              A2ATS_LESS256, A2ATS_BLENDF256, A2ATS_BLENDI256, _mm256_add_epi32, a2ats_nearest_one_avx2)
A2ATS_NEAREST(a2ats_nearest_avx512, "avx512f", __m512, __m512i, 16, 8, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
              _mm512_loadu_ps, _mm512_storeu_ps, A2ATS_LOADI512N, A2ATS_STOREI512, _mm512_fmadd_ps,
              A2ATS_LESS512, A2ATS_BLENDF512, A2ATS_BLENDI512, _mm512_add_epi32, a2ats_nearest_one_avx512)
