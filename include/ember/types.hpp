// Tensor element types as numbered by ggml/GGUF (formats.md §1.9). ember keeps ggml's
// spellings (q4_K, q8_K) so that a reader can cross-check layouts against the spec.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ember {

enum class ggml_type : uint32_t {
    f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
    q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15,
    iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22,
    iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30,
    tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41,
};

struct type_info {
    ggml_type type;
    std::string_view name;  // as ggml prints it: "F32", "Q4_K", ...
    int64_t block_size;     // elements per block
    size_t block_bytes;     // bytes per block
    bool quantized;
};

// Every type id a GGUF file may legitimately carry. Ids that were removed (4, 5, 31-33, 36-38)
// or that only forks assign are absent: lookups of them return nothing.
const type_info* find_type(uint32_t id) noexcept;
const type_info& info(ggml_type t) noexcept;
inline std::string_view type_name(ggml_type t) noexcept { return info(t).name; }
std::optional<ggml_type> type_from_name(std::string_view name) noexcept;  // case-insensitive

// Bytes of one row of `ne0` elements; ne0 must be a multiple of the block size.
inline size_t row_bytes(ggml_type t, int64_t ne0) noexcept {
    const auto& ti = info(t);
    return size_t(ne0 / ti.block_size) * ti.block_bytes;
}

}  // namespace ember
