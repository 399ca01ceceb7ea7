// quantize_row / quantize_rows: the type-erased front of the weight quantizers.
#include "ember/quant/quantize.hpp"

#include <cstring>

#include "ember/fp16.hpp"
#include "core/util.hpp"

namespace ember::quant {
namespace {

template <class Block> void quantize_as(const float* src, void* dst, int64_t n, const float* importance) {
    quantize(src, static_cast<Block*>(dst), n, importance);
}

using row_fn = void (*)(const float*, void*, int64_t, const float*);

row_fn find_quantizer(ggml_type t) noexcept {
    switch (t) {
        case ggml_type::f32:
            return [](const float* s, void* d, int64_t n, const float*) { std::memcpy(d, s, size_t(n) * sizeof(float)); };
        case ggml_type::f16:
            return [](const float* s, void* d, int64_t n, const float*) {
                auto* h = static_cast<uint16_t*>(d);
                for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(s[i]);
            };
        case ggml_type::bf16:
            return [](const float* s, void* d, int64_t n, const float*) {
                auto* h = static_cast<uint16_t*>(d);
                for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(s[i]);
            };
        case ggml_type::q4_0: return quantize_as<block_q4_0>;
        case ggml_type::q4_1: return quantize_as<block_q4_1>;
        case ggml_type::q5_0: return quantize_as<block_q5_0>;
        case ggml_type::q5_1: return quantize_as<block_q5_1>;
        case ggml_type::q8_0: return quantize_as<block_q8_0>;
        case ggml_type::q2_K: return quantize_as<block_q2_K>;
        case ggml_type::q3_K: return quantize_as<block_q3_K>;
        case ggml_type::q4_K: return quantize_as<block_q4_K>;
        case ggml_type::q5_K: return quantize_as<block_q5_K>;
        case ggml_type::q6_K: return quantize_as<block_q6_K>;
        default: return nullptr;
    }
}

row_fn checked_quantizer(ggml_type t, const float* src, const void* dst, int64_t n_per_row, int64_t nrows) {
    const row_fn fn = find_quantizer(t);
    if (!fn) detail::fail(errc::unsupported, "quantize: cannot quantize to type {}", type_name(t));
    const int64_t bs = info(t).block_size;
    if (n_per_row < 0 || nrows < 0 || n_per_row % bs != 0)
        detail::fail(errc::invalid_argument, "quantize: row length {} is not a multiple of {}'s block size {}",
                     n_per_row, type_name(t), bs);
    if (n_per_row > 0 && nrows > 0 && (!src || !dst))
        detail::fail(errc::invalid_argument, "quantize: null source or destination for {} rows of {}", nrows, n_per_row);
    return fn;
}

}  // namespace

bool can_quantize(ggml_type t) noexcept { return find_quantizer(t) != nullptr; }

size_t quantize_row(ggml_type t, const float* src, void* dst, int64_t n, const float* importance) {
    const row_fn fn = checked_quantizer(t, src, dst, n, 1);
    if (n > 0) fn(src, dst, n, importance);
    return row_bytes(t, n);
}

size_t quantize_rows(ggml_type t, const float* src, void* dst, int64_t nrows, int64_t n_per_row,
                     const float* importance) {
    const row_fn fn = checked_quantizer(t, src, dst, n_per_row, nrows);
    const size_t rb = row_bytes(t, n_per_row);
    auto* out = static_cast<std::byte*>(dst);
    for (int64_t r = 0; r < nrows && n_per_row > 0; ++r) fn(src + r * n_per_row, out + size_t(r) * rb, n_per_row, importance);
    return size_t(nrows) * rb;
}

}  // namespace ember::quant
