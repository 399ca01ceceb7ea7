#include "grammar/token_mask.hpp"

#include <algorithm>

namespace ember::grammar {

token_trie::token_trie(const vocab& v) : n_vocab_(v.size()) {
    nodes_.emplace_back();
    for (token_id id = 0; id < n_vocab_; ++id) {
        if (v.is_eog(id)) {
            eog_.push_back(id);
            continue;
        }
        const std::string piece = v.token_to_piece(id, false);
        if (piece.empty()) continue;  // control and unused tokens write nothing: never allowed
        uint32_t at = 0;
        for (const char c : piece) {
            const uint8_t b = static_cast<uint8_t>(c);
            auto& ch = nodes_[at].children;
            auto it = std::lower_bound(ch.begin(), ch.end(), b, [](const auto& p, uint8_t x) { return p.first < x; });
            if (it == ch.end() || it->first != b) {
                const uint32_t next = uint32_t(nodes_.size());
                it = ch.insert(it, {b, next});
                nodes_.emplace_back();  // may reallocate: `ch` and `it` are not used after this
                at = next;
            } else {
                at = it->second;
            }
        }
        nodes_[at].tokens.push_back(id);
    }
}

void token_mask_reference(const matcher& m, const vocab& v, std::vector<uint8_t>& allowed) {
    allowed.assign(size_t(v.size()), 0);
    const bool done = m.is_complete();
    for (token_id id = 0; id < v.size(); ++id) {
        if (v.is_eog(id)) {
            allowed[size_t(id)] = done;
            continue;
        }
        const std::string piece = v.token_to_piece(id, false);
        allowed[size_t(id)] = !piece.empty() && m.can_accept(piece);
    }
}

namespace {

void walk(const matcher& m, const token_trie& trie, uint32_t at, const matcher::position& pos, std::vector<uint8_t>& allowed) {
    for (const auto& [byte, child] : trie.nodes()[at].children) {
        matcher::position next = pos;
        const char c = char(byte);
        if (!m.advance(next, std::string_view(&c, 1))) continue;  // no token below can fit
        for (const token_id id : trie.nodes()[child].tokens) allowed[size_t(id)] = 1;
        walk(m, trie, child, next, allowed);
    }
}

}  // namespace

void token_mask(const matcher& m, const token_trie& trie, std::vector<uint8_t>& allowed) {
    allowed.assign(size_t(trie.n_vocab()), 0);
    if (m.is_complete())
        for (const token_id id : trie.eog()) allowed[size_t(id)] = 1;
    walk(m, trie, 0, m.current(), allowed);
}

}  // namespace ember::grammar
