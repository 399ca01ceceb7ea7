#include "ember/kv_cache.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "ember/kernels.hpp"
#include "runtime/ops.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

bool cache_type_ok(ggml_type t) { return t == ggml_type::f32 || t == ggml_type::f16 || t == ggml_type::q8_0; }

void check_seq(seq_id s, const char* what) {
    if (s < 0 || s >= k_max_sequences) fail(errc::invalid_argument, "{}: sequence id {} is out of range (0..{})", what, s, k_max_sequences - 1);
}

}  // namespace

kv_cache::kv_cache(const model_hparams& hp, const kv_cache_params& params)
    : params_(params), hp_(hp), n_layer_(params.n_layer > 0 ? params.n_layer : hp.n_layer), n_embd_kv_(hp.n_embd_kv()) {
    if (params_.n_layer < 0 || params_.n_layer > hp.n_layer)
        fail(errc::invalid_argument, "KV cache: {} layers requested of a model with {}", params_.n_layer, hp.n_layer);
    if (params_.rope_freq_base > 0.0f) hp_.rope_freq_base = params_.rope_freq_base;
    if (params_.rope_freq_scale > 0.0f) hp_.rope_freq_scale = params_.rope_freq_scale;
    if (!params_.rope_factors.empty() && int64_t(params_.rope_factors.size()) != hp.n_rot / 2)
        fail(errc::invalid_argument, "KV cache: {} RoPE factors given for {} rotated dimensions", params_.rope_factors.size(), hp.n_rot);
    if (params_.n_slots <= 0) fail(errc::invalid_argument, "KV cache: capacity must be positive (got {})", params_.n_slots);
    if (params_.window < 0) fail(errc::invalid_argument, "KV cache: window must not be negative (got {})", params_.window);
    for (auto [t, which] : {std::pair{params_.type_k, "K"}, std::pair{params_.type_v, "V"}}) {
        if (!cache_type_ok(t))
            fail(errc::invalid_argument, "KV cache: type {} for {} is not supported (use f32, f16 or q8_0)", type_name(t), which);
        if (hp.head_dim % info(t).block_size != 0)
            fail(errc::unsupported, "KV cache: type {} for {} needs a head size that is a multiple of {} (this model has {})",
                 type_name(t), which, info(t).block_size, hp.head_dim);
    }
    k_row_bytes_ = row_bytes(params_.type_k, n_embd_kv_);
    v_row_bytes_ = row_bytes(params_.type_v, n_embd_kv_);
    const auto rows = detail::checked_mul(uint64_t(n_layer_), uint64_t(params_.n_slots));
    const auto kb = rows ? detail::checked_mul(*rows, k_row_bytes_) : std::nullopt;
    const auto vb = rows ? detail::checked_mul(*rows, v_row_bytes_) : std::nullopt;
    if (!kb || !vb || *kb > (uint64_t(1) << 42) || *vb > (uint64_t(1) << 42))
        fail(errc::invalid_argument, "KV cache of {} slots is too large", params_.n_slots);
    try {
        k_.assign(size_t(*kb), std::byte{0});
        v_.assign(size_t(*vb), std::byte{0});
        cells_.assign(size_t(params_.n_slots), cell{});
    } catch (const std::bad_alloc&) {
        fail(errc::out_of_memory, "cannot allocate a KV cache of {} slots ({} bytes)", params_.n_slots, *kb + *vb);
    }
}

int64_t kv_cache::used() const noexcept {
    return std::count_if(cells_.begin(), cells_.end(), [](const cell& c) { return !c.empty(); });
}

bool kv_cache::place(std::span<const seq_id> seq, std::span<const int32_t> pos, std::span<const token_id> tokens,
                     std::vector<int64_t>& slots) {
    const size_t n = seq.size();
    for (size_t i = 0; i < n; ++i) {
        check_seq(seq[i], "decode");
        if (pos[i] < 0) fail(errc::invalid_argument, "decode: position {} of token {} is negative", pos[i], i);
    }
    // The lowest position any future query of each sequence can have: a slot all of whose
    // sequences have moved W or more past it is dead and can be reused (the ring buffer).
    std::array<int64_t, k_max_sequences> next_pos;
    next_pos.fill(INT64_MAX);
    if (params_.window > 0) {
        for (seq_id s = 0; s < k_max_sequences; ++s) {
            const int32_t m = seq_pos_max(s);
            if (m >= 0) next_pos[size_t(s)] = int64_t(m) + 1;
        }
        for (size_t i = 0; i < n; ++i) next_pos[size_t(seq[i])] = std::min<int64_t>(next_pos[size_t(seq[i])], pos[i]);
    }
    auto reusable = [&](const cell& c) {
        if (c.empty()) return true;
        if (params_.window == 0) return false;
        for (seq_id s = 0; s < k_max_sequences; ++s)
            if (c.has(s) && int64_t(c.pos) > next_pos[size_t(s)] - params_.window) return false;
        return true;
    };
    slots.clear();
    const int64_t cap = capacity();
    for (int64_t k = 0; k < cap && slots.size() < n; ++k) {
        const int64_t s = (head_ + k) % cap;
        if (reusable(cells_[size_t(s)])) slots.push_back(s);
    }
    if (slots.size() < n) {
        slots.clear();
        return false;
    }
    for (size_t i = 0; i < n; ++i) {
        cells_[size_t(slots[i])] = cell{pos[i], uint64_t(1) << seq[i], tokens[i]};
        extent_ = std::max(extent_, slots[i] + 1);
    }
    head_ = (slots.back() + 1) % cap;
    return true;
}

void kv_cache::slots_by_position(seq_id s, seq_slots& out) const {
    out.slot.clear();
    out.pos.clear();
    bool sorted = true;
    for (int64_t c = 0; c < extent_; ++c) {
        const cell& cl = cells_[size_t(c)];
        if (!cl.has(s)) continue;
        if (!out.pos.empty() && cl.pos < out.pos.back()) sorted = false;
        out.slot.push_back(int32_t(c));
        out.pos.push_back(cl.pos);
    }
    if (sorted) return;  // the usual case: slots filled in position order
    std::vector<std::pair<int32_t, int32_t>> by_pos(out.slot.size());
    for (size_t i = 0; i < by_pos.size(); ++i) by_pos[i] = {out.pos[i], out.slot[i]};
    std::sort(by_pos.begin(), by_pos.end());
    for (size_t i = 0; i < by_pos.size(); ++i) {
        out.pos[i] = by_pos[i].first;
        out.slot[i] = by_pos[i].second;
    }
}

std::pair<int64_t, int64_t> kv_cache::visible_range(const seq_slots& ss, int32_t p) const noexcept {
    // visible(): pos <= p, and pos > p - W with a window
    const auto hi = std::upper_bound(ss.pos.begin(), ss.pos.end(), p);
    auto lo = ss.pos.begin();
    if (params_.window > 0 && int64_t(p) - params_.window >= INT32_MIN)
        lo = std::upper_bound(ss.pos.begin(), hi, int32_t(int64_t(p) - params_.window));
    return {lo - ss.pos.begin(), hi - ss.pos.begin()};
}

void kv_cache::unplace(std::span<const int64_t> slots) {
    for (int64_t s : slots) cells_[size_t(s)] = cell{};
}

int32_t kv_cache::seq_pos_max(seq_id s) const noexcept {
    int32_t m = -1;
    for (const auto& c : cells_)
        if (c.has(s)) m = std::max(m, c.pos);
    return m;
}

int32_t kv_cache::seq_pos_min(seq_id s) const noexcept {
    int32_t m = -1;
    for (const auto& c : cells_)
        if (c.has(s) && (m < 0 || c.pos < m)) m = c.pos;
    return m;
}

std::vector<token_id> kv_cache::seq_tokens(seq_id s) const {
    std::map<int32_t, token_id> by_pos;
    for (const auto& c : cells_)
        if (c.has(s)) by_pos[c.pos] = c.token;
    std::vector<token_id> out;
    int32_t expect = 0;
    for (auto [p, t] : by_pos) {
        if (p != expect) return {};
        out.push_back(t);
        ++expect;
    }
    return out;
}

void kv_cache::seq_rm(seq_id s, int32_t p0, int32_t p1) {
    if (s >= 0) check_seq(s, "seq_rm");
    if (p1 < 0) p1 = INT32_MAX;
    for (auto& c : cells_) {
        if (c.empty() || c.pos < p0 || c.pos >= p1) continue;
        if (s < 0) c.seqs = 0;
        else c.seqs &= ~(uint64_t(1) << s);
        if (c.empty()) c = cell{};
    }
}

void kv_cache::seq_cp(seq_id src, seq_id dst, int32_t p0, int32_t p1) {
    check_seq(src, "seq_cp");
    check_seq(dst, "seq_cp");
    if (p1 < 0) p1 = INT32_MAX;
    for (auto& c : cells_)
        if (c.has(src) && c.pos >= p0 && c.pos < p1) c.seqs |= uint64_t(1) << dst;
}

void kv_cache::seq_shift(seq_id s, int32_t p0, int32_t p1, int32_t delta) {
    check_seq(s, "seq_shift");
    if (p1 < 0) p1 = INT32_MAX;
    if (delta == 0) return;
    for (const auto& c : cells_)
        if (c.has(s) && c.pos >= p0 && c.pos < p1 && c.seqs != (uint64_t(1) << s))
            fail(errc::invalid_argument, "seq_shift: position {} of sequence {} is shared with another sequence", c.pos, s);
    const auto& kk = kernels::get(params_.type_k);
    // A rotation by delta only: the rope.scaling.attn_factor was applied when the key was stored.
    const detail::rope_spec rope{hp_.n_rot, hp_.rope_freq_base, hp_.rope_freq_scale, hp_.rope,
                                 params_.rope_factors.empty() ? nullptr : params_.rope_factors.data()};
    std::vector<float> row(static_cast<size_t>(n_embd_kv_));
    for (size_t i = 0; i < cells_.size(); ++i) {
        cell& c = cells_[i];
        if (!c.has(s) || c.pos < p0 || c.pos >= p1) continue;
        if (int64_t(c.pos) + delta < 0) {  // shifted out of existence
            c = cell{};
            continue;
        }
        c.pos += delta;
        // RoPE(p + delta) = rotation(delta) · RoPE(p): rotate the cached keys by delta.
        for (int64_t l = 0; l < n_layer_; ++l) {
            std::byte* kr = k_row(l, int64_t(i));
            kk.to_float(kr, row.data(), n_embd_kv_);
            detail::rope(rope, row.data(), hp_.n_head_kv, hp_.head_dim, delta);
            kk.from_float(row.data(), kr, n_embd_kv_);
        }
    }
}

void kv_cache::clear() {
    std::fill(cells_.begin(), cells_.end(), cell{});
    head_ = 0;
    extent_ = 0;
}

void kv_cache::store(int64_t layer, int64_t slot, const float* k, const float* v) {
    kernels::get(params_.type_k).from_float(k, k_row(layer, slot), n_embd_kv_);
    kernels::get(params_.type_v).from_float(v, v_row(layer, slot), n_embd_kv_);
}

}  // namespace ember
