#pragma once

#include <span>
#include <vector>

#include "kv_cache.hpp"
#include "model_impl.hpp"
#include "thread_pool.hpp"

namespace ember::detail {

// Activations of one forward pass, grown on demand and reused across calls.
struct forward_scratch {
    std::vector<float> x;       // (n_tok, n_embd) residual stream
    std::vector<float> cur;     // (n_tok, n_embd)
    std::vector<float> q;       // (n_tok, n_head * head_dim)
    std::vector<float> k;       // (n_tok, n_head_kv * head_dim)
    std::vector<float> v;       // (n_tok, n_head_kv * head_dim)
    std::vector<float> attn;    // (n_tok, n_head * head_dim)
    std::vector<float> gate;    // (n_tok, n_ff)
    std::vector<float> up;      // (n_tok, n_ff)
    std::vector<float> scores;  // (n_threads, n_ctx)
    std::vector<std::byte> act; // activations converted for the weight type's dot product

    void reserve(const model_hparams& hp, int64_t n_tok, int64_t n_ctx, int n_threads);
};

// Runs tokens[i] at position pos[i], storing its K/V in cache slot slots[i] (already committed
// as visible), and writes logits for tokens first_logit .. n-1 to `logits` (n_vocab each).
void decoder_forward(const model::impl& m, kv_cache& kv, thread_pool& pool, forward_scratch& s,
                     std::span<const token_id> tokens, std::span<const int32_t> pos, std::span<const int64_t> slots,
                     int64_t first_logit, float* logits);

}  // namespace ember::detail
