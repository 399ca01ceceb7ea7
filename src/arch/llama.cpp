// The llama architecture (Llama 1/2/3, Mistral-style dense models, TinyLlama, ...).
#include <fmt/format.h>

#include "arch/arch.hpp"
#include "util.hpp"

namespace ember::detail {

namespace {

int64_t positive(const gguf_file& f, const std::string& key, int64_t v) {
    if (v <= 0) fail(errc::bad_file, "{}: '{}' is {}, must be positive", f.name(), key, v);
    return v;
}

// A hyperparameter that may be stored per layer; ember supports only uniform values for now.
int64_t uniform_int(const gguf_file& f, const std::string& key, int64_t n_layer) {
    const auto v = f.get_int_or_array(key, size_t(n_layer));
    for (auto x : v)
        if (x != v[0]) fail(errc::unsupported, "{}: '{}' varies per layer, which ember does not support yet", f.name(), key);
    return v.empty() ? 0 : v[0];
}

}  // namespace

void load_llama(model::impl& m, const log_fn& log) {
    const gguf_file& f = m.file;
    model_hparams& hp = m.hp;
    const std::string a = hp.arch + ".";
    hp.n_ctx_train = positive(f, a + "context_length", f.get_int(a + "context_length"));
    hp.n_embd = positive(f, a + "embedding_length", f.get_int(a + "embedding_length"));
    hp.n_layer = positive(f, a + "block_count", f.get_int(a + "block_count"));
    if (hp.n_layer > 4096) fail(errc::bad_file, "{}: block_count {} is implausibly large", f.name(), hp.n_layer);
    hp.n_ff = positive(f, a + "feed_forward_length", uniform_int(f, a + "feed_forward_length", hp.n_layer));
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
    hp.n_rot = f.get_int_opt(a + "rope.dimension_count").value_or(hp.head_dim);
    if (hp.n_rot != hp.head_dim)
        fail(errc::bad_file, "{}: {}rope.dimension_count {} must equal the head size {} for llama", f.name(), a, hp.n_rot, hp.head_dim);
    if (hp.head_dim % 2 != 0 || hp.head_dim > 1024)
        fail(errc::unsupported, "{}: head size {} is not supported (must be even and at most 1024)", f.name(), hp.head_dim);
    hp.rms_eps = f.get_f32(a + "attention.layer_norm_rms_epsilon");
    if (!(hp.rms_eps > 0.0f && hp.rms_eps < 1.0f)) fail(errc::bad_file, "{}: {}attention.layer_norm_rms_epsilon {} is out of range", f.name(), a, hp.rms_eps);
    hp.rope_freq_base = f.get_f32_opt(a + "rope.freq_base").value_or(10000.0f);
    if (!(hp.rope_freq_base > 1.0f)) fail(errc::bad_file, "{}: {}rope.freq_base {} must be > 1", f.name(), a, hp.rope_freq_base);
    if (auto st = f.get_string_opt(a + "rope.scaling.type"); st && *st != "none" && *st != "linear")
        fail(errc::unsupported, "{}: rope scaling type '{}' is not supported yet", f.name(), *st);
    auto factor = f.get_f32_opt(a + "rope.scaling.factor");
    if (!factor) factor = f.get_f32_opt(a + "rope.scale_linear");
    hp.rope_freq_scale = (factor && *factor != 0.0f) ? 1.0f / *factor : 1.0f;
    if (!(hp.rope_freq_scale > 0.0f) || !std::isfinite(hp.rope_freq_scale))
        fail(errc::bad_file, "{}: rope scaling factor is invalid", f.name());
    if (f.contains("rope_freqs.weight"))
        fail(errc::unsupported, "{}: per-frequency rope factors (rope_freqs.weight) are not supported yet", f.name());
    hp.rope = rope_type::norm;

    hp.n_vocab = int64_t(m.vocab.size());
    if (auto vs = f.get_int_opt(a + "vocab_size"); vs && *vs != hp.n_vocab)
        fail(errc::bad_file, "{}: {}vocab_size is {} but the tokenizer has {} tokens", f.name(), a, *vs, hp.n_vocab);

    const int64_t d = hp.n_embd;
    m.token_embd = bind_matrix(f, "token_embd.weight", d, hp.n_vocab, false);
    m.output_norm = bind_vector(f, "output_norm.weight", d);
    hp.tied_output = f.find_tensor("output.weight") == nullptr;
    if (hp.tied_output) {
        m.output = bind_matrix(f, "token_embd.weight", d, hp.n_vocab);
        if (log) log(log_level::info, "output.weight is absent: the output projection is tied to token_embd");
    } else {
        m.output = bind_matrix(f, "output.weight", d, hp.n_vocab);
    }
    m.layers.resize(size_t(hp.n_layer));
    for (int64_t i = 0; i < hp.n_layer; ++i) {
        auto& L = m.layers[size_t(i)];
        const auto p = fmt::format("blk.{}.", i);
        L.attn_norm = bind_vector(f, p + "attn_norm.weight", d);
        L.wq = bind_matrix(f, p + "attn_q.weight", d, hp.n_embd_q());
        L.wk = bind_matrix(f, p + "attn_k.weight", d, hp.n_embd_kv());
        L.wv = bind_matrix(f, p + "attn_v.weight", d, hp.n_embd_kv());
        L.wo = bind_matrix(f, p + "attn_output.weight", hp.n_embd_q(), d);
        L.ffn_norm = bind_vector(f, p + "ffn_norm.weight", d);
        L.w_gate = bind_matrix(f, p + "ffn_gate.weight", d, hp.n_ff);
        L.w_up = bind_matrix(f, p + "ffn_up.weight", d, hp.n_ff);
        L.w_down = bind_matrix(f, p + "ffn_down.weight", hp.n_ff, d);
    }
    for (const auto& t : f.tensors()) {
        if (t.name.ends_with(".bias") || t.name.find("attn_qkv") != std::string::npos || t.name.find("_exps") != std::string::npos)
            fail(errc::unsupported, "{}: tensor '{}' needs a llama variant ember does not support yet", f.name(), t.name);
    }
}

}  // namespace ember::detail
