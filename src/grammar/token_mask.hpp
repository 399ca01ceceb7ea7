// Which tokens a grammar allows next. The reference tries every token's bytes on a copy of the
// matcher's position; the trie version walks a byte trie of the vocabulary once, sharing the
// work of common prefixes and dropping a whole subtree as soon as its prefix is refused. Both
// give the same mask (test_grammar); end-of-generation tokens are allowed exactly when the text
// so far is complete, and tokens with no text (control tokens) never are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ember/vocab.hpp"
#include "grammar/matcher.hpp"

namespace ember::grammar {

// The vocabulary's token texts as generation emits them (token_to_piece), in a byte trie.
class token_trie {
public:
    explicit token_trie(const vocab& v);

    struct node {
        std::vector<std::pair<uint8_t, uint32_t>> children;  // (byte, node), sorted by byte
        std::vector<token_id> tokens;                        // tokens whose text ends here
    };
    const std::vector<node>& nodes() const { return nodes_; }
    const std::vector<token_id>& eog() const { return eog_; }
    int32_t n_vocab() const { return n_vocab_; }

private:
    std::vector<node> nodes_;  // nodes_[0] is the root (the empty text: no token ends there)
    std::vector<token_id> eog_;
    int32_t n_vocab_ = 0;
};

// allowed[id] = 1 when the grammar accepts token id next.
void token_mask_reference(const matcher& m, const vocab& v, std::vector<uint8_t>& allowed);
void token_mask(const matcher& m, const token_trie& trie, std::vector<uint8_t>& allowed);

}  // namespace ember::grammar
