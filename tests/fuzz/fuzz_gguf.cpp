// libFuzzer target for the GGUF reader. Any input must either parse or throw
// ember::error(bad_file) with a one-line message naming the file; a parsed file must be safe to
// inspect completely (ASan/UBSan watch every access), and writing it back with gguf_writer must
// give a file that parses to the same content.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "ember/error.hpp"
#include "ember/gguf.hpp"

namespace {

[[noreturn]] void bug(const char* what, const char* detail = "") {
    std::fprintf(stderr, "fuzz_gguf: %s %s\n", what, detail);
    std::abort();
}

void check_error(const ember::error& e) {
    const std::string_view msg = e.what();
    if (e.code() != ember::errc::bad_file) bug("error with a code other than bad_file:", e.what());
    if (!msg.starts_with("fuzz.gguf: ")) bug("message does not start with the file name:", e.what());
    if (msg.find('\n') != std::string_view::npos) bug("message spans several lines:", e.what());
}

// Every typed getter on every key: each returns or throws bad_file.
size_t probe_getters(const ember::gguf_file& f, std::string_view key) {
    size_t n = 0;
    auto attempt = [&](auto&& get) {
        try {
            get();
            ++n;
        } catch (const ember::error& e) {
            if (e.code() != ember::errc::bad_file) bug("getter threw a code other than bad_file:", e.what());
        }
    };
    attempt([&] { n += f.get_string(key).size(); });
    attempt([&] { n += size_t(f.get_int(key)); });
    attempt([&] { n += f.get_u32(key); });
    attempt([&] { n += size_t(f.get_f32(key) != 0.0f); });
    attempt([&] { n += f.get_bool(key); });
    attempt([&] { n += f.get_string_array(key).size(); });
    attempt([&] { n += f.get_f32_array(key).size(); });
    attempt([&] { n += f.get_i32_array(key).size(); });
    attempt([&] { n += f.get_int_or_array(key, 4).size(); });
    return n;
}

std::string summary(const ember::gguf_file& f) {
    std::string s;
    for (const auto& kv : f.metadata()) s += kv.key + '=' + kv.value.to_display_string(1u << 20) + '\n';
    for (const auto& t : f.tensors()) {
        // All four dims: the writer drops trailing 1s, so n_dims may legitimately change.
        s += t.name + ' ' + std::string(ember::type_name(t.type));
        for (auto d : t.ne) s += ' ' + std::to_string(d);
        s += ' ';
        s.append(reinterpret_cast<const char*>(t.data), t.nbytes);
        s += '\n';
    }
    return s;
}

void round_trip(const ember::gguf_file& f) {
    uint64_t total = 0;
    for (const auto& t : f.tensors()) total += t.nbytes;
    if (total > (1u << 20)) return;  // overlapping tensors can claim far more than the input holds
    ember::gguf_writer w;
    w.copy_metadata(f);
    for (const auto& t : f.tensors())
        w.add_tensor(t.name, t.type, std::span(t.ne.data(), t.n_dims), std::span(t.data, t.nbytes));
    const auto bytes = w.write_to_memory();
    const auto g = ember::gguf_file::parse(bytes, "fuzz.gguf");
    if (summary(g) != summary(f)) bug("writing a parsed file back changed its content");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        const auto f = ember::gguf_file::parse(bytes, "fuzz.gguf");
        volatile size_t sink = 0;
        for (const auto& kv : f.metadata()) {
            sink = sink + kv.value.to_display_string().size() + probe_getters(f, kv.key);
            if (f.find(kv.key) != &kv.value) bug("find() does not return the key's own value");
        }
        const auto base = f.storage()->bytes();
        for (const auto& t : f.tensors()) {
            if (t.data < base.data() || t.data + t.nbytes > base.data() + base.size()) bug("tensor data outside the file");
            if (t.nbytes != t.row_bytes() * size_t(t.nrows())) bug("tensor byte size disagrees with its shape");
            if (f.find_tensor(t.name) != &t) bug("find_tensor() does not return the tensor itself");
            size_t sum = 0;
            for (size_t i = 0; i < t.nbytes; ++i) sum += size_t(t.data[i]);
            sink = sink + sum;
        }
        const ember::gguf_file copy = f;  // copies rebuild their indexes
        if (!f.metadata().empty() && copy.find(f.metadata().back().key) != &copy.metadata().back().value) bug("copy lookup");
        round_trip(f);
    } catch (const ember::error& e) {
        check_error(e);
    }
    return 0;
}
