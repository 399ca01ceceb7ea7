// qwen3: Qwen 3 dense models. No biases; each head's q and k are RMS-normed (attn_q_norm,
// attn_k_norm over head_dim) before RoPE on halves (NEOX).
#include "arch/arch.hpp"

namespace ember::detail {

void load_qwen3(model::impl& m, const log_fn& log) { load_transformer(m, log, {.rope = rope_type::neox, .qk_norm = true}); }

}  // namespace ember::detail
