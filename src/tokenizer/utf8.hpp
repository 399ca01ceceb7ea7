// UTF-8 helpers for the tokenizers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember::detail {

// Length of the UTF-8 sequence a byte starts, judged by its high nibble only, exactly as
// llama.cpp splits text into symbols: continuation bytes count as 1, 0xF8-0xFF as 4. Invalid
// text therefore splits the same way llama.cpp splits it.
inline size_t utf8_sequence_length(uint8_t lead) noexcept {
    static constexpr uint8_t k_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return k_len[lead >> 4];
}

}  // namespace ember::detail
