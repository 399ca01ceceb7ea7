// A loaded model: hyperparameters, tokenizer vocabulary and weights (views into the mapped
// GGUF file). A model is immutable after loading and may be shared by many contexts on many
// threads at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/vocab.hpp"

namespace ember {

enum class rope_type {
    norm,  // rotate adjacent pairs (v[2i], v[2i+1]) - llama and its relatives
    neox,  // rotate (v[i], v[i + n_rot/2]) - qwen2/3, gemma, phi3, ...
};

// The activation of the feed-forward gate: y = act(Wgate·x) ⊙ Wup·x.
enum class ffn_activation {
    silu,       // llama, qwen2/3, phi3
    gelu_tanh,  // gemma (GELU, tanh approximation, as llama.cpp computes it: through an f16 table)
};

// What varies from layer to layer. The forward pass reads these; no code asks for the
// architecture's name.
struct layer_hparams {
    int64_t window = 0;              // sliding-window attention over the last `window` positions (0 = global)
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;
    int64_t n_ff = 0;                // feed-forward width ({arch}.feed_forward_length, may vary per layer)
    int kv_group = 0;                // which cache group holds this layer (layers of one kind share one)
    int64_t kv_index = 0;            // the layer's index among its group's layers
};

enum class log_level { debug, info, warn, error };
using log_fn = std::function<void(log_level, std::string_view)>;

struct model_hparams {
    std::string arch;           // general.architecture
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;    // {arch}.context_length
    int64_t n_ctx_orig = 0;     // {arch}.rope.scaling.original_context_length, else n_ctx_train
    int64_t n_embd = 0;         // {arch}.embedding_length
    int64_t n_layer = 0;        // {arch}.block_count
    int64_t n_head = 0;         // {arch}.attention.head_count
    int64_t n_head_kv = 0;      // {arch}.attention.head_count_kv (GQA when < n_head)
    int64_t n_ff = 0;           // {arch}.feed_forward_length (the largest, when it varies per layer)
    int64_t head_dim = 0;       // {arch}.attention.key_length, default n_embd / n_head
    int64_t n_rot = 0;          // {arch}.rope.dimension_count, default head_dim
    float rms_eps = 1e-5f;      // {arch}.attention.layer_norm_rms_epsilon
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;  // 1 / {arch}.rope.scaling.factor (linear scaling)
    float rope_attn_factor = 1.0f;  // {arch}.rope.scaling.attn_factor: RoPE's cos and sin scaled by it (phi3 128k)
    rope_type rope = rope_type::norm;
    bool tied_output = false;   // output.weight absent: the output projection is token_embd

    // Architecture features, as data for the shared forward pass.
    float embd_scale = 1.0f;         // token embeddings are multiplied by this (gemma: sqrt(n_embd))
    float attn_scale = 0.0f;         // query·key scale (0 = 1/sqrt(head_dim))
    float final_logit_softcap = 0.0f;  // > 0: logits = c·tanh(logits / c)
    ffn_activation ffn_act = ffn_activation::silu;
    bool qkv_bias = false;           // biases on the q, k and v projections (qwen2)
    bool qk_norm = false;            // per-head RMS norm of q and k before RoPE (qwen3, gemma3)
    bool post_norms = false;         // RMS norm of the attention and FFN outputs before the residual add (gemma)
    bool fused_qkv = false;          // one attn_qkv matrix (phi3), split into views at load
    bool fused_gate_up = false;      // one ffn_up matrix of 2·n_ff rows, gate first (phi3)
    bool long_rope = false;          // rope_factors_long/short: the long ones for contexts past n_ctx_orig (phi3 128k)
    int64_t sliding_window = 0;      // {arch}.attention.sliding_window (0 = none)
    int64_t swa_pattern = 0;         // every swa_pattern-th layer is global, the others local (0 = none)
    std::vector<layer_hparams> layers;  // (n_layer)

    // Where the decoder's cache groups come from: one per distinct (window, RoPE) layer kind.
    int n_kv_groups() const noexcept {
        int n = 0;
        for (const auto& l : layers) n = std::max(n, l.kv_group + 1);
        return std::max(n, 1);
    }

    int64_t n_embd_kv() const noexcept { return n_head_kv * head_dim; }
    int64_t n_embd_q() const noexcept { return n_head * head_dim; }
};

struct model_params {
    // true: map the file (fast start, pages shared with other processes and the page cache).
    // false: read it into memory on 2 MiB-aligned transparent huge pages; generation streams
    // every weight once per token and runs markedly faster that way (bench/README.md: +8% on a
    // 1.1B model, +70% on a 7B one on the reference machine). The ember tools default to false.
    bool use_mmap = true;
    // With mmap, fault every page in while loading (as llama.cpp does): the first tokens do not
    // wait for the disk, and the resident size does not creep up as new token embeddings are
    // touched during a long generation. false maps pages lazily.
    bool populate = true;
    // Rewrite the weight matrices whose type has a row-interleaved form that this CPU multiplies
    // faster (Q2_K, Q3_K and Q4_K with AVX2 or AVX-512, Q6_K with AVX-512; kernels.hpp
    // packed_kernels) into that form while loading: generation and
    // prompt processing run faster, at the cost of the packing time (about half a second per GB) and
    // of the file's pages for those tensors, which are given back to the system: afterwards
    // file() still lists them, but reading their data maps them in again from disk (use_mmap)
    // or gives zeros (read into memory). The results differ from unpacked ones only by float
    // rounding.
    bool repack = true;
    log_fn log{};          // warnings and information while loading; nothing is printed by default
    // Called with the fraction loaded (0..1); return false to cancel (errc::cancelled).
    std::function<bool(float)> progress{};
};

class model {
public:
    // Loads and validates a model; throws ember::error on any problem (see errc).
    static std::shared_ptr<const model> load(const std::filesystem::path& path, const model_params& params = {});
    ~model();
    model(const model&) = delete;
    model& operator=(const model&) = delete;

    const model_hparams& hparams() const noexcept;
    const ember::vocab& vocab() const noexcept;
    const gguf_file& file() const noexcept;

    uint64_t n_params() const noexcept;        // elements of every tensor
    uint64_t weight_bytes() const noexcept;    // bytes of every tensor's data
    std::string type_summary() const;          // e.g. "Q4_K - Medium" or the dominant type
    std::string description() const;          // "llama 19.5M Q4_K_M"-style one-liner
    // A hash of the architecture, hyperparameters, tensor layout and samples of every tensor's
    // data: saved states record it so that a state is never loaded into a different model.
    uint64_t fingerprint() const noexcept;

    struct impl;
    const impl& internals() const noexcept { return *impl_; }

private:
    explicit model(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace ember
