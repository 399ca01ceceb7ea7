// ember info -m MODEL: the container's metadata (arrays summarized), a tensor table, and what
// ember makes of the model: its architecture's shape and features.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"
#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/model.hpp"

namespace ember::cli {

namespace {

// Keys and tensor names come from the file: control bytes are escaped so that a hostile name
// cannot break the table or drive the terminal, and very long names are shortened.
std::string printable(std::string_view s, size_t max_len = 120) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max_len; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    if (s.size() > max_len) out += "...";
    return out;
}

}  // namespace

// The model as ember's loader reads it: shape, then the architecture's features by name.
std::string model_summary(const model& m) {
    const model_hparams& hp = m.hparams();
    std::string s = fmt::format("model: {}, {} layers, dim {}, {} heads ({} KV) of size {}, ffn {}, vocab {} ({}), context {}\n",
                                hp.arch, hp.n_layer, hp.n_embd, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_ff, hp.n_vocab,
                                m.vocab().kind() == tokenizer_kind::bpe ? "byte-level BPE" : "SentencePiece", hp.n_ctx_train);
    std::vector<std::string> f;
    f.push_back(fmt::format("RoPE {} base {:g}{}", hp.rope == rope_type::neox ? "neox" : "norm", hp.rope_freq_base,
                            hp.rope_freq_scale != 1.0f ? fmt::format(" scale {:g}", hp.rope_freq_scale) : ""));
    if (hp.sliding_window > 0) {
        const auto n_local = std::count_if(hp.layers.begin(), hp.layers.end(), [](const layer_hparams& l) { return l.window > 0; });
        const auto local = std::find_if(hp.layers.begin(), hp.layers.end(), [](const layer_hparams& l) { return l.window > 0; });
        f.push_back(fmt::format("sliding window {} on {} of {} layers ({}; local RoPE base {:g})", hp.sliding_window, n_local,
                                hp.n_layer, hp.swa_pattern > 0 ? fmt::format("pattern {}", hp.swa_pattern) : "per-layer flags",
                                local != hp.layers.end() ? local->rope_freq_base : hp.rope_freq_base));
    }
    if (hp.qkv_bias) f.push_back("q/k/v biases");
    if (hp.qk_norm) f.push_back("q/k norms");
    if (hp.post_norms) f.push_back("post-attention and post-FFN norms");
    f.push_back(hp.ffn_act == ffn_activation::gelu_tanh ? "GELU (tanh) gate" : "SiLU gate");
    if (hp.fused_qkv) f.push_back("fused attn_qkv");
    if (hp.fused_gate_up) f.push_back("fused gate+up");
    if (hp.embd_scale != 1.0f) f.push_back(fmt::format("embeddings scaled by {:g}", hp.embd_scale));
    if (hp.final_logit_softcap > 0.0f) f.push_back(fmt::format("logit soft-cap {:g}", hp.final_logit_softcap));
    if (hp.rope_attn_factor != 1.0f) f.push_back(fmt::format("RoPE attn factor {:g}", hp.rope_attn_factor));
    if (hp.long_rope) f.push_back(fmt::format("long/short RoPE factors (original context {})", hp.n_ctx_orig));
    f.push_back(hp.tied_output ? "tied output" : "separate output");
    std::string line = "features:";
    for (size_t i = 0; i < f.size(); ++i) line += (i ? ", " : " ") + f[i];
    return s + line + "\n";
}

int cmd_info(std::span<char* const> argv) {
    args a("info", argv);
    if (a.flag({"-h", "--help"})) {
        std::printf("usage: ember info -m MODEL [--no-mmap]\n\n"
                    "Prints the GGUF header, every metadata key (arrays summarized) and a table of\n"
                    "tensors (name, type, shape, bytes). Works on any architecture and tensor type.\n");
        return 0;
    }
    auto path = a.value({"-m", "--model"});
    const bool no_mmap = a.flag({"--no-mmap"});
    auto pos = a.positionals();
    if (!path && pos.size() == 1) path = pos[0];
    else if (!pos.empty()) throw usage_error("unexpected argument '" + pos[0] + "'");
    if (!path) throw usage_error("-m MODEL is required");
    a.finish();

    const auto f = gguf_file::open(*path, {.use_mmap = !no_mmap});
    std::printf("file: %s\nGGUF version: %u\nalignment: %u\nfile size: %llu bytes\ndata offset: %llu\n", f.name().c_str(),
                f.version(), f.alignment(), (unsigned long long)f.file_size(), (unsigned long long)f.data_offset());
    std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
    for (const auto& kv : f.metadata()) {
        std::string type(to_string(kv.value.type()));
        std::printf("  %-44s %-8s %s\n", printable(kv.key).c_str(), type.c_str(), kv.value.to_display_string(6).c_str());
    }
    std::printf("\ntensors (%zu):\n", f.tensors().size());
    std::printf("  %-40s %-8s %-22s %14s\n", "name", "type", "shape", "bytes");
    uint64_t total = 0, params = 0;
    for (const auto& t : f.tensors()) {
        std::string type(type_name(t.type));
        std::printf("  %-40s %-8s %-22s %14zu\n", printable(t.name).c_str(), type.c_str(), t.shape_string().c_str(), t.nbytes);
        total += t.nbytes;
        params += uint64_t(t.nelements());
    }
    std::printf("\ntotal: %llu parameters, %llu bytes of tensor data\n", (unsigned long long)params, (unsigned long long)total);

    // What ember makes of it (a file ember cannot run is still described above).
    std::printf("\n");
    try {
        const auto m = model::load(*path, {.use_mmap = true, .populate = false, .repack = false});
        std::printf("%s", model_summary(*m).c_str());
    } catch (const error& e) {
        std::printf("model: ember cannot run this file: %s\n", printable(e.what(), 400).c_str());
    }
    return 0;
}

}  // namespace ember::cli
