#include <fmt/format.h>

#include <map>

#include "arch/arch.hpp"
#include "model/model_impl.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

struct fnv1a {
    uint64_t h = 0xcbf29ce484222325ull;
    void add(const void* p, size_t n) {
        const auto* b = static_cast<const unsigned char*>(p);
        for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
    }
    template <class T> void add(const T& v) { add(&v, sizeof v); }
};

uint64_t compute_fingerprint(const model::impl& m) {
    fnv1a f;
    f.add(m.hp.arch.data(), m.hp.arch.size());
    for (int64_t v : {m.hp.n_vocab, m.hp.n_embd, m.hp.n_layer, m.hp.n_head, m.hp.n_head_kv, m.hp.n_ff, m.hp.head_dim}) f.add(v);
    for (const auto& t : m.file.tensors()) {
        f.add(t.name.data(), t.name.size());
        f.add(t.type);
        f.add(t.ne);
        // Sampling the data (start, middle, end) tells apart models that share a layout.
        const size_t k = std::min<size_t>(t.nbytes, 256);
        f.add(t.data, k);
        f.add(t.data + (t.nbytes - k) / 2, k);
        f.add(t.data + t.nbytes - k, k);
    }
    return f.h;
}

}  // namespace

uint64_t model::fingerprint() const noexcept { return impl_->fingerprint; }

model::model(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
model::~model() = default;

std::shared_ptr<const model> model::load(const std::filesystem::path& path, const model_params& params) {
    auto p = std::make_unique<impl>();
    if (params.progress && !params.progress(0.0f)) fail(errc::cancelled, "{}: loading cancelled", path.string());
    p->file = gguf_file::open(path, {.use_mmap = params.use_mmap, .populate = params.populate});
    const gguf_file& f = p->file;
    p->hp.arch = std::string(f.get_string("general.architecture"));
    const detail::arch_desc* arch = detail::find_arch(p->hp.arch);
    if (!arch)
        fail(errc::unsupported, "{}: unsupported architecture '{}' (supported: {})", f.name(), p->hp.arch,
             detail::supported_arch_names());
    p->vocab = vocab::from_gguf(f, [&](std::string_view msg) {
        if (params.log) params.log(log_level::warn, msg);
    });
    if (params.progress && !params.progress(0.5f)) fail(errc::cancelled, "{}: loading cancelled", f.name());
    arch->load(*p, params.log);
    p->fingerprint = compute_fingerprint(*p);
    if (params.repack) detail::pack_weights(*p);
    if (params.progress && !params.progress(1.0f)) fail(errc::cancelled, "{}: loading cancelled", f.name());
    return std::shared_ptr<const model>(new model(std::move(p)));
}

const model_hparams& model::hparams() const noexcept { return impl_->hp; }
const ember::vocab& model::vocab() const noexcept { return impl_->vocab; }
const gguf_file& model::file() const noexcept { return impl_->file; }

uint64_t model::n_params() const noexcept {
    uint64_t n = 0;
    for (const auto& t : impl_->file.tensors()) n += uint64_t(t.nelements());
    return n;
}

uint64_t model::weight_bytes() const noexcept {
    uint64_t n = 0;
    for (const auto& t : impl_->file.tensors()) n += t.nbytes;
    return n;
}

std::string model::type_summary() const {
    // llama.cpp's file-type names for the presets; otherwise the type holding the most bytes.
    if (auto ft = impl_->file.get_u32_opt("general.file_type")) {
        static const std::map<uint32_t, const char*> names{
            {0, "F32"}, {1, "F16"}, {2, "Q4_0"}, {3, "Q4_1"}, {7, "Q8_0"}, {8, "Q5_0"}, {9, "Q5_1"},
            {10, "Q2_K - Medium"}, {11, "Q3_K - Small"}, {12, "Q3_K - Medium"}, {13, "Q3_K - Large"},
            {14, "Q4_K - Small"}, {15, "Q4_K - Medium"}, {16, "Q5_K - Small"}, {17, "Q5_K - Medium"},
            {18, "Q6_K"}, {32, "BF16"}};
        if (auto it = names.find(*ft); it != names.end()) return it->second;
    }
    std::map<ggml_type, uint64_t> bytes;
    for (const auto& t : impl_->file.tensors()) bytes[t.type] += t.nbytes;
    ggml_type best = ggml_type::f32;
    uint64_t most = 0;
    for (auto [t, b] : bytes)
        if (b > most) most = b, best = t;
    return std::string(type_name(best));
}

std::string model::description() const {
    const double p = double(n_params());
    const std::string size = p >= 1e9 ? fmt::format("{:.2f}B", p / 1e9) : fmt::format("{:.1f}M", p / 1e6);
    return fmt::format("{} {} {}", impl_->hp.arch, size, type_summary());
}

}  // namespace ember
