// Scalar reference for the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and their activation type Q8_K
// (formats.md §2.4-2.9, §3.3, §3.4).
//
// Each super-block is unpacked into its 256 integer quants (offsets applied: Q3_K -4..3, Q6_K
// -32..31) and its sub-block scales, so dequantize and vec_dot share one statement of the bit
// layout. Compiled with -ffp-contract=off (see src/CMakeLists.txt): `(d*sc)*q - dmin*m` must
// round after every operation, as in llama.cpp's dequantizers, never as an FMA.
#include <cmath>
#include <cstring>

#include "ember/fp16.hpp"
#include "ember/quant/reference.hpp"
#include "kernels/ref_quant_util.hpp"

namespace ember::quant::ref {
namespace {

// 2-bit fields shared by Q2_K and Q3_K: byte qs[32h + l] holds elements 128h + l + 32s in bit
// pair s (s = 0..3).
void unpack_2bit(const uint8_t* qs, int q[qk_k]) {
    for (int h = 0; h < 2; ++h)
        for (int s = 0; s < 4; ++s)
            for (int l = 0; l < 32; ++l) q[128 * h + 32 * s + l] = (qs[32 * h + l] >> (2 * s)) & 3;
}

// 4-bit fields shared by Q4_K and Q5_K: within chunk c (64 elements) the low nibbles of
// qs[32c .. 32c+31] are the first 32 elements and the high nibbles the next 32.
void unpack_4bit(const uint8_t* qs, int q[qk_k]) {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            q[64 * c + l] = qs[32 * c + l] & 0x0f;
            q[64 * c + 32 + l] = qs[32 * c + l] >> 4;
        }
}

// One bit per element spread over 32 bytes: bit k of bits[l] belongs to element 32k + l.
int bit_of(const uint8_t* bits, int e) { return (bits[e % 32] >> (e / 32)) & 1; }

void unpack(const block_q2_K& b, int q[qk_k]) { unpack_2bit(b.qs, q); }

void unpack(const block_q3_K& b, int q[qk_k]) {
    unpack_2bit(b.qs, q);
    for (int e = 0; e < qk_k; ++e) q[e] -= bit_of(b.hmask, e) ? 0 : 4;
}

void unpack(const block_q4_K& b, int q[qk_k]) { unpack_4bit(b.qs, q); }

void unpack(const block_q5_K& b, int q[qk_k]) {
    unpack_4bit(b.qs, q);
    for (int e = 0; e < qk_k; ++e) q[e] |= bit_of(b.qh, e) << 4;
}

// Q6_K: element 128h + 32k + l takes its low nibble from ql[64h + 32(k%2) + l] (low nibble for
// k < 2, high for k >= 2) and its top two bits from bit pair k of qh[32h + l]; stored + 32.
void unpack(const block_q6_K& b, int q[qk_k]) {
    for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k)
            for (int l = 0; l < 32; ++l) {
                const uint8_t lo_byte = b.ql[64 * h + 32 * (k % 2) + l];
                const int low4 = k < 2 ? (lo_byte & 0x0f) : (lo_byte >> 4);
                const int high2 = (b.qh[32 * h + l] >> (2 * k)) & 3;
                q[128 * h + 32 * k + l] = (low4 | (high2 << 4)) - 32;
            }
}

// Σ over sub-block j (of `len` elements) of q_w * q_a, exact in int32.
int32_t sub_dot(const int* q, const int8_t* a, int len) {
    int32_t s = 0;
    for (int e = 0; e < len; ++e) s += q[e] * a[e];
    return s;
}

}  // namespace

// ---- dequantization ----------------------------------------------------------------------------

void dequantize(const block_q2_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        const float d = fp16_to_fp32(x[b].d);
        const float dmin = fp16_to_fp32(x[b].dmin);
        for (int j = 0; j < qk_k / 16; ++j) {
            const float dl = d * float(x[b].scales[j] & 0x0f);
            const float ml = dmin * float(x[b].scales[j] >> 4);
            for (int l = 0; l < 16; ++l, ++y) *y = dl * float(q[16 * j + l]) - ml;
        }
    }
}

void dequantize(const block_q3_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < qk_k / 16; ++j) {
            const float dl = d * float(q3_K_scale(j, x[b].scales));
            for (int l = 0; l < 16; ++l, ++y) *y = dl * float(q[16 * j + l]);
        }
    }
}

template <class Block> void dequantize_k4(const Block* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        const float d = fp16_to_fp32(x[b].d);
        const float dmin = fp16_to_fp32(x[b].dmin);
        for (int j = 0; j < qk_k / 32; ++j) {
            uint8_t sc, m;
            k4_scale_min(j, x[b].scales, sc, m);
            const float dl = d * float(sc);
            const float ml = dmin * float(m);
            for (int l = 0; l < 32; ++l, ++y) *y = dl * float(q[32 * j + l]) - ml;
        }
    }
}
void dequantize(const block_q4_K* x, float* y, int64_t n) { dequantize_k4(x, y, n); }
void dequantize(const block_q5_K* x, float* y, int64_t n) { dequantize_k4(x, y, n); }

void dequantize(const block_q6_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < qk_k / 16; ++j) {
            const float dl = d * float(x[b].scales[j]);
            for (int l = 0; l < 16; ++l, ++y) *y = dl * float(q[16 * j + l]);
        }
    }
}

void dequantize(const block_q8_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / qk_k; ++b)
        for (int e = 0; e < qk_k; ++e, ++y) *y = x[b].d * float(x[b].qs[e]);
}

// ---- Q8_K activation quantizer -------------------------------------------------------------------

void quantize_activation(const float* x, block_q8_K* y, int64_t n) {
    for (int64_t b = 0; b < n / qk_k; ++b, x += qk_k) {
        // The signed extreme maps to -127, so d is negative when it is positive (formats.md §3.3).
        float amax = 0, max = 0;
        for (int e = 0; e < qk_k; ++e)
            if (std::fabs(x[e]) > amax) {
                amax = std::fabs(x[e]);
                max = x[e];
            }
        block_q8_K& out = y[b];
        if (amax == 0) {
            out.d = 0;
            std::memset(out.qs, 0, sizeof out.qs);
            std::memset(out.bsums, 0, sizeof out.bsums);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int e = 0; e < qk_k; ++e) out.qs[e] = detail::clamp_q8(detail::nearest(iscale * x[e]));
        for (int j = 0; j < qk_k / 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += out.qs[16 * j + l];
            out.bsums[j] = int16_t(sum);
        }
        out.d = 1 / iscale;
    }
}

// ---- dot products ----------------------------------------------------------------------------------
//
// Integer bounds (all fit int32 with room to spare, which SIMD kernels may rely on):
// Q2_K Σ_j sc·Σq·q8 ≤ 16·15·16·3·128 ≈ 1.5e6; Q3_K ≤ 16·32·16·4·128 ≈ 4.2e6;
// Q4_K ≤ 8·63·32·15·128 ≈ 3.1e7; Q5_K ≤ 8·63·32·31·128 ≈ 6.4e7; Q6_K ≤ 16·128·16·32·128 ≈ 1.3e8.
// In double, d8·d·isum is exact or within one rounding of it.

float vec_dot(int64_t n, const block_q2_K* x, const block_q8_K* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        int32_t sum_scaled = 0, sum_mins = 0;
        for (int j = 0; j < qk_k / 16; ++j) {
            sum_scaled += (x[b].scales[j] & 0x0f) * sub_dot(q + 16 * j, y[b].qs + 16 * j, 16);
            sum_mins += (x[b].scales[j] >> 4) * y[b].bsums[j];
        }
        acc += double(y[b].d) * (double(fp16_to_fp32(x[b].d)) * sum_scaled -
                                 double(fp16_to_fp32(x[b].dmin)) * sum_mins);
    }
    return float(acc);
}

float vec_dot(int64_t n, const block_q3_K* x, const block_q8_K* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        int32_t sum = 0;
        for (int j = 0; j < qk_k / 16; ++j)
            sum += q3_K_scale(j, x[b].scales) * sub_dot(q + 16 * j, y[b].qs + 16 * j, 16);
        acc += double(y[b].d) * double(fp16_to_fp32(x[b].d)) * sum;
    }
    return float(acc);
}

template <class Block> float vec_dot_k4(int64_t n, const Block* x, const block_q8_K* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        int32_t sum_scaled = 0, sum_mins = 0;
        for (int j = 0; j < qk_k / 32; ++j) {
            uint8_t sc, m;
            k4_scale_min(j, x[b].scales, sc, m);
            sum_scaled += sc * sub_dot(q + 32 * j, y[b].qs + 32 * j, 32);
            sum_mins += m * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
        }
        acc += double(y[b].d) * (double(fp16_to_fp32(x[b].d)) * sum_scaled -
                                 double(fp16_to_fp32(x[b].dmin)) * sum_mins);
    }
    return float(acc);
}
float vec_dot(int64_t n, const block_q4_K* x, const block_q8_K* y) { return vec_dot_k4(n, x, y); }
float vec_dot(int64_t n, const block_q5_K* x, const block_q8_K* y) { return vec_dot_k4(n, x, y); }

float vec_dot(int64_t n, const block_q6_K* x, const block_q8_K* y) {
    double acc = 0;
    for (int64_t b = 0; b < n / qk_k; ++b) {
        int q[qk_k];
        unpack(x[b], q);
        int32_t sum = 0;
        for (int j = 0; j < qk_k / 16; ++j) sum += x[b].scales[j] * sub_dot(q + 16 * j, y[b].qs + 16 * j, 16);
        acc += double(y[b].d) * double(fp16_to_fp32(x[b].d)) * sum;
    }
    return float(acc);
}

}  // namespace ember::quant::ref
