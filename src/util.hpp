// Internal helpers shared by the library's translation units (not installed).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "ember/error.hpp"

namespace ember::detail {

template <class... Args>
[[noreturn]] void fail(errc code, fmt::format_string<Args...> f, Args&&... args) {
    throw error(code, fmt::format(f, std::forward<Args>(args)...));
}

// Overflow-checked arithmetic on sizes taken from untrusted files.
inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
    return r;
}
inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}
inline bool is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
inline uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace ember::detail
