// ember.hpp - RAII owners over the C API (ember.h) for C++17 programs that link libember.so.
//
// Every failing call throws ember::c::error carrying the status and ember_last_error()'s
// message. Handles are move-only and free themselves. This header adds no symbols to the
// library: it is inline code over the stable C ABI, so it may be used with any libember.so.1.
// (Programs that link the C++ library itself use include/ember/*.hpp instead.)
#ifndef EMBER_HPP
#define EMBER_HPP

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember.h"

namespace ember::c {

class error : public std::runtime_error {
public:
    error(ember_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    ember_status status() const noexcept { return status_; }

private:
    ember_status status_;
};

inline void check(ember_status s) {
    if (s != EMBER_OK) throw error(s, ember_last_error());
}

namespace detail {
// Calls fill(buf, capacity, &size) following ember.h's buffer convention and returns the text.
template <class F>
std::string fetch_text(F&& fill) {
    std::string out(64, '\0');
    size_t size = 0;
    ember_status s = fill(out.data(), out.size(), &size);
    if (s == EMBER_ERR_BUFFER_TOO_SMALL) {
        out.resize(size + 1);
        s = fill(out.data(), out.size(), &size);
    }
    check(s);
    out.resize(size);
    return out;
}
struct model_free { void operator()(ember_model* p) const noexcept { ember_model_free(p); } };
struct context_free { void operator()(ember_context* p) const noexcept { ember_context_free(p); } };
struct sampler_free { void operator()(ember_sampler* p) const noexcept { ember_sampler_free(p); } };
}  // namespace detail

class model {
public:
    explicit model(const std::string& path, const ember_model_params& params = ember_model_default_params()) {
        ember_model* m = nullptr;
        check(ember_model_load(path.c_str(), &params, &m));
        p_.reset(m);
    }
    ember_model* get() const noexcept { return p_.get(); }

    ember_model_info info() const {
        ember_model_info i{};
        i.struct_size = sizeof i;
        check(ember_model_get_info(get(), &i));
        return i;
    }
    std::string architecture() const {
        return detail::fetch_text([&](char* b, size_t n, size_t* sz) { return ember_model_architecture(get(), b, n, sz); });
    }
    std::string description() const {
        return detail::fetch_text([&](char* b, size_t n, size_t* sz) { return ember_model_description(get(), b, n, sz); });
    }
    // A metadata value as text, or nothing when the key is absent.
    std::optional<std::string> meta(const std::string& key) const {
        size_t size = 0;
        const ember_status s = ember_model_meta_string(get(), key.c_str(), nullptr, 0, &size);
        if (s == EMBER_ERR_NOT_FOUND) return std::nullopt;
        if (s != EMBER_ERR_BUFFER_TOO_SMALL) check(s);
        return detail::fetch_text([&](char* b, size_t n, size_t* sz) { return ember_model_meta_string(get(), key.c_str(), b, n, sz); });
    }

    std::vector<ember_token> tokenize(std::string_view text, bool add_special = true, bool parse_special = false) const {
        std::vector<ember_token> out(text.size() + 2);
        size_t n = 0;
        ember_status s = ember_model_tokenize(get(), text.data(), text.size(), add_special, parse_special, out.data(), out.size(), &n);
        if (s == EMBER_ERR_BUFFER_TOO_SMALL) {
            out.resize(n);
            s = ember_model_tokenize(get(), text.data(), text.size(), add_special, parse_special, out.data(), out.size(), &n);
        }
        check(s);
        out.resize(n);
        return out;
    }
    // The conversation rendered with the model's chat template (or `tmpl`; nullptr: the
    // model's, ChatML when it has none) and tokenized with message contents kept as text.
    std::vector<ember_token> chat_tokenize(const std::vector<ember_chat_message>& msgs, const char* tmpl = nullptr,
                                           const ember_chat_params* params = nullptr, bool add_special = true) const {
        std::vector<ember_token> out(256);
        size_t n = 0;
        ember_status s = ember_chat_tokenize_messages(get(), tmpl, msgs.data(), msgs.size(), params, add_special, out.data(), out.size(), &n);
        if (s == EMBER_ERR_BUFFER_TOO_SMALL) {
            out.resize(n);
            s = ember_chat_tokenize_messages(get(), tmpl, msgs.data(), msgs.size(), params, add_special, out.data(), out.size(), &n);
        }
        check(s);
        out.resize(n);
        return out;
    }
    std::string chat_apply_template(const std::vector<ember_chat_message>& msgs, const char* tmpl = nullptr,
                                    const ember_chat_params* params = nullptr) const {
        return detail::fetch_text([&](char* b, size_t n, size_t* sz) {
            return ember_chat_apply_template_messages(get(), tmpl, msgs.data(), msgs.size(), params, b, n, sz);
        });
    }
    std::string detokenize(const std::vector<ember_token>& ids, bool special = false) const {
        return detail::fetch_text([&](char* b, size_t n, size_t* sz) {
            return ember_model_detokenize(get(), ids.data(), ids.size(), special, false, b, n, sz);
        });
    }
    std::string token_piece(ember_token t, bool special = false) const {
        return detail::fetch_text([&](char* b, size_t n, size_t* sz) { return ember_model_token_piece(get(), t, special, b, n, sz); });
    }
    std::optional<ember_token> find_token(const std::string& text) const {
        ember_token t = -1;
        const ember_status s = ember_model_token_find(get(), text.c_str(), &t);
        if (s == EMBER_ERR_NOT_FOUND) return std::nullopt;
        check(s);
        return t;
    }

private:
    std::unique_ptr<ember_model, detail::model_free> p_;
};

class sampler {
public:
    explicit sampler(const ember_sampler_params& params = ember_sampler_default_params(), const model* m = nullptr) {
        ember_sampler* s = nullptr;
        check(ember_sampler_create(&params, m ? m->get() : nullptr, &s));
        p_.reset(s);
    }
    static sampler greedy() {
        ember_sampler_params p = ember_sampler_default_params();
        p.temp = 0.0f;
        return sampler(p);
    }
    ember_sampler* get() const noexcept { return p_.get(); }
    void accept(ember_token t) { check(ember_sampler_accept(get(), t)); }
    void reset() { check(ember_sampler_reset(get())); }

private:
    std::unique_ptr<ember_sampler, detail::sampler_free> p_;
};

class context {
public:
    // The context keeps the model's data alive; `m` may be destroyed first.
    explicit context(const model& m, const ember_context_params& params = ember_context_default_params()) {
        ember_context* c = nullptr;
        check(ember_context_create(m.get(), &params, &c));
        p_.reset(c);
    }
    ember_context* get() const noexcept { return p_.get(); }

    void decode(const std::vector<ember_token>& tokens, ember_seq seq = 0, bool all_logits = false) {
        check(ember_context_decode(get(), tokens.data(), tokens.size(), seq, all_logits));
    }
    int64_t decode_prompt(const std::vector<ember_token>& tokens, ember_seq seq = 0) {
        int64_t n = 0;
        check(ember_context_decode_prompt(get(), tokens.data(), tokens.size(), seq, &n));
        return n;
    }
    std::vector<float> logits(int64_t i = -1) const {
        const float* p = nullptr;
        size_t n = 0;
        check(ember_context_logits(get(), i, &p, &n));
        return std::vector<float>(p, p + n);
    }
    int64_t n_past(ember_seq seq = 0) const {
        int64_t n = 0;
        check(ember_context_n_past(get(), seq, &n));
        return n;
    }
    int64_t n_ctx() const {
        int64_t n = 0;
        check(ember_context_n_ctx(get(), &n));
        return n;
    }
    void clear() { check(ember_context_clear(get())); }
    // Thread-safe: stops a decode or generation running on another thread.
    void abort() noexcept { ember_context_abort(get()); }

    // Generation with a callback receiving each event; return false to stop (the call then
    // returns normally with stop_reason EMBER_STOP_CALLBACK instead of throwing).
    using token_callback = std::function<bool(const ember_token_event&)>;
    ember_generate_result generate(const std::vector<ember_token>& prompt, sampler* smp,
                                   const ember_generate_params& params = ember_generate_default_params(),
                                   const token_callback& on_token = nullptr) {
        ember_generate_result r{};
        r.struct_size = sizeof r;
        struct trampoline {
            static bool call(const ember_token_event* ev, void* ud) {
                auto* self = static_cast<trampoline*>(ud);
                try {
                    return (*self->fn)(*ev);
                } catch (...) {
                    self->failure = std::current_exception();  // rethrown after the C call
                    return false;
                }
            }
            const token_callback* fn;
            std::exception_ptr failure;
        } t{&on_token, nullptr};
        const ember_status s = ember_context_generate(get(), smp ? smp->get() : nullptr, prompt.data(), prompt.size(), &params,
                                                      on_token ? &trampoline::call : nullptr, &t, &r);
        if (t.failure) std::rethrow_exception(t.failure);
        if (!(s == EMBER_ERR_CANCELLED && r.stop_reason == EMBER_STOP_CALLBACK)) check(s);
        return r;
    }

    std::vector<unsigned char> save_state() const {
        size_t size = 0;
        ember_status s = ember_context_state_save(get(), nullptr, 0, &size);
        if (s != EMBER_ERR_BUFFER_TOO_SMALL) check(s);
        std::vector<unsigned char> out(size);
        check(ember_context_state_save(get(), out.data(), out.size(), &size));
        return out;
    }
    void load_state(const std::vector<unsigned char>& data) { check(ember_context_state_load(get(), data.data(), data.size())); }

private:
    std::unique_ptr<ember_context, detail::context_free> p_;
};

}  // namespace ember::c

#endif  // EMBER_HPP
