// Weight quantizers for the 32-element types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (formats.md §4.2).
//
// Without an importance matrix these are llama.cpp's closed-form recipes (no search): the
// symmetric types put the signed extreme on the lowest level, the offset types spread
// [min, max] over all levels. With one, each block gets the weighted searches of §4.3 / §4.5.
// Compiled with -ffp-contract=off.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "ember/fp16.hpp"
#include "ember/quant/quantize.hpp"
#include "ember/quant/reference.hpp"
#include "kernels/ref_quant_util.hpp"
#include "quantize/quantize_search.hpp"

namespace ember::quant {
namespace {

using detail::clamp;

// Packs 32 levels (0..15 or 0..31) as Q4/Q5 store them: low nibbles are elements 0..15, high
// nibbles 16..31, and bit 4 of element e goes to bit e of qh.
void pack_nibbles(const uint8_t L[qk], uint8_t qs[qk / 2]) {
    for (int j = 0; j < qk / 2; ++j) qs[j] = uint8_t((L[j] & 0x0f) | ((L[j + 16] & 0x0f) << 4));
}
void pack_fifth_bits(const uint8_t L[qk], uint8_t qh[4]) {
    uint32_t bits = 0;
    for (int e = 0; e < qk; ++e) bits |= uint32_t((L[e] >> 4) & 1) << e;
    std::memcpy(qh, &bits, 4);
}

// Element weights of the importance-matrix path: importance · sqrt(σ² + x²), with σ² the mean
// square of the whole row.
float row_mean_square(const float* x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
    return sum / float(n);
}
void importance_weights(const float* x, const float* importance, float sigma2, float w[qk]) {
    for (int e = 0; e < qk; ++e) w[e] = importance[e] * std::sqrt(sigma2 + x[e] * x[e]);
}

// Symmetric closed form (Q4_0 nmax 8, Q5_0 nmax 16): d = max/-nmax with the signed extreme, so
// that it lands exactly on level 0 (= -nmax·d); q = trunc(x/d + nmax + 0.5), capped at 2·nmax-1.
float symmetric_levels(const float* x, int nmax, uint8_t L[qk]) {
    float amax = 0, max = 0;
    for (int e = 0; e < qk; ++e)
        if (std::fabs(x[e]) > amax) {
            amax = std::fabs(x[e]);
            max = x[e];
        }
    const float d = max / float(-nmax);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int e = 0; e < qk; ++e)
        L[e] = uint8_t(clamp(detail::truncate(x[e] * id + (float(nmax) + 0.5f)), 0, 2 * nmax - 1));
    return d;
}

// Offset closed form (Q4_1 nmax 15, Q5_1 nmax 31): d = (max - min)/nmax, m = min,
// q = trunc((x - min)/d + 0.5).
void offset_levels(const float* x, int nmax, uint8_t L[qk], float& d, float& m) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int e = 0; e < qk; ++e) {
        if (x[e] < min) min = x[e];
        if (x[e] > max) max = x[e];
    }
    d = (max - min) / float(nmax);
    m = min;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int e = 0; e < qk; ++e) L[e] = uint8_t(clamp(detail::truncate((x[e] - min) * id + 0.5f), 0, nmax));
}

template <class Block> void quantize_symmetric(const float* x, Block* y, int64_t n, const float* importance, int nmax) {
    const float sigma2 = importance ? row_mean_square(x, n) : 0.0f;
    for (int64_t b = 0; b < n / qk; ++b) {
        const float* xb = x + b * qk;
        uint8_t L[qk];
        float d;
        if (importance) {
            float w[qk];
            int8_t levels[qk];
            importance_weights(xb, importance + b * qk, sigma2, w);
            d = detail::fit_symmetric(qk, nmax, xb, w, levels);
            for (int e = 0; e < qk; ++e) L[e] = uint8_t(levels[e]);
        } else {
            d = symmetric_levels(xb, nmax, L);
        }
        y[b].d = fp32_to_fp16(d);
        pack_nibbles(L, y[b].qs);
        if constexpr (requires { y[b].qh; }) pack_fifth_bits(L, y[b].qh);
    }
}

template <class Block> void quantize_offset(const float* x, Block* y, int64_t n, const float* importance, int nmax) {
    const float sigma2 = importance ? row_mean_square(x, n) : 0.0f;
    for (int64_t b = 0; b < n / qk; ++b) {
        const float* xb = x + b * qk;
        uint8_t L[qk];
        float d, m;
        if (importance) {
            float w[qk], neg_offset;
            importance_weights(xb, importance + b * qk, sigma2, w);
            d = detail::fit_asymmetric(qk, nmax, xb, w, L, &neg_offset, -0.9f, 0.05f, 36, false);
            m = -neg_offset;
        } else {
            offset_levels(xb, nmax, L, d, m);
        }
        y[b].d = fp32_to_fp16(d);
        y[b].m = fp32_to_fp16(m);
        pack_nibbles(L, y[b].qs);
        if constexpr (requires { y[b].qh; }) pack_fifth_bits(L, y[b].qh);
    }
}

}  // namespace

void quantize(const float* x, block_q4_0* y, int64_t n, const float* importance) {
    quantize_symmetric(x, y, n, importance, 8);
}
void quantize(const float* x, block_q5_0* y, int64_t n, const float* importance) {
    quantize_symmetric(x, y, n, importance, 16);
}
void quantize(const float* x, block_q4_1* y, int64_t n, const float* importance) {
    quantize_offset(x, y, n, importance, 15);
}
void quantize(const float* x, block_q5_1* y, int64_t n, const float* importance) {
    quantize_offset(x, y, n, importance, 31);
}

// Q8_0 weights use the portable recipe (1/d, half away from zero), as llama.cpp's quantize tool
// does; 8 bits leave nothing for a search to gain, and the importance matrix is ignored.
void quantize(const float* x, block_q8_0* y, int64_t n, const float*) {
    ref::quantize_activation_round_away(x, y, n);
}

}  // namespace ember::quant
