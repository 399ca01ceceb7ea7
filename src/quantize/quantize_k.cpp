// Weight quantizers for the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (formats.md §4.7).
//
// Each super-block goes through three stages:
// 1. every sub-block (16 or 32 elements) gets a scale (and min) from a weighted-least-squares
//    search (quantize_search.hpp);
// 2. the sub-block scales are themselves quantized to 4/6/8 bits against one fp16 super-scale;
// 3. every element is re-quantized against the scales as stored (fp16 super-scale times the
//    small integer), which is what the dequantizer will actually use. Sub-blocks whose stored
//    scale is 0 keep the levels from stage 1 (they dequantize to the offset alone anyway).
// Compiled with -ffp-contract=off.
#include <cmath>
#include <cstring>

#include "ember/fp16.hpp"
#include "ember/quant/quantize.hpp"
#include "kernels/ref_quant_util.hpp"
#include "quantize/quantize_search.hpp"

namespace ember::quant {
namespace {

using detail::clamp;
using detail::nearest;

// 2-bit packing of Q2_K/Q3_K: byte 32h + l holds elements 128h + l + 32s in bit pair s.
void pack_2bit(const uint8_t L[qk_k], uint8_t qs[qk_k / 4]) {
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            const uint8_t* g = L + 128 * h + l;
            qs[32 * h + l] = uint8_t(g[0] | (g[32] << 2) | (g[64] << 4) | (g[96] << 6));
        }
}

// 4-bit packing of Q4_K/Q5_K: chunk c of 64 elements, low nibbles first 32, high nibbles next 32.
void pack_4bit(const uint8_t L[qk_k], uint8_t qs[qk_k / 2]) {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l)
            qs[32 * c + l] = uint8_t((L[64 * c + l] & 0x0f) | ((L[64 * c + 32 + l] & 0x0f) << 4));
}

// One extra bit per element (Q3_K hmask bit 2, Q5_K qh bit 4): bit k of bits[l] is element 32k + l.
void pack_bit_planes(const uint8_t L[qk_k], int bit, uint8_t bits[qk_k / 8]) {
    std::memset(bits, 0, qk_k / 8);
    for (int e = 0; e < qk_k; ++e) bits[e % 32] = uint8_t(bits[e % 32] | (((L[e] >> bit) & 1) << (e / 32)));
}

float sum_squares(const float* x, int n) {
    float s = 0;
    for (int i = 0; i < n; ++i) s += x[i] * x[i];
    return s;
}

// Importance weights of one sub-block: importance · sqrt(σ² + x²).
void importance_weights(const float* x, const float* importance, float sigma2, int n, float* w) {
    for (int i = 0; i < n; ++i) w[i] = importance[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

float sum_of(const float* w, int n) {
    float s = 0;
    for (int i = 0; i < n; ++i) s += w[i];
    return s;
}

// ---- Q2_K ------------------------------------------------------------------------------------------

void quantize_block(const float* x, block_q2_K& y, const float* importance) {
    uint8_t L[qk_k];
    float scales[16], mins[16];
    uint8_t ls[16], lm[16];
    if (!importance) {
        // Absolute-error fit with |x| weights; sub-block scales and mins on a linear 4-bit grid
        // up to their maxima.
        float w[qk_k];
        for (int e = 0; e < qk_k; ++e) w[e] = std::fabs(x[e]);
        for (int j = 0; j < 16; j += detail::lanes)
            detail::fit_asymmetric_lanes(16, 3, x + 16 * j, w + 16 * j, L + 16 * j, scales + j, mins + j, -0.5f, 0.1f, 15, true);
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; ++j) {
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        const float iscale = max_scale > 0 ? 15.0f / max_scale : 0.0f;
        const float imin = max_min > 0 ? 15.0f / max_min : 0.0f;
        for (int j = 0; j < 16; ++j) {
            ls[j] = uint8_t(clamp(nearest(iscale * scales[j]), 0, 15));
            lm[j] = uint8_t(clamp(nearest(imin * mins[j]), 0, 15));
        }
        y.d = fp32_to_fp16(max_scale > 0 ? max_scale / 15.0f : 0.0f);
        y.dmin = fp32_to_fp16(max_min > 0 ? max_min / 15.0f : 0.0f);
    } else {
        const float sigma2 = sum_squares(x, qk_k) / float(qk_k);
        float sw[16], w[qk_k];
        for (int j = 0; j < 16; ++j) {
            importance_weights(x + 16 * j, importance + 16 * j, sigma2, 16, w + 16 * j);
            sw[j] = sum_of(w + 16 * j, 16);
        }
        for (int j = 0; j < 16; j += detail::lanes)
            detail::fit_asymmetric_lanes(16, 3, x + 16 * j, w + 16 * j, L + 16 * j, scales + j, mins + j, -0.9f, 0.05f, 36, false);
        y.d = fp32_to_fp16(detail::fit_positive(16, 15, scales, ls, sw));
        y.dmin = fp32_to_fp16(detail::fit_positive(16, 15, mins, lm, sw));
    }
    for (int j = 0; j < 16; ++j) y.scales[j] = uint8_t(ls[j] | (lm[j] << 4));

    const float d = fp16_to_fp32(y.d), dmin = fp16_to_fp32(y.dmin);
    for (int j = 0; j < 16; ++j) {
        const float dl = d * float(ls[j]);
        if (dl == 0) continue;
        const float ml = dmin * float(lm[j]);
        for (int l = 0; l < 16; ++l) L[16 * j + l] = uint8_t(clamp(nearest((x[16 * j + l] + ml) / dl), 0, 3));
    }
    pack_2bit(L, y.qs);
}

// ---- Q3_K ------------------------------------------------------------------------------------------

void quantize_block(const float* x, block_q3_K& y, const float* importance) {
    int8_t L[qk_k];  // levels + 4, in 0..7
    float scales[16];
    uint8_t u[16];   // stored scales + 32, in 0..63
    float d_block;
    if (!importance) {
        // Coordinate-descent fit per sub-block, then signed 6-bit scales around the signed
        // extreme (which lands on -32, the side with the extra level).
        float amax = 0, max_scale = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = detail::fit_symmetric_descent(16, 4, x + 16 * j, L + 16 * j);
            if (std::fabs(scales[j]) > amax) {
                amax = std::fabs(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_scale != 0) {
            const float iscale = -32.0f / max_scale;
            for (int j = 0; j < 16; ++j) u[j] = uint8_t(clamp(nearest(iscale * scales[j]), -32, 31) + 32);
            d_block = 1 / iscale;
        } else {
            std::memset(u, 0, sizeof u);
            d_block = 0;
        }
    } else {
        const float sigma2 = 2 * sum_squares(x, qk_k) / float(qk_k);
        float sw[16];
        for (int j = 0; j < 16; ++j) {
            float w[16];
            importance_weights(x + 16 * j, importance + 16 * j, sigma2, 16, w);
            sw[j] = sum_of(w, 16);
            scales[j] = detail::fit_symmetric(16, 4, x + 16 * j, w, L + 16 * j);
        }
        int8_t biased[16];
        d_block = detail::fit_symmetric(16, 32, scales, sw, biased);
        for (int j = 0; j < 16; ++j) u[j] = uint8_t(biased[j]);
    }
    q3_K_pack_scales(u, y.scales);
    y.d = fp32_to_fp16(d_block);

    const float d = fp16_to_fp32(y.d);
    for (int j = 0; j < 16; ++j) {
        const float dl = d * float(q3_K_scale(j, y.scales));
        if (dl == 0) continue;
        for (int l = 0; l < 16; ++l) L[16 * j + l] = int8_t(clamp(nearest(x[16 * j + l] / dl), -4, 3) + 4);
    }
    uint8_t levels[qk_k];
    for (int e = 0; e < qk_k; ++e) levels[e] = uint8_t(L[e]);
    pack_bit_planes(levels, 2, y.hmask);
    for (auto& l : levels) l &= 3;
    pack_2bit(levels, y.qs);
}

// ---- Q4_K / Q5_K -------------------------------------------------------------------------------------

// Stages 1 and 2 shared by Q4_K (nmax 15) and Q5_K (nmax 31): 8 sub-blocks of 32, 6-bit scales
// and mins. Without importance the weights are av + |x| (av = RMS of the sub-block), which
// favours the large elements without ignoring the small ones.
template <class Block> void fit_k4_scales(const float* x, Block& y, const float* importance, int nmax, uint8_t L[qk_k]) {
    float scales[8], mins[8];
    uint8_t ls[8], lm[8];
    if (!importance) {
        const float rmin = nmax == 15 ? -1.0f : -0.5f;
        const int nstep = nmax == 15 ? 20 : 15;
        float w[qk_k];
        for (int j = 0; j < 8; ++j) {
            const float* xs = x + 32 * j;
            const float av = std::sqrt(sum_squares(xs, 32) / 32);
            for (int l = 0; l < 32; ++l) w[32 * j + l] = av + std::fabs(xs[l]);
        }
        for (int j = 0; j < 8; j += detail::lanes)
            detail::fit_asymmetric_lanes(32, nmax, x + 32 * j, w + 32 * j, L + 32 * j, scales + j, mins + j, rmin, 0.1f, nstep, false);
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; ++j) {
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        const float iscale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        const float imin = max_min > 0 ? 63.0f / max_min : 0.0f;
        for (int j = 0; j < 8; ++j) {
            ls[j] = uint8_t(clamp(nearest(iscale * scales[j]), 0, 63));
            lm[j] = uint8_t(clamp(nearest(imin * mins[j]), 0, 63));
        }
        y.d = fp32_to_fp16(max_scale / 63.0f);
        y.dmin = fp32_to_fp16(max_min / 63.0f);
    } else {
        const float sigma2 = 2 * sum_squares(x, qk_k) / float(qk_k);
        float sw[8], w[qk_k];
        for (int j = 0; j < 8; ++j) {
            importance_weights(x + 32 * j, importance + 32 * j, sigma2, 32, w + 32 * j);
            sw[j] = sum_of(w + 32 * j, 32);
        }
        for (int j = 0; j < 8; j += detail::lanes)
            detail::fit_asymmetric_lanes(32, nmax, x + 32 * j, w + 32 * j, L + 32 * j, scales + j, mins + j, -0.9f, 0.05f, 36, false);
        y.d = fp32_to_fp16(detail::fit_positive(8, 63, scales, ls, sw));
        y.dmin = fp32_to_fp16(detail::fit_positive(8, 63, mins, lm, sw));
    }
    k4_pack_scales(ls, lm, y.scales);

    const float d = fp16_to_fp32(y.d), dmin = fp16_to_fp32(y.dmin);
    for (int j = 0; j < 8; ++j) {
        const float dl = d * float(ls[j]);
        if (dl == 0) continue;
        const float ml = dmin * float(lm[j]);
        for (int l = 0; l < 32; ++l) L[32 * j + l] = uint8_t(clamp(nearest((x[32 * j + l] + ml) / dl), 0, nmax));
    }
}

void quantize_block(const float* x, block_q4_K& y, const float* importance) {
    uint8_t L[qk_k];
    fit_k4_scales(x, y, importance, 15, L);
    pack_4bit(L, y.qs);
}

void quantize_block(const float* x, block_q5_K& y, const float* importance) {
    uint8_t L[qk_k];
    fit_k4_scales(x, y, importance, 31, L);
    pack_bit_planes(L, 4, y.qh);
    pack_4bit(L, y.qs);
}

// ---- Q6_K ------------------------------------------------------------------------------------------

void quantize_block(const float* x, block_q6_K& y, const float* importance) {
    int8_t L[qk_k];  // levels + 32, in 0..63
    float scales[16];
    // Default weights x²; with an importance matrix its entries are the weights as they are.
    for (int j = 0; j < 16; j += detail::lanes)
        detail::fit_symmetric_lanes(16, 32, x + 16 * j, importance ? importance + 16 * j : nullptr, L + 16 * j, scales + j);
    float amax = 0, max_scale = 0;
    for (int j = 0; j < 16; ++j) {
        if (std::fabs(scales[j]) > amax) {
            amax = std::fabs(scales[j]);
            max_scale = scales[j];
        }
    }
    if (amax < detail::group_max_eps) {
        std::memset(&y, 0, sizeof y);
        return;
    }
    // Signed 8-bit sub-block scales; the extreme lands on -128.
    const float iscale = -128.0f / max_scale;
    y.d = fp32_to_fp16(1 / iscale);
    for (int j = 0; j < 16; ++j) y.scales[j] = int8_t(clamp(nearest(iscale * scales[j]), -128, 127));

    const float d = fp16_to_fp32(y.d);
    for (int j = 0; j < 16; ++j) {
        const float dl = d * float(y.scales[j]);
        if (dl == 0) continue;
        for (int l = 0; l < 16; ++l) L[16 * j + l] = int8_t(clamp(nearest(x[16 * j + l] / dl), -32, 31) + 32);
    }
    // Low nibbles: ql[64h + l] holds elements 128h + l (lo) and +64 (hi), ql[64h + 32 + l]
    // holds +32 (lo) and +96 (hi); qh[32h + l] holds the top two bits of all four.
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            const int8_t* g = L + 128 * h + l;
            y.ql[64 * h + l] = uint8_t((g[0] & 0x0f) | ((g[64] & 0x0f) << 4));
            y.ql[64 * h + 32 + l] = uint8_t((g[32] & 0x0f) | ((g[96] & 0x0f) << 4));
            y.qh[32 * h + l] = uint8_t((g[0] >> 4) | ((g[32] >> 4) << 2) | ((g[64] >> 4) << 4) | ((g[96] >> 4) << 6));
        }
}

template <class Block> void quantize_superblocks(const float* x, Block* y, int64_t n, const float* importance) {
    for (int64_t b = 0; b < n / qk_k; ++b)
        quantize_block(x + b * qk_k, y[b], importance ? importance + b * qk_k : nullptr);
}

}  // namespace

void quantize(const float* x, block_q2_K* y, int64_t n, const float* importance) { quantize_superblocks(x, y, n, importance); }
void quantize(const float* x, block_q3_K* y, int64_t n, const float* importance) { quantize_superblocks(x, y, n, importance); }
void quantize(const float* x, block_q4_K* y, int64_t n, const float* importance) { quantize_superblocks(x, y, n, importance); }
void quantize(const float* x, block_q5_K* y, int64_t n, const float* importance) { quantize_superblocks(x, y, n, importance); }
void quantize(const float* x, block_q6_K* y, int64_t n, const float* importance) { quantize_superblocks(x, y, n, importance); }

}  // namespace ember::quant
