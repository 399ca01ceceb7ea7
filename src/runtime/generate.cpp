#include "ember/generate.hpp"

#include "core/util.hpp"

namespace ember {

std::string_view to_string(stop_reason r) noexcept {
    switch (r) {
        case stop_reason::max_tokens: return "token limit";
        case stop_reason::end_of_generation: return "end of generation";
        case stop_reason::callback: return "stopped by callback";
        case stop_reason::context_full: return "context full";
    }
    return "unknown";
}

generate_result generate(context& ctx, sampler& smp, std::span<const token_id> prompt, const generate_params& params,
                         const token_callback& on_token) {
    if (prompt.empty()) detail::fail(errc::invalid_argument, "generate: the prompt has no tokens");
    if (params.max_tokens < -1) detail::fail(errc::invalid_argument, "generate: max_tokens must be -1 or more (got {})", params.max_tokens);
    const vocab& voc = ctx.get_model().vocab();
    generate_result r;
    r.n_prompt_evaluated = ctx.decode_prompt(prompt, params.seq);
    if (params.accept_prompt)
        for (token_id t : prompt) smp.accept_prompt(t);

    token_stream_decoder stream(voc);
    bool stopped = false;
    while (params.max_tokens < 0 || int64_t(r.tokens.size()) < params.max_tokens) {
        const token_id next = smp.sample(ctx.logits());
        smp.accept(next);
        if (params.stop_at_eog && voc.is_eog(next)) {
            r.reason = stop_reason::end_of_generation;
            break;
        }
        r.tokens.push_back(next);
        const std::string text = stream.push(next);
        r.text += text;
        if (on_token && !on_token(next, text)) {
            r.reason = stop_reason::callback;
            stopped = true;
            break;
        }
        if (params.max_tokens >= 0 && int64_t(r.tokens.size()) >= params.max_tokens) break;
        try {
            ctx.decode(std::span(&next, 1), false, params.seq);
        } catch (const error& e) {
            if (e.code() != errc::context_full) throw;
            r.reason = stop_reason::context_full;
            break;
        }
    }
    const std::string tail = stream.flush();
    r.text += tail;
    if (on_token && !stopped && !tail.empty()) on_token(-1, tail);
    return r;
}

}  // namespace ember
