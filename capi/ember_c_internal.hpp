// Shared by the translation units of the C API: the handle structs, the exception barrier,
// struct_size checking and the buffer convention. Not installed.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "ember.h"
#include "ember/context.hpp"
#include "ember/error.hpp"
#include "ember/model.hpp"
#include "ember/sampler.hpp"

struct ember_model {
    std::shared_ptr<const ember::model> m;
};

struct ember_context {
    ember::context ctx;
    uint64_t seed = EMBER_SEED_RANDOM;
};

struct ember_sampler {
    ember::sampler s;
    // Whether log-probabilities are recorded: the C++ sampler keeps this private, and
    // ember_sampler_last_logprob must tell "off" from "nothing sampled yet".
    bool logprobs = false;
};

namespace ember::capi {

// Records `message` as this thread's last error and returns `status`.
ember_status set_error(ember_status status, std::string_view message) noexcept;
ember_status status_of(errc code) noexcept;

// Sends one message to the process-wide sink installed with ember_log_set, if any.
void log(int32_t level, std::string_view message) noexcept;
bool log_enabled() noexcept;

// Thrown inside an API function to fail with a C-only status (buffer too small, not found).
struct status_error {
    ember_status status;
    std::string message;
};

template <class... Args>
[[noreturn]] void fail_status(ember_status status, fmt::format_string<Args...> f, Args&&... args) {
    throw status_error{status, fmt::format(f, std::forward<Args>(args)...)};
}

// The exception barrier every entry point runs its body in: nothing thrown escapes, every
// failure becomes a status plus a message that starts with the function's name.
template <class F>
ember_status guard(const char* fn, F&& body) noexcept {
    try {
        body();
        return EMBER_OK;
    } catch (const status_error& e) {
        return set_error(e.status, std::string(fn) + ": " + e.message);
    } catch (const ember::error& e) {
        return set_error(status_of(e.code()), std::string(fn) + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return set_error(EMBER_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory");
    } catch (const std::length_error&) {
        return set_error(EMBER_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory (size too large)");
    } catch (const std::exception& e) {
        return set_error(EMBER_ERR_INTERNAL, std::string(fn) + ": internal error: " + e.what());
    } catch (...) {
        return set_error(EMBER_ERR_INTERNAL, std::string(fn) + ": internal error (unknown exception)");
    }
}

template <class T>
T& need(T* p, const char* what) {
    if (!p) fail_status(EMBER_ERR_INVALID_ARGUMENT, "{} is NULL", what);
    return *p;
}
template <class T>
const T& need(const T* p, const char* what) {
    if (!p) fail_status(EMBER_ERR_INVALID_ARGUMENT, "{} is NULL", what);
    return *p;
}

// --- struct_size ----------------------------------------------------------------------------

struct field_span {
    size_t offset, size;
};
#define EMBER_FIELD(T, f) ::ember::capi::field_span{offsetof(T, f), sizeof(T::f)}

// Checks a caller's struct_size against this library's struct of `full` bytes: at least the
// struct_size field itself, at most `full` (larger means a newer ember.h: unsupported), and
// never ending inside a field (that is no struct any ember.h ever declared).
void check_struct_size(const char* type_name, size_t given, size_t full, std::initializer_list<field_span> fields);

// Reads a caller's (possibly older, shorter) params struct over this library's defaults.
template <class T>
T read_params(const T* in, const T& defaults, const char* type_name, std::initializer_list<field_span> fields) {
    T out = defaults;
    if (!in) return out;
    check_struct_size(type_name, in->struct_size, sizeof(T), fields);
    std::memcpy(static_cast<void*>(&out), in, in->struct_size);
    out.struct_size = sizeof(T);
    return out;
}

// Writes this library's filled struct into the caller's, whose struct_size says how much room
// it has.
template <class T>
void write_struct(T* out, T value, const char* type_name, std::initializer_list<field_span> fields) {
    T& dst = need(out, type_name);
    const size_t n = dst.struct_size;
    check_struct_size(type_name, n, sizeof(T), fields);
    value.struct_size = n;
    std::memcpy(static_cast<void*>(&dst), &value, n);
}

// Initialises the first struct_size bytes of a params struct with its defaults.
template <class T>
void init_params(T* out, size_t struct_size, T defaults, const char* type_name, std::initializer_list<field_span> fields) {
    need(out, type_name);
    check_struct_size(type_name, struct_size, sizeof(T), fields);
    defaults.struct_size = struct_size;
    std::memcpy(static_cast<void*>(out), &defaults, struct_size);
}

// --- the buffer convention ------------------------------------------------------------------

void check_buffer(const void* buf, size_t capacity);
// Copies text (plus a NUL) when it fits, sets *size to its length either way.
void write_text(std::string_view text, char* buf, size_t capacity, size_t* size);

template <class T>
void write_items(const T* items, size_t n, T* buf, size_t capacity, size_t* size, const char* what) {
    need(size, "size");
    check_buffer(buf, capacity);
    *size = n;
    if (n > capacity)
        fail_status(EMBER_ERR_BUFFER_TOO_SMALL, "{} {} do not fit a buffer of {}", n, what, capacity);
    if (n) std::memcpy(buf, items, n * sizeof(T));
}

// --- handles --------------------------------------------------------------------------------

inline const ember::model& model_of(const ember_model* m) { return *need(m, "model").m; }
inline ember::context& context_of(ember_context* c) { return need(c, "context").ctx; }
inline const ember::context& context_of(const ember_context* c) { return need(c, "context").ctx; }
inline ember::sampler& sampler_of(ember_sampler* s) { return need(s, "sampler").s; }
inline const ember::sampler& sampler_of(const ember_sampler* s) { return need(s, "sampler").s; }

void check_token(const ember::model& m, ember_token t);

}  // namespace ember::capi
