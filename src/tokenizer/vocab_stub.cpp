// TEMPORARY STUB: replaced by the tokenizer branch.
#include "ember/vocab.hpp"
namespace ember {
vocab vocab::from_gguf(const gguf_file& f) {
    vocab v;
    auto t = f.get_string_array("tokenizer.ggml.tokens");
    v.tokens_.assign(t.begin(), t.end());
    return v;
}
std::string vocab::token_to_piece(token_id t, bool) const {
    std::string s = tokens_.at(size_t(t));
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s.compare(i, 3, "\xe2\x96\x81") == 0) { out += ' '; i += 2; } else out += s[i];
    }
    if (out.size() == 6 && out.starts_with("<0x")) return std::string(1, char(std::stoi(out.substr(3, 2), nullptr, 16)));
    return out;
}
}
