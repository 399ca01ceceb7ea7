// Scalar reference for the 32-element "legacy" types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, and the
// activation types Q8_0 / Q8_1 (formats.md §2.1-2.3, §3.2, §3.4).
//
// Each block is first unpacked into its integer quants q[0..31] (offsets already applied for
// the symmetric types), so dequantize and vec_dot share one statement of the bit layout.
// Compiled with -ffp-contract=off (see src/CMakeLists.txt): `q * d + m` must round twice, as in
// llama.cpp's dequantizers, never once as an FMA.
#include <cmath>

#include "ember/fp16.hpp"
#include "ember/quant/reference.hpp"
#include "kernels/ref_quant_util.hpp"

namespace ember::quant::ref {
namespace {

// Signed quant of element e: Q4_0 stores q + 8 in a nibble, Q5_0 q + 16 in a nibble plus bit e
// of qh. The low nibbles hold elements 0..15, the high nibbles 16..31.
void unpack(const block_q4_0& b, int q[qk]) {
    for (int j = 0; j < qk / 2; ++j) {
        q[j] = (b.qs[j] & 0x0f) - 8;
        q[j + 16] = (b.qs[j] >> 4) - 8;
    }
}
void unpack(const block_q4_1& b, int q[qk]) {
    for (int j = 0; j < qk / 2; ++j) {
        q[j] = b.qs[j] & 0x0f;
        q[j + 16] = b.qs[j] >> 4;
    }
}
template <class Block> void unpack5(const Block& b, int q[qk]) {
    const uint32_t qh = load_u32_le(b.qh);
    for (int j = 0; j < qk / 2; ++j) {
        q[j] = (b.qs[j] & 0x0f) | int(((qh >> j) & 1) << 4);
        q[j + 16] = (b.qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
    }
}
void unpack(const block_q5_0& b, int q[qk]) {
    unpack5(b, q);
    for (int e = 0; e < qk; ++e) q[e] -= 16;
}
void unpack(const block_q5_1& b, int q[qk]) { unpack5(b, q); }

// x[e] = q[e] * d: one f32 product per element.
template <class Block> void dequantize_symmetric(const Block* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk; ++b, y += qk) {
        int q[qk];
        unpack(x[b], q);
        const float d = fp16_to_fp32(x[b].d);
        for (int e = 0; e < qk; ++e) y[e] = float(q[e]) * d;
    }
}

// x[e] = q[e] * d + m: the product rounds, then the sum rounds.
template <class Block> void dequantize_offset(const Block* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk; ++b, y += qk) {
        int q[qk];
        unpack(x[b], q);
        const float d = fp16_to_fp32(x[b].d);
        const float m = fp16_to_fp32(x[b].m);
        for (int e = 0; e < qk; ++e) y[e] = float(q[e]) * d + m;
    }
}

// Σ q_w * q_a per block is exact in int32 (|q_w| ≤ 16, |q_a| ≤ 128, 32 terms). The product of
// the two fp16 scales is exact in double, and so is its product with the integer sum.
template <class Block> float vec_dot_symmetric(int64_t n, const Block* x, const block_q8_0* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk; ++b) {
        int q[qk];
        unpack(x[b], q);
        int32_t isum = 0;
        for (int e = 0; e < qk; ++e) isum += q[e] * y[b].qs[e];
        acc += double(isum) * (double(fp16_to_fp32(x[b].d)) * double(fp16_to_fp32(y[b].d)));
    }
    return float(acc);
}

// Σ (q_w d_w + m_w)(q_a d_a) = d_w d_a Σ q_w q_a + m_w (d_a Σ q_a); the bracket is the
// activation's cached s (fp16), exactly as llama.cpp's kernels use it.
template <class Block> float vec_dot_offset(int64_t n, const Block* x, const block_q8_1* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk; ++b) {
        int q[qk];
        unpack(x[b], q);
        int32_t isum = 0;
        for (int e = 0; e < qk; ++e) isum += q[e] * y[b].qs[e];
        acc += double(isum) * (double(fp16_to_fp32(x[b].d)) * double(fp16_to_fp32(y[b].d)));
        acc += double(fp16_to_fp32(x[b].m)) * double(fp16_to_fp32(y[b].s));
    }
    return float(acc);
}

// The two Q8_0/Q8_1 activation recipes of formats.md §3.2. Both compute amax and the f32
// d = amax/127; they differ in the multiplier and the tie rule. Returns Σ q for Q8_1's s.
enum class q8_rounding { x86_ties_even, round_away };

int quantize_q8_block(const float* x, int8_t* qs, uint16_t& d16, float& d, q8_rounding mode) {
    float amax = 0;
    for (int e = 0; e < qk; ++e) amax = std::fmax(amax, std::fabs(x[e]));
    d = amax / 127.0f;
    d16 = fp32_to_fp16(d);
    int sum = 0;
    if (mode == q8_rounding::x86_ties_even) {
        // 127/amax directly, not 1/d: the two can differ in the last bit.
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (int e = 0; e < qk; ++e) {
            qs[e] = detail::clamp_q8(detail::nearest(x[e] * id));
            sum += qs[e];
        }
    } else {
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int e = 0; e < qk; ++e) {
            qs[e] = detail::clamp_q8(detail::round_away(x[e] * id));
            sum += qs[e];
        }
    }
    return sum;
}

void quantize_q8_0(const float* x, block_q8_0* y, int64_t n, q8_rounding mode) {
    for (int64_t b = 0; b < n / qk; ++b) {
        float d;
        quantize_q8_block(x + b * qk, y[b].qs, y[b].d, d, mode);
    }
}

void quantize_q8_1(const float* x, block_q8_1* y, int64_t n, q8_rounding mode) {
    for (int64_t b = 0; b < n / qk; ++b) {
        float d;
        const int sum = quantize_q8_block(x + b * qk, y[b].qs, y[b].d, d, mode);
        y[b].s = fp32_to_fp16(float(sum) * d);
    }
}

}  // namespace

void dequantize(const block_q4_0* x, float* y, int64_t n) { dequantize_symmetric(x, y, n); }
void dequantize(const block_q4_1* x, float* y, int64_t n) { dequantize_offset(x, y, n); }
void dequantize(const block_q5_0* x, float* y, int64_t n) { dequantize_symmetric(x, y, n); }
void dequantize(const block_q5_1* x, float* y, int64_t n) { dequantize_offset(x, y, n); }

void dequantize(const block_q8_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk; ++b, y += qk) {
        const float d = fp16_to_fp32(x[b].d);
        for (int e = 0; e < qk; ++e) y[e] = float(x[b].qs[e]) * d;
    }
}

void dequantize(const block_q8_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk; ++b, y += qk) {
        const float d = fp16_to_fp32(x[b].d);
        for (int e = 0; e < qk; ++e) y[e] = float(x[b].qs[e]) * d;
    }
}

void quantize_activation(const float* x, block_q8_0* y, int64_t n) {
    quantize_q8_0(x, y, n, q8_rounding::x86_ties_even);
}
void quantize_activation_round_away(const float* x, block_q8_0* y, int64_t n) {
    quantize_q8_0(x, y, n, q8_rounding::round_away);
}
void quantize_activation(const float* x, block_q8_1* y, int64_t n) {
    quantize_q8_1(x, y, n, q8_rounding::x86_ties_even);
}
void quantize_activation_round_away(const float* x, block_q8_1* y, int64_t n) {
    quantize_q8_1(x, y, n, q8_rounding::round_away);
}

float vec_dot(int64_t n, const block_q4_0* x, const block_q8_0* y) { return vec_dot_symmetric(n, x, y); }
float vec_dot(int64_t n, const block_q5_0* x, const block_q8_0* y) { return vec_dot_symmetric(n, x, y); }
float vec_dot(int64_t n, const block_q4_1* x, const block_q8_1* y) { return vec_dot_offset(n, x, y); }
float vec_dot(int64_t n, const block_q5_1* x, const block_q8_1* y) { return vec_dot_offset(n, x, y); }

float vec_dot(int64_t n, const block_q8_0* x, const block_q8_0* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk; ++b) {
        int32_t isum = 0;
        for (int e = 0; e < qk; ++e) isum += x[b].qs[e] * y[b].qs[e];
        acc += double(isum) * (double(fp16_to_fp32(x[b].d)) * double(fp16_to_fp32(y[b].d)));
    }
    return float(acc);
}

}  // namespace ember::quant::ref
