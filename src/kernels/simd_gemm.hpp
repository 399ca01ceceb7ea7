// Every batched product of a tier (gemm_fn, kernels.hpp), for the tier files' gemm.cpp: the
// K-quant and Q8_0 kernels, the float kernel, and for the remaining types a loop over the tier's
// own vec_dot.
#pragma once

#include "kernels/simd_gemm_float.hpp"
#include "kernels/simd_gemm_kquants.hpp"
#include "kernels/simd_gemm_q8_0.hpp"
#include "kernels/simd_legacy.hpp"
#include "kernels/simd_packed.hpp"

namespace ember::kernels::EMBER_SIMD_NS::gemm {

inline void register_gemm(kernel_table& t) {
    register_kquants_gemm(t);
    register_q8_0_gemm(t);
    register_float_gemm(t);
    register_packed(t);
    slot(t, ggml_type::q4_1).gemm = gemm_by_vec_dot<offset_entry<block_q4_1>>;
    slot(t, ggml_type::q5_1).gemm = gemm_by_vec_dot<offset_entry<block_q5_1>>;
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
