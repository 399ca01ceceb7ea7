#include <array>
#include <cmath>

#include "arch/arch.hpp"
#include "ember/kernels.hpp"
#include "core/util.hpp"

namespace ember::detail {

namespace {
constexpr std::array<arch_desc, 5> k_archs{{
    {"llama", load_llama},
    {"qwen2", load_qwen2},
    {"qwen3", load_qwen3},
    {"gemma3", load_gemma3},
    {"phi3", load_phi3},
}};
}  // namespace

const arch_desc* find_arch(std::string_view name) noexcept {
    for (const auto& a : k_archs)
        if (a.name == name) return &a;
    return nullptr;
}

std::string supported_arch_names() {
    std::string s;
    for (const auto& a : k_archs) s += (s.empty() ? "" : ", ") + std::string(a.name);
    return s;
}

static const gguf_tensor& require_tensor(const gguf_file& f, const std::string& name) {
    const gguf_tensor* t = f.find_tensor(name);
    if (!t) fail(errc::bad_file, "{}: missing tensor '{}'", f.name(), name);
    return *t;
}

weight bind_matrix(const gguf_file& f, const std::string& name, int64_t cols, int64_t rows, bool need_matmul) {
    const gguf_tensor& t = require_tensor(f, name);
    if (t.n_dims != 2 || t.ne[0] != cols || t.ne[1] != rows)
        fail(errc::bad_file, "{}: tensor '{}' has shape {}, expected [{}, {}]", f.name(), name, t.shape_string(), cols, rows);
    const auto& k = kernels::get(t.type);
    const bool ok = need_matmul ? (k.vec_dot && kernels::get(k.vec_dot_type).from_float) : k.to_float != nullptr;
    if (!ok) fail(errc::unsupported, "{}: unsupported type {} for tensor '{}'", f.name(), type_name(t.type), name);
    return weight{&t, t.type, cols, rows, t.row_bytes(), t.data};
}

std::vector<float> bind_vector(const gguf_file& f, const std::string& name, int64_t n) {
    const gguf_tensor& t = require_tensor(f, name);
    if (t.n_dims != 1 || t.ne[0] != n)
        fail(errc::bad_file, "{}: tensor '{}' has shape {}, expected [{}]", f.name(), name, t.shape_string(), n);
    const auto& k = kernels::get(t.type);
    if (!k.to_float) fail(errc::unsupported, "{}: unsupported type {} for tensor '{}'", f.name(), type_name(t.type), name);
    std::vector<float> v(static_cast<size_t>(n));
    k.to_float(t.data, v.data(), n);
    for (float x : v)
        if (!std::isfinite(x)) fail(errc::bad_file, "{}: tensor '{}' contains a non-finite value", f.name(), name);
    return v;
}

}  // namespace ember::detail
