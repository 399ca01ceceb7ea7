// The packed Q4_K form (block_q4_K_x16, kernels.hpp packed_kernels) on the x86 tiers: the dot of
// 16 rows with one Q8_K activation row (generation) and the batched product (prompt).
//
// Lane r of every vector is row r, so nothing is shuffled: each 64-byte vector of quants gives
// the low nibbles (four elements of each row) and the high nibbles (the next four); one
// broadcast of four activation quants multiplies each, and after a 32-element sub-block the
// int32 sums of all rows are multiplied by the rows' scales at once. The mins term
// Σ_j m_j·(bsum_2j + bsum_2j+1) takes four dot_i16 per super-block, again for all rows. 256-bit
// tiers run the 16 rows as two halves of 8. The integer sums are exact (|Σ_j sc_j·dot_j| ≤
// 8·63·32·15·127 < 2^31), so the packed kernels differ from the row kernels only by float
// rounding.
//
// Without VNNI the products go through maddubs into int16, and the eight maddubs of a
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

inline size_t q4_K_x16_work(int64_t k, int64_t) noexcept { return size_t(k / qk_k) * kq_tile<8>::bytes; }

inline void q4_K_x16_gemm(const gemm_args& a) {
    const int64_t n_sb = a.k / qk_k;
    auto* tile = static_cast<uint8_t*>(a.work);
    const auto* act = static_cast<const uint8_t*>(a.act);
    for (int64_t g = 0; g < a.n_rows / 16; ++g) {
        const auto* x = reinterpret_cast<const block_q4_K_x16*>(static_cast<const uint8_t*>(a.w) + size_t(g) * a.w_row_bytes);
        for (int h = 0; h < k_halves; ++h) {
            q4_K_x16_convert(x, n_sb, h, tile);
            const int64_t r0 = 16 * g + V * h;
            // while the last half's tokens pass, the next group into L2 (prefetcher counts in
            // "rows" of group_bytes / V, V of them per group)
            const int64_t n_units = a.n_rows / 16 * V;
            const prefetcher next(static_cast<const uint8_t*>(a.w), a.w_row_bytes / V, h + 1 == k_halves ? V * (g + 1) : n_units,
                                  n_units, a.n_tok, kq_n_tok);
            int64_t t = 0;
            auto run = [&]<int N>() {
                next.fetch(t);
                kq_tokens<N, 8, true>(tile, n_sb, act + size_t(t) * a.act_row_bytes, a.act_row_bytes, a.y + t * a.y_stride + r0,
                                      a.y_stride, V);
                t += N;
            };
            while (t + kq_n_tok <= a.n_tok) run.template operator()<kq_n_tok>();
            if (kq_n_tok > 4 && t + 4 <= a.n_tok) run.template operator()<4>();
            if (t + 2 <= a.n_tok) run.template operator()<2>();
            if (t < a.n_tok) run.template operator()<1>();
        }
    }
}

inline void q4_K_x16_dot_entry(int64_t k, float* s, const void* x, const void* y) { q4_K_x16_dot(k, s, x, y); }

inline void register_packed(kernel_table& t) {
    static const packed_kernels q4_K_x16{packed::q4_K_x16_bytes, packed::pack_q4_K_x16, packed::unpack_q4_K_x16,
                                         q4_K_x16_dot_entry,     q4_K_x16_gemm,         q4_K_x16_work,
                                         true};
    slot(t, ggml_type::q4_K).packed = &q4_K_x16;
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
