// The subcommands of the `ember` program, one per file (cmd_<name>.cpp).
#pragma once

#include <span>

namespace ember::cli {

using command_fn = int (*)(std::span<char* const> argv);

int cmd_info(std::span<char* const> argv);
int cmd_tokenize(std::span<char* const> argv);
int cmd_run(std::span<char* const> argv);
int cmd_perplexity(std::span<char* const> argv);
int cmd_bench(std::span<char* const> argv);
int cmd_quantize(std::span<char* const> argv);
int cmd_mkmodel(std::span<char* const> argv);

}  // namespace ember::cli
