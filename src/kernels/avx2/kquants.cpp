// Q2_K … Q6_K and Q8_K kernels of this directory's tier (see simd_base.hpp).
#include "kernels/simd_kquants.hpp"
#include "kernels/simd_kquants_convert.hpp"
#include "kernels/simd_tier.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_kquant_kernels(kernel_table& t) {
    register_kquants_dot(t);
    register_kquants_convert(t);
}

}  // namespace ember::kernels::EMBER_SIMD_NS
