// ember::chat_template: Hugging Face's apply_chat_template inputs (messages, tools, BOS/EOS,
// add_generation_prompt, extra variables) turned into template values, and the rendered prompt
// tokenized with message contents kept as data.
#include "ember/chat.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "chat/jinja_interp.hpp"
#include "core/util.hpp"
#include "ember/gguf.hpp"
#include "ember/model.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr int max_json_depth = 256;

// JSON from the caller becomes template values; every string in it is data.
jinja::value from_json(const nlohmann::json& j, const char* what, int depth) {
    if (depth > max_json_depth) fail(errc::invalid_argument, "{}: JSON nested deeper than {} levels", what, max_json_depth);
    switch (j.type()) {
        case nlohmann::json::value_t::null: return jinja::value::none();
        case nlohmann::json::value_t::boolean: return jinja::value::boolean(j.get<bool>());
        case nlohmann::json::value_t::number_integer: return jinja::value::integer(j.get<int64_t>());
        case nlohmann::json::value_t::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u > uint64_t(INT64_MAX)) return jinja::value::floating(double(u));
            return jinja::value::integer(int64_t(u));
        }
        case nlohmann::json::value_t::number_float: return jinja::value::floating(j.get<double>());
        case nlohmann::json::value_t::string: return jinja::value::string(j.get<std::string>(), true);
        case nlohmann::json::value_t::array: {
            jinja::array a;
            a.reserve(j.size());
            for (const auto& x : j) a.push_back(from_json(x, what, depth + 1));
            return jinja::value::list(std::move(a));
        }
        case nlohmann::json::value_t::object: {
            auto o = std::make_shared<jinja::object>();
            for (auto it = j.begin(); it != j.end(); ++it)
                o->set(jinja::value::string(it.key(), true), from_json(it.value(), what, depth + 1));
            return jinja::value::dict(o);
        }
        default: fail(errc::invalid_argument, "{}: unsupported JSON value", what);
    }
}

nlohmann::ordered_json parse_json(std::string_view s, const char* what) {
    try {
        return nlohmann::ordered_json::parse(s.begin(), s.end());
    } catch (const nlohmann::json::parse_error& e) {
        fail(errc::invalid_argument, "{} is not valid JSON (at byte {}): {}", what, e.byte, e.what());
    } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number too large for a double
        fail(errc::invalid_argument, "{} is not usable JSON: {}", what, e.what());
    }
}

jinja::value from_ordered(const nlohmann::ordered_json& j, const char* what, int depth = 0);

jinja::value from_ordered(const nlohmann::ordered_json& j, const char* what, int depth) {
    // Object keys keep their order (Python dicts do), so the conversion walks ordered_json.
    if (depth > max_json_depth) fail(errc::invalid_argument, "{}: JSON nested deeper than {} levels", what, max_json_depth);
    if (j.is_array()) {
        jinja::array a;
        a.reserve(j.size());
        for (const auto& x : j) a.push_back(from_ordered(x, what, depth + 1));
        return jinja::value::list(std::move(a));
    }
    if (j.is_object()) {
        auto o = std::make_shared<jinja::object>();
        for (auto it = j.begin(); it != j.end(); ++it)
            o->set(jinja::value::string(it.key(), true), from_ordered(it.value(), what, depth + 1));
        return jinja::value::dict(o);
    }
    return from_json(nlohmann::json(j), what, depth);
}

constexpr std::string_view chatml_source =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}\n"
    "{%- if message['content'] is string -%}{{- message['content'] -}}\n"
    "{%- else -%}{%- for part in message['content'] -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

}  // namespace

struct chat_template::impl {
    std::string source;
    std::string bos, eos;
    jinja::parsed_template parsed;
};

chat_template::chat_template(std::string_view source, std::string bos_token, std::string eos_token) {
    auto p = std::make_shared<impl>();
    p->source = std::string(source);
    p->bos = std::move(bos_token);
    p->eos = std::move(eos_token);
    p->parsed = jinja::parse(p->source);
    impl_ = std::move(p);
}

std::string_view chat_template::chatml() { return chatml_source; }

chat_template chat_template::from_model(const model& m) {
    const vocab& v = m.vocab();
    std::string bos = v.bos() >= 0 ? std::string(v.token_text(v.bos())) : std::string();
    std::string eos = v.eos() >= 0 ? std::string(v.token_text(v.eos())) : std::string();
    const auto src = m.file().get_string_opt("tokenizer.chat_template");
    if (src && !src->empty()) return chat_template(*src, std::move(bos), std::move(eos));
    chat_template t(chatml_source, std::move(bos), std::move(eos));
    t.fallback_ = true;
    return t;
}

const std::string& chat_template::source() const noexcept { return impl_->source; }

namespace {

chat_prompt render(const chat_template& self, const std::string& bos, const std::string& eos, const jinja::parsed_template& parsed,
                   jinja::value messages, const chat_options& opt) {
    std::map<std::string, jinja::value> g;
    jinja::add_builtin_globals(g, opt.now);
    if (!opt.extra_json.empty()) {
        const auto j = parse_json(opt.extra_json, "extra variables");
        if (!j.is_object()) fail(errc::invalid_argument, "extra variables must be a JSON object");
        for (auto it = j.begin(); it != j.end(); ++it) {
            static constexpr std::string_view inputs[] = {"messages", "tools", "documents", "add_generation_prompt"};
            for (const std::string_view in : inputs)
                if (it.key() == in) fail(errc::invalid_argument, "extra variable '{}' would replace an input of the same name", in);
            g[it.key()] = from_ordered(it.value(), "extra variables");
        }
    }
    g["messages"] = std::move(messages);
    g["tools"] = jinja::value::none();
    if (!opt.tools_json.empty()) {
        const auto j = parse_json(opt.tools_json, "tools");
        if (!j.is_array() && !j.is_null()) fail(errc::invalid_argument, "tools must be a JSON array");
        g["tools"] = from_ordered(j, "tools");
    }
    g["documents"] = jinja::value::none();
    g["add_generation_prompt"] = jinja::value::boolean(opt.add_generation_prompt);
    g["bos_token"] = jinja::value::string(bos);
    g["eos_token"] = jinja::value::string(eos);
    (void)self;

    jinja::render_limits lim;
    lim.max_steps = opt.max_steps;
    lim.max_output = opt.max_output;
    lim.max_depth = opt.max_depth;
    jinja::interpreter in(parsed, lim);
    jinja::text out = in.render(g);
    chat_prompt p;
    p.text = std::move(out.s);
    for (const auto& d : out.data) p.data.emplace_back(d.begin, d.end);
    return p;
}

}  // namespace

chat_prompt chat_template::apply(std::string_view messages_json, const chat_options& opt) const {
    const auto j = parse_json(messages_json, "messages");
    if (!j.is_array()) fail(errc::invalid_argument, "messages must be a JSON array of message objects");
    for (size_t i = 0; i < j.size(); ++i)
        if (!j[i].is_object()) fail(errc::invalid_argument, "messages[{}] is not a JSON object", i);
    return render(*this, impl_->bos, impl_->eos, impl_->parsed, from_ordered(j, "messages"), opt);
}

chat_prompt chat_template::apply(std::span<const chat_message> messages, const chat_options& opt) const {
    jinja::array a;
    for (const chat_message& m : messages) {
        auto o = std::make_shared<jinja::object>();
        o->set(jinja::value::string("role"), jinja::value::string(m.role, true));
        o->set(jinja::value::string("content"), jinja::value::string(m.content, true));
        a.push_back(jinja::value::dict(o));
    }
    return render(*this, impl_->bos, impl_->eos, impl_->parsed, jinja::value::list(std::move(a)), opt);
}

std::vector<token_id> tokenize_prompt(const vocab& v, const chat_prompt& prompt, bool add_special) {
    std::vector<token_id> ids = v.tokenize(prompt.text, false, prompt.data);
    if (add_special) {
        if (v.add_bos() && v.bos() >= 0 && (ids.empty() || ids.front() != v.bos())) ids.insert(ids.begin(), v.bos());
        if (v.add_eos() && v.eos() >= 0 && (ids.empty() || ids.back() != v.eos())) ids.push_back(v.eos());
    }
    return ids;
}

}  // namespace ember
