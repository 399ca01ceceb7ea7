// Model-level broken files: a tiny synthetic llama model written with the real gguf_writer (so
// every file is a valid container), with one hyper-parameter, tokenizer array or tensor made
// inconsistent. `expect` names the key or tensor a model loader's message should mention.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <stdexcept>

#include "broken_gguf.hpp"
#include "ember/gguf.hpp"

namespace ember::test {

namespace {

constexpr uint32_t k_vocab = 32, k_embd = 32, k_head = 4, k_head_kv = 2, k_layer = 2, k_ff = 64, k_ctx = 64;
constexpr uint32_t k_head_dim = k_embd / k_head;

struct tensor_spec {
    std::string name;
    std::vector<int64_t> ne;
};

// Everything the tiny model is made of; a case edits it before it is written.
struct tiny_model {
    gguf_writer w;
    std::vector<tensor_spec> tensors;

    tensor_spec& tensor(std::string_view name) {
        const auto it = std::find_if(tensors.begin(), tensors.end(), [&](const tensor_spec& t) { return t.name == name; });
        if (it == tensors.end()) throw std::logic_error(fmt::format("broken_gguf: no tensor {}", name));
        return *it;
    }
    void drop(std::string_view name) { tensors.erase(tensors.begin() + (&tensor(name) - tensors.data())); }
};

std::vector<std::string> tiny_vocab() {
    return {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "\xe2\x96\x81the", "\xe2\x96\x81" "a", "e", "t", "a", "o", "n",
            "s", "h", "r", "d", "l", "\xe2\x96\x81to", "\xe2\x96\x81" "and", "in", "er", "th", "he", "an", "re",
            "on", "at", "en", "nd", "\xe2\x96\x81o", "\xe2\x96\x81s", "\xe2\x96\x81w", "\xe2\x96\x81t"};
}

// The tiny model of an architecture: llama's layout plus what the architecture adds (qwen2's
// q/k/v biases, qwen3's and gemma3's q/k norms, gemma3's post norms and windows, phi3's fused
// projections), in the form src/arch/ reads.
tiny_model tiny_model_of(const std::string& arch = "llama") {
    tiny_model m;
    auto& w = m.w;
    const std::string a = arch + ".";
    w.set_string("general.architecture", arch);
    w.set_string("general.name", "tiny-" + arch);
    w.set_u32("general.file_type", 0);
    w.set_u32(a + "context_length", k_ctx);
    w.set_u32(a + "embedding_length", k_embd);
    w.set_u32(a + "block_count", k_layer);
    w.set_u32(a + "feed_forward_length", k_ff);
    w.set_u32(a + "attention.head_count", k_head);
    w.set_u32(a + "attention.head_count_kv", k_head_kv);
    w.set_u32(a + "rope.dimension_count", k_head_dim);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_f32(a + "rope.freq_base", 10000.0f);
    if (arch == "gemma3") {
        w.set_u32(a + "attention.sliding_window", 16);
        w.set_u32(a + "attention.sliding_window_pattern", 2);
    }
    w.set_string("tokenizer.ggml.model", "llama");
    const auto vocab = tiny_vocab();
    std::vector<float> scores(vocab.size());
    std::vector<int32_t> types(vocab.size(), 1);
    for (size_t i = 0; i < vocab.size(); ++i) scores[i] = i < 3 ? 0.0f : -float(i);
    types[0] = 2;
    types[1] = types[2] = 3;
    w.set("tokenizer.ggml.tokens", gguf_value::from_strings(vocab));
    w.set("tokenizer.ggml.scores", gguf_value::from_array<float>(scores));
    w.set("tokenizer.ggml.token_type", gguf_value::from_array<int32_t>(types));
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_bool("tokenizer.ggml.add_eos_token", false);

    const int64_t e = k_embd, kv = k_head_kv * k_head_dim, hd = k_head_dim;
    const bool fused = arch == "phi3", biases = arch == "qwen2", qk_norm = arch == "qwen3" || arch == "gemma3",
               post_norms = arch == "gemma3";
    m.tensors = {{"token_embd.weight", {e, k_vocab}}, {"output_norm.weight", {e}}, {"output.weight", {e, k_vocab}}};
    for (uint32_t l = 0; l < k_layer; ++l) {
        const auto n = [&](const char* what) { return fmt::format("blk.{}.{}.weight", l, what); };
        const auto b = [&](const char* what) { return fmt::format("blk.{}.{}.bias", l, what); };
        m.tensors.push_back({n("attn_norm"), {e}});
        if (fused) {
            m.tensors.push_back({n("attn_qkv"), {e, e + 2 * kv}});
        } else {
            m.tensors.push_back({n("attn_q"), {e, e}});
            m.tensors.push_back({n("attn_k"), {e, kv}});
            m.tensors.push_back({n("attn_v"), {e, kv}});
        }
        if (biases) {
            m.tensors.push_back({b("attn_q"), {e}});
            m.tensors.push_back({b("attn_k"), {kv}});
            m.tensors.push_back({b("attn_v"), {kv}});
        }
        if (qk_norm) {
            m.tensors.push_back({n("attn_q_norm"), {hd}});
            m.tensors.push_back({n("attn_k_norm"), {hd}});
        }
        m.tensors.push_back({n("attn_output"), {e, e}});
        if (post_norms) m.tensors.push_back({n("post_attention_norm"), {e}});
        m.tensors.push_back({n("ffn_norm"), {e}});
        if (fused) {
            m.tensors.push_back({n("ffn_up"), {e, 2 * k_ff}});
        } else {
            m.tensors.push_back({n("ffn_gate"), {e, k_ff}});
            m.tensors.push_back({n("ffn_up"), {e, k_ff}});
        }
        m.tensors.push_back({n("ffn_down"), {k_ff, e}});
        if (post_norms) m.tensors.push_back({n("post_ffw_norm"), {e}});
    }
    return m;
}

// Norm gains are 1; other weights are small deterministic pseudo-random values.
std::vector<float> tensor_values(const tensor_spec& t) {
    int64_t n = 1;
    for (auto d : t.ne) n *= d;
    std::vector<float> v(size_t(n), 1.0f);
    if (t.name.find("norm") != std::string::npos) return v;
    uint64_t h = 14695981039346656037ull;  // FNV-1a of the name: the same on every platform
    for (char c : t.name) h = (h ^ uint8_t(c)) * 1099511628211ull;
    for (auto& x : v) {
        h ^= h << 13, h ^= h >> 7, h ^= h << 17;  // xorshift64
        x = float(int64_t(h % 2001) - 1000) * 1e-4f;
    }
    return v;
}

std::vector<std::byte> write(tiny_model& m) {
    for (const auto& t : m.tensors) {
        const auto v = tensor_values(t);
        const auto* p = reinterpret_cast<const std::byte*>(v.data());
        m.w.add_tensor_copy(t.name, ggml_type::f32, t.ne, std::vector<std::byte>(p, p + v.size() * sizeof(float)));
    }
    return m.w.write_to_memory();
}

broken_file edited(const std::function<void(tiny_model&)>& edit, std::vector<std::string> expect, const std::string& arch = "llama") {
    auto m = tiny_model_of(arch);
    edit(m);
    return {write(m), std::move(expect)};
}

}  // namespace

std::vector<std::byte> tiny_llama_gguf() { return tiny_arch_gguf("llama"); }

std::vector<std::byte> tiny_arch_gguf(const std::string& arch) {
    auto m = tiny_model_of(arch);
    return write(m);
}

broken_file make_model_broken(broken_kind k) {
    using enum broken_kind;
    switch (k) {
        case missing_architecture: return edited([](tiny_model& m) { m.w.remove("general.architecture"); }, {"general.architecture"});
        case unknown_architecture:
            return edited([](tiny_model& m) { m.w.set_string("general.architecture", "nonsense-arch"); }, {"nonsense-arch"});
        case missing_embedding_length: return edited([](tiny_model& m) { m.w.remove("llama.embedding_length"); }, {"llama.embedding_length"});
        case hparam_wrong_type: return edited([](tiny_model& m) { m.w.set_string("llama.block_count", "2"); }, {"llama.block_count"});
        case context_length_zero: return edited([](tiny_model& m) { m.w.set_u32("llama.context_length", 0); }, {"llama.context_length"});
        case block_count_zero: return edited([](tiny_model& m) { m.w.set_u32("llama.block_count", 0); }, {"llama.block_count"});
        case head_count_zero: return edited([](tiny_model& m) { m.w.set_u32("llama.attention.head_count", 0); }, {"llama.attention.head_count"});
        case embedding_not_divisible_by_heads:
            return edited(
                [](tiny_model& m) {
                    m.w.set_u32("llama.attention.head_count", 5);
                    m.w.set_u32("llama.attention.head_count_kv", 5);
                },
                {"llama.embedding_length", "llama.attention.head_count"});
        case head_count_kv_not_divisor:
            return edited([](tiny_model& m) { m.w.set_u32("llama.attention.head_count_kv", 3); }, {"llama.attention.head_count_kv"});
        case head_count_array_wrong_length:
            return edited(
                [](tiny_model& m) {
                    const int32_t per_layer[] = {4, 4, 4};  // three entries for two layers
                    m.w.set("llama.attention.head_count", gguf_value::from_array<int32_t>(per_layer));
                },
                {"llama.attention.head_count"});
        case rope_dimension_mismatch:
            return edited([](tiny_model& m) { m.w.set_u32("llama.rope.dimension_count", 6); }, {"llama.rope.dimension_count"});
        case norm_epsilon_wrong_type:
            return edited([](tiny_model& m) { m.w.set_string("llama.attention.layer_norm_rms_epsilon", "1e-5"); },
                          {"llama.attention.layer_norm_rms_epsilon"});
        case missing_tokens: return edited([](tiny_model& m) { m.w.remove("tokenizer.ggml.tokens"); }, {"tokenizer.ggml.tokens"});
        case tokens_wrong_type:
            return edited(
                [](tiny_model& m) {
                    std::vector<int32_t> ids(k_vocab);
                    for (uint32_t i = 0; i < k_vocab; ++i) ids[i] = int32_t(i);
                    m.w.set("tokenizer.ggml.tokens", gguf_value::from_array<int32_t>(ids));
                },
                {"tokenizer.ggml.tokens"});
        case scores_wrong_type:
            return edited(
                [](tiny_model& m) {
                    std::vector<int32_t> s(k_vocab, 0);
                    m.w.set("tokenizer.ggml.scores", gguf_value::from_array<int32_t>(s));
                },
                {"tokenizer.ggml.scores"});
        case token_type_wrong_type:
            return edited(
                [](tiny_model& m) {
                    std::vector<float> t(k_vocab, 1.0f);
                    m.w.set("tokenizer.ggml.token_type", gguf_value::from_array<float>(t));
                },
                {"tokenizer.ggml.token_type"});
        case scores_length_mismatch:
            return edited(
                [](tiny_model& m) {
                    std::vector<float> s(k_vocab - 1, 0.0f);
                    m.w.set("tokenizer.ggml.scores", gguf_value::from_array<float>(s));
                },
                {"tokenizer.ggml.scores"});
        case token_type_length_mismatch:
            return edited(
                [](tiny_model& m) {
                    std::vector<int32_t> t(k_vocab + 1, 1);
                    m.w.set("tokenizer.ggml.token_type", gguf_value::from_array<int32_t>(t));
                },
                {"tokenizer.ggml.token_type"});
        case unknown_tokenizer_model:
            return edited([](tiny_model& m) { m.w.set_string("tokenizer.ggml.model", "nonsense-tokenizer"); }, {"nonsense-tokenizer"});
        case bos_out_of_range:
            return edited([](tiny_model& m) { m.w.set_u32("tokenizer.ggml.bos_token_id", k_vocab); }, {"tokenizer.ggml.bos_token_id"});
        case eos_out_of_range:
            return edited([](tiny_model& m) { m.w.set_u32("tokenizer.ggml.eos_token_id", 4000000000u); }, {"tokenizer.ggml.eos_token_id"});
        case missing_token_embd: return edited([](tiny_model& m) { m.drop("token_embd.weight"); }, {"token_embd.weight"});
        case missing_layer_tensor: return edited([](tiny_model& m) { m.drop("blk.1.ffn_up.weight"); }, {"blk.1.ffn_up.weight"});
        case tensor_shape_mismatch:
            return edited([](tiny_model& m) { m.tensor("blk.0.attn_q.weight").ne = {k_embd, 24}; }, {"blk.0.attn_q.weight"});
        case token_embd_vocab_mismatch:
            return edited([](tiny_model& m) { m.tensor("token_embd.weight").ne = {k_embd, k_vocab - 1}; }, {"token_embd.weight"});
        case norm_wrong_rank: return edited([](tiny_model& m) { m.tensor("output_norm.weight").ne = {k_embd, 2}; }, {"output_norm.weight"});
        // The other architectures (issue 12).
        case qwen2_missing_bias: return edited([](tiny_model& m) { m.drop("blk.1.attn_k.bias"); }, {"blk.1.attn_k.bias"}, "qwen2");
        case qwen2_ffn_array_wrong_length:
            return edited(
                [](tiny_model& m) {
                    const int32_t per_layer[] = {int32_t(k_ff), int32_t(k_ff), int32_t(k_ff)};
                    m.w.set("qwen2.feed_forward_length", gguf_value::from_array<int32_t>(per_layer));
                },
                {"qwen2.feed_forward_length"}, "qwen2");
        case qwen3_q_norm_wrong_shape:
            return edited([](tiny_model& m) { m.tensor("blk.0.attn_q_norm.weight").ne = {k_embd}; }, {"blk.0.attn_q_norm.weight"}, "qwen3");
        case qwen3_head_count_kv_not_divisor:
            return edited([](tiny_model& m) { m.w.set_u32("qwen3.attention.head_count_kv", 3); }, {"qwen3.attention.head_count_kv"}, "qwen3");
        case gemma3_pattern_zero:
            return edited([](tiny_model& m) { m.w.set_u32("gemma3.attention.sliding_window_pattern", 0); },
                          {"gemma3.attention.sliding_window_pattern"}, "gemma3");
        case gemma3_pattern_array_wrong_length:
            return edited(
                [](tiny_model& m) {
                    const std::vector<std::byte> per_layer = {std::byte{1}, std::byte{0}, std::byte{1}};  // three bools, two layers
                    m.w.set("gemma3.attention.sliding_window_pattern", gguf_value::from_raw_array(gguf_type::boolean, per_layer));
                },
                {"gemma3.attention.sliding_window_pattern"}, "gemma3");
        case gemma3_window_larger_than_context:
            return edited([](tiny_model& m) { m.w.set_u32("gemma3.attention.sliding_window", k_ctx + 1); },
                          {"gemma3.attention.sliding_window"}, "gemma3");
        case gemma3_post_norm_wrong_shape:
            return edited([](tiny_model& m) { m.tensor("blk.1.post_ffw_norm.weight").ne = {k_embd + 1}; }, {"blk.1.post_ffw_norm.weight"},
                          "gemma3");
        case gemma3_missing_post_norm:
            return edited([](tiny_model& m) { m.drop("blk.0.post_attention_norm.weight"); }, {"blk.0.post_attention_norm.weight"}, "gemma3");
        case phi3_qkv_wrong_shape:
            return edited([](tiny_model& m) { m.tensor("blk.0.attn_qkv.weight").ne = {k_embd, k_embd + k_head_kv * k_head_dim}; },
                          {"blk.0.attn_qkv.weight"}, "phi3");
        case phi3_up_not_fused:
            return edited([](tiny_model& m) { m.tensor("blk.1.ffn_up.weight").ne = {k_embd, k_ff}; }, {"blk.1.ffn_up.weight"}, "phi3");
        case phi3_rope_factors_wrong_length:
            return edited(
                [](tiny_model& m) {
                    m.tensors.push_back({"rope_factors_long.weight", {k_head_dim / 2 + 1}});
                    m.tensors.push_back({"rope_factors_short.weight", {k_head_dim / 2}});
                },
                {"rope_factors_long.weight"}, "phi3");
        default: break;
    }
    throw std::logic_error(fmt::format("broken_gguf: no model generator for class {}", int(k)));
}

}  // namespace ember::test
