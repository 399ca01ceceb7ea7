#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "runtime/decoder.hpp"
#include "ember/context.hpp"
#include "model/model_impl.hpp"
#include "core/thread_pool.hpp"

namespace ember {

struct context::impl {
    std::shared_ptr<const model> mdl;
    context_params params;
    std::vector<float> rope_factors;  // the model's long or short RoPE factors for this context, if any
    std::vector<kv_cache> kv;         // one per cache group (model_hparams::layers[il].kv_group)
    detail::thread_pool pool;
    detail::forward_scratch scratch;
    std::vector<float> logits;        // (rows, n_vocab) for the tokens that asked for logits
    std::vector<int64_t> logit_row;   // per token of the last decode: its logits row or -1
    std::vector<float> spare_logits;  // the buffers the next decode writes into
    std::vector<int64_t> spare_logit_row;
    uint64_t n_evaluated = 0;
    std::atomic<bool> abort_requested{false};

    impl(std::shared_ptr<const model> m, const context_params& p);
    void run(const batch& b);
    kv_cache& full() { return kv[0]; }  // the group that fills up (the global layers' when there are any)
    int64_t used() const;              // the most slots any group uses
};

}  // namespace ember
