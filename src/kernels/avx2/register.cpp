// AVX2 + FMA + F16C kernels. The files of this directory are compiled with those ISA flags;
// nothing here may run unless dispatch has checked the CPU supports them.
#include "kernels/simd_tier.hpp"

namespace ember::kernels {

void register_avx2(kernel_table& t) {
    avx2::register_float_kernels(t);
    avx2::register_legacy_kernels(t);
    avx2::register_kquant_kernels(t);
    avx2::register_gemm_kernels(t);
}

}  // namespace ember::kernels
