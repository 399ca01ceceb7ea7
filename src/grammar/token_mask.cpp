#include "grammar/token_mask.hpp"

#include <algorithm>

#include "core/util.hpp"

namespace ember::gbnf {

token_trie::token_trie(const vocab& v) : n_vocab_(v.size()) {
    text_.resize(size_t(n_vocab_));
    std::vector<token_id> order;
    for (token_id id = 0; id < n_vocab_; ++id) {
        if (v.is_eog(id)) {
            eog_.push_back(id);
            continue;
        }
        std::string piece = v.token_to_piece(id, false);
        if (piece.empty()) continue;  // control and unused tokens write nothing: never allowed
        if (piece.size() > 0xFFFF) detail::fail(errc::invalid_argument, "token {} is {} bytes long: too long for a grammar", id, piece.size());
        text_[size_t(id)] = std::move(piece);
        order.push_back(id);
    }
    // Sorting the texts gives the depth-first order directly: a node per distinct prefix, each
    // introduced by the first text that has it.
    std::sort(order.begin(), order.end(), [&](token_id a, token_id b) {
        return text_[size_t(a)] != text_[size_t(b)] ? text_[size_t(a)] < text_[size_t(b)] : a < b;
    });
    byte_.push_back(0);
    depth_.push_back(0);
    tok_begin_.push_back(0);
    const std::string* prev = nullptr;
    for (const token_id id : order) {
        const std::string& t = text_[size_t(id)];
        size_t common = 0;
        if (prev) {
            const size_t n = std::min(prev->size(), t.size());
            while (common < n && (*prev)[common] == t[common]) ++common;
        }
        for (size_t d = common; d < t.size(); ++d) {
            byte_.push_back(static_cast<uint8_t>(t[d]));
            depth_.push_back(uint16_t(d + 1));
            tok_begin_.push_back(uint32_t(toks_.size()));
        }
        toks_.push_back(id);  // ends at the last node (tok_begin_ of the next node closes the range)
        max_depth_ = std::max(max_depth_, uint16_t(t.size()));
        prev = &t;
    }
    tok_begin_.push_back(uint32_t(toks_.size()));
    // Subtree ends: the next node at the same or a smaller depth.
    skip_.assign(byte_.size(), uint32_t(byte_.size()));
    std::vector<uint32_t> pending;
    for (uint32_t i = 0; i < byte_.size(); ++i) {
        while (!pending.empty() && depth_[pending.back()] >= depth_[i]) {
            skip_[pending.back()] = i;
            pending.pop_back();
        }
        pending.push_back(i);
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

}  // namespace ember::gbnf
