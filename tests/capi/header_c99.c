/* ember.h must compile as strict C99 with every warning an error (see CMakeLists.txt). */
#include "ember.h"

int ember_header_c99_check(void);
int ember_header_c99_check(void) {
    ember_model_params mp = ember_model_default_params();
    ember_context_params cp = ember_context_default_params();
    ember_sampler_params sp = ember_sampler_default_params();
    ember_generate_params gp = ember_generate_default_params();
    ember_quantize_params qp = ember_quantize_default_params();
    return (int)(mp.struct_size + cp.struct_size + sp.struct_size + gp.struct_size + qp.struct_size) + EMBER_ABI_VERSION;
}
