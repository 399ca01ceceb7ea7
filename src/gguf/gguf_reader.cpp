// GGUF parsing. Every field read from the file goes through `cursor`, which refuses to read past
// the end and reports the byte offset; every size derived from the file is overflow-checked
// against the bytes that remain before anything is allocated.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <type_traits>

#include "ember/gguf.hpp"
#include "gguf/huge_region.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr uint32_t k_magic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t k_max_string = uint64_t(1) << 30;  // llama.cpp's cap
constexpr int k_max_array_depth = 8;
constexpr size_t k_max_tensor_name = 1024;
// Smallest possible encodings, which bound how many records the remaining bytes can hold
// before anything is reserved: a key/value is 8 (key length) + 1 (key) + 4 (type) + 1 (u8);
// a tensor info is 8 (name length) + 1 (name) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset).
constexpr uint64_t k_min_kv_bytes = 14;
constexpr uint64_t k_min_tensor_info_bytes = 33;

// File text (keys, tensor names) as it appears inside error messages.
std::string shown(std::string_view s) { return detail::escape_text(s, 80); }

// Ids that ggml once assigned and then removed; named in the error so that an old file is
// recognised as old rather than as garbage.
bool removed_type_id(int64_t id) { return id == 4 || id == 5 || (id >= 31 && id <= 33) || (id >= 36 && id <= 38); }

class mapped_storage final : public gguf_storage {
public:
    mapped_storage(void* p, size_t n) : p_(p), n_(n) {}
    ~mapped_storage() override { ::munmap(p_, n_); }
    std::span<const std::byte> bytes() const noexcept override { return {static_cast<const std::byte*>(p_), n_}; }

private:
    void* p_;
    size_t n_;
};

// A file read into memory: large files on huge pages (huge_region.hpp), small ones on the heap.
class heap_storage final : public gguf_storage {
public:
    explicit heap_storage(size_t n) : n_(n) {
        if (n >= detail::huge_region::k_huge) {
            region_ = std::make_unique<detail::huge_region>(n);
            p_ = region_->data();
        } else {
            p_ = new (std::align_val_t(64)) std::byte[n ? n : 1];
        }
    }
    ~heap_storage() override {
        if (!region_) ::operator delete[](p_, std::align_val_t(64));
    }
    heap_storage(const heap_storage&) = delete;
    heap_storage& operator=(const heap_storage&) = delete;
    std::span<const std::byte> bytes() const noexcept override { return {p_, n_}; }
    std::byte* data() noexcept { return p_; }

private:
    size_t n_;
    std::byte* p_ = nullptr;
    std::unique_ptr<detail::huge_region> region_;
};

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

// Reads little-endian fields from the file with bounds checks; errors name the offset. Field
// descriptions are passed as strings or as callables so that the (rare) error path is the only
// one that pays for formatting them.
class gguf_parser {
public:
    gguf_parser(gguf_file& f, std::span<const std::byte> bytes) : f_(f), bytes_(bytes) {}

    void parse();

private:
    template <class... Args>
    [[noreturn]] void bad(uint64_t at, fmt::format_string<Args...> fm, Args&&... args) const {
        fail(errc::bad_file, "{}: offset {}: {}", f_.name_, at, fmt::format(fm, std::forward<Args>(args)...));
    }
    template <class D> static std::string describe(const D& what) {
        if constexpr (std::is_invocable_v<const D&>) return std::string(what());
        else return std::string(what);
    }
    uint64_t remaining() const { return bytes_.size() - pos_; }
    template <class D> void need(uint64_t n, const D& what) const {
        if (n > remaining()) bad(pos_, "truncated file: {} needs {} bytes but only {} remain", describe(what), n, remaining());
    }
    template <class T, class D> T read(const D& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, bytes_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    template <class D> std::string read_string(const D& what);
    template <class D> gguf_type read_value_type(const D& what);
    gguf_value read_value(gguf_type t, const std::string& key);
    gguf_value read_array(const std::string& key, int depth);
    void read_header(int64_t& n_tensors, int64_t& n_kv);
    void read_metadata(int64_t n_kv);
    void apply_alignment();
    void read_tensor_info(size_t index);
    void place_tensors();

    gguf_file& f_;
    std::span<const std::byte> bytes_;
    uint64_t pos_ = 0;
    std::vector<uint64_t> kv_value_at_;      // per key: offset of its value type field
    std::vector<uint64_t> tensor_offset_at_;  // per tensor: offset of its data offset field
};

template <class D> std::string gguf_parser::read_string(const D& what) {
    const uint64_t at = pos_;
    const auto len = read<uint64_t>([&] { return describe(what) + " length"; });
    if (len > k_max_string) bad(at, "{}: string length {} exceeds the limit of {} bytes", describe(what), len, k_max_string);
    if (len > remaining()) bad(at, "truncated file: {}: string length {} but only {} bytes remain", describe(what), len, remaining());
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), size_t(len));
    pos_ += len;
    return s;
}

template <class D> gguf_type gguf_parser::read_value_type(const D& what) {
    const uint64_t at = pos_;
    const auto t = read<int32_t>(what);
    if (t < 0 || t > int32_t(gguf_type::float64)) bad(at, "{}: invalid value type {} (valid types are 0 to 12)", describe(what), t);
    return gguf_type(t);
}

gguf_value gguf_parser::read_array(const std::string& key, int depth) {
    if (depth >= k_max_array_depth) bad(pos_, "key '{}': arrays nested deeper than {} levels", shown(key), k_max_array_depth);
    const auto elem = read_value_type([&] { return fmt::format("key '{}': array element type", shown(key)); });
    const uint64_t at = pos_;
    const auto n = read<uint64_t>([&] { return fmt::format("key '{}': array length", shown(key)); });
    // The smallest encoding of one element bounds how many can fit in what remains, and so
    // bounds every reservation below by a small multiple of the file size.
    const uint64_t min_elem = elem == gguf_type::string ? 8 : elem == gguf_type::array ? 12 : gguf_type_size(elem);
    if (n > remaining() / min_elem)
        bad(at, "key '{}': array of {} {} elements cannot fit in the {} bytes that remain", shown(key), n, to_string(elem), remaining());
    if (elem == gguf_type::string) {
        std::vector<std::string> v;
        v.reserve(size_t(n));
        for (uint64_t i = 0; i < n; ++i) v.push_back(read_string([&] { return fmt::format("key '{}': element {}", shown(key), i); }));
        return gguf_value::from_strings(std::move(v));
    }
    if (elem == gguf_type::array) {
        std::vector<gguf_value> v;
        v.reserve(size_t(n));
        for (uint64_t i = 0; i < n; ++i) v.push_back(read_array(key, depth + 1));
        return gguf_value::from_arrays(std::move(v));
    }
    const uint64_t nbytes = n * min_elem;  // cannot overflow: n <= remaining / min_elem
    std::vector<std::byte> raw(bytes_.data() + pos_, bytes_.data() + pos_ + nbytes);
    pos_ += nbytes;
    return gguf_value::from_raw_array(elem, std::move(raw));
}

gguf_value gguf_parser::read_value(gguf_type t, const std::string& key) {
    const auto what = [&] { return fmt::format("key '{}': {} value", shown(key), to_string(t)); };
    switch (t) {
        case gguf_type::uint8: return gguf_value::from_u8(read<uint8_t>(what));
        case gguf_type::int8: return gguf_value::from_i8(read<int8_t>(what));
        case gguf_type::uint16: return gguf_value::from_u16(read<uint16_t>(what));
        case gguf_type::int16: return gguf_value::from_i16(read<int16_t>(what));
        case gguf_type::uint32: return gguf_value::from_u32(read<uint32_t>(what));
        case gguf_type::int32: return gguf_value::from_i32(read<int32_t>(what));
        case gguf_type::float32: return gguf_value::from_f32(read<float>(what));
        case gguf_type::boolean: return gguf_value::from_bool(read<uint8_t>(what) != 0);
        case gguf_type::string: return gguf_value::from_string(read_string(what));
        case gguf_type::array: return read_array(key, 0);
        case gguf_type::uint64: return gguf_value::from_u64(read<uint64_t>(what));
        case gguf_type::int64: return gguf_value::from_i64(read<int64_t>(what));
        case gguf_type::float64: return gguf_value::from_f64(read<double>(what));
    }
    bad(pos_, "key '{}': invalid value type {}", shown(key), int(t));
}

void gguf_parser::read_header(int64_t& n_tensors, int64_t& n_kv) {
    const auto magic = read<uint32_t>("magic");
    if (magic != k_magic) bad(0, "not a GGUF file (magic bytes {:08x}, expected 47475546 'GGUF')", __builtin_bswap32(magic));
    const auto version = read<uint32_t>("version");
    if ((version & 0xffffu) == 0 && version != 0)
        bad(4, "version field {:#x}: big-endian GGUF files are not supported", version);
    if (version == 1) bad(4, "GGUF version 1 is obsolete and not supported (need 2 or 3)");
    if (version < 2 || version > 3) bad(4, "unsupported GGUF version {} (need 2 or 3)", version);
    f_.version_ = version;

    n_tensors = read<int64_t>("tensor count");
    if (n_tensors < 0) bad(8, "negative tensor count {}", n_tensors);
    n_kv = read<int64_t>("metadata count");
    if (n_kv < 0) bad(16, "negative metadata count {}", n_kv);
    if (uint64_t(n_kv) > remaining() / k_min_kv_bytes)
        bad(16, "metadata count {} cannot fit in the {} bytes that remain", n_kv, remaining());
    const uint64_t after_kvs = remaining() - uint64_t(n_kv) * k_min_kv_bytes;
    if (uint64_t(n_tensors) > after_kvs / k_min_tensor_info_bytes)
        bad(8, "tensor count {} cannot fit in the {} bytes that remain after {} metadata records", n_tensors, after_kvs, n_kv);
}

void gguf_parser::read_metadata(int64_t n_kv) {
    // Both reservations are bounded by the file size (checked in read_header), and they make
    // the string_views in kv_index_ safe: the keys never move.
    f_.kvs_.reserve(size_t(n_kv));
    kv_value_at_.reserve(size_t(n_kv));
    for (int64_t i = 0; i < n_kv; ++i) {
        const uint64_t at = pos_;
        auto key = read_string([&] { return fmt::format("metadata {}: key", i); });
        if (key.empty()) bad(at, "metadata {}: empty key", i);
        if (const auto it = f_.kv_index_.find(key); it != f_.kv_index_.end())
            bad(at, "metadata {}: duplicate key '{}' (also metadata {})", i, shown(key), it->second);
        kv_value_at_.push_back(pos_);
        const auto t = read_value_type([&] { return fmt::format("key '{}': value type", shown(key)); });
        auto value = read_value(t, key);
        f_.kvs_.push_back({std::move(key), std::move(value)});
        f_.kv_index_.emplace(f_.kvs_.back().key, f_.kvs_.size() - 1);
    }
}

void gguf_parser::apply_alignment() {
    const auto it = f_.kv_index_.find("general.alignment");
    if (it == f_.kv_index_.end()) return;
    const gguf_value& a = f_.kvs_[it->second].value;
    const uint64_t at = kv_value_at_[it->second];
    if (a.type() != gguf_type::uint32) {
        const std::string actual = a.is_array() ? fmt::format("array of {}", to_string(a.element_type())) : std::string(to_string(a.type()));
        bad(at, "general.alignment must be of type u32, found {}", actual);
    }
    const uint64_t v = *a.to_uint();
    if (!detail::is_pow2(v) || v > gguf_file::max_alignment)
        bad(at, "general.alignment {} must be a power of two from 1 to {}", v, gguf_file::max_alignment);
    f_.alignment_ = uint32_t(v);
}

void gguf_parser::read_tensor_info(size_t index) {
    gguf_tensor t;
    const uint64_t name_at = pos_;
    t.name = read_string([&] { return fmt::format("tensor info {}: name", index); });
    if (t.name.empty()) bad(name_at, "tensor info {}: empty tensor name", index);
    if (t.name.size() > k_max_tensor_name)
        bad(name_at, "tensor info {}: name of {} bytes is longer than {}", index, t.name.size(), k_max_tensor_name);
    if (const auto it = f_.tensor_index_.find(t.name); it != f_.tensor_index_.end())
        bad(name_at, "tensor info {}: duplicate tensor name '{}' (also tensor info {})", index, shown(t.name), it->second);
    const auto who = fmt::format("tensor '{}'", shown(t.name));

    const uint64_t dims_at = pos_;
    t.n_dims = read<uint32_t>([&] { return who + ": n_dims"; });
    if (t.n_dims < 1 || t.n_dims > 4) bad(dims_at, "{}: n_dims is {}, must be 1 to 4", who, t.n_dims);
    uint64_t nelements = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
        const uint64_t at = pos_;
        const auto ne = read<int64_t>([&] { return fmt::format("{}: dimension {}", who, d); });
        if (ne <= 0) bad(at, "{}: dimension {} is {}, must be positive", who, d, ne);
        const auto prod = detail::checked_mul(nelements, uint64_t(ne));
        if (!prod || *prod > uint64_t(INT64_MAX))
            bad(at, "{}: element count overflows at dimension {} ({} times {})", who, d, nelements, ne);
        nelements = *prod;
        t.ne[d] = ne;
    }

    const uint64_t type_at = pos_;
    const auto type_id = read<int32_t>([&] { return who + ": type"; });
    const type_info* ti = type_id < 0 ? nullptr : find_type(uint32_t(type_id));
    if (!ti) bad(type_at, "{}: {} tensor type id {}", who, removed_type_id(type_id) ? "removed (no longer valid)" : "unknown", type_id);
    t.type = ti->type;
    if (t.ne[0] % ti->block_size != 0)
        bad(type_at, "{}: row length {} is not a multiple of the {} block size {}", who, t.ne[0], ti->name, ti->block_size);
    // nbytes = (ne0 / block) * block_bytes * ne1 * ne2 * ne3, each step overflow-checked.
    auto nbytes = detail::checked_mul(uint64_t(t.ne[0] / ti->block_size), ti->block_bytes);
    for (int d = 1; d < 4 && nbytes; ++d) nbytes = detail::checked_mul(*nbytes, uint64_t(t.ne[d]));
    if (!nbytes || *nbytes > bytes_.size())
        bad(type_at, "{}: data size of shape {} as {} exceeds the file size of {} bytes", who, t.shape_string(), ti->name, bytes_.size());
    t.nbytes = size_t(*nbytes);

    const uint64_t off_at = pos_;
    t.offset = read<uint64_t>([&] { return who + ": data offset"; });
    if (t.offset % f_.alignment_ != 0)
        bad(off_at, "{}: data offset {} is not a multiple of the alignment {}", who, t.offset, f_.alignment_);
    tensor_offset_at_.push_back(off_at);
    f_.tensors_.push_back(std::move(t));
    f_.tensor_index_.emplace(f_.tensors_.back().name, f_.tensors_.size() - 1);
}

void gguf_parser::place_tensors() {
    const uint64_t aligned = detail::align_up(pos_, f_.alignment_);
    if (f_.tensors_.empty()) {
        // Files without tensors often end right after the metadata; llama.cpp accepts that.
        f_.data_offset_ = std::min<uint64_t>(aligned, bytes_.size());
        return;
    }
    f_.data_offset_ = aligned;
    if (aligned > bytes_.size())
        bad(pos_, "truncated file: the data section would start at offset {} but the file has {} bytes", aligned, bytes_.size());
    for (size_t i = 0; i < f_.tensors_.size(); ++i) {
        auto& t = f_.tensors_[i];
        const auto begin = detail::checked_add(f_.data_offset_, t.offset);
        const auto end = begin ? detail::checked_add(*begin, t.nbytes) : std::nullopt;
        if (!end || *end > bytes_.size())
            bad(tensor_offset_at_[i], "tensor '{}': data at offset {} + {} ({} bytes) lies outside the file of {} bytes", shown(t.name),
                f_.data_offset_, t.offset, t.nbytes, bytes_.size());
        t.data = bytes_.data() + *begin;
    }
}

void gguf_parser::parse() {
    int64_t n_tensors = 0, n_kv = 0;
    read_header(n_tensors, n_kv);
    read_metadata(n_kv);
    apply_alignment();
    // Bounded by the file size (checked in read_header); keeps tensor names from moving.
    f_.tensors_.reserve(size_t(n_tensors));
    tensor_offset_at_.reserve(size_t(n_tensors));
    for (int64_t i = 0; i < n_tensors; ++i) read_tensor_info(size_t(i));
    place_tensors();
}

gguf_file gguf_file::open(const std::filesystem::path& path, const gguf_open_options& opts) {
    gguf_file f;
    f.name_ = path.string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        fail(e == ENOENT || e == ENOTDIR ? errc::file_not_found : errc::io_error, "{}: cannot open: {}", f.name_, std::strerror(e));
    }
    fd_guard guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail(errc::io_error, "{}: cannot stat: {}", f.name_, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail(errc::bad_file, "{}: not a regular file", f.name_);
    const auto size = size_t(st.st_size);

    if (opts.use_mmap && size > 0) {  // mmap cannot map 0 bytes; an empty file is parsed from the heap
        void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | (opts.populate ? MAP_POPULATE : 0), fd, 0);
        if (p == MAP_FAILED) fail(errc::io_error, "{}: mmap failed: {}", f.name_, std::strerror(errno));
        f.storage_ = std::make_shared<mapped_storage>(p, size);
        f.mapped_ = true;
    } else {
        std::shared_ptr<heap_storage> heap;
        try {
            heap = std::make_shared<heap_storage>(size);
        } catch (const std::bad_alloc&) {
            fail(errc::out_of_memory, "{}: cannot allocate {} bytes to read the file", f.name_, size);
        }
        size_t done = 0;
        while (done < size) {
            const ssize_t r = ::pread(fd, heap->data() + done, size - done, off_t(done));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) fail(errc::io_error, "{}: read failed at offset {}: {}", f.name_, done, r < 0 ? std::strerror(errno) : "unexpected end of file");
            done += size_t(r);
        }
        f.storage_ = std::move(heap);
    }
    gguf_parser(f, f.storage_->bytes()).parse();
    return f;
}

gguf_file gguf_file::parse(std::span<const std::byte> bytes, std::string name) {
    gguf_file f;
    f.name_ = std::move(name);
    std::shared_ptr<heap_storage> heap;
    try {
        heap = std::make_shared<heap_storage>(bytes.size());
    } catch (const std::bad_alloc&) {
        fail(errc::out_of_memory, "{}: cannot allocate {} bytes to hold the file", f.name_, bytes.size());
    }
    if (!bytes.empty()) std::memcpy(heap->data(), bytes.data(), bytes.size());
    f.storage_ = std::move(heap);
    gguf_parser(f, f.storage_->bytes()).parse();
    return f;
}

gguf_file::gguf_file(const gguf_file& other)
    : name_(other.name_), version_(other.version_), alignment_(other.alignment_), data_offset_(other.data_offset_),
      mapped_(other.mapped_), storage_(other.storage_), kvs_(other.kvs_), tensors_(other.tensors_) {
    rebuild_indexes();
}

gguf_file& gguf_file::operator=(const gguf_file& other) {
    if (this != &other) {
        gguf_file copy(other);
        *this = std::move(copy);
    }
    return *this;
}

void gguf_file::rebuild_indexes() {
    kv_index_.clear();
    tensor_index_.clear();
    for (size_t i = 0; i < kvs_.size(); ++i) kv_index_.emplace(kvs_[i].key, i);
    for (size_t i = 0; i < tensors_.size(); ++i) tensor_index_.emplace(tensors_[i].name, i);
}

// ---- lookups and typed getters ----

const gguf_value* gguf_file::find(std::string_view key) const noexcept {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const gguf_tensor* gguf_file::find_tensor(std::string_view name) const noexcept {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void gguf_file::type_error(std::string_view key, std::string_view expected, const gguf_value& v) const {
    std::string actual(to_string(v.type()));
    if (v.is_array()) actual = fmt::format("array of {}", to_string(v.element_type()));
    fail(errc::bad_file, "{}: key '{}' has type {}, expected {}", name_, key, actual, expected);
}

const gguf_value& gguf_file::require(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) fail(errc::bad_file, "{}: required key '{}' is missing", name_, key);
    return *v;
}

std::optional<std::string_view> gguf_file::get_string_opt(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type() != gguf_type::string) type_error(key, "string", *v);
    return std::string_view(v->as_string());
}

std::optional<int64_t> gguf_file::get_int_opt(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_integer()) type_error(key, "an integer", *v);
    const auto i = v->to_int();
    if (!i) fail(errc::bad_file, "{}: key '{}': value {} is out of range", name_, key, v->to_display_string());
    return i;
}

std::optional<uint32_t> gguf_file::get_u32_opt(std::string_view key) const {
    const auto i = get_int_opt(key);
    if (!i) return std::nullopt;
    if (*i < 0 || *i > int64_t(UINT32_MAX)) fail(errc::bad_file, "{}: key '{}': value {} is not a valid u32", name_, key, *i);
    return uint32_t(*i);
}

std::optional<float> gguf_file::get_f32_opt(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_float()) type_error(key, "f32", *v);
    return float(*v->to_double());
}

std::optional<bool> gguf_file::get_bool_opt(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type() != gguf_type::boolean) type_error(key, "bool", *v);
    return v->as_bool();
}

std::string_view gguf_file::get_string(std::string_view key) const {
    require(key);
    return *get_string_opt(key);
}
int64_t gguf_file::get_int(std::string_view key) const {
    require(key);
    return *get_int_opt(key);
}
uint32_t gguf_file::get_u32(std::string_view key) const {
    require(key);
    return *get_u32_opt(key);
}
float gguf_file::get_f32(std::string_view key) const {
    require(key);
    return *get_f32_opt(key);
}
bool gguf_file::get_bool(std::string_view key) const {
    require(key);
    return *get_bool_opt(key);
}

std::span<const std::string> gguf_file::get_string_array(std::string_view key) const {
    const gguf_value& v = require(key);
    if (!v.is_array() || v.element_type() != gguf_type::string) type_error(key, "array of string", v);
    return v.strings();
}

std::span<const float> gguf_file::get_f32_array(std::string_view key) const {
    const gguf_value& v = require(key);
    if (!v.is_array() || v.element_type() != gguf_type::float32) type_error(key, "array of f32", v);
    return v.span<float>();
}

std::span<const int32_t> gguf_file::get_i32_array(std::string_view key) const {
    const gguf_value& v = require(key);
    if (!v.is_array() || v.element_type() != gguf_type::int32) type_error(key, "array of i32", v);
    return v.span<int32_t>();
}

std::vector<int64_t> gguf_file::get_int_or_array(std::string_view key, size_t n) const {
    const gguf_value& v = require(key);
    if (!v.is_array()) return std::vector<int64_t>(n, get_int(key));
    if (v.size() != n) fail(errc::bad_file, "{}: key '{}' has {} elements, expected one per layer ({})", name_, key, v.size(), n);
    std::vector<int64_t> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const gguf_value e = v.element(i);
        const auto x = e.is_integer() ? e.to_int() : std::nullopt;
        if (!x) type_error(key, "an integer or an array of integers", v);
        out.push_back(*x);
    }
    return out;
}

}  // namespace ember
