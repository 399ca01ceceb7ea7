// The per-ISA kernel tables. Each ISA's translation units fill in what they accelerate;
// entries they leave alone keep the scalar reference.
#pragma once

#include <array>

#include "ember/kernels.hpp"

namespace ember::kernels {

constexpr size_t k_type_slots = 64;  // > largest ggml type id
using kernel_table = std::array<type_kernels, k_type_slots>;

inline type_kernels& slot(kernel_table& t, ggml_type type) { return t[size_t(type)]; }

void register_scalar(kernel_table& t);
#if EMBER_HAVE_X86_KERNELS
void register_avx2(kernel_table& t);
void register_avx512(kernel_table& t);
#endif
#if EMBER_HAVE_AVXVNNI_KERNELS
void register_avxvnni(kernel_table& t);  // over register_avx2, when the CPU has AVX-VNNI
#endif
#if EMBER_HAVE_AVX512VNNI_KERNELS
void register_avx512vnni(kernel_table& t);  // over register_avx512, when the CPU has AVX512-VNNI
#endif

// Whether this build and this CPU have VNNI dot products for tier i (AVX-VNNI for avx2,
// AVX512-VNNI for avx512).
bool vnni_available(isa i) noexcept;

// The table of tier i as dispatch builds it, with or without the VNNI dot products (dispatch
// uses them whenever vnni_available; tests build both variants to check each). A tier the CPU
// does not support gives the scalar table: registration code is compiled with the tier's flags
// and must not run either.
kernel_table make_table(isa i, bool use_vnni);

}  // namespace ember::kernels
