// SIMD conversions of the K-quants: the Q8_K activation quantizer (formats.md §3.3) and the
// dequantizers of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (§2.4-2.8). All are bit-identical with the scalar
// reference: the same f32 operations in the same order, one rounding each (these files are
// compiled with -ffp-contract=off, so a product followed by a difference never becomes an FMA).
// These run once per activation row or per looked-up embedding row, not per weight row, so they
// use 256-bit code on every tier except for the quantizer's inner loop.
#pragma once

#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

// ---- Q8_K activation quantizer ----------------------------------------------------------------------
//
// As quant::ref::quantize_activation: max = the first element of largest magnitude (NaNs never
// win, as in the reference's strict `>`), iscale = -127/max, q = nearest-even(iscale·x) clamped
// to ±127 with NaN products giving 0, d = 1/iscale, bsums of 16 quants; an all-zero block (or
// one with only zeros and NaNs) is d = 0 with zero quants.

inline void quantize_q8_K(const float* x, void* vy, int64_t n) noexcept {
    auto* y = static_cast<block_q8_K*>(vy);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / qk_k; ++b, x += qk_k) {
        block_q8_K& out = y[b];
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < qk_k; i += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), m);
        const float amax = hmax(m);
        if (amax == 0.0f) {
            std::memset(&out, 0, sizeof out);
            continue;
        }
        int first = 0;
        const __m256 target = _mm256_set1_ps(amax);
        for (int i = 0; i < qk_k; i += 8) {
            const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask);
            const int hits = _mm256_movemask_ps(_mm256_cmp_ps(a, target, _CMP_EQ_OQ));
            if (hits) {
                first = i + __builtin_ctz(unsigned(hits));
                break;
            }
        }
        const float iscale = -127.0f / x[first];
#if EMBER_SIMD_512
        const __m512 mul = _mm512_set1_ps(iscale);
        for (int j = 0; j < qk_k / 16; ++j) {
            __m512 t = _mm512_mul_ps(mul, _mm512_loadu_ps(x + 16 * j));
            t = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(t, t, _CMP_ORD_Q), t);
            t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
            const __m512i q = _mm512_cvt_roundps_epi32(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out.qs + 16 * j), _mm512_cvtsepi32_epi8(q));
            out.bsums[j] = int16_t(hsum_i32(q));
        }
#else
        const __m256 mul = _mm256_set1_ps(iscale);
        for (int i = 0; i < qk_k; i += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; ++k) {
                __m256 t = _mm256_mul_ps(mul, _mm256_loadu_ps(x + i + 8 * k));
                t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q));
                t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
                q[k] = _mm256_cvtps_epi32(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            }
            const __m256i v = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.qs + i),
                                _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
            out.bsums[i / 16] = int16_t(hsum_i32(_mm256_add_epi32(q[0], q[1])));
            out.bsums[i / 16 + 1] = int16_t(hsum_i32(_mm256_add_epi32(q[2], q[3])));
        }
#endif
        out.d = 1 / iscale;
    }
}

// ---- dequantizers -------------------------------------------------------------------------------------

// 16 quants (int8 lanes of `q`) -> y[0..15] = dl·float(q) - ml, two roundings per element.
inline void emit16(__m128i q, float dl, float ml, float* y) noexcept {
    const __m256 d = _mm256_set1_ps(dl), m = _mm256_set1_ps(ml);
    const __m256 a = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
    const __m256 b = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)));
    _mm256_storeu_ps(y, _mm256_sub_ps(_mm256_mul_ps(d, a), m));
    _mm256_storeu_ps(y + 8, _mm256_sub_ps(_mm256_mul_ps(d, b), m));
}
// Q3_K and Q6_K have no min: the reference computes dl·float(q) alone.
inline void emit16(__m128i q, float dl, float* y) noexcept {
    const __m256 d = _mm256_set1_ps(dl);
    _mm256_storeu_ps(y, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)))));
}
inline __m128i lo128(__m256i v) noexcept { return _mm256_castsi256_si128(v); }
inline __m128i hi128(__m256i v) noexcept { return _mm256_extracti128_si256(v, 1); }

inline void dequantize_q2_K(const void* vx, float* y, int64_t n) noexcept {
    const auto* x = static_cast<const block_q2_K*>(vx);
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const float d = half_to_float(x[b].d), dmin = half_to_float(x[b].dmin);
        const uint8_t* sc = x[b].scales;
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load256(x[b].qs + 32 * h);
            for (int s = 0; s < 4; ++s, y += 32) {
                const __m256i v = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), m3);
                const int j = 8 * h + 2 * s;
                emit16(lo128(v), d * float(sc[j] & 0x0f), dmin * float(sc[j] >> 4), y);
                emit16(hi128(v), d * float(sc[j + 1] & 0x0f), dmin * float(sc[j + 1] >> 4), y + 16);
            }
        }
    }
}

inline void dequantize_q3_K(const void* vx, float* y, int64_t n) noexcept {
    const auto* x = static_cast<const block_q3_K*>(vx);
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const float d = half_to_float(x[b].d);
        alignas(16) int8_t sc[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(sc), q3_scales(x[b].scales));
        __m256i hbits = load256(x[b].hmask);
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load256(x[b].qs + 32 * h);
            for (int s = 0; s < 4; ++s, y += 32) {
                const __m256i high = _mm256_and_si256(_mm256_slli_epi16(hbits, 2), m4);
                hbits = _mm256_srli_epi16(hbits, 1);
                __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), m3), high);
                v = _mm256_sub_epi8(v, m4);
                const int j = 8 * h + 2 * s;
                emit16(lo128(v), d * float(sc[j]), y);
                emit16(hi128(v), d * float(sc[j + 1]), y + 16);
            }
        }
    }
}

template <bool five_bits, class Block> void dequantize_k4(const void* vx, float* y, int64_t n) noexcept {
    const auto* x = static_cast<const Block*>(vx);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const float d = half_to_float(x[b].d), dmin = half_to_float(x[b].dmin);
        alignas(16) uint8_t sm[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(sm), k4_scales_mins(x[b].scales));
        [[maybe_unused]] __m256i high;
        if constexpr (five_bits) high = load256(x[b].qh);
        for (int c = 0; c < 4; ++c, y += 64) {
            const __m256i q = load256(x[b].qs + 32 * c);
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if constexpr (five_bits) {
                const __m256i bit4 = _mm256_set1_epi8(0x10);
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(high, 4), bit4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(high, 3), bit4));
                high = _mm256_srli_epi16(high, 2);
            }
            const float dl0 = d * float(sm[2 * c]), ml0 = dmin * float(sm[8 + 2 * c]);
            const float dl1 = d * float(sm[2 * c + 1]), ml1 = dmin * float(sm[8 + 2 * c + 1]);
            emit16(lo128(lo), dl0, ml0, y);
            emit16(hi128(lo), dl0, ml0, y + 16);
            emit16(lo128(hi), dl1, ml1, y + 32);
            emit16(hi128(hi), dl1, ml1, y + 48);
        }
    }
}

inline void dequantize_q6_K(const void* vx, float* y, int64_t n) noexcept {
    const auto* x = static_cast<const block_q6_K*>(vx);
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30), m32 = _mm256_set1_epi8(32);
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const float d = half_to_float(x[b].d);
        for (int h = 0; h < 2; ++h) {
            const __m256i l0 = load256(x[b].ql + 64 * h), l1 = load256(x[b].ql + 64 * h + 32);
            const __m256i hb = load256(x[b].qh + 32 * h);
            const __m256i v[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30)),
            };
            for (int k = 0; k < 4; ++k, y += 32) {
                const __m256i q = _mm256_sub_epi8(v[k], m32);
                const int j = 8 * h + 2 * k;
                emit16(lo128(q), d * float(x[b].scales[j]), y);
                emit16(hi128(q), d * float(x[b].scales[j + 1]), y + 16);
            }
        }
    }
}

inline void register_kquants_convert(kernel_table& t) {
    slot(t, ggml_type::q8_K).from_float = quantize_q8_K;
    slot(t, ggml_type::q2_K).to_float = dequantize_q2_K;
    slot(t, ggml_type::q3_K).to_float = dequantize_q3_K;
    slot(t, ggml_type::q4_K).to_float = dequantize_k4<false, block_q4_K>;
    slot(t, ggml_type::q5_K).to_float = dequantize_k4<true, block_q5_K>;
    slot(t, ggml_type::q6_K).to_float = dequantize_q6_K;
}

}  // namespace ember::kernels::EMBER_SIMD_NS
