// GGUF container: a reader that treats every file as hostile input, and a writer.
//
// The reader checks every count, length, dimension and offset against the bytes that remain
// before it allocates or dereferences anything, and reports problems as ember::error
// (errc::bad_file) with the file name, the byte offset and the field. Tensor data stays in a
// read-only memory map of the file (or a heap copy when mmap is off); gguf_tensor::data points
// into it for as long as the gguf_file (or a copy of its storage handle) lives.
//
// What the reader accepts (formats.md §1): versions 2 and 3, little-endian; every value type,
// arrays nested up to 8 levels; strings up to 2^30 bytes; non-empty unique keys; unique
// non-empty tensor names up to 1024 bytes; 1 to 4 dimensions, each positive, whose element
// count fits in i64; the type ids of formats.md §1.9 (removed and unknown ids are errors) with
// ne0 a multiple of the block size; general.alignment a u32 power of two up to 2^20; tensor
// data at any multiple of the alignment that lies inside the file (tensors may overlap, as
// older readers allowed). Like any mmap reader, a file truncated by another process while
// it is mapped faults on access; use_mmap = false avoids that.
#pragma once

#include <array>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ember/types.hpp"

namespace ember {

enum class gguf_type : int32_t {
    uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6,
    boolean = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12,
};
std::string_view to_string(gguf_type t) noexcept;

// One metadata value: a scalar, a string, or an array (possibly of arrays).
class gguf_value {
public:
    gguf_value() = default;
    static gguf_value from_u8(uint8_t v);
    static gguf_value from_i8(int8_t v);
    static gguf_value from_u16(uint16_t v);
    static gguf_value from_i16(int16_t v);
    static gguf_value from_u32(uint32_t v);
    static gguf_value from_i32(int32_t v);
    static gguf_value from_u64(uint64_t v);
    static gguf_value from_i64(int64_t v);
    static gguf_value from_f32(float v);
    static gguf_value from_f64(double v);
    static gguf_value from_bool(bool v);
    static gguf_value from_string(std::string v);
    // Arrays of numbers/bools: `elem` names the element type, `raw` holds the packed
    // little-endian elements (count = raw.size() / element size).
    static gguf_value from_raw_array(gguf_type elem, std::vector<std::byte> raw);
    static gguf_value from_strings(std::vector<std::string> v);
    static gguf_value from_arrays(std::vector<gguf_value> v);  // nested; each must be an array
    template <class T> static gguf_value from_array(std::span<const T> v);

    gguf_type type() const noexcept { return type_; }
    bool is_array() const noexcept { return type_ == gguf_type::array; }
    bool is_integer() const noexcept;  // any of the eight integer scalar types
    bool is_float() const noexcept { return type_ == gguf_type::float32 || type_ == gguf_type::float64; }

    // Scalars. These require the matching kind (checked by the caller, e.g. gguf_file's getters):
    // to_int for integer types (and bool), to_double for floats and integers.
    std::optional<int64_t> to_int() const noexcept;  // nullopt if not integral or out of i64 range
    std::optional<uint64_t> to_uint() const noexcept;  // nullopt if not integral or negative
    std::optional<double> to_double() const noexcept;
    bool as_bool() const noexcept { return scalar_.u != 0; }
    const std::string& as_string() const noexcept { return str_; }

    // Arrays.
    gguf_type element_type() const noexcept { return elem_; }
    size_t size() const noexcept;  // element count (0 for scalars)
    std::span<const std::string> strings() const noexcept { return strings_; }
    std::span<const gguf_value> arrays() const noexcept { return arrays_; }
    std::span<const std::byte> raw() const noexcept { return raw_; }
    // Typed view of a numeric array; empty span if the element type is not T's.
    template <class T> std::span<const T> span() const noexcept;
    // Element i of a numeric/bool array as a scalar value.
    gguf_value element(size_t i) const;

    // Human-readable rendering; arrays longer than max_elems are summarized.
    std::string to_display_string(size_t max_elems = 8) const;

private:
    gguf_type type_ = gguf_type::uint8;
    gguf_type elem_ = gguf_type::uint8;
    union {
        uint64_t u;
        int64_t i;
        double d;
    } scalar_{0};
    std::string str_;
    std::vector<std::byte> raw_;
    std::vector<std::string> strings_;
    std::vector<gguf_value> arrays_;
};

size_t gguf_type_size(gguf_type t) noexcept;  // bytes of a scalar element; 0 for string/array

template <class T> struct gguf_type_of;
template <> struct gguf_type_of<uint8_t> { static constexpr gguf_type value = gguf_type::uint8; };
template <> struct gguf_type_of<int8_t> { static constexpr gguf_type value = gguf_type::int8; };
template <> struct gguf_type_of<uint16_t> { static constexpr gguf_type value = gguf_type::uint16; };
template <> struct gguf_type_of<int16_t> { static constexpr gguf_type value = gguf_type::int16; };
template <> struct gguf_type_of<uint32_t> { static constexpr gguf_type value = gguf_type::uint32; };
template <> struct gguf_type_of<int32_t> { static constexpr gguf_type value = gguf_type::int32; };
template <> struct gguf_type_of<uint64_t> { static constexpr gguf_type value = gguf_type::uint64; };
template <> struct gguf_type_of<int64_t> { static constexpr gguf_type value = gguf_type::int64; };
template <> struct gguf_type_of<float> { static constexpr gguf_type value = gguf_type::float32; };
template <> struct gguf_type_of<double> { static constexpr gguf_type value = gguf_type::float64; };

template <class T> std::span<const T> gguf_value::span() const noexcept {
    if (type_ != gguf_type::array || elem_ != gguf_type_of<T>::value) return {};
    return {reinterpret_cast<const T*>(raw_.data()), raw_.size() / sizeof(T)};
}

template <class T> gguf_value gguf_value::from_array(std::span<const T> v) {
    std::vector<std::byte> raw(v.size_bytes());
    if (!v.empty()) std::memcpy(raw.data(), v.data(), v.size_bytes());
    return from_raw_array(gguf_type_of<T>::value, std::move(raw));
}

struct gguf_kv {
    std::string key;
    gguf_value value;
};

struct gguf_tensor {
    std::string name;
    ggml_type type = ggml_type::f32;
    uint32_t n_dims = 0;
    std::array<int64_t, 4> ne{1, 1, 1, 1};  // ne[0] = row length (innermost)
    uint64_t offset = 0;                    // relative to the data section
    size_t nbytes = 0;
    const std::byte* data = nullptr;        // inside the file's storage

    int64_t nelements() const noexcept { return ne[0] * ne[1] * ne[2] * ne[3]; }
    int64_t nrows() const noexcept { return ne[1] * ne[2] * ne[3]; }
    size_t row_bytes() const noexcept { return ember::row_bytes(type, ne[0]); }
    std::string shape_string() const;  // "[256, 32000]"
};

struct gguf_open_options {
    bool use_mmap = true;  // false: read the whole file into memory instead
};

// Bytes of a parsed file, kept alive by everyone who holds tensor pointers into it.
class gguf_storage {
public:
    virtual ~gguf_storage() = default;
    virtual std::span<const std::byte> bytes() const noexcept = 0;
};

class gguf_file {
public:
    static constexpr uint32_t default_alignment = 32;
    static constexpr uint32_t max_alignment = 1u << 20;

    gguf_file() = default;
    // Copies share the storage (tensor data is not duplicated) and rebuild their own lookup
    // indexes, which refer to the copy's keys and names.
    gguf_file(const gguf_file& other);
    gguf_file& operator=(const gguf_file& other);
    gguf_file(gguf_file&&) = default;
    gguf_file& operator=(gguf_file&&) = default;

    // Opens and fully validates the container. Throws ember::error (file_not_found, io_error,
    // bad_file) on failure.
    static gguf_file open(const std::filesystem::path& path, const gguf_open_options& opts = {});
    // Parses a buffer (copied) as if it were a file called `name`.
    static gguf_file parse(std::span<const std::byte> bytes, std::string name = "<memory>");

    const std::string& name() const noexcept { return name_; }
    uint32_t version() const noexcept { return version_; }
    uint32_t alignment() const noexcept { return alignment_; }
    // Start of the tensor data section. In a file without tensors whose padding is missing
    // (llama.cpp accepts those), this is the file size.
    uint64_t data_offset() const noexcept { return data_offset_; }
    uint64_t file_size() const noexcept { return storage_ ? storage_->bytes().size() : 0; }
    bool is_mapped() const noexcept { return mapped_; }
    std::shared_ptr<const gguf_storage> storage() const noexcept { return storage_; }

    // Metadata, in file order.
    std::span<const gguf_kv> metadata() const noexcept { return kvs_; }
    const gguf_value* find(std::string_view key) const noexcept;
    bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

    // Typed getters. A missing key or a value of the wrong type throws ember::error(bad_file)
    // naming the file, the key, the expected and the actual type. Integer getters accept any
    // integer type whose value fits (GGUF writers disagree about u32 vs i32), float getters
    // accept f32 and f64.
    std::string_view get_string(std::string_view key) const;
    int64_t get_int(std::string_view key) const;
    uint32_t get_u32(std::string_view key) const;  // integer in [0, 2^32)
    float get_f32(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    std::optional<std::string_view> get_string_opt(std::string_view key) const;
    std::optional<int64_t> get_int_opt(std::string_view key) const;
    std::optional<uint32_t> get_u32_opt(std::string_view key) const;
    std::optional<float> get_f32_opt(std::string_view key) const;
    std::optional<bool> get_bool_opt(std::string_view key) const;
    // Arrays: the element type must match exactly (e.g. tokenizer.ggml.scores must be f32).
    std::span<const std::string> get_string_array(std::string_view key) const;
    std::span<const float> get_f32_array(std::string_view key) const;
    std::span<const int32_t> get_i32_array(std::string_view key) const;
    // An integer-valued key that may also be a per-layer integer array (e.g. head_count):
    // returns one value per element, or the scalar repeated `n` times.
    std::vector<int64_t> get_int_or_array(std::string_view key, size_t n) const;

    // Tensors, in file order.
    std::span<const gguf_tensor> tensors() const noexcept { return tensors_; }
    const gguf_tensor* find_tensor(std::string_view name) const noexcept;

private:
    friend class gguf_parser;
    void rebuild_indexes();
    [[noreturn]] void type_error(std::string_view key, std::string_view expected, const gguf_value& v) const;
    const gguf_value& require(std::string_view key) const;

    std::string name_;
    uint32_t version_ = 0;
    uint32_t alignment_ = default_alignment;
    uint64_t data_offset_ = 0;
    bool mapped_ = false;
    std::shared_ptr<const gguf_storage> storage_;
    std::vector<gguf_kv> kvs_;
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::vector<gguf_tensor> tensors_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

// Writes GGUF v3 files. Tensors are laid out in the order they were added, each padded to the
// alignment, as llama.cpp's writer does; data can be given up front or produced on demand so
// that files larger than memory can be written one tensor at a time.
class gguf_writer {
public:
    using fill_fn = std::function<void(std::span<std::byte> out)>;

    gguf_writer() = default;

    void set_alignment(uint32_t a);  // power of two; also stored as general.alignment if != 32
    // Adds or replaces a metadata value (a replaced key keeps its position).
    void set(std::string key, gguf_value v);
    void set_string(std::string key, std::string v) { set(std::move(key), gguf_value::from_string(std::move(v))); }
    void set_u32(std::string key, uint32_t v) { set(std::move(key), gguf_value::from_u32(v)); }
    void set_i32(std::string key, int32_t v) { set(std::move(key), gguf_value::from_i32(v)); }
    void set_f32(std::string key, float v) { set(std::move(key), gguf_value::from_f32(v)); }
    void set_bool(std::string key, bool v) { set(std::move(key), gguf_value::from_bool(v)); }
    bool remove(std::string_view key);
    // Copies every metadata value of `f` (general.alignment included).
    void copy_metadata(const gguf_file& f);
    std::span<const gguf_kv> metadata() const noexcept { return kvs_; }

    // Tensor whose bytes the caller keeps alive until write() returns.
    void add_tensor(std::string name, ggml_type type, std::span<const int64_t> ne, std::span<const std::byte> data);
    // Tensor whose bytes the writer owns.
    void add_tensor_copy(std::string name, ggml_type type, std::span<const int64_t> ne, std::vector<std::byte> data);
    // Tensor whose bytes are produced when the file is written.
    void add_tensor_fill(std::string name, ggml_type type, std::span<const int64_t> ne, fill_fn fill);
    size_t tensor_count() const noexcept { return tensors_.size(); }

    // Writes to `path` through a temporary file renamed into place on success, so a failure
    // never leaves a half-written file behind.
    void write(const std::filesystem::path& path) const;
    std::vector<std::byte> write_to_memory() const;

private:
    struct pending_tensor {
        std::string name;
        ggml_type type;
        std::vector<int64_t> ne;
        size_t nbytes;
        std::span<const std::byte> borrowed;
        std::vector<std::byte> owned;
        fill_fn fill;
    };
    void add(pending_tensor t);
    void write_to(const std::function<void(const void*, size_t)>& sink) const;

    uint32_t alignment_ = gguf_file::default_alignment;
    std::vector<gguf_kv> kvs_;
    std::vector<pending_tensor> tensors_;
};

}  // namespace ember
