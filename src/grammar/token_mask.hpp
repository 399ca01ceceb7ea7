// The vocabulary as a grammar sees it, and the reference token mask.
//
// token_trie holds every token's text as generation emits it (token_to_piece) in a byte trie laid
// out flat in depth-first order, so a mask walk (automaton::mask) reads it front to back and
// skips a refused prefix's whole subtree with one jump. token_mask_reference tries every token
// on its own; it is the oracle the automaton is tested against. In both, end-of-generation tokens
// are allowed exactly when the text so far is complete, and tokens with no text (control tokens)
// never are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ember/vocab.hpp"
#include "grammar/matcher.hpp"

namespace ember::gbnf {

class token_trie {
public:
    explicit token_trie(const vocab& v);

    // Node i (0 is the root, the empty text) is reached from its parent by bytes()[i] at depth
    // depths()[i]; its subtree is [i, skips()[i]); the tokens whose text ends there are
    // tokens()[token_begins()[i] .. token_begins()[i + 1]).
    const std::vector<uint8_t>& bytes() const noexcept { return byte_; }
    const std::vector<uint16_t>& depths() const noexcept { return depth_; }
    const std::vector<uint32_t>& skips() const noexcept { return skip_; }
    const std::vector<uint32_t>& token_begins() const noexcept { return tok_begin_; }
    const std::vector<token_id>& tokens() const noexcept { return toks_; }
    size_t n_nodes() const noexcept { return byte_.size(); }
    uint16_t max_depth() const noexcept { return max_depth_; }
    const std::vector<token_id>& eog() const noexcept { return eog_; }
    int32_t n_vocab() const noexcept { return n_vocab_; }
    // The text a token writes ("" for end-of-generation and control tokens).
    const std::string& text(token_id id) const { return text_[size_t(id)]; }

private:
    std::vector<uint8_t> byte_;
    std::vector<uint16_t> depth_;
    std::vector<uint32_t> skip_;
    std::vector<uint32_t> tok_begin_;
    std::vector<token_id> toks_;
    std::vector<std::string> text_;
    std::vector<token_id> eog_;
    uint16_t max_depth_ = 0;
    int32_t n_vocab_ = 0;
};

// allowed[id] = 1 when the grammar accepts token id next: every token tried on a copy of the
// matcher's position.
void token_mask_reference(const matcher& m, const vocab& v, std::vector<uint8_t>& allowed);

}  // namespace ember::gbnf
