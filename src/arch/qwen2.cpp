// qwen2: Qwen 2 / 2.5 (and the DeepSeek-R1 Qwen distills). Llama plus biases on the q, k and v
// projections, RoPE on halves (NEOX); output tied to the embeddings in the small models.
#include "arch/arch.hpp"

namespace ember::detail {

void load_qwen2(model::impl& m, const log_fn& log) { load_transformer(m, log, {.rope = rope_type::neox, .qkv_bias = true}); }

}  // namespace ember::detail
