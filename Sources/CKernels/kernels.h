// Header-only AVX2 kernels the Swift compiler does not produce from plain loops: unpacking
// 2/4/8-bit codes (`InterleavedCodes` layout) straight into dequantized f32 rows.
#pragma once
#include <immintrin.h>
#include <stdint.h>

// Channels j + s·P (s = 0 … 8/bits − 1) of a row sit in byte j at bit bits·s; P = d·bits/8 must
// be a multiple of 16. out[c] = code[c] · scale[c] + offset[c] (per-channel scales: KIVI keys).
static inline __attribute__((target("avx2,fma")))
void a2ats_dequantize_per_channel(const uint8_t *row, int d, int bits, const float *scale, const float *offset,
                                  float *out) {
    const int p = d * bits / 8;
    const __m128i mask = _mm_set1_epi8((char)((1 << bits) - 1));
    for (int shift = 0; shift < 8; shift += bits) {
        const int base = p * (shift / bits);
        const __m128i count = _mm_cvtsi32_si128(shift);
        for (int j = 0; j < p; j += 16) {
            __m128i codes = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)(row + j)), count), mask);
            __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(codes));
            __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(codes, 8)));
            const int c = base + j;
            _mm256_storeu_ps(out + c, _mm256_fmadd_ps(lo, _mm256_loadu_ps(scale + c), _mm256_loadu_ps(offset + c)));
            _mm256_storeu_ps(out + c + 8, _mm256_fmadd_ps(hi, _mm256_loadu_ps(scale + c + 8), _mm256_loadu_ps(offset + c + 8)));
        }
    }
}

// As above with one scale and offset per `group` consecutive channels (a multiple of 16):
// out[c] = code[c] · scale[c / group] + offset[c / group] (per-token groups: KIVI values).
static inline __attribute__((target("avx2,fma")))
void a2ats_dequantize_grouped(const uint8_t *row, int d, int bits, const float *scale, const float *offset, int group,
                              float *out) {
    const int p = d * bits / 8;
    const __m128i mask = _mm_set1_epi8((char)((1 << bits) - 1));
    for (int shift = 0; shift < 8; shift += bits) {
        const int base = p * (shift / bits);
        const __m128i count = _mm_cvtsi32_si128(shift);
        for (int j = 0; j < p; j += 16) {
            __m128i codes = _mm_and_si128(_mm_srl_epi16(_mm_loadu_si128((const __m128i *)(row + j)), count), mask);
            __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(codes));
            __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(codes, 8)));
            const int c = base + j, k = c / group;
            const __m256 s = _mm256_set1_ps(scale[k]), z = _mm256_set1_ps(offset[k]);
            _mm256_storeu_ps(out + c, _mm256_fmadd_ps(lo, s, z));
            _mm256_storeu_ps(out + c + 8, _mm256_fmadd_ps(hi, s, z));
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
