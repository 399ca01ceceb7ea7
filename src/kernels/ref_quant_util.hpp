// Rounding helpers shared by the scalar quantized kernels and the weight quantizers.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace ember::quant::detail {

// Round to nearest, ties to even (formats.md §4.1 "nearest"). Adding 1.5·2^23 moves the binary
// point so that the FPU's own round-to-nearest-even leaves the integer in the low 23 mantissa
// bits; this is exact for |v| < 2^22 and much cheaper than std::nearbyint without SSE4.1. Larger
// magnitudes saturate at ±2^22 and NaN gives 0, so callers that clamp afterwards never see
// garbage (a NaN or huge input cannot occur for finite weights, but must not be undefined).
inline int nearest(float v) noexcept {
    constexpr float limit = 4194304.0f;  // 2^22
    if (!(std::fabs(v) < limit)) return v > 0 ? 4194304 : (v < 0 ? -4194304 : 0);
    const float shifted = v + 12582912.0f;  // 1.5·2^23
    return int(std::bit_cast<uint32_t>(shifted) & 0x7fffffu) - 0x400000;
}

// Round half away from zero (C's roundf), saturating like nearest().
inline int round_away(float v) noexcept {
    constexpr float limit = 4194304.0f;
    if (!(std::fabs(v) < limit)) return v > 0 ? 4194304 : (v < 0 ? -4194304 : 0);
    return int(std::round(v));
}

// Truncation toward zero of v, for the legacy quantizers' `(int)(x + 8.5f)`, saturating.
inline int truncate(float v) noexcept {
    constexpr float limit = 4194304.0f;
    if (!(std::fabs(v) < limit)) return v > 0 ? 4194304 : (v < 0 ? -4194304 : 0);
    return int(v);
}

inline int clamp(int v, int lo, int hi) noexcept { return v < lo ? lo : (v > hi ? hi : v); }

// int8 activation quants stay within -127..127 (both Q8 recipes guarantee it for finite input).
inline int8_t clamp_q8(int v) noexcept { return int8_t(clamp(v, -127, 127)); }

}  // namespace ember::quant::detail
