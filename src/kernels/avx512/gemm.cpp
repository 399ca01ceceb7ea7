// Batched products (gemm) of this directory's tier (see simd_gemm_base.hpp).
#include "kernels/simd_gemm.hpp"
#include "kernels/simd_tier.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_gemm_kernels(kernel_table& t) { gemm::register_gemm(t); }

}  // namespace ember::kernels::EMBER_SIMD_NS
