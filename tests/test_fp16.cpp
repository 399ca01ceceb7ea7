#include <bit>
#include <cmath>
#include <limits>

#include "common.hpp"
#include "ember/fp16.hpp"

using namespace ember;

TEST_SUITE("fp16") {

TEST_CASE("fp16 round trip is exact for every half value") {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = fp16_to_fp32(uint16_t(h));
        if (std::isnan(f)) {
            CHECK((fp32_to_fp16(f) & 0x7fff) == 0x7e00);
            continue;
        }
        REQUIRE(fp32_to_fp16(f) == h);
    }
}

TEST_CASE("fp16 rounds to nearest even, with subnormals and overflow") {
    CHECK(fp32_to_fp16(0.01f) == 0x211f);                  // formats.md §2.3 worked example
    CHECK(fp16_to_fp32(0x211f) == doctest::Approx(0.01000213623046875).epsilon(1e-12));
    CHECK(fp32_to_fp16(65504.0f) == 0x7bff);
    CHECK(fp32_to_fp16(65519.0f) == 0x7bff);
    CHECK(fp32_to_fp16(65520.0f) == 0x7c00);               // tie at max rounds to even = inf
    CHECK(fp32_to_fp16(1e9f) == 0x7c00);
    CHECK(fp32_to_fp16(-1e9f) == 0xfc00);
    CHECK(fp32_to_fp16(0x1p-24f) == 0x0001);               // smallest subnormal
    CHECK(fp32_to_fp16(0x1p-25f) == 0x0000);               // tie -> even (0)
    CHECK(fp32_to_fp16(0x1.8p-24f) == 0x0002);             // tie -> even (2)
    CHECK(fp32_to_fp16(-0.0f) == 0x8000);
    // 1 + 2^-11 is a tie between 1 and 1+2^-10: goes to 1 (even); 1 + 3*2^-11 goes up.
    CHECK(fp32_to_fp16(1.0f + 0x1p-11f) == 0x3c00);
    CHECK(fp32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3c02);
    CHECK(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()) == 0x7e00);
}

TEST_CASE("bf16 rounds to nearest even and quiets NaN") {
    CHECK(fp32_to_bf16(1.0f) == 0x3f80);
    CHECK(bf16_to_fp32(0x3f80) == 1.0f);
    CHECK(fp32_to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie -> even
    CHECK(fp32_to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // tie -> even (up)
    CHECK(fp32_to_bf16(std::bit_cast<float>(0x3f808001u)) == 0x3f81);
    const uint16_t n = fp32_to_bf16(std::bit_cast<float>(0x7f800001u));  // signalling NaN
    CHECK((n & 0x7f80) == 0x7f80);
    CHECK((n & 0x0040) != 0);
}

}
