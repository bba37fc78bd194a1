// Header-only kernels (AVX2, and AVX-512 variants chosen at run time by `CPUFeatures`) for loops
// the Swift compiler does not turn into good code: unpacking 2/4/8-bit codes, the decode products
// of compact weights, decode attention and the softmax exponentials.
// Editing: SwiftPM does not rebuild the Swift modules that import this header when only the header
// changed; touch a Swift file of A2ATSTensor (the only importer) or the old kernels stay linked.
#pragma once
#include <immintrin.h>
#include <stdint.h>
#include <cpuid.h>

// Channels j + s·P (s = 0 … 8/bits − 1) of a row sit in byte j at bit bits·s; P = d·bits/8 must
// be a multiple of 16. Codes of channels base + j … base + j + 15 (base = P·s) as two float vectors.
static inline __attribute__((target("avx2")))
void a2ats_codes16(const uint8_t *row, int j, int shift, int bits, __m256 *lo, __m256 *hi) {
    const __m128i mask = _mm_set1_epi8((char)((1 << bits) - 1));
    __m128i codes = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)(row + j)), _mm_cvtsi32_si128(shift)), mask);
    *lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(codes));
    *hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(codes, 8)));
}

// out[c] = code[c] · scale[c / group] + offset[c / group]: group 1 is a scale per channel (KIVI
// keys), a multiple of 16 one per run of channels (KIVI values, per token).
static inline __attribute__((target("avx2,fma")))
void a2ats_dequantize(const uint8_t *row, int d, int bits, const float *scale, const float *offset, int group, float *out) {
    const int p = d * bits / 8;
    for (int shift = 0; shift < 8; shift += bits) {
        for (int j = 0; j < p; j += 16) {
            __m256 lo, hi;
            a2ats_codes16(row, j, shift, bits, &lo, &hi);
            const int c = p * (shift / bits) + j;
            if (group == 1) {
                _mm256_storeu_ps(out + c, _mm256_fmadd_ps(lo, _mm256_loadu_ps(scale + c), _mm256_loadu_ps(offset + c)));
                _mm256_storeu_ps(out + c + 8, _mm256_fmadd_ps(hi, _mm256_loadu_ps(scale + c + 8), _mm256_loadu_ps(offset + c + 8)));
            } else {
                const __m256 s = _mm256_set1_ps(scale[c / group]), z = _mm256_set1_ps(offset[c / group]);
                _mm256_storeu_ps(out + c, _mm256_fmadd_ps(lo, s, z));
                _mm256_storeu_ps(out + c + 8, _mm256_fmadd_ps(hi, s, z));
            }
        }
    }
}

// out[i] = (float)half[i] for `count` IEEE fp16 values (F16C), 8 at a time.
static inline __attribute__((target("avx2,f16c")))
void a2ats_half_to_float(const uint16_t *half, int count, float *out) {
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(half + i))));
    }
    for (; i < count; i++) out[i] = _cvtsh_ss(half[i]);
}

// Decode streams every weight once: each block asks now for its bytes 2 KiB ahead (the hardware
// prefetcher alone left the kernels waiting on each block's first load). Past the last group it
// touches nothing: prefetches of any address are hints and never fault. (The Swift kernels of
// Q5_0 and the K-quants are compute-bound, streamed ≈ from cache: prefetching gained nothing.)
static inline void a2ats_prefetch_ahead(const void *p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch((const char *)p + 2048 + line, _MM_HINT_T0);
}

// Decode kernels for one 16-row group of a compact matrix (`QuantizedMatrix`'s layout: per
// 32-column block, the 16 rows' f32 scales and offsets side by side, then the block's 32-bit
// code words, word k of the 16 rows side by side). They exist in C because Swift calls a library
// function for each int→float vector conversion; here it is one `vcvtdq2ps`. Several partial
// sums per block keep the FMA units busy instead of waiting on one dependency chain.
//
// Q4_1: word k, byte t holds column 4k+t (low nibble) and 4k+t+16 (high nibble). A nibble masked
// in place at bit 4j is code·2^(4j), exact as an int and as a float; `xs` holds each column's x
// scaled by 2^(−4j) (exact), so every product equals code·x. The top nibble (j = 7, which would
// overflow a signed lane) is shifted down instead and its x is unscaled. out[r] = Σ_b d·Σ code·x
// + m·Σx (`sums`: Σx per block).
#define A2ATS_Q4_1_GROUP(NAME, TARGET, VEC, LANES, SETZERO, SET1, SET1I, LOADI, AND, SRLI, CVT, FMA, ADD, LOADF, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const float *scales, const float *offsets, int blocks, const float *xs, \
          const float *sums, float *out) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc = SETZERO(); \
        for (int b = 0; b < blocks; b++) { \
            const uint32_t *w = codes + b * 64 + half; \
            const float *x = xs + b * 32; \
            a2ats_prefetch_ahead(codes + b * 64, 256); \
            VEC p0 = SETZERO(), p1 = SETZERO(), p2 = SETZERO(), p3 = SETZERO(); \
            for (int k = 0; k < 4; k++) { \
                const VEC##i_t word = LOADI(w + 16 * k); \
                p0 = FMA(CVT(AND(word, SET1I(0x0000000F))), SET1(x[4 * k]), p0); \
                p1 = FMA(CVT(AND(word, SET1I(0x000000F0))), SET1(x[4 * k + 16]), p1); \
                p2 = FMA(CVT(AND(word, SET1I(0x00000F00))), SET1(x[4 * k + 1]), p2); \
                p3 = FMA(CVT(AND(word, SET1I(0x0000F000))), SET1(x[4 * k + 17]), p3); \
                p0 = FMA(CVT(AND(word, SET1I(0x000F0000))), SET1(x[4 * k + 2]), p0); \
                p1 = FMA(CVT(AND(word, SET1I(0x00F00000))), SET1(x[4 * k + 18]), p1); \
                p2 = FMA(CVT(AND(word, SET1I(0x0F000000))), SET1(x[4 * k + 3]), p2); \
                p3 = FMA(CVT(SRLI(word, 28)), SET1(x[4 * k + 19]), p3); \
            } \
            const VEC partial = ADD(ADD(p0, p1), ADD(p2, p3)); \
            acc = FMA(partial, LOADF(scales + b * 16 + half), acc); \
            acc = FMA(LOADF(offsets + b * 16 + half), SET1(sums[b]), acc); \
        } \
        STOREF(out + half, acc); \
    } \
}

// Q8_0: word k, byte t holds column 4k+t as a signed byte: shifted to the top and back
// (arithmetic) it is that integer. out[r] = Σ_b d·Σ code·x.
#define A2ATS_Q8_0_GROUP(NAME, TARGET, VEC, LANES, SETZERO, SET1, LOADI, SLLI, SRAI, CVT, FMA, ADD, LOADF, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const float *scales, int blocks, const float *x, float *out) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc = SETZERO(); \
        for (int b = 0; b < blocks; b++) { \
            const uint32_t *w = codes + b * 128 + half; \
            const float *xb = x + b * 32; \
            a2ats_prefetch_ahead(codes + b * 128, 512); \
            VEC p0 = SETZERO(), p1 = SETZERO(), p2 = SETZERO(), p3 = SETZERO(); \
            for (int k = 0; k < 8; k++) { \
                const VEC##i_t word = LOADI(w + 16 * k); \
                p0 = FMA(CVT(SRAI(SLLI(word, 24), 24)), SET1(xb[4 * k]), p0); \
                p1 = FMA(CVT(SRAI(SLLI(word, 16), 24)), SET1(xb[4 * k + 1]), p1); \
                p2 = FMA(CVT(SRAI(SLLI(word, 8), 24)), SET1(xb[4 * k + 2]), p2); \
                p3 = FMA(CVT(SRAI(word, 24)), SET1(xb[4 * k + 3]), p3); \
            } \
            acc = FMA(ADD(ADD(p0, p1), ADD(p2, p3)), LOADF(scales + b * 16 + half), acc); \
        } \
        STOREF(out + half, acc); \
    } \
}

typedef __m256i __m256i_t;
typedef __m512i __m512i_t;
#define A2ATS_LOADI256(p) _mm256_loadu_si256((const __m256i *)(p))
#define A2ATS_LOADI512(p) _mm512_loadu_si512((const void *)(p))

A2ATS_Q4_1_GROUP(a2ats_q4_1_group_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_set1_epi32,
                 A2ATS_LOADI256,
                 _mm256_and_si256, _mm256_srli_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_add_ps,
                 _mm256_loadu_ps, _mm256_storeu_ps)
A2ATS_Q4_1_GROUP(a2ats_q4_1_group_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
                 A2ATS_LOADI512,
                 _mm512_and_si512, _mm512_srli_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_add_ps,
                 _mm512_loadu_ps, _mm512_storeu_ps)
A2ATS_Q8_0_GROUP(a2ats_q8_0_group_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, A2ATS_LOADI256,
                 _mm256_slli_epi32, _mm256_srai_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_add_ps,
                 _mm256_loadu_ps, _mm256_storeu_ps)
A2ATS_Q8_0_GROUP(a2ats_q8_0_group_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, A2ATS_LOADI512,
                 _mm512_slli_epi32, _mm512_srai_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_add_ps,
                 _mm512_loadu_ps, _mm512_storeu_ps)

// Decode attention scores for a block of cached rows: out[g·stride + r] = scale · q_g · k_r for r in
// [start, end), k_r = keys + d·(rows ? rows[r] : r), for the group's heads g (q_g = q + g·d).
// Eight rows at a time: eight independent accumulators (no FMA waits on the previous row), each
// chunk of q loaded once for all eight, and one transposing add tree (`a2ats_sum8x8`) that turns
// the eight accumulators into eight sums, where a row at a time paid a horizontal sum per row.
// The eight rows (2 KiB at d = 64) stay in L1 while every head of the group reads them.
static inline __attribute__((target("avx2")))
__m256 a2ats_sum8x8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6, __m256 a7) {
    // hadd(x, y) = [x0+x1, x2+x3, y0+y1, y2+y3 | x4+x5, x6+x7, y4+y5, y6+y7]: twice gives each
    // accumulator's low and high 128-bit halves summed, four accumulators per 256-bit register.
    const __m256 low = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    const __m256 high = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    return _mm256_add_ps(_mm256_permute2f128_ps(low, high, 0x20), _mm256_permute2f128_ps(low, high, 0x31));
}

// Rows are requested A2ATS_ROWS_AHEAD ahead of their use, eight at a time as eight are used: a
// selection's scattered rows have a latency no hardware prefetcher hides, and requesting a whole
// block at once stalled on the full line-fill buffers.
#define A2ATS_ROWS_AHEAD 32
static inline void a2ats_prefetch_row(const float *row, int d) {
    for (int byte = 0; byte < d * 4; byte += 64) _mm_prefetch((const char *)row + byte, _MM_HINT_T0);
}

#define A2ATS_SCORES(NAME, TARGET, VEC, LANES, SETZERO, LOADF, FMA, TO256) \
static inline __attribute__((target(TARGET))) \
void NAME(const float *q, int groupSize, int d, const float *keys, const int32_t *rows, int start, int end, \
          float scale, float *out, long stride) { \
    const int vectorEnd = d - d % LANES; \
    int r = start; \
    for (int ahead = start; ahead < start + A2ATS_ROWS_AHEAD && ahead < end; ahead++) \
        a2ats_prefetch_row(keys + (long)d * (rows ? rows[ahead] : ahead), d); \
    for (; r + 8 <= end; r += 8) { \
        const float *k[8]; \
        for (int j = 0; j < 8; j++) k[j] = keys + (long)d * (rows ? rows[r + j] : r + j); \
        for (int ahead = r + A2ATS_ROWS_AHEAD; ahead < r + A2ATS_ROWS_AHEAD + 8 && ahead < end; ahead++) \
            a2ats_prefetch_row(keys + (long)d * (rows ? rows[ahead] : ahead), d); \
        for (int g = 0; g < groupSize; g++) { \
            const float *qg = q + (long)g * d; \
            VEC a0 = SETZERO(), a1 = SETZERO(), a2 = SETZERO(), a3 = SETZERO(); \
            VEC a4 = SETZERO(), a5 = SETZERO(), a6 = SETZERO(), a7 = SETZERO(); \
            for (int c = 0; c < vectorEnd; c += LANES) { \
                const VEC x = LOADF(qg + c); \
                a0 = FMA(x, LOADF(k[0] + c), a0); a1 = FMA(x, LOADF(k[1] + c), a1); \
                a2 = FMA(x, LOADF(k[2] + c), a2); a3 = FMA(x, LOADF(k[3] + c), a3); \
                a4 = FMA(x, LOADF(k[4] + c), a4); a5 = FMA(x, LOADF(k[5] + c), a5); \
                a6 = FMA(x, LOADF(k[6] + c), a6); a7 = FMA(x, LOADF(k[7] + c), a7); \
            } \
            __m256 sums = a2ats_sum8x8(TO256(a0), TO256(a1), TO256(a2), TO256(a3), \
                                       TO256(a4), TO256(a5), TO256(a6), TO256(a7)); \
            if (vectorEnd < d) { \
                float tail[8]; \
                for (int j = 0; j < 8; j++) { \
                    float t = 0; \
                    for (int c = vectorEnd; c < d; c++) t += qg[c] * k[j][c]; \
                    tail[j] = t; \
                } \
                sums = _mm256_add_ps(sums, _mm256_loadu_ps(tail)); \
            } \
            _mm256_storeu_ps(out + g * stride + r, _mm256_mul_ps(sums, _mm256_set1_ps(scale))); \
        } \
    } \
    for (; r < end; r++) { \
        const float *key = keys + (long)d * (rows ? rows[r] : r); \
        for (int g = 0; g < groupSize; g++) { \
            const float *qg = q + (long)g * d; \
            float t = 0; \
            for (int c = 0; c < d; c++) t += qg[c] * key[c]; \
            out[g * stride + r] = t * scale; \
        } \
    } \
}

#define A2ATS_IDENTITY256(v) (v)
#define A2ATS_HALVES512(v) _mm256_add_ps(_mm512_castps512_ps256(v), \
    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
A2ATS_SCORES(a2ats_scores_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps,
             A2ATS_IDENTITY256)
A2ATS_SCORES(a2ats_scores_avx512, "avx512f,avx2,fma", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_fmadd_ps,
             A2ATS_HALVES512)

// Decode attention's value pass: out[g·d + c] += Σ_r weights[g·stride + r] · v_r[c] for r in
// [0, count), v_r = values + d·(rows ? rows[r] : r). Rows go in blocks of 128 (32 KiB at d = 64, in
// L1 while the group's heads use them); within a block up to HEADS heads × 4 vectors of lanes
// accumulate in registers, so each V vector loaded serves HEADS heads, where a head at a time
// loaded every row once per head. Rows are requested A2ATS_ROWS_AHEAD ahead as the first pass
// over a block uses them. Lanes past the last full 4 vectors (head dims off the width) are summed
// one at a time.
#define A2ATS_WEIGHTED_SUM(NAME, TARGET, VEC, LANES, HEADS, LOADF, STOREF, SET1, FMA) \
static inline __attribute__((target(TARGET))) \
void NAME(const float *weights, long stride, int groupSize, int d, const float *values, const int32_t *rows, \
          int count, float *out) { \
    const int vectorEnd = d - d % (4 * LANES); \
    for (int ahead = 0; ahead < A2ATS_ROWS_AHEAD && ahead < count; ahead++) \
        a2ats_prefetch_row(values + (long)d * (rows ? rows[ahead] : ahead), d); \
    for (int blockStart = 0; blockStart < count; blockStart += 128) { \
        const int blockEnd = blockStart + 128 < count ? blockStart + 128 : count; \
        for (int h0 = 0; h0 < groupSize; h0 += HEADS) { \
            const int heads = groupSize - h0 < HEADS ? groupSize - h0 : HEADS; \
            for (int c = 0; c < vectorEnd; c += 4 * LANES) { \
                VEC acc[HEADS][4]; \
                for (int h = 0; h < HEADS; h++) \
                    for (int i = 0; i < 4; i++) \
                        if (h < heads) acc[h][i] = LOADF(out + (h0 + h) * d + c + i * LANES); \
                const int first = h0 == 0 && c == 0; \
                for (int r = blockStart; r < blockEnd; r++) { \
                    const int ahead = r + A2ATS_ROWS_AHEAD; \
                    if (first && ahead < count) a2ats_prefetch_row(values + (long)d * (rows ? rows[ahead] : ahead), d); \
                    const float *v = values + (long)d * (rows ? rows[r] : r) + c; \
                    const VEC v0 = LOADF(v), v1 = LOADF(v + LANES), v2 = LOADF(v + 2 * LANES), v3 = LOADF(v + 3 * LANES); \
                    for (int h = 0; h < HEADS; h++) { \
                        if (h < heads) { \
                            const VEC w = SET1(weights[(h0 + h) * stride + r]); \
                            acc[h][0] = FMA(w, v0, acc[h][0]); \
                            acc[h][1] = FMA(w, v1, acc[h][1]); \
                            acc[h][2] = FMA(w, v2, acc[h][2]); \
                            acc[h][3] = FMA(w, v3, acc[h][3]); \
                        } \
                    } \
                } \
                for (int h = 0; h < HEADS; h++) \
                    for (int i = 0; i < 4; i++) \
                        if (h < heads) STOREF(out + (h0 + h) * d + c + i * LANES, acc[h][i]); \
            } \
            for (int h = h0; h < h0 + heads; h++) \
                for (int c = vectorEnd; c < d; c++) { \
                    float t = out[h * d + c]; \
                    for (int r = blockStart; r < blockEnd; r++) \
                        t += weights[h * stride + r] * values[(long)d * (rows ? rows[r] : r) + c]; \
                    out[h * d + c] = t; \
                } \
        } \
    } \
}

A2ATS_WEIGHTED_SUM(a2ats_weighted_sum_avx2, "avx2,fma", __m256, 8, 2, _mm256_loadu_ps, _mm256_storeu_ps,
                   _mm256_set1_ps, _mm256_fmadd_ps)
A2ATS_WEIGHTED_SUM(a2ats_weighted_sum_avx512, "avx512f", __m512, 16, 4, _mm512_loadu_ps, _mm512_storeu_ps,
                   _mm512_set1_ps, _mm512_fmadd_ps)

// Softmax numerators in place: x ← e^(x − max x), returning Σ and storing the maximum (so pieces of
// a row computed apart can be joined). n²/2 exponentials per head and layer make this prefill
// attention's hottest loop after the products; here 512-bit where the CPU has it. e^x is Swift's
// `fastExp` (Cephes: x = n·ln2 + r, a degree-6 polynomial for e^r, 2^n from exponent bits; inputs
// below −87.3 give 0) with fused multiply-adds, two accumulators for the sum.
static inline __attribute__((target("avx512f")))
__m512 a2ats_zero_below16(__m512 x, __m512 low, __m512 v) {
    return _mm512_maskz_mov_ps((__mmask16)~_mm512_cmp_ps_mask(x, low, _CMP_LT_OQ), v);
}

static inline __attribute__((target("avx2")))
__m256 a2ats_zero_below8(__m256 x, __m256 low, __m256 v) {
    return _mm256_andnot_ps(_mm256_cmp_ps(x, low, _CMP_LT_OQ), v);
}

// P is the intrinsics' prefix (_mm512_ or _mm256_), BITS the vector width.
#define A2ATS_EXP(NAME, TARGET, VEC, VECI, P, BITS, ZERO_BELOW) \
static inline __attribute__((target(TARGET))) \
VEC NAME(VEC x) { \
    const VEC low = P##set1_ps(-87.3f), magic = P##set1_ps(12582912.0f); \
    const VEC c = P##min_ps(P##max_ps(x, low), P##set1_ps(88.3f)); \
    const VEC shifted = P##fmadd_ps(c, P##set1_ps(1.442695040888963f), magic); \
    const VEC n = P##sub_ps(shifted, magic); \
    VEC r = P##fnmadd_ps(n, P##set1_ps(0.693359375f), c); \
    r = P##fmadd_ps(n, P##set1_ps(2.12194440e-4f), r); \
    VEC p = P##set1_ps(1.9875691500e-4f); \
    p = P##fmadd_ps(p, r, P##set1_ps(1.3981999507e-3f)); \
    p = P##fmadd_ps(p, r, P##set1_ps(8.3334519073e-3f)); \
    p = P##fmadd_ps(p, r, P##set1_ps(4.1665795894e-2f)); \
    p = P##fmadd_ps(p, r, P##set1_ps(1.6666665459e-1f)); \
    p = P##fmadd_ps(p, r, P##set1_ps(5.0000001201e-1f)); \
    p = P##fmadd_ps(p, P##mul_ps(r, r), P##add_ps(r, P##set1_ps(1.0f))); \
    const VECI exponent = P##sub_epi32(P##castps_si##BITS(shifted), P##set1_epi32(0x4B400000 - 127)); \
    return ZERO_BELOW(x, low, P##mul_ps(p, P##castsi##BITS##_ps(P##slli_epi32(exponent, 23)))); \
}

A2ATS_EXP(a2ats_exp16, "avx512f", __m512, __m512i, _mm512_, 512, a2ats_zero_below16)
A2ATS_EXP(a2ats_exp8, "avx2,fma", __m256, __m256i, _mm256_, 256, a2ats_zero_below8)

// x[i] ← e^(x[i] − shift) two vectors at a time from i = 0, summed into s0 and s1 (two chains).
#define A2ATS_EXPONENTIATE_PAIRS(VEC, P, LANES, EXP) \
    for (i = 0; i + 2 * (LANES) <= count; i += 2 * (LANES)) { \
        const VEC e0 = EXP(P##sub_ps(P##loadu_ps(x + i), shift)); \
        const VEC e1 = EXP(P##sub_ps(P##loadu_ps(x + i + (LANES)), shift)); \
        P##storeu_ps(x + i, e0); \
        P##storeu_ps(x + i + (LANES), e1); \
        s0 = P##add_ps(s0, e0); \
        s1 = P##add_ps(s1, e1); \
    }

static inline __attribute__((target("avx512f")))
float a2ats_softmax_numerators_avx512(float *x, int count, float *maximum) {
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    int i = 0;
    for (; i + 16 <= count; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    const __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
    m = _mm512_max_ps(m, _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), tail, x + i));
    *maximum = _mm512_reduce_max_ps(m);
    const __m512 shift = _mm512_set1_ps(*maximum);
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    A2ATS_EXPONENTIATE_PAIRS(__m512, _mm512_, 16, a2ats_exp16);
    for (; i < count; i += 16) {
        const __mmask16 lanes = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        const __m512 e = _mm512_maskz_mov_ps(lanes, a2ats_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + i), shift)));
        _mm512_mask_storeu_ps(x + i, lanes, e);
        s0 = _mm512_add_ps(s0, e);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static inline __attribute__((target("avx2,fma")))
float a2ats_softmax_numerators_avx2(float *x, int count, float *maximum) {
    __m256 m = _mm256_set1_ps(-__builtin_inff());
    int i = 0;
    for (; i + 8 <= count; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float top = lanes[0];
    for (int j = 1; j < 8; j++) top = lanes[j] > top ? lanes[j] : top;
    for (; i < count; i++) top = x[i] > top ? x[i] : top;
    *maximum = top;
    const __m256 shift = _mm256_set1_ps(top);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    A2ATS_EXPONENTIATE_PAIRS(__m256, _mm256_, 8, a2ats_exp8);
    _mm256_storeu_ps(lanes, _mm256_add_ps(s0, s1));
    float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for (; i < count; i++) {
        _mm256_storeu_ps(lanes, a2ats_exp8(_mm256_set1_ps(x[i] - top)));
        x[i] = lanes[0];
        sum += lanes[0];
    }
    return sum;
}

// Whether this CPU runs AVX-512F code and the OS saves its registers (CPUID leaf 7 EBX bit 16;
// XCR0 bits 1, 2, 5, 6, 7: SSE, AVX, opmask, ZMM upper halves, ZMM 16–31).
static inline int a2ats_cpu_has_avx512f(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;  // OSXSAVE
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(ebx & (1u << 16))) return 0;
    unsigned int xcr0_low, xcr0_high;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    return (xcr0_low & 0xE6) == 0xE6;
}
