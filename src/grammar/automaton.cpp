#include "grammar/automaton.hpp"

#include <algorithm>

#include "tokenizer/utf8.hpp"

namespace ember::gbnf {

namespace {

// How a class treats every code point of [lo, hi]: 1 all match, 0 none does, -1 some do.
int class_over(const compiled_grammar::cclass& c, uint32_t lo, uint32_t hi) {
    bool overlap = false;
    for (const char_range& r : c.ranges) {
        if (r.lo <= lo && r.hi >= hi) return c.negated ? 0 : 1;
        overlap = overlap || (r.lo <= hi && r.hi >= lo);
    }
    if (!overlap) return c.negated ? 1 : 0;
    return -1;
}

}  // namespace

size_t automaton::state_key_hash::operator()(const std::vector<frame_id>& v) const noexcept {
    uint64_t h = 0xCBF29CE484222325ull;
    for (const frame_id f : v) h = (h ^ f) * 0x100000001B3ull;
    return size_t(h ^ (h >> 29));
}

automaton::automaton(std::shared_ptr<const compiled_grammar> g, std::shared_ptr<const token_trie> trie)
    : g_(std::move(g)), trie_(std::move(trie)) {
    reset_caches();
}

void automaton::reset_caches() {
    frames_.clear();
    frame_index_.clear();
    after_.clear();
    after_known_.clear();
    states_.clear();
    tables_.clear();
    state_index_.clear();
    n_masks_ = 0;
    frames_.push_back({UINT32_MAX, 0, 0, 0});  // 0: the empty stack
    after_.emplace_back();
    after_known_.push_back(1);
    std::vector<frame_id> start;
    for (uint32_t a = 0; a < g_->rules[g_->root].size(); ++a) expand(intern(g_->root, a, 0, 0), start);
    start_ = intern_state(std::move(start), 0, 0);
}

automaton::frame_id automaton::intern(uint32_t rule, uint32_t alt, uint32_t idx, frame_id parent) {
    const frame f{rule, alt, idx, parent};
    const auto [it, added] = frame_index_.emplace(f, frame_id(frames_.size()));
    if (added) {
        frames_.push_back(f);
        after_.emplace_back();
        after_known_.push_back(0);
    }
    return it->second;
}

// As the reference matcher's expand: to every place where a character class comes next, or to
// the completed parse (0).
void automaton::expand(frame_id f, std::vector<frame_id>& out) {
    while (true) {
        if (f == 0) {
            out.push_back(0);
            return;
        }
        const frame fr = frames_[f];
        const auto& alt = g_->rules[fr.rule][fr.alt];
        if (fr.idx == alt.size()) {
            f = fr.parent;
            continue;
        }
        const compiled_grammar::symbol sym = alt[fr.idx];
        if (!sym.is_ref) {
            out.push_back(f);
            return;
        }
        // A reference in tail position returns straight to the parent (no frame that would only
        // pop), so right recursion such as R ::= X R | "" keeps stacks from growing.
        const frame_id next = fr.idx + 1 == alt.size() ? fr.parent : intern(fr.rule, fr.alt, fr.idx + 1, fr.parent);
        const size_t n_alts = g_->rules[sym.index].size();
        for (uint32_t a = 0; a + 1 < n_alts; ++a) expand(intern(sym.index, a, 0, next), out);
        f = intern(sym.index, uint32_t(n_alts - 1), 0, next);
    }
}

const std::vector<automaton::frame_id>& automaton::after(frame_id f) {
    if (!after_known_[f]) {
        std::vector<frame_id> out;
        const frame fr = frames_[f];
        const bool last = fr.idx + 1 == g_->rules[fr.rule][fr.alt].size();
        expand(last ? fr.parent : intern(fr.rule, fr.alt, fr.idx + 1, fr.parent), out);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        after_[f] = std::move(out);  // intern() may have grown after_: index again
        after_known_[f] = 1;
    }
    return after_[f];
}

automaton::state_id automaton::intern_state(std::vector<frame_id> stacks, uint32_t partial_cp, int partial_left,
                                            bool exact_cp) {
    std::sort(stacks.begin(), stacks.end());
    stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
    size_t h = state_key_hash{}(stacks);
    h ^= (size_t(exact_cp ? partial_cp : 0) << 4 | size_t(exact_cp) << 3 | size_t(partial_left)) * 0x9E3779B97F4A7C15ull;
    const auto [b, e] = state_index_.equal_range(h);
    for (auto it = b; it != e; ++it) {
        const state& s = states_[it->second];
        if (s.partial_left == partial_left && s.exact_cp == exact_cp && (!exact_cp || s.partial_cp == partial_cp) &&
            s.stacks == stacks)
            return it->second;
    }
    const state_id id = state_id(states_.size());
    state s;
    s.complete = partial_left == 0 && !stacks.empty() && stacks.front() == 0;
    s.stacks = std::move(stacks);
    s.partial_cp = partial_cp;
    s.partial_left = partial_left;
    s.exact_cp = exact_cp;
    states_.push_back(std::move(s));
    tables_.resize(tables_.size() + 256, unknown);
    state_index_.emplace(h, id);
    return id;
}

automaton::state_id automaton::compute_step(state_id sid, uint8_t b) {
    state_id result = dead;
    uint32_t cp = 0;
    int left = 0;
    const state& s0 = states_[sid];
    bool ok;
    if (s0.partial_left == 0) {
        ok = detail::utf8_lead(b, cp, left);
    } else {
        cp = s0.partial_cp, left = s0.partial_left;
        ok = detail::utf8_continue(b, cp, left);
    }
    const bool whole = ok && left == 0;
    if (!ok) left = -1;
    if (left >= 0) {
        if (whole) {
            std::vector<frame_id> next;
            for (const frame_id f : s0.stacks) {  // after() adds frames, never states
                if (f == 0) continue;
                const frame fr = frames_[f];
                const auto sym = g_->rules[fr.rule][fr.alt][fr.idx];
                if (!g_->classes[sym.index].matches(cp)) continue;
                const auto& a = after(f);
                next.insert(next.end(), a.begin(), a.end());
            }
            if (!next.empty()) result = intern_state(std::move(next), 0, 0);
        } else {
            // Incomplete character: keep the stacks whose class can still match what it becomes.
            // When every kept class matches the whole pending range and the remaining bytes are
            // free (any continuation byte), the payload so far changes nothing ahead: such
            // states are one state whatever the payload (the first one met stands for all),
            // rather than one per prefix of every multi-byte character in the vocabulary.
            uint32_t lo, hi;
            detail::utf8_pending_range(cp, left, lo, hi);
            std::vector<frame_id> kept;
            bool mixed = false;
            for (const frame_id f : s0.stacks) {
                if (f == 0) continue;
                const frame fr = frames_[f];
                const int over = class_over(g_->classes[g_->rules[fr.rule][fr.alt][fr.idx].index], lo, hi);
                if (over == 0) continue;
                kept.push_back(f);
                mixed = mixed || over < 0;
            }
            // utf8_continue's special second bytes: after E0/ED (3-byte) and F0/F4 (4-byte) leads.
            const bool bounded = (left == 2 && (cp == 0 || cp == 0xD)) || (left == 3 && (cp == 0 || cp == 4));
            if (!kept.empty()) result = intern_state(std::move(kept), cp, left, mixed || bounded);
        }
    }
    tables_[size_t(sid) * 256 + b] = result;
    return result;
}

const std::vector<uint64_t>& automaton::mask(state_id s) {
    if (states_[s].mask) return *states_[s].mask;
    const token_trie& t = *trie_;
    auto m = std::make_unique<std::vector<uint64_t>>((size_t(t.n_vocab()) + 63) / 64, 0);
    uint64_t* bits = m->data();
    const auto set = [bits](token_id id) { bits[size_t(id) >> 6] |= uint64_t(1) << (size_t(id) & 63); };
    if (states_[s].complete)
        for (const token_id id : t.eog()) set(id);
    const auto& byte = t.bytes();
    const auto& depth = t.depths();
    const auto& skip = t.skips();
    const auto& tok_begin = t.token_begins();
    const auto& toks = t.tokens();
    walk_.assign(size_t(t.max_depth()) + 1, dead);
    walk_[0] = s;
    const uint32_t n = uint32_t(byte.size());
    // Raw pointers: the loop is the hot path of a first visit; only compute_step can grow
    // tables_, so the table pointer is reloaded after it.
    const uint8_t* bp = byte.data();
    const uint16_t* dp = depth.data();
    const uint32_t* sp = skip.data();
    const uint32_t* tb = tok_begin.data();
    const token_id* tk = toks.data();
    state_id* walk = walk_.data();
    const state_id* tables = tables_.data();
    for (uint32_t i = 1; i < n;) {
        const uint32_t d = dp[i];
        const state_id from = walk[d - 1];
        state_id next = tables[size_t(from) * 256 + bp[i]];
        if (next == unknown) {
            next = compute_step(from, bp[i]);
            tables = tables_.data();
        }
        if (next == dead) {
            i = sp[i];
            continue;
        }
        walk[d] = next;
        for (uint32_t k = tb[i]; k < tb[i + 1]; ++k) set(tk[k]);
        ++i;
    }
    states_[s].mask = std::move(m);
    ++n_masks_;
    return *states_[s].mask;
}

automaton::state_id automaton::compact(state_id keep) {
    if (states_.size() <= limits_.max_states && n_masks_ <= limits_.max_masks && frames_.size() <= limits_.max_frames)
        return keep;
    // Save `keep` structurally (each stack as its chain of frames), then rebuild it alone.
    struct link {
        uint32_t rule, alt, idx;
    };
    std::vector<std::vector<link>> chains;
    for (frame_id f : states_[keep].stacks) {
        std::vector<link> chain;
        for (; f != 0; f = frames_[f].parent) chain.push_back({frames_[f].rule, frames_[f].alt, frames_[f].idx});
        chains.push_back(std::move(chain));
    }
    const uint32_t cp = states_[keep].partial_cp;
    const int left = states_[keep].partial_left;
    const bool exact = states_[keep].exact_cp;
    reset_caches();
    std::vector<frame_id> stacks;
    for (const auto& chain : chains) {
        frame_id f = 0;
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) f = intern(it->rule, it->alt, it->idx, f);
        stacks.push_back(f);
    }
    return intern_state(std::move(stacks), cp, left, exact);
}

}  // namespace ember::gbnf
