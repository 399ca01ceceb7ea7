#pragma once

#include <memory>
#include <vector>

#include "decoder.hpp"
#include "ember/context.hpp"
#include "model_impl.hpp"
#include "thread_pool.hpp"

namespace ember {

struct context::impl {
    std::shared_ptr<const model> mdl;
    context_params params;
    kv_cache kv;
    detail::thread_pool pool;
    detail::forward_scratch scratch;
    std::vector<float> logits;        // (rows, n_vocab) for the tokens that asked for logits
    std::vector<int64_t> logit_row;   // per token of the last decode: its logits row or -1
    uint64_t n_evaluated = 0;

    impl(std::shared_ptr<const model> m, const context_params& p);
    void run(const batch& b);
};

}  // namespace ember
