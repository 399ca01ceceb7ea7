// Container-level broken GGUF files, written field by field with byte_builder from a small
// valid baseline; each class changes or cuts one thing and states what the reader's message
// must say about it (the offset of the offending field, the key or tensor, the value).
#include "broken_gguf.hpp"

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <stdexcept>

namespace ember::test {

// ---- byte_builder and the record encoder ----

template <class T> byte_builder& byte_builder::put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const size_t n = out_.size();  // resize + memcpy: GCC 12 misreports insert() of a few bytes
    out_.resize(n + sizeof v);
    std::memcpy(out_.data() + n, &v, sizeof v);  // the host is little-endian
    return *this;
}

byte_builder& byte_builder::str(std::string_view s) {
    u64(s.size());
    return raw(s);
}

byte_builder& byte_builder::raw(std::span<const std::byte> b) {
    const size_t n = out_.size();
    out_.resize(n + b.size());
    if (!b.empty()) std::memcpy(out_.data() + n, b.data(), b.size());
    return *this;
}

byte_builder& byte_builder::raw(std::string_view s) { return raw(std::as_bytes(std::span(s.data(), s.size()))); }

byte_builder& byte_builder::zeros(size_t n) {
    out_.insert(out_.end(), n, std::byte{0});
    return *this;
}

byte_builder& byte_builder::pad_to(uint64_t alignment) {
    const uint64_t r = out_.size() % alignment;
    return r ? zeros(size_t(alignment - r)) : *this;
}

std::vector<std::byte> encode(const raw_gguf& g, raw_layout* layout) {
    raw_layout l;
    byte_builder b;
    b.u32(g.magic).u32(g.version);
    b.i64(g.n_tensors.value_or(int64_t(g.tensors.size())));
    b.i64(g.n_kv.value_or(int64_t(g.kvs.size())));
    for (const auto& kv : g.kvs) {
        l.kv_at.push_back(b.size());
        b.str(kv.key);
        l.kv_type_at.push_back(b.size());
        b.i32(kv.type);
        l.kv_value_at.push_back(b.size());
        b.raw(kv.value);
    }
    for (const auto& t : g.tensors) {
        l.tensor_at.push_back(b.size());
        b.str(t.name);
        l.tensor_dims_at.push_back(b.size());
        b.u32(t.n_dims.value_or(uint32_t(t.dims.size())));
        for (auto d : t.dims) b.i64(d);
        l.tensor_type_at.push_back(b.size());
        b.i32(t.type);
        l.tensor_offset_at.push_back(b.size());
        b.u64(t.offset);
    }
    l.infos_end = b.size();
    if (g.pad_before_data) b.pad_to(g.alignment);
    l.data_at = b.size();
    b.raw(g.data);
    if (layout) *layout = std::move(l);
    return std::move(b.bytes());
}

std::vector<std::byte> value_u32(uint32_t v) { return std::move(byte_builder().u32(v).bytes()); }
std::vector<std::byte> value_u64(uint64_t v) { return std::move(byte_builder().u64(v).bytes()); }
std::vector<std::byte> value_string(std::string_view s) { return std::move(byte_builder().str(s).bytes()); }
std::vector<std::byte> value_array(int32_t elem_type, uint64_t count, std::span<const std::byte> elements) {
    return std::move(byte_builder().i32(elem_type).u64(count).raw(elements).bytes());
}

// ---- the baseline ----

namespace {

constexpr int32_t t_u8 = 0, t_u32 = 4, t_i32 = 5, t_f32 = 6, t_string = 8, t_array = 9, t_u64 = 10;
constexpr int32_t ggml_f32 = 0, ggml_q8_0 = 8;

raw_kv kv(std::string key, int32_t type, std::vector<std::byte> value) { return {std::move(key), type, std::move(value)}; }

// Array of arrays: [i32[1, 2], u8[]].
std::vector<std::byte> nested_value() {
    byte_builder inner;
    inner.i32(t_i32).u64(2).i32(1).i32(2);
    inner.i32(t_u8).u64(0);
    return value_array(t_array, 2, inner.bytes());
}

// `levels` arrays inside each other, the innermost an empty u8 array.
std::vector<std::byte> deep_value(int levels) {
    byte_builder b;
    for (int i = 0; i + 1 < levels; ++i) b.i32(t_array).u64(1);
    b.i32(t_u8).u64(0);
    return std::move(b.bytes());
}

std::vector<std::byte> baseline_data() {
    byte_builder b;
    for (int i = 0; i < 16; ++i) b.f32(float(i) * 0.25f - 1.0f);  // a.weight, [8, 2] F32
    b.u16(0x3C00);                                                 // b.weight, one Q8_0 block: d = 1.0
    for (int i = 0; i < 32; ++i) b.u8(uint8_t(int8_t(i - 16)));
    b.pad_to(32);
    return std::move(b.bytes());
}

}  // namespace

raw_gguf small_valid_raw(uint32_t version) {
    raw_gguf g;
    g.version = version;
    g.kvs.push_back(kv("general.architecture", t_string, value_string("ember-test")));
    g.kvs.push_back(kv("test.u32", t_u32, value_u32(7)));
    {
        byte_builder e;
        e.str("a").str("bc").str("def");
        g.kvs.push_back(kv("test.tokens", t_array, value_array(t_string, 3, e.bytes())));
    }
    {
        byte_builder e;
        e.f32(0.5f).f32(-1.0f).f32(2.0f);
        g.kvs.push_back(kv("test.scores", t_array, value_array(t_f32, 3, e.bytes())));
    }
    g.kvs.push_back(kv("test.nested", t_array, nested_value()));
    g.tensors.push_back({"a.weight", {}, {8, 2}, ggml_f32, 0});
    g.tensors.push_back({"b.weight", {}, {32}, ggml_q8_0, 64});
    g.data = baseline_data();
    return g;
}

std::vector<std::byte> small_valid_gguf(uint32_t version) { return encode(small_valid_raw(version)); }

// ---- container classes ----

namespace {

void patch_u64(std::vector<std::byte>& b, uint64_t at, uint64_t v) { std::memcpy(b.data() + at, &v, sizeof v); }
void patch_i32(std::vector<std::byte>& b, uint64_t at, int32_t v) { std::memcpy(b.data() + at, &v, sizeof v); }
std::string at(uint64_t offset) { return fmt::format("offset {}:", offset); }

struct container_case {
    raw_gguf g = small_valid_raw();
    raw_layout l;
    std::vector<std::byte> bytes;

    // Encodes g (after the case changed it) and records its layout. Call it as a statement
    // before using `l`: the order in which function arguments are evaluated is unspecified.
    void build() { bytes = encode(g, &l); }
    broken_file done(std::vector<std::string> expect) { return {std::move(bytes), std::move(expect)}; }
    broken_file cut(uint64_t n, std::vector<std::string> expect) {
        if (n >= bytes.size()) throw std::logic_error("broken_gguf: truncation point past the end");
        bytes.resize(n);
        return done(std::move(expect));
    }
    // Truncations inside the metadata: the header claims only keys 0..n-1 and no tensors, so
    // that the cut is what the reader trips over (a header promising more records than the
    // remaining bytes can hold is rejected before any key is read).
    void only_kvs(size_t n) {
        g.n_kv = int64_t(n);
        g.tensors.clear();
        g.data.clear();
    }
    void add_alignment(std::vector<std::byte> value, int32_t type = t_u32) { g.kvs.push_back(kv("general.alignment", type, std::move(value))); }
};

broken_file make_container(broken_kind k) {
    using enum broken_kind;
    container_case c;
    auto& g = c.g;
    switch (k) {
        // header
        case empty_file: return {{}, {at(0), "magic", "truncated"}};
        case truncated_magic: c.build(); return c.cut(2, {at(0), "magic", "truncated"});
        case bad_magic:
            g.magic = 0x4c4d4747;  // "GGML"
            c.build();
            return c.done({at(0), "not a GGUF file", "47474d4c"});
        case truncated_version: c.build(); return c.cut(6, {at(4), "version", "truncated"});
        case version_0: g.version = 0; c.build(); return c.done({at(4), "version 0"});
        case version_1: g.version = 1; c.build(); return c.done({at(4), "version 1"});
        case version_4: g.version = 4; c.build(); return c.done({at(4), "version 4"});
        case version_big_endian: g.version = 0x03000000; c.build(); return c.done({at(4), "big-endian", "0x3000000"});
        case truncated_tensor_count: c.build(); return c.cut(12, {at(8), "tensor count", "truncated"});
        case truncated_kv_count: c.build(); return c.cut(20, {at(16), "metadata count", "truncated"});
        case negative_tensor_count: g.n_tensors = -1; c.build(); return c.done({at(8), "negative tensor count -1"});
        case negative_kv_count:
            g.n_kv = std::numeric_limits<int64_t>::min();
            c.build();
            return c.done({at(16), "negative metadata count -9223372036854775808"});
        case huge_tensor_count: g.n_tensors = int64_t(1) << 62; c.build(); return c.done({at(8), "tensor count 4611686018427387904 cannot fit"});
        case huge_kv_count:
            g.n_kv = std::numeric_limits<int64_t>::max();
            c.build();
            return c.done({at(16), "metadata count 9223372036854775807 cannot fit"});
        case kv_count_exceeds_records: {
            g.n_kv = int64_t(g.kvs.size()) + 1;
            g.tensors.clear();
            g.data.clear();
            g.pad_before_data = false;
            c.build();
            const uint64_t end = c.bytes.size();
            return c.done({at(end), "metadata 5: key length", "truncated"});
        }
        case tensor_count_exceeds_records: g.n_tensors = 3; c.build(); return c.done({"tensor info 2"});

        // metadata keys (key 1 is "test.u32")
        case truncated_key_length:
            c.only_kvs(2);
            c.build();
            return c.cut(c.l.kv_at[1] + 4, {at(c.l.kv_at[1]), "metadata 1: key length", "truncated"});
        case truncated_key:
            c.only_kvs(2);
            c.build();
            return c.cut(c.l.kv_at[1] + 8 + 3, {at(c.l.kv_at[1]), "metadata 1: key", "string length 8 but only 3"});
        case huge_key_length:
            c.build();
            patch_u64(c.bytes, c.l.kv_at[1], uint64_t(1) << 40);
            return c.done({at(c.l.kv_at[1]), "metadata 1: key", "string length 1099511627776 exceeds the limit"});
        case empty_key: g.kvs[1].key.clear(); c.build(); return c.done({at(c.l.kv_at[1]), "metadata 1: empty key"});
        case duplicate_key: g.kvs[3].key = "test.u32"; c.build(); return c.done({at(c.l.kv_at[3]), "duplicate key 'test.u32'", "also metadata 1"});

        // metadata values
        case truncated_value_type:
            c.only_kvs(2);
            c.build();
            return c.cut(c.l.kv_type_at[1] + 2, {at(c.l.kv_type_at[1]), "key 'test.u32': value type", "truncated"});
        case invalid_value_type: g.kvs[1].type = 13; c.build(); return c.done({at(c.l.kv_type_at[1]), "key 'test.u32'", "invalid value type 13"});
        case negative_value_type: g.kvs[1].type = -1; c.build(); return c.done({at(c.l.kv_type_at[1]), "key 'test.u32'", "invalid value type -1"});
        case truncated_scalar_value:
            c.only_kvs(2);
            c.build();
            return c.cut(c.l.kv_value_at[1] + 2, {at(c.l.kv_value_at[1]), "key 'test.u32': u32 value", "truncated"});
        case truncated_string_value:
            c.only_kvs(1);
            c.build();
            return c.cut(c.l.kv_value_at[0] + 8 + 4,
                         {at(c.l.kv_value_at[0]), "key 'general.architecture': string value", "string length 10 but only 4"});
        case huge_string_length:
            c.build();
            patch_u64(c.bytes, c.l.kv_value_at[0], uint64_t(1) << 31);
            return c.done({at(c.l.kv_value_at[0]), "key 'general.architecture'", "string length 2147483648 exceeds the limit"});
        case string_length_past_eof:
            c.build();
            patch_u64(c.bytes, c.l.kv_value_at[0], 1000000);
            return c.done({at(c.l.kv_value_at[0]), "key 'general.architecture'", "string length 1000000 but only"});

        // arrays (key 2: test.tokens, string[3]; key 3: test.scores, f32[3]; key 4: test.nested)
        case truncated_array_element_type:
            c.only_kvs(3);
            c.build();
            return c.cut(c.l.kv_value_at[2] + 1, {at(c.l.kv_value_at[2]), "key 'test.tokens': array element type", "truncated"});
        case truncated_array_length:
            c.only_kvs(3);
            c.build();
            return c.cut(c.l.kv_value_at[2] + 4 + 3, {at(c.l.kv_value_at[2] + 4), "key 'test.tokens': array length", "truncated"});
        case invalid_array_element_type:
            c.build();
            patch_i32(c.bytes, c.l.kv_value_at[3], 13);
            return c.done({at(c.l.kv_value_at[3]), "key 'test.scores': array element type", "invalid value type 13"});
        case huge_array_length:
            c.build();
            patch_u64(c.bytes, c.l.kv_value_at[3] + 4, uint64_t(1) << 60);
            return c.done({at(c.l.kv_value_at[3] + 4), "key 'test.scores'", "array of 1152921504606846976 f32 elements cannot fit"});
        case huge_string_array_length:
            c.build();
            patch_u64(c.bytes, c.l.kv_value_at[2] + 4, ~uint64_t(0));
            return c.done({at(c.l.kv_value_at[2] + 4), "key 'test.tokens'", "array of 18446744073709551615 string elements cannot fit"});
        case truncated_array_elements:
            c.only_kvs(4);
            c.build();
            return c.cut(c.l.kv_value_at[3] + 12 + 6, {at(c.l.kv_value_at[3] + 4), "key 'test.scores'", "array of 3 f32 elements cannot fit"});
        case truncated_string_array:
            // Elements: "a" (9 bytes), "bc" (10), "def" (11); cut one byte into "def" (earlier cuts
            // leave less than the 24 bytes three strings need at least, a different error).
            c.only_kvs(3);
            c.build();
            return c.cut(c.l.kv_value_at[2] + 12 + 19 + 8 + 1,
                         {at(c.l.kv_value_at[2] + 12 + 19), "key 'test.tokens': element 2", "string length 3 but only 1"});
        case nested_array_too_deep:
            g.kvs[4].value = deep_value(9);
            c.build();
            return c.done({at(c.l.kv_value_at[4] + 8 * 12), "key 'test.nested'", "nested deeper than 8"});
        case truncated_nested_array:
            // Outer header (12 bytes), first inner array (20), then 6 bytes of the second one.
            c.only_kvs(5);
            c.build();
            return c.cut(c.l.kv_value_at[4] + 12 + 20 + 6, {at(c.l.kv_value_at[4] + 36), "key 'test.nested': array length", "truncated"});
        case invalid_nested_element_type:
            c.build();
            patch_i32(c.bytes, c.l.kv_value_at[4] + 12, 13);
            return c.done({at(c.l.kv_value_at[4] + 12), "key 'test.nested': array element type", "invalid value type 13"});

        // general.alignment (appended as key 5)
        case alignment_zero: c.add_alignment(value_u32(0)); c.build(); return c.done({at(c.l.kv_type_at[5]), "general.alignment 0 must be a power of two"});
        case alignment_not_power_of_two:
            c.add_alignment(value_u32(48));
            c.build();
            return c.done({at(c.l.kv_type_at[5]), "general.alignment 48 must be a power of two"});
        case alignment_too_large:
            c.add_alignment(value_u32(1u << 24));
            c.build();
            return c.done({at(c.l.kv_type_at[5]), "general.alignment 16777216", "1048576"});
        case alignment_wrong_type:
            c.add_alignment(value_u64(32), t_u64);
            c.build();
            return c.done({at(c.l.kv_type_at[5]), "general.alignment must be of type u32, found u64"});
        case alignment_array: {
            const auto one = value_u32(32);
            c.add_alignment(value_array(t_u32, 1, one), t_array);
            c.build();
            return c.done({at(c.l.kv_type_at[5]), "general.alignment must be of type u32, found array of u32"});
        }

        // tensor infos (tensor 0: a.weight [8, 2] F32 at 0; tensor 1: b.weight [32] Q8_0 at 64)
        case truncated_tensor_name:
            c.build();
            return c.cut(c.l.tensor_at[1] + 8 + 2, {at(c.l.tensor_at[1]), "tensor info 1: name", "truncated"});
        case empty_tensor_name: g.tensors[1].name.clear(); c.build(); return c.done({at(c.l.tensor_at[1]), "tensor info 1: empty tensor name"});
        case duplicate_tensor_name:
            g.tensors[1].name = "a.weight";
            c.build();
            return c.done({at(c.l.tensor_at[1]), "duplicate tensor name 'a.weight'", "also tensor info 0"});
        case tensor_name_too_long:
            g.tensors[1].name.assign(1025, 'x');
            c.build();
            return c.done({at(c.l.tensor_at[1]), "tensor info 1", "1025 bytes is longer than 1024"});
        case truncated_n_dims:
            c.build();
            return c.cut(c.l.tensor_dims_at[1] + 2, {at(c.l.tensor_dims_at[1]), "tensor 'b.weight': n_dims", "truncated"});
        case n_dims_zero:
            g.tensors[1].dims.clear();
            c.build();
            return c.done({at(c.l.tensor_dims_at[1]), "tensor 'b.weight'", "n_dims is 0"});
        case n_dims_five:
            g.tensors[1].dims = {32, 1, 1, 1, 1};
            c.build();
            return c.done({at(c.l.tensor_dims_at[1]), "tensor 'b.weight'", "n_dims is 5"});
        case truncated_dims:
            c.build();
            return c.cut(c.l.tensor_dims_at[0] + 4 + 8 + 3, {at(c.l.tensor_dims_at[0] + 12), "tensor 'a.weight': dimension 1", "truncated"});
        case zero_dim:
            g.tensors[0].dims = {8, 0};
            c.build();
            return c.done({at(c.l.tensor_dims_at[0] + 12), "tensor 'a.weight'", "dimension 1 is 0"});
        case negative_dim:
            g.tensors[0].dims = {-8, 2};
            c.build();
            return c.done({at(c.l.tensor_dims_at[0] + 4), "tensor 'a.weight'", "dimension 0 is -8"});
        case dims_product_overflow:
            g.tensors[0].dims = {int64_t(1) << 32, int64_t(1) << 32};
            c.build();
            return c.done({at(c.l.tensor_dims_at[0] + 12), "tensor 'a.weight'", "element count overflows at dimension 1"});
        case tensor_bytes_overflow:  // 2^62 elements fit in i64, their 2^64 bytes do not
            g.tensors[0].dims = {int64_t(1) << 40, int64_t(1) << 22};
            c.build();
            return c.done({at(c.l.tensor_type_at[0]), "tensor 'a.weight'", "exceeds the file size"});
        case tensor_larger_than_file:
            g.tensors[0].dims = {1024, 1024};
            c.build();
            return c.done({at(c.l.tensor_type_at[0]), "tensor 'a.weight'", "[1024, 1024] as F32 exceeds the file size"});
        case truncated_tensor_type:
            c.build();
            return c.cut(c.l.tensor_type_at[1] + 2, {at(c.l.tensor_type_at[1]), "tensor 'b.weight': type", "truncated"});
        case unknown_type_id: g.tensors[1].type = 99; c.build(); return c.done({at(c.l.tensor_type_at[1]), "tensor 'b.weight'", "unknown tensor type id 99"});
        case type_id_past_last: g.tensors[1].type = 42; c.build(); return c.done({at(c.l.tensor_type_at[1]), "unknown tensor type id 42"});
        case negative_type_id: g.tensors[1].type = -1; c.build(); return c.done({at(c.l.tensor_type_at[1]), "unknown tensor type id -1"});
        case removed_type_id_4: g.tensors[1].type = 4; c.build(); return c.done({at(c.l.tensor_type_at[1]), "removed", "type id 4"});
        case removed_type_id_31: g.tensors[1].type = 31; c.build(); return c.done({at(c.l.tensor_type_at[1]), "removed", "type id 31"});
        case removed_type_id_36: g.tensors[1].type = 36; c.build(); return c.done({at(c.l.tensor_type_at[1]), "removed", "type id 36"});
        case row_not_block_multiple:
            g.tensors[1].dims = {48};
            c.build();
            return c.done({at(c.l.tensor_type_at[1]), "tensor 'b.weight'", "row length 48 is not a multiple of the Q8_0 block size 32"});
        case truncated_offset:
            c.build();
            return c.cut(c.l.tensor_offset_at[1] + 5, {at(c.l.tensor_offset_at[1]), "tensor 'b.weight': data offset", "truncated"});
        case misaligned_offset:
            g.tensors[1].offset = 80;
            c.build();
            return c.done({at(c.l.tensor_offset_at[1]), "data offset 80 is not a multiple of the alignment 32"});
        case misaligned_offset_alignment_64:  // aligned for the default 32, not for the file's 64
            c.add_alignment(value_u32(64));
            g.alignment = 64;
            g.tensors[1].offset = 96;
            c.build();
            return c.done({at(c.l.tensor_offset_at[1]), "data offset 96 is not a multiple of the alignment 64"});

        // data section (128 bytes: a.weight at 0, b.weight at 64, 34 bytes + padding)
        case offset_past_eof:
            g.tensors[1].offset = uint64_t(1) << 20;
            c.build();
            return c.done({at(c.l.tensor_offset_at[1]), "tensor 'b.weight'", "+ 1048576 (34 bytes) lies outside the file"});
        case tensor_end_past_eof:
            g.tensors[1].offset = 96;
            c.build();
            return c.done({at(c.l.tensor_offset_at[1]), "tensor 'b.weight'", "+ 96 (34 bytes) lies outside the file"});
        case offset_wraps_around:
            g.tensors[1].offset = ~uint64_t(31);
            c.build();
            return c.done({at(c.l.tensor_offset_at[1]), "tensor 'b.weight'", "+ 18446744073709551584 (34 bytes) lies outside the file"});
        case offset_plus_size_wraps: {  // data start + offset = 2^64 - 32 fits; adding 34 bytes wraps
            c.build();
            const uint64_t offset = ~uint64_t(31) - c.l.data_at;
            g.tensors[1].offset = offset;
            c.build();
            return c.done({at(c.l.tensor_offset_at[1]), "tensor 'b.weight'", fmt::format("+ {} (34 bytes) lies outside the file", offset)});
        }
        case truncated_before_data:
            c.build();
            return c.cut(c.l.infos_end, {at(c.l.infos_end), "data section would start at offset " + std::to_string(c.l.data_at)});
        case truncated_in_padding:
            c.build();
            return c.cut(c.l.infos_end + 1, {at(c.l.infos_end), "data section would start at offset " + std::to_string(c.l.data_at)});
        case truncated_first_tensor_data:
            c.build();
            return c.cut(c.l.data_at + 10, {at(c.l.tensor_offset_at[0]), "tensor 'a.weight'", "lies outside the file"});
        case truncated_last_tensor_data:
            c.build();
            return c.cut(c.l.data_at + 64 + 20, {at(c.l.tensor_offset_at[1]), "tensor 'b.weight'", "lies outside the file"});
        default: break;
    }
    throw std::logic_error(fmt::format("broken_gguf: no container generator for class {}", int(k)));
}

constexpr broken_case k_cases[] = {
#define EMBER_X(level, name) {broken_kind::name, broken_level::level, #name},
    EMBER_BROKEN_GGUF_CASES(EMBER_X)
#undef EMBER_X
};

}  // namespace

broken_file make_model_broken(broken_kind k);  // broken_gguf_model.cpp

std::span<const broken_case> broken_cases() { return k_cases; }

std::string_view to_string(broken_level l) { return l == broken_level::container ? "container" : "model"; }

broken_file make_broken(broken_kind k) {
    const auto i = size_t(k);
    if (i >= std::size(k_cases)) throw std::invalid_argument("broken_gguf: unknown class");
    return k_cases[i].level == broken_level::container ? make_container(k) : make_model_broken(k);
}

// ---- valid samples ----

namespace {

// One tensor of two rows per listed type id, with ids, block sizes and block bytes written out
// here (formats.md §1.9 and ggml's block structs) rather than taken from ember's own table.
raw_gguf every_type_raw() {
    struct t {
        int32_t id;
        int64_t block;
        uint64_t bytes;
    };
    static constexpr t k_types[] = {
        {0, 1, 4},      {1, 1, 2},      {2, 32, 18},    {3, 32, 20},    {6, 32, 22},    {7, 32, 24},    {8, 32, 34},
        {9, 32, 36},    {10, 256, 84},  {11, 256, 110}, {12, 256, 144}, {13, 256, 176}, {14, 256, 210}, {15, 256, 292},
        {16, 256, 66},  {17, 256, 74},  {18, 256, 98},  {19, 256, 50},  {20, 32, 18},   {21, 256, 110}, {22, 256, 82},
        {23, 256, 136}, {24, 1, 1},     {25, 1, 2},     {26, 1, 4},     {27, 1, 8},     {28, 1, 8},     {29, 256, 56},
        {30, 1, 2},     {34, 256, 54},  {35, 256, 66},  {39, 32, 17},   {40, 64, 36},   {41, 128, 18},
    };
    raw_gguf g;
    g.kvs.push_back(kv("general.architecture", t_string, value_string("every-type")));
    uint64_t offset = 0;
    for (const auto& e : k_types) {
        g.tensors.push_back({fmt::format("type{}", e.id), {}, {e.block, 2}, e.id, offset});
        offset += (2 * e.bytes + 31) / 32 * 32;
    }
    g.data.resize(size_t(offset));
    for (size_t i = 0; i < g.data.size(); ++i) g.data[i] = std::byte(i * 7 + 1);
    return g;
}

// Every scalar type, arrays of every element type (including bool), an empty array of every
// element type, nested arrays as deep as the reader allows, awkward strings.
raw_gguf every_value_raw(uint32_t version) {
    raw_gguf g;
    g.version = version;
    auto scalar = [&](std::string key, int32_t type, std::vector<std::byte> v) { g.kvs.push_back(kv(std::move(key), type, std::move(v))); };
    scalar("v.u8", 0, byte_builder().u8(250).bytes());
    scalar("v.i8", 1, byte_builder().u8(uint8_t(int8_t(-7))).bytes());
    scalar("v.u16", 2, byte_builder().u16(65535).bytes());
    scalar("v.i16", 3, byte_builder().u16(uint16_t(int16_t(-300))).bytes());
    scalar("v.u32", 4, byte_builder().u32(4000000000u).bytes());
    scalar("v.i32", 5, byte_builder().i32(-123456).bytes());
    scalar("v.f32", 6, byte_builder().f32(0.125f).bytes());
    scalar("v.bool", 7, byte_builder().u8(1).bytes());
    scalar("v.bool2", 7, byte_builder().u8(2).bytes());  // any non-zero byte is true
    scalar("v.string", 8, byte_builder().str("tab\there \"q\" \xc3\xa9").bytes());
    scalar("v.u64", 10, byte_builder().u64(~uint64_t(0)).bytes());
    scalar("v.i64", 11, byte_builder().i64(std::numeric_limits<int64_t>::min()).bytes());
    scalar("v.f64", 12, byte_builder().f64(-1e300).bytes());
    scalar("v.empty_string", 8, byte_builder().str("").bytes());
    // Arrays of every element type: three elements each, then an empty one.
    for (int32_t et : {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 8}) {
        byte_builder e;
        for (int i = 0; i < 3; ++i) {
            switch (et) {
                case 0: case 1: e.u8(uint8_t(i + 1)); break;
                case 7: e.u8(uint8_t(i % 2)); break;
                case 2: case 3: e.u16(uint16_t(1000 * (i + 1))); break;
                case 4: case 5: e.u32(uint32_t(100000 * (i + 1))); break;
                case 6: e.f32(float(i) + 0.5f); break;
                case 10: case 11: e.u64(uint64_t(1) << (40 + i)); break;
                case 12: e.f64(double(i) - 0.25); break;
                case 8: e.str(std::string(size_t(i), 'z')); break;
                default: break;
            }
        }
        g.kvs.push_back(kv(fmt::format("arr.{}", et), t_array, value_array(et, 3, e.bytes())));
        g.kvs.push_back(kv(fmt::format("arr.empty.{}", et), t_array, value_array(et, 0, {})));
    }
    g.kvs.push_back(kv("arr.nested", t_array, nested_value()));
    g.kvs.push_back(kv("arr.deepest", t_array, deep_value(8)));
    g.kvs.push_back(kv("arr.empty.array", t_array, value_array(t_array, 0, {})));
    {
        byte_builder inner;  // [[["x"]], []] : strings two levels down
        inner.i32(t_array).u64(1).i32(t_string).u64(1).str("x");
        inner.i32(t_array).u64(0);
        g.kvs.push_back(kv("arr.nested_strings", t_array, value_array(t_array, 2, inner.bytes())));
    }
    return g;
}

}  // namespace

std::vector<named_file> valid_samples() {
    std::vector<named_file> out;
    out.push_back({"baseline-v3", small_valid_gguf(3)});
    out.push_back({"baseline-v2", small_valid_gguf(2)});
    {
        auto g = small_valid_raw();
        g.tensors.clear();
        g.data.clear();
        out.push_back({"no-tensors", encode(g)});
        g.pad_before_data = false;
        out.push_back({"no-tensors-unpadded", encode(g)});
        g.kvs.clear();
        out.push_back({"empty", encode(g)});
    }
    {
        auto g = small_valid_raw();
        g.kvs.push_back(kv("general.alignment", t_u32, value_u32(64)));
        g.alignment = 64;
        g.data.resize(128);  // a.weight at 0 (64 bytes), b.weight at 64 (34 bytes, padded to 64)
        out.push_back({"alignment-64", encode(g)});
    }
    {
        // Legal but hostile text: control bytes, an escape sequence, a newline, UTF-8, a long key.
        auto g = small_valid_raw();
        g.kvs[1].key = "odd\nkey\x1b[2J";
        g.kvs[0].value = value_string("line1\nline2\x1b[31m\x7f");
        g.kvs.push_back(kv(std::string(300, 'k'), t_u32, value_u32(1)));
        g.tensors[0].name = "tensor\nwith\x07" "bell";
        g.tensors[1].name = "\xc3\xa9t\xc3\xa9";
        out.push_back({"odd-names", encode(g)});
    }
    out.push_back({"every-type", encode(every_type_raw())});
    out.push_back({"every-value-v3", encode(every_value_raw(3))});
    out.push_back({"every-value-v2", encode(every_value_raw(2))});
    out.push_back({"tiny-llama", tiny_llama_gguf()});
    for (const char* arch : {"qwen2", "qwen3", "gemma3", "phi3"}) out.push_back({std::string("tiny-") + arch, tiny_arch_gguf(arch)});
    return out;
}

}  // namespace ember::test
