// An inference context: the KV cache, scratch memory and thread pool needed to run a model.
// A context is used by one thread at a time; many contexts may share one model.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ember/model.hpp"
#include "ember/types.hpp"
#include "ember/vocab.hpp"

namespace ember {

struct context_params {
    int64_t n_ctx = 0;       // KV cache capacity in tokens; 0 = the model's training context
    int64_t n_batch = 512;   // most tokens evaluated in one forward pass
    int n_threads = 0;       // 0 = all hardware threads
    ggml_type kv_type = ggml_type::f32;  // element type of the cached keys and values
};

class context {
public:
    context(std::shared_ptr<const model> m, const context_params& params = {});
    ~context();
    context(context&&) noexcept;
    context& operator=(context&&) noexcept;

    const model& get_model() const noexcept;
    const context_params& params() const noexcept;
    int64_t n_ctx() const noexcept;
    int64_t n_past() const noexcept;  // tokens currently in the cache

    // Evaluates `tokens` at positions n_past() .. n_past() + size - 1 and appends them to the
    // cache. Computes logits for the last token, or for every token when `all_logits` is set.
    // Throws errc::invalid_argument for an out-of-vocabulary token, errc::context_full when the
    // tokens do not fit.
    void decode(std::span<const token_id> tokens, bool all_logits = false);

    // Logits (n_vocab floats) of the i-th token of the last decode that has logits: with
    // all_logits, i indexes the batch; otherwise only i = -1 (the last token) is available.
    std::span<const float> logits(int64_t i = -1) const;

    // Forgets every cached token.
    void clear();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ember
