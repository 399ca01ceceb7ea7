// Handcrafted GGUF files, each broken in exactly one way, for the reader's tests, the corpus
// writer `ember_broken_gguf` (tests/tools) and the fuzzer's seed corpus.
//
// Two levels of breakage:
// - container: the bytes violate the GGUF format itself; gguf_file::parse/open must reject
//   them with errc::bad_file and a message containing every string in broken_file::expect.
// - model: the file is a valid GGUF container (a tiny synthetic llama model) whose content
//   is inconsistent as a model; the container reader must accept it, the model loader must
//   reject it. `expect` holds the key or tensor name the loader's message should name.
//
// To add a class, add one line to EMBER_BROKEN_GGUF_CASES and a `case` to make_broken (in
// broken_gguf.cpp for container classes, broken_gguf_model.cpp for model classes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember::test {

// X(level, name): one line per failure class, in the order of the file's sections.
#define EMBER_BROKEN_GGUF_CASES(X)                                                              \
    /* header */                                                                                 \
    X(container, empty_file)                                                                     \
    X(container, truncated_magic)                                                                \
    X(container, bad_magic)                                                                      \
    X(container, truncated_version)                                                              \
    X(container, version_0)                                                                      \
    X(container, version_1)                                                                      \
    X(container, version_4)                                                                      \
    X(container, version_big_endian)                                                             \
    X(container, truncated_tensor_count)                                                         \
    X(container, truncated_kv_count)                                                             \
    X(container, negative_tensor_count)                                                          \
    X(container, negative_kv_count)                                                              \
    X(container, huge_tensor_count)                                                              \
    X(container, huge_kv_count)                                                                  \
    X(container, kv_count_exceeds_records)                                                       \
    X(container, tensor_count_exceeds_records)                                                   \
    /* metadata keys */                                                                          \
    X(container, truncated_key_length)                                                           \
    X(container, truncated_key)                                                                  \
    X(container, huge_key_length)                                                                \
    X(container, empty_key)                                                                      \
    X(container, duplicate_key)                                                                  \
    /* metadata values */                                                                        \
    X(container, truncated_value_type)                                                           \
    X(container, invalid_value_type)                                                             \
    X(container, negative_value_type)                                                            \
    X(container, truncated_scalar_value)                                                         \
    X(container, truncated_string_value)                                                         \
    X(container, huge_string_length)                                                             \
    X(container, string_length_past_eof)                                                         \
    /* arrays */                                                                                 \
    X(container, truncated_array_element_type)                                                   \
    X(container, truncated_array_length)                                                         \
    X(container, invalid_array_element_type)                                                     \
    X(container, huge_array_length)                                                              \
    X(container, huge_string_array_length)                                                       \
    X(container, truncated_array_elements)                                                       \
    X(container, truncated_string_array)                                                         \
    X(container, nested_array_too_deep)                                                          \
    X(container, truncated_nested_array)                                                         \
    X(container, invalid_nested_element_type)                                                    \
    /* general.alignment */                                                                      \
    X(container, alignment_zero)                                                                 \
    X(container, alignment_not_power_of_two)                                                     \
    X(container, alignment_too_large)                                                            \
    X(container, alignment_wrong_type)                                                           \
    X(container, alignment_array)                                                                \
    /* tensor infos */                                                                           \
    X(container, truncated_tensor_name)                                                          \
    X(container, empty_tensor_name)                                                              \
    X(container, duplicate_tensor_name)                                                          \
    X(container, tensor_name_too_long)                                                           \
    X(container, truncated_n_dims)                                                               \
    X(container, n_dims_zero)                                                                    \
    X(container, n_dims_five)                                                                    \
    X(container, truncated_dims)                                                                 \
    X(container, zero_dim)                                                                       \
    X(container, negative_dim)                                                                   \
    X(container, dims_product_overflow)                                                          \
    X(container, tensor_bytes_overflow)                                                          \
    X(container, tensor_larger_than_file)                                                        \
    X(container, truncated_tensor_type)                                                          \
    X(container, unknown_type_id)                                                                \
    X(container, type_id_past_last)                                                              \
    X(container, negative_type_id)                                                               \
    X(container, removed_type_id_4)                                                              \
    X(container, removed_type_id_31)                                                             \
    X(container, removed_type_id_36)                                                             \
    X(container, row_not_block_multiple)                                                         \
    X(container, truncated_offset)                                                               \
    X(container, misaligned_offset)                                                              \
    X(container, misaligned_offset_alignment_64)                                                 \
    /* data section */                                                                           \
    X(container, offset_past_eof)                                                                \
    X(container, tensor_end_past_eof)                                                            \
    X(container, offset_wraps_around)                                                            \
    X(container, offset_plus_size_wraps)                                                         \
    X(container, truncated_before_data)                                                          \
    X(container, truncated_in_padding)                                                           \
    X(container, truncated_first_tensor_data)                                                    \
    X(container, truncated_last_tensor_data)                                                     \
    /* model level: valid containers, broken tiny llama models (broken_gguf_model.cpp) */        \
    X(model, missing_architecture)                                                               \
    X(model, unknown_architecture)                                                               \
    X(model, missing_embedding_length)                                                           \
    X(model, hparam_wrong_type)                                                                  \
    X(model, context_length_zero)                                                                \
    X(model, block_count_zero)                                                                   \
    X(model, head_count_zero)                                                                    \
    X(model, embedding_not_divisible_by_heads)                                                   \
    X(model, head_count_kv_not_divisor)                                                          \
    X(model, head_count_array_wrong_length)                                                      \
    X(model, rope_dimension_mismatch)                                                            \
    X(model, norm_epsilon_wrong_type)                                                            \
    X(model, missing_tokens)                                                                     \
    X(model, tokens_wrong_type)                                                                  \
    X(model, scores_wrong_type)                                                                  \
    X(model, token_type_wrong_type)                                                              \
    X(model, scores_length_mismatch)                                                             \
    X(model, token_type_length_mismatch)                                                         \
    X(model, unknown_tokenizer_model)                                                            \
    X(model, bos_out_of_range)                                                                   \
    X(model, eos_out_of_range)                                                                   \
    X(model, missing_token_embd)                                                                 \
    X(model, missing_layer_tensor)                                                               \
    X(model, tensor_shape_mismatch)                                                              \
    X(model, token_embd_vocab_mismatch)                                                          \
    X(model, norm_wrong_rank)                                                                    \
    /* model level, the other architectures (tiny qwen2 / qwen3 / gemma3 / phi3 models) */        \
    X(model, qwen2_missing_bias)                                                                 \
    X(model, qwen2_ffn_array_wrong_length)                                                       \
    X(model, qwen3_q_norm_wrong_shape)                                                           \
    X(model, qwen3_head_count_kv_not_divisor)                                                    \
    X(model, gemma3_pattern_zero)                                                                \
    X(model, gemma3_pattern_array_wrong_length)                                                  \
    X(model, gemma3_window_larger_than_context)                                                  \
    X(model, gemma3_post_norm_wrong_shape)                                                       \
    X(model, gemma3_missing_post_norm)                                                           \
    X(model, phi3_qkv_wrong_shape)                                                               \
    X(model, phi3_up_not_fused)                                                                  \
    X(model, phi3_rope_factors_wrong_length)

enum class broken_level { container, model };

enum class broken_kind {
#define EMBER_X(level, name) name,
    EMBER_BROKEN_GGUF_CASES(EMBER_X)
#undef EMBER_X
};

struct broken_case {
    broken_kind kind;
    broken_level level;
    std::string_view name;
};

// Every class, in enum order (broken_cases()[i].kind == broken_kind(i)).
std::span<const broken_case> broken_cases();
std::string_view to_string(broken_level l);

struct broken_file {
    std::vector<std::byte> bytes;
    std::vector<std::string> expect;  // substrings the rejecting error message must contain
};
broken_file make_broken(broken_kind kind);

// ---- valid files ----

// Small valid files covering the container's features, named for use as file names:
// the container baseline the broken classes are derived from, a v2 copy, one without tensors,
// one with alignment 64, control bytes in keys and names, a tensor of every listed type,
// every value type with nested arrays, the tiny llama.
struct named_file {
    std::string name;
    std::vector<std::byte> bytes;
};
std::vector<named_file> valid_samples();

// The baseline container file (v3, five keys including arrays, two tensors, F32 and Q8_0).
std::vector<std::byte> small_valid_gguf(uint32_t version = 3);

// A tiny but complete llama model (2 layers, n_embd 32, 4 heads, 2 KV heads, vocabulary of
// 32 SPM tokens, f32 weights with deterministic pseudo-random values), written with the real
// gguf_writer. The model-level classes are this file with one thing changed.
std::vector<std::byte> tiny_llama_gguf();
// The same tiny model for another architecture ember runs (qwen2, qwen3, gemma3, phi3): valid.
std::vector<std::byte> tiny_arch_gguf(const std::string& arch);

// ---- the low-level byte builder the container classes are written with ----

// Writes exactly what it is told, little-endian, with no validation (unlike gguf_writer).
class byte_builder {
public:
    byte_builder& u8(uint8_t v) { return put(v); }
    byte_builder& u16(uint16_t v) { return put(v); }
    byte_builder& u32(uint32_t v) { return put(v); }
    byte_builder& i32(int32_t v) { return put(v); }
    byte_builder& u64(uint64_t v) { return put(v); }
    byte_builder& i64(int64_t v) { return put(v); }
    byte_builder& f32(float v) { return put(v); }
    byte_builder& f64(double v) { return put(v); }
    byte_builder& str(std::string_view s);  // u64 length, then the bytes
    byte_builder& raw(std::span<const std::byte> b);
    byte_builder& raw(std::string_view s);
    byte_builder& zeros(size_t n);
    byte_builder& pad_to(uint64_t alignment);  // zeros up to the next multiple
    size_t size() const noexcept { return out_.size(); }
    std::vector<std::byte>& bytes() noexcept { return out_; }

private:
    template <class T> byte_builder& put(T v);
    std::vector<std::byte> out_;
};

// A GGUF file as a list of records, encoded field by field as given. Counts, n_dims and
// offsets are written as stored here, so a case can make any of them lie.
struct raw_kv {
    std::string key;
    int32_t type = 0;             // gguf_type id as written
    std::vector<std::byte> value;  // the encoded value after the type field
};
struct raw_tensor {
    std::string name;
    std::optional<uint32_t> n_dims;  // written instead of dims.size() when set
    std::vector<int64_t> dims;
    int32_t type = 0;
    uint64_t offset = 0;
};
struct raw_gguf {
    uint32_t magic = 0x46554747;
    uint32_t version = 3;
    std::optional<int64_t> n_tensors;  // written instead of tensors.size() when set
    std::optional<int64_t> n_kv;       // written instead of kvs.size() when set
    std::vector<raw_kv> kvs;
    std::vector<raw_tensor> tensors;
    uint64_t alignment = 32;    // padding before the data section
    bool pad_before_data = true;
    std::vector<std::byte> data;  // the data section, written as is
};
// Where encode() put each field, for truncation points and expected offsets.
struct raw_layout {
    std::vector<uint64_t> kv_at, kv_type_at, kv_value_at;  // per key: key length, type, value
    std::vector<uint64_t> tensor_at, tensor_dims_at, tensor_type_at, tensor_offset_at;  // per tensor
    uint64_t infos_end = 0;  // end of the last tensor info
    uint64_t data_at = 0;    // start of the data section
};
std::vector<std::byte> encode(const raw_gguf& g, raw_layout* layout = nullptr);

// Encoded values (the bytes after the type field).
std::vector<std::byte> value_u32(uint32_t v);
std::vector<std::byte> value_u64(uint64_t v);
std::vector<std::byte> value_string(std::string_view s);
// Array header (element type, count) followed by `elements` as already encoded.
std::vector<std::byte> value_array(int32_t elem_type, uint64_t count, std::span<const std::byte> elements);

// The baseline as records; container classes start from this.
raw_gguf small_valid_raw(uint32_t version = 3);

}  // namespace ember::test
