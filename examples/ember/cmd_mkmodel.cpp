// ember mkmodel: write a llama model with random weights in the shape of a real one.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "ember/random_model.hpp"

namespace ember::cli {

namespace {

constexpr const char* k_help = R"(usage: ember mkmodel --preset NAME --type TYPE -o OUT.gguf --vocab VOCAB.gguf [options]

Writes a model of the preset's architecture (llama, qwen2, qwen3, gemma3 or phi3) with seeded
random weights (deterministic for a seed), quantized by ember's quantizer with TYPE's per-tensor
mix, one tensor at a time. The tokenizer
is copied from VOCAB (e.g. ggml-vocab-llama-spm.gguf). For tests and benchmarks: the model
produces no meaningful text.

  --preset NAME            tinyllama-1.1b (dim 2048, 22 layers, 32/4 heads, ffn 5632, vocab 32000)
                           llama-7b (dim 4096, 32 layers, 32/32 heads, ffn 11008, vocab 32000)
                           qwen2.5-1.5b (qwen2: dim 1536, 28 layers, 12/2 heads, ffn 8960, tied)
                           qwen3-1.7b (qwen3: dim 2048, 28 layers, 16/8 heads of 128, ffn 6144, tied)
                           gemma3-1b (gemma3: dim 1152, 26 layers, 4/1 heads of 256, ffn 6912,
                             window 512 on 5 of 6 layers, tied)
                           phi3-mini (phi3: dim 3072, 32 layers, 32/32 heads, ffn 8192, fused)
                           phi3-mini-128k (the same, context 131072, longrope factors over 4096)
                           (these take the vocabulary's size, e.g. ggml-vocab-qwen2.gguf)
                           tiny (dim 256, 2 layers, 4/2 heads, ffn 768, the vocabulary's size)
                           tiny-qwen2, tiny-qwen3, tiny-gemma3, tiny-phi3 (the same, per architecture),
                           tiny-phi3-longrope (context 4096, longrope factors over 256)
  --type TYPE              F32, F16, BF16, Q8_0, Q4_K_M, Q4_K_S, Q3_K_M or Q2_K (default F32)
  -o, --output FILE        the model to write
  --vocab FILE             GGUF file whose tokenizer.* metadata is copied
  --seed S                 random seed (default 0)
  --name NAME              general.name (default: the preset's name)
  --tied                   no output.weight: the output projection reuses token_embd
  -t, --threads N          threads (default: all cores)
  --dim N, --layers N, --heads N, --kv-heads N, --ffn N, --ctx N
                           override the preset's shape
  --rope-orig-ctx N        phi3: longrope factors for a model trained on N positions (0: none)
)";

}  // namespace

int cmd_mkmodel(std::span<char* const> argv) {
    args a("mkmodel", argv);
    if (a.flag({"-h", "--help"})) {
        std::fputs(k_help, stdout);
        return 0;
    }
    const std::string preset_name = a.required({"--preset"});
    random_model_options opt;
    opt.type = a.value({"--type"}).value_or("F32");
    const std::string out = a.required({"-o", "--output"});
    opt.vocab = a.required({"--vocab"});
    opt.seed = a.number_or<uint64_t>({"--seed", "-s"}, 0);
    opt.tied_output = a.flag({"--tied"});
    opt.n_threads = a.number_or<int>({"-t", "--threads"}, 0);
    const auto name = a.value({"--name"});
    const auto dim = a.number<int64_t>({"--dim"});
    const auto layers = a.number<int64_t>({"--layers"});
    const auto heads = a.number<int64_t>({"--heads"});
    const auto kv_heads = a.number<int64_t>({"--kv-heads"});
    const auto ffn = a.number<int64_t>({"--ffn"});
    const auto ctx = a.number<int64_t>({"--ctx"});
    const auto rope_orig = a.number<int64_t>({"--rope-orig-ctx"});
    a.finish();
    const random_model_preset* preset = find_random_model_preset(preset_name);
    if (!preset) throw usage_error("unknown --preset '" + preset_name + "' (see ember mkmodel --help)");
    if (!find_quant_preset(opt.type)) throw usage_error("unknown --type '" + opt.type + "' (one of: " + quant_preset_names() + ")");
    if (opt.n_threads < 0) throw usage_error("-t must not be negative");
    opt.shape = preset->shape;
    opt.name = name.value_or(std::string(preset->name));
    if (dim) opt.shape.n_embd = *dim;
    if (layers) opt.shape.n_layer = *layers;
    if (heads) opt.shape.n_head = *heads;
    if (kv_heads) opt.shape.n_head_kv = *kv_heads;
    if (ffn) opt.shape.n_ff = *ffn;
    if (ctx) opt.shape.n_ctx = *ctx;
    if (rope_orig) opt.shape.rope_orig_ctx = *rope_orig;

    // A one-line live counter on a terminal; nothing per tensor in logs.
    if (isatty(fileno(stderr))) opt.progress = [](const quantize_progress& p) {
        std::fprintf(stderr, "\r[%4zu/%4zu] %-28.*s %-5s", p.index + 1, p.count, int(p.name.size()), p.name.data(),
                     std::string(type_name(p.to)).c_str());
        std::fflush(stderr);
        return true;
    };
    const auto t0 = std::chrono::steady_clock::now();
    const quantize_result r = make_random_model(out, opt);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string type(find_quant_preset(opt.type)->name);
    std::fprintf(stderr, "%sember: %s: %s %s, %zu tensors, %.2f MiB of weights (%.2f bits/weight) in %.1f s\n",
                 opt.progress ? "\r" : "", out.c_str(), opt.name.c_str(), type.c_str(), r.n_tensors,
                 double(r.bytes_out) / (1024.0 * 1024.0), 8.0 * double(r.bytes_out) / (double(r.bytes_in) / 4.0), secs);
    return 0;
}

}  // namespace ember::cli
