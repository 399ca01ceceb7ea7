// The loader shared by every decoder-only architecture: reads the hyperparameters every one of
// them has, the ones its traits ask for (sliding windows, long/short RoPE), binds the tensors its
// traits name, and turns it all into model_hparams and decoder_layer data for the one forward pass.
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "arch/arch.hpp"
#include "core/util.hpp"

namespace ember::detail {

namespace {

int64_t positive(const gguf_file& f, const std::string& key, int64_t v) {
    if (v <= 0) fail(errc::bad_file, "{}: '{}' is {}, must be positive", f.name(), key, v);
    return v;
}

// A hyperparameter that may be stored per layer but must be the same in every layer.
int64_t uniform_int(const gguf_file& f, const std::string& key, int64_t n_layer) {
    const auto v = f.get_int_or_array(key, size_t(n_layer));
    for (auto x : v)
        if (x != v[0]) fail(errc::unsupported, "{}: '{}' varies per layer, which ember does not support for this value", f.name(), key);
    return v.empty() ? 0 : v[0];
}

// Which layers use the sliding window: a period n (every n-th layer global, llama.cpp's
// set_swa_pattern: layer il is local when il % n < n - 1) or one flag per layer.
std::vector<bool> swa_layers(const gguf_file& f, const std::string& key, int64_t n_layer, int64_t default_period, int64_t& period) {
    std::vector<bool> local(size_t(n_layer), false);
    const gguf_value* v = f.find(key);
    if (v && v->is_array()) {
        if (v->size() != size_t(n_layer))
            fail(errc::bad_file, "{}: key '{}' has {} elements, expected one per layer ({})", f.name(), key, v->size(), n_layer);
        for (size_t i = 0; i < size_t(n_layer); ++i) {
            const gguf_value e = v->element(i);
            if (e.type() != gguf_type::boolean && !e.is_integer())
                fail(errc::bad_file, "{}: key '{}' must hold a period or one bool per layer", f.name(), key);
            local[i] = e.type() == gguf_type::boolean ? e.as_bool() : e.to_int().value_or(0) != 0;
        }
        period = 0;
        return local;
    }
    period = v ? f.get_int(key) : default_period;
    if (period <= 0 || period > n_layer + 1)
        fail(errc::bad_file, "{}: '{}' is {}; it must be between 1 and the layer count + 1 ({})", f.name(), key, period, n_layer + 1);
    for (int64_t il = 0; il < n_layer; ++il) local[size_t(il)] = il % period < period - 1;
    return local;
}

std::vector<float> rope_factor_vector(const gguf_file& f, const std::string& name, int64_t n) {
    std::vector<float> v = bind_vector(f, name, n);
    for (float x : v)
        if (!(x > 0.0f)) fail(errc::bad_file, "{}: tensor '{}' holds a RoPE factor {} (must be positive)", f.name(), name, x);
    return v;
}

}  // namespace

void load_transformer(model::impl& m, const log_fn& log, const arch_traits& t) {
    const gguf_file& f = m.file;
    model_hparams& hp = m.hp;
    const std::string a = hp.arch + ".";
    std::set<std::string> used;  // every tensor bound; any other is refused
    auto mat = [&](const std::string& name, int64_t cols, int64_t rows) {
        used.insert(name);
        return bind_matrix(f, name, cols, rows);
    };
    auto vec = [&](const std::string& name, int64_t n) {
        used.insert(name);
        return bind_vector(f, name, n);
    };

    hp.n_ctx_train = positive(f, a + "context_length", f.get_int(a + "context_length"));
    hp.n_embd = positive(f, a + "embedding_length", f.get_int(a + "embedding_length"));
    hp.n_layer = positive(f, a + "block_count", f.get_int(a + "block_count"));
    if (hp.n_layer > 4096) fail(errc::bad_file, "{}: block_count {} is implausibly large", f.name(), hp.n_layer);
    const auto n_ff = f.get_int_or_array(a + "feed_forward_length", size_t(hp.n_layer));
    hp.n_ff = 0;
    for (auto x : n_ff) hp.n_ff = std::max(hp.n_ff, positive(f, a + "feed_forward_length", x));
    hp.n_head = positive(f, a + "attention.head_count", uniform_int(f, a + "attention.head_count", hp.n_layer));
    hp.n_head_kv = f.contains(a + "attention.head_count_kv")
                       ? positive(f, a + "attention.head_count_kv", uniform_int(f, a + "attention.head_count_kv", hp.n_layer))
                       : hp.n_head;
    if (hp.n_head % hp.n_head_kv != 0)
        fail(errc::bad_file, "{}: {}attention.head_count_kv {} does not divide {}attention.head_count {}", f.name(), a, hp.n_head_kv, a,
             hp.n_head);
    if (f.contains(a + "attention.key_length")) {
        hp.head_dim = positive(f, a + "attention.key_length", f.get_int(a + "attention.key_length"));
        const int64_t vlen = f.get_int_opt(a + "attention.value_length").value_or(hp.head_dim);
        if (vlen != hp.head_dim)
            fail(errc::unsupported, "{}: {}attention.value_length {} differs from key_length {}", f.name(), a, vlen, hp.head_dim);
    } else {
        if (hp.n_embd % hp.n_head != 0)
            fail(errc::bad_file, "{}: {}embedding_length {} is not divisible by {}attention.head_count {}", f.name(), a, hp.n_embd, a,
                 hp.n_head);
        hp.head_dim = hp.n_embd / hp.n_head;
    }
    if (hp.head_dim % 2 != 0 || hp.head_dim > 1024)
        fail(errc::unsupported, "{}: head size {} is not supported (must be even and at most 1024)", f.name(), hp.head_dim);
    hp.n_rot = f.get_int_opt(a + "rope.dimension_count").value_or(hp.head_dim);
    if (hp.n_rot != hp.head_dim)
        fail(errc::unsupported, "{}: {}rope.dimension_count {} differs from the head size {} (partial RoPE is not supported)", f.name(), a,
             hp.n_rot, hp.head_dim);
    hp.rms_eps = f.get_f32(a + "attention.layer_norm_rms_epsilon");
    if (!(hp.rms_eps > 0.0f && hp.rms_eps < 1.0f)) fail(errc::bad_file, "{}: {}attention.layer_norm_rms_epsilon {} is out of range", f.name(), a, hp.rms_eps);
    hp.rope_freq_base = f.get_f32_opt(a + "rope.freq_base").value_or(10000.0f);
    if (!(hp.rope_freq_base > 1.0f) || !std::isfinite(hp.rope_freq_base))
        fail(errc::bad_file, "{}: {}rope.freq_base {} must be > 1", f.name(), a, hp.rope_freq_base);
    const auto scaling = f.get_string_opt(a + "rope.scaling.type");
    const bool longrope = scaling && *scaling == "longrope";
    if (scaling && *scaling != "none" && *scaling != "linear" && !(longrope && t.rope_factors))
        fail(errc::unsupported, "{}: rope scaling type '{}' is not supported for {}", f.name(), *scaling, hp.arch);
    auto factor = f.get_f32_opt(a + "rope.scaling.factor");
    if (!factor) factor = f.get_f32_opt(a + "rope.scale_linear");
    hp.rope_freq_scale = (factor && *factor != 0.0f && !longrope) ? 1.0f / *factor : 1.0f;
    if (!(hp.rope_freq_scale > 0.0f) || !std::isfinite(hp.rope_freq_scale))
        fail(errc::bad_file, "{}: rope scaling factor is invalid", f.name());
    hp.rope_attn_factor = f.get_f32_opt(a + "rope.scaling.attn_factor").value_or(1.0f);
    if (!(hp.rope_attn_factor > 0.0f) || !std::isfinite(hp.rope_attn_factor))
        fail(errc::bad_file, "{}: {}rope.scaling.attn_factor {} must be positive", f.name(), a, hp.rope_attn_factor);
    hp.n_ctx_orig = f.get_int_opt(a + "rope.scaling.original_context_length").value_or(hp.n_ctx_train);
    if (hp.n_ctx_orig <= 0) fail(errc::bad_file, "{}: {}rope.scaling.original_context_length {} must be positive", f.name(), a, hp.n_ctx_orig);
    if (f.contains("rope_freqs.weight"))
        fail(errc::unsupported, "{}: per-frequency rope factors (rope_freqs.weight) are not supported yet", f.name());
    hp.rope = t.rope;

    // Features, as data.
    hp.ffn_act = t.act;
    hp.embd_scale = t.scale_embd ? std::sqrt(float(hp.n_embd)) : 1.0f;
    hp.qkv_bias = t.qkv_bias;
    hp.qk_norm = t.qk_norm;
    hp.post_norms = t.post_norms;
    hp.final_logit_softcap = f.get_f32_opt(a + "final_logit_softcapping").value_or(0.0f);
    if (hp.final_logit_softcap < 0.0f || !std::isfinite(hp.final_logit_softcap))
        fail(errc::bad_file, "{}: {}final_logit_softcapping {} is invalid", f.name(), a, hp.final_logit_softcap);
    if (hp.final_logit_softcap > 0.0f && !t.logit_softcap)
        fail(errc::unsupported, "{}: {}final_logit_softcapping is set, which {} does not use", f.name(), a, hp.arch);

    // Layer kinds: which layers attend over a sliding window, and their RoPE.
    std::vector<bool> local(size_t(hp.n_layer), false);
    float base_swa = hp.rope_freq_base;
    if (t.sliding_window) {
        hp.sliding_window = f.get_int_opt(a + "attention.sliding_window").value_or(0);
        if (hp.sliding_window < 0) fail(errc::bad_file, "{}: {}attention.sliding_window {} is negative", f.name(), a, hp.sliding_window);
        if (hp.sliding_window > hp.n_ctx_train)
            fail(errc::bad_file, "{}: {}attention.sliding_window {} is larger than the context length {}", f.name(), a, hp.sliding_window,
                 hp.n_ctx_train);
        if (hp.sliding_window > 0) {
            local = swa_layers(f, a + "attention.sliding_window_pattern", hp.n_layer, t.default_swa_pattern, hp.swa_pattern);
            base_swa = f.get_f32_opt(a + "rope.freq_base_swa").value_or(10000.0f);  // llama.cpp's default, not the global base
            if (!(base_swa > 1.0f) || !std::isfinite(base_swa)) fail(errc::bad_file, "{}: {}rope.freq_base_swa {} must be > 1", f.name(), a, base_swa);
        }
    }
    hp.layers.assign(size_t(hp.n_layer), layer_hparams{});
    const bool mixed = std::count(local.begin(), local.end(), true) != 0 && std::count(local.begin(), local.end(), false) != 0;
    int64_t n_in[2] = {0, 0};
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        layer_hparams& lp = hp.layers[size_t(il)];
        const bool loc = local[size_t(il)];
        lp.window = loc ? hp.sliding_window : 0;
        lp.rope_freq_base = loc ? base_swa : hp.rope_freq_base;
        lp.rope_freq_scale = loc ? t.swa_rope_scale : hp.rope_freq_scale;
        if (loc && t.swa_rope_scale == 0.0f) lp.rope_freq_scale = hp.rope_freq_scale;
        lp.n_ff = n_ff[size_t(il)];
        // the global layers' group first: it is the one that fills up (context::cache(0))
        lp.kv_group = mixed && loc ? 1 : 0;
        lp.kv_index = n_in[lp.kv_group]++;
    }

    hp.n_vocab = int64_t(m.vocab.size());
    if (auto vs = f.get_int_opt(a + "vocab_size"); vs && *vs != hp.n_vocab)
        fail(errc::bad_file, "{}: {}vocab_size is {} but the tokenizer has {} tokens", f.name(), a, *vs, hp.n_vocab);
    if (t.arch_hparams) t.arch_hparams(f, hp);

    const int64_t d = hp.n_embd, nq = hp.n_embd_q(), nkv = hp.n_embd_kv(), hd = hp.head_dim;
    used.insert("token_embd.weight");
    m.token_embd = bind_matrix(f, "token_embd.weight", d, hp.n_vocab, false);
    m.output_norm = vec("output_norm.weight", d);
    hp.tied_output = f.find_tensor("output.weight") == nullptr;
    if (hp.tied_output) {
        m.output = bind_matrix(f, "token_embd.weight", d, hp.n_vocab);
        if (log) log(log_level::info, "output.weight is absent: the output projection is tied to token_embd");
    } else {
        m.output = mat("output.weight", d, hp.n_vocab);
    }
    if (t.rope_factors && f.find_tensor("rope_factors_long.weight")) {
        m.rope_factors_long = rope_factor_vector(f, "rope_factors_long.weight", hp.n_rot / 2);
        m.rope_factors_short = rope_factor_vector(f, "rope_factors_short.weight", hp.n_rot / 2);
        used.insert("rope_factors_long.weight");
        used.insert("rope_factors_short.weight");
        hp.long_rope = true;
    }

    hp.fused_qkv = t.fused_qkv && f.find_tensor("blk.0.attn_qkv.weight") != nullptr;
    hp.fused_gate_up = t.fused_gate_up;
    m.layers.resize(size_t(hp.n_layer));
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        auto& L = m.layers[size_t(i)];
        const auto p = fmt::format("blk.{}.", i);
        const int64_t ff = hp.layers[size_t(i)].n_ff;
        L.attn_norm = vec(p + "attn_norm.weight", d);
        if (hp.fused_qkv) {
            // One matrix whose rows are q's, then k's, then v's: three views of it.
            const weight qkv = mat(p + "attn_qkv.weight", d, nq + 2 * nkv);
            L.wq = rows_of(qkv, 0, nq);
            L.wk = rows_of(qkv, nq, nkv);
            L.wv = rows_of(qkv, nq + nkv, nkv);
        } else {
            L.wq = mat(p + "attn_q.weight", d, nq);
            L.wk = mat(p + "attn_k.weight", d, nkv);
            L.wv = mat(p + "attn_v.weight", d, nkv);
        }
        if (t.qkv_bias) {
            L.bq = vec(p + "attn_q.bias", nq);
            L.bk = vec(p + "attn_k.bias", nkv);
            L.bv = vec(p + "attn_v.bias", nkv);
        }
        if (t.qk_norm) {
            L.q_norm = vec(p + "attn_q_norm.weight", hd);
            L.k_norm = vec(p + "attn_k_norm.weight", hd);
        }
        L.wo = mat(p + "attn_output.weight", nq, d);
        if (t.post_norms) L.post_attn_norm = vec(p + "post_attention_norm.weight", d);
        L.ffn_norm = vec(p + "ffn_norm.weight", d);
        if (t.fused_gate_up) {
            const weight up = mat(p + "ffn_up.weight", d, 2 * ff);
            L.w_gate = rows_of(up, 0, ff);
            L.w_up = rows_of(up, ff, ff);
        } else {
            L.w_gate = mat(p + "ffn_gate.weight", d, ff);
            L.w_up = mat(p + "ffn_up.weight", d, ff);
        }
        L.w_down = mat(p + "ffn_down.weight", ff, d);
        if (t.post_norms) L.post_ffn_norm = vec(p + "post_ffw_norm.weight", d);
    }
    for (const auto& ten : f.tensors())
        if (!used.count(ten.name))
            fail(errc::unsupported, "{}: tensor '{}' is not part of the {} architecture as ember implements it", f.name(), ten.name, hp.arch);
}

weight rows_of(const weight& w, int64_t first, int64_t n) {
    weight v = w;
    v.data = w.data + size_t(first) * w.row_bytes;
    v.rows = n;
    return v;
}

}  // namespace ember::detail
