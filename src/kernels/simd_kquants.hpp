// SIMD dot products of the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K with Q8_K activations
// (formats.md §2.4-2.9, §3.3-3.4). See simd_base.hpp for the tiers.
//
// Every kernel works the same way: the quants of a super-block are unpacked to unsigned bytes
// (shifts and masks, 32 or 64 elements per register), multiplied with the activation quants by
// maddubs into int16 pairs, and the pairs are multiplied by the sub-block scale (int16 words
// picked by pshufb) and summed into int32 lanes by madd, or by one vpdpwssd with VNNI. Offsets
// are never applied per element: Q3_K's -4 and Q6_K's -32 become 4·Σ s_j·bsum_j and
// 32·Σ s_j·bsum_j, and the mins of Q2_K/Q4_K/Q5_K become Σ m_j·bsum_j, all from the activation's
// precomputed bsums. The integer sums are exact (bounds in ref_k_quants.cpp); per super-block they
// are converted to float and scaled by d8·d (and d8·dmin) with an FMA into a float vector, and
// the row ends with one horizontal sum.
//
// maddubs saturates int16 only for pair sums beyond 32767; the unsigned quants here are at most
// 63 and activation quants at most 127 in magnitude, so 2·63·127 = 16002 is the worst case.
#pragma once

#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

// ---- scale unpacking ------------------------------------------------------------------------------

// Q4_K/Q5_K (formats.md §2.6): the eight 6-bit scales in bytes 0-7, the eight mins in 8-15.
// Sub-blocks 4..7 take their low nibble from bytes 8-11 and their top two bits from bits 6-7 of
// bytes 0-3 (scales) or 4-7 (mins).
inline __m128i k4_scales_mins(const uint8_t* s) noexcept {
    const uint32_t a0 = load_u32(s), a1 = load_u32(s + 4), a2 = load_u32(s + 8);
    const uint32_t sc_lo = a0 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (a2 & 0x0f0f0f0fu) | ((a0 >> 2) & 0x30303030u);
    const uint32_t m_lo = a1 & 0x3f3f3f3fu;
    const uint32_t m_hi = ((a2 >> 4) & 0x0f0f0f0fu) | ((a1 >> 2) & 0x30303030u);
    return _mm_setr_epi32(int32_t(sc_lo), int32_t(sc_hi), int32_t(m_lo), int32_t(m_hi));
}

// Q3_K (formats.md §2.5): the sixteen signed scales s_j = u_j - 32 in bytes j. Low nibbles come
// from bytes 0-7 (j < 8: low, j ≥ 8: high nibble of byte j-8); byte 8 + j%4 holds the top two
// bits of u_j at bit 2·(j/4).
inline __m128i q3_scales(const uint8_t* s) noexcept {
    const uint32_t a0 = load_u32(s), a1 = load_u32(s + 4), a2 = load_u32(s + 8);
    const uint32_t u0 = (a0 & 0x0f0f0f0fu) | ((a2 << 4) & 0x30303030u);
    const uint32_t u1 = (a1 & 0x0f0f0f0fu) | ((a2 << 2) & 0x30303030u);
    const uint32_t u2 = ((a0 >> 4) & 0x0f0f0f0fu) | (a2 & 0x30303030u);
    const uint32_t u3 = ((a1 >> 4) & 0x0f0f0f0fu) | ((a2 >> 2) & 0x30303030u);
    return _mm_sub_epi8(_mm_setr_epi32(int32_t(u0), int32_t(u1), int32_t(u2), int32_t(u3)), _mm_set1_epi8(32));
}

// Eight int16 scales (sub-blocks 8h .. 8h+7 of a 16-sub-block type) repeated in every lane.
inline __m256i half_scales(__m128i scales16_i8, int h, bool is_signed) noexcept {
    const __m128i bytes = h ? _mm_srli_si128(scales16_i8, 8) : scales16_i8;
    return _mm256_broadcastsi128_si256(is_signed ? _mm_cvtepi8_epi16(bytes) : _mm_cvtepu8_epi16(bytes));
}

// Ends a super-block: acc += d · float(sumi).
inline __m256 scale_add(__m256i sumi, float d, __m256 acc) noexcept {
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

// ---- Q2_K: q in 0..3, x = d·sc_j·q - dmin·m_j over 16-element sub-blocks ------------------------

inline float dot_q2_K(int64_t n, const block_q2_K* x, const block_q8_K* y) noexcept {
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const uint8_t* q2 = x[b].qs;
        const int8_t* q8 = y[b].qs;
        const __m128i packed = load128(x[b].scales);
        const __m128i scales = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
        const __m256i min_sum = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins), load256(y[b].bsums));
        acc_min = scale_add(min_sum, -y[b].d * half_to_float(x[b].dmin), acc_min);

        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
#if EMBER_SIMD_512
        __m512i wide = _mm512_setzero_si512();
#endif
#if EMBER_SIMD_512
        const __m512i all_scales = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(scales));
#endif
        for (int h = 0; h < 2; ++h) {
#if EMBER_SIMD_512
            // Bit pairs 0,1 of the 32 bytes are elements 0..63 of this half, pairs 2,3 are 64..127.
            const __m512i sc2 = broadcast_lane(all_scales, h);
            const __m512i q = broadcast256(q2 + 32 * h);
            const __m512i m3z = _mm512_set1_epi8(3);
            const __m512i v01 = _mm512_and_si512(_mm512_srlv_epi16(q, halves_epi16(0, 2)), m3z);
            const __m512i v23 = _mm512_and_si512(_mm512_srlv_epi16(q, halves_epi16(4, 6)), m3z);
            const __m512i p01 = _mm512_maddubs_epi16(v01, load512(q8 + 128 * h));
            const __m512i p23 = _mm512_maddubs_epi16(v23, load512(q8 + 128 * h + 64));
            const __m512i t = dot_i16(wide, p01, _mm512_shuffle_epi8(sc2, pick_words(0, 1, 2, 3)));
            wide = dot_i16(t, p23, _mm512_shuffle_epi8(sc2, pick_words(4, 5, 6, 7)));
            (void)m3;
#else
            const __m256i sc = half_scales(scales, h, false);
            const __m256i q = in_register(load256(q2 + 32 * h));
            const int8_t* a = q8 + 128 * h;
            const __m256i v0 = _mm256_and_si256(q, m3);
            const __m256i v1 = _mm256_and_si256(_mm256_srli_epi16(q, 2), m3);
            const __m256i v2 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m3);
            const __m256i v3 = _mm256_and_si256(_mm256_srli_epi16(q, 6), m3);
            s0 = dot_i16(s0, _mm256_maddubs_epi16(v0, load256(a)), _mm256_shuffle_epi8(sc, pick_words(0, 1)));
            s1 = dot_i16(s1, _mm256_maddubs_epi16(v1, load256(a + 32)), _mm256_shuffle_epi8(sc, pick_words(2, 3)));
            s0 = dot_i16(s0, _mm256_maddubs_epi16(v2, load256(a + 64)), _mm256_shuffle_epi8(sc, pick_words(4, 5)));
            s1 = dot_i16(s1, _mm256_maddubs_epi16(v3, load256(a + 96)), _mm256_shuffle_epi8(sc, pick_words(6, 7)));
#endif
        }
#if EMBER_SIMD_512
        s0 = fold(wide);
#endif
        acc = scale_add(_mm256_add_epi32(s0, s1), y[b].d * half_to_float(x[b].d), acc);
    }
    return hsum(acc) + hsum(acc_min);
}

// ---- Q3_K: q = q2 + 4·hbit - 4 in -4..3, x = d·s_j·q over 16-element sub-blocks -----------------

inline float dot_q3_K(int64_t n, const block_q3_K* x, const block_q8_K* y) noexcept {
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const uint8_t* q2 = x[b].qs;
        const int8_t* q8 = y[b].qs;
        const __m128i scales = q3_scales(x[b].scales);
        // The unsigned quant q + 4 is what gets multiplied; 4·Σ s_j·bsum_j takes the bias back.
        const __m256i bias = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales), load256(y[b].bsums));
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
#if EMBER_SIMD_512
        __m512i wide = _mm512_setzero_si512();
#endif
#if EMBER_SIMD_512
        const __m512i hbits = broadcast256(x[b].hmask);
        const __m512i m3z = _mm512_set1_epi8(3), m4z = _mm512_set1_epi8(4);
        (void)m3, (void)m4;
#else
        __m256i hbits = load256(x[b].hmask);
#endif
#if EMBER_SIMD_512
        const __m512i all_scales = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(scales));
#endif
        for (int h = 0; h < 2; ++h) {
#if EMBER_SIMD_512
            const __m512i sc2 = broadcast_lane(all_scales, h);
            const __m512i q = broadcast256(q2 + 32 * h);
            __m512i v01 = _mm512_and_si512(_mm512_srlv_epi16(q, halves_epi16(0, 2)), m3z);
            __m512i v23 = _mm512_and_si512(_mm512_srlv_epi16(q, halves_epi16(4, 6)), m3z);
            // Element 32k + l has its high bit in bit k of hmask[l], k = 4h .. 4h+3.
            const int k = 4 * h;
            v01 = _mm512_mask_add_epi8(v01, _mm512_test_epi8_mask(hbits, halves_epi8(1 << k, 1 << (k + 1))), v01, m4z);
            v23 = _mm512_mask_add_epi8(v23, _mm512_test_epi8_mask(hbits, halves_epi8(1 << (k + 2), 1 << (k + 3))), v23, m4z);
            const __m512i p01 = _mm512_maddubs_epi16(v01, load512(q8 + 128 * h));
            const __m512i p23 = _mm512_maddubs_epi16(v23, load512(q8 + 128 * h + 64));
            const __m512i t = dot_i16(wide, p01, _mm512_shuffle_epi8(sc2, pick_words(0, 1, 2, 3)));
            wide = dot_i16(t, p23, _mm512_shuffle_epi8(sc2, pick_words(4, 5, 6, 7)));
#else
            const __m256i sc = half_scales(scales, h, true);
            const __m256i q = in_register(load256(q2 + 32 * h));
            const int8_t* a = q8 + 128 * h;
            for (int s = 0; s < 4; ++s) {
                // Bit 0 of every byte of hbits is the high bit of this group; move it to bit 2.
                const __m256i high = _mm256_and_si256(_mm256_slli_epi16(hbits, 2), m4);
                hbits = _mm256_srli_epi16(hbits, 1);
                const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), m3), high);
                const __m256i p = _mm256_maddubs_epi16(v, load256(a + 32 * s));
                if (s % 2 == 0)
                    s0 = dot_i16(s0, p, _mm256_shuffle_epi8(sc, pick_words(2 * s, 2 * s + 1)));
                else
                    s1 = dot_i16(s1, p, _mm256_shuffle_epi8(sc, pick_words(2 * s, 2 * s + 1)));
            }
#endif
        }
#if EMBER_SIMD_512
        s0 = fold(wide);
#endif
        const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(s0, s1), _mm256_slli_epi32(bias, 2));
        acc = scale_add(sumi, y[b].d * half_to_float(x[b].d), acc);
    }
    return hsum(acc);
}

// ---- Q4_K / Q5_K: q in 0..15 (0..31), x = d·sc_j·q - dmin·m_j over 32-element sub-blocks --------

// Σ_j m_j·(bsum_2j + bsum_2j+1) from the mins in bytes 8-15 of `sm`: each min doubled to the pair
// of 16-element bsums it covers.
inline __m256i k4_min_sum(__m128i sm, const int16_t* bsums) noexcept {
    return _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm)), load256(bsums));
}

template <bool five_bits, class Block> float dot_k4(int64_t n, const Block* x, const block_q8_K* y) noexcept {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const uint8_t* q4 = x[b].qs;
        const int8_t* q8 = y[b].qs;
        const __m128i sm = k4_scales_mins(x[b].scales);
        acc_min = scale_add(k4_min_sum(sm, y[b].bsums), -y[b].d * half_to_float(x[b].dmin), acc_min);
        const __m128i sc8 = _mm_cvtepu8_epi16(sm);
#if EMBER_SIMD_512
        // Chunk c (64 elements): the 32 bytes broadcast to both halves, the upper half shifted by
        // 4, so the register holds elements 64c .. 64c+63 in order, sub-block 2c then 2c+1.
        const __m512i sc = _mm512_broadcast_i32x4(sc8);
        const __m512i m4z = _mm512_set1_epi8(0x0f);
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        [[maybe_unused]] __m512i high;
        if constexpr (five_bits) high = broadcast256(x[b].qh);
        auto chunk = [&](int c, __m512i s) {
            __m512i v = broadcast256(q4 + 32 * c);
            v = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xffff0000u, v, 4), m4z);
            if constexpr (five_bits) {
                // bit k of qh[l] is bit 4 of element 32k + l: k = 2c for the low half, 2c+1 high
                const __mmask64 set = _mm512_test_epi8_mask(high, halves_epi8(1 << (2 * c), 1 << (2 * c + 1)));
                v = _mm512_mask_add_epi8(v, set, v, _mm512_set1_epi8(16));
            }
            const __m512i p = _mm512_maddubs_epi16(v, load512(q8 + 64 * c));
            return dot_i16(s, p, _mm512_shuffle_epi8(sc, pick_words(2 * c, 2 * c, 2 * c + 1, 2 * c + 1)));
        };
        s0 = chunk(0, s0);
        s1 = chunk(1, s1);
        s0 = chunk(2, s0);
        s1 = chunk(3, s1);
        const __m256i sumi = fold(_mm512_add_epi32(s0, s1));
        (void)m4;
#else
        const __m256i sc = _mm256_broadcastsi128_si256(sc8);
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        [[maybe_unused]] __m256i high;
        if constexpr (five_bits) high = load256(x[b].qh);
        for (int c = 0; c < 4; ++c) {
            const __m256i q = in_register(load256(q4 + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if constexpr (five_bits) {
                // bits 0 and 1 of `high` belong to this chunk's two sub-blocks; move them to bit 4
                const __m256i bit4 = _mm256_set1_epi8(0x10);
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(high, 4), bit4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(high, 3), bit4));
                high = _mm256_srli_epi16(high, 2);
            }
            s0 = dot_i16(s0, _mm256_maddubs_epi16(lo, load256(q8 + 64 * c)), _mm256_shuffle_epi8(sc, pick_words(2 * c, 2 * c)));
            s1 = dot_i16(s1, _mm256_maddubs_epi16(hi, load256(q8 + 64 * c + 32)),
                         _mm256_shuffle_epi8(sc, pick_words(2 * c + 1, 2 * c + 1)));
        }
        const __m256i sumi = _mm256_add_epi32(s0, s1);
#endif
        acc = scale_add(sumi, y[b].d * half_to_float(x[b].d), acc);
    }
    return hsum(acc) + hsum(acc_min);
}

// ---- Q6_K: q = (low4 | high2 << 4) - 32 in -32..31, x = d·sc_j·q over 16-element sub-blocks -----

inline float dot_q6_K(int64_t n, const block_q6_K* x, const block_q8_K* y) noexcept {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / qk_k; ++b) {
        const int8_t* q8 = y[b].qs;
        const __m128i scales = load128(x[b].scales);
        // The unsigned quant q + 32 is what gets multiplied; 32·Σ s_j·bsum_j takes the bias back.
        const __m256i scales16 = _mm256_cvtepi8_epi16(scales);
        const __m256i bias = _mm256_madd_epi16(scales16, load256(y[b].bsums));
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
#if EMBER_SIMD_512
        __m512i wide = _mm512_setzero_si512();
        const __m512i all_scales = _mm512_castsi256_si512(scales16);
#endif
        for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = x[b].ql + 64 * h;
            const uint8_t* qh = x[b].qh + 32 * h;
            const int8_t* a = q8 + 128 * h;
#if EMBER_SIMD_512
            // ql[0..63] low nibbles are elements 0..63 of the half, high nibbles 64..127; qh bit
            // pair k of byte l belongs to element 32k + l.
            const __m512i m4z = _mm512_set1_epi8(0x0f), m30z = _mm512_set1_epi8(0x30);
            const __m512i sc2 = broadcast_lane(all_scales, h);
            const __m512i low = load512(ql);
            const __m512i high = broadcast256(qh);
            const __m512i v01 = _mm512_or_si512(_mm512_and_si512(low, m4z),
                                                _mm512_and_si512(_mm512_sllv_epi16(high, halves_epi16(4, 2)), m30z));
            const __m512i v23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low, 4), m4z),
                                                _mm512_and_si512(_mm512_srlv_epi16(high, halves_epi16(0, 2)), m30z));
            const __m512i p01 = _mm512_maddubs_epi16(v01, load512(a));
            const __m512i p23 = _mm512_maddubs_epi16(v23, load512(a + 64));
            const __m512i t = dot_i16(wide, p01, _mm512_shuffle_epi8(sc2, pick_words(0, 1, 2, 3)));
            wide = dot_i16(t, p23, _mm512_shuffle_epi8(sc2, pick_words(4, 5, 6, 7)));
            (void)m4, (void)m30;
#else
            const __m256i sc = half_scales(scales, h, true);
            const __m256i l0 = in_register(load256(ql)), l1 = in_register(load256(ql + 32)), hb = in_register(load256(qh));
            const __m256i v0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
            const __m256i v1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
            const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30));
            const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                               _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
            s0 = dot_i16(s0, _mm256_maddubs_epi16(v0, load256(a)), _mm256_shuffle_epi8(sc, pick_words(0, 1)));
            s1 = dot_i16(s1, _mm256_maddubs_epi16(v1, load256(a + 32)), _mm256_shuffle_epi8(sc, pick_words(2, 3)));
            s0 = dot_i16(s0, _mm256_maddubs_epi16(v2, load256(a + 64)), _mm256_shuffle_epi8(sc, pick_words(4, 5)));
            s1 = dot_i16(s1, _mm256_maddubs_epi16(v3, load256(a + 96)), _mm256_shuffle_epi8(sc, pick_words(6, 7)));
#endif
        }
#if EMBER_SIMD_512
        s0 = fold(wide);
#endif
        const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(s0, s1), _mm256_slli_epi32(bias, 5));
        acc = scale_add(sumi, y[b].d * half_to_float(x[b].d), acc);
    }
    return hsum(acc);
}

// ---- table entries ---------------------------------------------------------------------------------

inline void q2_K_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_q2_K(n, static_cast<const block_q2_K*>(x), static_cast<const block_q8_K*>(y));
}
inline void q3_K_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_q3_K(n, static_cast<const block_q3_K*>(x), static_cast<const block_q8_K*>(y));
}
inline void q4_K_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_k4<false>(n, static_cast<const block_q4_K*>(x), static_cast<const block_q8_K*>(y));
}
inline void q5_K_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_k4<true>(n, static_cast<const block_q5_K*>(x), static_cast<const block_q8_K*>(y));
}
inline void q6_K_entry(int64_t n, float* s, const void* x, const void* y) {
    *s = dot_q6_K(n, static_cast<const block_q6_K*>(x), static_cast<const block_q8_K*>(y));
}

inline void register_kquants_dot(kernel_table& t) {
    slot(t, ggml_type::q2_K).vec_dot = q2_K_entry;
    slot(t, ggml_type::q3_K).vec_dot = q3_K_entry;
    slot(t, ggml_type::q4_K).vec_dot = q4_K_entry;
    slot(t, ggml_type::q5_K).vec_dot = q5_K_entry;
    slot(t, ggml_type::q6_K).vec_dot = q6_K_entry;
}

}  // namespace ember::kernels::EMBER_SIMD_NS
