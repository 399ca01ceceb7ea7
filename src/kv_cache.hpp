// The key/value cache: per layer, one row of n_embd_kv keys and one of values per slot, and the
// absolute position of the token held in each slot. All position and visibility arithmetic
// lives here so attention only asks "which slots may token at position p see?".
#pragma once

#include <cstdint>
#include <vector>

#include "ember/model.hpp"

namespace ember::detail {

class kv_cache {
public:
    kv_cache(const model_hparams& hp, int64_t n_slots);

    int64_t capacity() const noexcept { return n_slots_; }
    int64_t used() const noexcept { return used_; }
    int64_t row_size() const noexcept { return n_embd_kv_; }
    uint64_t bytes() const noexcept { return (k_.size() + v_.size()) * sizeof(float); }

    // Slots for the next n tokens (appended after the used ones); throws errc::context_full.
    int64_t reserve(int64_t n);
    // Records that the slots [first, first + n) now hold positions pos0 .. pos0 + n - 1.
    void commit(int64_t first, int64_t n, int32_t pos0);
    void clear();

    float* k(int64_t layer, int64_t slot) noexcept { return k_.data() + (layer * n_slots_ + slot) * n_embd_kv_; }
    float* v(int64_t layer, int64_t slot) noexcept { return v_.data() + (layer * n_slots_ + slot) * n_embd_kv_; }
    const float* k(int64_t layer, int64_t slot) const noexcept { return k_.data() + (layer * n_slots_ + slot) * n_embd_kv_; }
    const float* v(int64_t layer, int64_t slot) const noexcept { return v_.data() + (layer * n_slots_ + slot) * n_embd_kv_; }

    // Causal visibility: may a token at position `query_pos` attend to `slot`?
    bool visible(int64_t slot, int32_t query_pos) const noexcept {
        const int32_t p = pos_[size_t(slot)];
        return p >= 0 && p <= query_pos;
    }
    int32_t pos(int64_t slot) const noexcept { return pos_[size_t(slot)]; }

private:
    int64_t n_layer_, n_slots_, n_embd_kv_;
    int64_t used_ = 0;
    std::vector<float> k_;  // (n_layer, n_slots, n_embd_kv)
    std::vector<float> v_;  // (n_layer, n_slots, n_embd_kv)
    std::vector<int32_t> pos_;  // (n_slots), -1 = empty
};

}  // namespace ember::detail
