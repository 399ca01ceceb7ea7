// Architecture registry. Each architecture reads its hyperparameters from the GGUF metadata and
// binds its tensors; the forward pass (decoder.cpp) is shared by the decoder-only transformers
// whose differences are expressed in model_hparams and the layer weights.
#pragma once

#include <string>
#include <string_view>

#include "model/model_impl.hpp"

namespace ember::detail {

struct arch_desc {
    std::string_view name;
    void (*load)(model::impl& m, const log_fn& log);  // hparams + weights, fully validated
};

const arch_desc* find_arch(std::string_view name) noexcept;
std::string supported_arch_names();

// Helpers for binding tensors with validation; errors name the file and tensor.
weight bind_matrix(const gguf_file& f, const std::string& name, int64_t cols, int64_t rows, bool need_matmul = true);
std::vector<float> bind_vector(const gguf_file& f, const std::string& name, int64_t n);

// What an architecture declares: its RoPE, which optional parts its layers have, and the
// hyperparameters of its own. load_transformer() reads everything from these; the forward pass
// never asks for the architecture's name.
struct arch_traits {
    rope_type rope = rope_type::norm;
    ffn_activation act = ffn_activation::silu;
    bool qkv_bias = false;        // attn_{q,k,v}.bias required
    bool qk_norm = false;         // attn_q_norm / attn_k_norm required
    bool post_norms = false;      // post_attention_norm / post_ffw_norm required
    bool fused_qkv = false;       // attn_qkv accepted in place of attn_q/k/v
    bool fused_gate_up = false;   // ffn_up holds gate and up (2·n_ff rows, gate first); no ffn_gate
    bool scale_embd = false;      // embeddings times sqrt(n_embd)
    bool logit_softcap = false;   // {arch}.final_logit_softcapping honoured
    bool sliding_window = false;  // {arch}.attention.sliding_window(_pattern), rope.freq_base_swa
    int64_t default_swa_pattern = 0;  // the period when the pattern key is absent
    float swa_rope_scale = 0.0f;  // the local layers' RoPE scale (0 = the global one)
    bool rope_factors = false;    // rope_factors_long/short tensors ("longrope") accepted
    void (*arch_hparams)(const gguf_file& f, model_hparams& hp) = nullptr;  // anything else, after the common keys
};

void load_transformer(model::impl& m, const log_fn& log, const arch_traits& t);
// Rows [first, first + n) of w, as a weight of its own (fused matrices are split into views).
weight rows_of(const weight& w, int64_t first, int64_t n);

void load_llama(model::impl& m, const log_fn& log);
void load_qwen2(model::impl& m, const log_fn& log);
void load_qwen3(model::impl& m, const log_fn& log);
void load_gemma3(model::impl& m, const log_fn& log);
void load_phi3(model::impl& m, const log_fn& log);

}  // namespace ember::detail
