// AVX2 + FMA + F16C kernels. This file is compiled with those ISA flags; nothing here may run
// unless dispatch has checked the CPU supports them.
#include "kernels/table.hpp"

namespace ember::kernels {

void register_avx2(kernel_table& /*t*/) {}

}  // namespace ember::kernels
