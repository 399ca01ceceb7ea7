// Test data and the kernel tiers under test, shared by the kernel suites (test_kernels.cpp,
// test_gemm.cpp): seeded random weight blocks with extreme scales and quant patterns, activations
// over many magnitudes, the error-bound ingredient Σ|terms|, and every tier this CPU runs.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ember/fp16.hpp"
#include "ember/kernels.hpp"
#include "ember/quant/blocks.hpp"
#include "kernels/table.hpp"

namespace ember::test::kernel_data {

using kernels::isa;
using kernels::kernel_table;

struct variant {
    std::string name;
    kernel_table table;
};

// Every tier this CPU can run, each with and without its VNNI kernels.
inline const std::vector<variant>& variants() {
    static const std::vector<variant> all = [] {
        std::vector<variant> v;
        for (isa i : {isa::avx2, isa::avx512}) {
            if (!kernels::isa_supported(i)) continue;
            v.push_back({std::string(kernels::isa_name(i)), kernels::make_table(i, false)});
            if (kernels::vnni_available(i)) v.push_back({std::string(kernels::isa_name(i)) + "+vnni", kernels::make_table(i, true)});
        }
        return v;
    }();
    return all;
}

inline const kernel_table& reference() {
    static const kernel_table t = kernels::make_table(isa::scalar, false);
    return t;
}
inline const kernels::type_kernels& ref(ggml_type t) { return reference()[size_t(t)]; }

// Where a weight type keeps its fp16 scale fields: d-like fields multiply the quants, m-like
// fields are mins or offsets (formats.md §2).
struct weight_layout {
    ggml_type type;
    std::vector<size_t> d_fields, m_fields;
};
inline const weight_layout k_weights[] = {
    {ggml_type::q4_0, {0}, {}},   {ggml_type::q4_1, {0}, {2}},  {ggml_type::q5_0, {0}, {}},
    {ggml_type::q5_1, {0}, {2}},  {ggml_type::q8_0, {0}, {}},   {ggml_type::q2_K, {80}, {82}},
    {ggml_type::q3_K, {108}, {}}, {ggml_type::q4_K, {0}, {2}},  {ggml_type::q5_K, {0}, {2}},
    {ggml_type::q6_K, {208}, {}},
};

inline std::vector<int64_t> row_lengths(ggml_type t) {
    const int64_t bs = info(t).block_size;
    if (bs == 32) return {32, 64, 96, 352, 4128};
    if (bs == 256) return {256, 512, 768, 2816, 4096 + 256};
    return {1, 7, 8, 15, 16, 33, 64, 100, 1001, 4096};
}

inline void set_half(std::vector<uint8_t>& bytes, size_t off, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(&bytes[off], &h, 2);
}

// Random weight blocks. Each block is one of: random quant bytes with a sane scale, random bytes
// with an extreme scale (0, fp16 subnormal, 65504, ...), all zero, or quant bytes drawn from the
// extreme patterns 0x00 / 0xFF / 0x80 / 0x7F / 0x88 / 0x77 (q8 = -128 and 127, nibbles 0 and 15).
inline std::vector<uint8_t> random_weights(std::mt19937& rng, const weight_layout& w, int64_t n) {
    const auto& ti = info(w.type);
    std::vector<uint8_t> bytes(row_bytes(w.type, n));
    std::uniform_int_distribution<int> byte(0, 255), kind(0, 9);
    std::uniform_real_distribution<float> sane(1e-3f, 0.1f);
    const float extremes[] = {0.0f, 0x1p-24f, 0x1p-14f, 65504.0f, -65504.0f, 1024.0f, -3.0f, 1.0f};
    const uint8_t patterns[] = {0x00, 0xff, 0x80, 0x7f, 0x88, 0x77};
    for (size_t b = 0; b < bytes.size(); b += ti.block_bytes) {
        const int k = kind(rng);
        for (size_t i = 0; i < ti.block_bytes; ++i)
            bytes[b + i] = k == 8 ? uint8_t(0) : k == 9 ? patterns[size_t(byte(rng)) % 6] : uint8_t(byte(rng));
        if (k == 8) continue;
        auto scale = [&] {
            if (k == 7) return extremes[size_t(byte(rng)) % 8];
            return byte(rng) < 128 ? sane(rng) : -sane(rng);
        };
        for (size_t f : w.d_fields) set_half(bytes, b + f, scale());
        for (size_t f : w.m_fields) set_half(bytes, b + f, scale());
    }
    return bytes;
}

// Activations in 32-element chunks: heavy-tailed normals at magnitudes 1e-4 … 1e4, zero chunks,
// chunks of equal magnitude (every quant ±127), and exact rounding ties (amax 127, x = k + 0.5).
inline std::vector<float> random_activations(std::mt19937& rng, int64_t n) {
    std::vector<float> x(static_cast<size_t>(n));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f), exponent(-4.0f, 4.0f);
    std::uniform_int_distribution<int> kind(0, 9), small(-126, 125);
    for (int64_t c = 0; c < n; c += 32) {
        const int k = kind(rng);
        const float mag = std::pow(10.0f, exponent(rng));
        for (int64_t e = c; e < std::min(n, c + 32); ++e) {
            float v = normal(rng) * mag * (u(rng) < 0.03f ? 16.0f : 1.0f);
            if (k == 0) v = 0.0f;
            if (k == 1) v = u(rng) < 0.5f ? -mag : mag;
            if (k == 2) v = e == c ? 127.0f : float(small(rng)) + 0.5f;
            x[size_t(e)] = v;
        }
    }
    return x;
}

inline std::vector<uint8_t> quantize_row(ggml_type t, const std::vector<float>& x) {
    std::vector<uint8_t> out(row_bytes(t, int64_t(x.size())));
    ref(t).from_float(x.data(), out.data(), int64_t(x.size()));
    return out;
}

inline std::vector<double> dequantize(ggml_type t, const std::vector<uint8_t>& bytes, int64_t n) {
    std::vector<float> f(static_cast<size_t>(n));
    ref(t).to_float(bytes.data(), f.data(), n);
    return {f.begin(), f.end()};
}

// Σ (|x_d| + |x_m|)·|y|: the weight dequantized once with its min/offset fields zeroed and once
// with its scale fields zeroed bounds every block term the kernels form.
inline double sum_abs_terms(const weight_layout& w, const std::vector<uint8_t>& wb, ggml_type act, const std::vector<uint8_t>& ab,
                     int64_t n) {
    const auto y = dequantize(act, ab, n);
    std::vector<uint8_t> dpart = wb, mpart = wb;
    const size_t bb = info(w.type).block_bytes;
    for (size_t b = 0; b < wb.size(); b += bb) {
        for (size_t f : w.m_fields) set_half(dpart, b + f, 0.0f);
        for (size_t f : w.d_fields) set_half(mpart, b + f, 0.0f);
    }
    const auto xd = dequantize(w.type, dpart, n), xm = dequantize(w.type, mpart, n);
    double s = 0;
    for (int64_t e = 0; e < n; ++e) s += (std::abs(xd[size_t(e)]) + std::abs(xm[size_t(e)])) * std::abs(y[size_t(e)]);
    return s;
}

inline float run_dot(const kernels::type_kernels& k, int64_t n, const void* x, const void* y) {
    float s = std::nanf("");
    k.vec_dot(n, &s, x, y);
    return s;
}

inline void check_close(const std::string& what, float simd, float reference_value, double bound) {
    CAPTURE(what);
    CAPTURE(reference_value);
    if (std::isnan(reference_value)) {
        CHECK(std::isnan(simd));
        return;
    }
    if (std::isinf(reference_value)) {  // e.g. Q8_1's fp16 s overflowed: both must see it
        CHECK(simd == reference_value);
        return;
    }
    CHECK(std::abs(double(simd) - double(reference_value)) <= bound);
}

// Activation row of unit scale with quants in -15..15, built directly (Q8_0, Q8_1 or Q8_K).
inline std::vector<uint8_t> unit_activations(std::mt19937& rng, ggml_type t, int64_t n) {
    std::uniform_int_distribution<int> q(-15, 15);
    std::vector<uint8_t> out(row_bytes(t, n));
    if (t == ggml_type::q8_K) {
        auto* b = reinterpret_cast<quant::block_q8_K*>(out.data());
        for (int64_t i = 0; i < n / 256; ++i) {
            b[i].d = 1.0f;
            for (int e = 0; e < 256; ++e) b[i].qs[e] = int8_t(q(rng));
            for (int j = 0; j < 16; ++j) {
                int s = 0;
                for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
                b[i].bsums[j] = int16_t(s);
            }
        }
    } else if (t == ggml_type::q8_1) {
        auto* b = reinterpret_cast<quant::block_q8_1*>(out.data());
        for (int64_t i = 0; i < n / 32; ++i) {
            b[i].d = fp32_to_fp16(1.0f);
            int s = 0;
            for (int e = 0; e < 32; ++e) s += (b[i].qs[e] = int8_t(q(rng)));
            b[i].s = fp32_to_fp16(float(s));
        }
    } else {
        auto* b = reinterpret_cast<quant::block_q8_0*>(out.data());
        for (int64_t i = 0; i < n / 32; ++i) {
            b[i].d = fp32_to_fp16(1.0f);
            for (int e = 0; e < 32; ++e) b[i].qs[e] = int8_t(q(rng));
        }
    }
    return out;
}

inline std::vector<float> random_floats(std::mt19937& rng, int64_t n, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng);
    return v;
}

// Floats that exercise every rounding path of the converters: random magnitudes over the whole
// f32 range, zeros of both signs, subnormals, infinities, NaNs, and fp16 / bf16 ties. NaNs are
// quiet: the reference's amax uses std::fmax, which glibc makes return NaN for a signalling NaN
// (IEEE maxNum), so the running maximum restarts there; the SIMD max skips every NaN.
inline std::vector<float> special_floats(std::mt19937& rng, int64_t n) {
    std::uniform_int_distribution<uint32_t> bits;
    std::uniform_int_distribution<int> kind(0, 7);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) {
        const uint32_t r = bits(rng);
        switch (kind(rng)) {
            case 0: x = std::bit_cast<float>(r); break;                                      // anything, NaNs too
            case 1: x = std::bit_cast<float>((r & 0x80ffffffu) | 0x38000000u); break;       // around fp16's range
            case 2: x = std::bit_cast<float>((r & 0x8000e000u) | 0x3f801000u); break;       // fp16 ties
            case 3: x = std::bit_cast<float>((r & 0x80ff0000u) | 0x00008000u); break;       // bf16 ties
            case 4: x = r & 1 ? -0.0f : 0.0f; break;
            case 5: x = std::bit_cast<float>(r & 0x807fffffu); break;                       // f32 subnormals
            case 6: x = r & 1 ? -INFINITY : INFINITY; break;
            default: x = float(int(r % 2001) - 1000) * 0.25f; break;
        }
        if (std::isnan(x)) x = std::bit_cast<float>(std::bit_cast<uint32_t>(x) | 0x00400000u);
    }
    return v;
}

}  // namespace ember::test::kernel_data
