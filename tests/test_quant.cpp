// The quantized block types: worked examples of formats.md, the dequantizers against a naive
// per-element reading of the spec, the integer dot-product formulas against the dequantizers,
// the weight quantizers on random data, and the activation quantizers' properties.
// (Checks on real model files are in test_quant_models.cpp.)
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common.hpp"
#include "ember/error.hpp"
#include "ember/fp16.hpp"
#include "ember/kernels.hpp"
#include "ember/quant/blocks.hpp"
#include "ember/quant/quantize.hpp"
#include "ember/quant/reference.hpp"
#include "quantize/quantize_search.hpp"  // internal: the scale searches
#include "test_quant_naive.hpp"

using namespace ember;
using namespace ember::quant;

namespace {

const kernels::type_kernels& scalar(ggml_type t) { return kernels::get(t, kernels::isa::scalar); }

std::vector<float> dequantize_with_table(ggml_type t, const void* data, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    scalar(t).to_float(data, out.data(), n);
    return out;
}

// Random floats with a heavy tail, like weights and activations.
std::vector<float> random_values(std::mt19937& rng, int64_t n, float scale = 1.0f) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng) * (u(rng) < 0.02f ? 8.0f : 1.0f);
    return v;
}

// Random block bytes with every fp16 scale field replaced by a sane value (|d| in [1e-3, 0.1]),
// so that the integer fields take every bit pattern but the floats stay finite.
std::vector<uint8_t> random_blocks(std::mt19937& rng, ggml_type t, int64_t n) {
    const auto& ti = info(t);
    std::vector<uint8_t> bytes(row_bytes(t, n));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : bytes) b = uint8_t(byte(rng));
    std::uniform_real_distribution<float> mag(1e-3f, 0.1f);
    auto scale = [&](size_t off, bool sign) {
        float v = mag(rng);
        if (sign && byte(rng) < 128) v = -v;
        const uint16_t h = fp32_to_fp16(v);
        std::memcpy(&bytes[off], &h, 2);
    };
    for (size_t b = 0; b < bytes.size(); b += ti.block_bytes) {
        switch (t) {
            case ggml_type::q4_0: case ggml_type::q5_0: case ggml_type::q8_0: scale(b, true); break;
            case ggml_type::q4_1: case ggml_type::q5_1: scale(b, true); scale(b + 2, true); break;
            case ggml_type::q2_K: scale(b + 80, false); scale(b + 82, false); break;
            case ggml_type::q3_K: scale(b + 108, true); break;
            case ggml_type::q4_K: case ggml_type::q5_K: scale(b, false); scale(b + 2, false); break;
            case ggml_type::q6_K: scale(b + 208, true); break;
            default: FAIL("no scale layout for " << type_name(t));
        }
    }
    return bytes;
}

const ggml_type k_weight_types[] = {ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1,
                                    ggml_type::q8_0, ggml_type::q2_K, ggml_type::q3_K, ggml_type::q4_K,
                                    ggml_type::q5_K, ggml_type::q6_K};

}  // namespace

TEST_SUITE("quant") {

TEST_CASE("block sizes agree with the type table") {
    CHECK(sizeof(block_q4_0) == info(ggml_type::q4_0).block_bytes);
    CHECK(sizeof(block_q4_1) == info(ggml_type::q4_1).block_bytes);
    CHECK(sizeof(block_q5_0) == info(ggml_type::q5_0).block_bytes);
    CHECK(sizeof(block_q5_1) == info(ggml_type::q5_1).block_bytes);
    CHECK(sizeof(block_q8_0) == info(ggml_type::q8_0).block_bytes);
    CHECK(sizeof(block_q8_1) == info(ggml_type::q8_1).block_bytes);
    CHECK(sizeof(block_q2_K) == info(ggml_type::q2_K).block_bytes);
    CHECK(sizeof(block_q3_K) == info(ggml_type::q3_K).block_bytes);
    CHECK(sizeof(block_q4_K) == info(ggml_type::q4_K).block_bytes);
    CHECK(sizeof(block_q5_K) == info(ggml_type::q5_K).block_bytes);
    CHECK(sizeof(block_q6_K) == info(ggml_type::q6_K).block_bytes);
    CHECK(sizeof(block_q8_K) == info(ggml_type::q8_K).block_bytes);
}

TEST_CASE("every quantized weight type is wired into the kernel table") {
    for (ggml_type t : k_weight_types) {
        CAPTURE(type_name(t));
        const auto& k = scalar(t);
        REQUIRE(k.can_matmul());
        CHECK((k.to_float != nullptr));
        const ggml_type want = (t == ggml_type::q4_1 || t == ggml_type::q5_1) ? ggml_type::q8_1
                               : info(t).block_size == 256                     ? ggml_type::q8_K
                                                                               : ggml_type::q8_0;
        CHECK(k.vec_dot_type == want);
        CHECK((scalar(want).from_float != nullptr));
        // Whatever ISA is active must offer the same row (the scalar one unless it overrides).
        CHECK(kernels::get(t).vec_dot_type == want);
        CHECK((kernels::get(t).vec_dot != nullptr));
    }
}

TEST_CASE("Q8_0 worked example of formats.md §2.3") {
    float x[32] = {};
    x[0] = 1.27f;
    x[1] = -0.5f;
    x[2] = 0.013f;
    x[3] = 0.4f;
    x[31] = -1.0f;
    const uint8_t want[34] = {0x1f, 0x21, 0x7f, 0xce, 0x01, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x9c};
    block_q8_0 a, b, w;
    ref::quantize_activation(x, &a, 32);
    ref::quantize_activation_round_away(x, &b, 32);
    quant::quantize_row(ggml_type::q8_0, x, &w, 32);
    CHECK(std::memcmp(&a, want, 34) == 0);
    CHECK(std::memcmp(&b, want, 34) == 0);
    CHECK(std::memcmp(&w, want, 34) == 0);
    const auto y = dequantize_with_table(ggml_type::q8_0, want, 32);
    const float d = fp16_to_fp32(0x211f);
    CHECK(d == 0.01000213623046875f);
    CHECK(y[0] == 127 * d);
    CHECK(y[1] == -50 * d);
    CHECK(y[31] == -100 * d);
    CHECK(y[0] == doctest::Approx(1.2702713).epsilon(1e-7));
    CHECK(y[1] == doctest::Approx(-0.5001068).epsilon(1e-6));
    CHECK(y[2] == doctest::Approx(0.0100021).epsilon(1e-5));
    CHECK(y[3] == doctest::Approx(0.4000854).epsilon(1e-6));
    CHECK(y[31] == doctest::Approx(-1.0002136).epsilon(1e-7));
    for (int e = 4; e < 31; ++e) CHECK(y[size_t(e)] == 0.0f);
}

TEST_CASE("Q4_K worked example of formats.md §2.6") {
    const uint8_t head[16] = {0x00, 0x38, 0x00, 0x34, 0x0a, 0x8c, 0x00, 0x00,
                              0x03, 0x80, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00};
    block_q4_K blk{};
    std::memcpy(&blk, head, 16);
    blk.qs[0] = 0x97;
    blk.qs[65] = 0xb0;
    CHECK(fp16_to_fp32(blk.d) == 0.5f);
    CHECK(fp16_to_fp32(blk.dmin) == 0.25f);

    // The packing helper produces exactly these scale bytes.
    const uint8_t sc[8] = {10, 12, 0, 0, 0, 40, 0, 0}, mn[8] = {3, 0, 0, 0, 0, 33, 0, 0};
    uint8_t packed[12];
    k4_pack_scales(sc, mn, packed);
    CHECK(std::memcmp(packed, head + 4, 12) == 0);
    for (int j = 0; j < 8; ++j) {
        uint8_t s, m;
        k4_scale_min(j, blk.scales, s, m);
        CHECK(s == sc[j]);
        CHECK(m == mn[j]);
    }

    const auto y = dequantize_with_table(ggml_type::q4_K, &blk, 256);
    CHECK(y[0] == 34.25f);
    CHECK(y[1] == -0.75f);
    CHECK(y[32] == 54.0f);
    CHECK(y[33] == 0.0f);
    CHECK(y[129] == 0.0f);
    CHECK(y[160] == -8.25f);
    CHECK(y[161] == 211.75f);
}

TEST_CASE("Q3_K scale packing round-trips all sixteen 6-bit scales") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> u(0, 63);
    for (int trial = 0; trial < 100; ++trial) {
        uint8_t vals[16], packed[12];
        for (auto& v : vals) v = uint8_t(u(rng));
        q3_K_pack_scales(vals, packed);
        for (int j = 0; j < 16; ++j) REQUIRE(q3_K_scale(j, packed) == vals[j] - 32);
    }
}

TEST_CASE("dequantize equals the naive per-element reading of formats.md §2.10 on random blocks") {
    std::mt19937 rng(42);
    for (ggml_type t : k_weight_types) {
        CAPTURE(type_name(t));
        const int64_t n = 64 * info(t).block_size;
        const auto w = random_blocks(rng, t, n);
        const auto y = dequantize_with_table(t, w.data(), n);
        const size_t bb = info(t).block_bytes;
        int64_t mismatches = 0;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t b = i / info(t).block_size;
            const float want = test::naive_element(t, w.data() + size_t(b) * bb, int(i % info(t).block_size));
            if (std::bit_cast<uint32_t>(y[size_t(i)]) != std::bit_cast<uint32_t>(want) && mismatches++ == 0)
                MESSAGE("first mismatch at element " << i << ": " << y[size_t(i)] << " vs naive " << want);
        }
        CHECK(mismatches == 0);
    }
}

// The integer formulas of §3.4 (with bsums and Q8_1's cached s) against the plain f64 dot of
// the dequantized weight row and the dequantized activation row. The only differences allowed
// are the f32 roundings inside the dequantizers (a few ulp per element) and the final rounding;
// Q8_1's s is an fp16 rounding of d·Σq, which the expectation accounts for exactly.
TEST_CASE("vec_dot equals the dot of the dequantized rows") {
    std::mt19937 rng(1234);
    for (ggml_type t : k_weight_types) {
        const auto& kw = scalar(t);
        const ggml_type at = kw.vec_dot_type;
        const auto& ka = scalar(at);
        for (int64_t nblocks : {1, 2, 7}) {
            const int64_t n = nblocks * info(t).block_size;
            CAPTURE(type_name(t));
            CAPTURE(n);
            const auto w = random_blocks(rng, t, n);
            const auto x = random_values(rng, n);
            std::vector<uint8_t> a(row_bytes(at, n));
            ka.from_float(x.data(), a.data(), n);

            const auto wd = dequantize_with_table(t, w.data(), n);
            const auto ad = dequantize_with_table(at, a.data(), n);
            double expect = 0, magnitude = 0;
            for (size_t e = 0; e < size_t(n); ++e) {
                expect += double(wd[e]) * double(ad[e]);
                magnitude += std::fabs(double(wd[e]) * double(ad[e]));
            }
            if (at == ggml_type::q8_1) {
                const auto* ab = reinterpret_cast<const block_q8_1*>(a.data());
                for (int64_t b = 0; b < n / 32; ++b) {
                    uint16_t m16;
                    std::memcpy(&m16, w.data() + size_t(b) * info(t).block_bytes + 2, 2);
                    int sum = 0;
                    for (int8_t q : ab[b].qs) sum += q;
                    const double exact_s = double(fp16_to_fp32(ab[b].d)) * sum;
                    expect += double(fp16_to_fp32(m16)) * (double(fp16_to_fp32(ab[b].s)) - exact_s);
                }
            }
            float got = 0;
            kw.vec_dot(n, &got, w.data(), a.data());
            CHECK(std::fabs(double(got) - expect) <= 0x1p-22 * magnitude + 0x1p-24 * std::fabs(expect));
            // The typed oracle and the table agree to the bit.
            float again = -1;
            kernels::get(t, kernels::isa::scalar).vec_dot(n, &again, w.data(), a.data());
            CHECK(std::bit_cast<uint32_t>(again) == std::bit_cast<uint32_t>(got));
        }
    }
}

TEST_CASE("vec_dot of a quantized matrix approximates the f32 matrix product") {
    // The forward pass's use of the table: quantize the activation once with the vec-dot type's
    // from_float, then one vec_dot per weight row. Weights and activations both carry
    // quantization error, so the bound is relative to the row's magnitude and the bit width.
    std::mt19937 rng(99);
    const int64_t n = 512;
    for (ggml_type t : k_weight_types) {
        CAPTURE(type_name(t));
        const auto w = random_blocks(rng, t, n);
        const auto wd = dequantize_with_table(t, w.data(), n);
        const auto x = random_values(rng, n);
        const auto& k = kernels::get(t);
        std::vector<uint8_t> a(row_bytes(k.vec_dot_type, n));
        kernels::get(k.vec_dot_type).from_float(x.data(), a.data(), n);
        float got = 0;
        k.vec_dot(n, &got, w.data(), a.data());
        double exact = 0, magnitude = 0;
        for (size_t e = 0; e < size_t(n); ++e) {
            exact += double(wd[e]) * double(x[e]);
            magnitude += std::fabs(double(wd[e]) * double(x[e]));
        }
        // 8-bit activations: each product is off by at most half a step of 1/127 of the block max.
        CHECK(std::fabs(double(got) - exact) <= 0.02 * magnitude);
    }
}

// ---- weight quantizers -----------------------------------------------------------------------

namespace {

struct roundtrip_error {
    double plain = 0, weighted = 0;  // relative RMSE, unweighted and importance-weighted
};

// Quantizes rows × n values with quantize_rows, dequantizes with the table, and measures the
// error relative to the data's norm (weighted by `weigh`, one entry per column, if given).
roundtrip_error roundtrip(ggml_type t, const std::vector<float>& x, int64_t rows, int64_t n,
                          const float* importance, const std::vector<float>& weigh) {
    std::vector<uint8_t> q(row_bytes(t, n) * size_t(rows));
    REQUIRE(quant::quantize_rows(t, x.data(), q.data(), rows, n, importance) == q.size());
    std::vector<float> y(x.size());
    scalar(t).to_float(q.data(), y.data(), rows * n);
    double e2 = 0, r2 = 0, we2 = 0, wr2 = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double d = double(y[i]) - double(x[i]), w = weigh[i % size_t(n)];
        e2 += d * d;
        r2 += double(x[i]) * double(x[i]);
        we2 += w * d * d;
        wr2 += w * double(x[i]) * double(x[i]);
    }
    return {std::sqrt(e2 / r2), std::sqrt(we2 / wr2)};
}

}  // namespace

TEST_CASE("weight quantizers round-trip random data within per-type bounds") {
    // Heavy-tailed Gaussian rows. Bounds are ~15% above the measured relative RMSE, which
    // roughly halves per extra bit (Q2_K, fitted with absolute error, is the outlier).
    const struct {
        ggml_type type;
        double bound;
    } cases[] = {{ggml_type::q4_0, 0.17},  {ggml_type::q4_1, 0.12},  {ggml_type::q5_0, 0.086},
                 {ggml_type::q5_1, 0.057}, {ggml_type::q8_0, 0.011}, {ggml_type::q2_K, 0.39},
                 {ggml_type::q3_K, 0.23},  {ggml_type::q4_K, 0.11},  {ggml_type::q5_K, 0.055},
                 {ggml_type::q6_K, 0.032}, {ggml_type::f16, 3e-4},   {ggml_type::bf16, 2.3e-3}};
    std::mt19937 rng(5);
    const int64_t n = 1024, rows = 64;
    const auto x = random_values(rng, n * rows);
    const std::vector<float> ones(static_cast<size_t>(n), 1.0f);
    for (const auto& c : cases) {
        CAPTURE(type_name(c.type));
        const auto e = roundtrip(c.type, x, rows, n, nullptr, ones);
        MESSAGE(type_name(c.type) << ": relative RMSE " << e.plain);
        CHECK(e.plain < c.bound);
        // The table's from_float is the same quantizer (except Q8_0, whose table entry is the
        // activation recipe).
        if (c.type != ggml_type::q8_0) {
            std::vector<uint8_t> a(row_bytes(c.type, n)), b(row_bytes(c.type, n));
            quant::quantize_row(c.type, x.data(), a.data(), n);
            scalar(c.type).from_float(x.data(), b.data(), n);
            CHECK(a == b);
        }
    }
}

TEST_CASE("an importance matrix lowers the importance-weighted error") {
    // Column importances spread over e^-3 … e^3. With them the searches trade error on
    // unimportant columns for error on important ones; Q8_0, F16 and BF16 ignore them.
    std::mt19937 rng(11);
    const int64_t n = 1024, rows = 64;
    const auto x = random_values(rng, n * rows);
    std::vector<float> imp(static_cast<size_t>(n));
    std::uniform_real_distribution<float> u(-3.0f, 3.0f);
    for (auto& v : imp) v = std::exp(u(rng));
    const std::vector<float> ones(static_cast<size_t>(n), 1.0f);
    for (ggml_type t : k_weight_types) {
        CAPTURE(type_name(t));
        const auto none = roundtrip(t, x, rows, n, nullptr, imp);
        const auto with = roundtrip(t, x, rows, n, imp.data(), imp);
        const auto flat = roundtrip(t, x, rows, n, ones.data(), ones);
        MESSAGE(type_name(t) << ": weighted RMSE " << none.weighted << " without, " << with.weighted
                             << " with importance; unweighted with unit importance " << flat.plain
                             << " vs " << none.plain);
        if (t == ggml_type::q8_0) {
            CHECK(with.weighted == none.weighted);
        } else {
            CHECK(with.weighted < 0.97 * none.weighted);
            // Unit importance is a plain (x²-ish weighted) search: no worse than the default.
            CHECK(flat.plain < 1.02 * none.plain);
        }
    }
}

TEST_CASE("F16 and BF16 rows are the element-wise conversions") {
    std::mt19937 rng(3);
    const auto x = random_values(rng, 300);
    std::vector<uint16_t> h(300), b(300);
    CHECK(quant::quantize_row(ggml_type::f16, x.data(), h.data(), 300) == 600);
    CHECK(quant::quantize_row(ggml_type::bf16, x.data(), b.data(), 300) == 600);
    for (size_t i = 0; i < 300; ++i) {
        CHECK(h[i] == fp32_to_fp16(x[i]));
        CHECK(b[i] == fp32_to_bf16(x[i]));
    }
}

TEST_CASE("quantizers handle all-zero and single-spike rows") {
    for (ggml_type t : k_weight_types) {
        CAPTURE(type_name(t));
        const int64_t n = 256;
        std::vector<uint8_t> q(row_bytes(t, n));
        std::vector<float> y(static_cast<size_t>(n));
        // All zeros dequantize to exactly zero.
        std::vector<float> x(static_cast<size_t>(n), 0.0f);
        quant::quantize_row(t, x.data(), q.data(), n);
        scalar(t).to_float(q.data(), y.data(), n);
        for (float v : y) CHECK(v == 0.0f);
        // A single spike is reproduced within the type's step and the rest stays near zero.
        x[77] = -3.0f;
        quant::quantize_row(t, x.data(), q.data(), n);
        scalar(t).to_float(q.data(), y.data(), n);
        CHECK(y[77] == doctest::Approx(-3.0).epsilon(0.02));
        for (size_t i = 0; i < size_t(n); ++i)
            if (i != 77) CHECK(std::fabs(y[i]) <= 0.25f);
    }
}

TEST_CASE("quantize_row rejects unsupported types and bad lengths") {
    std::vector<float> x(64, 1.0f);
    std::vector<uint8_t> out(1024);
    CHECK(quant::can_quantize(ggml_type::q4_K));
    CHECK_FALSE(quant::can_quantize(ggml_type::q8_K));
    CHECK_FALSE(quant::can_quantize(ggml_type::iq2_xxs));
    auto code_of = [&](auto&& f) {
        try {
            f();
        } catch (const ember::error& e) {
            return e.code();
        }
        return errc::internal;
    };
    CHECK(code_of([&] { quant::quantize_row(ggml_type::q8_K, x.data(), out.data(), 256); }) == errc::unsupported);
    CHECK(code_of([&] { quant::quantize_row(ggml_type::iq4_nl, x.data(), out.data(), 32); }) == errc::unsupported);
    CHECK(code_of([&] { quant::quantize_row(ggml_type::q4_0, x.data(), out.data(), 33); }) == errc::invalid_argument);
    CHECK(code_of([&] { quant::quantize_row(ggml_type::q4_K, x.data(), out.data(), 64); }) == errc::invalid_argument);
    CHECK(code_of([&] { quant::quantize_rows(ggml_type::q4_0, nullptr, out.data(), 1, 32); }) == errc::invalid_argument);
    CHECK(quant::quantize_rows(ggml_type::q4_0, x.data(), out.data(), 2, 32) == 36);
    CHECK(quant::quantize_row(ggml_type::q4_0, nullptr, nullptr, 0) == 0);
}

// ---- activation quantizers ------------------------------------------------------------------------

TEST_CASE("Q8_K activations: signed scale, -127 at the extreme, bsums") {
    std::mt19937 rng(8);
    const int64_t n = 256 * 16;
    auto x = random_values(rng, n);
    x[5] = 50.0f;     // block 0: positive extreme
    x[256 + 9] = -50.0f;  // block 1: negative extreme
    std::fill(x.begin() + 512, x.begin() + 768, 0.0f);  // block 2: all zero
    std::vector<block_q8_K> y(static_cast<size_t>(n / 256));
    scalar(ggml_type::q8_K).from_float(x.data(), y.data(), n);
    CHECK(y[0].d < 0);
    CHECK(y[0].qs[5] == -127);
    CHECK(y[0].d == doctest::Approx(-50.0 / 127).epsilon(1e-6));
    CHECK(y[1].d > 0);
    CHECK(y[1].qs[9] == -127);
    CHECK(y[2].d == 0.0f);
    for (const auto& b : y) {
        for (int j = 0; j < 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += b.qs[16 * j + l];
            CHECK(b.bsums[j] == sum);
        }
        for (int8_t q : b.qs) CHECK((q >= -127 && q <= 127));
    }
    // Each value is within half a step of its quantized value.
    std::vector<float> back(static_cast<size_t>(n));
    scalar(ggml_type::q8_K).to_float(y.data(), back.data(), n);
    for (int64_t i = 0; i < n; ++i)
        CHECK(std::fabs(back[size_t(i)] - x[size_t(i)]) <= 0.5001f * std::fabs(y[size_t(i / 256)].d));
}

TEST_CASE("Q8_K rounds ties to even") {
    // max = -127 gives iscale = 1 exactly, so x·iscale = x.
    std::vector<float> x(256, 0.0f);
    x[0] = -127.0f;
    x[1] = 2.5f;
    x[2] = 3.5f;
    x[3] = -0.5f;
    x[4] = -1.5f;
    block_q8_K y;
    ref::quantize_activation(x.data(), &y, 256);
    CHECK(y.d == 1.0f);
    CHECK(y.qs[0] == -127);
    CHECK(y.qs[1] == 2);
    CHECK(y.qs[2] == 4);
    CHECK(y.qs[3] == 0);
    CHECK(y.qs[4] == -2);
}

TEST_CASE("Q8_0 activation recipes differ on ties: x86 ties-to-even, portable half-away") {
    // amax = 127 gives d = 1 and both multipliers exactly 1.
    float x[32] = {};
    x[0] = 127.0f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 3.5f;
    x[4] = 0.5f;
    block_q8_0 even, away;
    ref::quantize_activation(x, &even, 32);
    ref::quantize_activation_round_away(x, &away, 32);
    CHECK(even.d == 0x3c00);
    CHECK(away.d == 0x3c00);
    CHECK(even.qs[1] == 2);
    CHECK(away.qs[1] == 3);
    CHECK(even.qs[2] == -2);
    CHECK(away.qs[2] == -3);
    CHECK(even.qs[3] == 4);
    CHECK(away.qs[3] == 4);
    CHECK(even.qs[4] == 0);
    CHECK(away.qs[4] == 1);
    // The table's from_float is the x86 recipe (see ref_quant_register.cpp).
    block_q8_0 table;
    scalar(ggml_type::q8_0).from_float(x, &table, 32);
    CHECK(std::memcmp(&table, &even, sizeof table) == 0);
    // Writing Q8_0 weights uses the portable recipe, as llama.cpp's quantize tool does.
    block_q8_0 weight;
    quant::quantize_row(ggml_type::q8_0, x, &weight, 32);
    CHECK(std::memcmp(&weight, &away, sizeof weight) == 0);
}

TEST_CASE("Q8_1 caches s = d·Σq") {
    std::mt19937 rng(21);
    const auto x = random_values(rng, 32 * 8);
    std::vector<block_q8_1> y(8), z(8);
    scalar(ggml_type::q8_1).from_float(x.data(), y.data(), 32 * 8);
    ref::quantize_activation_round_away(x.data(), z.data(), 32 * 8);
    for (size_t b = 0; b < 8; ++b) {
        float amax = 0;
        for (int e = 0; e < 32; ++e) amax = std::max(amax, std::fabs(x[b * 32 + size_t(e)]));
        const float d = amax / 127.0f;
        for (const auto* blk : {&y[b], &z[b]}) {
            int sum = 0;
            for (int8_t q : blk->qs) sum += q;
            CHECK(blk->d == fp32_to_fp16(d));
            CHECK(blk->s == fp32_to_fp16(float(sum) * d));
        }
    }
}

TEST_CASE("the lane-parallel scale searches equal the one-group searches bit for bit") {
    namespace qd = quant::detail;
    constexpr int G = qd::lanes;
    std::mt19937 rng(1234);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    // Each lane gets its own kind of group, so that lanes that stop early (flat or all-zero
    // groups) sit next to lanes that search.
    auto fill_group = [&](int kind, int n, float* x) {
        const float scale = std::pow(10.0f, -6.0f + 8.0f * unit(rng));
        for (int i = 0; i < n; ++i) {
            switch (kind % 7) {
                case 0: x[i] = scale * normal(rng); break;
                case 1: x[i] = 0.0f; break;                                        // all zero
                case 2: x[i] = scale; break;                                       // flat, positive
                case 3: x[i] = scale * std::fabs(normal(rng)); break;              // no negative values
                case 4: x[i] = i == n / 2 ? scale * 50 : scale * normal(rng); break;  // one spike
                case 5: x[i] = -scale * std::fabs(normal(rng)); break;             // no positive values
                default: x[i] = 1e-30f * normal(rng); break;                       // tiny
            }
        }
    };
    int64_t mismatches = 0, groups = 0;
    for (int trial = 0; trial < 400; ++trial) {
        for (int n : {16, 32}) {
            std::vector<float> x(size_t(G * n)), w(size_t(G * n));
            for (int g = 0; g < G; ++g) fill_group(trial + g, n, x.data() + g * n);
            for (size_t i = 0; i < w.size(); ++i) w[i] = trial % 3 == 0 ? std::fabs(x[i]) : 0.1f + unit(rng);
            const bool mad = trial % 2 == 0;
            const int nmax = n == 16 ? 3 : (trial % 4 < 2 ? 15 : 31);
            const float rmin = trial % 5 == 0 ? -0.9f : -1.0f, rdelta = trial % 5 == 0 ? 0.05f : 0.1f;
            const int nstep = trial % 5 == 0 ? 36 : 20;

            std::vector<uint8_t> la(x.size()), lb(x.size());
            float sa[G], oa[G];
            qd::fit_asymmetric_lanes(n, nmax, x.data(), w.data(), la.data(), sa, oa, rmin, rdelta, nstep, mad);
            std::vector<int8_t> sla(x.size()), slb(x.size());
            float ssa[G];
            const bool default_weights = trial % 2 == 1;
            qd::fit_symmetric_lanes(n, 32, x.data(), default_weights ? nullptr : w.data(), sla.data(), ssa);
            for (int g = 0; g < G; ++g) {
                float ob;
                const float sb = qd::fit_asymmetric(n, nmax, x.data() + g * n, w.data() + g * n, lb.data() + g * n, &ob, rmin, rdelta,
                                                    nstep, mad);
                const float ssb = qd::fit_symmetric(n, 32, x.data() + g * n, default_weights ? nullptr : w.data() + g * n, slb.data() + g * n);
                mismatches += std::bit_cast<uint32_t>(sa[g]) != std::bit_cast<uint32_t>(sb);
                mismatches += std::bit_cast<uint32_t>(oa[g]) != std::bit_cast<uint32_t>(ob);
                mismatches += std::bit_cast<uint32_t>(ssa[g]) != std::bit_cast<uint32_t>(ssb);
                ++groups;
            }
            mismatches += la != lb;
            mismatches += sla != slb;
        }
    }
    CHECK(groups == 400 * 2 * G);
    CHECK(mismatches == 0);
}

}  // TEST_SUITE
