// SIMD kernels of the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the activation
// types Q8_0 / Q8_1 (formats.md §2.1-2.3, §3.2, §3.4). See simd_base.hpp for the tiers.
//
// Dot products: each block's quants are unpacked into 32 int8 lanes in element order, multiplied
// with the activation quants exactly in int32 (dot_u8s8 / dot_s8s8), converted to float and
// scaled by d_w·d_a with one FMA into a float vector accumulator; the row ends with a single
// horizontal sum. The block's int32 partial sums are exact; d_w·d_a (two fp16 values) is exact
// in f32 as well, so the only roundings are the FMAs and the final sum.
// With 512-bit vectors two consecutive blocks share a register (scale vector d0 | d1).
#pragma once

#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

// ---- unpacking one block into 32 int8 lanes (element e in byte e) -------------------------------

// Low nibbles are elements 0..15, high nibbles 16..31: the low 128-bit lane takes qs, the high
// lane qs >> 4.
inline __m256i nibbles(const uint8_t* qs) noexcept {
    const __m128i q = in_register(load128(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
}

inline __m256i quants(const block_q4_0& b) noexcept { return _mm256_sub_epi8(nibbles(b.qs), _mm256_set1_epi8(8)); }
// q - 16 + 16·bit = nibble | 0xF0 where the bit is clear (the nibble is below 16).
inline __m256i quants(const block_q5_0& b) noexcept {
    const __m256i clear_high = _mm256_andnot_si256(expand_bits(load_u32(b.qh)), _mm256_set1_epi8(char(0xf0)));
    return _mm256_or_si256(nibbles(b.qs), clear_high);
}
inline __m256i quants(const block_q8_0& b) noexcept { return load256(b.qs); }
// The offset types stay unsigned (0..15, 0..31): maddubs takes them as they are.
inline __m256i quants(const block_q4_1& b) noexcept { return nibbles(b.qs); }
inline __m256i quants(const block_q5_1& b) noexcept {
    return _mm256_or_si256(nibbles(b.qs), _mm256_and_si256(expand_bits(load_u32(b.qh)), _mm256_set1_epi8(0x10)));
}

#if EMBER_SIMD_512
// Two consecutive blocks in one zmm, each 128-bit lane one half block: broadcast each qs to two
// lanes, shift the upper lane of each pair by 4 (word mask 0xFF00FF00), keep the nibble.
inline __m512i nibbles2(const uint8_t* qs0, const uint8_t* qs1) noexcept {
    const __m256i a = _mm256_broadcastsi128_si256(load128(qs0));
    const __m256i b = _mm256_broadcastsi128_si256(load128(qs1));
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
    v = _mm512_mask_srli_epi16(v, 0xff00ff00u, v, 4);
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
}
// The 64 high bits of two Q5 blocks as a byte mask.
template <class Block> __mmask64 high_bits2(const Block* x) noexcept {
    return _cvtu64_mask64(uint64_t(load_u32(x[0].qh)) | (uint64_t(load_u32(x[1].qh)) << 32));
}
inline __m512i quants2(const block_q4_0* x) noexcept {
    return _mm512_sub_epi8(nibbles2(x[0].qs, x[1].qs), _mm512_set1_epi8(8));
}
inline __m512i quants2(const block_q5_0* x) noexcept {
    const __m512i v = nibbles2(x[0].qs, x[1].qs);
    return _mm512_mask_sub_epi8(v, _knot_mask64(high_bits2(x)), v, _mm512_set1_epi8(16));
}
inline __m512i quants2(const block_q8_0* x) noexcept { return load2x256(x[0].qs, x[1].qs); }
inline __m512i quants2(const block_q4_1* x) noexcept { return nibbles2(x[0].qs, x[1].qs); }
inline __m512i quants2(const block_q5_1* x) noexcept {
    const __m512i v = nibbles2(x[0].qs, x[1].qs);
    return _mm512_mask_add_epi8(v, high_bits2(x), v, _mm512_set1_epi8(16));
}
inline __m512 halves(float lo, float hi) noexcept {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(lo)), _mm256_set1_ps(hi), 1);
}
#endif

// ---- dot products ---------------------------------------------------------------------------------

// d_w·d_a of four consecutive blocks in lanes 0..3. The fp16 fields are gathered with integer
// loads and shifts, converted with one vcvtph2ps each side and multiplied once: per block that
// is far fewer vector instructions than converting and multiplying scalars, and the vector
// ports are what the block loop is short of. (A product of two fp16 values is exact in f32.)
template <class Block> inline __m128 scales4(const Block* x, const block_q8_0* y) noexcept {
    const uint64_t w = uint64_t(x[0].d) | uint64_t(x[1].d) << 16 | uint64_t(x[2].d) << 32 | uint64_t(x[3].d) << 48;
    const uint64_t a = uint64_t(y[0].d) | uint64_t(y[1].d) << 16 | uint64_t(y[2].d) << 32 | uint64_t(y[3].d) << 48;
    return _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(w))), _mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(a))));
}

// Q4_0, Q5_0, Q8_0 weights (signed quants) · Q8_0 activations.
template <class Block> float dot_symmetric(int64_t n, const Block* x, const block_q8_0* y) noexcept {
    const int64_t nb = n / qk;
    int64_t b = 0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    auto block_sum = [&](int64_t i) {
        return _mm256_cvtepi32_ps(dot_s8s8(_mm256_setzero_si256(), quants(x[i]), load256(y[i].qs)));
    };
#if EMBER_SIMD_512
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    auto pair_sum = [&](int64_t i) {
        return _mm512_cvtepi32_ps(dot_s8s8(_mm512_setzero_si512(), quants2(x + i), load2x256(y[i].qs, y[i + 1].qs)));
    };
    const __m512i lanes01 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i lanes23 = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    for (; b + 4 <= nb; b += 4) {
        const __m512 d = _mm512_castps128_ps512(scales4(x + b, y + b));
        acc2 = _mm512_fmadd_ps(_mm512_permutexvar_ps(lanes01, d), pair_sum(b), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_permutexvar_ps(lanes23, d), pair_sum(b + 2), acc3);
    }
    acc0 = _mm256_add_ps(_mm512_castps512_ps256(acc2), _mm512_extractf32x8_ps(acc2, 1));
    acc1 = _mm256_add_ps(_mm512_castps512_ps256(acc3), _mm512_extractf32x8_ps(acc3, 1));
#else
    for (; b + 4 <= nb; b += 4) {
        const __m256 d = _mm256_castps128_ps256(scales4(x + b, y + b));
        acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, _mm256_set1_epi32(0)), block_sum(b), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, _mm256_set1_epi32(1)), block_sum(b + 1), acc1);
        acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, _mm256_set1_epi32(2)), block_sum(b + 2), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, _mm256_set1_epi32(3)), block_sum(b + 3), acc1);
    }
#endif
    for (; b < nb; ++b) {
        const __m256 d = _mm256_set1_ps(half_to_float(x[b].d) * half_to_float(y[b].d));
        acc0 = _mm256_fmadd_ps(d, block_sum(b), acc0);
    }
    return hsum(_mm256_add_ps(acc0, acc1));
}

// Q4_1, Q5_1 weights (unsigned quants, offset m) · Q8_1 activations: d_w·d_a·Σ q·q8 + m·s.
// [d, m] of the weight and [d, s] of the activation are adjacent fp16 pairs: one conversion
// and one product give both d_w·d_a and m·s, the latter summed in lane 1 of `offsets`.
template <class Block> float dot_offset(int64_t n, const Block* x, const block_q8_1* y) noexcept {
    const int64_t nb = n / qk;
    int64_t b = 0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m128 offsets = _mm_setzero_ps();
    auto scales = [&](int64_t i) {
        const __m128 w = _mm_cvtph_ps(_mm_cvtsi32_si128(int32_t(load_u32(&x[i].d))));
        const __m128 a = _mm_cvtph_ps(_mm_cvtsi32_si128(int32_t(load_u32(&y[i].d))));
        const __m128 p = _mm_mul_ps(w, a);
        offsets = _mm_add_ps(offsets, p);
        return p;
    };
    auto one = [&](int64_t i, __m256 acc) {
        const __m256 d = _mm256_broadcastss_ps(scales(i));
        const __m256i s = dot_u8s8(_mm256_setzero_si256(), quants(x[i]), load256(y[i].qs));
        return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
    };
#if EMBER_SIMD_512
    __m512 acc2 = _mm512_setzero_ps();
    for (; b + 2 <= nb; b += 2) {
        const __m512 d = halves(_mm_cvtss_f32(scales(b)), _mm_cvtss_f32(scales(b + 1)));
        const __m512i s = dot_u8s8(_mm512_setzero_si512(), quants2(x + b), load2x256(y[b].qs, y[b + 1].qs));
        acc2 = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc2);
    }
    acc0 = _mm256_add_ps(_mm512_castps512_ps256(acc2), _mm512_extractf32x8_ps(acc2, 1));
#endif
    for (; b + 2 <= nb; b += 2) {
        acc0 = one(b, acc0);
        acc1 = one(b + 1, acc1);
    }
    if (b < nb) acc0 = one(b, acc0);
    return hsum(_mm256_add_ps(acc0, acc1)) + _mm_cvtss_f32(_mm_movehdup_ps(offsets));
}

// ---- dequantization ---------------------------------------------------------------------------------

// y = float(q) · d (+ m): a product, then a separate sum, as the reference rounds them.
template <class Block, bool offset> void dequantize_blocks(const Block* x, float* y, int64_t n) noexcept {
    for (int64_t b = 0; b < n / qk; ++b, y += qk) {
        const __m256i q = quants(x[b]);
        const __m256 d = _mm256_set1_ps(half_to_float(x[b].d));
        __m256 m = _mm256_setzero_ps();
        if constexpr (offset) m = _mm256_set1_ps(half_to_float(x[b].m));
        const __m128i parts[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
        for (int h = 0; h < 2; ++h) {
            for (int k = 0; k < 2; ++k) {
                const __m128i bytes = k ? _mm_srli_si128(parts[h], 8) : parts[h];
                const __m256i w = offset ? _mm256_cvtepu8_epi32(bytes) : _mm256_cvtepi8_epi32(bytes);
                __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(w), d);
                if constexpr (offset) v = _mm256_add_ps(v, m);
                _mm256_storeu_ps(y + 16 * h + 8 * k, v);
            }
        }
    }
}

// ---- Q8_0 / Q8_1 activation quantizers (x86 recipe, formats.md §3.2) ------------------------------
//
// Bit-identical with quant::ref::quantize_activation: amax ignores NaNs (max_ps returns its second
// operand when the first is NaN, like fmax), d = amax/127 as fp16, q = nearest-even(x · 127/amax)
// clamped to ±127, and a NaN product (0·inf, NaN·id) becomes 0 as in the reference's nearest().

inline __m256i round_q8(__m256 v) noexcept {
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
    return _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// 4 × 8 int32 (each within ±127) -> 32 int8 in element order. The packs work per 128-bit lane,
// which leaves the dwords in the order 0 2 4 6 1 3 5 7; one permute restores it.
inline __m256i pack_i32x32(__m256i a, __m256i b, __m256i c, __m256i d) noexcept {
    const __m256i v = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Quantizes 32 floats; returns Σ q and the unrounded d (for Q8_1's s).
inline int32_t quantize_q8_block(const float* x, int8_t* qs, uint16_t& d16, float& d) noexcept {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
#if EMBER_SIMD_512
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = hmax(_mm512_max_ps(_mm512_abs_ps(v1), _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps())));
    (void)abs_mask;
#else
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(_mm256_and_ps(v[k], abs_mask), m);
    }
    const float amax = hmax(m);
#endif
    d = amax / 127.0f;
    d16 = float_to_half(d);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
#if EMBER_SIMD_512
    const __m512 mul = _mm512_set1_ps(id);
    auto round16 = [&](__m512 t) {
        t = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(t, t, _CMP_ORD_Q), t);
        t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
        return _mm512_cvt_roundps_epi32(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    };
    const __m512i i0 = round16(_mm512_mul_ps(v0, mul)), i1 = round16(_mm512_mul_ps(v1, mul));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(i1));
    return hsum_i32(_mm512_add_epi32(i0, i1));
#else
    const __m256 mul = _mm256_set1_ps(id);
    __m256i i[4];
    for (int k = 0; k < 4; ++k) i[k] = round_q8(_mm256_mul_ps(v[k], mul));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32x32(i[0], i[1], i[2], i[3]));
    return hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3])));
#endif
}

inline void quantize_q8_0(const float* x, void* vy, int64_t n) noexcept {
    auto* y = static_cast<block_q8_0*>(vy);
    for (int64_t b = 0; b < n / qk; ++b) {
        float d;
        quantize_q8_block(x + b * qk, y[b].qs, y[b].d, d);
    }
}

inline void quantize_q8_1(const float* x, void* vy, int64_t n) noexcept {
    auto* y = static_cast<block_q8_1*>(vy);
    for (int64_t b = 0; b < n / qk; ++b) {
        float d;
        const int32_t sum = quantize_q8_block(x + b * qk, y[b].qs, y[b].d, d);
        y[b].s = float_to_half(float(sum) * d);
    }
}

// ---- table entries ---------------------------------------------------------------------------------

template <class Block> void symmetric_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_symmetric(n, static_cast<const Block*>(x), static_cast<const block_q8_0*>(y));
}
template <class Block> void offset_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_offset(n, static_cast<const Block*>(x), static_cast<const block_q8_1*>(y));
}
template <class Block, bool offset> void to_float_entry(const void* x, float* y, int64_t n) {
    dequantize_blocks<Block, offset>(static_cast<const Block*>(x), y, n);
}

// Only the fields implemented here are replaced; a weight type's from_float (its quantizer)
// stays the reference one.
inline void register_legacy_dot(kernel_table& t) {
    slot(t, ggml_type::q4_0).vec_dot = symmetric_entry<block_q4_0>;
    slot(t, ggml_type::q5_0).vec_dot = symmetric_entry<block_q5_0>;
    slot(t, ggml_type::q8_0).vec_dot = symmetric_entry<block_q8_0>;
    slot(t, ggml_type::q4_1).vec_dot = offset_entry<block_q4_1>;
    slot(t, ggml_type::q5_1).vec_dot = offset_entry<block_q5_1>;
}
inline void register_legacy_convert(kernel_table& t) {
    slot(t, ggml_type::q4_0).to_float = to_float_entry<block_q4_0, false>;
    slot(t, ggml_type::q5_0).to_float = to_float_entry<block_q5_0, false>;
    slot(t, ggml_type::q8_0).to_float = to_float_entry<block_q8_0, false>;
    slot(t, ggml_type::q4_1).to_float = to_float_entry<block_q4_1, true>;
    slot(t, ggml_type::q5_1).to_float = to_float_entry<block_q5_1, true>;
    slot(t, ggml_type::q8_0).from_float = quantize_q8_0;
    slot(t, ggml_type::q8_1).from_float = quantize_q8_1;
}

}  // namespace ember::kernels::EMBER_SIMD_NS
