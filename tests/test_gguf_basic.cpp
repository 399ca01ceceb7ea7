#include <cstring>

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

}
