// The generation loop most programs want: evaluate a prompt (reusing a cached prefix), then
// sample, stream and feed back tokens until a stop condition.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ember/context.hpp"
#include "ember/sampler.hpp"
#include "ember/vocab.hpp"

namespace ember {

struct generate_params {
    int64_t max_tokens = 128;  // tokens to generate; -1 = until end of generation
    seq_id seq = 0;            // the sequence to extend
    bool stop_at_eog = true;   // stop at the vocabulary's end-of-generation tokens (not emitted)
    bool accept_prompt = true; // feed the prompt tokens to the sampler's penalty history
};

enum class stop_reason { max_tokens, end_of_generation, callback, context_full };
std::string_view to_string(stop_reason r) noexcept;

struct generate_result {
    std::vector<token_id> tokens;  // generated tokens (the end-of-generation token excluded)
    std::string text;              // their text, valid UTF-8
    int64_t n_prompt_evaluated = 0;  // prompt tokens that were not already cached
    stop_reason reason = stop_reason::max_tokens;
};

// Receives each generated token and the text it completed (valid UTF-8, possibly empty when a
// multi-byte character is still incomplete); the final call after the last token carries
// token = -1 and whatever text was held back. Return false to stop generating.
using token_callback = std::function<bool(token_id token, std::string_view text)>;

// Throws what decode throws, except that a full cache (without context shift) ends the
// generation with stop_reason::context_full. A decode cancelled with context::abort() throws
// errc::cancelled.
generate_result generate(context& ctx, sampler& smp, std::span<const token_id> prompt, const generate_params& params = {},
                         const token_callback& on_token = nullptr);

}  // namespace ember
