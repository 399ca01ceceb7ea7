// Chat templates: a model's tokenizer.chat_template (a Jinja2 program) rendered the way Hugging
// Face's apply_chat_template renders it, by an interpreter with limits (the template comes from
// the model file and is untrusted), and the prompt tokenized so that message contents are data.
//
//   auto tmpl = ember::chat_template::from_model(*model);
//   ember::chat_prompt p = tmpl.apply(R"([{"role": "user", "content": "Hi"}])");
//   std::vector<ember::token_id> ids = ember::tokenize_prompt(model->vocab(), p);
//
// Messages are JSON as Hugging Face passes them: role, content (a string or a list of parts such
// as {"type": "text", "text": ...}), tool_calls, reasoning_content, name, tool_call_id, ...
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/vocab.hpp"

namespace ember {

class model;

struct chat_message {
    std::string role;
    std::string content;
};

struct chat_options {
    bool add_generation_prompt = true;  // end with the cue for the assistant's turn
    std::string tools_json;             // a JSON array of tool definitions; empty: tools is none
    std::string extra_json;             // a JSON object of further variables (e.g. enable_thinking)
    // strftime_now's clock: seconds since the epoch, formatted in UTC; -1: the current local time.
    int64_t now = -1;

    // Limits that turn a hostile template into errc::template_error instead of a hang.
    uint64_t max_steps = 1'000'000;   // evaluations (statements, expressions, bytes built / 256)
    size_t max_output = 16u << 20;    // bytes of the prompt and of any string built on the way
    int max_depth = 400;              // nesting of evaluation, macro calls included
};

// A rendered prompt, and the byte ranges of it that came from the caller's data (message
// contents, tool definitions, ...): tokenize_prompt never reads special tokens inside those.
struct chat_prompt {
    std::string text;
    std::vector<std::pair<size_t, size_t>> data;  // [begin, end), sorted, disjoint
};

class chat_template {
public:
    // Parses a template. Throws ember::error(errc::template_error) for a syntax error, an unknown
    // tag, filter or test, naming the line.
    explicit chat_template(std::string_view source, std::string bos_token = {}, std::string eos_token = {});

    // The model's tokenizer.chat_template with its BOS/EOS texts; ChatML when the model has no
    // template (is_fallback() tells; ember run and the chat example warn).
    static chat_template from_model(const model& m);
    // The ChatML template ember falls back to.
    static std::string_view chatml();

    // Renders the conversation. Throws errc::invalid_argument for malformed messages/tools/extra
    // JSON (naming the position), errc::template_error for what the template raises
    // (raise_exception, a type error, a limit), with the template line.
    chat_prompt apply(std::string_view messages_json, const chat_options& opt = {}) const;
    chat_prompt apply(std::span<const chat_message> messages, const chat_options& opt = {}) const;

    const std::string& source() const noexcept;
    bool is_fallback() const noexcept { return fallback_; }

private:
    struct impl;
    std::shared_ptr<const impl> impl_;
    bool fallback_ = false;
};

// Tokenizes a rendered prompt: special tokens are parsed in the template's text and never in the
// data ranges. With add_special, BOS is added as the vocabulary asks unless the prompt already
// begins with it (templates such as Llama 3's write it themselves).
std::vector<token_id> tokenize_prompt(const vocab& v, const chat_prompt& prompt, bool add_special = true);

}  // namespace ember
