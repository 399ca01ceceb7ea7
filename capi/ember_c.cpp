// The C API, part 1: library information, errors, logging, parameter structs, models and
// tokens. Every entry point runs its body inside capi::guard (ember_c_internal.hpp), so no
// exception crosses into C.
#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include "ember/kernels.hpp"
#include "ember_c_internal.hpp"
#include "core/util.hpp"

namespace ember::capi {

using detail::fail;

namespace {

thread_local std::string t_last_error;

// The sink is called with the lock held, so that once ember_log_set returns the previous sink
// is never called again (its user_data may be gone). Recursive, so that a sink which calls
// into ember (and so may log) on the same thread does not deadlock.
struct log_sink {
    std::recursive_mutex mu;
    ember_log_fn fn = nullptr;
    void* user_data = nullptr;
};
log_sink& sink() {
    static log_sink s;
    return s;
}
std::atomic<bool> g_log_enabled{false};

}  // namespace

ember_status set_error(ember_status status, std::string_view message) noexcept {
    try {
        t_last_error.assign(message);
    } catch (...) {
        // Keep whatever was there: an allocation failure must not turn into a second failure.
    }
    return status;
}

ember_status status_of(errc code) noexcept {
    switch (code) {
        case errc::invalid_argument: return EMBER_ERR_INVALID_ARGUMENT;
        case errc::file_not_found: return EMBER_ERR_FILE_NOT_FOUND;
        case errc::bad_file: return EMBER_ERR_BAD_FILE;
        case errc::unsupported: return EMBER_ERR_UNSUPPORTED;
        case errc::out_of_memory: return EMBER_ERR_OUT_OF_MEMORY;
        case errc::context_full: return EMBER_ERR_CONTEXT_FULL;
        case errc::cancelled: return EMBER_ERR_CANCELLED;
        case errc::io_error: return EMBER_ERR_IO;
        case errc::internal: return EMBER_ERR_INTERNAL;
        case errc::template_error: return EMBER_ERR_TEMPLATE;
    }
    return EMBER_ERR_INTERNAL;
}

bool log_enabled() noexcept { return g_log_enabled.load(std::memory_order_relaxed); }

void log(int32_t level, std::string_view message) noexcept {
    if (!log_enabled()) return;
    try {
        const std::string text(message);
        std::lock_guard lock(sink().mu);
        if (sink().fn) sink().fn(level, text.c_str(), sink().user_data);
    } catch (...) {
        // Logging never fails an operation.
    }
}

void check_struct_size(const char* type_name, size_t given, size_t full, std::initializer_list<field_span> fields) {
    if (given < sizeof(size_t))
        fail_status(EMBER_ERR_INVALID_ARGUMENT, "{}.struct_size is {}; set it to sizeof({}) ({} in this library)", type_name,
                    given, type_name, full);
    if (given > full)
        fail_status(EMBER_ERR_UNSUPPORTED,
                    "{}.struct_size {} is larger than this library's {} bytes: the caller was built against a newer ember.h "
                    "than the library it runs with (library {}, ABI {})",
                    type_name, given, full, EMBER_VERSION_STRING, EMBER_ABI_VERSION);
    for (const field_span& f : fields)
        if (f.offset < given && given < f.offset + f.size)
            fail_status(EMBER_ERR_UNSUPPORTED, "{}.struct_size {} ends inside a field (bytes {}..{})", type_name, given,
                        f.offset, f.offset + f.size);
}

void check_buffer(const void* buf, size_t capacity) {
    if (!buf && capacity > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "the buffer is NULL but its capacity is {}", capacity);
}

void write_text(std::string_view text, char* buf, size_t capacity, size_t* size) {
    need(size, "size");
    check_buffer(buf, capacity);
    *size = text.size();
    if (text.size() >= capacity)
        fail_status(EMBER_ERR_BUFFER_TOO_SMALL, "{} bytes of text (plus a NUL) do not fit a buffer of {}", text.size(),
                    capacity);
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
}

void check_token(const ember::model& m, ember_token t) {
    if (t < 0 || t >= m.vocab().size())
        fail_status(EMBER_ERR_INVALID_ARGUMENT, "token {} is outside the vocabulary (0..{})", t, m.vocab().size() - 1);
}

namespace {

const auto k_model_params_fields = {
    EMBER_FIELD(ember_model_params, struct_size), EMBER_FIELD(ember_model_params, use_mmap),
    EMBER_FIELD(ember_model_params, check_tensors), EMBER_FIELD(ember_model_params, progress),
    EMBER_FIELD(ember_model_params, progress_user_data)};

ember_model_params model_defaults() {
    ember_model_params p{};
    p.struct_size = sizeof p;
    p.use_mmap = true;
    p.check_tensors = false;
    return p;
}

// Every weight finite: one pass over the data, dequantizing a row at a time.
void check_tensor_values(const ember::model& m, const ember_model_params& p) {
    std::vector<float> row;
    const auto tensors = m.file().tensors();
    for (size_t ti = 0; ti < tensors.size(); ++ti) {
        const gguf_tensor& t = tensors[ti];
        const auto& k = kernels::get(t.type);
        if (t.type != ggml_type::f32 && !k.to_float) {
            log(EMBER_LOG_DEBUG, fmt::format("check_tensors: {} ({}) has no dequantizer; not checked", t.name, type_name(t.type)));
            continue;
        }
        row.resize(size_t(t.ne[0]));
        const size_t rb = t.row_bytes();
        for (int64_t r = 0; r < t.nrows(); ++r) {
            const std::byte* src = t.data + size_t(r) * rb;
            if (t.type == ggml_type::f32)
                std::memcpy(row.data(), src, rb);
            else
                k.to_float(src, row.data(), t.ne[0]);
            for (size_t i = 0; i < row.size(); ++i)
                if (!std::isfinite(row[i]))
                    fail(errc::bad_file, "{}: tensor {} has a non-finite value ({}) in row {} at column {}", m.file().name(),
                         t.name, row[i], r, i);
        }
        if (p.progress && !p.progress(float(ti + 1) / float(tensors.size()), p.progress_user_data))
            fail(errc::cancelled, "{}: loading cancelled while checking tensors", m.file().name());
    }
}

int32_t c_level(log_level l) {
    switch (l) {
        case log_level::debug: return EMBER_LOG_DEBUG;
        case log_level::info: return EMBER_LOG_INFO;
        case log_level::warn: return EMBER_LOG_WARN;
        case log_level::error: return EMBER_LOG_ERROR;
    }
    return EMBER_LOG_INFO;
}

const gguf_value& meta_value(const ember::model& m, const char* key) {
    need(key, "key");
    const gguf_value* v = m.file().find(key);
    if (!v) fail_status(EMBER_ERR_NOT_FOUND, "no metadata key '{}'", key);
    return *v;
}

const gguf_tensor& tensor_at(const ember::model& m, uint64_t index) {
    const auto ts = m.file().tensors();
    if (index >= ts.size()) fail_status(EMBER_ERR_NOT_FOUND, "tensor index {} is out of range (the model has {})", index, ts.size());
    return ts[size_t(index)];
}

}  // namespace

}  // namespace ember::capi

using namespace ember;
using namespace ember::capi;

extern "C" {

// --- library --------------------------------------------------------------------------------

EMBER_API const char* ember_version(void) { return EMBER_VERSION_STRING; }
EMBER_API uint32_t ember_abi_version(void) { return EMBER_ABI_VERSION; }
EMBER_API const char* ember_last_error(void) { return t_last_error.c_str(); }

EMBER_API const char* ember_status_string(ember_status status) {
    switch (status) {
        case EMBER_OK: return "ok";
        case EMBER_ERR_INVALID_ARGUMENT: return "invalid argument";
        case EMBER_ERR_FILE_NOT_FOUND: return "file not found";
        case EMBER_ERR_BAD_FILE: return "bad file";
        case EMBER_ERR_UNSUPPORTED: return "unsupported";
        case EMBER_ERR_OUT_OF_MEMORY: return "out of memory";
        case EMBER_ERR_CONTEXT_FULL: return "context full";
        case EMBER_ERR_CANCELLED: return "cancelled";
        case EMBER_ERR_IO: return "i/o error";
        case EMBER_ERR_INTERNAL: return "internal error";
        case EMBER_ERR_BUFFER_TOO_SMALL: return "buffer too small";
        case EMBER_ERR_NOT_FOUND: return "not found";
        case EMBER_ERR_TEMPLATE: return "template error";
        default: return "unknown status";
    }
}

EMBER_API void ember_log_set(ember_log_fn fn, void* user_data) {
    std::lock_guard lock(sink().mu);
    sink().fn = fn;
    sink().user_data = user_data;
    g_log_enabled.store(fn != nullptr);
}

// --- models ---------------------------------------------------------------------------------

EMBER_API ember_status ember_model_params_init(ember_model_params* params, size_t struct_size) {
    return guard(__func__, [&] { init_params(params, struct_size, model_defaults(), "ember_model_params", k_model_params_fields); });
}

EMBER_API ember_status ember_model_load(const char* path, const ember_model_params* params, ember_model** model) {
    return guard(__func__, [&] {
        need(model, "model (the out-pointer)");
        need(path, "path");
        const ember_model_params p = read_params(params, model_defaults(), "ember_model_params", k_model_params_fields);
        model_params mp;
        mp.use_mmap = p.use_mmap;
        if (log_enabled()) mp.log = [](log_level l, std::string_view msg) { log(c_level(l), msg); };
        if (p.progress) {
            // With check_tensors the scan is reported as a second pass over [0, 1].
            mp.progress = [&p](float f) { return p.progress(f, p.progress_user_data); };
        }
        auto handle = std::make_unique<ember_model>();
        handle->m = ember::model::load(path, mp);
        if (p.check_tensors) check_tensor_values(*handle->m, p);
        log(EMBER_LOG_INFO, fmt::format("loaded {}: {}", path, handle->m->description()));
        *model = handle.release();
    });
}

EMBER_API void ember_model_free(ember_model* model) { delete model; }

EMBER_API ember_status ember_model_get_info(const ember_model* model, ember_model_info* info) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        const model_hparams& hp = m.hparams();
        const ember::vocab& v = m.vocab();
        ember_model_info r{};
        r.n_vocab = hp.n_vocab;
        r.n_ctx_train = hp.n_ctx_train;
        r.n_embd = hp.n_embd;
        r.n_layer = hp.n_layer;
        r.n_head = hp.n_head;
        r.n_head_kv = hp.n_head_kv;
        r.n_ff = hp.n_ff;
        r.head_dim = hp.head_dim;
        r.n_params = m.n_params();
        r.weight_bytes = m.weight_bytes();
        r.file_size = m.file().file_size();
        r.n_tensors = m.file().tensors().size();
        r.n_metadata = m.file().metadata().size();
        r.bos = v.bos(), r.eos = v.eos(), r.eot = v.eot(), r.eom = v.eom(), r.unk = v.unk(), r.pad = v.pad();
        r.add_bos = v.add_bos();
        r.add_eos = v.add_eos();
        r.mmapped = m.file().is_mapped();
        using T = ember_model_info;
        write_struct(info, r, "ember_model_info",
                     {EMBER_FIELD(T, struct_size), EMBER_FIELD(T, n_vocab), EMBER_FIELD(T, n_ctx_train), EMBER_FIELD(T, n_embd),
                      EMBER_FIELD(T, n_layer), EMBER_FIELD(T, n_head), EMBER_FIELD(T, n_head_kv), EMBER_FIELD(T, n_ff),
                      EMBER_FIELD(T, head_dim), EMBER_FIELD(T, n_params), EMBER_FIELD(T, weight_bytes),
                      EMBER_FIELD(T, file_size), EMBER_FIELD(T, n_tensors), EMBER_FIELD(T, n_metadata), EMBER_FIELD(T, bos),
                      EMBER_FIELD(T, eos), EMBER_FIELD(T, eot), EMBER_FIELD(T, eom), EMBER_FIELD(T, unk), EMBER_FIELD(T, pad),
                      EMBER_FIELD(T, add_bos), EMBER_FIELD(T, add_eos), EMBER_FIELD(T, mmapped)});
    });
}

EMBER_API ember_status ember_model_architecture(const ember_model* model, char* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] { write_text(model_of(model).hparams().arch, buf, capacity, size); });
}

EMBER_API ember_status ember_model_description(const ember_model* model, char* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] { write_text(model_of(model).description(), buf, capacity, size); });
}

EMBER_API ember_status ember_model_meta_string(const ember_model* model, const char* key, char* buf, size_t capacity,
                                              size_t* size) {
    return guard(__func__, [&] {
        const gguf_value& v = meta_value(model_of(model), key);
        if (v.type() == gguf_type::string)
            write_text(v.as_string(), buf, capacity, size);
        else
            write_text(v.to_display_string(8), buf, capacity, size);
    });
}

EMBER_API ember_status ember_model_meta_int(const ember_model* model, const char* key, int64_t* value) {
    return guard(__func__, [&] {
        need(value, "value");
        const gguf_value& v = meta_value(model_of(model), key);
        std::optional<int64_t> i;
        if (v.type() == gguf_type::boolean)
            i = v.as_bool() ? 1 : 0;
        else if (v.is_integer())
            i = v.to_int();
        else
            fail_status(EMBER_ERR_INVALID_ARGUMENT, "metadata key '{}' is a {}, not an integer", key, to_string(v.type()));
        if (!i) fail_status(EMBER_ERR_INVALID_ARGUMENT, "metadata key '{}' does not fit int64_t", key);
        *value = *i;
    });
}

EMBER_API ember_status ember_model_meta_float(const ember_model* model, const char* key, double* value) {
    return guard(__func__, [&] {
        need(value, "value");
        const gguf_value& v = meta_value(model_of(model), key);
        const auto d = (v.is_float() || v.is_integer()) ? v.to_double() : std::nullopt;
        if (!d) fail_status(EMBER_ERR_INVALID_ARGUMENT, "metadata key '{}' is a {}, not a number", key, to_string(v.type()));
        *value = *d;
    });
}

EMBER_API ember_status ember_model_meta_key(const ember_model* model, uint64_t index, char* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] {
        const auto kvs = model_of(model).file().metadata();
        if (index >= kvs.size())
            fail_status(EMBER_ERR_NOT_FOUND, "metadata index {} is out of range (the model has {} keys)", index, kvs.size());
        write_text(kvs[size_t(index)].key, buf, capacity, size);
    });
}

EMBER_API ember_status ember_model_tensor_info(const ember_model* model, uint64_t index, ember_tensor_info* info) {
    return guard(__func__, [&] {
        const gguf_tensor& t = tensor_at(model_of(model), index);
        ember_tensor_info r{};
        r.type = int32_t(t.type);
        r.n_dims = t.n_dims;
        for (int d = 0; d < 4; ++d) r.ne[d] = t.ne[size_t(d)];
        r.offset = t.offset;
        r.nbytes = t.nbytes;
        using T = ember_tensor_info;
        write_struct(info, r, "ember_tensor_info",
                     {EMBER_FIELD(T, struct_size), EMBER_FIELD(T, type), EMBER_FIELD(T, n_dims), EMBER_FIELD(T, ne),
                      EMBER_FIELD(T, offset), EMBER_FIELD(T, nbytes)});
    });
}

EMBER_API ember_status ember_model_tensor_name(const ember_model* model, uint64_t index, char* buf, size_t capacity,
                                              size_t* size) {
    return guard(__func__, [&] { write_text(tensor_at(model_of(model), index).name, buf, capacity, size); });
}

// --- tokens ---------------------------------------------------------------------------------

EMBER_API ember_status ember_model_tokenize(const ember_model* model, const char* text, size_t text_len, bool add_special,
                                           bool parse_special, ember_token* tokens, size_t capacity, size_t* n_tokens) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        if (!text && text_len > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "text is NULL but text_len is {}", text_len);
        const std::vector<token_id> ids =
            m.vocab().tokenize(std::string_view(text ? text : "", text_len), add_special, parse_special);
        write_items(ids.data(), ids.size(), tokens, capacity, n_tokens, "tokens");
    });
}

EMBER_API ember_status ember_model_detokenize(const ember_model* model, const ember_token* tokens, size_t n_tokens,
                                             bool special, bool remove_special, char* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        if (!tokens && n_tokens > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "tokens is NULL but n_tokens is {}", n_tokens);
        for (size_t i = 0; i < n_tokens; ++i) check_token(m, tokens[i]);
        const std::string text = m.vocab().detokenize(std::span(tokens, n_tokens), {.special = special, .remove_special = remove_special});
        write_text(text, buf, capacity, size);
    });
}

EMBER_API ember_status ember_model_token_piece(const ember_model* model, ember_token token, bool special, char* buf,
                                              size_t capacity, size_t* size) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        check_token(m, token);
        write_text(m.vocab().token_to_piece(token, special), buf, capacity, size);
    });
}

EMBER_API ember_status ember_model_token_text(const ember_model* model, ember_token token, char* buf, size_t capacity,
                                             size_t* size) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        check_token(m, token);
        write_text(m.vocab().token_text(token), buf, capacity, size);
    });
}

EMBER_API ember_status ember_model_token_attr(const ember_model* model, ember_token token, float* score, int32_t* type,
                                             bool* is_eog) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        check_token(m, token);
        if (score) *score = m.vocab().score(token);
        if (type) *type = int32_t(m.vocab().type(token));
        if (is_eog) *is_eog = m.vocab().is_eog(token);
    });
}

EMBER_API ember_status ember_model_eog_tokens(const ember_model* model, ember_token* tokens, size_t capacity,
                                             size_t* n_tokens) {
    return guard(__func__, [&] {
        const auto ids = model_of(model).vocab().eog_ids();
        write_items(ids.data(), ids.size(), tokens, capacity, n_tokens, "tokens");
    });
}

EMBER_API ember_status ember_model_token_find(const ember_model* model, const char* text, ember_token* token) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        need(text, "text");
        need(token, "token");
        const token_id id = m.vocab().find(text);
        if (id < 0) fail_status(EMBER_ERR_NOT_FOUND, "no vocabulary entry is exactly '{}'", text);
        *token = id;
    });
}

}  // extern "C"
