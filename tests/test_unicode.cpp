// The code-point class table the byte-level BPE pre-tokenizers read (src/tokenizer/unicode.hpp).
#include "common.hpp"
#include "tokenizer/unicode.hpp"

using namespace ember::detail;

TEST_CASE("unicode classes: one code point of every class, from the generated table") {
    CHECK(classify('A').letter());
    CHECK(classify('z').letter());
    CHECK(classify(0x00E9).letter());   // é
    CHECK(classify(0x4E2D).letter());   // 中 (Lo)
    CHECK(classify(0x02B0).letter());   // ʰ (Lm)
    CHECK(classify('7').number());
    CHECK(classify(0x0663).number());   // Arabic-Indic three
    CHECK(classify(0x2167).number());   // Roman numeral eight (Nl)
    CHECK(classify(0x00B2).number());   // superscript two (No)
    CHECK(classify(0x0301).mark());     // combining acute
    CHECK(classify(0x093F).mark());     // Devanagari vowel sign (Mc)
    CHECK(classify('!').punctuation());
    CHECK(classify('_').punctuation());
    CHECK(classify(0x3001).punctuation());  // 、
    CHECK(classify('$').symbol());
    CHECK(classify('+').symbol());
    CHECK(classify('~').symbol());
    CHECK(classify(0x1F600).symbol());  // 😀
    CHECK(classify(0x1F1FA).symbol());  // regional indicator U
    CHECK(classify(0x200D).category() == ucat::control);  // ZWJ is Cf
    CHECK(classify(0xE000).category() == ucat::control);  // private use
    CHECK(classify(0xD800).category() == ucat::control);  // surrogate
    CHECK(classify(0x0378).category() == ucat::undefined);
    CHECK(classify(0x10FFFF).category() == ucat::undefined);
    CHECK(classify(0x1FFFFF).category() == ucat::undefined);
    CHECK(classify(0x3000).category() == ucat::separator);
    // Unicode 15.1, as llama.cpp's table (Debian 12's unicode-data is 15.0): CJK Extension I,
    // the ideographic description characters U+2FFC..2FFF and CJK stroke U+31EF.
    CHECK(classify(0x2EBF0).letter());
    CHECK(classify(0x2EE5D).letter());
    CHECK(classify(0x2EE5E).category() == ucat::undefined);
    CHECK(classify(0x2FFC).symbol());
    CHECK(classify(0x31EF).symbol());
}

TEST_CASE("unicode classes: White_Space is exactly the Unicode property") {
    const uint32_t ws[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2005,
                           0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    for (uint32_t cp : ws) CHECK_MESSAGE(classify(cp).whitespace(), "U+" << std::hex << cp);
    int n = 0;
    for (uint32_t cp = 0; cp < 0x110000; ++cp) n += classify(cp).whitespace();
    CHECK(n == 25);
    // Look-alikes that are not whitespace: ZERO WIDTH SPACE, the information separators, BOM.
    for (uint32_t cp : {0x200Bu, 0x1Cu, 0x1Fu, 0xFEFFu, 0x180Eu}) CHECK_FALSE(classify(cp).whitespace());
}
