// Batched products of the K-quants Q2_K … Q6_K with Q8_K activations (see simd_gemm_base.hpp for
// the rows-in-lanes layout, formats.md §2.4-2.8 and §3.3 for the blocks).
//
// Every K-quant super-block is converted to one common form, so one kernel serves all five:
//   unsigned quants u_e (0..63), a scale s_j per sub-block, a "min" weight mn_j per 16 elements,
//   dot = d_a · (d · Σ_j s_j Σ_{e∈j} u_e a_e  -  dmin · Σ_j mn_j · bsum_j)
// Q4_K/Q5_K: sub-blocks of 32 with their mins. Q2_K: the 4-bit scale folded into the quant
// (u = sc·q ≤ 45 still fits a byte), so it has no per-sub-block multiply at all. Q3_K/Q6_K store
// q + 4 (q + 32) and take the offset back as mn_j = 4·s_j (32·s_j); that correction is subtracted
// in int32 before the one conversion to float, as the vec_dot kernels do, so no large float
// terms cancel.
//
// Integer ranges: u·a pair sums ≤ 2·63·127 (maddubs cannot saturate); per super-block and lane
// |Σ s_j·P_j| ≤ 16·128·16·63·127 ≈ 2.6e8 < 2^31 (Q6_K, the widest).
#pragma once

#include "kernels/simd_gemm_base.hpp"
#include "kernels/simd_kquants.hpp"

namespace ember::kernels::EMBER_SIMD_NS::gemm {

// The scales of one weight row's super-block in the common form (its quants go straight to the
// row buffer).
struct kq_scales {
    int16_t sc[16];  // per 16-element sub-block (Q4_K/Q5_K: each 32-element scale twice)
    int16_t mn[16];
    float d, dmin;
};

// ---- per-type unpacking (256-bit code on every tier: it runs once per row and call) --------------

inline __m256i bits_to_bytes(__m256i v, int shift, int mask) noexcept {
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(char(mask)));
}
inline void store256(uint8_t* p, __m256i v) noexcept { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

inline void unpack_row(const block_q2_K& b, uint8_t* u, kq_scales& o) noexcept {
    for (int h = 0; h < 2; ++h) {
        const __m256i q = load256(b.qs + 32 * h);
        for (int s = 0; s < 4; ++s) {
            // elements 128h + 32s + l: sub-block j = 8h + 2s in the low 16 bytes, j + 1 in the high
            const int j = 8 * h + 2 * s;
            auto times = [&](int sc) { return int32_t(uint32_t(sc) << 8 | uint32_t(2 * sc) << 16 | uint32_t(3 * sc) << 24); };
            const int32_t lo = times(b.scales[j] & 15), hi = times(b.scales[j + 1] & 15);
            const __m256i table = _mm256_setr_epi32(lo, lo, lo, lo, hi, hi, hi, hi);
            store256(u + 128 * h + 32 * s, _mm256_shuffle_epi8(table, bits_to_bytes(q, 2 * s, 3)));
        }
    }
    for (int j = 0; j < 16; ++j) {
        o.sc[j] = 1;
        o.mn[j] = int16_t(b.scales[j] >> 4);
    }
    o.d = half_to_float(b.d);
    o.dmin = half_to_float(b.dmin);
}

inline void unpack_row(const block_q3_K& b, uint8_t* u, kq_scales& o) noexcept {
    const __m256i hm = load256(b.hmask);
    for (int h = 0; h < 2; ++h) {
        const __m256i q = load256(b.qs + 32 * h);
        for (int s = 0; s < 4; ++s) {
            // bit 4h + s of hmask[l] is the high bit of element 128h + 32s + l: set means q2 + 4
            const __m256i high = _mm256_slli_epi16(bits_to_bytes(hm, 4 * h + s, 1), 2);
            store256(u + 128 * h + 32 * s, _mm256_or_si256(bits_to_bytes(q, 2 * s, 3), high));
        }
    }
    alignas(16) int8_t s[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(s), q3_scales(b.scales));
    for (int j = 0; j < 16; ++j) {
        o.sc[j] = s[j];
        o.mn[j] = int16_t(4 * s[j]);
    }
    o.d = half_to_float(b.d);
    o.dmin = 0.0f;
}

template <bool five_bits, class Block> void unpack_k4(const Block& b, uint8_t* u, kq_scales& o) noexcept {
    for (int c = 0; c < 4; ++c) {
        const __m256i q = load256(b.qs + 32 * c);
        __m256i lo = _mm256_and_si256(q, _mm256_set1_epi8(0x0f)), hi = bits_to_bytes(q, 4, 0x0f);
        if constexpr (five_bits) {
            // bit k of qh[l] is bit 4 of element 32k + l: k = 2c (lo), 2c + 1 (hi)
            const __m256i qh = load256(b.qh);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(bits_to_bytes(qh, 2 * c, 1), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(bits_to_bytes(qh, 2 * c + 1, 1), 4));
        }
        store256(u + 64 * c, lo);
        store256(u + 64 * c + 32, hi);
    }
    alignas(16) uint8_t sm[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(sm), k4_scales_mins(b.scales));
    for (int j = 0; j < 16; ++j) {
        o.sc[j] = sm[j / 2];
        o.mn[j] = sm[8 + j / 2];
    }
    o.d = half_to_float(b.d);
    o.dmin = half_to_float(b.dmin);
}
inline void unpack_row(const block_q4_K& b, uint8_t* u, kq_scales& o) noexcept { unpack_k4<false>(b, u, o); }
inline void unpack_row(const block_q5_K& b, uint8_t* u, kq_scales& o) noexcept { unpack_k4<true>(b, u, o); }

inline void unpack_row(const block_q6_K& b, uint8_t* u, kq_scales& o) noexcept {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; ++h) {
        const __m256i l0 = load256(b.ql + 64 * h), l1 = load256(b.ql + 64 * h + 32), hb = load256(b.qh + 32 * h);
        uint8_t* uh = u + 128 * h;
        store256(uh, _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30)));
        store256(uh + 32, _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30)));
        store256(uh + 64, _mm256_or_si256(bits_to_bytes(l0, 4, 0x0f), _mm256_and_si256(hb, m30)));
        store256(uh + 96, _mm256_or_si256(bits_to_bytes(l1, 4, 0x0f), _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30)));
    }
    for (int j = 0; j < 16; ++j) {
        o.sc[j] = b.scales[j];
        o.mn[j] = int16_t(32 * b.scales[j]);
    }
    o.d = half_to_float(b.d);
    o.dmin = 0.0f;
}

// ---- the tile -------------------------------------------------------------------------------------

// subq: 4-quad groups per sub-block scale (4: 16 elements, 8: 32, 64: no scales, Q2_K).
// mins: a separate dmin term (Q2_K, Q4_K, Q5_K) rather than an integer offset (Q3_K, Q6_K).
template <class Block> struct kq_traits;
template <> struct kq_traits<block_q2_K> { static constexpr int subq = 64; static constexpr bool mins = true; };
template <> struct kq_traits<block_q3_K> { static constexpr int subq = 4; static constexpr bool mins = false; };
template <> struct kq_traits<block_q4_K> { static constexpr int subq = 8; static constexpr bool mins = true; };
template <> struct kq_traits<block_q5_K> { static constexpr int subq = 8; static constexpr bool mins = true; };
template <> struct kq_traits<block_q6_K> { static constexpr int subq = 4; static constexpr bool mins = false; };

// One super-block of a row group, in tile vectors: 64 quant vectors, the sub-block scales, eight
// vectors of int16 min pairs (mn_2p, mn_2p+1), d, and dmin.
template <int subq> struct kq_tile {
    static constexpr int n_sub = subq == 64 ? 0 : 64 / subq;
    static constexpr size_t sc = 64 * vbytes;
    static constexpr size_t mn = sc + n_sub * vbytes;
    static constexpr size_t d = mn + 8 * vbytes;
    static constexpr size_t dmin = d + vbytes;
    static constexpr size_t bytes = dmin + vbytes;
};

// Converts rows [0, n_rows) (n_rows ≤ V, the rest padded with zeros) of n_sb super-blocks. Each
// row is read front to back (the hardware prefetcher follows one stream at a time) into a row
// buffer of V·k quants; the quants of each super-block are then transposed into the tile.
template <class Block>
void kq_convert(const uint8_t* w, size_t w_row_bytes, int64_t n_rows, int64_t n_sb, uint8_t* tile, uint8_t* rowbuf) noexcept {
    using L = kq_tile<kq_traits<Block>::subq>;
    const size_t row_len = size_t(n_sb) * qk_k;
    for (int r = 0; r < V; ++r) {
        const auto* x = reinterpret_cast<const Block*>(w + size_t(r) * w_row_bytes);
        for (int64_t sb = 0; sb < n_sb; ++sb) {
            uint8_t* u = rowbuf + size_t(r) * row_len + size_t(sb) * qk_k;
            kq_scales o;
            if (r < n_rows) {
                unpack_row(x[sb], u, o);
            } else {
                std::memset(u, 0, qk_k);
                std::memset(&o, 0, sizeof o);
            }
            uint8_t* t = tile + size_t(sb) * L::bytes;
            auto* sc = reinterpret_cast<int32_t*>(t + L::sc);
            auto* mn = reinterpret_cast<int16_t*>(t + L::mn);
            for (int j = 0; j < L::n_sub; ++j) {
                const int16_t v = o.sc[j * (16 / L::n_sub)];
#if EMBER_SIMD_VNNI
                sc[j * V + r] = v;  // multiplies the int32 sub-block sums (vpmulld)
#else
                sc[j * V + r] = int32_t(uint32_t(uint16_t(v)) * 0x10001u);  // both words, for madd
#endif
            }
            for (int p = 0; p < 8; ++p) {
                mn[(p * V + r) * 2] = o.mn[2 * p];
                mn[(p * V + r) * 2 + 1] = o.mn[2 * p + 1];
            }
            reinterpret_cast<float*>(t + L::d)[r] = o.d;
            reinterpret_cast<float*>(t + L::dmin)[r] = o.dmin;
        }
    }
    for (int64_t sb = 0; sb < n_sb; ++sb) {
        const uint8_t* rows[V];
        for (int r = 0; r < V; ++r) rows[r] = rowbuf + size_t(r) * row_len + size_t(sb) * qk_k;
        transpose_rows(rows, 64, tile + size_t(sb) * L::bytes);
    }
}

// ---- the kernel: one row group × N tokens -----------------------------------------------------------

template <int N, int subq, bool mins>
void kq_tokens(const uint8_t* tile, int64_t n_sb, const uint8_t* act, size_t act_row, float* y, int64_t y_stride,
               int64_t n_rows) noexcept {
    using L = kq_tile<subq>;
    fvec acc[N];
    for (int t = 0; t < N; ++t) acc[t] = vzerof();
    for (int64_t sb = 0; sb < n_sb; ++sb) {
        const uint8_t* T = tile + size_t(sb) * L::bytes;
        const uint8_t* a = act + size_t(sb) * sizeof(block_q8_K);
        auto quads = [&](int t, int g) { return vbcast(a + size_t(t) * act_row + offsetof(block_q8_K, qs) + 4 * g); };
        ivec s[N];
        for (int t = 0; t < N; ++t) s[t] = vzero();
        if constexpr (subq == 64) {
#pragma GCC unroll 4
            for (int g = 0; g < 64; ++g) {
                const ivec w = vload(T + size_t(g) * vbytes);
                for (int t = 0; t < N; ++t) s[t] = dot_u8s8(s[t], w, quads(t, g));
            }
        } else {
            for (int j = 0; j < L::n_sub; ++j) {
                const ivec sc = vload(T + L::sc + size_t(j) * vbytes);
#if EMBER_SIMD_VNNI
                // exact int32 sums of the sub-block, then one multiply by its scale per row
                ivec p[N];
                for (int t = 0; t < N; ++t) p[t] = vzero();
                for (int i = 0; i < subq; ++i) {
                    const ivec w = vload(T + size_t(j * subq + i) * vbytes);
                    for (int t = 0; t < N; ++t) p[t] = dot_u8s8(p[t], w, quads(t, j * subq + i));
                }
                for (int t = 0; t < N; ++t) s[t] = vadd(s[t], vmullo(p[t], sc));
#else
                // int16 pair sums straight into madd with the scale in both words
                for (int i = 0; i < subq; ++i) {
                    const ivec w = vload(T + size_t(j * subq + i) * vbytes);
                    for (int t = 0; t < N; ++t) s[t] = vadd(s[t], vmadd(vmaddubs(w, quads(t, j * subq + i)), sc));
                }
#endif
            }
        }
        ivec m[N];
        for (int t = 0; t < N; ++t) m[t] = vzero();
        for (int p = 0; p < 8; ++p) {
            const ivec mn = vload(T + L::mn + size_t(p) * vbytes);
            for (int t = 0; t < N; ++t)
                m[t] = dot_i16(m[t], mn, vbcast(a + size_t(t) * act_row + offsetof(block_q8_K, bsums) + 4 * p));
        }
        const fvec d = vloadf(reinterpret_cast<const float*>(T + L::d));
        if constexpr (mins) {
            const fvec dmin = vloadf(reinterpret_cast<const float*>(T + L::dmin));
            for (int t = 0; t < N; ++t) {
                const fvec v = vfmsub(d, vcvt(s[t]), vmulf(dmin, vcvt(m[t])));
                acc[t] = vfmadd(v, vbcastf(a + size_t(t) * act_row), acc[t]);
            }
        } else {
            for (int t = 0; t < N; ++t)
                acc[t] = vfmadd(vmulf(d, vbcastf(a + size_t(t) * act_row)), vcvt(vsub(s[t], m[t])), acc[t]);
        }
    }
    store_tokens<N>(acc, y, y_stride, n_rows);
}

// Tokens per pass: accumulators, sums and sub-block sums of N tokens must fit the registers.
inline constexpr int kq_n_tok = V == 16 ? 8 : 4;

template <class Block> size_t kq_work(int64_t k, int64_t) noexcept {
    return size_t(k / qk_k) * kq_tile<kq_traits<Block>::subq>::bytes + size_t(V) * size_t(k);
}

// Every token of the call past one converted row group (rows r0 .. r0 + n_rows-1 of y): passes
// of kq_n_tok tokens, then 4, 2 and 1 for the tail; `next` fetches the next group meanwhile.
template <int subq, bool mins>
void kq_all_tokens(const uint8_t* tile, int64_t n_sb, const gemm_args& a, int64_t r0, int64_t n_rows, const prefetcher& next) noexcept {
    const auto* act = static_cast<const uint8_t*>(a.act);
    int64_t t = 0;
    auto run = [&]<int N>() {
        next.fetch(t);
        kq_tokens<N, subq, mins>(tile, n_sb, act + size_t(t) * a.act_row_bytes, a.act_row_bytes, a.y + t * a.y_stride + r0, a.y_stride,
                                 n_rows);
        t += N;
    };
    while (t + kq_n_tok <= a.n_tok) run.template operator()<kq_n_tok>();
    if (kq_n_tok > 4 && t + 4 <= a.n_tok) run.template operator()<4>();
    if (t + 2 <= a.n_tok) run.template operator()<2>();
    if (t < a.n_tok) run.template operator()<1>();
}

template <class Block> void kq_gemm(const gemm_args& a) {
    constexpr int subq = kq_traits<Block>::subq;
    constexpr bool mins = kq_traits<Block>::mins;
    const int64_t n_sb = a.k / qk_k;
    auto* tile = static_cast<uint8_t*>(a.work);
    uint8_t* rowbuf = tile + size_t(n_sb) * kq_tile<subq>::bytes;
    const auto* w = static_cast<const uint8_t*>(a.w);
    for (int64_t r0 = 0; r0 < a.n_rows; r0 += V) {
        const int64_t nr = min64(V, a.n_rows - r0);
        kq_convert<Block>(w + size_t(r0) * a.w_row_bytes, a.w_row_bytes, nr, n_sb, tile, rowbuf);
        kq_all_tokens<subq, mins>(tile, n_sb, a, r0, nr, prefetcher(w, a.w_row_bytes, r0 + V, a.n_rows, a.n_tok, kq_n_tok));
    }
}

template <class Block> void register_kq_gemm(type_kernels& k) {
    k.gemm = kq_gemm<Block>;
    k.gemm_work = kq_work<Block>;
    k.gemm_rows = V;
    k.gemm_min_tok = 4;
}

inline void register_kquants_gemm(kernel_table& t) {
    register_kq_gemm<block_q2_K>(slot(t, ggml_type::q2_K));
    register_kq_gemm<block_q3_K>(slot(t, ggml_type::q3_K));
    register_kq_gemm<block_q4_K>(slot(t, ggml_type::q4_K));
    register_kq_gemm<block_q5_K>(slot(t, ggml_type::q5_K));
    register_kq_gemm<block_q6_K>(slot(t, ggml_type::q6_K));
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
