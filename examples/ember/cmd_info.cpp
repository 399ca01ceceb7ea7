// ember info -m MODEL: the container's metadata (arrays summarized) and a tensor table.
#include <cstdio>
#include <string>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"
#include "ember/gguf.hpp"

namespace ember::cli {

namespace {

// Keys and tensor names come from the file: control bytes are escaped so that a hostile name
// cannot break the table or drive the terminal, and very long names are shortened.
std::string printable(std::string_view s, size_t max_len = 120) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max_len; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    if (s.size() > max_len) out += "...";
    return out;
}

}  // namespace

int cmd_info(std::span<char* const> argv) {
    args a("info", argv);
    if (a.flag({"-h", "--help"})) {
        std::printf("usage: ember info -m MODEL [--no-mmap]\n\n"
                    "Prints the GGUF header, every metadata key (arrays summarized) and a table of\n"
                    "tensors (name, type, shape, bytes). Works on any architecture and tensor type.\n");
        return 0;
    }
    auto path = a.value({"-m", "--model"});
    const bool no_mmap = a.flag({"--no-mmap"});
    auto pos = a.positionals();
    if (!path && pos.size() == 1) path = pos[0];
    else if (!pos.empty()) throw usage_error("unexpected argument '" + pos[0] + "'");
    if (!path) throw usage_error("-m MODEL is required");
    a.finish();

    const auto f = gguf_file::open(*path, {.use_mmap = !no_mmap});
    std::printf("file: %s\nGGUF version: %u\nalignment: %u\nfile size: %llu bytes\ndata offset: %llu\n", f.name().c_str(),
                f.version(), f.alignment(), (unsigned long long)f.file_size(), (unsigned long long)f.data_offset());
    std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
    for (const auto& kv : f.metadata()) {
        std::string type(to_string(kv.value.type()));
        std::printf("  %-44s %-8s %s\n", printable(kv.key).c_str(), type.c_str(), kv.value.to_display_string(6).c_str());
    }
    std::printf("\ntensors (%zu):\n", f.tensors().size());
    std::printf("  %-40s %-8s %-22s %14s\n", "name", "type", "shape", "bytes");
    uint64_t total = 0, params = 0;
    for (const auto& t : f.tensors()) {
        std::string type(type_name(t.type));
        std::printf("  %-40s %-8s %-22s %14zu\n", printable(t.name).c_str(), type.c_str(), t.shape_string().c_str(), t.nbytes);
        total += t.nbytes;
        params += uint64_t(t.nelements());
    }
    std::printf("\ntotal: %llu parameters, %llu bytes of tensor data\n", (unsigned long long)params, (unsigned long long)total);
    return 0;
}

}  // namespace ember::cli
