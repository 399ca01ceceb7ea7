// Flags shared by the subcommands that create a context or a sampler.
#pragma once

#include <cctype>
#include <string>

#include "args.hpp"
#include "ember/context.hpp"
#include "ember/sampler.hpp"
#include "ember/types.hpp"

namespace ember::cli {

inline ggml_type parse_cache_type(const std::string& s, const char* flag) {
    const auto t = type_from_name(s);
    if (!t || (*t != ggml_type::f32 && *t != ggml_type::f16 && *t != ggml_type::q8_0))
        throw usage_error(std::string(flag) + ": '" + s + "' is not a cache type (f32, f16 or q8_0)");
    return *t;
}

// -c -b -t --window --keep --no-context-shift --cache-type-k --cache-type-v
inline context_params parse_context_flags(args& a) {
    context_params cp;
    cp.n_ctx = a.number_or<int64_t>({"-c", "--ctx-size"}, 0);
    cp.n_batch = a.number_or<int64_t>({"-b", "--batch-size"}, 512);
    cp.n_threads = a.number_or<int>({"-t", "--threads"}, 0);
    cp.window = a.number_or<int64_t>({"--window"}, 0);
    cp.n_keep = a.number_or<int64_t>({"--keep"}, 0);
    cp.context_shift = !a.flag({"--no-context-shift"});
    if (auto t = a.value({"--cache-type-k", "-ctk"})) cp.type_k = parse_cache_type(*t, "--cache-type-k");
    if (auto t = a.value({"--cache-type-v", "-ctv"})) cp.type_v = parse_cache_type(*t, "--cache-type-v");
    if (cp.n_ctx < 0) throw usage_error("-c must not be negative");
    if (cp.n_batch <= 0) throw usage_error("-b must be positive");
    if (cp.n_threads < 0) throw usage_error("-t must not be negative");
    if (cp.window < 0) throw usage_error("--window must not be negative");
    if (cp.n_keep < 0) throw usage_error("--keep must not be negative");
    return cp;
}

// --temp --top-k --top-p --min-p --typical --repeat-penalty --repeat-last-n --presence-penalty
// --frequency-penalty --mirostat --mirostat-ent --mirostat-lr --seed --logit-bias
inline sampler_params parse_sampler_flags(args& a) {
    sampler_params sp;
    sp.temp = a.number_or<float>({"--temp"}, sp.temp);
    sp.top_k = a.number_or<int32_t>({"--top-k"}, sp.top_k);
    sp.top_p = a.number_or<float>({"--top-p"}, sp.top_p);
    sp.min_p = a.number_or<float>({"--min-p"}, sp.min_p);
    sp.typical_p = a.number_or<float>({"--typical"}, sp.typical_p);
    sp.repeat_penalty = a.number_or<float>({"--repeat-penalty"}, sp.repeat_penalty);
    sp.repeat_last_n = a.number_or<int32_t>({"--repeat-last-n"}, sp.repeat_last_n);
    sp.presence_penalty = a.number_or<float>({"--presence-penalty"}, sp.presence_penalty);
    sp.frequency_penalty = a.number_or<float>({"--frequency-penalty"}, sp.frequency_penalty);
    sp.mirostat = a.number_or<int32_t>({"--mirostat"}, sp.mirostat);
    sp.mirostat_tau = a.number_or<float>({"--mirostat-ent"}, sp.mirostat_tau);
    sp.mirostat_eta = a.number_or<float>({"--mirostat-lr"}, sp.mirostat_eta);
    if (auto s = a.number<uint64_t>({"-s", "--seed"})) {
        if (*s == sampler_params::random_seed) throw usage_error("--seed: that value is reserved for 'random'");
        sp.seed = *s;
    }
    try {
        for (const auto& b : a.values({"--logit-bias", "-l"})) sp.logit_bias.push_back(parse_logit_bias(b));
        validate(sp);
    } catch (const error& e) {
        throw usage_error(e.what());
    }
    return sp;
}

}  // namespace ember::cli
