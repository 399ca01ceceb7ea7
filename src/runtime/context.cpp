#include "ember/context.hpp"

#include <algorithm>
#include <thread>

#include "runtime/context_impl.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

context_params resolve(const model& m, context_params p) {
    if (p.n_ctx < 0) fail(errc::invalid_argument, "n_ctx must not be negative (got {})", p.n_ctx);
    if (p.n_ctx == 0) p.n_ctx = m.hparams().n_ctx_train;
    if (p.n_ctx > (int64_t(1) << 24)) fail(errc::invalid_argument, "n_ctx {} is too large", p.n_ctx);
    if (p.n_batch <= 0) fail(errc::invalid_argument, "n_batch must be positive (got {})", p.n_batch);
    p.n_batch = std::min(p.n_batch, p.n_ctx);
    if (p.n_threads < 0 || p.n_threads > 1024) fail(errc::invalid_argument, "n_threads {} is out of range", p.n_threads);
    if (p.n_threads == 0) p.n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
    if (p.n_seq_max < 1 || p.n_seq_max > k_max_sequences)
        fail(errc::invalid_argument, "n_seq_max {} is out of range (1..{})", p.n_seq_max, k_max_sequences);
    if (p.window < 0) fail(errc::invalid_argument, "window must not be negative (got {})", p.window);
    if (p.n_keep < 0) fail(errc::invalid_argument, "n_keep must not be negative (got {})", p.n_keep);
    if (p.window == 0 && p.n_keep >= p.n_ctx)
        fail(errc::invalid_argument, "n_keep {} must be smaller than the context size {}", p.n_keep, p.n_ctx);
    return p;
}

// The cache of group g: its layers' window (the model's, narrowed by the context's) decides
// between a ring buffer and the whole context.
kv_cache_params cache_params(const model_hparams& hp, const context_params& p, int g) {
    kv_cache_params kp;
    int64_t model_window = 0, n_layer = 0;
    for (const auto& l : hp.layers)
        if (l.kv_group == g) {
            model_window = l.window;
            kp.rope_freq_base = l.rope_freq_base;
            kp.rope_freq_scale = l.rope_freq_scale;
            ++n_layer;
        }
    kp.n_layer = hp.layers.empty() ? hp.n_layer : n_layer;
    const int64_t w = model_window == 0 ? p.window : p.window == 0 ? model_window : std::min(model_window, p.window);
    kp.window = w;
    // With a window, each sequence needs its last W-1 positions beside a whole batch; a model's
    // window wider than the context needs no more than the context.
    const int64_t ring = w > 0 ? int64_t(p.n_seq_max) * (w - 1) + p.n_batch : p.n_ctx;
    kp.n_slots = p.window > 0 ? ring : p.swa_full ? p.n_ctx : std::min(ring, p.n_ctx);
    kp.type_k = p.type_k;
    kp.type_v = p.type_v;
    return kp;
}

std::vector<kv_cache> make_caches(const model& m, const context_params& p, const std::vector<float>& factors) {
    std::vector<kv_cache> out;
    for (int g = 0; g < m.hparams().n_kv_groups(); ++g) {
        kv_cache_params kp = cache_params(m.hparams(), p, g);
        kp.rope_factors = factors;
        out.emplace_back(m.hparams(), kp);
    }
    return out;
}

// phi3's long RoPE factors apply when the context is longer than the original training context.
std::vector<float> choose_rope_factors(const model& m, const context_params& p) {
    const auto& mi = m.internals();
    if (mi.rope_factors_long.empty()) return mi.rope_factors_short;
    return p.n_ctx > m.hparams().n_ctx_orig ? mi.rope_factors_long : mi.rope_factors_short;
}

}  // namespace

context::impl::impl(std::shared_ptr<const model> m, const context_params& p)
    : mdl(std::move(m)),
      params(resolve(*mdl, p)),
      rope_factors(choose_rope_factors(*mdl, params)),
      kv(make_caches(*mdl, params, rope_factors)),
      pool(params.n_threads) {}

int64_t context::impl::used() const {
    int64_t u = 0;
    for (const auto& k : kv) u = std::max(u, k.used());
    return u;
}

context::context(std::shared_ptr<const model> m, const context_params& params) {
    if (!m) fail(errc::invalid_argument, "context: model is null");
    impl_ = std::make_unique<impl>(std::move(m), params);
}
context::~context() = default;
context::context(context&&) noexcept = default;
context& context::operator=(context&&) noexcept = default;

const model& context::get_model() const noexcept { return *impl_->mdl; }
const context_params& context::params() const noexcept { return impl_->params; }
int64_t context::n_ctx() const noexcept { return impl_->kv[0].capacity(); }
int64_t context::n_past(seq_id s) const noexcept {
    if (s < 0 || s >= k_max_sequences) return 0;
    return int64_t(impl_->kv[0].seq_pos_max(s)) + 1;
}
int context::n_cache_groups() const noexcept { return int(impl_->kv.size()); }
const kv_cache& context::cache(int g) const {
    if (g < 0 || g >= n_cache_groups()) fail(errc::invalid_argument, "cache: group {} is out of range (0..{})", g, n_cache_groups() - 1);
    return impl_->kv[size_t(g)];
}
uint64_t context::n_evaluated() const noexcept { return impl_->n_evaluated; }

memory_usage context::memory() const noexcept {
    const impl& s = *impl_;
    uint64_t kv = 0;
    for (const auto& k : s.kv) kv += k.bytes();
    return {s.mdl->weight_bytes(), kv, s.scratch.bytes() + s.logits.capacity() * sizeof(float)};
}

void context::clear() {
    for (auto& k : impl_->kv) k.clear();
    impl_->logit_row.clear();
}

void context::seq_rm(seq_id s, int32_t p0, int32_t p1) {
    for (auto& k : impl_->kv) k.seq_rm(s, p0, p1);
}
void context::seq_cp(seq_id src, seq_id dst, int32_t p0, int32_t p1) {
    for (auto& k : impl_->kv) k.seq_cp(src, dst, p0, p1);
}

void context::shift(seq_id s, int64_t n_keep, int64_t n_discard) {
    impl& c = *impl_;
    if (c.params.window > 0) fail(errc::invalid_argument, "shift: a sliding-window cache does not need (or allow) shifting");
    const int64_t n = n_past(s);
    if (n_keep < 0 || n_discard <= 0 || n_keep + n_discard > n)
        fail(errc::invalid_argument, "shift: n_keep {} and n_discard {} do not fit the {} cached positions of sequence {}", n_keep,
             n_discard, n, s);
    // Checked in every group before anything changes: a shared position cannot be shifted.
    for (const auto& k : c.kv)
        for (const auto& cl : k.cells())
            if (cl.has(s) && cl.pos >= n_keep + n_discard && cl.seqs != (uint64_t(1) << s))
                fail(errc::invalid_argument, "shift: position {} of sequence {} is shared with another sequence", cl.pos, s);
    for (auto& k : c.kv) {
        k.seq_rm(s, int32_t(n_keep), int32_t(n_keep + n_discard));
        k.seq_shift(s, int32_t(n_keep + n_discard), -1, -int32_t(n_discard));
    }
}

void context::impl::run(const batch& b) {
    const model_hparams& hp = mdl->hparams();
    const size_t n = b.size();
    if (n == 0) fail(errc::invalid_argument, "decode: empty batch");
    if (b.pos.size() != n || b.seq.size() != n || b.logits.size() != n)
        fail(errc::invalid_argument, "decode: batch arrays differ in length");
    for (size_t i = 0; i < n; ++i) {
        if (b.tokens[i] < 0 || b.tokens[i] >= hp.n_vocab)
            fail(errc::invalid_argument, "decode: token {} at index {} is outside the vocabulary (0..{})", b.tokens[i], i, hp.n_vocab - 1);
        if (b.seq[i] < 0 || b.seq[i] >= params.n_seq_max)
            fail(errc::invalid_argument, "decode: sequence {} at index {} is out of range (n_seq_max {})", b.seq[i], i, params.n_seq_max);
        if (b.pos[i] < 0) fail(errc::invalid_argument, "decode: position {} at index {} is negative", b.pos[i], i);
    }
    // Logits rows are kept for the tokens that asked for them. They are computed into spare
    // buffers and swapped in on success, so a failed decode keeps the previous logits.
    std::vector<int64_t>& new_row = spare_logit_row;
    std::vector<float>& new_logits = spare_logits;
    new_row.assign(n, -1);
    int64_t n_rows = 0;
    for (size_t i = 0; i < n; ++i)
        if (b.logits[i]) new_row[i] = n_rows++;
    new_logits.resize(size_t(n_rows * hp.n_vocab));

    const size_t n_groups = kv.size();
    std::vector<std::vector<int64_t>> slots(n_groups), placed(n_groups);
    std::vector<int64_t> rows;
    auto unplace_all = [&] {
        for (size_t g = 0; g < n_groups; ++g) kv[g].unplace(placed[g]);
    };
    try {
        for (size_t b0 = 0; b0 < n; b0 += size_t(params.n_batch)) {
            const size_t nb = std::min(size_t(params.n_batch), n - b0);
            auto sub = [&](const auto& v) { return std::span(v).subspan(b0, nb); };
            for (size_t g = 0; g < n_groups; ++g) {
                if (!kv[g].place(sub(b.seq), sub(b.pos), sub(b.tokens), slots[g]))
                    fail(errc::context_full, "decode: the context is full ({} of {} cache slots used, {} more tokens needed)",
                         kv[g].used(), kv[g].capacity(), nb);
                placed[g].insert(placed[g].end(), slots[g].begin(), slots[g].end());
            }
            rows.clear();
            int64_t first_row = -1;
            for (size_t i = b0; i < b0 + nb; ++i)
                if (new_row[i] >= 0) {
                    rows.push_back(int64_t(i - b0));
                    if (first_row < 0) first_row = new_row[i];
                }
            std::vector<std::span<const int64_t>> slot_spans(slots.begin(), slots.end());
            detail::decoder_forward(mdl->internals(), kv, pool, scratch,
                                    {sub(b.tokens), sub(b.pos), sub(b.seq), std::move(slot_spans), rows, &abort_requested},
                                    rows.empty() ? nullptr : new_logits.data() + first_row * hp.n_vocab, rope_factors);
            n_evaluated += nb;
        }
        logit_row.swap(new_row);
        logits.swap(new_logits);
    } catch (const error& e) {
        // A failed decode leaves no trace of its tokens in the cache.
        unplace_all();
        if (e.code() == errc::cancelled) abort_requested.store(false);
        throw;
    } catch (...) {
        unplace_all();
        throw;
    }
}

void context::decode(const batch& b) { impl_->run(b); }

void context::abort() noexcept { impl_->abort_requested.store(true); }

void context::decode(std::span<const token_id> tokens, bool all_logits, seq_id s) {
    impl& c = *impl_;
    if (tokens.empty()) fail(errc::invalid_argument, "decode: no tokens");
    if (s < 0 || s >= c.params.n_seq_max) fail(errc::invalid_argument, "decode: sequence {} is out of range", s);
    // Shift before a batch that would not fit (full attention only; windows never fill up).
    if (c.params.window == 0 && c.params.context_shift && c.full().window() == 0) {
        const int64_t free_slots = c.full().capacity() - c.full().used();
        if (int64_t(tokens.size()) > free_slots) {
            const int64_t n = n_past(s);
            int64_t keep = c.params.n_keep;
            if (c.mdl->vocab().add_bos()) keep = std::max<int64_t>(keep, 1);
            const int64_t discard = (c.full().capacity() - keep) / 2;
            if (discard <= 0 || keep + discard > n || int64_t(tokens.size()) > free_slots + discard)
                fail(errc::context_full, "decode: {} tokens do not fit even after a context shift (n_ctx {}, n_keep {})", tokens.size(),
                     c.full().capacity(), keep);
            shift(s, keep, discard);
        }
    }
    const int32_t p0 = int32_t(n_past(s));
    batch b;
    for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], p0 + int32_t(i), s, all_logits || i + 1 == tokens.size());
    c.run(b);
}

int64_t context::decode_prompt(std::span<const token_id> tokens, seq_id s) {
    impl& c = *impl_;
    if (tokens.empty()) fail(errc::invalid_argument, "decode_prompt: no tokens");
    const std::vector<token_id> cached = c.full().seq_tokens(s);
    size_t common = 0;
    while (common < cached.size() && common < tokens.size() && cached[common] == tokens[common]) ++common;
    // The last prompt token is always evaluated so that its logits are fresh.
    if (common == tokens.size()) --common;
    if (cached.empty() && n_past(s) > 0) common = 0;  // cache holds a non-prefix (e.g. shifted) sequence
    // A sliding-window group must still hold the window before the first token evaluated: a
    // ring that has moved past it cannot continue from there.
    if (common > 0 && int64_t(common) < n_past(s))
        for (const auto& k : c.kv)
            if (k.window() > 0 && k.seq_pos_min(s) > std::max<int64_t>(0, int64_t(common) - k.window() + 1)) common = 0;
    seq_rm(s, int32_t(common), -1);
    decode(tokens.subspan(common), false, s);
    return int64_t(tokens.size() - common);
}

std::span<const float> context::logits(int64_t i) const {
    const impl& s = *impl_;
    const int64_t nv = s.mdl->hparams().n_vocab;
    const int64_t n = int64_t(s.logit_row.size());
    if (n == 0) fail(errc::invalid_argument, "logits: nothing has been decoded yet");
    if (i < 0) {
        for (int64_t j = n - 1; j >= 0; --j)
            if (s.logit_row[size_t(j)] >= 0) return {s.logits.data() + s.logit_row[size_t(j)] * nv, size_t(nv)};
        fail(errc::invalid_argument, "logits: the last decode computed no logits");
    }
    if (i >= n) fail(errc::invalid_argument, "logits: index {} is out of range (the last decode had {} tokens)", i, n);
    const int64_t row = s.logit_row[size_t(i)];
    if (row < 0) fail(errc::invalid_argument, "logits: token {} of the last decode did not ask for logits", i);
    return {s.logits.data() + row * nv, size_t(nv)};
}

}  // namespace ember
