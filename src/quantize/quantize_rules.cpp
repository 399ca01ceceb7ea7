// The quantize tool's per-tensor type choice for the llama architecture (formats.md §5).
#include <algorithm>
#include <array>
#include <cctype>
#include <numeric>

#include "ember/quantize_file.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr std::array<quant_preset, 8> k_presets{{
    {"F32", 0, ggml_type::f32},
    {"F16", 1, ggml_type::f16},
    {"BF16", 32, ggml_type::bf16},
    {"Q8_0", 7, ggml_type::q8_0},
    {"Q4_K_M", 15, ggml_type::q4_K},
    {"Q4_K_S", 14, ggml_type::q4_K},
    {"Q3_K_M", 12, ggml_type::q3_K},
    {"Q2_K", 10, ggml_type::q2_K},
}};

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// llama.cpp reads the layer with sscanf("blk.%d."): a number right after "blk.", else -1.
int64_t layer_of(std::string_view name) {
    if (!name.starts_with("blk.")) return -1;
    size_t i = 4;
    bool neg = false;
    if (i < name.size() && (name[i] == '-' || name[i] == '+')) neg = name[i++] == '-';
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    int64_t v = 0;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) v = std::min<int64_t>(v * 10 + (name[i] - '0'), 1ll << 40);
    return neg ? -v : v;
}

enum class category { output, token_embd, attn_v, attn_k, attn_q, attn_output, ffn_up, ffn_gate, ffn_down, other };

// The same substring tests, in the same order, as llama.cpp's tensor categories.
category category_of(std::string_view name) {
    if (name == "output.weight") return category::output;
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return category::token_embd;
    // A fused QKV projection and MLA's kv_b are treated like attn_v.
    if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight"))
        return category::attn_v;
    if (contains(name, "attn_k.weight")) return category::attn_k;
    if (contains(name, "attn_q.weight")) return category::attn_q;
    if (contains(name, "attn_output.weight")) return category::attn_output;
    if (contains(name, "ffn_up")) return category::ffn_up;
    if (contains(name, "ffn_gate")) return category::ffn_gate;
    if (contains(name, "ffn_down")) return category::ffn_down;
    return category::other;
}

// The layers where Q4_K_M spends more bits: the first and last eighth and every third between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool preset_is(const quant_preset& p, std::string_view name) { return p.name == name; }

// §5.4: a type whose block does not divide the row falls back to a 32-element type, then F16.
ggml_type fallback(ggml_type t, std::string_view name, int64_t ne0) {
    if (ne0 % info(t).block_size == 0) return t;
    ggml_type r;
    switch (t) {
        case ggml_type::q2_K:
        case ggml_type::q3_K:
        case ggml_type::tq1_0:
        case ggml_type::tq2_0: r = ggml_type::q4_0; break;
        case ggml_type::q4_K: r = ggml_type::q5_0; break;
        case ggml_type::q5_K: r = ggml_type::q5_1; break;
        case ggml_type::q6_K: r = ggml_type::q8_0; break;
        default:
            fail(errc::unsupported, "tensor '{}': row length {} is not a multiple of the {} block size {} and {} has no fallback type",
                 name, ne0, type_name(t), info(t).block_size, type_name(t));
    }
    return ne0 % info(r).block_size == 0 ? r : ggml_type::f16;
}

}  // namespace

std::span<const quant_preset> quant_presets() noexcept { return k_presets; }

const quant_preset* find_quant_preset(std::string_view name) noexcept {
    for (const auto& p : k_presets)
        if (detail::iequal(p.name, name)) return &p;
    return nullptr;
}

std::string quant_preset_names() {
    std::string s;
    for (const auto& p : k_presets) {
        if (!s.empty()) s += ", ";
        s += p.name;
    }
    return s;
}

bool is_quantizable_tensor(std::string_view name, uint32_t n_dims) noexcept {
    if (n_dims < 2 || !name.ends_with("weight")) return false;
    static constexpr std::string_view k_excluded_parts[] = {
        "_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
        "shortconv.conv.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
        "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
        "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
        "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
        "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger"};
    for (auto part : k_excluded_parts)
        if (contains(name, part)) return false;
    return name != "position_embd.weight" && name != "token_types.weight";
}

bool quant_order_less(std::string_view a, std::string_view b) noexcept {
    const int64_t la = layer_of(a), lb = layer_of(b);
    if (la != lb) return la < lb;
    return a < b;
}

ggml_type choose_tensor_type(const quant_preset& p, std::string_view name, std::span<const int64_t> ne, ggml_type current,
                             const tensor_rule_state& s) {
    if (ne.empty()) fail(errc::invalid_argument, "tensor '{}': no dimensions", name);
    if (!is_quantizable_tensor(name, uint32_t(ne.size()))) return current;
    // Float presets convert every candidate and apply no rules.
    if (!info(p.base).quantized) return p.base;

    const int64_t ne0 = ne[0];
    ggml_type t = p.base;
    const category c = category_of(name);
    const bool q2_K = preset_is(p, "Q2_K"), q3_K_M = preset_is(p, "Q3_K_M");
    const bool q4_K_S = preset_is(p, "Q4_K_S"), q4_K_M = preset_is(p, "Q4_K_M");
    if (c == category::output || (s.tied_embeddings && c == category::token_embd)) {
        if (ne0 % info(t).block_size != 0) t = ggml_type::q8_0;
        else if (t != ggml_type::q8_0) t = ggml_type::q6_K;
    } else if (c == category::attn_v) {
        if (q2_K) t = s.n_gqa >= 4 ? ggml_type::q4_K : ggml_type::q3_K;
        else if (q3_K_M) t = s.i_attn_v < 2 ? ggml_type::q5_K : ggml_type::q4_K;
        else if (q4_K_M && use_more_bits(s.i_attn_v, s.n_attn_v)) t = ggml_type::q6_K;
        else if (q4_K_S && s.i_attn_v < 4) t = ggml_type::q5_K;
        // 70B shares each attn_v among 8 query heads, so the tensor is small and worth more bits.
        if (s.is_70b && (t == ggml_type::q3_K || t == ggml_type::q4_K)) t = ggml_type::q5_K;
    } else if (c == category::ffn_down) {
        const int64_t i = s.i_ffn_down, n = s.n_layer;
        if (q2_K) t = ggml_type::q3_K;
        else if (q3_K_M) t = i < n / 16 ? ggml_type::q5_K : ggml_type::q4_K;
        else if (q4_K_M && use_more_bits(i, n)) t = ggml_type::q6_K;
        else if (q4_K_S && i < n / 8) t = ggml_type::q5_K;
    } else if (c == category::attn_output) {
        if (q2_K) t = ggml_type::q3_K;
        else if (q3_K_M) t = ggml_type::q4_K;
    }
    return fallback(t, name, ne0);
}

std::vector<quant_plan_entry> plan_quantization(const quant_preset& p, const quant_model_desc& m,
                                                std::span<const quant_tensor_desc> tensors) {
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return quant_order_less(tensors[a].name, tensors[b].name); });

    tensor_rule_state s;
    s.n_layer = m.n_layer;
    s.n_gqa = m.n_head_kv > 0 ? m.n_head / m.n_head_kv : 1;
    s.is_70b = m.n_layer == 80 && m.n_head != m.n_head_kv;
    s.tied_embeddings = std::none_of(tensors.begin(), tensors.end(), [](const auto& t) { return t.name == "output.weight"; });
    s.n_attn_v = std::count_if(tensors.begin(), tensors.end(), [](const auto& t) { return category_of(t.name) == category::attn_v; });

    std::vector<quant_plan_entry> plan;
    plan.reserve(tensors.size());
    for (size_t i : order) {
        const auto& t = tensors[i];
        plan.push_back({i, choose_tensor_type(p, t.name, t.ne, t.type, s)});
        // llama.cpp advances these counters only for tensors that went through the rules.
        if (is_quantizable_tensor(t.name, uint32_t(t.ne.size())) && info(p.base).quantized) {
            const category c = category_of(t.name);
            if (c == category::attn_v) ++s.i_attn_v;
            if (c == category::ffn_down) ++s.i_ffn_down;
        }
    }
    return plan;
}

}  // namespace ember
