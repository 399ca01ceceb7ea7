// Synthetic llama models with random weights, for tests and benchmarks: the shapes of real
// models (TinyLlama 1.1B, Llama 7B) without downloading them.
//
// The weights are deterministic in the seed and independent of the thread count: row r of
// tensor k draws from its own generator seeded from (seed, k, r). Matrices are N(0, 1/fan_in)
// (std 1/sqrt(row length)), so every projection of an RMS-normalised vector stays of order one;
// norms are 1 and embeddings small. The tensors are quantized with ember's own quantizer using
// a quantize preset's per-tensor mix (quantize_file.hpp), one tensor at a time, so memory stays
// near the size of the largest tensor. The tokenizer is copied from a vocabulary GGUF.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "ember/quantize_file.hpp"

namespace ember {

struct random_model_shape {
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_ff = 0;
    int64_t n_vocab = 0;  // 0 = the vocabulary file's size
    int64_t n_ctx = 0;    // {arch}.context_length
    // The architecture and its features (src/arch/): llama, qwen2 (q/k/v biases), qwen3 (q/k
    // norms), gemma3 (q/k and post norms, sliding windows), phi3 (fused qkv and gate+up).
    std::string_view arch = "llama";
    int64_t head_dim = 0;          // 0 = n_embd / n_head; else written as attention.key_length
    bool tied_output = false;      // no output.weight
    float rope_freq_base = 10000.0f;
    int64_t sliding_window = 0;    // gemma3: attention.sliding_window (0 = none)
    int64_t swa_pattern = 0;       // gemma3: attention.sliding_window_pattern
    // phi3 "longrope" (the 128k variants): rope.scaling.original_context_length, the factor
    // tensors rope_factors_short/long (short ones near 1, long ones growing to 40 across the
    // frequencies) and rope.scaling.attn_factor sqrt(1 + ln(n_ctx / orig) / ln(orig)), as
    // llama.cpp's converter writes them. 0 = no RoPE scaling.
    int64_t rope_orig_ctx = 0;
};

struct random_model_preset {
    std::string_view name;
    random_model_shape shape;
};

// tinyllama-1.1b, llama-7b, qwen2.5-1.5b, qwen3-1.7b, gemma3-1b, phi3-mini, phi3-mini-128k (real
// shapes; the vocabulary file decides n_vocab for all but the llama ones) and tiny, tiny-qwen2,
// tiny-qwen3, tiny-gemma3, tiny-phi3, tiny-phi3-longrope (dim 256, 2-4 layers, for tests).
std::span<const random_model_preset> random_model_presets() noexcept;
const random_model_preset* find_random_model_preset(std::string_view name) noexcept;  // case-insensitive

struct random_model_options {
    random_model_shape shape;
    std::string name = "random";   // general.name
    std::string type = "F32";      // a quant_presets() name
    uint64_t seed = 0;
    std::filesystem::path vocab;   // a GGUF holding tokenizer.ggml.* (its tensors are ignored)
    bool tied_output = false;      // no output.weight: the output projection is token_embd (or the shape's)
    int n_threads = 0;             // 0 = all hardware threads
    std::function<bool(const quantize_progress&)> progress = nullptr;  // as for quantize_file
};

// Writes the model to `out` (through a temporary file renamed into place). Throws
// ember::error: invalid_argument for a bad shape, an unknown type, or a vocabulary whose size
// differs from shape.n_vocab; file_not_found / bad_file for the vocabulary; io_error; cancelled.
quantize_result make_random_model(const std::filesystem::path& out, const random_model_options& opt);

}  // namespace ember
