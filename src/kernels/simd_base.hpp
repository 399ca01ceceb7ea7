// Building blocks of the x86 SIMD kernels (simd_float.hpp, simd_legacy.hpp, simd_kquants.hpp).
//
// These headers are included only by the translation units under src/kernels/<tier>/, each
// compiled with its tier's flags (src/CMakeLists.txt). The kernels are written once; the flags
// of the including file select the instructions:
//
//   tier        flags                               vector width   int8 dot product
//   avx2        AVX2 FMA F16C BMI2                  256            maddubs + madd
//   avxvnni     avx2 + AVX-VNNI                     256            vpdpbusd / vpdpwssd (VEX)
//   avx512      + AVX-512 F/BW/VL/DQ                512 (256 tail) maddubs + madd
//   avx512vnni  avx512 + AVX512-VNNI                512            vpdpbusd / vpdpwssd (EVEX)
//
// VNNI is a separate CPU feature from AVX-512 F/BW (Skylake-X has AVX-512 without it; Alder Lake
// has AVX-VNNI without AVX-512), so the VNNI tiers are separate translation units whose kernels
// dispatch registers only when CPUID reports the feature (dispatch.cpp).
//
// Everything here lives in a namespace named after the tier (EMBER_SIMD_NS). Inline functions
// compiled with AVX-512 flags must never be merged by the linker with the copies compiled for
// AVX2 (or for no ISA at all): one weak definition is kept for the whole program, and an
// AVX-512 body could end up running on a CPU without AVX-512. For the same reason these files
// avoid calling inline functions and function templates that portable code also instantiates
// (ember's fp16.hpp and blocks.hpp helpers, std::bit_cast): in an unoptimised build those are
// emitted out of line, VEX-encoded here. Only builtins and intrinsics are used from outside.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "simd_*.hpp must be compiled with at least -mavx2 -mfma -mf16c"
#endif

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), a self-initialised variable that
// -W(maybe-)uninitialized reports at every inlined use (GCC bug 105593); only tier files see this.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "ember/quant/blocks.hpp"
#include "kernels/table.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#define EMBER_SIMD_512 1
#else
#define EMBER_SIMD_512 0
#endif

#if EMBER_SIMD_512 && defined(__AVX512VNNI__)
#define EMBER_SIMD_TIER avx512vnni
#define EMBER_SIMD_VNNI 1
#elif EMBER_SIMD_512
#define EMBER_SIMD_TIER avx512
#define EMBER_SIMD_VNNI 0
#elif defined(__AVXVNNI__)
#define EMBER_SIMD_TIER avxvnni
#define EMBER_SIMD_VNNI 1
#else
#define EMBER_SIMD_TIER avx2
#define EMBER_SIMD_VNNI 0
#endif
// The namespace of this translation unit's kernels: the tier's name, unless an experiment that
// compiles two variants of a kernel into one program names them itself.
#ifndef EMBER_SIMD_NS
#define EMBER_SIMD_NS EMBER_SIMD_TIER
#endif

namespace ember::kernels::EMBER_SIMD_NS {

using namespace ember::quant;

// ---- scalars ----------------------------------------------------------------------------------

// fp16 <-> f32 with the F16C instructions. Both are exact (resp. round to nearest even) like
// ember::fp16_to_fp32 / fp32_to_fp16; only NaNs differ (F16C quiets a signalling NaN and keeps
// the payload), so the direction that can meet NaN activations patches them to ember's 0x7E00.
inline uint32_t bits_of(float f) noexcept {  // not std::bit_cast: see the ODR note above
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float float_of(uint32_t u) noexcept {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline float half_to_float(uint16_t h) noexcept { return _cvtsh_ss(h); }
inline uint16_t float_to_half(float f) noexcept {
    if (f != f) return uint16_t(((bits_of(f) >> 16) & 0x8000u) | 0x7e00u);
    return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

inline uint32_t load_u32(const void* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// ---- horizontal reductions ----------------------------------------------------------------------

inline float hsum(__m128 v) noexcept {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}
inline float hsum(__m256 v) noexcept {
    return hsum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}
inline int32_t hsum_i32(__m128i v) noexcept {
    v = _mm_add_epi32(v, _mm_unpackhi_epi64(v, v));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(v);
}
inline int32_t hsum_i32(__m256i v) noexcept {
    return hsum_i32(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}
inline float hmax(__m256 v) noexcept {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
#if EMBER_SIMD_512
inline float hsum(__m512 v) noexcept {
    return hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
inline int32_t hsum_i32(__m512i v) noexcept {
    return hsum_i32(_mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}
inline float hmax(__m512 v) noexcept {
    return hmax(_mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
#endif

// ---- integer dot products -----------------------------------------------------------------------
//
// dot_u8s8: acc + Σ over each group of four bytes of a (unsigned) · b (signed), per int32 lane.
// Without VNNI the products are first summed in pairs to int16 (maddubs), which saturates when
// a0·b0 + a1·b1 leaves int16; every caller keeps a ≤ 128 and b in -127..127 (or a ≤ 63), where
// the pair sum stays below 32767, so both paths give the exact same integers.
//
// dot_i16: acc + Σ over each pair of int16 p · s, per int32 lane (madd, or vpdpwssd with VNNI).
// The K-quant kernels use it to apply the sub-block scales to the int16 output of maddubs.

inline __m256i dot_u8s8(__m256i acc, __m256i a, __m256i b) noexcept {
#if EMBER_SIMD_VNNI && EMBER_SIMD_512
    return _mm256_dpbusd_epi32(acc, a, b);
#elif EMBER_SIMD_VNNI
    return _mm256_dpbusd_avx_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
#endif
}
inline __m256i dot_i16(__m256i acc, __m256i p, __m256i s) noexcept {
#if EMBER_SIMD_VNNI && EMBER_SIMD_512
    return _mm256_dpwssd_epi32(acc, p, s);
#elif EMBER_SIMD_VNNI
    return _mm256_dpwssd_avx_epi32(acc, p, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
#endif
}
// Signed · signed: |x| times y with x's sign moved onto y. |x| ≤ 128 fits the unsigned operand
// (x = -128 is allowed, as in Q8_0 weights); y must not be -128 (activation quants never are).
inline __m256i dot_s8s8(__m256i acc, __m256i x, __m256i y) noexcept {
    return dot_u8s8(acc, _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

#if EMBER_SIMD_512
inline __m512i dot_u8s8(__m512i acc, __m512i a, __m512i b) noexcept {
#if EMBER_SIMD_VNNI
    return _mm512_dpbusd_epi32(acc, a, b);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), _mm512_set1_epi16(1)));
#endif
}
inline __m512i dot_i16(__m512i acc, __m512i p, __m512i s) noexcept {
#if EMBER_SIMD_VNNI
    return _mm512_dpwssd_epi32(acc, p, s);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(p, s));
#endif
}
// AVX-512 has no vpsignb: negate y where x is negative with a masked subtract.
inline __m512i dot_s8s8(__m512i acc, __m512i x, __m512i y) noexcept {
    const __m512i sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
    return dot_u8s8(acc, _mm512_abs_epi8(x), sy);
}
#endif

// ---- loads ----------------------------------------------------------------------------------------

// A loaded value that several instructions use: without this GCC folds the load into each of
// them as a memory operand and reads the same bytes again for every use (measured: BF16 dot
// 40% faster with it; the 256-bit K-quant loops a few percent).
template <class V> inline V in_register(V v) noexcept {
    __asm__("" : "+v"(v));
    return v;
}

inline __m256i load256(const void* p) noexcept { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) noexcept { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
#if EMBER_SIMD_512
inline __m512i load512(const void* p) noexcept { return _mm512_loadu_si512(p); }
// Two 32-byte pieces side by side (the quants of two consecutive 32-element blocks).
inline __m512i load2x256(const void* lo, const void* hi) noexcept {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(lo)), load256(hi), 1);
}
// The same 32 bytes in both halves of a zmm.
inline __m512i broadcast256(const void* p) noexcept { return _mm512_broadcast_i64x4(load256(p)); }
#endif

// 32 bits -> 32 bytes, 0xFF where the bit is set: byte e tests bit e of the little-endian u32.
inline __m256i expand_bits(uint32_t bits) noexcept {
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(int32_t(bits)),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i select = _mm256_set1_epi64x(int64_t(0x8040201008040201));
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}

// ---- scale selection --------------------------------------------------------------------------
//
// The K-quant kernels hold the sub-block scales as int16 words, the same eight words in every
// 128-bit lane, and pick one per lane with pshufb. word_ctl(w) is the pshufb control that fills a
// lane with word w.

constexpr int32_t word_ctl(int w) noexcept { return int32_t(0x01000100u + 0x02020202u * uint32_t(w)); }

// Word w0 in the low lane, w1 in the high lane.
inline __m256i pick_words(int w0, int w1) noexcept {
    return _mm256_setr_epi32(word_ctl(w0), word_ctl(w0), word_ctl(w0), word_ctl(w0), word_ctl(w1), word_ctl(w1),
                             word_ctl(w1), word_ctl(w1));
}
#if EMBER_SIMD_512
// Word w_i in lane i.
inline __m512i pick_words(int w0, int w1, int w2, int w3) noexcept {
    const int32_t a = word_ctl(w0), b = word_ctl(w1), c = word_ctl(w2), d = word_ctl(w3);
    return _mm512_setr_epi32(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d);
}
// Per-half constants: 16-bit words (shift counts) or bytes (bit selectors).
inline __m512i halves_epi16(int lo, int hi) noexcept {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(short(lo))), _mm256_set1_epi16(short(hi)), 1);
}
inline __m512i halves_epi8(int lo, int hi) noexcept {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi8(char(lo))), _mm256_set1_epi8(char(hi)), 1);
}
// 128-bit lane h (0 or 1) of v in all four lanes.
inline __m512i broadcast_lane(__m512i v, int h) noexcept {
    return h ? _mm512_shuffle_i32x4(v, v, 0x55) : _mm512_shuffle_i32x4(v, v, 0x00);
}
// Sum of the two 256-bit halves.
inline __m256i fold(__m512i v) noexcept {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}
#endif

}  // namespace ember::kernels::EMBER_SIMD_NS
