// What each tier directory (src/kernels/avx2, avxvnni, avx512, avx512vnni) compiles: one
// translation unit per kernel family, each exporting a registration function in the tier's own
// namespace, and register.cpp, which calls them for dispatch. Only tier files include this.
#pragma once

#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_float_kernels(kernel_table& t);   // float.cpp: F32, F16, BF16
void register_legacy_kernels(kernel_table& t);  // legacy.cpp: Q4_0 … Q8_1
void register_kquant_kernels(kernel_table& t);  // kquants.cpp: Q2_K … Q8_K
void register_gemm_kernels(kernel_table& t);    // gemm.cpp: batched products

}  // namespace ember::kernels::EMBER_SIMD_NS
