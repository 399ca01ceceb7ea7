// ember: run, inspect and measure GGUF language models on the CPU.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"
#include "ember/error.hpp"

namespace {

struct command {
    std::string_view name;
    ember::cli::command_fn fn;
    std::string_view help;
};

constexpr command k_commands[] = {
    {"run", ember::cli::cmd_run, "generate text from a prompt"},
    {"info", ember::cli::cmd_info, "show a GGUF file's metadata and tensors"},
    {"tokenize", ember::cli::cmd_tokenize, "print the token ids of a text"},
    {"perplexity", ember::cli::cmd_perplexity, "measure perplexity (and KL divergence) on a text"},
    {"bench", ember::cli::cmd_bench, "measure prompt and generation speed (llama-bench's columns)"},
    {"quantize", ember::cli::cmd_quantize, "convert a model to a quantization preset (Q4_K_M, Q8_0, ...)"},
    {"mkmodel", ember::cli::cmd_mkmodel, "write a llama model with random weights (for tests and benchmarks)"},
};

void usage(std::FILE* out) {
    std::fprintf(out, "usage: ember <command> [options]\n\ncommands:\n");
    for (const auto& c : k_commands) std::fprintf(out, "  %-12.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.help.size()), c.help.data());
    std::fprintf(out, "\nRun 'ember <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const std::string_view name = argv[1];
    if (name == "-h" || name == "--help" || name == "help") {
        usage(stdout);
        return 0;
    }
    for (const auto& c : k_commands) {
        if (c.name != name) continue;
        try {
            return c.fn({argv + 2, size_t(argc - 2)});
        } catch (const ember::cli::usage_error& e) {
            std::fprintf(stderr, "ember %s: %s (see 'ember %s --help')\n", argv[1], e.what(), argv[1]);
            return 2;
        } catch (const ember::error& e) {
            std::fprintf(stderr, "ember %s: error: %s\n", argv[1], e.what());
            return 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "ember %s: error: %s\n", argv[1], e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "ember: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
