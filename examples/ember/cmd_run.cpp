#include <cstdio>

#include "args.hpp"
#include "commands.hpp"

namespace ember::cli {

int cmd_run(std::span<char* const>) {
    std::fprintf(stderr, "ember run: not implemented yet\n");
    return 1;
}

}  // namespace ember::cli
