// phi3: Phi-3 / Phi-3.5 / Phi-4-mini. One fused attn_qkv matrix (q rows, then k, then v) and a
// fused ffn_up holding the gate's rows and then the up projection's; RoPE on halves (NEOX); the
// 128k variants carry long and short RoPE frequency factors ("longrope"): the short ones for a
// context up to rope.scaling.original_context_length, the long ones beyond.
#include "arch/arch.hpp"

namespace ember::detail {

void load_phi3(model::impl& m, const log_fn& log) {
    load_transformer(m, log, {.rope = rope_type::neox, .fused_qkv = true, .fused_gate_up = true, .rope_factors = true});
}

}  // namespace ember::detail
