// Internal helpers shared by the library's translation units (not installed).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
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
// ASCII case-insensitive equality (preset and type names on the command line).
inline bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}
inline bool is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
inline uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Text taken from a file (keys, tensor names, string values) made safe to embed in a one-line
// message: control bytes and backslashes are escaped (and `quote` too, if given), and text
// longer than max_len bytes is cut at a UTF-8 character boundary and marked with "...".
inline std::string escape_text(std::string_view s, size_t max_len = 80, char quote = 0) {
    size_t n = s.size();
    if (n > max_len) {
        n = max_len;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // continuation byte
    }
    std::string out;
    out.reserve(n + 8);
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\\') out += "\\\\";
        else if (quote && c == static_cast<unsigned char>(quote)) (out += '\\') += quote;
        else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += char(c);
    }
    if (n < s.size()) out += "...";
    return out;
}

}  // namespace ember::detail
