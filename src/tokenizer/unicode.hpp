// Code-point classes for the byte-level BPE pre-tokenizers: the major General_Category of every
// code point (\p{L}, \p{N}, \p{P}, ...) and White_Space (\s), from a table generated out of the
// Unicode Character Database (gen_unicode_tables.py -> unicode_tables.cpp). No <cctype>, no
// locale: the answer is the same on every machine.
#pragma once

#include <cstdint>

namespace ember::detail {

enum class ucat : uint8_t {
    undefined = 0,  // Cn, and values past U+10FFFF that a malformed 4-byte sequence can encode
    number = 1,     // Nd Nl No
    letter = 2,     // Lu Ll Lt Lm Lo
    separator = 3,  // Zs Zl Zp
    mark = 4,       // Mn Mc Me
    punctuation = 5,
    symbol = 6,
    control = 7,  // Cc Cf Cs Co
};

extern const uint16_t unicode_stage1[0x110000 / 256];
extern const uint8_t unicode_stage2[][256];

struct cpt_class {
    uint8_t bits = 0;
    ucat category() const noexcept { return ucat(bits & 0x07); }
    bool whitespace() const noexcept { return (bits & 0x08) != 0; }
    bool letter() const noexcept { return category() == ucat::letter; }
    bool number() const noexcept { return category() == ucat::number; }
    bool mark() const noexcept { return category() == ucat::mark; }
    bool punctuation() const noexcept { return category() == ucat::punctuation; }
    bool symbol() const noexcept { return category() == ucat::symbol; }
};

inline cpt_class classify(uint32_t cp) noexcept {
    if (cp >= 0x110000) return {};
    return {unicode_stage2[unicode_stage1[cp >> 8]][cp & 0xFF]};
}

}  // namespace ember::detail
