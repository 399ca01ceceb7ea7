// Q2_K … Q6_K dot products with VNNI (vpdpwssd); the conversions of the tier below stay.
#include "kernels/simd_kquants.hpp"
#include "kernels/simd_tier.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_kquant_kernels(kernel_table& t) { register_kquants_dot(t); }

}  // namespace ember::kernels::EMBER_SIMD_NS
