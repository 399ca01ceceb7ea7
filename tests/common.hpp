// Helpers shared by the test suites.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace ember::test {

// ../shared beside the repository (override with EMBER_SHARED_DIR in the environment).
inline std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("EMBER_SHARED_DIR")) return env;
    return EMBER_SHARED_DIR;
}
inline std::filesystem::path shared(const std::string& rel) {
    auto p = shared_dir() / rel;
    REQUIRE_MESSAGE(std::filesystem::exists(p), "missing shared file " << p.string());
    return p;
}
// A scratch directory of this test process alone (build/tests/tmp/run-<pid>): ctest runs the
// same test file once per instruction set in parallel, and files of fixed names written by one
// run must not be replaced or removed under another. Removed when the process exits normally.
inline std::filesystem::path tmp_dir() {
    struct scratch {
        std::filesystem::path path;
        scratch() : path(std::filesystem::path(EMBER_TEST_TMP_DIR) / ("run-" + std::to_string(::getpid()))) {
            std::filesystem::create_directories(path);
        }
        ~scratch() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static const scratch dir;
    return dir.path;
}

}  // namespace ember::test
