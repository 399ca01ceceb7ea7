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

// A weight matrix times a batch of activation rows (prompt processing):
//   y[t·y_stride + r] = dot(weight row r, activation row t)   for r < n_rows, t < n_tok,
// activation rows already converted to the type's vec_dot_type, exactly what vec_dot takes; the
// result may differ from a loop over vec_dot only by float rounding. `work` is scratch of
// gemm_work(k, n_tok) bytes, 64-byte aligned, for this call alone (one per thread). A type with
// gemm_prepare needs, besides, what it derives from each activation row once per batch (e.g.
// Q8_0: each block's scale in f32 and the sum of its quants): gemm_prepare(act, act_row_bytes,
// n, k, out) writes gemm_prep_bytes(k) bytes per row for rows [0, n), and `prep` points at the
// entry of activation row 0 of the call.
struct gemm_args {
    int64_t k = 0;       // elements per row: the dot-product length
    int64_t n_rows = 0;  // weight rows
    int64_t n_tok = 0;   // activation rows
    const void* w = nullptr;
    size_t w_row_bytes = 0;
    const void* act = nullptr;
    size_t act_row_bytes = 0;
    float* y = nullptr;
    int64_t y_stride = 0;
    void* work = nullptr;
    const void* prep = nullptr;
};
using gemm_fn = void (*)(const gemm_args& a);
using gemm_work_fn = size_t (*)(int64_t k, int64_t n_tok);
using gemm_prep_bytes_fn = size_t (*)(int64_t k);
using gemm_prepare_fn = void (*)(const void* act, size_t act_row_bytes, int64_t n_tok, int64_t k, void* out);

// ---- row-interleaved ("packed") weights ----------------------------------------------------------
//
// A type may have a second in-memory layout in which k_pack_rows consecutive rows are stored
// together, super-block by super-block, with the same four quants of every row side by side
// (quant/blocks.hpp, block_q4_K_x16): one 32-bit lane per row, so one broadcast of four
// activation quants feeds a multiply-add over all the rows at once, and each row's scales are
// unpacked once at packing time instead of once per dot product. Generation gains the most: the
// row kernels spend more time unpacking than the memory takes to deliver the bytes.
//
// The layout is the same on every tier (the scalar table has the reference kernels for it), so a
// packed matrix keeps working when the active ISA changes. A packed matrix has rows divisible by
// k_pack_rows; group g (rows 16g .. 16g+15) starts at g·group_bytes(k).
inline constexpr int k_pack_rows = 16;
struct packed_kernels {
    size_t (*group_bytes)(int64_t k) = nullptr;
    // k_pack_rows rows of the plain type (row_bytes apart) -> one group, and back, bit for bit.
    void (*pack)(const void* rows, size_t row_bytes, int64_t k, void* group) = nullptr;
    void (*unpack)(const void* group, int64_t k, void* rows, size_t row_bytes) = nullptr;
    // s[0..k_pack_rows) = the dot products of the group's rows with one activation row of the
    // type's vec_dot_type (as vec_dot, up to float rounding).
    void (*dot)(int64_t k, float* s, const void* group, const void* y) = nullptr;
    // The batched product from packed weights: gemm_args as for gemm_fn, except that w is the
    // first group, w_row_bytes the distance between groups and n_rows a multiple of k_pack_rows.
    gemm_fn gemm = nullptr;
    gemm_work_fn gemm_work = nullptr;
    // This tier's packed kernels beat its row kernels: loaders pack weights only then.
    bool faster = false;
};

struct type_kernels {
    ggml_type vec_dot_type = ggml_type::f32;
    to_float_fn to_float = nullptr;
    from_float_fn from_float = nullptr;
    vec_dot_fn vec_dot = nullptr;
    // Batched product; every type with vec_dot has one (the reference loops over vec_dot).
    gemm_fn gemm = nullptr;
    gemm_work_fn gemm_work = nullptr;  // null: needs no scratch
    gemm_prep_bytes_fn gemm_prep_bytes = nullptr;  // null: needs no per-row preparation
    gemm_prepare_fn gemm_prepare = nullptr;
    // Rows the gemm converts and multiplies as one group: callers split rows among threads in
    // multiples of it. Below gemm_min_tok tokens a loop over vec_dot is faster.
    int gemm_rows = 1;
    int gemm_min_tok = 1;
    const packed_kernels* packed = nullptr;  // the packed form, if the type has one
    // Whether ember can multiply a weight matrix of this type (vec_dot and the activation
    // quantizer for vec_dot_type both exist).
    bool can_matmul() const noexcept { return vec_dot != nullptr; }
};

const type_kernels& get(ggml_type t, isa i) noexcept;
inline const type_kernels& get(ggml_type t) noexcept { return get(t, active_isa()); }

}  // namespace ember::kernels
