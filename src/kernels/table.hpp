// The per-ISA kernel tables. Each ISA's translation unit fills in what it accelerates;
// entries it leaves alone keep the scalar reference.
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

}  // namespace ember::kernels
