// The scalar reference ("oracle") for the quantized types: dequantization, activation
// quantization and the quantized dot products. These are what kernels::get(t, isa::scalar)
// holds, with typed signatures; every SIMD kernel is tested against them.
//
// Exactness contract:
// * dequantize() is bit-exact with llama.cpp's dequantizers: each formula of formats.md §2 is
//   evaluated in that order in f32, and the translation units are compiled with
//   -ffp-contract=off so that `a*b - c` is never fused into an FMA (a fused result can differ
//   by one ulp).
// * quantize_activation() is bit-exact with the activation quantizers llama.cpp uses on x86
//   (formats.md §3.2/§3.3). The *_round_away variants reproduce llama.cpp's portable C
//   routines instead; they differ only on exact ties and in the reciprocal (1/d vs 127/amax).
// * vec_dot() sums the quants in exact integer arithmetic (§3.4), forms each block's float
//   terms from the stored scales in double (where they are exact or nearly so), accumulates in
//   double and rounds once to float. It is therefore at least as accurate as any fast path, but
//   not bit-identical to any particular llama.cpp kernel (none of those agree with each other).
//
// All n are element counts and must be multiples of the block size (32 or 256).
#pragma once

#include <cstdint>

#include "ember/quant/blocks.hpp"

namespace ember::quant::ref {

// ---- dequantization (to_float) ----
void dequantize(const block_q4_0* x, float* y, int64_t n);
void dequantize(const block_q4_1* x, float* y, int64_t n);
void dequantize(const block_q5_0* x, float* y, int64_t n);
void dequantize(const block_q5_1* x, float* y, int64_t n);
void dequantize(const block_q8_0* x, float* y, int64_t n);
void dequantize(const block_q8_1* x, float* y, int64_t n);  // ignores s
void dequantize(const block_q2_K* x, float* y, int64_t n);
void dequantize(const block_q3_K* x, float* y, int64_t n);
void dequantize(const block_q4_K* x, float* y, int64_t n);
void dequantize(const block_q5_K* x, float* y, int64_t n);
void dequantize(const block_q6_K* x, float* y, int64_t n);
void dequantize(const block_q8_K* x, float* y, int64_t n);

// ---- activation quantizers (from_float of the vec-dot types) ----
// Q8_0, as llama.cpp's x86 (AVX/AVX2/AVX-512) path: amax = max|x|, d = amax/127 stored as fp16,
// q = nearest(x * (127/amax)) with ties to even. This is the table's from_float.
void quantize_activation(const float* x, block_q8_0* y, int64_t n);
// Q8_0, as llama.cpp's portable reference (also its model-file quantizer): id = 1/d with the
// f32 d, q = round(x * id) with ties away from zero.
void quantize_activation_round_away(const float* x, block_q8_0* y, int64_t n);
// Q8_1: as the Q8_0 variants, plus s = fp16(d * Σ q) with the unrounded f32 d.
void quantize_activation(const float* x, block_q8_1* y, int64_t n);
void quantize_activation_round_away(const float* x, block_q8_1* y, int64_t n);
// Q8_K (§3.3): max = signed value of largest magnitude, iscale = -127/max,
// q = min(127, nearest(iscale * x)) ties to even, d = 1/iscale (negative when max > 0), bsums.
// All-zero blocks get d = 0, zero quants and zero bsums.
void quantize_activation(const float* x, block_q8_K* y, int64_t n);

// ---- dot products of a weight row with an activation row of its vec-dot type ----
float vec_dot(int64_t n, const block_q4_0* x, const block_q8_0* y);
float vec_dot(int64_t n, const block_q4_1* x, const block_q8_1* y);  // uses y's cached s
float vec_dot(int64_t n, const block_q5_0* x, const block_q8_0* y);
float vec_dot(int64_t n, const block_q5_1* x, const block_q8_1* y);  // uses y's cached s
float vec_dot(int64_t n, const block_q8_0* x, const block_q8_0* y);
float vec_dot(int64_t n, const block_q2_K* x, const block_q8_K* y);  // min term via bsums
float vec_dot(int64_t n, const block_q3_K* x, const block_q8_K* y);
float vec_dot(int64_t n, const block_q4_K* x, const block_q8_K* y);  // min term via bsums
float vec_dot(int64_t n, const block_q5_K* x, const block_q8_K* y);  // min term via bsums
float vec_dot(int64_t n, const block_q6_K* x, const block_q8_K* y);

}  // namespace ember::quant::ref
