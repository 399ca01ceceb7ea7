// Batched products of the float types F32, F16, BF16 (activations of the same type), and the
// fallback gemm of the types without a kernel of their own (see simd_gemm_base.hpp).
//
// Float: the activations are widened to f32 once per batch (gemm_prepare: one row per token,
// zero-padded to a multiple of V). The weights are converted to f32 in the rows-in-lanes
// layout, one value per lane, in chunks of k_chunk columns by 2V rows (two vectors). The kernel
// keeps 2·N accumulators (2V rows × N tokens) in registers: per column two vector loads, N
// broadcasts and 2·N FMAs. Results accumulate in y across the chunks.
#pragma once

#include "kernels/simd_float.hpp"
#include "kernels/simd_gemm_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS::gemm {

// ---- partial vectors of y (row groups that pass the matrix's last row) -----------------------------

inline fvec vloadf_n(const float* p, int64_t n) noexcept {
#if EMBER_SIMD_512
    return _mm512_maskz_loadu_ps(__mmask16(n >= 16 ? 0xffff : (1u << (n > 0 ? n : 0)) - 1u), p);
#else
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n < 8 ? n : 8)), idx));
#endif
}
inline void vstoref_n(float* p, fvec v, int64_t n) noexcept {
#if EMBER_SIMD_512
    _mm512_mask_storeu_ps(p, __mmask16(n >= 16 ? 0xffff : (1u << (n > 0 ? n : 0)) - 1u), v);
#else
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n < 8 ? n : 8)), idx), v);
#endif
}

// ---- float gemm ----------------------------------------------------------------------------------------

// Columns per tile, and tokens run past one widened tile: the tile is widened and transposed
// once per block of k_tok_block tokens, so that block is large (a prompt batch is one block)
// and the column chunk small enough that the block's activations of the chunk stay in L2.
inline constexpr int64_t k_chunk = 128;
inline constexpr int64_t k_tok_block = 512;
inline constexpr int fl_n_tok = V == 16 ? 12 : 6;

// `Load` (simd_float.hpp) widens the stored type; n values from p into f32, zeros up to `pad`.
template <class Load> void widen(const typename Load::type* p, int64_t n, int64_t pad, float* out) noexcept {
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) Load::full(p + i).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = Load::one(p[i]);
    for (; i < pad; ++i) out[i] = 0.0f;
}

// Prepared activations: per token, its k values in f32, zeros up to a multiple of V.
inline int64_t fl_act_stride(int64_t k) noexcept { return int64_t(round_up(size_t(k), V)); }
inline size_t fl_prep_bytes(int64_t k) noexcept { return size_t(fl_act_stride(k)) * sizeof(float); }
template <class Load> void fl_prepare(const void* act, size_t act_row, int64_t n_tok, int64_t k, void* out) noexcept {
    using T = typename Load::type;
    const int64_t stride = fl_act_stride(k);
    for (int64_t t = 0; t < n_tok; ++t)
        widen<Load>(reinterpret_cast<const T*>(static_cast<const uint8_t*>(act) + size_t(t) * act_row), k, stride,
                    static_cast<float*>(out) + t * stride);
}

// act: column 0 of the chunk for token 0; token t's values act_stride floats further.
template <int N>
void fl_tokens(const float* w0, const float* w1, int64_t cols, const float* act, int64_t act_stride, float* y, int64_t y_stride,
               int64_t n_rows, bool first) noexcept {
    fvec c0[N], c1[N];
    for (int t = 0; t < N; ++t) {
        c0[t] = first ? vzerof() : vloadf_n(y + t * y_stride, n_rows);
        c1[t] = first ? vzerof() : vloadf_n(y + t * y_stride + V, n_rows - V);
    }
    for (int64_t c = 0; c < cols; ++c) {
        const fvec a0 = vloadf(w0 + c * V), a1 = vloadf(w1 + c * V);
        const float* x = act + c;
        for (int t = 0; t < N; ++t) {
            const fvec b = vbcastf(x + t * act_stride);
            c0[t] = vfmadd(a0, b, c0[t]);
            c1[t] = vfmadd(a1, b, c1[t]);
        }
    }
    for (int t = 0; t < N; ++t) {
        vstoref_n(y + t * y_stride, c0[t], n_rows);
        vstoref_n(y + t * y_stride + V, c1[t], n_rows - V);
    }
}

inline size_t fl_work(int64_t, int64_t) noexcept {
    // two tiles and the rows being widened
    return size_t(2 * k_chunk * V + 2 * V * k_chunk) * sizeof(float);
}

template <class Load> void fl_gemm(const gemm_args& a) {
    using T = typename Load::type;
    auto* tile0 = static_cast<float*>(a.work);
    float* tile1 = tile0 + k_chunk * V;
    float* rowbuf = tile1 + k_chunk * V;
    const int64_t act_stride = fl_act_stride(a.k);
    const auto* act = static_cast<const float*>(a.prep);
    const auto* w = static_cast<const uint8_t*>(a.w);
    for (int64_t tb = 0; tb < a.n_tok; tb += k_tok_block) {
        const int64_t nt = min64(k_tok_block, a.n_tok - tb);
        for (int64_t c0 = 0; c0 < a.k; c0 += k_chunk) {
            const int64_t cols = min64(k_chunk, a.k - c0);
            const int64_t padded = int64_t(round_up(size_t(cols), V));
            const float* act_c = act + tb * act_stride + c0;
            for (int64_t r0 = 0; r0 < a.n_rows; r0 += 2 * V) {
                const int64_t nr = min64(2 * V, a.n_rows - r0);
                // the next group's part of this chunk: 2V short runs of columns, fetched ahead
                for (int64_t r = r0 + 2 * V; r < min64(r0 + 4 * V, a.n_rows); ++r)
                    for (int64_t off = 0; off < cols * int64_t(sizeof(T)); off += 64)
                        _mm_prefetch(reinterpret_cast<const char*>(w + size_t(r) * a.w_row_bytes + size_t(c0) * sizeof(T) + size_t(off)),
                                     _MM_HINT_T0);
                const uint8_t* rows[2 * V];
                for (int r = 0; r < 2 * V; ++r) {
                    float* dst = rowbuf + r * k_chunk;
                    rows[r] = reinterpret_cast<const uint8_t*>(dst);
                    if (r < nr)
                        widen<Load>(reinterpret_cast<const T*>(w + size_t(r0 + r) * a.w_row_bytes) + c0, cols, padded, dst);
                    else
                        for (int64_t c = 0; c < padded; ++c) dst[c] = 0.0f;
                }
                transpose_rows(rows, int(padded), reinterpret_cast<uint8_t*>(tile0));
                transpose_rows(rows + V, int(padded), reinterpret_cast<uint8_t*>(tile1));
                int64_t t = 0;
                auto run = [&]<int N>() {
                    // y of the next tokens, read back by the next call: fetched while this one computes
                    if (c0 > 0)
                        for (int64_t u = t + N; u < min64(t + 2 * N, nt); ++u)
                            for (int64_t off = 0; off < nr; off += 16) _mm_prefetch(reinterpret_cast<const char*>(a.y + (tb + u) * a.y_stride + r0 + off), _MM_HINT_T0);
                    fl_tokens<N>(tile0, tile1, padded, act_c + t * act_stride, act_stride, a.y + (tb + t) * a.y_stride + r0, a.y_stride, nr,
                                 c0 == 0);
                    t += N;
                };
                while (t + fl_n_tok <= nt) run.template operator()<fl_n_tok>();
                while (t + 4 <= nt) run.template operator()<4>();
                if (t + 2 <= nt) run.template operator()<2>();
                if (t < nt) run.template operator()<1>();
            }
        }
    }
}

// ---- fallback: one vec_dot per output, row groups kept in cache while every token passes ------------

template <vec_dot_fn dot> void gemm_by_vec_dot(const gemm_args& a) {
    const auto* w = static_cast<const uint8_t*>(a.w);
    const auto* x = static_cast<const uint8_t*>(a.act);
    for (int64_t r0 = 0; r0 < a.n_rows; r0 += 16) {
        const int64_t r1 = min64(r0 + 16, a.n_rows);
        for (int64_t t = 0; t < a.n_tok; ++t)
            for (int64_t r = r0; r < r1; ++r)
                dot(a.k, a.y + t * a.y_stride + r, w + size_t(r) * a.w_row_bytes, x + size_t(t) * a.act_row_bytes);
    }
}

inline void register_float_gemm(kernel_table& t) {
    auto set = [&](ggml_type type, gemm_fn f, gemm_prepare_fn prepare) {
        type_kernels& k = slot(t, type);
        k.gemm = f;
        k.gemm_work = fl_work;
        k.gemm_prep_bytes = fl_prep_bytes;
        k.gemm_prepare = prepare;
        k.gemm_rows = 2 * V;
        k.gemm_min_tok = 2;
    };
    set(ggml_type::f32, fl_gemm<load_f32>, fl_prepare<load_f32>);
    set(ggml_type::f16, fl_gemm<load_f16>, fl_prepare<load_f16>);
    set(ggml_type::bf16, fl_gemm<load_bf16>, fl_prepare<load_bf16>);
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
