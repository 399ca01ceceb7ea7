// The parts of a model that the forward pass needs: weight views into the mapped file.
#pragma once

#include <memory>
#include <vector>

#include "ember/model.hpp"
#include "gguf/huge_region.hpp"

namespace ember {

namespace detail {

// A weight matrix y = W x with `rows` outputs of `cols` inputs each; row r is `cols` elements
// of `type` starting at data + r * row_bytes. GGUF dims are [cols, rows].
struct weight {
    const gguf_tensor* tensor = nullptr;
    ggml_type type = ggml_type::f32;
    int64_t cols = 0;
    int64_t rows = 0;
    size_t row_bytes = 0;
    const std::byte* data = nullptr;
    // Packed (kernels.hpp packed_kernels): rows interleaved in groups of k_pack_rows, group g at
    // data + g·group_bytes; row() is then meaningless.
    bool packed = false;
    size_t group_bytes = 0;

    const std::byte* row(int64_t r) const noexcept { return data + size_t(r) * row_bytes; }
    explicit operator bool() const noexcept { return data != nullptr; }
};

// One layer's weights. Optional parts are empty when the architecture has none; which are present
// is fixed per model (model_hparams' feature flags say so).
struct decoder_layer {
    std::vector<float> attn_norm;  // (n_embd)
    weight wq;                     // (n_embd -> n_head * head_dim), rows permuted for NORM rope
    weight wk;                     // (n_embd -> n_head_kv * head_dim)
    weight wv;                     // (n_embd -> n_head_kv * head_dim)
    std::vector<float> bq, bk, bv; // biases of wq, wk, wv (qkv_bias)
    std::vector<float> q_norm;     // (head_dim) per-head RMS norm weights of q (qk_norm)
    std::vector<float> k_norm;     // (head_dim) and of k
    weight wo;                     // (n_head * head_dim -> n_embd)
    std::vector<float> post_attn_norm;  // (n_embd) norm of the attention output (post_norms)
    std::vector<float> ffn_norm;   // (n_embd)
    weight w_gate;                 // (n_embd -> n_ff)
    weight w_up;                   // (n_embd -> n_ff)
    weight w_down;                 // (n_ff -> n_embd)
    std::vector<float> post_ffn_norm;  // (n_embd) norm of the FFN output (post_norms)
};

}  // namespace detail

struct model::impl {
    gguf_file file;
    model_hparams hp;
    ember::vocab vocab;
    detail::weight token_embd;     // (n_embd per token, n_vocab rows)
    std::vector<float> output_norm;  // (n_embd)
    detail::weight output;         // (n_embd -> n_vocab); token_embd when tied
    std::vector<detail::decoder_layer> layers;  // (n_layer)
    // (n_rot / 2) RoPE frequency divisors (phi3 "longrope"): short for contexts up to the original
    // training context, long beyond it; empty = none.
    std::vector<float> rope_factors_short, rope_factors_long;
    uint64_t fingerprint = 0;
    std::unique_ptr<detail::huge_region> packed;  // the packed matrices, if any (pack_weights.cpp)
};

namespace detail {
// Packs every matrix of m that the active ISA multiplies faster packed (kernels.hpp
// packed_kernels) and releases its pages in the file. Run after everything that reads the
// file's tensor data (the fingerprint).
void pack_weights(model::impl& m);
}  // namespace detail

}  // namespace ember
