#include "kv_cache.hpp"

#include "util.hpp"

namespace ember::detail {

kv_cache::kv_cache(const model_hparams& hp, int64_t n_slots)
    : n_layer_(hp.n_layer), n_slots_(n_slots), n_embd_kv_(hp.n_embd_kv()) {
    const auto n = checked_mul(uint64_t(n_layer_) * uint64_t(n_slots_), uint64_t(n_embd_kv_));
    if (!n || *n > (uint64_t(1) << 40)) fail(errc::invalid_argument, "KV cache of {} slots is too large", n_slots);
    try {
        k_.assign(size_t(*n), 0.0f);
        v_.assign(size_t(*n), 0.0f);
        pos_.assign(size_t(n_slots_), -1);
    } catch (const std::bad_alloc&) {
        fail(errc::out_of_memory, "cannot allocate a KV cache of {} slots ({} bytes)", n_slots, 2 * *n * sizeof(float));
    }
}

int64_t kv_cache::reserve(int64_t n) {
    if (n > n_slots_ - used_)
        fail(errc::context_full, "the context is full: {} tokens cached, {} more do not fit in {}", used_, n, n_slots_);
    return used_;
}

void kv_cache::commit(int64_t first, int64_t n, int32_t pos0) {
    for (int64_t i = 0; i < n; ++i) pos_[size_t(first + i)] = pos0 + int32_t(i);
    used_ = std::max(used_, first + n);
}

void kv_cache::clear() {
    std::fill(pos_.begin(), pos_.end(), -1);
    used_ = 0;
}

}  // namespace ember::detail
