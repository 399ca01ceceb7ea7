#include <cstdio>

#include "args.hpp"
#include "commands.hpp"

namespace ember::cli {

int cmd_tokenize(std::span<char* const>) {
    std::fprintf(stderr, "ember tokenize: not implemented yet\n");
    return 1;
}

}  // namespace ember::cli
