// ember quantize: rewrite a model with one of llama.cpp's quantize presets.
#include <chrono>
#include <cstdio>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "ember/quantize_file.hpp"
#include "ember/types.hpp"

namespace ember::cli {

namespace {

constexpr const char* k_help = R"(usage: ember quantize IN.gguf OUT.gguf TYPE [-t N]

Writes IN's model to OUT with TYPE's per-tensor mix of types, as llama.cpp's quantize tool
does (same tensor choices, same bytes for the same input). Tensors that are already quantized
are dequantized first when their type changes. OUT must not be IN.

  TYPE                     F32, F16, BF16, Q8_0, Q4_K_M, Q4_K_S, Q3_K_M or Q2_K
  -t, --threads N          threads (default: all cores)
)";

std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1024.0 * 1024.0));
    return buf;
}

std::string shape(std::span<const int64_t> ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

}  // namespace

int cmd_quantize(std::span<char* const> argv) {
    args a("quantize", argv);
    if (a.flag({"-h", "--help"})) {
        std::fputs(k_help, stdout);
        return 0;
    }
    quantize_options opt;
    opt.n_threads = a.number_or<int>({"-t", "--threads"}, 0);
    const auto pos = a.positionals();
    a.finish();
    if (pos.size() != 3) throw usage_error("expected IN.gguf OUT.gguf TYPE");
    if (opt.n_threads < 0) throw usage_error("-t must not be negative");
    if (!find_quant_preset(pos[2])) throw usage_error("unknown TYPE '" + pos[2] + "' (one of: " + quant_preset_names() + ")");
    opt.preset = pos[2];

    bool noted_requantize = false;
    opt.progress = [&](const quantize_progress& p) {
        if (!noted_requantize && p.from != p.to && info(p.from).quantized) {
            std::fprintf(stderr, "ember: note: requantizing %s tensors; quality is lower than from an F32/F16 original\n",
                         std::string(type_name(p.from)).c_str());
            noted_requantize = true;
        }
        const std::string size = p.from == p.to ? mib(p.bytes_out) : mib(p.bytes_in) + " -> " + mib(p.bytes_out);
        std::fprintf(stderr, "[%4zu/%4zu] %-32.*s %-14s %5s -> %-5s %s\n", p.index + 1, p.count, int(p.name.size()),
                     p.name.data(), shape(p.ne).c_str(), std::string(type_name(p.from)).c_str(),
                     std::string(type_name(p.to)).c_str(), size.c_str());
        return true;
    };
    const auto t0 = std::chrono::steady_clock::now();
    const quantize_result r = quantize_file(pos[0], pos[1], opt);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "ember: %s: %zu tensors (%zu converted), %s -> %s (%.2fx smaller) in %.1f s\n", pos[1].c_str(),
                 r.n_tensors, r.n_quantized, mib(r.bytes_in).c_str(), mib(r.bytes_out).c_str(),
                 r.bytes_out ? double(r.bytes_in) / double(r.bytes_out) : 0.0, secs);
    return 0;
}

}  // namespace ember::cli
