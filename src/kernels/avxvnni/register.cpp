// AVX2 dot products using AVX-VNNI (VEX-encoded vpdpbusd / vpdpwssd, e.g. Alder Lake, Zen 5).
// Compiled with the AVX2 flags plus -mavxvnni; dispatch registers them over the AVX2 kernels
// only when CPUID reports AVX-VNNI.
#include "kernels/simd_tier.hpp"

namespace ember::kernels {

void register_avxvnni(kernel_table& t) {
    avxvnni::register_legacy_kernels(t);
    avxvnni::register_kquant_kernels(t);
    avxvnni::register_gemm_kernels(t);
}

}  // namespace ember::kernels
