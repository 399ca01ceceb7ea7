// AVX-512 dot products using AVX512-VNNI (vpdpbusd / vpdpwssd on zmm, e.g. Ice Lake, Zen 4).
// Compiled with the AVX-512 flags plus -mavx512vnni; dispatch registers them over the AVX-512
// kernels only when CPUID reports AVX512-VNNI.
#include "kernels/simd_tier.hpp"

namespace ember::kernels {

void register_avx512vnni(kernel_table& t) {
    avx512vnni::register_legacy_kernels(t);
    avx512vnni::register_kquant_kernels(t);
    avx512vnni::register_gemm_kernels(t);
}

}  // namespace ember::kernels
