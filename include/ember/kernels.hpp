// Per-type compute kernels and run-time CPU dispatch.
//
// Every supported tensor type has a row of function pointers: dequantize a row, quantize a row
// (the activation side of a dot product), and the dot product of one weight row with one
// activation row already converted to the type's `vec_dot_type` (formats.md §3.1). The table for
// each instruction set is resolved once; callers fetch a row per matrix, never per element.
// The scalar table is the reference ("oracle") that every faster path is tested against.
#pragma once

#include <cstdint>
#include <string_view>

#include "ember/types.hpp"

namespace ember::kernels {

enum class isa : int {
    scalar = 0,  // portable C++, the reference
    avx2 = 1,    // AVX2 + FMA + F16C + BMI2 (+ VNNI kernels when the CPU has AVX-VNNI)
    avx512 = 2,  // AVX-512 F/BW/VL/DQ (+ VNNI kernels when the CPU has AVX512-VNNI)
};
std::string_view isa_name(isa i) noexcept;

struct cpu_features {
    bool avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avx_vnni = false;
};
const cpu_features& cpu() noexcept;  // read from CPUID (and XGETBV) once

// Best ISA this CPU supports, or the one forced by the EMBER_ISA environment variable
// (scalar|avx2|avx512) when the CPU supports it. Read once, at first use.
isa active_isa() noexcept;
bool isa_supported(isa i) noexcept;
// Makes get(t) serve ISA i from now on (false, and no change, if the CPU lacks it). For tests
// and benchmarks that compare ISAs in one process: contexts fetch their kernels per operation,
// so switch only while no forward pass is running.
bool set_active_isa(isa i) noexcept;

// y[0..n) = dequantized x (n is a multiple of the type's block size).
using to_float_fn = void (*)(const void* x, float* y, int64_t n);
// Quantize n floats (a multiple of the block size) into blocks of the type.
using from_float_fn = void (*)(const float* x, void* y, int64_t n);
// *s = dot(x, y) over n elements: x a row of the weight type, y a row of its vec_dot_type.
using vec_dot_fn = void (*)(int64_t n, float* s, const void* x, const void* y);

struct type_kernels {
    ggml_type vec_dot_type = ggml_type::f32;
    to_float_fn to_float = nullptr;
    from_float_fn from_float = nullptr;
    vec_dot_fn vec_dot = nullptr;
    // Whether ember can multiply a weight matrix of this type (vec_dot and the activation
    // quantizer for vec_dot_type both exist).
    bool can_matmul() const noexcept { return vec_dot != nullptr; }
};

const type_kernels& get(ggml_type t, isa i) noexcept;
inline const type_kernels& get(ggml_type t) noexcept { return get(t, active_isa()); }

}  // namespace ember::kernels
