// The key/value cache.
//
// Slots hold one token's keys and values for every layer; each slot records the token's
// absolute position (RoPE uses it) and the set of sequences it belongs to. All visibility
// arithmetic lives here: a query of sequence s at position p sees slot c when c belongs to s,
// c.pos <= p, and (with a sliding window W) c.pos > p - W.
//
// With a window, slots whose tokens can never be seen again are reused, so the cache is a ring
// buffer of O(W) slots however long the generation runs. Without one, a full cache can be
// shifted: keep the first tokens, drop a range, and re-rotate the surviving keys to their new
// positions (RoPE is a rotation, so this is exact up to rounding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "ember/model.hpp"
#include "ember/types.hpp"
#include "ember/vocab.hpp"

namespace ember {

using seq_id = int32_t;
constexpr int k_max_sequences = 64;

struct kv_cache_params {
    int64_t n_slots = 0;                    // capacity in tokens
    int64_t window = 0;                     // sliding window W (0 = full attention)
    ggml_type type_k = ggml_type::f16;      // f32, f16 or q8_0
    ggml_type type_v = ggml_type::f16;      // f32, f16 or q8_0
    // The layers this cache holds, when it holds one kind of a model's layers (Gemma 3: its
    // local and global layers live in two caches): how many (0 = all of the model's), and their
    // RoPE, which a shift re-applies (0 = the model's base and scale; factors: none).
    int64_t n_layer = 0;
    float rope_freq_base = 0.0f;
    float rope_freq_scale = 0.0f;
    std::vector<float> rope_factors;
};

// The slots of one sequence in increasing position order (ties: increasing slot), with the
// positions they hold. Attention visits keys in this order, so its result does not depend on
// where in the cache (ring buffer, shifted, shared) each token was stored.
struct seq_slots {
    std::vector<int32_t> slot;
    std::vector<int32_t> pos;
};

class kv_cache {
public:
    struct cell {
        int32_t pos = -1;      // absolute position, -1 = empty
        uint64_t seqs = 0;     // bit s set = belongs to sequence s
        token_id token = -1;   // the token whose keys and values are stored here
        bool empty() const noexcept { return seqs == 0; }
        bool has(seq_id s) const noexcept { return (seqs >> s) & 1u; }
    };

    kv_cache(const model_hparams& hp, const kv_cache_params& params);

    const kv_cache_params& params() const noexcept { return params_; }
    int64_t capacity() const noexcept { return params_.n_slots; }
    int64_t window() const noexcept { return params_.window; }
    int64_t n_layer() const noexcept { return n_layer_; }
    int64_t n_embd_kv() const noexcept { return n_embd_kv_; }
    size_t k_row_bytes() const noexcept { return k_row_bytes_; }
    size_t v_row_bytes() const noexcept { return v_row_bytes_; }
    uint64_t bytes() const noexcept { return k_.size() + v_.size(); }

    int64_t used() const noexcept;  // non-empty slots
    std::span<const cell> cells() const noexcept { return cells_; }
    const cell& at(int64_t slot) const noexcept { return cells_[size_t(slot)]; }

    // Visibility of a slot to a query of sequence s at position p (the attention mask).
    bool visible(int64_t slot, seq_id s, int32_t p) const noexcept {
        const cell& c = cells_[size_t(slot)];
        return c.has(s) && c.pos <= p && (params_.window == 0 || c.pos > p - params_.window);
    }
    // The slots of sequence s by position. Only slots that may be occupied are examined.
    void slots_by_position(seq_id s, seq_slots& out) const;
    // The part [first, second) of `ss` (from slots_by_position(s)) that a query of sequence s at
    // position p sees: the same slots as visible(), as one range.
    std::pair<int64_t, int64_t> visible_range(const seq_slots& ss, int32_t p) const noexcept;
    // 1 + the highest slot that may be occupied (every slot from here on is empty).
    int64_t extent() const noexcept { return extent_; }

    // Finds a slot for each (seq, pos, token) of a batch, reusing slots that no future query can
    // see when a window is set. Returns false (changing nothing) when they do not all fit.
    bool place(std::span<const seq_id> seq, std::span<const int32_t> pos, std::span<const token_id> tokens,
               std::vector<int64_t>& slots);
    // Undoes a place() whose forward pass failed.
    void unplace(std::span<const int64_t> slots);

    // Highest position held for sequence s, or -1 when it has none.
    int32_t seq_pos_max(seq_id s) const noexcept;
    int32_t seq_pos_min(seq_id s) const noexcept;
    // Tokens of sequence s by position, when positions 0..max are all present; else empty.
    std::vector<token_id> seq_tokens(seq_id s) const;

    // Removes positions [p0, p1) of sequence s (s < 0: every sequence; p1 < 0: to the end).
    void seq_rm(seq_id s, int32_t p0, int32_t p1);
    // Makes positions [p0, p1) of src also belong to dst (shares the slots, copies nothing).
    void seq_cp(seq_id src, seq_id dst, int32_t p0, int32_t p1);
    // Adds delta to positions [p0, p1) of sequence s and re-rotates those keys (RoPE).
    void seq_shift(seq_id s, int32_t p0, int32_t p1, int32_t delta);
    void clear();

    // Row access: keys/values of `layer` in `slot`, stored as params().type_k / type_v.
    std::byte* k_row(int64_t layer, int64_t slot) noexcept { return k_.data() + (size_t(layer) * size_t(capacity()) + size_t(slot)) * k_row_bytes_; }
    std::byte* v_row(int64_t layer, int64_t slot) noexcept { return v_.data() + (size_t(layer) * size_t(capacity()) + size_t(slot)) * v_row_bytes_; }
    const std::byte* k_row(int64_t layer, int64_t slot) const noexcept { return const_cast<kv_cache*>(this)->k_row(layer, slot); }
    const std::byte* v_row(int64_t layer, int64_t slot) const noexcept { return const_cast<kv_cache*>(this)->v_row(layer, slot); }
    // Stores f32 keys/values (n_embd_kv each) into a slot, converting to the cache types.
    void store(int64_t layer, int64_t slot, const float* k, const float* v);

    // Raw state for saving/restoring (see context::save_state).
    std::span<std::byte> k_data() noexcept { return k_; }
    std::span<std::byte> v_data() noexcept { return v_; }
    std::span<cell> mutable_cells() noexcept {
        extent_ = capacity();  // the caller may fill any slot
        return cells_;
    }

private:
    kv_cache_params params_;
    model_hparams hp_;
    int64_t n_layer_, n_embd_kv_;
    size_t k_row_bytes_, v_row_bytes_;
    int64_t head_ = 0;    // where the next slot search starts (round robin)
    int64_t extent_ = 0;  // slots at or past it are empty
    std::vector<cell> cells_;
    std::vector<std::byte> k_;  // (n_layer, n_slots) rows of n_embd_kv elements of type_k
    std::vector<std::byte> v_;  // (n_layer, n_slots) rows of n_embd_kv elements of type_v
};

}  // namespace ember
