// Weight quantizers: f32 rows to quantized blocks, for writing model files (formats.md §4).
//
// Without an importance matrix every type follows llama.cpp's reference recipe, so a row
// quantized here normally has the same bytes as the one llama.cpp's quantize tool writes:
// * Q8_0: d = amax/127, q = round(x/d) (half away from zero).
// * Q4_0/Q5_0: d = max/-8 (or /-16) with the signed extreme, truncating rounding (§4.2).
// * Q4_1/Q5_1: d = (max - min)/15 (or /31), m = min (§4.2).
// * K-quants: a weighted-least-squares search over candidate scales per sub-block (§4.3-4.5),
//   sub-block scales quantized against the super-block maximum, then every element
//   re-quantized against the stored fp16/6-bit scales (§4.7).
// * F16/BF16: round to nearest even.
// Every f32 operation follows llama.cpp's order (and is never fused into an FMA); on the
// shakespeare-19m weights all Q8_0, Q2_K, Q3_K, Q4_K and Q6_K blocks are byte-identical to the
// files llama.cpp wrote (tests/test_quant_models.cpp).
//
// `importance` is optional: one non-negative weight per column of the row (an importance matrix
// entry, e.g. the mean squared activation of that input). When given, the searches minimise the
// importance-weighted error as llama.cpp's --imatrix path does (§4.7, second part); Q8_0, F16
// and BF16 ignore it. Input must be finite; non-finite values never crash but give meaningless
// blocks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ember/quant/blocks.hpp"
#include "ember/types.hpp"

namespace ember::quant {

// True for the types quantize_row accepts: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
bool can_quantize(ggml_type t) noexcept;

// Quantizes one row of n elements (a multiple of the type's block size). `importance`, if
// given, has n entries. Returns the bytes written (row_bytes(t, n)). Throws ember::error:
// unsupported for a type can_quantize rejects, invalid_argument for a bad n.
size_t quantize_row(ggml_type t, const float* src, void* dst, int64_t n, const float* importance = nullptr);

// Quantizes nrows rows of n_per_row elements; `importance` (n_per_row entries) applies to every
// row. Returns the bytes written.
size_t quantize_rows(ggml_type t, const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* importance = nullptr);

// Typed entry points (x is one row of n elements; importance as above).
void quantize(const float* x, block_q4_0* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q4_1* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q5_0* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q5_1* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q8_0* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q2_K* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q3_K* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q4_K* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q5_K* y, int64_t n, const float* importance = nullptr);
void quantize(const float* x, block_q6_K* y, int64_t n, const float* importance = nullptr);

}  // namespace ember::quant
