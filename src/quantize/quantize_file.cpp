// quantize_file: read a GGUF model, choose every tensor's type with the preset's rules, convert
// the tensors one at a time while the output file is written.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "ember/gguf.hpp"
#include "ember/kernels.hpp"
#include "ember/quant/quantize.hpp"
#include "ember/quantize_file.hpp"
#include "arch/arch.hpp"
#include "quantize/quantize_parallel.hpp"
#include "core/thread_pool.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr int64_t k_max_layers = 1 << 16;

// The hyperparameters the rules read (`arch` prefixes the keys), checked as the model loader
// would check them. The rules themselves go by tensor names and these counts only, the same for
// every architecture ember runs (as llama.cpp's do, falcon and MoE aside).
quant_model_desc read_model_desc(const gguf_file& f, const std::string& arch) {
    quant_model_desc m;
    const std::string a = arch + ".";
    m.n_layer = f.get_int(a + "block_count");
    if (m.n_layer <= 0 || m.n_layer > k_max_layers) fail(errc::bad_file, "{}: {}block_count is {}", f.name(), a, m.n_layer);
    m.n_head = f.get_int_or_array(a + "attention.head_count", size_t(m.n_layer))[0];
    m.n_head_kv = f.contains(a + "attention.head_count_kv")
                      ? f.get_int_or_array(a + "attention.head_count_kv", size_t(m.n_layer))[0]
                      : m.n_head;
    if (m.n_head <= 0 || m.n_head_kv <= 0 || m.n_head % m.n_head_kv != 0)
        fail(errc::bad_file, "{}: attention head counts {} / {} (KV) are not valid", f.name(), m.n_head, m.n_head_kv);
    if (f.get_int_opt(a + "expert_count").value_or(0) > 1)
        fail(errc::unsupported, "{}: mixture-of-experts models are not supported by ember's quantize presets", f.name());
    for (const auto& t : f.tensors()) {
        if (!t.name.starts_with("blk.")) continue;
        int64_t layer = -1;
        const char* p = t.name.c_str() + 4;
        if (*p >= '0' && *p <= '9') layer = std::strtoll(p, nullptr, 10);
        if (layer < 0 || layer >= m.n_layer)
            fail(errc::bad_file, "{}: tensor '{}' names a layer outside the model's {} layers", f.name(), t.name, m.n_layer);
    }
    return m;
}

void check_paths(const std::filesystem::path& in, const std::filesystem::path& out) {
    std::error_code ec1, ec2;
    const auto a = std::filesystem::weakly_canonical(in, ec1), b = std::filesystem::weakly_canonical(out, ec2);
    bool same = !ec1 && !ec2 ? a == b : in.lexically_normal() == out.lexically_normal();
    std::error_code ec;
    if (!same && std::filesystem::exists(out, ec)) same = std::filesystem::equivalent(in, out, ec) && !ec;
    if (same) fail(errc::invalid_argument, "{}: the output would overwrite the input file", out.string());
}

}  // namespace

quantize_result quantize_file(const std::filesystem::path& in, const std::filesystem::path& out, const quantize_options& opt) {
    const quant_preset* preset = find_quant_preset(opt.preset);
    if (!preset) fail(errc::invalid_argument, "unknown quantization type '{}' (one of: {})", opt.preset, quant_preset_names());
    if (opt.n_threads < 0) fail(errc::invalid_argument, "quantize: n_threads must not be negative (got {})", opt.n_threads);
    check_paths(in, out);

    const gguf_file f = gguf_file::open(in);
    const std::string arch(f.get_string("general.architecture"));
    if (f.get_int_opt("split.count").value_or(1) > 1)
        fail(errc::unsupported, "{}: split model files are not supported; merge the shards first", f.name());
    quant_model_desc desc;
    if (detail::find_arch(arch)) desc = read_model_desc(f, arch);
    else if (info(preset->base).quantized)
        fail(errc::unsupported, "{}: architecture '{}' is not supported by the {} preset (only {}; F32, F16 and BF16 work for any)",
             f.name(), arch, preset->name, detail::supported_arch_names());

    const auto tensors = f.tensors();
    std::vector<quant_tensor_desc> descs;
    descs.reserve(tensors.size());
    for (const auto& t : tensors) descs.push_back({t.name, std::span<const int64_t>(t.ne.data(), std::max<uint32_t>(t.n_dims, 1)), t.type});
    const auto plan = plan_quantization(*preset, desc, descs);

    // Check every conversion before anything is written.
    for (const auto& e : plan) {
        const gguf_tensor& t = tensors[e.index];
        if (t.type == e.type) continue;
        if (!kernels::get(t.type, kernels::isa::scalar).to_float)
            fail(errc::unsupported, "{}: tensor '{}' is {}, which ember cannot dequantize to convert it to {}", f.name(), t.name,
                 type_name(t.type), type_name(e.type));
        if (!quant::can_quantize(e.type))
            fail(errc::unsupported, "{}: tensor '{}': ember cannot quantize to {}", f.name(), t.name, type_name(e.type));
    }

    gguf_writer w;
    w.copy_metadata(f);
    // Appended last, as llama.cpp does, so that the files are byte-for-byte comparable.
    w.remove("general.quantization_version");
    w.remove("general.file_type");
    w.set_u32("general.quantization_version", 2);
    w.set_u32("general.file_type", preset->file_type);

    const int n_threads = opt.n_threads > 0 ? opt.n_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    detail::thread_pool pool(n_threads);
    quantize_result res;
    res.n_tensors = plan.size();
    for (size_t k = 0; k < plan.size(); ++k) {
        const gguf_tensor& t = tensors[plan[k].index];
        const ggml_type to = plan[k].type;
        const std::span<const int64_t> ne = descs[plan[k].index].ne;
        const size_t out_bytes = row_bytes(to, t.ne[0]) * size_t(t.nrows());
        res.bytes_in += t.nbytes;
        res.bytes_out += out_bytes;
        res.n_quantized += t.type != to;
        w.add_tensor_fill(t.name, to, ne, [&, tp = &t, k, to, ne, out_bytes](std::span<std::byte> dst) {
            const gguf_tensor& src = *tp;
            if (src.type == to) {
                std::memcpy(dst.data(), src.data, src.nbytes);
            } else {
                const auto to_float = kernels::get(src.type, kernels::isa::scalar).to_float;
                const size_t in_rb = src.row_bytes();
                const int64_t ne0 = src.ne[0];
                detail::quantize_rows_parallel(pool, to, src.nrows(), ne0, [&](int64_t r, float* buf) -> const float* {
                    const std::byte* row = src.data + size_t(r) * in_rb;
                    if (src.type == ggml_type::f32 && reinterpret_cast<uintptr_t>(row) % alignof(float) == 0)
                        return reinterpret_cast<const float*>(row);
                    to_float(row, buf, ne0);
                    return buf;
                }, dst.data());
            }
            if (opt.progress && !opt.progress({k, plan.size(), src.name, ne, src.type, to, src.nbytes, out_bytes}))
                fail(errc::cancelled, "{}: quantization cancelled", out.string());
        });
    }
    w.write(out);
    return res;
}

}  // namespace ember
