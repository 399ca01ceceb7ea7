// Runs the `ember` program for command-line tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common.hpp"

namespace ember::test {

struct cli_result {
    int exit_code = -1;
    std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
    std::string q(1, '\'');
    for (char c : s) {
        if (c == '\'') q.append("'\\''");
        else q.push_back(c);
    }
    q.push_back('\'');
    return q;
}

// Runs `ember ARGS...` with stdout and stderr captured separately.
inline cli_result run_cli(const std::vector<std::string>& args, const std::string& env = "") {
#ifndef EMBER_CLI_PATH
    FAIL("the ember program was not built (EMBER_BUILD_EXAMPLES=OFF)");
    return {};
#else
    static int counter = 0;
    const auto err_path = tmp_dir() / ("cli_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt");
    std::string cmd = env;
    cmd.append(" ").append(shell_quote(EMBER_CLI_PATH));
    for (const auto& a : args) cmd.append(" ").append(shell_quote(a));
    cmd.append(" 2>").append(shell_quote(err_path.string()));
    cli_result r;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(err_path);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    std::filesystem::remove(err_path);
    return r;
#endif
}

}  // namespace ember::test
