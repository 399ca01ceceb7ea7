// The fast path of grammar matching: the reference matcher's positions, interned and turned into
// a byte automaton built lazily as generation explores it.
//
// A parse stack is a chain of frames (rule, alternative, symbol index); frames are interned, so a
// stack is one integer and equal stacks are equal integers. A state is a sorted set of stacks plus
// the bits of a UTF-8 character still incomplete; states are interned too. Each state keeps its
// byte transitions (computed once, then an array lookup) and, once asked for, its token mask.
// Computing a mask walks the vocabulary's byte trie in depth-first order over the transitions,
// skipping a subtree as soon as its prefix is refused; generation revisits few distinct states
// (inside a JSON string every character leads back to the same one), so most masks come from the
// cache. Every answer equals the reference matcher's (test_grammar).
//
// Not thread-safe: one automaton per generating sequence (it is cheap to create; the grammar and
// the trie are shared).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/matcher.hpp"
#include "grammar/token_mask.hpp"

namespace ember::gbnf {

class automaton {
public:
    using state_id = uint32_t;
    static constexpr state_id dead = UINT32_MAX;

    automaton(std::shared_ptr<const compiled_grammar> g, std::shared_ptr<const token_trie> trie);

    state_id start() const noexcept { return start_; }
    state_id step(state_id s, uint8_t byte) {
        const state_id r = tables_[size_t(s) * 256 + byte];
        return r != unknown ? r : compute_step(s, byte);
    }
    state_id step(state_id s, std::string_view bytes) {
        for (const char c : bytes) {
            s = step(s, static_cast<uint8_t>(c));
            if (s == dead) return dead;
        }
        return s;
    }
    // The text that led to s is a complete sentence (an end-of-generation token may follow).
    bool complete(state_id s) const noexcept { return states_[s].complete; }
    // Nothing but the end can follow.
    bool finished(state_id s) const noexcept {
        return states_[s].complete && states_[s].stacks.size() == 1 && states_[s].partial_left == 0;
    }

    // The tokens allowed after s: bit id of the result (n_vocab bits). The reference is valid
    // until the next call that may add states (step, mask, compact).
    const std::vector<uint64_t>& mask(state_id s);
    bool has_mask(state_id s) const noexcept { return bool(states_[s].mask); }

    size_t n_states() const noexcept { return states_.size(); }
    size_t n_frames() const noexcept { return frames_.size(); }
    size_t n_masks_cached() const noexcept { return n_masks_; }

    // Bounds the caches: when they have grown past their limits, forgets everything and
    // re-creates only `keep` (returned under its new id). Call between tokens, never while
    // holding other state ids.
    state_id compact(state_id keep);

    struct limits {
        size_t max_states = 1u << 15;  // each holds a 1 KiB transition table
        size_t max_masks = 512;        // each n_vocab / 8 bytes
        size_t max_frames = 1u << 21;
    };
    void set_limits(const limits& l) noexcept { limits_ = l; }

private:
    static constexpr state_id unknown = UINT32_MAX - 1;
    using frame_id = uint32_t;  // 0 is the empty stack: the completed parse

    struct frame {
        uint32_t rule, alt, idx;
        frame_id parent;
    };
    struct frame_key_hash {
        size_t operator()(const frame& f) const noexcept {
            uint64_t h = (uint64_t(f.rule) * 0x9E3779B97F4A7C15ull) ^ (uint64_t(f.alt) << 32 | f.idx);
            h ^= uint64_t(f.parent) * 0xC2B2AE3D27D4EB4Full;
            return size_t(h ^ (h >> 31));
        }
    };
    struct frame_key_eq {
        bool operator()(const frame& a, const frame& b) const noexcept {
            return a.rule == b.rule && a.alt == b.alt && a.idx == b.idx && a.parent == b.parent;
        }
    };
    struct state {
        std::vector<frame_id> stacks;  // sorted; each at a character class, or 0
        uint32_t partial_cp = 0;
        int partial_left = 0;
        // false: partial_cp is one representative of many (see compute_step) and not part of
        // the state's identity.
        bool exact_cp = true;
        bool complete = false;
        std::unique_ptr<std::vector<uint64_t>> mask;
    };
    struct state_key_hash {
        size_t operator()(const std::vector<frame_id>& v) const noexcept;
    };

    std::shared_ptr<const compiled_grammar> g_;
    std::shared_ptr<const token_trie> trie_;
    limits limits_;

    std::vector<frame> frames_;
    std::unordered_map<frame, frame_id, frame_key_hash, frame_key_eq> frame_index_;
    std::vector<std::vector<frame_id>> after_;  // per class frame: the stacks once its class is consumed
    std::vector<uint8_t> after_known_;

    std::vector<state> states_;
    // Every state's byte transitions, state s at [256 s, 256 s + 256) (unknown until computed):
    // one growing array rather than a 1 KiB allocation per state (those went through malloc's
    // large-chunk path, a tenth of a constrained generation's time), and a step is one load.
    std::vector<state_id> tables_;
    std::unordered_multimap<size_t, state_id> state_index_;
    size_t n_masks_ = 0;
    state_id start_ = 0;
    std::vector<state_id> walk_;  // per trie depth, during mask()

    frame_id intern(uint32_t rule, uint32_t alt, uint32_t idx, frame_id parent);
    void expand(frame_id f, std::vector<frame_id>& out);
    const std::vector<frame_id>& after(frame_id f);
    state_id intern_state(std::vector<frame_id> stacks, uint32_t partial_cp, int partial_left, bool exact_cp = true);
    state_id compute_step(state_id s, uint8_t byte);
    void reset_caches();
};

}  // namespace ember::gbnf
