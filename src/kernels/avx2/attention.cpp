// Attention tile and SiLU kernels of this directory's tier (see simd_attention.hpp).
#include "kernels/simd_attention.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

detail::attention_kernels attention_kernels() { return {attn::attend_f32, attn::attend_f16, attn::silu_mul}; }

}  // namespace ember::kernels::EMBER_SIMD_NS
