// The C API's chat templates: ember_chat_* over ember::chat_template (include/ember/chat.hpp).
#include <optional>
#include <string>
#include <vector>

#include "ember/chat.hpp"
#include "ember/model.hpp"
#include "ember_c_internal.hpp"

namespace ember::capi {

namespace {

const auto k_chat_params_fields = {
    EMBER_FIELD(ember_chat_params, struct_size), EMBER_FIELD(ember_chat_params, add_generation_prompt),
    EMBER_FIELD(ember_chat_params, tools_json),  EMBER_FIELD(ember_chat_params, extra_json),
    EMBER_FIELD(ember_chat_params, bos_token),   EMBER_FIELD(ember_chat_params, eos_token),
    EMBER_FIELD(ember_chat_params, now),         EMBER_FIELD(ember_chat_params, max_steps),
    EMBER_FIELD(ember_chat_params, max_output)};

ember_chat_params chat_defaults() {
    ember_chat_params p{};
    p.struct_size = sizeof p;
    p.add_generation_prompt = true;
    p.now = -1;
    const chat_options d;
    p.max_steps = d.max_steps;
    p.max_output = d.max_output;
    return p;
}

// The template to use: the caller's, or the model's (ChatML with a warning when it has none),
// with BOS/EOS texts from the params, else from the model.
chat_template pick_template(const ember_model* model, const char* source, const ember_chat_params& p) {
    if (!source && !model) fail_status(EMBER_ERR_INVALID_ARGUMENT, "template_source and model are both NULL");
    std::string bos, eos;
    if (model) {
        const vocab& v = model_of(model).vocab();
        if (v.bos() >= 0) bos = std::string(v.token_text(v.bos()));
        if (v.eos() >= 0) eos = std::string(v.token_text(v.eos()));
    }
    if (p.bos_token) bos = p.bos_token;
    if (p.eos_token) eos = p.eos_token;
    if (source) return chat_template(source, bos, eos);
    const chat_template t = chat_template::from_model(model_of(model));
    if (t.is_fallback()) log(EMBER_LOG_WARN, "the model has no tokenizer.chat_template; formatting the chat as ChatML");
    return chat_template(t.source(), bos, eos);
}

chat_options options_of(const ember_chat_params& p) {
    chat_options o;
    o.add_generation_prompt = p.add_generation_prompt;
    if (p.tools_json) o.tools_json = p.tools_json;
    if (p.extra_json) o.extra_json = p.extra_json;
    if (p.now < -1) fail_status(EMBER_ERR_INVALID_ARGUMENT, "now is {} (seconds since the epoch, or -1)", p.now);
    o.now = p.now;
    if (p.max_steps == 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "max_steps is 0");
    if (p.max_output == 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "max_output is 0");
    o.max_steps = p.max_steps;
    o.max_output = size_t(std::min<uint64_t>(p.max_output, SIZE_MAX / 4));
    return o;
}

std::vector<chat_message> messages_of(const ember_chat_message* messages, size_t n_messages) {
    if (!messages && n_messages > 0) fail_status(EMBER_ERR_INVALID_ARGUMENT, "messages is NULL but n_messages is {}", n_messages);
    std::vector<chat_message> msgs;
    for (size_t i = 0; i < n_messages; ++i) {
        if (!messages[i].role) fail_status(EMBER_ERR_INVALID_ARGUMENT, "messages[{}].role is NULL", i);
        if (!messages[i].content) fail_status(EMBER_ERR_INVALID_ARGUMENT, "messages[{}].content is NULL", i);
        msgs.push_back({messages[i].role, messages[i].content});
    }
    return msgs;
}

ember_chat_params params_of(const ember_chat_params* params) {
    return params ? read_params(params, chat_defaults(), "ember_chat_params", k_chat_params_fields) : chat_defaults();
}

}  // namespace

}  // namespace ember::capi

using namespace ember;
using namespace ember::capi;

EMBER_API ember_status ember_chat_params_init(ember_chat_params* params, size_t struct_size) {
    return guard(__func__, [&] { init_params(params, struct_size, chat_defaults(), "ember_chat_params", k_chat_params_fields); });
}

EMBER_API ember_status ember_chat_apply_template(const ember_model* model, const char* template_source,
                                                const char* messages_json, const ember_chat_params* params,
                                                char* buf, size_t capacity, size_t* size) {
    return guard(__func__, [&] {
        need(messages_json, "messages_json");
        const ember_chat_params p = params_of(params);
        const chat_prompt r = pick_template(model, template_source, p).apply(messages_json, options_of(p));
        write_text(r.text, buf, capacity, size);
    });
}

EMBER_API ember_status ember_chat_apply_template_messages(const ember_model* model, const char* template_source,
                                                         const ember_chat_message* messages, size_t n_messages,
                                                         const ember_chat_params* params, char* buf, size_t capacity,
                                                         size_t* size) {
    return guard(__func__, [&] {
        const std::vector<chat_message> msgs = messages_of(messages, n_messages);
        const ember_chat_params p = params_of(params);
        const chat_prompt r = pick_template(model, template_source, p).apply(msgs, options_of(p));
        write_text(r.text, buf, capacity, size);
    });
}

EMBER_API ember_status ember_chat_tokenize(const ember_model* model, const char* template_source,
                                          const char* messages_json, const ember_chat_params* params, bool add_special,
                                          ember_token* tokens, size_t capacity, size_t* n_tokens) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        need(messages_json, "messages_json");
        const ember_chat_params p = params_of(params);
        const chat_prompt r = pick_template(model, template_source, p).apply(messages_json, options_of(p));
        const std::vector<token_id> ids = tokenize_prompt(m.vocab(), r, add_special);
        write_items(ids.data(), ids.size(), tokens, capacity, n_tokens, "tokens");
    });
}

EMBER_API ember_status ember_chat_tokenize_messages(const ember_model* model, const char* template_source,
                                                   const ember_chat_message* messages, size_t n_messages,
                                                   const ember_chat_params* params, bool add_special, ember_token* tokens,
                                                   size_t capacity, size_t* n_tokens) {
    return guard(__func__, [&] {
        const ember::model& m = model_of(model);
        const std::vector<chat_message> msgs = messages_of(messages, n_messages);
        const ember_chat_params p = params_of(params);
        const chat_prompt r = pick_template(model, template_source, p).apply(msgs, options_of(p));
        const std::vector<token_id> ids = tokenize_prompt(m.vocab(), r, add_special);
        write_items(ids.data(), ids.size(), tokens, capacity, n_tokens, "tokens");
    });
}
