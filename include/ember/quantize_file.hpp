// Model-file quantization: rewrite a GGUF model with llama.cpp's quantize-tool presets.
//
// The per-tensor choice of type follows llama.cpp's `llama-quantize` for the `llama`
// architecture (formats.md §5): which tensors are touched at all, the preset's base type, the
// per-tensor rules (output and embedding, attn_v and ffn_down with more bits in chosen layers),
// and the fallbacks for rows the chosen block size does not divide. Tensors are processed and
// written in llama.cpp's order (non-layer tensors, then layer by layer, each group sorted by
// name) and the metadata is copied with general.quantization_version and general.file_type
// appended, so that quantizing the same F32 file gives the same bytes as llama.cpp wherever the
// row quantizers agree (they do for every type on real weights, see tests/test_quant_models.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ember/types.hpp"

namespace ember {

// A preset of llama.cpp's quantize tool (formats.md §5.2).
struct quant_preset {
    std::string_view name;  // "Q4_K_M"
    uint32_t file_type;     // the value stored as general.file_type (llama_ftype)
    ggml_type base;         // the type most matrices get
};

// F32, F16, BF16, Q8_0, Q4_K_M, Q4_K_S, Q3_K_M, Q2_K.
std::span<const quant_preset> quant_presets() noexcept;
const quant_preset* find_quant_preset(std::string_view name) noexcept;  // case-insensitive
std::string quant_preset_names();                                      // "F32, F16, ..." for messages

// --- Per-tensor rules (formats.md §5.1, §5.3, §5.4) ---

// Whether a tensor may change type at all: a matrix (2+ dims) whose name ends in "weight" and
// that is not a norm or one of the small special tensors llama.cpp leaves alone.
bool is_quantizable_tensor(std::string_view name, uint32_t n_dims) noexcept;

// llama.cpp's processing order: by layer number (tensors outside "blk.N." count as layer -1),
// then by name.
bool quant_order_less(std::string_view a, std::string_view b) noexcept;

// What the rules need to know about the model and about the tensors already processed.
struct tensor_rule_state {
    int64_t n_layer = 0;           // llama.block_count
    int64_t n_gqa = 1;             // n_head / n_head_kv
    bool is_70b = false;           // 80 layers with grouped-query attention
    bool tied_embeddings = false;  // no output.weight: token_embd is also the output projection
    int64_t n_attn_v = 0;          // attn_v (and fused attn_qkv) tensors in the model
    int64_t i_attn_v = 0;          // attn_v tensors processed before this one
    int64_t i_ffn_down = 0;        // ffn_down tensors processed before this one (the layer index)
};

// The type `preset` gives the tensor `name` of shape `ne` (ne[0] = row length) whose present
// type is `current`. Throws ember::error(unsupported) when no type fits the row length (Q8_0
// and a row length that is not a multiple of 32), naming the tensor.
ggml_type choose_tensor_type(const quant_preset& preset, std::string_view name, std::span<const int64_t> ne,
                             ggml_type current, const tensor_rule_state& state);

// One tensor as the planner sees it.
struct quant_tensor_desc {
    std::string_view name;
    std::span<const int64_t> ne;  // n_dims entries, ne[0] first
    ggml_type type;               // present type
};

struct quant_model_desc {
    int64_t n_layer = 0, n_head = 0, n_head_kv = 0;
};

struct quant_plan_entry {
    size_t index;   // into the tensor list given to plan_quantization
    ggml_type type; // the type it is written as
};

// Every tensor in processing (and writing) order with the type the preset gives it: the
// counters of tensor_rule_state are kept as llama.cpp keeps them.
std::vector<quant_plan_entry> plan_quantization(const quant_preset& preset, const quant_model_desc& model,
                                                std::span<const quant_tensor_desc> tensors);

// --- Whole files ---

struct quantize_progress {
    size_t index, count;           // this tensor is number index + 1 of count
    std::string_view name;
    std::span<const int64_t> ne;   // its shape, ne[0] first
    ggml_type from, to;            // from == to: the bytes were copied unchanged
    uint64_t bytes_in, bytes_out;
};

struct quantize_options {
    std::string preset = "";  // a quant_presets() name, case-insensitive
    int n_threads = 0;   // 0 = all hardware threads
    // Called after each tensor is written; return false to cancel (errc::cancelled). A cancelled
    // or failed run leaves no output file behind.
    std::function<bool(const quantize_progress&)> progress = nullptr;
};

struct quantize_result {
    uint64_t bytes_in = 0, bytes_out = 0;  // tensor data, without metadata and padding
    size_t n_tensors = 0, n_quantized = 0;  // n_quantized: tensors whose type changed
};

// Quantizes the model `in` into `out` (written through a temporary file renamed into place).
// Tensors already quantized are dequantized first when their type must change (a type ember
// cannot dequantize is errc::unsupported); tensors whose type stays keep their bytes. Throws
// ember::error: invalid_argument for an unknown preset or when `out` is `in`, file_not_found /
// bad_file for the input, unsupported for an architecture other than llama (quantized presets)
// or a tensor no type fits, io_error when writing fails, cancelled.
// Memory: one output tensor plus a row per thread; the input is memory-mapped.
quantize_result quantize_file(const std::filesystem::path& in, const std::filesystem::path& out,
                              const quantize_options& opt);

}  // namespace ember
