// The GGUF reader against hostile input: every handcrafted broken class (broken_gguf.hpp) is
// rejected by parse and by open (mmap and plain reads) with a message naming the file and the
// offending field; every prefix of valid files is rejected or parses identically; thousands of
// seeded random mutations either parse or throw ember::error, nothing else.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "broken_gguf.hpp"
#include "common.hpp"
#include "ember/error.hpp"
#include "ember/gguf.hpp"

using namespace ember;
using namespace ember::test;

namespace {

std::filesystem::path write_tmp(const std::string& name, const std::vector<std::byte>& bytes) {
    const auto dir = tmp_dir() / "gguf_broken";
    std::filesystem::create_directories(dir);
    const auto path = dir / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
    return path;
}

// Runs `fn`, which must throw ember::error(bad_file); returns the message.
template <class F> std::string rejection(F&& fn) {
    try {
        fn();
    } catch (const error& e) {
        CHECK(e.code() == errc::bad_file);
        return e.what();
    } catch (const std::exception& e) {
        FAIL_CHECK("threw a non-ember exception: " << e.what());
        return {};
    }
    FAIL_CHECK("accepted a broken file");  // not FAIL: the callers' loops go on to the next class
    return {};
}

void check_message(const std::string& msg, const std::string& file, const std::vector<std::string>& expect) {
    INFO("message: " << msg);
    CHECK(msg.find(file) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    for (const auto& e : expect) {
        INFO("expected to contain: " << e);
        CHECK(msg.find(e) != std::string::npos);
    }
}

// A parsed file reduced to what a reader sees, for "parses identically" comparisons.
std::string summary(const gguf_file& f) {
    std::string s = fmt::format("v{} a{}\n", f.version(), f.alignment());
    for (const auto& kv : f.metadata()) s += kv.key + "=" + kv.value.to_display_string(1000) + "\n";
    for (const auto& t : f.tensors()) {
        s += t.name + " " + std::string(type_name(t.type)) + " " + t.shape_string() + " @" + std::to_string(t.offset) + " ";
        s.append(reinterpret_cast<const char*>(t.data), t.nbytes);
        s += "\n";
    }
    return s;
}

// Touches everything a parsed file exposes, so that a sanitizer sees any bad pointer.
size_t exercise(const gguf_file& f) {
    size_t n = 0;
    for (const auto& kv : f.metadata()) {
        n += kv.value.to_display_string().size();
        for (auto get : {+[](const gguf_file& g, std::string_view k) { (void)g.get_string(k); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_int(k); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_u32(k); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_f32(k); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_bool(k); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_string_array(k).size(); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_f32_array(k).size(); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_i32_array(k).size(); },
                         +[](const gguf_file& g, std::string_view k) { (void)g.get_int_or_array(k, 3); }}) {
            try {
                get(f, kv.key);
            } catch (const error& e) {
                CHECK(e.code() == errc::bad_file);
            }
        }
    }
    for (const auto& t : f.tensors()) {
        REQUIRE(t.data >= f.storage()->bytes().data());
        REQUIRE(t.data + t.nbytes <= f.storage()->bytes().data() + f.storage()->bytes().size());
        for (size_t i = 0; i < t.nbytes; ++i) n += size_t(t.data[i]);
        n += t.shape_string().size() + size_t(t.nelements() % 7) + t.row_bytes();
    }
    return n;
}

}  // namespace

TEST_SUITE("gguf") {

TEST_CASE("the broken-file table is consistent and covers the container format") {
    std::set<std::string_view> names;
    size_t container = 0, model = 0;
    for (size_t i = 0; i < broken_cases().size(); ++i) {
        const auto& c = broken_cases()[i];
        CHECK(size_t(c.kind) == i);
        CHECK(names.insert(c.name).second);
        (c.level == broken_level::container ? container : model)++;
        const auto f = make_broken(c.kind);
        CHECK_FALSE(f.expect.empty());
    }
    CHECK(container >= 70);
    CHECK(model >= 20);
    // The truncation classes need padding before the data section to cut into.
    raw_layout l;
    encode(small_valid_raw(), &l);
    CHECK(l.data_at - l.infos_end >= 2);
}

TEST_CASE("every container class is rejected by parse with a message naming the field") {
    for (const auto& c : broken_cases()) {
        if (c.level != broken_level::container) continue;
        CAPTURE(c.name);
        const auto f = make_broken(c.kind);
        const std::string name = std::string(c.name) + ".gguf";
        check_message(rejection([&] { (void)gguf_file::parse(f.bytes, name); }), name, f.expect);
    }
}

TEST_CASE("every container class is rejected by open, mapped and read") {
    for (const auto& c : broken_cases()) {
        if (c.level != broken_level::container) continue;
        CAPTURE(c.name);
        const auto f = make_broken(c.kind);
        const auto path = write_tmp(std::string(c.name) + ".gguf", f.bytes);
        for (bool mmap : {true, false}) {
            CAPTURE(mmap);
            check_message(rejection([&] { (void)gguf_file::open(path, {.use_mmap = mmap}); }), path.string(), f.expect);
        }
    }
}

TEST_CASE("model-level classes are valid containers") {
    const auto base = gguf_file::parse(tiny_llama_gguf(), "tiny-llama.gguf");
    CHECK(base.get_string("general.architecture") == "llama");
    CHECK(base.tensors().size() == 3 + 2 * 9);
    CHECK(base.get_string_array("tokenizer.ggml.tokens").size() == 32);
    CHECK(base.find_tensor("blk.1.ffn_down.weight")->ne[0] == 64);
    size_t n = 0;
    for (const auto& c : broken_cases()) {
        if (c.level != broken_level::model) continue;
        CAPTURE(c.name);
        const auto f = make_broken(c.kind);
        const auto g = gguf_file::parse(f.bytes, std::string(c.name) + ".gguf");
        // Each differs from the valid model in exactly what its class says.
        CHECK(summary(g) != summary(base));
        const auto path = write_tmp(std::string("model-") + std::string(c.name) + ".gguf", f.bytes);
        CHECK(gguf_file::open(path).tensors().size() == g.tensors().size());
        ++n;
    }
    CHECK(n >= 20);
}

TEST_CASE("every prefix of a valid file is rejected or parses identically") {
    for (const auto& v : valid_samples()) {
        CAPTURE(v.name);
        const auto full = gguf_file::parse(v.bytes, v.name);
        const auto want = summary(full);
        // Files with tensors parse once the last tensor's bytes are present (trailing padding
        // may be missing); files without tensors once the metadata is (checked by summary()).
        uint64_t data_end = 0;
        for (const auto& t : full.tensors()) data_end = std::max<uint64_t>(data_end, full.data_offset() + t.offset + t.nbytes);
        // Every prefix of small files; of large ones every prefix of the header, metadata and
        // last 64 bytes, and a stride through the tensor data.
        std::vector<size_t> cuts;
        const size_t size = v.bytes.size();
        for (size_t n = 0; n < size; ++n)
            if (size <= 8192 || n < full.data_offset() + 64 || n + 64 >= size || n % 97 == 0) cuts.push_back(n);
        size_t accepted = 0, rejected = 0;
        for (size_t n : cuts) {
            const std::span<const std::byte> prefix(v.bytes.data(), n);
            try {
                const auto f = gguf_file::parse(prefix, v.name);
                CHECK(summary(f) == want);
                CHECK(n >= data_end);
                ++accepted;
            } catch (const error& e) {
                CHECK(e.code() == errc::bad_file);
                const std::string msg = e.what();
                CHECK(msg.find(v.name + ": offset ") == 0);
                CHECK(msg.find('\n') == std::string::npos);
                if (!full.tensors().empty()) CHECK(n < data_end);
                ++rejected;
            }
        }
        CHECK(rejected > 0);
        // With tensors, exactly the prefixes that only lack the last tensor's padding parse.
        if (!full.tensors().empty()) CHECK(accepted == size_t(std::count_if(cuts.begin(), cuts.end(), [&](size_t n) { return n >= data_end; })));
    }
}

TEST_CASE("prefixes of the baseline: exactly the 30 missing padding bytes may be cut") {
    const auto bytes = small_valid_gguf();
    raw_layout l;
    encode(small_valid_raw(), &l);
    size_t accepted = 0;
    for (size_t n = 0; n < bytes.size(); ++n) {
        try {
            (void)gguf_file::parse(std::span(bytes.data(), n), "prefix.gguf");
            CHECK(n >= l.data_at + 64 + 34);
            ++accepted;
        } catch (const error&) {
            CHECK(n < l.data_at + 64 + 34);
        }
    }
    CHECK(accepted == 30);  // b.weight ends 30 bytes before the 128-byte data section does
}

TEST_CASE("seeded random mutations parse or throw ember::error, nothing else") {
    std::mt19937_64 rng(20240611);
    const auto samples = valid_samples();
    std::vector<const named_file*> bases;
    for (const auto& v : samples)
        if (v.name == "baseline-v3" || v.name == "every-value-v3" || v.name == "alignment-64" || v.name == "no-tensors-unpadded")
            bases.push_back(&v);
    REQUIRE(bases.size() == 4);
    static constexpr uint64_t k_interesting[] = {0, 1, 2, 4, 8, 9, 12, 13, 31, 32, 33, 63, 64, 0x7f, 0xff, 0x100, 1u << 30, (1u << 30) + 1,
                                                 0x7fffffff, 0x80000000, 0xffffffff, uint64_t(1) << 32, uint64_t(1) << 62,
                                                 0x7fffffffffffffff, 0x8000000000000000, ~uint64_t(0) - 31, ~uint64_t(0)};
    size_t accepted = 0, rejected = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        const auto& base = *bases[size_t(iter) % bases.size()];
        auto b = base.bytes;
        const int n_mut = 1 + int(rng() % 3);
        for (int m = 0; m < n_mut && !b.empty(); ++m) {
            const size_t at = rng() % b.size();
            switch (rng() % 7) {
                case 0: b[at] ^= std::byte(1u << (rng() % 8)); break;
                case 1: b[at] = std::byte(rng()); break;
                case 2: {  // a field-sized interesting value
                    const uint64_t v = k_interesting[rng() % std::size(k_interesting)];
                    const size_t w = size_t(1) << (rng() % 4);  // 1, 2, 4 or 8 bytes
                    std::memcpy(b.data() + at, &v, std::min(w, b.size() - at));
                    break;
                }
                case 3: b.resize(at); break;
                case 4: b.insert(b.begin() + std::ptrdiff_t(at), size_t(1 + rng() % 16), std::byte(rng())); break;
                case 5: b.erase(b.begin() + std::ptrdiff_t(at), b.begin() + std::ptrdiff_t(std::min(b.size(), at + 1 + rng() % 16))); break;
                default: {  // repeat a slice elsewhere (duplicates keys, names, headers)
                    const size_t len = std::min<size_t>(1 + rng() % 48, b.size() - at);
                    const std::vector<std::byte> slice(b.begin() + std::ptrdiff_t(at), b.begin() + std::ptrdiff_t(at + len));
                    const size_t to = rng() % (b.size() + 1);
                    b.insert(b.begin() + std::ptrdiff_t(to), slice.begin(), slice.end());
                }
            }
        }
        try {
            const auto f = gguf_file::parse(b, "mutant.gguf");
            (void)exercise(f);
            ++accepted;
        } catch (const error& e) {
            const std::string msg = e.what();
            CHECK(e.code() == errc::bad_file);
            CHECK(msg.find("mutant.gguf") == 0);
            CHECK(msg.find('\n') == std::string::npos);
            ++rejected;
        } catch (const std::exception& e) {
            FAIL_CHECK("mutation " << iter << " threw a non-ember exception: " << e.what());
        }
    }
    MESSAGE("mutations: " << accepted << " accepted, " << rejected << " rejected");
    CHECK(accepted > 100);
    CHECK(rejected > 1000);
}

TEST_CASE("open reports missing files and non-files") {
    CHECK_THROWS_WITH_AS(gguf_file::open(tmp_dir() / "no-such-file.gguf"), doctest::Contains("no-such-file.gguf"), error);
    try {
        (void)gguf_file::open(tmp_dir() / "no-such-file.gguf");
    } catch (const error& e) {
        CHECK(e.code() == errc::file_not_found);
    }
    const std::string msg = rejection([] { (void)gguf_file::open(tmp_dir()); });
    CHECK(msg.find("not a regular file") != std::string::npos);
}

TEST_CASE("file text in messages is escaped and shortened") {
    auto g = small_valid_raw();
    g.kvs[3].key = "evil\nkey\x1b[31m" + std::string(500, 'k');
    g.kvs[4].key = g.kvs[3].key;
    const std::string msg = rejection([&] { (void)gguf_file::parse(encode(g), "evil.gguf"); });
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.find('\x1b') == std::string::npos);
    CHECK(msg.find("duplicate key 'evil\\nkey\\x1b[31mkkk") != std::string::npos);
    CHECK(msg.size() < 250);
}

}
