// An inference context: the KV cache, scratch memory and thread pool needed to run a model.
// A context is used by one thread at a time; many contexts may share one model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "ember/kv_cache.hpp"
#include "ember/model.hpp"
#include "ember/types.hpp"
#include "ember/vocab.hpp"

namespace ember {

struct context_params {
    int64_t n_ctx = 0;       // full attention: KV capacity in tokens (0 = the model's training
                             // context). With a window: the largest prompt batch.
    int64_t n_batch = 512;   // most tokens evaluated in one forward pass
    int n_threads = 0;       // 0 = all hardware threads
    int n_seq_max = 1;       // independent sequences the cache must hold (1..64)
    int64_t window = 0;      // sliding-window attention over the last `window` positions (0 = off)
    ggml_type type_k = ggml_type::f16;  // cached keys: f32, f16 or q8_0
    ggml_type type_v = ggml_type::f16;  // cached values: f32, f16 or q8_0
    bool context_shift = false;  // decode(tokens): shift the cache when full instead of failing
    int64_t n_keep = 0;          // tokens kept at the start on a shift (BOS is always kept)
    bool swa_full = false;  // a model's sliding-window layers keep the whole context instead of a
                            // ring of the window (same outputs, more memory; prefixes longer than the
                            // window stay reusable), like llama.cpp's --swa-full
};

// A batch of tokens with explicit positions and sequences, for decoding several sequences at
// once or at chosen positions.
struct batch {
    std::vector<token_id> tokens;
    std::vector<int32_t> pos;
    std::vector<seq_id> seq;
    std::vector<uint8_t> logits;  // 1 = compute logits for this token

    void add(token_id t, int32_t p, seq_id s, bool want_logits) {
        tokens.push_back(t);
        pos.push_back(p);
        seq.push_back(s);
        logits.push_back(want_logits ? 1 : 0);
    }
    void clear() { tokens.clear(), pos.clear(), seq.clear(), logits.clear(); }
    size_t size() const noexcept { return tokens.size(); }
};

struct memory_usage {
    uint64_t weights = 0;       // tensor data of the model (mapped from the file, shared)
    uint64_t kv_cache = 0;      // this context's key/value cache
    uint64_t scratch = 0;       // this context's activations, logits and work buffers
};

class context {
public:
    context(std::shared_ptr<const model> m, const context_params& params = {});
    ~context();
    context(context&&) noexcept;
    context& operator=(context&&) noexcept;

    const model& get_model() const noexcept;
    const context_params& params() const noexcept;
    int64_t n_ctx() const noexcept;             // KV cache capacity in slots (of cache(0))
    int64_t n_past(seq_id s = 0) const noexcept;  // next position of sequence s
    // The key/value cache of group g. A model whose layers are of one kind has one group; one with
    // sliding-window and global layers (Gemma 3) has a group per kind, the global layers' first:
    // the local layers keep a ring of `window` positions, the global ones the whole context.
    int n_cache_groups() const noexcept;
    const kv_cache& cache(int g = 0) const;
    memory_usage memory() const noexcept;

    // Evaluates `tokens` for sequence `s` at positions n_past(s), n_past(s) + 1, ..., computing
    // logits for the last token or, with all_logits, for every token. When the cache is full,
    // shifts it if params().context_shift is set, else throws errc::context_full (and leaves
    // the cache as it was before the call).
    void decode(std::span<const token_id> tokens, bool all_logits = false, seq_id s = 0);
    // Evaluates an explicit batch. Throws errc::context_full when it does not fit.
    void decode(const batch& b);

    // Evaluates a prompt for sequence s, reusing the longest prefix already cached for it:
    // cached tokens after the first difference are dropped and only the rest is evaluated.
    // Returns the number of tokens evaluated; logits are those of the last prompt token.
    int64_t decode_prompt(std::span<const token_id> tokens, seq_id s = 0);

    // Logits (n_vocab floats) of token i of the last decode; i = -1 is the last token that has
    // logits. Throws errc::invalid_argument for a token without logits.
    std::span<const float> logits(int64_t i = -1) const;

    // Cache operations on sequences (positions [p0, p1), p1 < 0 = to the end).
    void seq_rm(seq_id s, int32_t p0 = 0, int32_t p1 = -1);
    void seq_cp(seq_id src, seq_id dst, int32_t p0 = 0, int32_t p1 = -1);
    // Drops n_discard tokens after the first n_keep of sequence s and moves the rest down.
    void shift(seq_id s, int64_t n_keep, int64_t n_discard);
    void clear();

    // Saves the cache contents, its tokens and the last logits; load_state restores them into a
    // context of the same model and cache configuration. The file is validated as hostile input.
    std::vector<std::byte> save_state() const;
    void load_state(std::span<const std::byte> data);
    void save_state_file(const std::filesystem::path& path) const;
    void load_state_file(const std::filesystem::path& path);

    // Asks the decode running on another thread to stop: it throws errc::cancelled at its next
    // layer boundary and leaves the cache as it was before it started. If no decode is running,
    // the next one is cancelled. Safe to call from any thread.
    void abort() noexcept;

    // Number of tokens run through the model since creation (for prefix-reuse accounting).
    uint64_t n_evaluated() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ember
