#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "ember/gguf.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

void gguf_writer::set_alignment(uint32_t a) {
    if (!detail::is_pow2(a) || a > gguf_file::max_alignment)
        fail(errc::invalid_argument, "gguf_writer: alignment {} must be a power of two no larger than {}", a, gguf_file::max_alignment);
    alignment_ = a;
    if (a == gguf_file::default_alignment) remove("general.alignment");
    else set_u32("general.alignment", a);
}

void gguf_writer::set(std::string key, gguf_value v) {
    if (key.empty()) fail(errc::invalid_argument, "gguf_writer: empty metadata key");
    if (key == "general.alignment") {
        if (v.type() != gguf_type::uint32) fail(errc::invalid_argument, "gguf_writer: general.alignment must be u32");
        const uint64_t a = *v.to_uint();
        if (!detail::is_pow2(a) || a > gguf_file::max_alignment)
            fail(errc::invalid_argument, "gguf_writer: alignment {} must be a power of two no larger than {}", a, gguf_file::max_alignment);
        alignment_ = uint32_t(a);
    }
    for (auto& kv : kvs_)
        if (kv.key == key) {
            kv.value = std::move(v);
            return;
        }
    kvs_.push_back({std::move(key), std::move(v)});
}

bool gguf_writer::remove(std::string_view key) {
    for (auto it = kvs_.begin(); it != kvs_.end(); ++it)
        if (it->key == key) {
            if (key == "general.alignment") alignment_ = gguf_file::default_alignment;
            kvs_.erase(it);
            return true;
        }
    return false;
}

void gguf_writer::copy_metadata(const gguf_file& f) {
    for (const auto& kv : f.metadata()) set(kv.key, kv.value);
}

void gguf_writer::add(pending_tensor t) {
    if (t.name.empty()) fail(errc::invalid_argument, "gguf_writer: empty tensor name");
    if (t.ne.empty() || t.ne.size() > 4) fail(errc::invalid_argument, "gguf_writer: tensor '{}' has {} dimensions (1 to 4 allowed)", t.name, t.ne.size());
    for (const auto& o : tensors_)
        if (o.name == t.name) fail(errc::invalid_argument, "gguf_writer: duplicate tensor name '{}'", t.name);
    const auto& ti = info(t.type);
    uint64_t rows = 1;
    for (size_t d = 0; d < t.ne.size(); ++d) {
        if (t.ne[d] <= 0) fail(errc::invalid_argument, "gguf_writer: tensor '{}' dimension {} is {}", t.name, d, t.ne[d]);
        if (d > 0) rows *= uint64_t(t.ne[d]);
    }
    if (t.ne[0] % ti.block_size != 0)
        fail(errc::invalid_argument, "gguf_writer: tensor '{}' row length {} is not a multiple of the {} block size {}", t.name, t.ne[0], ti.name, ti.block_size);
    // Like llama.cpp, drop trailing dimensions of 1 (keeping at least one).
    while (t.ne.size() > 1 && t.ne.back() == 1) t.ne.pop_back();
    t.nbytes = row_bytes(t.type, t.ne[0]) * rows;
    const size_t given = t.fill ? t.nbytes : (t.owned.empty() ? t.borrowed.size() : t.owned.size());
    if (given != t.nbytes)
        fail(errc::invalid_argument, "gguf_writer: tensor '{}' of shape {} as {} needs {} bytes, got {}", t.name, t.ne.size(), ti.name, t.nbytes, given);
    tensors_.push_back(std::move(t));
}

void gguf_writer::add_tensor(std::string name, ggml_type type, std::span<const int64_t> ne, std::span<const std::byte> data) {
    add({std::move(name), type, {ne.begin(), ne.end()}, 0, data, {}, {}});
}

void gguf_writer::add_tensor_copy(std::string name, ggml_type type, std::span<const int64_t> ne, std::vector<std::byte> data) {
    // An empty owned vector would be read as "borrowed"; route it through the size check.
    if (data.empty()) return add_tensor(std::move(name), type, ne, {});
    add({std::move(name), type, {ne.begin(), ne.end()}, 0, {}, std::move(data), {}});
}

void gguf_writer::add_tensor_fill(std::string name, ggml_type type, std::span<const int64_t> ne, fill_fn fill) {
    if (!fill) fail(errc::invalid_argument, "gguf_writer: tensor '{}' has no fill function", name);
    add({std::move(name), type, {ne.begin(), ne.end()}, 0, {}, {}, std::move(fill)});
}

namespace {

struct byte_sink {
    const std::function<void(const void*, size_t)>& out;
    uint64_t written = 0;
    void raw(const void* p, size_t n) {
        out(p, n);
        written += n;
    }
    template <class T> void put(T v) { raw(&v, sizeof v); }
    void str(const std::string& s) {
        put<uint64_t>(s.size());
        raw(s.data(), s.size());
    }
    void zeros(uint64_t n) {
        static const char z[256] = {};
        while (n) {
            const size_t k = n < sizeof z ? size_t(n) : sizeof z;
            raw(z, k);
            n -= k;
        }
    }
    void array_body(const gguf_value& v) {
        put<int32_t>(int32_t(v.element_type()));
        put<uint64_t>(v.size());
        if (v.element_type() == gguf_type::string)
            for (const auto& s : v.strings()) str(s);
        else if (v.element_type() == gguf_type::array)
            for (const auto& a : v.arrays()) array_body(a);
        else
            raw(v.raw().data(), v.raw().size());
    }
    void value(const gguf_value& v) {
        switch (v.type()) {
            case gguf_type::uint8: put<uint8_t>(uint8_t(*v.to_uint())); break;
            case gguf_type::int8: put<int8_t>(int8_t(*v.to_int())); break;
            case gguf_type::uint16: put<uint16_t>(uint16_t(*v.to_uint())); break;
            case gguf_type::int16: put<int16_t>(int16_t(*v.to_int())); break;
            case gguf_type::uint32: put<uint32_t>(uint32_t(*v.to_uint())); break;
            case gguf_type::int32: put<int32_t>(int32_t(*v.to_int())); break;
            case gguf_type::uint64: put<uint64_t>(*v.to_uint()); break;
            case gguf_type::int64: put<int64_t>(*v.to_int()); break;
            case gguf_type::float32: put<float>(float(*v.to_double())); break;
            case gguf_type::float64: put<double>(*v.to_double()); break;
            case gguf_type::boolean: put<uint8_t>(v.as_bool() ? 1 : 0); break;
            case gguf_type::string: str(v.as_string()); break;
            case gguf_type::array: array_body(v); break;
        }
    }
};

}  // namespace

void gguf_writer::write_to(const std::function<void(const void*, size_t)>& sink_fn) const {
    byte_sink s{sink_fn};
    s.put<uint32_t>(0x46554747);
    s.put<uint32_t>(3);
    s.put<int64_t>(int64_t(tensors_.size()));
    s.put<int64_t>(int64_t(kvs_.size()));
    for (const auto& kv : kvs_) {
        s.str(kv.key);
        s.put<int32_t>(int32_t(kv.value.type()));
        s.value(kv.value);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        s.str(t.name);
        s.put<uint32_t>(uint32_t(t.ne.size()));
        for (auto d : t.ne) s.put<int64_t>(d);
        s.put<uint32_t>(uint32_t(t.type));
        s.put<uint64_t>(offset);
        offset += detail::align_up(t.nbytes, alignment_);
    }
    s.zeros(detail::align_up(s.written, alignment_) - s.written);
    std::vector<std::byte> scratch;
    for (const auto& t : tensors_) {
        if (t.fill) {
            scratch.assign(t.nbytes, std::byte{0});
            t.fill(scratch);
            s.raw(scratch.data(), scratch.size());
        } else if (!t.owned.empty()) {
            s.raw(t.owned.data(), t.owned.size());
        } else {
            s.raw(t.borrowed.data(), t.borrowed.size());
        }
        s.zeros(detail::align_up(t.nbytes, alignment_) - t.nbytes);
    }
}

std::vector<std::byte> gguf_writer::write_to_memory() const {
    std::vector<std::byte> out;
    write_to([&](const void* p, size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        out.insert(out.end(), b, b + n);
    });
    return out;
}

void gguf_writer::write(const std::filesystem::path& path) const {
    const auto tmp = std::filesystem::path(path.string() + ".tmp-" + std::to_string(::getpid()));
    std::FILE* fp = std::fopen(tmp.c_str(), "wb");
    if (!fp) fail(errc::io_error, "{}: cannot create: {}", tmp.string(), std::strerror(errno));
    try {
        write_to([&](const void* p, size_t n) {
            if (n && std::fwrite(p, 1, n, fp) != n) fail(errc::io_error, "{}: write failed: {}", tmp.string(), std::strerror(errno));
        });
        if (std::fclose(fp) != 0) {
            fp = nullptr;
            fail(errc::io_error, "{}: write failed: {}", tmp.string(), std::strerror(errno));
        }
        fp = nullptr;
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) fail(errc::io_error, "{}: cannot rename into place: {}", path.string(), ec.message());
    } catch (...) {
        if (fp) std::fclose(fp);
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw;
    }
}

}  // namespace ember
