// ember.h must compile as C++ (C++11, pedantic) and ember.hpp as C++17, warnings as errors.
#include "ember.h"
#if __cplusplus >= 201703L
#include "ember.hpp"
#endif

int ember_header_cxx_check();
int ember_header_cxx_check() {
    const ember_context_params cp = ember_context_default_params();
    return static_cast<int>(cp.struct_size) + EMBER_OK;
}
