// Scalar reference kernels for the float types. Dot products accumulate in double so the
// reference is more accurate than any fast path it is compared with.
#include <cstring>

#include "ember/fp16.hpp"
#include "kernels/ref_gemm.hpp"
#include "kernels/table.hpp"

namespace ember::kernels {
namespace {

void f32_to_float(const void* x, float* y, int64_t n) { std::memcpy(y, x, size_t(n) * sizeof(float)); }
void f32_from_float(const float* x, void* y, int64_t n) { std::memcpy(y, x, size_t(n) * sizeof(float)); }
void f32_vec_dot(int64_t n, float* s, const void* xv, const void* yv) {
    const auto* x = static_cast<const float*>(xv);
    const auto* y = static_cast<const float*>(yv);
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += double(x[i]) * double(y[i]);
    *s = float(acc);
}

void f16_to_float(const void* x, float* y, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(h[i]);
}
void f16_from_float(const float* x, void* y, int64_t n) {
    auto* h = static_cast<uint16_t*>(y);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(x[i]);
}
void f16_vec_dot(int64_t n, float* s, const void* xv, const void* yv) {
    const auto* x = static_cast<const uint16_t*>(xv);
    const auto* y = static_cast<const uint16_t*>(yv);
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += double(fp16_to_fp32(x[i])) * double(fp16_to_fp32(y[i]));
    *s = float(acc);
}

void bf16_to_float(const void* x, float* y, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(x);
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(h[i]);
}
void bf16_from_float(const float* x, void* y, int64_t n) {
    auto* h = static_cast<uint16_t*>(y);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(x[i]);
}
void bf16_vec_dot(int64_t n, float* s, const void* xv, const void* yv) {
    const auto* x = static_cast<const uint16_t*>(xv);
    const auto* y = static_cast<const uint16_t*>(yv);
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += double(bf16_to_fp32(x[i])) * double(bf16_to_fp32(y[i]));
    *s = float(acc);
}

}  // namespace

void register_float_scalar(kernel_table& t) {
    slot(t, ggml_type::f32) = {ggml_type::f32, f32_to_float, f32_from_float, f32_vec_dot, ref::gemm_by_vec_dot<f32_vec_dot>};
    slot(t, ggml_type::f16) = {ggml_type::f16, f16_to_float, f16_from_float, f16_vec_dot, ref::gemm_by_vec_dot<f16_vec_dot>};
    slot(t, ggml_type::bf16) = {ggml_type::bf16, bf16_to_float, bf16_from_float, bf16_vec_dot,
                                ref::gemm_by_vec_dot<bf16_vec_dot>};
}

}  // namespace ember::kernels
