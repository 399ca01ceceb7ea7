// The C API, part 3: samplers, the generation loop and the file quantizer.
#include <optional>
#include <vector>

#include "ember/generate.hpp"
#include "ember/grammar.hpp"
#include "ember_c_internal.hpp"

#include "ember/quantize_file.hpp"

namespace ember::capi {

namespace {

const auto k_sampler_params_fields = {
    EMBER_FIELD(ember_sampler_params, struct_size),       EMBER_FIELD(ember_sampler_params, seed),
    EMBER_FIELD(ember_sampler_params, temp),              EMBER_FIELD(ember_sampler_params, top_k),
    EMBER_FIELD(ember_sampler_params, top_p),             EMBER_FIELD(ember_sampler_params, min_p),
    EMBER_FIELD(ember_sampler_params, typical_p),         EMBER_FIELD(ember_sampler_params, min_keep),
    EMBER_FIELD(ember_sampler_params, repeat_penalty),    EMBER_FIELD(ember_sampler_params, repeat_last_n),
    EMBER_FIELD(ember_sampler_params, frequency_penalty), EMBER_FIELD(ember_sampler_params, presence_penalty),
    EMBER_FIELD(ember_sampler_params, mirostat),          EMBER_FIELD(ember_sampler_params, mirostat_tau),
    EMBER_FIELD(ember_sampler_params, mirostat_eta),      EMBER_FIELD(ember_sampler_params, logit_bias),
    EMBER_FIELD(ember_sampler_params, n_logit_bias),      EMBER_FIELD(ember_sampler_params, logprobs),
    EMBER_FIELD(ember_sampler_params, n_logprobs),        EMBER_FIELD(ember_sampler_params, logprobs_after_transforms)};

ember_sampler_params sampler_defaults() {
    const sampler_params cpp;
    ember_sampler_params p{};
    p.struct_size = sizeof p;
    p.seed = cpp.seed;
    p.temp = cpp.temp;
    p.top_k = cpp.top_k;
    p.top_p = cpp.top_p;
    p.min_p = cpp.min_p;
    p.typical_p = cpp.typical_p;
    p.min_keep = cpp.min_keep;
    p.repeat_penalty = cpp.repeat_penalty;
    p.repeat_last_n = cpp.repeat_last_n;
    p.frequency_penalty = cpp.frequency_penalty;
    p.presence_penalty = cpp.presence_penalty;
    p.mirostat = cpp.mirostat;
    p.mirostat_tau = cpp.mirostat_tau;
    p.mirostat_eta = cpp.mirostat_eta;
    p.logprobs = cpp.logprobs;
    p.n_logprobs = cpp.n_logprobs;
    p.logprobs_after_transforms = cpp.logprobs_after_transforms;
    return p;
}

sampler_params to_cpp(const ember_sampler_params& p) {
    if (!p.logit_bias && p.n_logit_bias > 0)
        fail_status(EMBER_ERR_INVALID_ARGUMENT, "logit_bias is NULL but n_logit_bias is {}", p.n_logit_bias);
    if (p.n_logprobs > 100) fail_status(EMBER_ERR_INVALID_ARGUMENT, "n_logprobs {} is more than 100", p.n_logprobs);
    sampler_params s;
    s.seed = p.seed;
    s.temp = p.temp;
    s.top_k = p.top_k;
    s.top_p = p.top_p;
    s.min_p = p.min_p;
    s.typical_p = p.typical_p;
    s.min_keep = p.min_keep;
    s.repeat_penalty = p.repeat_penalty;
    s.repeat_last_n = p.repeat_last_n;
    s.frequency_penalty = p.frequency_penalty;
    s.presence_penalty = p.presence_penalty;
    s.mirostat = p.mirostat;
    s.mirostat_tau = p.mirostat_tau;
    s.mirostat_eta = p.mirostat_eta;
    for (size_t i = 0; i < p.n_logit_bias; ++i) s.logit_bias.push_back({p.logit_bias[i].token, p.logit_bias[i].bias});
    s.logprobs = p.logprobs;
    s.n_logprobs = p.n_logprobs;
    s.logprobs_after_transforms = p.logprobs_after_transforms;
    return s;
}

const auto k_generate_params_fields = {
    EMBER_FIELD(ember_generate_params, struct_size), EMBER_FIELD(ember_generate_params, max_tokens),
    EMBER_FIELD(ember_generate_params, seq),         EMBER_FIELD(ember_generate_params, stop_at_eog),
    EMBER_FIELD(ember_generate_params, accept_prompt), EMBER_FIELD(ember_generate_params, temperature),
    EMBER_FIELD(ember_generate_params, top_k),       EMBER_FIELD(ember_generate_params, top_p),
    EMBER_FIELD(ember_generate_params, min_p)};

ember_generate_params generate_defaults() {
    const generate_params g;
    const sampler_params s;
    ember_generate_params p{};
    p.struct_size = sizeof p;
    p.max_tokens = g.max_tokens;
    p.seq = g.seq;
    p.stop_at_eog = g.stop_at_eog;
    p.accept_prompt = g.accept_prompt;
    p.temperature = 0.0f;
    p.top_k = s.top_k;
    p.top_p = s.top_p;
    p.min_p = s.min_p;
    return p;
}

const auto k_generate_result_fields = {
    EMBER_FIELD(ember_generate_result, struct_size), EMBER_FIELD(ember_generate_result, n_tokens),
    EMBER_FIELD(ember_generate_result, n_prompt_evaluated), EMBER_FIELD(ember_generate_result, stop_reason)};

int32_t c_stop_reason(stop_reason r) {
    switch (r) {
        case stop_reason::max_tokens: return EMBER_STOP_MAX_TOKENS;
        case stop_reason::end_of_generation: return EMBER_STOP_END_OF_GENERATION;
        case stop_reason::callback: return EMBER_STOP_CALLBACK;
        case stop_reason::context_full: return EMBER_STOP_CONTEXT_FULL;
    }
    return EMBER_STOP_ERROR;
}

const auto k_quantize_params_fields = {
    EMBER_FIELD(ember_quantize_params, struct_size), EMBER_FIELD(ember_quantize_params, preset),
    EMBER_FIELD(ember_quantize_params, n_threads), EMBER_FIELD(ember_quantize_params, progress),
    EMBER_FIELD(ember_quantize_params, progress_user_data)};

ember_quantize_params quantize_defaults() {
    ember_quantize_params p{};
    p.struct_size = sizeof p;
    p.preset = nullptr;
    p.n_threads = 0;
    return p;
}

// The C callback gets the fraction done, reported after tensor index + 1 of count.
float progress_fraction(const quantize_progress& p) { return p.count ? float(p.index + 1) / float(p.count) : 1.0f; }

}  // namespace

}  // namespace ember::capi

using namespace ember;
using namespace ember::capi;

extern "C" {

// --- samplers -------------------------------------------------------------------------------

EMBER_API ember_status ember_sampler_params_init(ember_sampler_params* params, size_t struct_size) {
    return guard(__func__,
                 [&] { init_params(params, struct_size, sampler_defaults(), "ember_sampler_params", k_sampler_params_fields); });
}

EMBER_API ember_status ember_sampler_create(const ember_sampler_params* params, const ember_model* model, ember_sampler** sampler) {
    return guard(__func__, [&] {
        need(sampler, "sampler (the out-pointer)");
        need(params, "params");
        const ember_sampler_params p = read_params(params, sampler_defaults(), "ember_sampler_params", k_sampler_params_fields);
        const sampler_params sp = to_cpp(p);
        const int64_t n_vocab = model ? model_of(model).hparams().n_vocab : 0;
        auto handle = std::unique_ptr<ember_sampler>(new ember_sampler{ember::sampler::from_params(sp, n_vocab)});
        handle->logprobs = sp.logprobs || sp.n_logprobs > 0;
        *sampler = handle.release();
    });
}

EMBER_API ember_status ember_sampler_chain_create(uint64_t seed, ember_sampler** sampler) {
    return guard(__func__, [&] {
        need(sampler, "sampler (the out-pointer)");
        *sampler = new ember_sampler{ember::sampler(seed)};
    });
}

EMBER_API void ember_sampler_free(ember_sampler* sampler) { delete sampler; }

namespace {

ember::grammar grammar_of(int kind, const char* text) {
    need(text, "text (the grammar)");
    switch (kind) {
        case EMBER_GRAMMAR_GBNF: return ember::grammar::from_gbnf(text);
        case EMBER_GRAMMAR_JSON_SCHEMA: return ember::grammar::from_json_schema(text);
        case EMBER_GRAMMAR_REGEX: return ember::grammar::from_regex(text);
        default: fail_status(EMBER_ERR_INVALID_ARGUMENT, "kind = {} is not an ember_grammar_kind (0 GBNF, 1 JSON schema, 2 regex)", kind);
    }
}

}  // namespace

EMBER_API ember_status ember_sampler_create_grammar(const ember_sampler_params* params, const ember_model* model, int kind,
                                                    const char* text, ember_sampler** sampler) {
    return guard(__func__, [&] {
        need(sampler, "sampler (the out-pointer)");
        need(params, "params");
        need(model, "model (the grammar needs its vocabulary)");
        const ember::grammar g = grammar_of(kind, text);
        const ember_sampler_params p = read_params(params, sampler_defaults(), "ember_sampler_params", k_sampler_params_fields);
        const sampler_params sp = to_cpp(p);
        auto handle = std::unique_ptr<ember_sampler>(new ember_sampler{ember::sampler::from_params(sp, model_of(model).vocab(), &g)});
        handle->logprobs = sp.logprobs || sp.n_logprobs > 0;
        *sampler = handle.release();
    });
}

EMBER_API ember_status ember_sampler_add_grammar(ember_sampler* sampler, const ember_model* model, int kind, const char* text) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        need(model, "model (the grammar needs its vocabulary)");
        s.add(stages::grammar(grammar_of(kind, text), model_of(model).vocab()));
    });
}

EMBER_API ember_status ember_sampler_add_logit_bias(ember_sampler* sampler, const ember_token_bias* biases, size_t n) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        if (!biases && n > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "biases is NULL but n is {}", n);
        std::vector<token_bias> v;
        for (size_t i = 0; i < n; ++i) v.push_back({biases[i].token, biases[i].bias});
        s.add(stages::logit_bias(std::move(v)));
    });
}

EMBER_API ember_status ember_sampler_add_penalties(ember_sampler* sampler, int32_t last_n, float repeat, float frequency,
                                                  float presence) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::penalties(last_n, repeat, frequency, presence)); });
}

EMBER_API ember_status ember_sampler_add_top_k(ember_sampler* sampler, int32_t k) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::top_k(k)); });
}

EMBER_API ember_status ember_sampler_add_typical_p(ember_sampler* sampler, float p, size_t min_keep) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::typical_p(p, min_keep)); });
}

EMBER_API ember_status ember_sampler_add_top_p(ember_sampler* sampler, float p, size_t min_keep) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::top_p(p, min_keep)); });
}

EMBER_API ember_status ember_sampler_add_min_p(ember_sampler* sampler, float p, size_t min_keep) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::min_p(p, min_keep)); });
}

EMBER_API ember_status ember_sampler_add_temperature(ember_sampler* sampler, float temp) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::temperature(temp)); });
}

EMBER_API ember_status ember_sampler_add_greedy(ember_sampler* sampler) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::greedy()); });
}

EMBER_API ember_status ember_sampler_add_mirostat(ember_sampler* sampler, float tau, float eta, int32_t m) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::mirostat(tau, eta, m)); });
}

EMBER_API ember_status ember_sampler_add_mirostat_v2(ember_sampler* sampler, float tau, float eta) {
    return guard(__func__, [&] { sampler_of(sampler).add(stages::mirostat_v2(tau, eta)); });
}

EMBER_API ember_status ember_sampler_set_logprobs(ember_sampler* sampler, bool enabled, int32_t n_top, bool after_transforms) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        if (n_top < 0 || n_top > 100) fail_status(EMBER_ERR_INVALID_ARGUMENT, "n_top {} is outside 0..100", n_top);
        s.set_logprobs(enabled, n_top, after_transforms);
        sampler->logprobs = enabled;
    });
}

EMBER_API ember_status ember_sampler_sample(ember_sampler* sampler, const ember_context* ctx, int64_t i, ember_token* token) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        const ember::context& c = context_of(ctx);
        need(token, "token");
        *token = s.sample(c.logits(i));
    });
}

EMBER_API ember_status ember_sampler_sample_logits(ember_sampler* sampler, const float* logits, size_t n_logits,
                                                  ember_token* token) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        need(logits, "logits");
        need(token, "token");
        *token = s.sample(std::span(logits, n_logits));
    });
}

EMBER_API ember_status ember_sampler_accept(ember_sampler* sampler, ember_token token) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        if (token < 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "token {} is negative", token);
        s.accept(token);
    });
}

EMBER_API ember_status ember_sampler_accept_prompt(ember_sampler* sampler, ember_token token) {
    return guard(__func__, [&] {
        ember::sampler& s = sampler_of(sampler);
        if (token < 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "token {} is negative", token);
        s.accept_prompt(token);
    });
}

EMBER_API ember_status ember_sampler_reset(ember_sampler* sampler) {
    return guard(__func__, [&] { sampler_of(sampler).reset(); });
}

EMBER_API ember_status ember_sampler_get_seed(const ember_sampler* sampler, uint64_t* seed) {
    return guard(__func__, [&] { need(seed, "seed") = sampler_of(sampler).seed(); });
}

EMBER_API ember_status ember_sampler_describe(const ember_sampler* sampler, char* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] { write_text(sampler_of(sampler).describe(), buf, capacity, size); });
}

EMBER_API ember_status ember_sampler_last_logprob(const ember_sampler* sampler, ember_token* token, float* logprob,
                                                 float* entropy, ember_token_logprob* top, size_t capacity, size_t* n_top) {
    return guard(__func__, [&] {
        const ember::sampler& s = sampler_of(sampler);
        if (!sampler->logprobs) fail_status(EMBER_ERR_INVALID_ARGUMENT, "log-probabilities are off for this sampler");
        const token_logprobs& lp = s.last_logprobs();
        if (lp.token < 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "nothing has been sampled yet");
        check_buffer(top, capacity);
        if (n_top) {
            std::vector<ember_token_logprob> v;
            for (const auto& [id, l] : lp.top) v.push_back({id, l});
            write_items(v.data(), v.size(), top, capacity, n_top, "alternatives");
        }
        if (token) *token = lp.token;
        if (logprob) *logprob = lp.logprob;
        if (entropy) *entropy = lp.entropy;
    });
}

// --- generation -----------------------------------------------------------------------------

EMBER_API ember_status ember_generate_params_init(ember_generate_params* params, size_t struct_size) {
    return guard(__func__, [&] {
        init_params(params, struct_size, generate_defaults(), "ember_generate_params", k_generate_params_fields);
    });
}

EMBER_API ember_status ember_context_generate(ember_context* ctx, ember_sampler* sampler, const ember_token* prompt,
                                             size_t n_prompt, const ember_generate_params* params, ember_token_fn on_token,
                                             void* user_data, ember_generate_result* result) {
    ember_generate_result r{};
    r.stop_reason = EMBER_STOP_ERROR;
    const ember_status st = guard(__func__, [&] {
        ember::context& c = context_of(ctx);
        if (result) check_struct_size("ember_generate_result", result->struct_size, sizeof *result, k_generate_result_fields);
        if (!prompt && n_prompt > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "prompt is NULL but n_prompt is {}", n_prompt);
        const ember_generate_params p = read_params(params, generate_defaults(), "ember_generate_params", k_generate_params_fields);

        std::optional<ember::sampler> own;
        bool logprobs = false;
        if (sampler) {
            logprobs = sampler->logprobs;
        } else {
            sampler_params sp;
            sp.seed = ctx->seed;
            sp.temp = p.temperature;
            sp.top_k = p.top_k;
            sp.top_p = p.top_p;
            sp.min_p = p.min_p;
            own.emplace(ember::sampler::from_params(sp, c.get_model().hparams().n_vocab));
        }
        ember::sampler& smp = sampler ? sampler->s : *own;

        generate_params gp;
        gp.max_tokens = p.max_tokens;
        gp.seq = p.seq;
        gp.stop_at_eog = p.stop_at_eog;
        gp.accept_prompt = p.accept_prompt;

        std::vector<ember_token_logprob> top;
        token_callback cb;
        if (on_token) {
            cb = [&](token_id tok, std::string_view text) {
                const std::string piece(text);  // NUL-terminated for C
                ember_token_event ev{};
                ev.struct_size = sizeof ev;
                ev.token = tok;
                ev.text = piece.c_str();
                ev.text_len = piece.size();
                ev.index = r.n_tokens;
                if (tok >= 0) ++r.n_tokens;
                if (logprobs && tok >= 0) {
                    const token_logprobs& lp = smp.last_logprobs();
                    top.clear();
                    for (const auto& [id, l] : lp.top) top.push_back({id, l});
                    ev.has_logprob = true;
                    ev.logprob = lp.logprob;
                    ev.entropy = lp.entropy;
                    ev.top = top.data();
                    ev.n_top = top.size();
                }
                return on_token(&ev, user_data);
            };
        }
        try {
            const generate_result res = ember::generate(c, smp, std::span(prompt, n_prompt), gp, cb);
            r.n_tokens = int64_t(res.tokens.size());
            r.n_prompt_evaluated = res.n_prompt_evaluated;
            r.stop_reason = c_stop_reason(res.reason);
        } catch (const ember::error& e) {
            if (e.code() == errc::cancelled) r.stop_reason = EMBER_STOP_ABORTED;
            throw;
        }
        if (r.stop_reason == EMBER_STOP_CALLBACK)
            fail_status(EMBER_ERR_CANCELLED, "generation stopped by the token callback after {} tokens", r.n_tokens);
    });
    if (result && result->struct_size >= sizeof(size_t) && result->struct_size <= sizeof r) {
        r.struct_size = result->struct_size;
        std::memcpy(static_cast<void*>(result), &r, r.struct_size);
    }
    return st;
}

// --- quantization ---------------------------------------------------------------------------

EMBER_API ember_status ember_quantize_params_init(ember_quantize_params* params, size_t struct_size) {
    return guard(__func__, [&] {
        init_params(params, struct_size, quantize_defaults(), "ember_quantize_params", k_quantize_params_fields);
    });
}

EMBER_API ember_status ember_quantize_file(const char* input, const char* output, const ember_quantize_params* params,
                                          ember_quantize_result* result) {
    return guard(__func__, [&] {
        need(input, "input");
        need(output, "output");
        using T = ember_quantize_result;
        const auto result_fields = {EMBER_FIELD(T, struct_size), EMBER_FIELD(T, bytes_in), EMBER_FIELD(T, bytes_out),
                                    EMBER_FIELD(T, n_tensors), EMBER_FIELD(T, n_quantized)};
        if (result) check_struct_size("ember_quantize_result", result->struct_size, sizeof *result, result_fields);
        const ember_quantize_params p = read_params(params, quantize_defaults(), "ember_quantize_params", k_quantize_params_fields);
        if (!p.preset) fail_status(EMBER_ERR_INVALID_ARGUMENT, "ember_quantize_params.preset is NULL");
        if (p.n_threads < 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "n_threads {} is negative", p.n_threads);
        quantize_options opts;
        opts.preset = p.preset;
        opts.n_threads = p.n_threads;
        if (p.progress)
            opts.progress = [&p](const quantize_progress& pr) { return p.progress(progress_fraction(pr), p.progress_user_data); };
        const auto res = ember::quantize_file(input, output, opts);
        if (result) {
            ember_quantize_result r{};
            r.bytes_in = res.bytes_in;
            r.bytes_out = res.bytes_out;
            r.n_tensors = res.n_tensors;
            r.n_quantized = res.n_quantized;
            write_struct(result, r, "ember_quantize_result", result_fields);
        }
    });
}

}  // extern "C"
