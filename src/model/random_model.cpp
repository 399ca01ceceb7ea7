// make_random_model: a GGUF of one of ember's architectures with seeded random weights, quantized tensor by tensor.
#include "ember/random_model.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <thread>
#include <vector>

#include "ember/gguf.hpp"
#include "quantize/quantize_parallel.hpp"
#include "core/thread_pool.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr std::array<random_model_preset, 13> k_presets{{
    // TinyLlama-1.1B: grouped-query attention with 8 query heads per KV head.
    {"tinyllama-1.1b", {2048, 22, 32, 4, 5632, 32000, 2048}},
    // Llama-2-7B: full multi-head attention.
    {"llama-7b", {4096, 32, 32, 32, 11008, 32000, 4096}},
    // Qwen2.5-1.5B: 6 query heads per KV head, q/k/v biases, tied output (real vocab 151 936).
    {"qwen2.5-1.5b", {1536, 28, 12, 2, 8960, 0, 32768, "qwen2", 0, true, 1e6f}},
    // Qwen3-1.7B: head size 128 given explicitly, q/k norms, tied output.
    {"qwen3-1.7b", {2048, 28, 16, 8, 6144, 0, 40960, "qwen3", 128, true, 1e6f}},
    // Gemma-3-1B: one KV head of size 256, window 512 on five of every six layers (real vocab 262 144).
    {"gemma3-1b", {1152, 26, 4, 1, 6912, 0, 32768, "gemma3", 256, true, 1e6f, 512, 6}},
    // Phi-3-mini-4k: full multi-head attention, fused projections (real vocab 32 064).
    {"phi3-mini", {3072, 32, 32, 32, 8192, 0, 4096, "phi3"}},
    // Phi-3-mini-128k: the same with longrope factors over an original context of 4096.
    {"phi3-mini-128k", {3072, 32, 32, 32, 8192, 0, 131072, "phi3", 0, false, 1e4f, 0, 0, 4096}},
    // Small enough for unit tests; the vocabulary decides n_vocab.
    {"tiny", {256, 2, 4, 2, 768, 0, 256}},
    {"tiny-qwen2", {256, 2, 4, 2, 768, 0, 256, "qwen2", 0, true, 1e6f}},
    {"tiny-qwen3", {256, 2, 4, 2, 768, 0, 256, "qwen3", 64, false, 1e6f}},
    {"tiny-gemma3", {256, 4, 4, 1, 768, 0, 256, "gemma3", 128, true, 1e6f, 16, 3}},
    {"tiny-phi3", {256, 2, 4, 4, 768, 0, 4096, "phi3"}},
    {"tiny-phi3-longrope", {256, 2, 4, 4, 768, 0, 4096, "phi3", 0, false, 1e4f, 0, 0, 256}},
}};

uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// splitmix64: one 64-bit draw per element is all the generator has to supply.
struct row_rng {
    uint64_t state;
    row_rng(uint64_t seed, uint64_t tensor, uint64_t row)
        : state(mix64(mix64(seed + 0x9E3779B97F4A7C15ull) ^ (tensor * 0xD1B54A32D192ED03ull)) + row * 0x9E3779B97F4A7C15ull) {}
    uint64_t next() { return mix64(state += 0x9E3779B97F4A7C15ull); }
    // Approximately standard normal: the sum of four 16-bit uniforms (Irwin-Hall), centred and
    // scaled to unit variance. Several times cheaper than Box-Muller, which matters for a 7B
    // model, and its tails end at ±3.46, so no single weight dominates a block's scale.
    float normal() {
        const uint64_t b = next();
        const uint32_t s = uint32_t(b & 0xFFFF) + uint32_t((b >> 16) & 0xFFFF) + uint32_t((b >> 32) & 0xFFFF) + uint32_t(b >> 48);
        constexpr float k_scale = 1.7320508f / 65536.0f;  // sqrt(12 / 4) per unit of the sum
        return (float(s) + 2.0f - 2.0f * 65536.0f) * k_scale;
    }
};

// How a tensor's values are made: random N(0, 1/fan_in), all ones (norms), or RoPE frequency
// factors (longrope: short ones in [1, 1.1], long ones in [1, 40], rising with the frequency index).
enum class fill_kind { random, ones, rope_short, rope_long };

struct tensor_spec {
    std::string name;
    std::vector<int64_t> ne;
    fill_kind fill;
};

int64_t head_dim(const random_model_shape& s) { return s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head; }

// The tensors of the shape's architecture, in the order llama.cpp's converters write them.
std::vector<tensor_spec> model_tensors(const random_model_shape& s, bool tied) {
    const int64_t d = s.n_embd, hd = head_dim(s), nq = hd * s.n_head, kv = hd * s.n_head_kv;
    const std::string_view a = s.arch;
    const bool biases = a == "qwen2", qk_norm = a == "qwen3" || a == "gemma3", post_norms = a == "gemma3", fused = a == "phi3";
    std::vector<tensor_spec> t;
    if (s.rope_orig_ctx > 0) {  // llama.cpp's converter writes them first
        t.push_back({"rope_factors_long.weight", {hd / 2}, fill_kind::rope_long});
        t.push_back({"rope_factors_short.weight", {hd / 2}, fill_kind::rope_short});
    }
    t.push_back({"token_embd.weight", {d, s.n_vocab}, fill_kind::random});
    for (int64_t i = 0; i < s.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        t.push_back({p + "attn_norm.weight", {d}, fill_kind::ones});
        if (fused) {
            t.push_back({p + "attn_qkv.weight", {d, nq + 2 * kv}, fill_kind::random});
        } else {
            t.push_back({p + "attn_q.weight", {d, nq}, fill_kind::random});
            if (biases) t.push_back({p + "attn_q.bias", {nq}, fill_kind::random});
            t.push_back({p + "attn_k.weight", {d, kv}, fill_kind::random});
            if (biases) t.push_back({p + "attn_k.bias", {kv}, fill_kind::random});
            t.push_back({p + "attn_v.weight", {d, kv}, fill_kind::random});
            if (biases) t.push_back({p + "attn_v.bias", {kv}, fill_kind::random});
        }
        if (qk_norm) {
            t.push_back({p + "attn_q_norm.weight", {hd}, fill_kind::ones});
            t.push_back({p + "attn_k_norm.weight", {hd}, fill_kind::ones});
        }
        t.push_back({p + "attn_output.weight", {nq, d}, fill_kind::random});
        if (post_norms) t.push_back({p + "post_attention_norm.weight", {d}, fill_kind::ones});
        t.push_back({p + "ffn_norm.weight", {d}, fill_kind::ones});
        if (fused) {
            t.push_back({p + "ffn_up.weight", {d, 2 * s.n_ff}, fill_kind::random});
        } else {
            t.push_back({p + "ffn_gate.weight", {d, s.n_ff}, fill_kind::random});
            t.push_back({p + "ffn_up.weight", {d, s.n_ff}, fill_kind::random});
        }
        t.push_back({p + "ffn_down.weight", {s.n_ff, d}, fill_kind::random});
        if (post_norms) t.push_back({p + "post_ffw_norm.weight", {d}, fill_kind::ones});
    }
    t.push_back({"output_norm.weight", {d}, fill_kind::ones});
    if (!tied) t.push_back({"output.weight", {d, s.n_vocab}, fill_kind::random});
    return t;
}

void validate(const random_model_shape& s) {
    auto check = [](int64_t v, int64_t hi, const char* what) {
        if (v <= 0 || v > hi) fail(errc::invalid_argument, "random model: {} is {} (must be 1..{})", what, v, hi);
    };
    check(s.n_embd, 1 << 16, "n_embd");
    check(s.n_layer, 1 << 12, "n_layer");
    check(s.n_head, 1 << 12, "n_head");
    check(s.n_head_kv, 1 << 12, "n_head_kv");
    check(s.n_ff, 1 << 18, "n_ff");
    check(s.n_vocab, 1 << 22, "n_vocab");
    check(s.n_ctx, 1 << 24, "n_ctx");
    if (s.head_dim < 0 || s.head_dim > 1024) fail(errc::invalid_argument, "random model: head_dim is {} (must be 0..1024)", s.head_dim);
    if (s.head_dim == 0 && s.n_embd % s.n_head != 0)
        fail(errc::invalid_argument, "random model: n_embd {} is not a multiple of n_head {}", s.n_embd, s.n_head);
    if (head_dim(s) % 2 != 0) fail(errc::invalid_argument, "random model: the head size {} must be even for RoPE", head_dim(s));
    if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "qwen3" && s.arch != "gemma3" && s.arch != "phi3")
        fail(errc::invalid_argument, "random model: architecture '{}' is not one of llama, qwen2, qwen3, gemma3, phi3", s.arch);
    if (s.sliding_window < 0 || s.sliding_window > s.n_ctx || (s.sliding_window > 0 && s.arch != "gemma3"))
        fail(errc::invalid_argument, "random model: sliding_window {} (gemma3 only, at most n_ctx)", s.sliding_window);
    if (s.swa_pattern < 0 || s.swa_pattern > s.n_layer + 1)
        fail(errc::invalid_argument, "random model: swa_pattern {} (must be 0..n_layer + 1)", s.swa_pattern);
    if (s.n_head % s.n_head_kv != 0)
        fail(errc::invalid_argument, "random model: n_head {} is not a multiple of n_head_kv {}", s.n_head, s.n_head_kv);
    if (s.rope_orig_ctx < 0 || s.rope_orig_ctx > s.n_ctx || (s.rope_orig_ctx > 0 && s.arch != "phi3"))
        fail(errc::invalid_argument, "random model: rope_orig_ctx {} (phi3 only, at most n_ctx {})", s.rope_orig_ctx, s.n_ctx);
}

}  // namespace

std::span<const random_model_preset> random_model_presets() noexcept { return k_presets; }

const random_model_preset* find_random_model_preset(std::string_view name) noexcept {
    for (const auto& p : k_presets)
        if (detail::iequal(p.name, name)) return &p;
    return nullptr;
}

quantize_result make_random_model(const std::filesystem::path& out, const random_model_options& opt) {
    const quant_preset* preset = find_quant_preset(opt.type);
    if (!preset) fail(errc::invalid_argument, "unknown quantization type '{}' (one of: {})", opt.type, quant_preset_names());
    if (opt.n_threads < 0) fail(errc::invalid_argument, "random model: n_threads must not be negative (got {})", opt.n_threads);
    if (opt.vocab.empty()) fail(errc::invalid_argument, "random model: a vocabulary file is required");

    const gguf_file vf = gguf_file::open(opt.vocab);
    const int64_t vocab_size = int64_t(vf.get_string_array("tokenizer.ggml.tokens").size());
    random_model_shape s = opt.shape;
    if (s.n_vocab == 0) s.n_vocab = vocab_size;
    if (s.n_vocab != vocab_size)
        fail(errc::invalid_argument, "{}: the vocabulary has {} tokens but the model needs {}", vf.name(), vocab_size, s.n_vocab);
    validate(s);

    gguf_writer w;
    const std::string a = std::string(s.arch) + ".";
    w.set_string("general.architecture", std::string(s.arch));
    w.set_string("general.name", opt.name);
    w.set_u32(a + "context_length", uint32_t(s.n_ctx));
    w.set_u32(a + "embedding_length", uint32_t(s.n_embd));
    w.set_u32(a + "block_count", uint32_t(s.n_layer));
    w.set_u32(a + "feed_forward_length", uint32_t(s.n_ff));
    w.set_u32(a + "attention.head_count", uint32_t(s.n_head));
    w.set_u32(a + "attention.head_count_kv", uint32_t(s.n_head_kv));
    if (s.head_dim > 0) {
        w.set_u32(a + "attention.key_length", uint32_t(s.head_dim));
        w.set_u32(a + "attention.value_length", uint32_t(s.head_dim));
    }
    w.set_u32(a + "rope.dimension_count", uint32_t(head_dim(s)));
    w.set_f32(a + "attention.layer_norm_rms_epsilon", s.arch == "gemma3" ? 1e-6f : 1e-5f);
    w.set_f32(a + "rope.freq_base", s.rope_freq_base);
    if (s.sliding_window > 0) {
        w.set_u32(a + "attention.sliding_window", uint32_t(s.sliding_window));
        if (s.swa_pattern > 0) w.set_u32(a + "attention.sliding_window_pattern", uint32_t(s.swa_pattern));
        w.set_f32(a + "rope.freq_base_swa", 10000.0f);
    }
    if (s.rope_orig_ctx > 0) {
        w.set_u32(a + "rope.scaling.original_context_length", uint32_t(s.rope_orig_ctx));
        const double scale = double(s.n_ctx) / double(s.rope_orig_ctx);
        const double attn = scale > 1.0 ? std::sqrt(1.0 + std::log(scale) / std::log(double(s.rope_orig_ctx))) : 1.0;
        w.set_f32(a + "rope.scaling.attn_factor", float(attn));
    }
    w.set_u32(a + "vocab_size", uint32_t(s.n_vocab));
    for (const auto& kv : vf.metadata())
        if (kv.key.starts_with("tokenizer.")) w.set(kv.key, kv.value);
    w.set_u32("general.quantization_version", 2);
    w.set_u32("general.file_type", preset->file_type);

    const auto specs = model_tensors(s, opt.tied_output || s.tied_output);
    std::vector<quant_tensor_desc> descs;
    descs.reserve(specs.size());
    for (const auto& t : specs) descs.push_back({t.name, t.ne, ggml_type::f32});
    const auto plan = plan_quantization(*preset, {s.n_layer, s.n_head, s.n_head_kv}, descs);

    const int n_threads = opt.n_threads > 0 ? opt.n_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    detail::thread_pool pool(n_threads);
    quantize_result res;
    res.n_tensors = plan.size();
    for (size_t k = 0; k < plan.size(); ++k) {
        const size_t index = plan[k].index;
        const tensor_spec& t = specs[index];
        const ggml_type to = plan[k].type;
        int64_t nrows = 1;
        for (size_t d = 1; d < t.ne.size(); ++d) nrows *= t.ne[d];
        const uint64_t in_bytes = uint64_t(t.ne[0] * nrows) * sizeof(float);
        const uint64_t out_bytes = row_bytes(to, t.ne[0]) * uint64_t(nrows);
        res.bytes_in += in_bytes;
        res.bytes_out += out_bytes;
        res.n_quantized += to != ggml_type::f32;
        w.add_tensor_fill(t.name, to, t.ne, [&, index, k, to, nrows, in_bytes, out_bytes](std::span<std::byte> dst) {
            const tensor_spec& spec = specs[index];
            const int64_t ne0 = spec.ne[0];
            const float stddev = 1.0f / std::sqrt(float(ne0));
            detail::quantize_rows_parallel(pool, to, nrows, ne0, [&](int64_t r, float* buf) -> const float* {
                if (spec.fill == fill_kind::ones) {
                    std::fill(buf, buf + ne0, 1.0f);
                } else if (spec.fill == fill_kind::rope_short || spec.fill == fill_kind::rope_long) {
                    const float top = spec.fill == fill_kind::rope_long ? 39.0f : 0.1f;
                    for (int64_t i = 0; i < ne0; ++i) {
                        const float x = ne0 > 1 ? float(i) / float(ne0 - 1) : 0.0f;
                        buf[i] = 1.0f + top * x * x;
                    }
                } else {
                    row_rng rng(opt.seed, index, uint64_t(r));
                    for (int64_t i = 0; i < ne0; ++i) buf[i] = stddev * rng.normal();
                }
                return buf;
            }, dst.data());
            if (opt.progress && !opt.progress({k, plan.size(), spec.name, spec.ne, ggml_type::f32, to, in_bytes, out_bytes}))
                fail(errc::cancelled, "{}: model generation cancelled", out.string());
        });
    }
    w.write(out);
    return res;
}

}  // namespace ember
