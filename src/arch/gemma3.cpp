// gemma3: Gemma 3 text models. Embeddings scaled by sqrt(n_embd); per-head q/k norms; the
// attention and FFN outputs RMS-normed before their residual adds; GELU (tanh) gate; output
// tied to the embeddings. Five of every six layers (attention.sliding_window_pattern, default 6)
// attend over a local window (attention.sliding_window) with RoPE base rope.freq_base_swa and no
// RoPE scaling; the others are global. Norm weights are used as stored (llama.cpp's converter
// has already added Gemma's +1).
#include <cmath>

#include "arch/arch.hpp"

namespace ember::detail {

namespace {

void gemma3_hparams(const gguf_file&, model_hparams& hp) {
    // Gemma's query scale: 1/sqrt(head_dim), except the 27B model (62 layers), which uses
    // 1/sqrt(n_embd / n_head) (llama.cpp, after gemma_pytorch's config).
    hp.attn_scale = hp.n_layer == 62 ? 1.0f / std::sqrt(float(hp.n_embd / hp.n_head)) : 1.0f / std::sqrt(float(hp.head_dim));
}

}  // namespace

void load_gemma3(model::impl& m, const log_fn& log) {
    load_transformer(m, log,
                     {.rope = rope_type::neox,
                      .act = ffn_activation::gelu_tanh,
                      .qk_norm = true,
                      .post_norms = true,
                      .scale_embd = true,
                      .logit_softcap = true,
                      .sliding_window = true,
                      .default_swa_pattern = 6,
                      .swa_rope_scale = 1.0f,
                      .arch_hparams = gemma3_hparams});
}

}  // namespace ember::detail
