// Batched product of Q8_0 weights with Q8_0 activations (see simd_gemm_base.hpp for the layout).
//
// Per 32-element block: eight dot_u8s8 per token into a fresh int32 sum per row, then one
// conversion and one FMA with d_w·d_a. dot_u8s8 multiplies unsigned by signed bytes, and both
// sides here are signed:
//  * with VNNI the tile stores w + 128 (0..255) and the sum is corrected by 128·Σa of the
//    token's block, computed once per call with its d_a in float (the "token info" array);
//  * without VNNI that would saturate maddubs' int16 pairs (2·255·127), so the tile keeps w and
//    the kernel moves w's sign onto the activation (dot_s8s8), |w| ≤ 128 and |a| ≤ 127.
#pragma once

#include "kernels/simd_gemm_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS::gemm {

struct q8_token_info {
    float d;     // d_a of the block
    int32_t c;   // 128·Σ a of the block (VNNI) or 0
};

inline size_t q8_quads(int64_t k) noexcept { return round_up(size_t(k) / 4, V); }  // per row, padded
inline size_t q8_tile_bytes(int64_t k) noexcept { return q8_quads(k) * vbytes + size_t(k / qk) * vbytes; }

inline size_t q8_work(int64_t k, int64_t) noexcept { return q8_tile_bytes(k) + V * q8_quads(k) * 4; }
inline size_t q8_prep_bytes(int64_t k) noexcept { return size_t(k / qk) * sizeof(q8_token_info); }

// A weight block's 32 quants as signed bytes: Q8_0's as stored; Q4_0's and Q5_0's (symmetric,
// one scale, Q8_0 activations too) unpacked, so that their batched product is Q8_0's.
inline __m256i block_quants(const block_q8_0& x) noexcept { return load256(x.qs); }
inline __m256i block_quants(const block_q4_0& x) noexcept {
    alignas(32) int8_t q[qk];
    for (int j = 0; j < qk / 2; ++j) {
        q[j] = int8_t((x.qs[j] & 0x0F) - 8);
        q[j + qk / 2] = int8_t((x.qs[j] >> 4) - 8);
    }
    return load256(q);
}
inline __m256i block_quants(const block_q5_0& x) noexcept {
    uint32_t qh;
    std::memcpy(&qh, x.qh, sizeof qh);
    alignas(32) int8_t q[qk];
    for (int j = 0; j < qk / 2; ++j) {
        q[j] = int8_t(((x.qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16);
        q[j + qk / 2] = int8_t(((x.qs[j] >> 4) | (((qh >> (j + qk / 2)) & 1) << 4)) - 16);
    }
    return load256(q);
}

// Tile: the quant vectors of all blocks (block b: vectors 8b .. 8b+7), then one d vector per block.
template <class Block = block_q8_0>
inline void q8_convert(const uint8_t* w, size_t w_row_bytes, int64_t n_rows, int64_t k, uint8_t* tile, uint8_t* rowbuf) noexcept {
    const int64_t nb = k / qk;
    const size_t row_len = q8_quads(k) * 4;
    auto* d = reinterpret_cast<float*>(tile + q8_quads(k) * vbytes);
    const uint8_t* rows[V];
    for (int r = 0; r < V; ++r) {
        uint8_t* dst = rowbuf + size_t(r) * row_len;
        rows[r] = dst;
        std::memset(dst, 0, row_len);
        if (r >= n_rows) {
            for (int64_t b = 0; b < nb; ++b) d[b * V + r] = 0.0f;
            continue;
        }
        const auto* x = reinterpret_cast<const Block*>(w + size_t(r) * w_row_bytes);
        for (int64_t b = 0; b < nb; ++b) {
            __m256i q = block_quants(x[b]);
#if EMBER_SIMD_VNNI
            q = _mm256_xor_si256(q, _mm256_set1_epi8(char(0x80)));
#endif
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 32 * b), q);
            d[b * V + r] = half_to_float(x[b].d);
        }
    }
    transpose_rows(rows, int(q8_quads(k)), tile);
}

// The gemm_prepare of Q8_0: per activation row, one q8_token_info per block.
inline void q8_prepare(const void* act_v, size_t act_row, int64_t n_tok, int64_t k, void* out_v) noexcept {
    const auto* act = static_cast<const uint8_t*>(act_v);
    auto* out = static_cast<q8_token_info*>(out_v);
    const int64_t nb = k / qk;
    for (int64_t t = 0; t < n_tok; ++t) {
        const auto* x = reinterpret_cast<const block_q8_0*>(act + size_t(t) * act_row);
        for (int64_t b = 0; b < nb; ++b) {
            q8_token_info& o = out[t * nb + b];
            o.d = half_to_float(x[b].d);
#if EMBER_SIMD_VNNI
            const __m256i sums = dot_u8s8(_mm256_setzero_si256(), _mm256_set1_epi8(1), load256(x[b].qs));
            o.c = 128 * hsum_i32(sums);
#else
            o.c = 0;
#endif
        }
    }
}

template <int N>
void q8_tokens(const uint8_t* tile, int64_t k, const uint8_t* act, size_t act_row, const q8_token_info* info, float* y,
               int64_t y_stride, int64_t n_rows) noexcept {
    const int64_t nb = k / qk;
    const auto* dw = reinterpret_cast<const float*>(tile + q8_quads(k) * vbytes);
    fvec acc[N];
    for (int t = 0; t < N; ++t) acc[t] = vzerof();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* T = tile + size_t(b) * 8 * vbytes;
        const uint8_t* a = act + size_t(b) * sizeof(block_q8_0) + offsetof(block_q8_0, qs);
        ivec s[N];
        for (int t = 0; t < N; ++t) s[t] = vzero();
        for (int g = 0; g < 8; ++g) {
            const ivec w = vload(T + size_t(g) * vbytes);
#if EMBER_SIMD_VNNI
            for (int t = 0; t < N; ++t) s[t] = dot_u8s8(s[t], w, vbcast(a + size_t(t) * act_row + 4 * g));
#else
            for (int t = 0; t < N; ++t) s[t] = dot_s8s8(s[t], w, vbcast(a + size_t(t) * act_row + 4 * g));
#endif
        }
        const fvec d = vloadf(dw + b * V);
        for (int t = 0; t < N; ++t) {
            const q8_token_info& ti = info[t * nb + b];
#if EMBER_SIMD_VNNI
            s[t] = vsub(s[t], vbcast(&ti.c));
#endif
            acc[t] = vfmadd(vcvt(s[t]), vmulf(d, vbcastf(&ti.d)), acc[t]);
        }
    }
    store_tokens<N>(acc, y, y_stride, n_rows);
}

inline constexpr int q8_n_tok = V == 16 ? 8 : 4;

template <class Block = block_q8_0>
void q8_gemm(const gemm_args& a) {
    const int64_t nb = a.k / qk;
    auto* tile = static_cast<uint8_t*>(a.work);
    uint8_t* rowbuf = tile + q8_tile_bytes(a.k);
    const auto* info = static_cast<const q8_token_info*>(a.prep);
    const auto* w = static_cast<const uint8_t*>(a.w);
    const auto* act = static_cast<const uint8_t*>(a.act);
    for (int64_t r0 = 0; r0 < a.n_rows; r0 += V) {
        const int64_t nr = min64(V, a.n_rows - r0);
        q8_convert<Block>(w + size_t(r0) * a.w_row_bytes, a.w_row_bytes, nr, a.k, tile, rowbuf);
        int64_t t = 0;
        auto run = [&]<int N>() {
            q8_tokens<N>(tile, a.k, act + size_t(t) * a.act_row_bytes, a.act_row_bytes, info + t * nb, a.y + t * a.y_stride + r0,
                         a.y_stride, nr);
            t += N;
        };
        while (t + q8_n_tok <= a.n_tok) run.template operator()<q8_n_tok>();
        if (q8_n_tok > 4 && t + 4 <= a.n_tok) run.template operator()<4>();
        if (t + 2 <= a.n_tok) run.template operator()<2>();
        if (t < a.n_tok) run.template operator()<1>();
    }
}

template <class Block>
void register_q8_style_gemm(kernel_table& t, ggml_type type) {
    type_kernels& k = slot(t, type);
    k.gemm = q8_gemm<Block>;
    k.gemm_work = q8_work;
    k.gemm_prep_bytes = q8_prep_bytes;
    k.gemm_prepare = q8_prepare;
    k.gemm_rows = V;
    k.gemm_min_tok = 4;
}

// Q4_0 and Q5_0 (Gemma's and other models' fallback for rows no K-quant block divides) share
// Q8_0's kernel: their weights are unpacked to bytes in the tile.
inline void register_q8_0_gemm(kernel_table& t) {
    register_q8_style_gemm<block_q8_0>(t, ggml_type::q8_0);
    register_q8_style_gemm<block_q4_0>(t, ggml_type::q4_0);
    register_q8_style_gemm<block_q5_0>(t, ggml_type::q5_0);
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
