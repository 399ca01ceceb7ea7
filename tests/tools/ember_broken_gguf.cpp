// ember_broken_gguf DIR: writes the broken-GGUF corpus (tests/broken_gguf.hpp) into DIR as
//   container-<class>.gguf  rejected by the container reader,
//   model-<class>.gguf      valid containers holding broken models,
//   valid-<name>.gguf       valid files,
// each broken file with a <file>.expect beside it listing, one per line, the strings the
// rejecting error message must contain. Used by the `ember info` CLI test and as the fuzzer's
// seed corpus.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "broken_gguf.hpp"

namespace fs = std::filesystem;
using namespace ember::test;

namespace {

void write_file(const fs::path& path, const void* data, size_t n) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), std::streamsize(n));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

int usage(std::FILE* f, int rc) {
    std::fprintf(f, "usage: ember_broken_gguf [--level container|model|all] [--no-valid] DIR\n"
                    "       ember_broken_gguf --list\n");
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    std::string level = "all", dir;
    bool valid = true;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-h" || a == "--help") return usage(stdout, 0);
        if (a == "--list") {
            for (const auto& c : broken_cases()) std::printf("%.*s-%.*s\n", int(to_string(c.level).size()), to_string(c.level).data(), int(c.name.size()), c.name.data());
            return 0;
        }
        if (a == "--no-valid") valid = false;
        else if (a == "--level" && i + 1 < argc) level = argv[++i];
        else if (!a.starts_with("-") && dir.empty()) dir = a;
        else return usage(stderr, 2);
    }
    if (dir.empty() || (level != "all" && level != "container" && level != "model")) return usage(stderr, 2);
    try {
        fs::create_directories(dir);
        size_t n = 0;
        for (const auto& c : broken_cases()) {
            if (level != "all" && level != to_string(c.level)) continue;
            const auto f = make_broken(c.kind);
            const fs::path path = fs::path(dir) / (std::string(to_string(c.level)) + "-" + std::string(c.name) + ".gguf");
            write_file(path, f.bytes.data(), f.bytes.size());
            std::string expect;
            for (const auto& e : f.expect) expect += e + "\n";
            write_file(path.string() + ".expect", expect.data(), expect.size());
            ++n;
        }
        if (valid)
            for (const auto& v : valid_samples()) {
                write_file(fs::path(dir) / ("valid-" + v.name + ".gguf"), v.bytes.data(), v.bytes.size());
                ++n;
            }
        std::printf("wrote %zu files to %s\n", n, dir.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ember_broken_gguf: %s\n", e.what());
        return 1;
    }
    return 0;
}
