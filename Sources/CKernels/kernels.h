// Header-only AVX2 kernels the Swift compiler does not produce from plain loops: unpacking
// 2/4/8-bit codes (`InterleavedCodes` layout) straight into dequantized f32 rows.
#pragma once
#include <immintrin.h>
#include <stdint.h>

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
