#pragma once

#include <atomic>
#include <span>
#include <vector>

#include "ember/kv_cache.hpp"
#include "model/model_impl.hpp"
#include "core/thread_pool.hpp"

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
    std::vector<float> rope_cs;    // (n_kv_groups, n_tok, n_rot / 2, 2) cos and sin of each token's angles
    std::vector<float> attn_work;  // (n_threads, attn_work_floats) online-softmax state and tiles
    // What the tokens see in one cache group (layers of one kind).
    struct group_view {
        std::vector<seq_slots> seqs;          // cache slots of each sequence in the batch, by position
        std::vector<int64_t> tok_lo, tok_hi;  // (n_tok) the range of seqs[tok_seq[t]] token t sees
    };
    std::vector<group_view> groups;  // (n_kv_groups)
    std::vector<int32_t> tok_seq;  // (n_tok) index of token t's sequence among the batch's
    std::vector<int64_t> attn_blocks;     // first token of each block of prompt attention, then n_tok
    std::vector<std::byte> act;    // activations converted for the weight type's dot product

    void reserve(const model_hparams& hp, int64_t n_tok, int n_threads);
    static int64_t attn_work_floats(const model_hparams& hp);
    uint64_t bytes() const noexcept;
};

struct forward_batch {
    std::span<const token_id> tokens;
    std::span<const int32_t> pos;
    std::span<const seq_id> seq;
    std::vector<std::span<const int64_t>> slots;  // per cache group: the slot of each token (already placed)
    std::span<const int64_t> logit_rows;   // indices of the tokens whose logits are wanted
    const std::atomic<bool>* abort = nullptr;  // checked between layers: throws errc::cancelled
};

// Runs the batch and writes logits (n_vocab each) for b.logit_rows, in that order.
// kv holds one cache per group (model_hparams::layers[il].kv_group); rope_factors are the
// model's long or short RoPE factors when it has them (the context chooses), else empty.
void decoder_forward(const model::impl& m, std::span<kv_cache> kv, thread_pool& pool, forward_scratch& s,
                     const forward_batch& b, float* logits, std::span<const float> rope_factors = {});

}  // namespace ember::detail
