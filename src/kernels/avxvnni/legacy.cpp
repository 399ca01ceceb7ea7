// Q4_0 … Q5_1 dot products with VNNI (vpdpbusd); the conversions of the tier below stay.
#include "kernels/simd_legacy.hpp"
#include "kernels/simd_tier.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_legacy_kernels(kernel_table& t) { register_legacy_dot(t); }

}  // namespace ember::kernels::EMBER_SIMD_NS
