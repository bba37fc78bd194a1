// Header-only kernels for attention: decode attention's score and value passes, and the softmax
// exponentials of prefill and decode (AVX2, and AVX-512 variants chosen by `CPUFeatures`).
// Editing: as for kernels.h, touch a Swift file of A2ATSTensor so SwiftPM recompiles its importer.
#pragma once
#include <immintrin.h>
#include <stdint.h>

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
static inline void a2ats_prefetch_row(const void *row, int bytes) {
    for (int byte = 0; byte < bytes; byte += 64) _mm_prefetch((const char *)row + byte, _MM_HINT_T0);
}

// Every kernel that takes `rows` (NULL: a contiguous range) is generated as a body, always
// inlined, and a wrapper that calls it once with `rows` NULL and once without, so each copy is
// compiled knowing which it is. Left to decide per row, clang turned `rows ? rows[r + j] : r + j`
// into one masked load from `rows` with the mask cleared when `rows` is NULL: a load from page 0
// whose fault the CPU suppresses in microcode on every block, which made contiguous scores 4×
// slower on a Zen 5 EPYC (0.55 against 0.13 ms for 32K rows at d = 64, G = 3).
#define A2ATS_BODY(TARGET) static inline __attribute__((target(TARGET), always_inline))
#define A2ATS_SCORES_WRAPPER(NAME, TARGET, KEY) \
static inline __attribute__((target(TARGET))) \
void NAME(const float *q, int groupSize, int d, const KEY *keys, const int32_t *rows, int start, int end, \
          float scale, float *out, long stride) { \
    if (rows) NAME##_body(q, groupSize, d, keys, rows, start, end, scale, out, stride); \
    else NAME##_body(q, groupSize, d, keys, 0, start, end, scale, out, stride); \
}

// Rows are f32, or f16 (the `fp16` store) widened as they are loaded: in the value pass ELEM is
// the stored type, LOADK loads LANES of them as f32 lanes, SCALAR widens one. An f16 row's
// products and sums are the f32 kernel's on the widened row, in the same order, so the two agree
// bit for bit.
#define A2ATS_SCALAR_F32(x) (x)
#define A2ATS_SCALAR_F16(x) _cvtsh_ss(x)
#define A2ATS_LOAD_F16_512(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define A2ATS_LOAD_F16_256(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))

#define A2ATS_SCORES(NAME, TARGET, VEC, LANES, SETZERO, LOADF, FMA, TO256) \
A2ATS_BODY(TARGET) \
void NAME##_body(const float *q, int groupSize, int d, const float *keys, const int32_t *rows, int start, int end, \
                 float scale, float *out, long stride) { \
    const int vectorEnd = d - d % LANES; \
    int r = start; \
    for (int ahead = start; ahead < start + A2ATS_ROWS_AHEAD && ahead < end; ahead++) \
        a2ats_prefetch_row(keys + (long)d * (rows ? rows[ahead] : ahead), 4 * d); \
    for (; r + 8 <= end; r += 8) { \
        const float *k[8]; \
        for (int j = 0; j < 8; j++) k[j] = keys + (long)d * (rows ? rows[r + j] : r + j); \
        for (int ahead = r + A2ATS_ROWS_AHEAD; ahead < r + A2ATS_ROWS_AHEAD + 8 && ahead < end; ahead++) \
            a2ats_prefetch_row(keys + (long)d * (rows ? rows[ahead] : ahead), 4 * d); \
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
} \
A2ATS_SCORES_WRAPPER(NAME, TARGET, float)

#define A2ATS_IDENTITY256(v) (v)
#define A2ATS_HALVES512(v) _mm256_add_ps(_mm512_castps512_ps256(v), \
    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
A2ATS_SCORES(a2ats_scores_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps,
             A2ATS_IDENTITY256)
A2ATS_SCORES(a2ats_scores_avx512, "avx512f,avx2,fma", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_fmadd_ps,
             A2ATS_HALVES512)

// Scores over f16 keys: each eight rows are widened once into L1 and scored there by the f32
// kernel (the same eight-row blocks from `start`, so the same sums in the same order), so a
// group's heads share one conversion per row instead of converting it once per head.
#define A2ATS_SCORES_F16(NAME, TARGET, F32_KERNEL, LANES, STOREF, LOADK) \
A2ATS_BODY(TARGET) \
void NAME##_body(const float *q, int groupSize, int d, const uint16_t *keys, const int32_t *rows, int start, int end, \
                 float scale, float *out, long stride) { \
    float block[8 * d]; \
    for (int ahead = start; ahead < start + A2ATS_ROWS_AHEAD && ahead < end; ahead++) \
        a2ats_prefetch_row(keys + (long)d * (rows ? rows[ahead] : ahead), 2 * d); \
    for (int r = start; r < end; r += 8) { \
        const int n = end - r < 8 ? end - r : 8; \
        for (int ahead = r + A2ATS_ROWS_AHEAD; ahead < r + A2ATS_ROWS_AHEAD + 8 && ahead < end; ahead++) \
            a2ats_prefetch_row(keys + (long)d * (rows ? rows[ahead] : ahead), 2 * d); \
        for (int j = 0; j < n; j++) { \
            const uint16_t *key = keys + (long)d * (rows ? rows[r + j] : r + j); \
            float *row = block + j * d; \
            int c = 0; \
            for (; c + LANES <= d; c += LANES) STOREF(row + c, LOADK(key + c)); \
            for (; c < d; c++) row[c] = _cvtsh_ss(key[c]); \
        } \
        F32_KERNEL##_body(q, groupSize, d, block, 0, 0, n, scale, out + r, stride); \
    } \
} \
A2ATS_SCORES_WRAPPER(NAME, TARGET, uint16_t)
A2ATS_SCORES_F16(a2ats_scores_f16_avx2, "avx2,fma,f16c", a2ats_scores_avx2, 8, _mm256_storeu_ps, A2ATS_LOAD_F16_256)
A2ATS_SCORES_F16(a2ats_scores_f16_avx512, "avx512f,avx2,fma,f16c", a2ats_scores_avx512, 16, _mm512_storeu_ps,
                 A2ATS_LOAD_F16_512)

// Decode attention's value pass: out[g·d + c] += Σ_r weights[g·stride + r] · v_r[c] for r in
// [0, count), v_r = values + d·(rows ? rows[r] : r). Rows go in blocks of 128 (32 KiB at d = 64, in
// L1 while the group's heads use them); within a block up to HEADS heads × 4 vectors of lanes
// accumulate in registers, so each V vector loaded serves HEADS heads, where a head at a time
// loaded every row once per head. Rows are requested A2ATS_ROWS_AHEAD ahead as the first pass
// over a block uses them. Lanes past the last full 4 vectors (head dims off the width) are summed
// one at a time.
#define A2ATS_WEIGHTED_SUM(NAME, TARGET, VEC, LANES, HEADS, LOADF, STOREF, SET1, FMA, ELEM, LOADV, SCALAR) \
A2ATS_BODY(TARGET) \
void NAME##_body(const float *weights, long stride, int groupSize, int d, const ELEM *values, const int32_t *rows, \
                 int count, float *out) { \
    const int vectorEnd = d - d % (4 * LANES); \
    for (int ahead = 0; ahead < A2ATS_ROWS_AHEAD && ahead < count; ahead++) \
        a2ats_prefetch_row(values + (long)d * (rows ? rows[ahead] : ahead), d * (int)sizeof(ELEM)); \
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
                    if (first && ahead < count) \
                        a2ats_prefetch_row(values + (long)d * (rows ? rows[ahead] : ahead), d * (int)sizeof(ELEM)); \
                    const ELEM *v = values + (long)d * (rows ? rows[r] : r) + c; \
                    const VEC v0 = LOADV(v), v1 = LOADV(v + LANES), v2 = LOADV(v + 2 * LANES), v3 = LOADV(v + 3 * LANES); \
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
                        t += weights[h * stride + r] * SCALAR(values[(long)d * (rows ? rows[r] : r) + c]); \
                    out[h * d + c] = t; \
                } \
        } \
    } \
} \
static inline __attribute__((target(TARGET))) \
void NAME(const float *weights, long stride, int groupSize, int d, const ELEM *values, const int32_t *rows, \
          int count, float *out) { \
    if (rows) NAME##_body(weights, stride, groupSize, d, values, rows, count, out); \
    else NAME##_body(weights, stride, groupSize, d, values, 0, count, out); \
}

A2ATS_WEIGHTED_SUM(a2ats_weighted_sum_avx2, "avx2,fma", __m256, 8, 2, _mm256_loadu_ps, _mm256_storeu_ps,
                   _mm256_set1_ps, _mm256_fmadd_ps, float, _mm256_loadu_ps, A2ATS_SCALAR_F32)
A2ATS_WEIGHTED_SUM(a2ats_weighted_sum_avx512, "avx512f", __m512, 16, 4, _mm512_loadu_ps, _mm512_storeu_ps,
                   _mm512_set1_ps, _mm512_fmadd_ps, float, _mm512_loadu_ps, A2ATS_SCALAR_F32)
A2ATS_WEIGHTED_SUM(a2ats_weighted_sum_f16_avx2, "avx2,fma,f16c", __m256, 8, 2, _mm256_loadu_ps, _mm256_storeu_ps,
                   _mm256_set1_ps, _mm256_fmadd_ps, uint16_t, A2ATS_LOAD_F16_256, A2ATS_SCALAR_F16)
A2ATS_WEIGHTED_SUM(a2ats_weighted_sum_f16_avx512, "avx512f,f16c", __m512, 16, 4, _mm512_loadu_ps, _mm512_storeu_ps,
                   _mm512_set1_ps, _mm512_fmadd_ps, uint16_t, A2ATS_LOAD_F16_512, A2ATS_SCALAR_F16)

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
