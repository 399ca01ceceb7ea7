// The primitives a transformer forward pass is made of, one small function each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ember/vocab.hpp"
#include "model/model_impl.hpp"
#include "core/thread_pool.hpp"

namespace ember::detail {

// y = x / sqrt(mean(x^2) + eps) * w   (w may be null: no gain)
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// One kind of rotary position embedding: theta_i = scale · (pos · base^(-2i/n_rot)) / factors[i]
// (formats.md §6.4; factors: phi3's long/short RoPE, null = 1), rotations scaled by attn_factor.
struct rope_spec {
    int64_t n_rot = 0;
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;
    rope_type type = rope_type::norm;
    const float* factors = nullptr;  // (n_rot / 2) or null
    float attn_factor = 1.0f;        // cos and sin scaled by it (rope.scaling.attn_factor, ggml's mscale)
};

// cos and sin of position pos's angles: cs[2i] = cos(theta_i), cs[2i + 1] = sin(theta_i), with
// theta stepped by repeated multiplication in f32, exactly as llama.cpp does.
void rope_angles(const rope_spec& r, int32_t pos, float* cs);
// Rotates the first n_rot dims of each of n_heads heads (head_dim apart) by the angles cs.
void rope_apply(const rope_spec& r, float* v, int64_t n_heads, int64_t head_dim, const float* cs);
// Both: rotates by position `pos`.
void rope(const rope_spec& r, float* v, int64_t n_heads, int64_t head_dim, int32_t pos);

// g = silu(g) * u, elementwise
void swiglu(float* g, const float* u, int64_t n);
// g = gelu(g) * u, elementwise, GELU with the tanh approximation computed as llama.cpp's CPU
// backend does: g rounded to f16 and looked up in a table of f16 results (exact: 0 below -10, g
// above 10).
void geglu(float* g, const float* u, int64_t n);
// x = c · tanh(x / c), elementwise (Gemma's logit soft-capping)
void softcap(float* x, int64_t n, float c);

// Numerically stable softmax in place.
void softmax(float* x, int64_t n);

// Y[t, r] = sum_c W[r, c] * X[t, c] for t < n_tok; X rows are w.cols floats apart, Y rows
// w.rows floats apart. Activations are converted once to the weight type's vec_dot_type.
void matmul(const weight& w, const float* x, int64_t n_tok, float* y, thread_pool& pool,
            std::vector<std::byte>& scratch);

// One product of a matmul group: y = w · x, y with w.rows floats per token.
struct matmul_out {
    const weight* w;
    float* y;
};

// Several products of the same activations (the query, key and value projections; the gate and
// up projections), all weights with the same number of columns: the activations are converted
// once per distinct vec_dot_type, and every product runs in one pool operation, so the threads
// meet once instead of once per product and the small products fill the gaps of the large one.
// Results are those of matmul() on each weight alone. At most k_max_matmul_group products.
inline constexpr size_t k_max_matmul_group = 4;
void matmul_group(const matmul_out* outs, size_t n_outs, const float* x, int64_t n_tok, thread_pool& pool,
                  std::vector<std::byte>& scratch);

// out[i, :] = the dequantized row ids[i] of the table (token embeddings).
void get_rows(const weight& table, const token_id* ids, int64_t n, float* out);

}  // namespace ember::detail
