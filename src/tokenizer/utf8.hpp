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

}  // namespace ember::detail
