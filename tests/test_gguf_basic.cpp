#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>

#include "broken_gguf.hpp"
#include "common.hpp"
#include "ember/error.hpp"
#include "ember/gguf.hpp"

using namespace ember;

TEST_SUITE("gguf") {

TEST_CASE("writer output parses back with every metadata type") {
    gguf_writer w;
    w.set("u8", gguf_value::from_u8(200));
    w.set("i8", gguf_value::from_i8(-100));
    w.set("u16", gguf_value::from_u16(60000));
    w.set("i16", gguf_value::from_i16(-30000));
    w.set("u32", gguf_value::from_u32(4000000000u));
    w.set("i32", gguf_value::from_i32(-2000000000));
    w.set("u64", gguf_value::from_u64(~uint64_t(0)));
    w.set("i64", gguf_value::from_i64(-(int64_t(1) << 60)));
    w.set("f32", gguf_value::from_f32(1.5f));
    w.set("f64", gguf_value::from_f64(-2.25));
    w.set("bool", gguf_value::from_bool(true));
    w.set("str", gguf_value::from_string("h\xc3\xa9llo"));
    const float fl[] = {1.0f, -2.0f, 3.5f};
    w.set("arr.f32", gguf_value::from_array<float>(fl));
    w.set("arr.str", gguf_value::from_strings({"a", "", "ccc"}));
    w.set("arr.nested", gguf_value::from_arrays({gguf_value::from_strings({"x"}), gguf_value::from_array<float>(fl)}));
    w.set("arr.empty", gguf_value::from_strings({}));
    std::vector<float> data(64 * 3);
    for (size_t i = 0; i < data.size(); ++i) data[i] = float(i);
    const int64_t ne[] = {64, 3};
    w.add_tensor("t.weight", ggml_type::f32, ne, std::as_bytes(std::span(data)));
    const int64_t ne1[] = {32};
    std::vector<std::byte> q(34);
    w.add_tensor_copy("q", ggml_type::q8_0, ne1, q);

    const auto bytes = w.write_to_memory();
    const auto f = gguf_file::parse(bytes, "roundtrip.gguf");
    CHECK(f.version() == 3);
    CHECK(f.metadata().size() == 16);
    CHECK(f.get_int("u8") == 200);
    CHECK(f.get_int("i8") == -100);
    CHECK(f.get_int("u16") == 60000);
    CHECK(f.get_int("i16") == -30000);
    CHECK(f.get_u32("u32") == 4000000000u);
    CHECK(f.get_int("i32") == -2000000000);
    CHECK(f.find("u64")->to_uint() == ~uint64_t(0));
    CHECK_THROWS_AS(f.get_int("u64"), error);  // does not fit in i64
    CHECK(f.get_int("i64") == -(int64_t(1) << 60));
    CHECK(f.get_f32("f32") == 1.5f);
    CHECK(f.get_f32("f64") == -2.25f);
    CHECK(f.get_bool("bool"));
    CHECK(f.get_string("str") == "h\xc3\xa9llo");
    REQUIRE(f.get_f32_array("arr.f32").size() == 3);
    CHECK(f.get_f32_array("arr.f32")[2] == 3.5f);
    CHECK(f.get_string_array("arr.str")[2] == "ccc");
    CHECK(f.find("arr.nested")->arrays().size() == 2);
    CHECK(f.find("arr.nested")->arrays()[1].span<float>()[1] == -2.0f);
    CHECK(f.get_string_array("arr.empty").empty());

    REQUIRE(f.tensors().size() == 2);
    const gguf_tensor* t = f.find_tensor("t.weight");
    REQUIRE(t != nullptr);
    CHECK(t->ne[0] == 64);
    CHECK(t->ne[1] == 3);
    CHECK(t->nbytes == data.size() * 4);
    CHECK(std::memcmp(t->data, data.data(), t->nbytes) == 0);
    CHECK(uint64_t(t->data - f.storage()->bytes().data()) % 32 == 0);
    CHECK(f.find_tensor("q")->type == ggml_type::q8_0);
}

TEST_CASE("typed getters name the key and both types") {
    gguf_writer w;
    w.set_string("general.name", "x");
    w.set_u32("n", 3);
    const auto f = gguf_file::parse(w.write_to_memory(), "typed.gguf");
    try {
        (void)f.get_f32_array("general.name");
        FAIL("expected an error");
    } catch (const error& e) {
        const std::string msg = e.what();
        CHECK(e.code() == errc::bad_file);
        CHECK(msg.find("typed.gguf") != std::string::npos);
        CHECK(msg.find("general.name") != std::string::npos);
        CHECK(msg.find("array of f32") != std::string::npos);
        CHECK(msg.find("string") != std::string::npos);
    }
    CHECK_THROWS_WITH_AS(f.get_int("missing.key"), doctest::Contains("missing.key"), error);
    CHECK(f.get_int_or_array("n", 4) == std::vector<int64_t>{3, 3, 3, 3});
}

TEST_CASE("real models open with mmap and with plain reads") {
    for (bool mmap : {true, false}) {
        const auto f = gguf_file::open(test::shared("models/stories260K.gguf"), {.use_mmap = mmap});
        CHECK(f.is_mapped() == mmap);
        CHECK(f.get_string("general.architecture") == "llama");
        CHECK(f.get_string_array("tokenizer.ggml.tokens").size() == 512);
        CHECK(f.find_tensor("token_embd.weight") != nullptr);
    }
}

namespace {

test::named_file sample(std::string_view name) {
    for (auto& v : test::valid_samples())
        if (v.name == name) return v;
    FAIL("no sample " << name);
    return {};
}

std::string message_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const error& e) {
        CHECK(e.code() == errc::bad_file);
        return e.what();
    }
    FAIL("expected an ember::error");
    return {};
}

}  // namespace

TEST_CASE("v2 files parse exactly like v3 files") {
    const auto v2 = gguf_file::parse(test::small_valid_gguf(2), "v2.gguf");
    const auto v3 = gguf_file::parse(test::small_valid_gguf(3), "v3.gguf");
    CHECK(v2.version() == 2);
    CHECK(v3.version() == 3);
    REQUIRE(v2.metadata().size() == v3.metadata().size());
    for (size_t i = 0; i < v2.metadata().size(); ++i) {
        CHECK(v2.metadata()[i].key == v3.metadata()[i].key);
        CHECK(v2.metadata()[i].value.to_display_string(100) == v3.metadata()[i].value.to_display_string(100));
    }
    REQUIRE(v2.tensors().size() == 2);
    CHECK(v2.data_offset() == v3.data_offset());
    const gguf_tensor* b = v2.find_tensor("b.weight");
    REQUIRE(b != nullptr);
    CHECK(b->type == ggml_type::q8_0);
    CHECK(b->nbytes == 34);
    CHECK(b->offset == 64);
    CHECK(std::memcmp(b->data, v3.find_tensor("b.weight")->data, 34) == 0);
    CHECK(v2.find_tensor("a.weight")->nelements() == 16);
}

TEST_CASE("every scalar type, arrays of every element type, empty and nested arrays") {
    for (const char* name : {"every-value-v3", "every-value-v2"}) {
        CAPTURE(name);
        const auto f = gguf_file::parse(sample(name).bytes, name);
        CHECK(f.get_int("v.u8") == 250);
        CHECK(f.find("v.u8")->type() == gguf_type::uint8);
        CHECK(f.get_int("v.i8") == -7);
        CHECK(f.get_int("v.u16") == 65535);
        CHECK(f.get_int("v.i16") == -300);
        CHECK(f.get_u32("v.u32") == 4000000000u);
        CHECK(f.get_int("v.i32") == -123456);
        CHECK(f.get_f32("v.f32") == 0.125f);
        CHECK(f.get_bool("v.bool"));
        CHECK(f.get_bool("v.bool2"));  // any non-zero byte
        CHECK(f.get_string("v.string") == "tab\there \"q\" \xc3\xa9");
        CHECK(f.find("v.u64")->to_uint() == ~uint64_t(0));
        CHECK(f.get_int("v.i64") == std::numeric_limits<int64_t>::min());
        CHECK(f.find("v.f64")->to_double() == -1e300);
        CHECK(f.get_string("v.empty_string").empty());

        CHECK(f.find("arr.0")->span<uint8_t>()[2] == 3);
        CHECK(f.find("arr.1")->span<int8_t>()[0] == 1);
        CHECK(f.find("arr.2")->span<uint16_t>()[1] == 2000);
        CHECK(f.find("arr.3")->span<int16_t>()[2] == 3000);
        CHECK(f.find("arr.4")->span<uint32_t>()[2] == 300000u);
        CHECK(f.get_i32_array("arr.5")[1] == 200000);
        CHECK(f.get_f32_array("arr.6")[2] == 2.5f);
        const gguf_value& bools = *f.find("arr.7");
        CHECK(bools.element_type() == gguf_type::boolean);
        REQUIRE(bools.size() == 3);
        CHECK_FALSE(bools.element(0).as_bool());
        CHECK(bools.element(1).as_bool());
        CHECK(f.find("arr.10")->span<uint64_t>()[2] == uint64_t(1) << 42);
        CHECK(f.find("arr.11")->span<int64_t>()[0] == int64_t(1) << 40);
        CHECK(f.find("arr.12")->span<double>()[0] == -0.25);
        CHECK(f.get_string_array("arr.8")[2] == "zz");
        for (int et : {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 8}) {
            const gguf_value* e = f.find("arr.empty." + std::to_string(et));
            REQUIRE(e != nullptr);
            CHECK(e->is_array());
            CHECK(e->element_type() == gguf_type(et));
            CHECK(e->size() == 0);
            CHECK(e->to_display_string() == std::string(to_string(gguf_type(et))) + "[0] []");
        }
        CHECK(f.get_int_or_array("arr.5", 3) == std::vector<int64_t>{100000, 200000, 300000});
        CHECK(f.get_int_or_array("arr.0", 3) == std::vector<int64_t>{1, 2, 3});

        const gguf_value& nested = *f.find("arr.nested");
        CHECK(nested.element_type() == gguf_type::array);
        REQUIRE(nested.arrays().size() == 2);
        CHECK(nested.arrays()[0].span<int32_t>()[1] == 2);
        CHECK(nested.arrays()[1].element_type() == gguf_type::uint8);
        CHECK(nested.to_display_string() == "array[2] [i32[2] [1, 2], u8[0] []]");
        CHECK(f.find("arr.nested_strings")->to_display_string() == R"(array[2] [array[1] [string[1] ["x"]], array[0] []])");
        CHECK(f.find("arr.empty.array")->to_display_string() == "array[0] []");
        // Eight levels is the deepest the reader accepts (broken class nested_array_too_deep has nine).
        const gguf_value* deep = f.find("arr.deepest");
        int depth = 0;
        while (deep->element_type() == gguf_type::array) {
            REQUIRE(deep->arrays().size() == 1);
            deep = &deep->arrays()[0];
            ++depth;
        }
        CHECK(depth == 7);
        CHECK(f.find("v.string")->to_display_string() == R"("tab\there \"q\" é")");
        CHECK(f.find("arr.7")->to_display_string() == "bool[3] [false, true, false]");
    }
}

TEST_CASE("typed getters report the key, the expected and the actual type") {
    const auto f = gguf_file::parse(sample("every-value-v3").bytes, "getters.gguf");
    struct probe {
        std::function<void()> get;
        std::vector<std::string> expect;
    };
    const probe probes[] = {
        {[&] { (void)f.get_string("v.u32"); }, {"'v.u32'", "type u32", "expected string"}},
        {[&] { (void)f.get_int("v.string"); }, {"'v.string'", "type string", "expected an integer"}},
        {[&] { (void)f.get_int("v.bool"); }, {"'v.bool'", "type bool", "expected an integer"}},
        {[&] { (void)f.get_int("v.u64"); }, {"'v.u64'", "out of range"}},
        {[&] { (void)f.get_u32("v.i32"); }, {"'v.i32'", "-123456 is not a valid u32"}},
        {[&] { (void)f.get_f32("v.i32"); }, {"'v.i32'", "type i32", "expected f32"}},
        {[&] { (void)f.get_bool("v.u8"); }, {"'v.u8'", "type u8", "expected bool"}},
        {[&] { (void)f.get_string_array("arr.6"); }, {"'arr.6'", "type array of f32", "expected array of string"}},
        {[&] { (void)f.get_f32_array("arr.12"); }, {"'arr.12'", "type array of f64", "expected array of f32"}},
        {[&] { (void)f.get_i32_array("arr.4"); }, {"'arr.4'", "type array of u32", "expected array of i32"}},
        {[&] { (void)f.get_i32_array("v.i32"); }, {"'v.i32'", "type i32", "expected array of i32"}},
        {[&] { (void)f.get_int_or_array("arr.nested", 2); }, {"'arr.nested'", "array of array"}},
        {[&] { (void)f.get_int_or_array("arr.6", 3); }, {"'arr.6'", "array of f32"}},
        {[&] { (void)f.get_int_or_array("arr.5", 4); }, {"'arr.5'", "3 elements", "(4)"}},
        {[&] { (void)f.get_string("no.such.key"); }, {"'no.such.key'", "missing"}},
    };
    for (const auto& p : probes) {
        const std::string msg = message_of(p.get);
        CAPTURE(msg);
        CHECK(msg.find("getters.gguf") == 0);
        for (const auto& e : p.expect) CHECK(msg.find(e) != std::string::npos);
    }
    CHECK_FALSE(f.get_u32_opt("no.such.key").has_value());
    CHECK(f.get_u32_opt("v.u8") == 250u);
}

TEST_CASE("alignment 64: data section and tensors on 64-byte boundaries") {
    const auto raw = gguf_file::parse(sample("alignment-64").bytes, "a64.gguf");
    CHECK(raw.alignment() == 64);
    CHECK(raw.data_offset() % 64 == 0);
    CHECK(raw.find_tensor("b.weight")->offset == 64);

    gguf_writer w;
    w.set_alignment(64);
    std::vector<float> x(40, 0.5f);
    const int64_t ne[] = {40};
    w.add_tensor("x", ggml_type::f32, ne, std::as_bytes(std::span(x)));
    w.add_tensor("y", ggml_type::f32, ne, std::as_bytes(std::span(x)));
    const auto f = gguf_file::parse(w.write_to_memory(), "w64.gguf");
    CHECK(f.alignment() == 64);
    CHECK(f.get_u32("general.alignment") == 64);
    CHECK(f.data_offset() % 64 == 0);
    CHECK(f.find_tensor("y")->offset == 192);  // 160 bytes of x padded to 192
    for (const auto& t : f.tensors()) CHECK(uint64_t(t.data - f.storage()->bytes().data()) % 64 == 0);
    CHECK(f.find_tensor("y")->data[0] == std::as_bytes(std::span(x))[0]);
}

TEST_CASE("files without tensors, with and without padding") {
    for (const char* name : {"no-tensors", "no-tensors-unpadded", "empty"}) {
        CAPTURE(name);
        const auto s = sample(name);
        const auto f = gguf_file::parse(s.bytes, name);
        CHECK(f.tensors().empty());
        CHECK(f.data_offset() == s.bytes.size());  // never past the end of the file
        CHECK(f.metadata().size() == (std::string_view(name) == "empty" ? 0u : 5u));
    }
    gguf_writer w;
    w.set_string("general.name", "none");
    const auto f = gguf_file::parse(w.write_to_memory(), "writer-none.gguf");
    CHECK(f.tensors().empty());
    CHECK(f.get_string("general.name") == "none");
}

TEST_CASE("keys, names and strings keep their bytes; displays escape them") {
    const auto f = gguf_file::parse(sample("odd-names").bytes, "odd.gguf");
    CHECK(f.get_u32("odd\nkey\x1b[2J") == 7);
    CHECK(f.get_u32(std::string(300, 'k')) == 1);
    CHECK(f.get_string("general.architecture") == "line1\nline2\x1b[31m\x7f");
    CHECK(f.find("general.architecture")->to_display_string() == R"("line1\nline2\x1b[31m\x7f")");
    CHECK(f.find_tensor("tensor\nwith\x07" "bell") != nullptr);
    CHECK(f.find_tensor("\xc3\xa9t\xc3\xa9")->type == ggml_type::q8_0);
    // Long strings are cut at a character boundary, never inside a UTF-8 sequence.
    gguf_writer w;
    std::string accents;
    for (int i = 0; i < 40; ++i) accents += "\xc3\xa9";  // 80 bytes
    w.set_string("s", "x" + accents);                    // byte 60 falls inside a character
    const auto g = gguf_file::parse(w.write_to_memory(), "utf8.gguf");
    const std::string shown = g.find("s")->to_display_string();
    CHECK(shown == "\"x" + accents.substr(0, 58) + "...\"");
}

TEST_CASE("every listed tensor type id is accepted with the right byte size") {
    const auto f = gguf_file::parse(sample("every-type").bytes, "types.gguf");
    REQUIRE(f.tensors().size() == 34);
    for (const auto& t : f.tensors()) {
        CAPTURE(t.name);
        const auto& ti = info(t.type);
        CHECK(t.name == "type" + std::to_string(uint32_t(t.type)));
        CHECK(t.ne[0] == ti.block_size);
        CHECK(t.nbytes == 2 * ti.block_bytes);
        CHECK(t.row_bytes() == ti.block_bytes);
    }
    // Spot checks against formats.md §1.9 rather than ember's own table.
    CHECK(f.find_tensor("type12")->nbytes == 2 * 144);  // Q4_K
    CHECK(f.find_tensor("type14")->nbytes == 2 * 210);  // Q6_K
    CHECK(f.find_tensor("type30")->nbytes == 2 * 2);    // BF16
}

TEST_CASE("copies of a parsed file stay valid after the original is gone") {
    std::optional<gguf_file> original = gguf_file::parse(test::small_valid_gguf(), "copy.gguf");
    gguf_file copy = *original;
    gguf_file assigned;
    assigned = *original;
    original.reset();
    for (const gguf_file* f : {&copy, &assigned}) {
        CHECK(f->get_string("general.architecture") == "ember-test");
        CHECK(f->get_u32("test.u32") == 7);
        REQUIRE(f->find_tensor("b.weight") != nullptr);
        CHECK(f->find_tensor("b.weight")->data[0] == std::byte{0x00});  // fp16 1.0 = 0x3C00, little-endian
        CHECK(f->find_tensor("b.weight")->data[1] == std::byte{0x3C});
    }
}

TEST_CASE("every GGUF file in the shared folder opens, mapped and read") {
    size_t n = 0;
    for (const char* sub : {"models", "vocab"}) {
        for (const auto& e : std::filesystem::directory_iterator(test::shared_dir() / sub)) {
            if (e.path().extension() != ".gguf") continue;
            CAPTURE(e.path().string());
            const auto mapped = gguf_file::open(e.path());
            const auto read = gguf_file::open(e.path(), {.use_mmap = false});
            CHECK(mapped.version() == 3);
            CHECK(mapped.metadata().size() == read.metadata().size());
            CHECK(mapped.tensors().size() == read.tensors().size());
            CHECK(mapped.data_offset() <= mapped.file_size());
            CHECK_FALSE(mapped.get_string_array("tokenizer.ggml.tokens").empty());
            if (std::string_view(sub) == "models") CHECK(mapped.tensors().size() > 10);
            for (const auto& t : mapped.tensors()) CHECK(t.data + t.nbytes <= mapped.storage()->bytes().data() + mapped.file_size());
            ++n;
        }
    }
    CHECK(n >= 15);
}

}
