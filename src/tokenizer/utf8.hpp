// UTF-8 helpers for the tokenizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ember::detail {

// Length of the UTF-8 sequence a byte starts, judged by its high nibble only, exactly as
// llama.cpp splits text into symbols: continuation bytes count as 1, 0xF8-0xFF as 4. Invalid
// text therefore splits the same way llama.cpp splits it.
inline size_t utf8_sequence_length(uint8_t lead) noexcept {
    static constexpr uint8_t k_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return k_len[lead >> 4];
}

// Appends the UTF-8 encoding of a code point (used by the tokenizers and the chat templates).
inline void append_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

// Incremental UTF-8 decoding that refuses what is not UTF-8: overlong forms, surrogates, code
// points above U+10FFFF (used by the grammar matchers, which must not let an overlong "\xC0\xA2"
// pass for a quote). A lead byte starts a character: its payload bits and the continuation
// bytes still needed, or false.
inline bool utf8_lead(uint8_t b, uint32_t& cp, int& left) noexcept {
    if (b < 0x80) return cp = b, left = 0, true;
    if (b >= 0xC2 && b <= 0xDF) return cp = b & 0x1Fu, left = 1, true;
    if ((b >> 4) == 0xE) return cp = b & 0x0Fu, left = 2, true;
    if (b >= 0xF0 && b <= 0xF4) return cp = b & 0x07u, left = 3, true;
    return false;
}
// A continuation byte for a character with payload `cp` so far and `left` bytes to go.
inline bool utf8_continue(uint8_t b, uint32_t& cp, int& left) noexcept {
    if ((b & 0xC0) != 0x80 || left <= 0) return false;
    // The second byte of a 3-byte form (payload < 16 there) or of a 4-byte form bounds the rest.
    if (left == 2 && cp < 16) {
        if (cp == 0 && b < 0xA0) return false;   // overlong
        if (cp == 0xD && b >= 0xA0) return false;  // surrogate
    } else if (left == 3) {
        if (cp == 0 && b < 0x90) return false;  // overlong
        if (cp == 4 && b >= 0x90) return false;  // above U+10FFFF
    }
    cp = (cp << 6) | (b & 0x3Fu);
    --left;
    return true;
}

// The code points an incomplete character (payload `cp`, `left` bytes to go) can still become.
inline void utf8_pending_range(uint32_t cp, int left, uint32_t& lo, uint32_t& hi) noexcept {
    lo = cp << (6 * left);
    hi = lo | ((1u << (6 * left)) - 1);
    if (left == 2 && cp < 16 && lo < 0x800) lo = 0x800;  // after a 3-byte lead
    if (left == 3) lo = lo < 0x10000 ? 0x10000 : lo, hi = hi > 0x10FFFF ? 0x10FFFF : hi;
}

}  // namespace ember::detail
