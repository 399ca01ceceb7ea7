// Q4_0 … Q8_1 kernels of this directory's tier (see simd_base.hpp).
#include "kernels/simd_legacy.hpp"
#include "kernels/simd_tier.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_legacy_kernels(kernel_table& t) {
    register_legacy_dot(t);
    register_legacy_convert(t);
}

}  // namespace ember::kernels::EMBER_SIMD_NS
