// The packed K-quant forms (block_q4_K_x16, block_q2_K_x16, block_q3_K_x16, block_q6_K_x16;
// kernels.hpp packed_kernels) on the x86 tiers: the dot of 16 rows with one Q8_K activation row
// (generation) and the batched product (prompt).
//
// Lane r of every vector is row r, so nothing is shuffled: each 64-byte vector of quants gives
// four elements of each row per nibble (Q4_K, the low bits of Q6_K) or bit pair (Q2_K, Q3_K);
// one broadcast of four activation quants multiplies them, and after a sub-block the int32 sums
// of all rows are multiplied by the rows' scales at once. The mins and offsets (Σ_j m_j·bsum_j)
// take a few dot_i16 per super-block, again for all rows. 256-bit tiers run the 16 rows as two
// halves of 8. The integer sums are exact (bounds per type below), so the packed kernels differ
// from the row kernels only by float rounding. Every block is a whole number of 64-byte lines
// and is read front to back: the hardware prefetcher then streams it at full speed.
//
// Q4_K without VNNI: the products go through maddubs into int16, and the eight maddubs of a
// sub-block are summed in int16 before one madd with the scale: each is at most
// 2·15·127 = 3810, eight at most 30480 < 32767.
#pragma once

#include "kernels/packed.hpp"
#include "kernels/simd_gemm_kquants.hpp"

namespace ember::kernels::EMBER_SIMD_NS::gemm {

inline constexpr int k_halves = 16 / V;  // passes over a group: 1 (512-bit), 2 (256-bit)

#if EMBER_SIMD_512
inline ivec vloadu(const void* p) noexcept { return _mm512_loadu_si512(p); }
inline ivec vand(ivec a, ivec b) noexcept { return _mm512_and_si512(a, b); }
inline ivec vsrl4(ivec a) noexcept { return _mm512_srli_epi16(a, 4); }
inline ivec vset8(char c) noexcept { return _mm512_set1_epi8(c); }
inline ivec vadd16(ivec a, ivec b) noexcept { return _mm512_add_epi16(a, b); }
inline ivec vsll16(ivec a) noexcept { return _mm512_slli_epi32(a, 16); }
inline ivec vsrl16(ivec a, int n) noexcept { return _mm512_srl_epi16(a, _mm_cvtsi32_si128(n)); }
inline ivec vsll16n(ivec a, int n) noexcept { return _mm512_sll_epi16(a, _mm_cvtsi32_si128(n)); }
inline ivec vsra32_16(ivec a) noexcept { return _mm512_srai_epi32(a, 16); }
inline ivec vsll32_16(ivec a) noexcept { return _mm512_slli_epi32(a, 16); }
template <int n> ivec vslli16(ivec a) noexcept { return _mm512_slli_epi16(a, n); }
template <int n> ivec vslli32(ivec a) noexcept { return _mm512_slli_epi32(a, n); }
inline ivec sbytes_to_i16(const int8_t* p) noexcept { return _mm512_cvtepi8_epi16(load256(p)); }  // 2V bytes
inline ivec vsrl32_16(ivec a) noexcept { return _mm512_srli_epi32(a, 16); }
inline ivec vset32(int32_t v) noexcept { return _mm512_set1_epi32(v); }
inline ivec vor(ivec a, ivec b) noexcept { return _mm512_or_si512(a, b); }
inline ivec bytes_to_i32(const uint8_t* p) noexcept { return _mm512_cvtepu8_epi32(load128(p)); }  // V bytes
inline ivec bytes_to_i16(const uint8_t* p) noexcept { return _mm512_cvtepu8_epi16(load256(p)); }  // 2V bytes
inline fvec halves_to_f32(const uint16_t* p) noexcept { return _mm512_cvtph_ps(load256(p)); }
inline fvec vset1f(float f) noexcept { return _mm512_set1_ps(f); }
inline fvec vsubf(fvec a, fvec b) noexcept { return _mm512_sub_ps(a, b); }
#else
inline ivec vloadu(const void* p) noexcept { return load256(p); }
inline ivec vand(ivec a, ivec b) noexcept { return _mm256_and_si256(a, b); }
inline ivec vsrl4(ivec a) noexcept { return _mm256_srli_epi16(a, 4); }
inline ivec vset8(char c) noexcept { return _mm256_set1_epi8(c); }
inline ivec vadd16(ivec a, ivec b) noexcept { return _mm256_add_epi16(a, b); }
inline ivec vsll16(ivec a) noexcept { return _mm256_slli_epi32(a, 16); }
inline ivec vsrl16(ivec a, int n) noexcept { return _mm256_srl_epi16(a, _mm_cvtsi32_si128(n)); }
inline ivec vsll16n(ivec a, int n) noexcept { return _mm256_sll_epi16(a, _mm_cvtsi32_si128(n)); }
inline ivec vsra32_16(ivec a) noexcept { return _mm256_srai_epi32(a, 16); }
inline ivec vsll32_16(ivec a) noexcept { return _mm256_slli_epi32(a, 16); }
template <int n> ivec vslli16(ivec a) noexcept { return _mm256_slli_epi16(a, n); }
template <int n> ivec vslli32(ivec a) noexcept { return _mm256_slli_epi32(a, n); }
inline ivec sbytes_to_i16(const int8_t* p) noexcept { return _mm256_cvtepi8_epi16(load128(p)); }  // 2V bytes
inline ivec vsrl32_16(ivec a) noexcept { return _mm256_srli_epi32(a, 16); }
inline ivec vset32(int32_t v) noexcept { return _mm256_set1_epi32(v); }
inline ivec vor(ivec a, ivec b) noexcept { return _mm256_or_si256(a, b); }
inline ivec bytes_to_i32(const uint8_t* p) noexcept { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline ivec bytes_to_i16(const uint8_t* p) noexcept { return _mm256_cvtepu8_epi16(load128(p)); }
inline fvec halves_to_f32(const uint16_t* p) noexcept { return _mm256_cvtph_ps(load128(p)); }
inline fvec vset1f(float f) noexcept { return _mm256_set1_ps(f); }
inline fvec vsubf(fvec a, fvec b) noexcept { return _mm256_sub_ps(a, b); }
#endif

// Σ over sub-block j of each lane's 32 quants times the activation, times the lane's scale.
inline ivec q4x16_sub_block(const block_q4_K_x16& w, const int8_t* a, int j, int h, ivec m4) noexcept {
    const size_t lane0 = size_t(4 * V * h);  // byte offset of this half's first row in a vector
#if EMBER_SIMD_VNNI
    ivec p0 = vzero(), p1 = vzero();
    for (int v = 0; v < 4; ++v) {
        const ivec q = vloadu(w.qs[j][v] + lane0);
        p0 = dot_u8s8(p0, vand(q, m4), vbcast(a + 32 * j + 8 * v));
        p1 = dot_u8s8(p1, vand(vsrl4(q), m4), vbcast(a + 32 * j + 8 * v + 4));
    }
    return vmullo(vadd(p0, p1), bytes_to_i32(w.sc[j] + V * h));
#else
    ivec p = vzero();
    for (int v = 0; v < 4; ++v) {
        const ivec q = vloadu(w.qs[j][v] + lane0);
        p = vadd16(p, vmaddubs(vand(q, m4), vbcast(a + 32 * j + 8 * v)));
        p = vadd16(p, vmaddubs(vand(vsrl4(q), m4), vbcast(a + 32 * j + 8 * v + 4)));
    }
    const ivec sc = bytes_to_i32(w.sc[j] + V * h);
    return vmadd(p, vor(sc, vsll16(sc)));  // the scale in both words
#endif
}

// The activation's bsums summed per 32-element sub-block, as the int16 pairs the mins are
// stored in: pairs[p] = (bsum32_2p, bsum32_2p+1).
inline void q8_K_min_pairs(const block_q8_K& a, int32_t (&pairs)[4]) noexcept {
    for (int p = 0; p < 4; ++p) {
        const int s0 = a.bsums[4 * p] + a.bsums[4 * p + 1], s1 = a.bsums[4 * p + 2] + a.bsums[4 * p + 3];
        pairs[p] = int32_t(uint32_t(uint16_t(s0)) | uint32_t(uint16_t(s1)) << 16);
    }
}

inline void q4_K_x16_dot(int64_t k, float* s, const void* vx, const void* vy) noexcept {
    const auto* x = static_cast<const block_q4_K_x16*>(vx);
    const auto* y = static_cast<const block_q8_K*>(vy);
    const ivec m4 = vset8(0x0f);
    fvec acc[k_halves], acc_min[k_halves];
    for (int h = 0; h < k_halves; ++h) acc[h] = acc_min[h] = vzerof();
    for (int64_t sb = 0; sb < k / qk_k; ++sb) {
        const block_q4_K_x16& w = x[sb];
        const block_q8_K& a = y[sb];
        int32_t pairs[4];
        q8_K_min_pairs(a, pairs);
        const fvec ad = vset1f(a.d);
        for (int h = 0; h < k_halves; ++h) {
            ivec sum = vzero(), mins = vzero();
            for (int j = 0; j < 8; ++j) sum = vadd(sum, q4x16_sub_block(w, a.qs, j, h, m4));
            for (int p = 0; p < 4; ++p) mins = dot_i16(mins, bytes_to_i16(w.mn[p][0] + 2 * V * h), vbcast(&pairs[p]));
            acc[h] = vfmadd(vmulf(halves_to_f32(w.d + V * h), ad), vcvt(sum), acc[h]);
            acc_min[h] = vfmadd(vmulf(halves_to_f32(w.dmin + V * h), ad), vcvt(mins), acc_min[h]);
        }
    }
    for (int h = 0; h < k_halves; ++h) vstoreuf(s + V * h, vsubf(acc[h], acc_min[h]));
}

// ---- the batched product: packed groups straight into kq_tokens' tile -----------------------------

// Rows V·h .. V·h + V-1 of a group into the tile of kq_tokens<N, 8, true> (simd_gemm_kquants.hpp):
// quant vector 8j + 2v + i is sub-block j's vector v, low (i = 0) or high (i = 1) nibbles.
inline void q4_K_x16_convert(const block_q4_K_x16* x, int64_t n_sb, int h, uint8_t* tile) noexcept {
    using L = kq_tile<8>;
    const ivec m4 = vset8(0x0f);
    for (int64_t sb = 0; sb < n_sb; ++sb) {
        const block_q4_K_x16& w = x[sb];
        uint8_t* t = tile + size_t(sb) * L::bytes;
        for (int j = 0; j < 8; ++j) {
            for (int v = 0; v < 4; ++v) {
                const ivec q = vloadu(w.qs[j][v] + 4 * V * h);
                vstore(t + size_t(8 * j + 2 * v) * vbytes, vand(q, m4));
                vstore(t + size_t(8 * j + 2 * v + 1) * vbytes, vand(vsrl4(q), m4));
            }
            const ivec sc = bytes_to_i32(w.sc[j] + V * h);
#if EMBER_SIMD_VNNI
            vstore(t + L::sc + size_t(j) * vbytes, sc);
#else
            vstore(t + L::sc + size_t(j) * vbytes, vor(sc, vsll16(sc)));
#endif
        }
        auto* mn = reinterpret_cast<int32_t*>(t + L::mn);
        auto* d = reinterpret_cast<float*>(t + L::d);
        auto* dmin = reinterpret_cast<float*>(t + L::dmin);
        for (int r = 0; r < V; ++r) {
            const int row = V * h + r;
            for (int j = 0; j < 8; ++j) {  // min pair j: sub-block j's min for both halves of 16
                const uint32_t m = w.mn[j / 2][row][j % 2];
                mn[j * V + r] = int32_t(m | m << 16);
            }
            d[r] = half_to_float(w.d[row]);
            dmin[r] = half_to_float(w.dmin[row]);
        }
    }
}

template <int subq> size_t packed_work(int64_t k, int64_t) noexcept { return size_t(k / qk_k) * kq_tile<subq>::bytes; }

// The batched product from packed groups: each half-group (V rows) converted into the tile of
// kq_tokens<N, subq, mins> once, then every token passes it.
template <class Packed, int subq, bool mins, void (*convert)(const Packed*, int64_t, int, uint8_t*) noexcept>
void packed_gemm(const gemm_args& a) {
    const int64_t n_sb = a.k / qk_k;
    auto* tile = static_cast<uint8_t*>(a.work);
    for (int64_t g = 0; g < a.n_rows / 16; ++g) {
        const auto* x = reinterpret_cast<const Packed*>(static_cast<const uint8_t*>(a.w) + size_t(g) * a.w_row_bytes);
        for (int h = 0; h < k_halves; ++h) {
            convert(x, n_sb, h, tile);
            const int64_t r0 = 16 * g + V * h;
            // while the last half's tokens pass, the next group into L2 (prefetcher counts in
            // "rows" of group_bytes / V, V of them per group)
            const int64_t n_units = a.n_rows / 16 * V;
            kq_all_tokens<subq, mins>(tile, n_sb, a, r0, V,
                                      prefetcher(static_cast<const uint8_t*>(a.w), a.w_row_bytes / V,
                                                 h + 1 == k_halves ? V * (g + 1) : n_units, n_units, a.n_tok, kq_n_tok));
        }
    }
}

// ---- Q2_K ----------------------------------------------------------------------------------------------
//
// Sub-block j (16 elements) is one vector: bit pairs 0..3 of its bytes are four quads of each
// row. Scales and mins arrive as int16 pairs (sub-blocks 2p, 2p+1) from the scale bytes. Integer
// bounds: a quad's products ≤ 4·3·127, a sub-block's (4 quads) ≤ 6096 (int16 without VNNI),
// Σ_j sc_j·dot_j ≤ 16·15·6096 < 2^31.

// Σ over sub-block j of each lane's 16 quants times the activation, times the lane's scale sc
// (int32 lanes).
inline ivec q2x16_sub_block(const block_q2_K_x16& w, const int8_t* a, int j, int h, ivec sc) noexcept {
    const ivec m3 = vset8(3);
    const ivec q = vloadu(w.qs[j] + 4 * V * h);
#if EMBER_SIMD_VNNI
    ivec p = vzero();
    for (int i = 0; i < 4; ++i) p = dot_u8s8(p, vand(vsrl16(q, 2 * i), m3), vbcast(a + 16 * j + 4 * i));
    return vmullo(p, sc);
#else
    ivec p = vmaddubs(vand(q, m3), vbcast(a + 16 * j));
    for (int i = 1; i < 4; ++i) p = vadd16(p, vmaddubs(vand(vsrl16(q, 2 * i), m3), vbcast(a + 16 * j + 4 * i)));
    return vmadd(p, vor(sc, vsll16(sc)));
#endif
}

inline void q2_K_x16_dot(int64_t k, float* s, const void* vx, const void* vy) noexcept {
    const auto* x = static_cast<const block_q2_K_x16*>(vx);
    const auto* y = static_cast<const block_q8_K*>(vy);
    const ivec low4 = vset32(0x000f000f), low16 = vset32(0xffff);
    fvec acc[k_halves], acc_min[k_halves];
    for (int h = 0; h < k_halves; ++h) acc[h] = acc_min[h] = vzerof();
    for (int64_t sb = 0; sb < k / qk_k; ++sb) {
        const block_q2_K_x16& w = x[sb];
        const block_q8_K& a = y[sb];
        const fvec ad = vset1f(a.d);
        for (int h = 0; h < k_halves; ++h) {
            ivec sum = vzero(), mins = vzero();
            for (int p = 0; p < 8; ++p) {
                const ivec sm = bytes_to_i16(w.sm[p][0] + 2 * V * h);  // lane r: (sm_2p, sm_2p+1)
                mins = dot_i16(mins, vsrl16(sm, 4), vbcast(a.bsums + 2 * p));
                const ivec sc = vand(sm, low4);
                sum = vadd(sum, q2x16_sub_block(w, a.qs, 2 * p, h, vand(sc, low16)));
                sum = vadd(sum, q2x16_sub_block(w, a.qs, 2 * p + 1, h, vsrl32_16(sc)));
            }
            acc[h] = vfmadd(vmulf(halves_to_f32(w.d + V * h), ad), vcvt(sum), acc[h]);
            acc_min[h] = vfmadd(vmulf(halves_to_f32(w.dmin + V * h), ad), vcvt(mins), acc_min[h]);
        }
    }
    for (int h = 0; h < k_halves; ++h) vstoreuf(s + V * h, vsubf(acc[h], acc_min[h]));
}

// Rows V·h .. V·h + V-1 into the tile of kq_tokens<N, 4, true>: the quants unscaled (u = q),
// a scale vector per 16-element sub-block, the mins as pairs.
inline void q2_K_x16_convert(const block_q2_K_x16* x, int64_t n_sb, int h, uint8_t* tile) noexcept {
    using L = kq_tile<4>;
    const ivec m3 = vset8(3), low4 = vset32(0x000f000f), low16 = vset32(0xffff);
    for (int64_t sb = 0; sb < n_sb; ++sb) {
        const block_q2_K_x16& w = x[sb];
        uint8_t* t = tile + size_t(sb) * L::bytes;
        for (int j = 0; j < 16; ++j) {
            const ivec q = vloadu(w.qs[j] + 4 * V * h);
            for (int i = 0; i < 4; ++i) vstore(t + size_t(4 * j + i) * vbytes, vand(vsrl16(q, 2 * i), m3));
        }
        for (int p = 0; p < 8; ++p) {
            const ivec sm = bytes_to_i16(w.sm[p][0] + 2 * V * h);
            vstore(t + L::mn + size_t(p) * vbytes, vsrl16(sm, 4));
            const ivec sc = vand(sm, low4);
            const ivec sc0 = vand(sc, low16), sc1 = vsrl32_16(sc);
#if EMBER_SIMD_VNNI
            vstore(t + L::sc + size_t(2 * p) * vbytes, sc0);
            vstore(t + L::sc + size_t(2 * p + 1) * vbytes, sc1);
#else
            vstore(t + L::sc + size_t(2 * p) * vbytes, vor(sc0, vsll16(sc0)));
            vstore(t + L::sc + size_t(2 * p + 1) * vbytes, vor(sc1, vsll16(sc1)));
#endif
        }
        vstoref(reinterpret_cast<float*>(t + L::d), halves_to_f32(w.d + V * h));
        vstoref(reinterpret_cast<float*>(t + L::dmin), halves_to_f32(w.dmin + V * h));
    }
}

// ---- Q3_K and Q6_K: signed scales, a constant offset ---------------------------------------------------
//
// The unsigned quants u = q + 4 (Q3_K: low two bits + 4·high bit, 0..7) or u = q + 32 (Q6_K:
// low nibble | top two bits << 4, 0..63) are multiplied, and the offset comes back as
// 4·Σ_j s_j·bsum_j (32·Σ_j s_j·bsum_j) with the signed 16-element sub-block scales s_j. Without
// VNNI two maddubs are summed in int16 before madd: each is at most 2·63·127 = 16002, two at
// most 32004 < 32767. |Σ_j s_j·dot_j| ≤ 16·128·16·63·127 < 2^31.
//
// quad(w, h, g) gives the unsigned quants of quad g (0..63: elements 4g .. 4g+3) of the lanes of
// half h; quad g belongs to sub-block g/4.

// Bit t of every byte of hv moved to bit 2 (the value 4): within 16-bit words both bytes follow.
inline ivec high_bit_4(ivec hv, int t) noexcept {
    return vand(t >= 2 ? vsrl16(hv, t - 2) : vsll16n(hv, 2 - t), vset8(4));
}

inline ivec q3_K_quad(const block_q3_K_x16& w, int h, int g) noexcept {
    const int j = g / 4, i = g % 4;
    const ivec q = vloadu(w.q[j / 2].qs[j % 2] + 4 * V * h), hv = vloadu(w.q[j / 2].hm + 4 * V * h);
    return vor(vand(vsrl16(q, 2 * i), vset8(3)), high_bit_4(hv, 4 * (j % 2) + i));
}

inline ivec q6_K_quad(const block_q6_K_x16& w, int h, int g) noexcept {
    const block_q6_K_x16::pair& q = w.q[g / 8];
    const int gp = g % 8, L = gp / 2, T = gp / 4;  // low-bit and top-bit vectors (blocks.hpp)
    const ivec l = vloadu(q.v[3 * (L / 2) + 2 * (L % 2)] + 4 * V * h), hb = vloadu(q.v[3 * T + 1] + 4 * V * h);
    const ivec low = vand(gp % 2 ? vsrl16(l, 4) : l, vset8(0x0f));
    const int i = gp % 4;  // bit pair i to bits 4-5
    const ivec high = vand(i < 2 ? vsll16n(hb, 4 - 2 * i) : (i == 2 ? hb : vsrl16(hb, 2)), vset8(0x30));
    return vor(low, high);
}

// The signed scale pair (s_2p, s_2p+1) of each lane as the int32 scale of one sub-block: with
// VNNI sign-extended, without it repeated in both words (for madd).
inline ivec scale_lo(ivec scw) noexcept {
#if EMBER_SIMD_VNNI
    return vsra32_16(vsll32_16(scw));
#else
    return vor(vand(scw, vset32(0xffff)), vsll32_16(scw));
#endif
}
inline ivec scale_hi(ivec scw) noexcept {
#if EMBER_SIMD_VNNI
    return vsra32_16(scw);
#else
    return vor(vsrl32_16(scw), vand(scw, vset32(int32_t(0xffff0000u))));
#endif
}

template <class Block, ivec (*quad)(const Block&, int, int) noexcept>
ivec offset_sub_block(const Block& w, const int8_t* a, int j, int h, ivec sc) noexcept {
#if EMBER_SIMD_VNNI
    ivec p = vzero();
    for (int i = 0; i < 4; ++i) p = dot_u8s8(p, quad(w, h, 4 * j + i), vbcast(a + 16 * j + 4 * i));
    return vmullo(p, sc);
#else
    auto pair = [&](int i) {
        return vadd16(vmaddubs(quad(w, h, 4 * j + i), vbcast(a + 16 * j + 4 * i)),
                      vmaddubs(quad(w, h, 4 * j + i + 1), vbcast(a + 16 * j + 4 * i + 4)));
    };
    return vadd(vmadd(pair(0), sc), vmadd(pair(2), sc));
#endif
}

// shift: log2 of the offset (2 for Q3_K's 4, 5 for Q6_K's 32).
template <class Block, ivec (*quad)(const Block&, int, int) noexcept, int shift>
void offset_dot(int64_t k, float* s, const void* vx, const void* vy) noexcept {
    const auto* x = static_cast<const Block*>(vx);
    const auto* y = static_cast<const block_q8_K*>(vy);
    fvec acc[k_halves];
    for (int h = 0; h < k_halves; ++h) acc[h] = vzerof();
    for (int64_t sb = 0; sb < k / qk_k; ++sb) {
        const Block& w = x[sb];
        const block_q8_K& a = y[sb];
        const fvec ad = vset1f(a.d);
        for (int h = 0; h < k_halves; ++h) {
            ivec sum = vzero(), bias = vzero();
            for (int p = 0; p < 8; ++p) {
                const ivec scw = sbytes_to_i16(w.sc[p][0] + 2 * V * h);  // lane r: (s_2p, s_2p+1)
                bias = dot_i16(bias, scw, vbcast(a.bsums + 2 * p));
                sum = vadd(sum, offset_sub_block<Block, quad>(w, a.qs, 2 * p, h, scale_lo(scw)));
                sum = vadd(sum, offset_sub_block<Block, quad>(w, a.qs, 2 * p + 1, h, scale_hi(scw)));
            }
            acc[h] = vfmadd(vmulf(halves_to_f32(w.d + V * h), ad), vcvt(vsub(sum, vslli32<shift>(bias))), acc[h]);
        }
    }
    for (int h = 0; h < k_halves; ++h) vstoreuf(s + V * h, acc[h]);
}

// Rows V·h .. V·h + V-1 into the tile of kq_tokens<N, 4, false>: the unsigned quants, the signed
// scales, and the offset (s_j << shift) as the "min" pairs.
template <class Block, ivec (*quad)(const Block&, int, int) noexcept, int shift>
void offset_convert(const Block* x, int64_t n_sb, int h, uint8_t* tile) noexcept {
    using L = kq_tile<4>;
    for (int64_t sb = 0; sb < n_sb; ++sb) {
        const Block& w = x[sb];
        uint8_t* t = tile + size_t(sb) * L::bytes;
        for (int g = 0; g < 64; ++g) vstore(t + size_t(g) * vbytes, quad(w, h, g));
        for (int p = 0; p < 8; ++p) {
            const ivec scw = sbytes_to_i16(w.sc[p][0] + 2 * V * h);
            vstore(t + L::mn + size_t(p) * vbytes, vslli16<shift>(scw));
            vstore(t + L::sc + size_t(2 * p) * vbytes, scale_lo(scw));
            vstore(t + L::sc + size_t(2 * p + 1) * vbytes, scale_hi(scw));
        }
        vstoref(reinterpret_cast<float*>(t + L::d), halves_to_f32(w.d + V * h));
        vstoref(reinterpret_cast<float*>(t + L::dmin), vzerof());
    }
}

inline void q2_K_x16_dot_entry(int64_t k, float* s, const void* x, const void* y) { q2_K_x16_dot(k, s, x, y); }

inline void q4_K_x16_dot_entry(int64_t k, float* s, const void* x, const void* y) { q4_K_x16_dot(k, s, x, y); }

inline void register_packed(kernel_table& t) {
    static const packed_kernels q4_K_x16{packed::q4_K_x16_bytes,
                                         packed::pack_q4_K_x16,
                                         packed::unpack_q4_K_x16,
                                         q4_K_x16_dot_entry,
                                         packed_gemm<block_q4_K_x16, 8, true, q4_K_x16_convert>,
                                         packed_work<8>,
                                         true};
    slot(t, ggml_type::q4_K).packed = &q4_K_x16;
    static const packed_kernels q2_K_x16{packed::q2_K_x16_bytes,
                                         packed::pack_q2_K_x16,
                                         packed::unpack_q2_K_x16,
                                         q2_K_x16_dot_entry,
                                         packed_gemm<block_q2_K_x16, 4, true, q2_K_x16_convert>,
                                         packed_work<4>,
                                         true};
    slot(t, ggml_type::q2_K).packed = &q2_K_x16;
    static const packed_kernels q3_K_x16{packed::q3_K_x16_bytes,
                                         packed::pack_q3_K_x16,
                                         packed::unpack_q3_K_x16,
                                         offset_dot<block_q3_K_x16, q3_K_quad, 2>,
                                         packed_gemm<block_q3_K_x16, 4, false, offset_convert<block_q3_K_x16, q3_K_quad, 2>>,
                                         packed_work<4>,
                                         true};
    slot(t, ggml_type::q3_K).packed = &q3_K_x16;
    static const packed_kernels q6_K_x16{packed::q6_K_x16_bytes,
                                         packed::pack_q6_K_x16,
                                         packed::unpack_q6_K_x16,
                                         offset_dot<block_q6_K_x16, q6_K_quad, 5>,
                                         packed_gemm<block_q6_K_x16, 4, false, offset_convert<block_q6_K_x16, q6_K_quad, 5>>,
                                         packed_work<4>,
                                         // 256-bit: no faster than the row kernel (bench_kernels
                                         // matvec_packed/Q6_K), so the loader keeps Q6_K rows
                                         EMBER_SIMD_512 != 0};
    slot(t, ggml_type::q6_K).packed = &q6_K_x16;
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
