// The C API, part 2: contexts - creation, decoding, logits, sequence operations, saved state.
#include <vector>

#include "ember_c_internal.hpp"

namespace ember::capi {

namespace {

const auto k_context_params_fields = {
    EMBER_FIELD(ember_context_params, struct_size), EMBER_FIELD(ember_context_params, n_ctx),
    EMBER_FIELD(ember_context_params, n_batch),     EMBER_FIELD(ember_context_params, n_threads),
    EMBER_FIELD(ember_context_params, n_seq_max),   EMBER_FIELD(ember_context_params, window),
    EMBER_FIELD(ember_context_params, type_k),      EMBER_FIELD(ember_context_params, type_v),
    EMBER_FIELD(ember_context_params, context_shift), EMBER_FIELD(ember_context_params, n_keep),
    EMBER_FIELD(ember_context_params, seed)};

ember_context_params context_defaults() {
    const context_params cpp;
    ember_context_params p{};
    p.struct_size = sizeof p;
    p.n_ctx = cpp.n_ctx;
    p.n_batch = cpp.n_batch;
    p.n_threads = cpp.n_threads;
    p.n_seq_max = cpp.n_seq_max;
    p.window = cpp.window;
    p.type_k = int32_t(cpp.type_k);
    p.type_v = int32_t(cpp.type_v);
    p.context_shift = cpp.context_shift;
    p.n_keep = cpp.n_keep;
    p.seed = EMBER_SEED_RANDOM;
    return p;
}

ggml_type cache_type(int32_t t, const char* field) {
    if (t == EMBER_TYPE_F32) return ggml_type::f32;
    if (t == EMBER_TYPE_F16) return ggml_type::f16;
    if (t == EMBER_TYPE_Q8_0) return ggml_type::q8_0;
    fail_status(EMBER_ERR_UNSUPPORTED, "ember_context_params.{} = {} is not a KV cache type (EMBER_TYPE_F32, _F16 or _Q8_0)",
                field, t);
}

void check_tokens(const ember_token* tokens, size_t n) {
    if (!tokens && n > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "tokens is NULL but n_tokens is {}", n);
    if (n == 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "no tokens");
}

}  // namespace

}  // namespace ember::capi

using namespace ember;
using namespace ember::capi;

extern "C" {

EMBER_API ember_status ember_context_params_init(ember_context_params* params, size_t struct_size) {
    return guard(__func__,
                 [&] { init_params(params, struct_size, context_defaults(), "ember_context_params", k_context_params_fields); });
}

EMBER_API ember_status ember_context_create(const ember_model* model, const ember_context_params* params, ember_context** ctx) {
    return guard(__func__, [&] {
        need(ctx, "ctx (the out-pointer)");
        const ember_model& m = need(model, "model");
        const ember_context_params p = read_params(params, context_defaults(), "ember_context_params", k_context_params_fields);
        context_params cp;
        cp.n_ctx = p.n_ctx;
        cp.n_batch = p.n_batch;
        cp.n_threads = p.n_threads;
        cp.n_seq_max = p.n_seq_max;
        cp.window = p.window;
        cp.type_k = cache_type(p.type_k, "type_k");
        cp.type_v = cache_type(p.type_v, "type_v");
        cp.context_shift = p.context_shift;
        cp.n_keep = p.n_keep;
        auto handle = std::unique_ptr<ember_context>(new ember_context{ember::context(m.m, cp), p.seed});
        if (log_enabled()) {
            const memory_usage mem = handle->ctx.memory();
            log(EMBER_LOG_DEBUG, fmt::format("context: n_ctx {}, {} threads, KV cache {} bytes, scratch {} bytes",
                                             handle->ctx.n_ctx(), handle->ctx.params().n_threads, mem.kv_cache, mem.scratch));
        }
        *ctx = handle.release();
    });
}

EMBER_API void ember_context_free(ember_context* ctx) { delete ctx; }

EMBER_API ember_status ember_context_get_params(const ember_context* ctx, ember_context_params* params) {
    return guard(__func__, [&] {
        const ember::context& c = context_of(ctx);
        const context_params& cp = c.params();
        ember_context_params r = context_defaults();
        r.n_ctx = cp.n_ctx;
        r.n_batch = cp.n_batch;
        r.n_threads = cp.n_threads;
        r.n_seq_max = cp.n_seq_max;
        r.window = cp.window;
        r.type_k = int32_t(cp.type_k);
        r.type_v = int32_t(cp.type_v);
        r.context_shift = cp.context_shift;
        r.n_keep = cp.n_keep;
        r.seed = ctx->seed;
        write_struct(params, r, "ember_context_params", k_context_params_fields);
    });
}

EMBER_API ember_status ember_context_n_ctx(const ember_context* ctx, int64_t* n_ctx) {
    return guard(__func__, [&] { need(n_ctx, "n_ctx") = context_of(ctx).n_ctx(); });
}

EMBER_API ember_status ember_context_n_past(const ember_context* ctx, ember_seq seq, int64_t* n_past) {
    return guard(__func__, [&] {
        const ember::context& c = context_of(ctx);
        need(n_past, "n_past");
        if (seq < 0 || seq >= c.params().n_seq_max)
            fail_status(EMBER_ERR_INVALID_ARGUMENT, "sequence {} is out of range (n_seq_max {})", seq, c.params().n_seq_max);
        *n_past = c.n_past(seq);
    });
}

EMBER_API ember_status ember_context_n_evaluated(const ember_context* ctx, uint64_t* n_evaluated) {
    return guard(__func__, [&] { need(n_evaluated, "n_evaluated") = context_of(ctx).n_evaluated(); });
}

EMBER_API ember_status ember_context_memory(const ember_context* ctx, ember_memory_usage* usage) {
    return guard(__func__, [&] {
        const memory_usage mu = context_of(ctx).memory();
        ember_memory_usage r{};
        r.weights = mu.weights;
        r.kv_cache = mu.kv_cache;
        r.scratch = mu.scratch;
        using T = ember_memory_usage;
        write_struct(usage, r, "ember_memory_usage",
                     {EMBER_FIELD(T, struct_size), EMBER_FIELD(T, weights), EMBER_FIELD(T, kv_cache), EMBER_FIELD(T, scratch)});
    });
}

EMBER_API ember_status ember_context_decode(ember_context* ctx, const ember_token* tokens, size_t n_tokens, ember_seq seq,
                                           bool all_logits) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        check_tokens(tokens, n_tokens);
        c.decode(std::span(tokens, n_tokens), all_logits, seq);
    });
}

EMBER_API ember_status ember_context_decode_batch(ember_context* ctx, const ember_batch* batch) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        need(batch, "batch");
        using T = ember_batch;
        const ember_batch b = read_params(batch, ember_batch{sizeof(ember_batch), 0, nullptr, nullptr, nullptr, nullptr},
                                          "ember_batch",
                                          {EMBER_FIELD(T, struct_size), EMBER_FIELD(T, n_tokens), EMBER_FIELD(T, tokens),
                                           EMBER_FIELD(T, pos), EMBER_FIELD(T, seq), EMBER_FIELD(T, logits)});
        check_tokens(b.tokens, b.n_tokens);
        if (!b.pos) fail_status(EMBER_ERR_INVALID_ARGUMENT, "ember_batch.pos is NULL");
        ember::batch cb;
        cb.tokens.assign(b.tokens, b.tokens + b.n_tokens);
        cb.pos.assign(b.pos, b.pos + b.n_tokens);
        if (b.seq)
            cb.seq.assign(b.seq, b.seq + b.n_tokens);
        else
            cb.seq.assign(b.n_tokens, 0);
        cb.logits.assign(b.n_tokens, 0);
        for (size_t i = 0; i < b.n_tokens; ++i) cb.logits[i] = b.logits ? (b.logits[i] != 0) : (i + 1 == b.n_tokens);
        c.decode(cb);
    });
}

EMBER_API ember_status ember_context_decode_prompt(ember_context* ctx, const ember_token* tokens, size_t n_tokens,
                                                  ember_seq seq, int64_t* n_evaluated) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        check_tokens(tokens, n_tokens);
        if (seq < 0 || seq >= c.params().n_seq_max)
            fail_status(EMBER_ERR_INVALID_ARGUMENT, "sequence {} is out of range (n_seq_max {})", seq, c.params().n_seq_max);
        const int64_t n = c.decode_prompt(std::span(tokens, n_tokens), seq);
        if (n_evaluated) *n_evaluated = n;
    });
}

EMBER_API ember_status ember_context_logits(const ember_context* ctx, int64_t i, const float** logits, size_t* n_vocab) {
    return guard(__func__, [&] {
        const ember::context& c = context_of(ctx);
        need(logits, "logits");
        need(n_vocab, "n_vocab");
        const std::span<const float> row = c.logits(i);
        *logits = row.data();
        *n_vocab = row.size();
    });
}

EMBER_API ember_status ember_context_seq_rm(ember_context* ctx, ember_seq seq, int32_t p0, int32_t p1) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        if (seq >= c.params().n_seq_max)
            fail_status(EMBER_ERR_INVALID_ARGUMENT, "sequence {} is out of range (n_seq_max {})", seq, c.params().n_seq_max);
        if (p0 < 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "p0 {} is negative", p0);
        c.seq_rm(seq, p0, p1);
    });
}

EMBER_API ember_status ember_context_seq_cp(ember_context* ctx, ember_seq src, ember_seq dst, int32_t p0, int32_t p1) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        const int n = c.params().n_seq_max;
        if (src < 0 || src >= n || dst < 0 || dst >= n)
            fail_status(EMBER_ERR_INVALID_ARGUMENT, "sequences {} -> {}: out of range (n_seq_max {})", src, dst, n);
        if (p0 < 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "p0 {} is negative", p0);
        c.seq_cp(src, dst, p0, p1);
    });
}

EMBER_API ember_status ember_context_shift(ember_context* ctx, ember_seq seq, int64_t n_keep, int64_t n_discard) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        if (seq < 0 || seq >= c.params().n_seq_max)
            fail_status(EMBER_ERR_INVALID_ARGUMENT, "sequence {} is out of range (n_seq_max {})", seq, c.params().n_seq_max);
        c.shift(seq, n_keep, n_discard);
    });
}

EMBER_API ember_status ember_context_clear(ember_context* ctx) {
    return guard(__func__, [&] { context_of(ctx).clear(); });
}

EMBER_API ember_status ember_context_abort(ember_context* ctx) {
    return guard(__func__, [&] { context_of(ctx).abort(); });
}

EMBER_API ember_status ember_context_state_save(const ember_context* ctx, void* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] {
        const ember::context& c = context_of(ctx);
        need(size, "size");
        check_buffer(buf, capacity);
        const std::vector<std::byte> data = c.save_state();
        *size = data.size();
        if (data.size() > capacity)
            fail_status(EMBER_ERR_BUFFER_TOO_SMALL, "the state of {} bytes does not fit a buffer of {}", data.size(), capacity);
        std::memcpy(buf, data.data(), data.size());
    });
}

EMBER_API ember_status ember_context_state_load(ember_context* ctx, const void* data, size_t size) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        if (!data && size > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "data is NULL but size is {}", size);
        c.load_state(std::span(static_cast<const std::byte*>(data), size));
    });
}

EMBER_API ember_status ember_context_state_save_file(const ember_context* ctx, const char* path) {
    return guard(__func__, [&] {
        const ember::context& c = context_of(ctx);
        need(path, "path");
        c.save_state_file(path);
    });
}

EMBER_API ember_status ember_context_state_load_file(ember_context* ctx, const char* path) {
    return guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        need(path, "path");
        c.load_state_file(path);
    });
}

}  // extern "C"
