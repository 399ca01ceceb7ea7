#include "kernels/table.hpp"

namespace ember::kernels {

void register_float_scalar(kernel_table& t);
void register_quant_scalar(kernel_table& t);

void register_scalar(kernel_table& t) {
    register_float_scalar(t);
    register_quant_scalar(t);
}

}  // namespace ember::kernels
