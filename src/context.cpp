#include "ember/context.hpp"

#include <thread>

#include "decoder.hpp"
#include "kv_cache.hpp"
#include "model_impl.hpp"
#include "thread_pool.hpp"
#include "util.hpp"

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
    if (p.kv_type != ggml_type::f32) fail(errc::unsupported, "KV cache type {} is not supported yet", type_name(p.kv_type));
    return p;
}
}  // namespace

struct context::impl {
    std::shared_ptr<const model> mdl;
    context_params params;
    detail::kv_cache kv;
    detail::thread_pool pool;
    detail::forward_scratch scratch;
    std::vector<float> logits;  // (n_logit_rows, n_vocab)
    int64_t n_logit_rows = 0;
    bool logits_all = false;
    int64_t n_past = 0;

    impl(std::shared_ptr<const model> m, const context_params& p)
        : mdl(std::move(m)), params(resolve(*mdl, p)), kv(mdl->hparams(), params.n_ctx), pool(params.n_threads) {}
};

context::context(std::shared_ptr<const model> m, const context_params& params) {
    if (!m) fail(errc::invalid_argument, "context: model is null");
    impl_ = std::make_unique<impl>(std::move(m), params);
}
context::~context() = default;
context::context(context&&) noexcept = default;
context& context::operator=(context&&) noexcept = default;

const model& context::get_model() const noexcept { return *impl_->mdl; }
const context_params& context::params() const noexcept { return impl_->params; }
int64_t context::n_ctx() const noexcept { return impl_->params.n_ctx; }
int64_t context::n_past() const noexcept { return impl_->n_past; }

void context::clear() {
    impl_->kv.clear();
    impl_->n_past = 0;
    impl_->n_logit_rows = 0;
}

void context::decode(std::span<const token_id> tokens, bool all_logits) {
    impl& s = *impl_;
    const model_hparams& hp = s.mdl->hparams();
    if (tokens.empty()) fail(errc::invalid_argument, "decode: no tokens");
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= hp.n_vocab)
            fail(errc::invalid_argument, "decode: token {} at index {} is outside the vocabulary (0..{})", tokens[i], i, hp.n_vocab - 1);
    const int64_t n = int64_t(tokens.size());
    if (n > s.kv.capacity() - s.kv.used())
        fail(errc::context_full, "decode: {} tokens do not fit: {} of {} cache slots are used", n, s.kv.used(), s.kv.capacity());

    const int64_t rows = all_logits ? n : 1;
    s.logits.resize(size_t(rows * hp.n_vocab));
    s.n_logit_rows = 0;
    std::vector<int32_t> pos;
    std::vector<int64_t> slots;
    for (int64_t b = 0; b < n; b += s.params.n_batch) {
        const int64_t nb = std::min(s.params.n_batch, n - b);
        const int64_t first = s.kv.reserve(nb);
        pos.resize(size_t(nb));
        slots.resize(size_t(nb));
        for (int64_t i = 0; i < nb; ++i) {
            pos[size_t(i)] = int32_t(s.n_past + i);
            slots[size_t(i)] = first + i;
        }
        s.kv.commit(first, nb, int32_t(s.n_past));
        const bool last = b + nb == n;
        const int64_t first_logit = all_logits ? 0 : (last ? nb - 1 : nb);
        float* out = s.logits.data() + (all_logits ? b * hp.n_vocab : 0);
        detail::decoder_forward(s.mdl->internals(), s.kv, s.pool, s.scratch, tokens.subspan(size_t(b), size_t(nb)), pos,
                                slots, first_logit, out);
        s.n_past += nb;
    }
    s.n_logit_rows = rows;
    s.logits_all = all_logits;
}

std::span<const float> context::logits(int64_t i) const {
    const impl& s = *impl_;
    const int64_t nv = s.mdl->hparams().n_vocab;
    if (s.n_logit_rows == 0) fail(errc::invalid_argument, "logits: nothing has been decoded yet");
    if (i < 0) i += s.n_logit_rows;
    if (i < 0 || i >= s.n_logit_rows)
        fail(errc::invalid_argument, "logits: index {} is out of range (the last decode kept {} rows)", i, s.n_logit_rows);
    return {s.logits.data() + i * nv, size_t(nv)};
}

}  // namespace ember
