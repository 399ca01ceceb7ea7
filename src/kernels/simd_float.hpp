// SIMD kernels of the float types F32, F16, BF16: dot products, and the F16/BF16 conversions.
//
// The dot products are one template over a "lane loader", written with xsimd batches of the
// tier's float arch (fma3<avx2>: 8 lanes, avx512bw: 16 lanes) and four independent accumulators
// so the FMA latency is hidden; the loaders turn 8/16 stored values into f32 with the F16C
// instructions (F16) or a 16-bit shift (BF16), which xsimd 8 cannot express. Tails shorter than a
// vector use masked loads on AVX-512 and scalar code on AVX2.
//
// Conversions are bit-identical with ember's portable fp16.hpp, NaNs included: the hardware
// agrees on every finite value and on infinities (round to nearest even, subnormals kept), and
// vectors that contain a NaN are patched with the reference's NaN encodings.
#pragma once

#include <xsimd/xsimd.hpp>

#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

#if EMBER_SIMD_512
using float_arch = xsimd::avx512bw;
#else
using float_arch = xsimd::fma3<xsimd::avx2>;
#endif
using fvec = xsimd::batch<float, float_arch>;
inline constexpr int64_t lanes = int64_t(fvec::size);

inline fvec fmadd(fvec a, fvec b, fvec c) noexcept {
#if EMBER_SIMD_512
    return _mm512_fmadd_ps(a, b, c);  // xsimd 8 has no avx512 fma overload (it would mul + add)
#else
    return xsimd::fma(a, b, c);
#endif
}

// ---- scalar conversions for tails and NaN patches (exact, no F16C NaN quieting) -----------------

inline float half_bits_to_float(uint16_t h) noexcept {
    if ((h & 0x7c00u) != 0x7c00u) return half_to_float(h);
    return float_of((uint32_t(h & 0x8000u) << 16) | 0x7f800000u | (uint32_t(h & 0x3ffu) << 13));
}
inline float bf16_bits_to_float(uint16_t h) noexcept { return float_of(uint32_t(h) << 16); }
inline uint16_t float_to_bf16(float f) noexcept {
    const uint32_t x = bits_of(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 64u);
    return uint16_t((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}

// ---- loaders: `lanes` stored values -> f32 (tail: the first r < lanes, zeros after) --------------

struct load_f32 {
    using type = float;
    static fvec full(const float* p) noexcept { return fvec::load_unaligned(p); }
    static float one(float v) noexcept { return v; }
#if EMBER_SIMD_512
    static fvec part(const float* p, __mmask16 k) noexcept { return _mm512_maskz_loadu_ps(k, p); }
#endif
};

struct load_f16 {
    using type = uint16_t;
#if EMBER_SIMD_512
    static fvec full(const uint16_t* p) noexcept { return _mm512_cvtph_ps(load256(p)); }
    static fvec part(const uint16_t* p, __mmask16 k) noexcept { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p)); }
#else
    static fvec full(const uint16_t* p) noexcept { return _mm256_cvtph_ps(load128(p)); }
#endif
    static float one(uint16_t v) noexcept { return half_bits_to_float(v); }
};

struct load_bf16 {
    using type = uint16_t;
#if EMBER_SIMD_512
    static fvec widen(__m256i h) noexcept { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
    static fvec full(const uint16_t* p) noexcept { return widen(load256(p)); }
    static fvec part(const uint16_t* p, __mmask16 k) noexcept { return widen(_mm256_maskz_loadu_epi16(k, p)); }
#else
    static fvec full(const uint16_t* p) noexcept {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
    }
#endif
    static float one(uint16_t v) noexcept { return bf16_bits_to_float(v); }
};

// ---- dot product -------------------------------------------------------------------------------------

template <class Load> float dot_float(int64_t n, const typename Load::type* x, const typename Load::type* y) noexcept {
    fvec a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    int64_t i = 0;
    for (; i + 4 * lanes <= n; i += 4 * lanes) {
        a0 = fmadd(Load::full(x + i), Load::full(y + i), a0);
        a1 = fmadd(Load::full(x + i + lanes), Load::full(y + i + lanes), a1);
        a2 = fmadd(Load::full(x + i + 2 * lanes), Load::full(y + i + 2 * lanes), a2);
        a3 = fmadd(Load::full(x + i + 3 * lanes), Load::full(y + i + 3 * lanes), a3);
    }
    for (; i + lanes <= n; i += lanes) a0 = fmadd(Load::full(x + i), Load::full(y + i), a0);
    float tail = 0.0f;
#if EMBER_SIMD_512
    if (i < n) {
        const __mmask16 k = _cvtu32_mask16((1u << unsigned(n - i)) - 1u);
        a1 = fmadd(Load::part(x + i, k), Load::part(y + i, k), a1);
    }
#else
    for (; i < n; ++i) tail += Load::one(x[i]) * Load::one(y[i]);
#endif
    const fvec sum = (a0 + a1) + (a2 + a3);
#if EMBER_SIMD_512
    return hsum(__m512(sum)) + tail;
#else
    return hsum(__m256(sum)) + tail;
#endif
}

// BF16 · BF16 without widening: a bf16 value is the upper half of an f32, so in a vector of
// 32-bit lanes the odd elements are floats once the low halves are masked off, and the even
// elements once shifted up by 16. Two ALU ops per 2·lanes values instead of two shuffles; the
// products are summed in a different order, which a dot product allows.
#if EMBER_SIMD_512
using ivec = __m512i;
inline ivec load_ivec(const uint16_t* p) noexcept { return in_register(_mm512_loadu_si512(p)); }
inline fvec even_bf16(ivec v) noexcept { return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); }
inline fvec odd_bf16(ivec v) noexcept {
    return _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(int32_t(0xffff0000u))));
}
#else
using ivec = __m256i;
inline ivec load_ivec(const uint16_t* p) noexcept { return in_register(load256(p)); }
inline fvec even_bf16(ivec v) noexcept { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }
inline fvec odd_bf16(ivec v) noexcept {
    return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int32_t(0xffff0000u))));
}
#endif

inline float dot_bf16(int64_t n, const uint16_t* x, const uint16_t* y) noexcept {
    constexpr int64_t step = 2 * lanes;
    fvec a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    int64_t i = 0;
    for (; i + 2 * step <= n; i += 2 * step) {
        const ivec x0 = load_ivec(x + i), y0 = load_ivec(y + i);
        const ivec x1 = load_ivec(x + i + step), y1 = load_ivec(y + i + step);
        a0 = fmadd(even_bf16(x0), even_bf16(y0), a0);
        a1 = fmadd(odd_bf16(x0), odd_bf16(y0), a1);
        a2 = fmadd(even_bf16(x1), even_bf16(y1), a2);
        a3 = fmadd(odd_bf16(x1), odd_bf16(y1), a3);
    }
    if (i + step <= n) {
        const ivec x0 = load_ivec(x + i), y0 = load_ivec(y + i);
        a0 = fmadd(even_bf16(x0), even_bf16(y0), a0);
        a1 = fmadd(odd_bf16(x0), odd_bf16(y0), a1);
        i += step;
    }
    // fewer than 2·lanes values left
    float tail = 0.0f;
#if EMBER_SIMD_512
    for (; i < n; i += lanes) {
        const __mmask16 k = _cvtu32_mask16(n - i >= lanes ? 0xffffu : (1u << unsigned(n - i)) - 1u);
        a2 = fmadd(load_bf16::part(x + i, k), load_bf16::part(y + i, k), a2);
    }
#else
    for (; i + lanes <= n; i += lanes) a2 = fmadd(load_bf16::full(x + i), load_bf16::full(y + i), a2);
    for (; i < n; ++i) tail += bf16_bits_to_float(x[i]) * bf16_bits_to_float(y[i]);
#endif
    const fvec sum = (a0 + a1) + (a2 + a3);
#if EMBER_SIMD_512
    return hsum(__m512(sum)) + tail;
#else
    return hsum(__m256(sum)) + tail;
#endif
}

template <class Load> void dot_entry(int64_t n, float* s, const void* x, const void* y) {
    using T = typename Load::type;
    *s = dot_float<Load>(n, static_cast<const T*>(x), static_cast<const T*>(y));
}
inline void bf16_dot_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_bf16(n, static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(y));
}

// ---- conversions ---------------------------------------------------------------------------------------

inline void f16_to_float(const void* vx, float* y, int64_t n) noexcept {
    const auto* x = static_cast<const uint16_t*>(vx);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = load128(x + i);
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
        // exponent 31 (inf or NaN): F16C would quiet a signalling NaN, the reference keeps its bits
        const __m128i exp = _mm_and_si128(h, _mm_set1_epi16(0x7c00));
        if (_mm_movemask_epi8(_mm_cmpeq_epi16(exp, _mm_set1_epi16(0x7c00))))
            for (int k = 0; k < 8; ++k) y[i + k] = half_bits_to_float(x[i + k]);
    }
    for (; i < n; ++i) y[i] = half_bits_to_float(x[i]);
}

inline void f16_from_float(const float* x, void* vy, int64_t n) noexcept {
    auto* y = static_cast<uint16_t*>(vy);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)))
            for (int k = 0; k < 8; ++k) y[i + k] = float_to_half(x[i + k]);
    }
    for (; i < n; ++i) y[i] = float_to_half(x[i]);
}

inline void bf16_to_float(const void* vx, float* y, int64_t n) noexcept {
    const auto* x = static_cast<const uint16_t*>(vx);
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) load_bf16::full(x + i).store_unaligned(y + i);
    for (; i < n; ++i) y[i] = bf16_bits_to_float(x[i]);
}

// Round to nearest even on the upper half: (x + 0x7fff + bit16) >> 16; NaN -> (x >> 16) | 64.
inline void bf16_from_float(const float* x, void* vy, int64_t n) noexcept {
    auto* y = static_cast<uint16_t*>(vy);
    int64_t i = 0;
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    for (; i + 8 <= n; i += 8) {
        const __m256i v = _mm256_castps_si256(_mm256_loadu_ps(x + i));
        const __m256i top = _mm256_srli_epi32(v, 16);
        const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(v, _mm256_add_epi32(bias, _mm256_and_si256(top, one))), 16);
        const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, abs_mask), inf);
        const __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(top, _mm256_set1_epi32(64)), nan);
        // 8 values below 65536 -> 8 u16; packus works per lane, so gather the two lanes after
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_castsi256_si128(packed));
    }
    for (; i < n; ++i) y[i] = float_to_bf16(x[i]);
}

inline void register_float(kernel_table& t) {
    slot(t, ggml_type::f32).vec_dot = dot_entry<load_f32>;
    slot(t, ggml_type::f16).vec_dot = dot_entry<load_f16>;
    slot(t, ggml_type::bf16).vec_dot = bf16_dot_entry;
    slot(t, ggml_type::f16).to_float = f16_to_float;
    slot(t, ggml_type::f16).from_float = f16_from_float;
    slot(t, ggml_type::bf16).to_float = bf16_to_float;
    slot(t, ggml_type::bf16).from_float = bf16_from_float;
}

}  // namespace ember::kernels::EMBER_SIMD_NS
