// Header-only kernels (AVX2, and AVX-512 variants chosen at run time by `CPUFeatures`) for loops
// the Swift compiler does not turn into good code: unpacking 2/4/8-bit codes and the decode
// products of compact weights (decode attention and the softmax exponentials: attention.h).
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

// f32 → fp16, rounded to nearest even (the `fp16` store's rows), eight per instruction.
static inline __attribute__((target("avx2,f16c")))
void a2ats_float_to_half(const float *x, long count, uint16_t *out) {
    long i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < count; i++) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

// Decode streams every weight once: each block asks now for its bytes 2 KiB ahead (the hardware
// prefetcher alone left the kernels waiting on each block's first load). Past the last group it
// touches nothing: prefetches of any address are hints and never fault. (The Swift kernels of
// the K-quants are compute-bound, streamed ≈ from cache: prefetching gained nothing.)
static inline void a2ats_prefetch_ahead(const void *p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch((const char *)p + 2048 + line, _MM_HINT_T0);
}

// Decode kernels for one 16-row group of a compact matrix (`QuantizedMatrix`'s layout: per
// 32-column block, the 16 rows' f16 scales (then Q4_1's 16 offsets) side by side, and the
// block's 32-bit code words, word k of the 16 rows side by side). f16 as in the file: a Q4_1
// row-block is 20 bytes, not 24 with f32 scales, and `vcvtph2ps` widens 8 or 16 at once. They exist in C because Swift calls a library
// function for each int→float vector conversion; here it is one `vcvtdq2ps`. Several partial
// sums per block keep the FMA units busy instead of waiting on one dependency chain.
//
// Q4_1: word k, byte t holds column 4k+t (low nibble) and 4k+t+16 (high nibble). A nibble masked
// in place at bit 4j is code·2^(4j), exact as an int and as a float; `xs` holds each column's x
// scaled by 2^(−4j) (exact), so every product equals code·x. The top nibble (j = 7, which would
// overflow a signed lane) is shifted down instead and its x is unscaled. out[r] = Σ_b d·Σ code·x
// + m·Σx (`sums`: Σx per block).
#define A2ATS_Q4_1_GROUP(NAME, TARGET, VEC, LANES, SETZERO, SET1, SET1I, LOADI, AND, SRLI, CVT, FMA, ADD, LOADH, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const uint16_t *halves, int blocks, const float *xs, const float *sums, float *out) { \
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
            acc = FMA(partial, LOADH(halves + b * 32 + half), acc); \
            acc = FMA(LOADH(halves + b * 32 + 16 + half), SET1(sums[b]), acc); \
        } \
        STOREF(out + half, acc); \
    } \
}

// Q8_0: word k, byte t holds column 4k+t as a signed byte: shifted to the top and back
// (arithmetic) it is that integer. out[r] = Σ_b d·Σ code·x.
#define A2ATS_Q8_0_GROUP(NAME, TARGET, VEC, LANES, SETZERO, SET1, LOADI, SLLI, SRAI, CVT, FMA, ADD, LOADH, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const uint16_t *halves, int blocks, const float *x, float *out) { \
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
            acc = FMA(ADD(ADD(p0, p1), ADD(p2, p3)), LOADH(halves + b * 16 + half), acc); \
        } \
        STOREF(out + half, acc); \
    } \
}

typedef __m256i __m256i_t;
typedef __m512i __m512i_t;
// Q5_0 and Q5_1 in the layout of `packFiveBit` (per block, the 16 rows' f32 scales side by side in
// `scales`, Q5_1's offsets in `offsets`, five code words of 16 rows in `codes`): word m holds columns 6m … 6m+5 at bits 5i and two bits
// of columns 30 and 31 at bits 30–31. A code masked in place at bit 5i is code·2^(5i), exact as an
// int and a float; `xs` holds column 6m+i's x scaled by 2^(−5i) (columns 30–31 as they are), so
// every product equals code·x. out[r] = Σ_b d·Σ code·x + o·Σx, o the Q5_1 offset m, or −16·d for
// Q5_0 (offsets NULL: value d·(code − 16)).
#define A2ATS_Q5_GROUP(NAME, TARGET, VEC, LANES, SETZERO, SET1, SET1I, LOADI, AND, OR, SRLI, SLLI, CVT, FMA, MUL, ADD, \
                       LOADF, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const float *scales, const float *offsets, int blocks, const float *xs, \
          const float *sums, float *out) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc = SETZERO(); \
        for (int b = 0; b < blocks; b++) { \
            const uint32_t *w = codes + b * 80 + half; \
            const float *x = xs + b * 32; \
            a2ats_prefetch_ahead(codes + b * 80, 320); \
            VEC p0 = SETZERO(), p1 = SETZERO(), p2 = SETZERO(); \
            VEC##i_t spare = SET1I(0); \
            for (int m = 0; m < 5; m++) { \
                const VEC##i_t word = LOADI(w + 16 * m); \
                spare = OR(spare, SLLI(SRLI(word, 30), 2 * m)); \
                p0 = FMA(CVT(AND(word, SET1I(0x1F))), SET1(x[6 * m]), p0); \
                p1 = FMA(CVT(AND(word, SET1I(0x1F << 5))), SET1(x[6 * m + 1]), p1); \
                p2 = FMA(CVT(AND(word, SET1I(0x1F << 10))), SET1(x[6 * m + 2]), p2); \
                p0 = FMA(CVT(AND(word, SET1I(0x1F << 15))), SET1(x[6 * m + 3]), p0); \
                p1 = FMA(CVT(AND(word, SET1I(0x1F << 20))), SET1(x[6 * m + 4]), p1); \
                p2 = FMA(CVT(AND(word, SET1I(0x1F << 25))), SET1(x[6 * m + 5]), p2); \
            } \
            p0 = FMA(CVT(AND(spare, SET1I(0x1F))), SET1(x[30]), p0); \
            p1 = FMA(CVT(SRLI(spare, 5)), SET1(x[31]), p1); \
            const VEC d = LOADF(scales + b * 16 + half); \
            acc = FMA(ADD(ADD(p0, p1), p2), d, acc); \
            const VEC o = offsets ? LOADF(offsets + b * 16 + half) : MUL(d, SET1(-16.0f)); \
            acc = FMA(o, SET1(sums[b]), acc); \
        } \
        STOREF(out + half, acc); \
    } \
}

// Q6_K (and Q3_K, repacked into it) in the layout of `packSixBit`: per 256-column super-block,
// the 16 rows' f32 d side by side in `scales`, then 52 code words of 16 rows: words 0–3 hold the
// 16 sub-blocks' int8 scales (byte s mod 4 of word s / 4), word 4 + 3s + m the columns 16s + 5m + i
// at bits 6i and two bits of column 16s + 15 at bits 30–31. Codes masked in place against inputs
// scaled by 2^(−6i) (`xs`, column 16s + 15 as it is); `sums16` holds Σx per 16 columns, for the zero
// point: out[r] = Σ d·Σ_s scale_s·(Σ code·x − 32·Σx_s).
#define A2ATS_Q6_K_GROUP(NAME, TARGET, VEC, LANES, SETZERO, SET1, SET1I, LOADI, AND, OR, SRLI, SLLI, SRAI, CVT, FMA, \
                         SUB, ADD, LOADF, STOREF) \
static inline __attribute__((target(TARGET))) \
void NAME(const uint32_t *codes, const float *scales, int superBlocks, const float *xs, const float *sums16, float *out) { \
    for (int half = 0; half < 16; half += LANES) { \
        VEC acc = SETZERO(); \
        for (int sb = 0; sb < superBlocks; sb++) { \
            const uint32_t *w = codes + sb * 832 + half; \
            a2ats_prefetch_ahead(codes + sb * 832, 3328); \
            VEC total = SETZERO(); \
            for (int sub = 0; sub < 16; sub++) { \
                const float *x = xs + 256 * sb + 16 * sub; \
                VEC p0 = SETZERO(), p1 = SETZERO(); \
                VEC##i_t spare = SET1I(0); \
                for (int m = 0; m < 3; m++) { \
                    const VEC##i_t word = LOADI(w + 16 * (4 + 3 * sub + m)); \
                    spare = OR(spare, SLLI(SRLI(word, 30), 2 * m)); \
                    p0 = FMA(CVT(AND(word, SET1I(0x3F))), SET1(x[5 * m]), p0); \
                    p1 = FMA(CVT(AND(word, SET1I(0x3F << 6))), SET1(x[5 * m + 1]), p1); \
                    p0 = FMA(CVT(AND(word, SET1I(0x3F << 12))), SET1(x[5 * m + 2]), p0); \
                    p1 = FMA(CVT(AND(word, SET1I(0x3F << 18))), SET1(x[5 * m + 3]), p1); \
                    p0 = FMA(CVT(AND(word, SET1I(0x3F << 24))), SET1(x[5 * m + 4]), p0); \
                } \
                p1 = FMA(CVT(spare), SET1(x[15]), p1); \
                const VEC dot = SUB(ADD(p0, p1), SET1(32.0f * sums16[16 * sb + sub])); \
                const VEC##i_t scaleWord = LOADI(w + 16 * (sub / 4)); \
                const VEC scale = CVT(SRAI(SLLI(scaleWord, 24 - 8 * (sub % 4)), 24)); \
                total = FMA(dot, scale, total); \
            } \
            acc = FMA(LOADF(scales + sb * 16 + half), total, acc); \
        } \
        STOREF(out + half, acc); \
    } \
}

#define A2ATS_LOADI256(p) _mm256_loadu_si256((const __m256i *)(p))
#define A2ATS_LOADI512(p) _mm512_loadu_si512((const void *)(p))
#define A2ATS_LOADH256(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define A2ATS_LOADH512(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))

A2ATS_Q4_1_GROUP(a2ats_q4_1_group_avx2, "avx2,fma,f16c", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps,
                 _mm256_set1_epi32, A2ATS_LOADI256,
                 _mm256_and_si256, _mm256_srli_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_add_ps,
                 A2ATS_LOADH256, _mm256_storeu_ps)
A2ATS_Q4_1_GROUP(a2ats_q4_1_group_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
                 A2ATS_LOADI512,
                 _mm512_and_si512, _mm512_srli_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_add_ps,
                 A2ATS_LOADH512, _mm512_storeu_ps)
A2ATS_Q5_GROUP(a2ats_q5_group_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_set1_epi32,
               A2ATS_LOADI256, _mm256_and_si256, _mm256_or_si256, _mm256_srli_epi32, _mm256_slli_epi32,
               _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps)
A2ATS_Q5_GROUP(a2ats_q5_group_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
               A2ATS_LOADI512, _mm512_and_si512, _mm512_or_si512, _mm512_srli_epi32, _mm512_slli_epi32,
               _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps, _mm512_loadu_ps, _mm512_storeu_ps)
A2ATS_Q6_K_GROUP(a2ats_q6_k_group_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_set1_epi32,
                 A2ATS_LOADI256, _mm256_and_si256, _mm256_or_si256, _mm256_srli_epi32, _mm256_slli_epi32,
                 _mm256_srai_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_sub_ps, _mm256_add_ps, _mm256_loadu_ps,
                 _mm256_storeu_ps)
A2ATS_Q6_K_GROUP(a2ats_q6_k_group_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_set1_epi32,
                 A2ATS_LOADI512, _mm512_and_si512, _mm512_or_si512, _mm512_srli_epi32, _mm512_slli_epi32,
                 _mm512_srai_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_sub_ps, _mm512_add_ps, _mm512_loadu_ps,
                 _mm512_storeu_ps)
A2ATS_Q8_0_GROUP(a2ats_q8_0_group_avx2, "avx2,fma,f16c", __m256, 8, _mm256_setzero_ps, _mm256_set1_ps, A2ATS_LOADI256,
                 _mm256_slli_epi32, _mm256_srai_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_add_ps,
                 A2ATS_LOADH256, _mm256_storeu_ps)
A2ATS_Q8_0_GROUP(a2ats_q8_0_group_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_set1_ps, A2ATS_LOADI512,
                 _mm512_slli_epi32, _mm512_srai_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_add_ps,
                 A2ATS_LOADH512, _mm512_storeu_ps)

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
