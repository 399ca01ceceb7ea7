// TEMPORARY STUB: replaced by the tokenizer branch.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include "ember/gguf.hpp"
namespace ember {
using token_id = int32_t;
class vocab {
public:
    static vocab from_gguf(const gguf_file& f);
    size_t size() const noexcept { return tokens_.size(); }
    token_id bos() const noexcept { return 1; }
    token_id eos() const noexcept { return 2; }
    bool is_eog(token_id t) const noexcept { return t == eos(); }
    bool add_bos() const noexcept { return true; }
    std::string token_to_piece(token_id t, bool special = false) const;
private:
    std::vector<std::string> tokens_;
};
}
