// Attention over the KV cache, one tile of keys at a time with an online softmax (no buffer that
// grows with the context), and the SiLU-gated product of the feed-forward block.
//
// The kernels work on a group of query rows that read the same keys (the query heads sharing one
// KV head, or one head), so each key and value row is loaded once for the whole group:
//
//   s_rj  = scale · q_r · k_j                          for the T keys j of the tile
//   m_r'  = max(m_r, max_j s_rj)
//   l_r'  = l_r · e^(m_r - m_r') + Σ_j e^(s_rj - m_r')
//   acc_r' = acc_r · e^(m_r - m_r') + Σ_j e^(s_rj - m_r') · v_j
//
// and the output of row r is acc_r / l_r after the last tile. The scalar versions (attention.cpp)
// are the reference; the x86 tiers (kernels/<tier>/attention.cpp) are tested against them.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ember/kernels.hpp"

namespace ember::detail {

struct attn_rows {
    const float* q = nullptr;  // (n_rows, head_dim) queries, rows head_dim apart
    int64_t n_rows = 0;
    int64_t head_dim = 0;
    float scale = 1.0f;
    float* m = nullptr;        // (n_rows) running maximum, -inf at the start
    float* l = nullptr;        // (n_rows) running denominator, 0 at the start
    float* acc = nullptr;      // (n_rows, head_dim) running numerator, 0 at the start
    float* scores = nullptr;   // (n_rows, k_attn_tile) scratch
    float* tile = nullptr;     // (2, k_attn_tile, head_dim) scratch: a tile's keys and values as
                               // f32, converted once for all rows (optional: null = convert per row)

    // The state before the first tile: m = -inf, l = 0, acc = 0.
    void start() const {
        std::fill(m, m + n_rows, -INFINITY);
        std::fill(l, l + n_rows, 0.0f);
        std::fill(acc, acc + n_rows * head_dim, 0.0f);
    }
};

constexpr int64_t k_attn_tile = 64;  // keys per kernel call, at most

// 0, 1, 2, ...: the row indices of a tile converted to a contiguous f32 buffer.
inline constexpr std::array<int32_t, k_attn_tile> k_attn_iota = [] {
    std::array<int32_t, k_attn_tile> a{};
    for (int32_t i = 0; i < int32_t(k_attn_tile); ++i) a[size_t(i)] = i;
    return a;
}();

// Keys and values of the tile: n_keys rows, row j at k + idx[j] * k_stride elements (likewise v).
using attend_f32_fn = void (*)(const attn_rows& r, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                               const int32_t* idx, int64_t n_keys);
using attend_f16_fn = void (*)(const attn_rows& r, const uint16_t* k, int64_t k_stride, const uint16_t* v,
                               int64_t v_stride, const int32_t* idx, int64_t n_keys);
// g[i] = silu(g[i]) · u[i]
using silu_mul_fn = void (*)(float* g, const float* u, int64_t n);

struct attention_kernels {
    attend_f32_fn attend_f32 = nullptr;
    attend_f16_fn attend_f16 = nullptr;
    silu_mul_fn silu_mul = nullptr;
};

// The scalar references (also the fallback of the SIMD tiers for head sizes they do not cover).
void attend_f32_ref(const attn_rows& r, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                    const int32_t* idx, int64_t n_keys);
void attend_f16_ref(const attn_rows& r, const uint16_t* k, int64_t k_stride, const uint16_t* v, int64_t v_stride,
                    const int32_t* idx, int64_t n_keys);
void silu_mul_ref(float* g, const float* u, int64_t n);

// The kernels of an instruction set (the scalar ones when the CPU lacks it), and of the active one.
const attention_kernels& attention_kernels_for(kernels::isa i) noexcept;
inline const attention_kernels& attention_kernels_active() noexcept { return attention_kernels_for(kernels::active_isa()); }

}  // namespace ember::detail

#if defined(EMBER_HAVE_X86_KERNELS)
namespace ember::kernels::avx2 {
detail::attention_kernels attention_kernels();
}
namespace ember::kernels::avx512 {
detail::attention_kernels attention_kernels();
}
#endif
