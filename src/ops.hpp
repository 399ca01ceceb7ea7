// The primitives a transformer forward pass is made of, one small function each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ember/vocab.hpp"
#include "model_impl.hpp"
#include "thread_pool.hpp"

namespace ember::detail {

// y = x / sqrt(mean(x^2) + eps) * w   (w may be null: no gain)
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// Rotates the first n_rot dims of each of n_heads heads (head_dim apart) by position `pos`.
void rope(float* v, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos, float freq_base,
          float freq_scale, rope_type type);

// g = silu(g) * u, elementwise
void swiglu(float* g, const float* u, int64_t n);

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
