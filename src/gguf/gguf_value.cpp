#include <fmt/format.h>

#include <bit>

#include "ember/gguf.hpp"
#include "core/util.hpp"

namespace ember {

std::string_view to_string(gguf_type t) noexcept {
    switch (t) {
        case gguf_type::uint8: return "u8";
        case gguf_type::int8: return "i8";
        case gguf_type::uint16: return "u16";
        case gguf_type::int16: return "i16";
        case gguf_type::uint32: return "u32";
        case gguf_type::int32: return "i32";
        case gguf_type::float32: return "f32";
        case gguf_type::boolean: return "bool";
        case gguf_type::string: return "string";
        case gguf_type::array: return "array";
        case gguf_type::uint64: return "u64";
        case gguf_type::int64: return "i64";
        case gguf_type::float64: return "f64";
    }
    return "invalid";
}

size_t gguf_type_size(gguf_type t) noexcept {
    switch (t) {
        case gguf_type::uint8: case gguf_type::int8: case gguf_type::boolean: return 1;
        case gguf_type::uint16: case gguf_type::int16: return 2;
        case gguf_type::uint32: case gguf_type::int32: case gguf_type::float32: return 4;
        case gguf_type::uint64: case gguf_type::int64: case gguf_type::float64: return 8;
        case gguf_type::string: case gguf_type::array: return 0;
    }
    return 0;
}

gguf_value gguf_value::from_u8(uint8_t v) { gguf_value r; r.type_ = gguf_type::uint8; r.scalar_.u = v; return r; }
gguf_value gguf_value::from_i8(int8_t v) { gguf_value r; r.type_ = gguf_type::int8; r.scalar_.i = v; return r; }
gguf_value gguf_value::from_u16(uint16_t v) { gguf_value r; r.type_ = gguf_type::uint16; r.scalar_.u = v; return r; }
gguf_value gguf_value::from_i16(int16_t v) { gguf_value r; r.type_ = gguf_type::int16; r.scalar_.i = v; return r; }
gguf_value gguf_value::from_u32(uint32_t v) { gguf_value r; r.type_ = gguf_type::uint32; r.scalar_.u = v; return r; }
gguf_value gguf_value::from_i32(int32_t v) { gguf_value r; r.type_ = gguf_type::int32; r.scalar_.i = v; return r; }
gguf_value gguf_value::from_u64(uint64_t v) { gguf_value r; r.type_ = gguf_type::uint64; r.scalar_.u = v; return r; }
gguf_value gguf_value::from_i64(int64_t v) { gguf_value r; r.type_ = gguf_type::int64; r.scalar_.i = v; return r; }
gguf_value gguf_value::from_f32(float v) { gguf_value r; r.type_ = gguf_type::float32; r.scalar_.d = v; return r; }
gguf_value gguf_value::from_f64(double v) { gguf_value r; r.type_ = gguf_type::float64; r.scalar_.d = v; return r; }
gguf_value gguf_value::from_bool(bool v) { gguf_value r; r.type_ = gguf_type::boolean; r.scalar_.u = v ? 1 : 0; return r; }
gguf_value gguf_value::from_string(std::string v) { gguf_value r; r.type_ = gguf_type::string; r.str_ = std::move(v); return r; }

gguf_value gguf_value::from_raw_array(gguf_type elem, std::vector<std::byte> raw) {
    const size_t es = gguf_type_size(elem);
    if (es == 0) throw error(errc::invalid_argument, "gguf_value::from_raw_array: element type must be numeric or bool");
    if (raw.size() % es != 0) throw error(errc::invalid_argument, "gguf_value::from_raw_array: byte count is not a multiple of the element size");
    gguf_value r;
    r.type_ = gguf_type::array;
    r.elem_ = elem;
    r.raw_ = std::move(raw);
    return r;
}

gguf_value gguf_value::from_strings(std::vector<std::string> v) {
    gguf_value r;
    r.type_ = gguf_type::array;
    r.elem_ = gguf_type::string;
    r.strings_ = std::move(v);
    return r;
}

gguf_value gguf_value::from_arrays(std::vector<gguf_value> v) {
    for (const auto& e : v)
        if (!e.is_array()) throw error(errc::invalid_argument, "gguf_value::from_arrays: every element must be an array");
    gguf_value r;
    r.type_ = gguf_type::array;
    r.elem_ = gguf_type::array;
    r.arrays_ = std::move(v);
    return r;
}

bool gguf_value::is_integer() const noexcept {
    switch (type_) {
        case gguf_type::uint8: case gguf_type::int8: case gguf_type::uint16: case gguf_type::int16:
        case gguf_type::uint32: case gguf_type::int32: case gguf_type::uint64: case gguf_type::int64:
            return true;
        default:
            return false;
    }
}

static bool is_signed_type(gguf_type t) {
    return t == gguf_type::int8 || t == gguf_type::int16 || t == gguf_type::int32 || t == gguf_type::int64;
}

std::optional<int64_t> gguf_value::to_int() const noexcept {
    if (!is_integer() && type_ != gguf_type::boolean) return std::nullopt;
    if (is_signed_type(type_)) return scalar_.i;
    if (scalar_.u > uint64_t(INT64_MAX)) return std::nullopt;
    return int64_t(scalar_.u);
}

std::optional<uint64_t> gguf_value::to_uint() const noexcept {
    if (!is_integer() && type_ != gguf_type::boolean) return std::nullopt;
    if (is_signed_type(type_)) {
        if (scalar_.i < 0) return std::nullopt;
        return uint64_t(scalar_.i);
    }
    return scalar_.u;
}

std::optional<double> gguf_value::to_double() const noexcept {
    if (is_float()) return scalar_.d;
    if (is_signed_type(type_)) return double(scalar_.i);
    if (is_integer()) return double(scalar_.u);
    return std::nullopt;
}

size_t gguf_value::size() const noexcept {
    if (type_ != gguf_type::array) return 0;
    if (elem_ == gguf_type::string) return strings_.size();
    if (elem_ == gguf_type::array) return arrays_.size();
    return raw_.size() / gguf_type_size(elem_);
}

gguf_value gguf_value::element(size_t i) const {
    if (type_ != gguf_type::array || i >= size()) throw error(errc::invalid_argument, "gguf_value::element: index out of range");
    if (elem_ == gguf_type::string) return from_string(strings_[i]);
    if (elem_ == gguf_type::array) return arrays_[i];
    const std::byte* p = raw_.data() + i * gguf_type_size(elem_);
    auto load = [p]<class T>(T) {
        T v;
        std::memcpy(&v, p, sizeof v);
        return v;
    };
    switch (elem_) {
        case gguf_type::uint8: return from_u8(load(uint8_t{}));
        case gguf_type::int8: return from_i8(load(int8_t{}));
        case gguf_type::uint16: return from_u16(load(uint16_t{}));
        case gguf_type::int16: return from_i16(load(int16_t{}));
        case gguf_type::uint32: return from_u32(load(uint32_t{}));
        case gguf_type::int32: return from_i32(load(int32_t{}));
        case gguf_type::uint64: return from_u64(load(uint64_t{}));
        case gguf_type::int64: return from_i64(load(int64_t{}));
        case gguf_type::float32: return from_f32(load(float{}));
        case gguf_type::float64: return from_f64(load(double{}));
        case gguf_type::boolean: return from_bool(load(uint8_t{}) != 0);
        default: break;
    }
    throw error(errc::internal, "gguf_value::element: bad element type");
}

static std::string quoted(const std::string& s) {
    std::string out(1, '"');
    out += detail::escape_text(s, 60, '"');
    out += '"';
    return out;
}

std::string gguf_value::to_display_string(size_t max_elems) const {
    switch (type_) {
        case gguf_type::string: return quoted(str_);
        case gguf_type::boolean: return scalar_.u ? "true" : "false";
        case gguf_type::float32: return fmt::format("{}", float(scalar_.d));
        case gguf_type::float64: return fmt::format("{}", scalar_.d);
        case gguf_type::array: {
            const size_t n = size();
            std::string out = fmt::format("{}[{}] [", to_string(elem_), n);
            for (size_t i = 0; i < n && i < max_elems; ++i) {
                if (i) out += ", ";
                // Strings and sub-arrays are rendered in place rather than copied out by element().
                if (elem_ == gguf_type::string) out += quoted(strings_[i]);
                else if (elem_ == gguf_type::array) out += arrays_[i].to_display_string(max_elems);
                else out += element(i).to_display_string(max_elems);
            }
            if (n > max_elems) out += ", ...";
            return out + "]";
        }
        default:
            if (is_signed_type(type_)) return fmt::format("{}", scalar_.i);
            return fmt::format("{}", scalar_.u);
    }
}

std::string gguf_tensor::shape_string() const {
    std::string s = "[";
    for (uint32_t d = 0; d < n_dims; ++d) s += fmt::format("{}{}", d ? ", " : "", ne[d]);
    return s + "]";
}

}  // namespace ember
