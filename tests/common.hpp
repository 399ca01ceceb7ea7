// Helpers shared by the test suites.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

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
inline std::filesystem::path tmp_dir() { return EMBER_TEST_TMP_DIR; }

}  // namespace ember::test
