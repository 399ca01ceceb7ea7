// Portable IEEE binary16 and bfloat16 conversions (bit-exact with formats.md §0):
// f32 -> f16 rounds to nearest even and keeps subnormals, NaN becomes a quiet 0x7E00;
// f32 -> bf16 rounds to nearest even on the upper half, NaN is forced quiet.
#pragma once

#include <bit>
#include <cstdint>

namespace ember {

inline float fp16_to_fp32(uint16_t h) noexcept {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        // zero or subnormal: mant * 2^-24 is exact in f32
        const float mag = float(mant) * 0x1p-24f;
        return std::bit_cast<float>(std::bit_cast<uint32_t>(mag) | sign);
    }
    if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
    return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

inline uint16_t fp32_to_fp16(float f) noexcept {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return uint16_t(sign | 0x7e00u);   // NaN
    if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to infinity
    if (ax < 0x38800000u) {
        // Result is subnormal (or zero): adding 0.5 aligns the binary point so that the FPU's
        // own round-to-nearest-even produces the 10-bit subnormal mantissa in the low bits.
        const float aligned = std::bit_cast<float>(ax) + 0.5f;
        return uint16_t(sign | (std::bit_cast<uint32_t>(aligned) - 0x3f000000u));
    }
    // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even.
    const uint32_t odd = (ax >> 13) & 1u;
    ax += 0xc8000fffu + odd;
    return uint16_t(sign | (ax >> 13));
}

inline float bf16_to_fp32(uint16_t h) noexcept { return std::bit_cast<float>(uint32_t(h) << 16); }

inline uint16_t fp32_to_bf16(float f) noexcept {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 64u);  // quiet NaN
    return uint16_t((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}

}  // namespace ember
