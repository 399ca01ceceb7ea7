// llama: Llama 1/2/3, Mistral-style dense models, TinyLlama, ... The reference shape every other
// architecture is expressed against: RMS norms, RoPE on adjacent pairs (the converter permutes
// the q and k rows for it), SwiGLU feed-forward, untied or tied output.
#include "arch/arch.hpp"

namespace ember::detail {

void load_llama(model::impl& m, const log_fn& log) { load_transformer(m, log, {.rope = rope_type::norm}); }

}  // namespace ember::detail
