// F32 / F16 / BF16 kernels of this directory's tier (see simd_base.hpp).
#include "kernels/simd_float.hpp"
#include "kernels/simd_tier.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

void register_float_kernels(kernel_table& t) { register_float(t); }

}  // namespace ember::kernels::EMBER_SIMD_NS
