// Streaming detokenization that only ever hands out valid, complete UTF-8.
#include <string>
#include <string_view>

#include "ember/vocab.hpp"

namespace ember {
namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Allowed range of the second byte after `lead` (RFC 3629 table; excludes overlongs,
// surrogates and code points above U+10FFFF). Later continuation bytes are always 80..BF.
struct lead_info {
    uint8_t length;  // 0: the byte cannot start a character
    uint8_t lo, hi;
};

lead_info classify(uint8_t b) noexcept {
    if (b < 0x80) return {1, 0, 0};
    if (b < 0xC2) return {0, 0, 0};
    if (b < 0xE0) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};
    if (b < 0xF0) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b < 0xF4) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

}  // namespace

size_t utf8_sanitize(std::string_view s, bool final, std::string& out) {
    size_t i = 0;
    while (i < s.size()) {
        const auto b = uint8_t(s[i]);
        const lead_info li = classify(b);
        if (li.length == 1) {
            out += char(b);
            ++i;
            continue;
        }
        if (li.length == 0) {
            out += k_replacement;
            ++i;
            continue;
        }
        // Count how many bytes after the lead continue this sequence validly.
        size_t k = 1;
        while (k < li.length && i + k < s.size()) {
            const auto c = uint8_t(s[i + k]);
            const bool ok = k == 1 ? (c >= li.lo && c <= li.hi) : (c >= 0x80 && c <= 0xBF);
            if (!ok) break;
            ++k;
        }
        if (k == li.length) {
            out.append(s.substr(i, k));
        } else if (i + k == s.size() && !final) {
            return s.size() - i;  // a valid prefix that later bytes may complete
        } else {
            out += k_replacement;  // one replacement for the maximal invalid subpart
        }
        i += k;
    }
    return 0;
}

std::string token_stream_decoder::push(token_id id) {
    pending_ += vocab_.token_to_piece(id, special_);
    std::string out;
    const size_t held = utf8_sanitize(pending_, false, out);
    pending_.erase(0, pending_.size() - held);
    return out;
}

std::string token_stream_decoder::flush() {
    std::string out;
    utf8_sanitize(pending_, true, out);
    pending_.clear();
    return out;
}

}  // namespace ember
