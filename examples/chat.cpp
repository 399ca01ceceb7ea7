// chat.cpp - a multi-turn chat over the C API's C++ owners (capi/ember.hpp).
//
//   chat MODEL [N [TEMP]]              one user turn per line of stdin; replies stream to stdout
//   chat --template-family FILE.jinja  prints the family a chat template is recognised as
//
// N caps each reply (default 128 tokens), TEMP is the sampling temperature (default 0: greedy).
// The conversation is formatted with the model's chat template when ember recognises its
// family (tokenizer.chat_template is Jinja; instead of evaluating it, the common layouts -
// ChatML, Llama-3, Llama-2/Mistral [INST], Phi-3, Gemma, GLM, DeepSeek, Granite - are
// recognised by their markers) and as a plain "User: ... / Assistant:" transcript otherwise.
// Every turn re-tokenizes the whole conversation; the context reuses the cached prefix, so only
// the new turn is evaluated.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ember.hpp"

namespace {

struct message {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

enum class chat_format { chatml, llama3, llama2, phi3, gemma, glm, deepseek, granite, plain };

chat_format detect_format(const std::string& tmpl) {
    auto has = [&](const char* marker) { return tmpl.find(marker) != std::string::npos; };
    if (has("<|im_start|>")) return chat_format::chatml;
    if (has("<|start_header_id|>")) return chat_format::llama3;
    if (has("<start_of_turn>")) return chat_format::gemma;
    if (has("<\uFF5CUser\uFF5C>")) return chat_format::deepseek;  // fullwidth bars: <｜User｜>
    if (has("<|start_of_role|>")) return chat_format::granite;
    if (has("[gMASK]")) return chat_format::glm;
    if (has("<|user|>") && has("<|end|>")) return chat_format::phi3;
    if (has("[INST]")) return chat_format::llama2;
    return chat_format::plain;
}

const char* format_name(chat_format f) {
    switch (f) {
        case chat_format::chatml: return "ChatML";
        case chat_format::llama3: return "Llama-3";
        case chat_format::llama2: return "Llama-2 [INST]";
        case chat_format::phi3: return "Phi-3";
        case chat_format::gemma: return "Gemma";
        case chat_format::glm: return "GLM";
        case chat_format::deepseek: return "DeepSeek";
        case chat_format::granite: return "Granite";
        case chat_format::plain: return "plain User:/Assistant:";
    }
    return "?";
}

// The conversation so far, ending with the cue for the assistant's next reply. BOS is left to
// the tokenizer (add_special), which knows whether the model wants one.
std::string render(chat_format f, const std::vector<message>& msgs) {
    std::string out;
    switch (f) {
        case chat_format::chatml:
            for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
            return out + "<|im_start|>assistant\n";
        case chat_format::llama3:
            for (const auto& m : msgs) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
            return out + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        case chat_format::phi3:
            for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
            return out + "<|assistant|>\n";
        case chat_format::gemma:
            for (const auto& m : msgs)
                out += "<start_of_turn>" + std::string(m.role == "assistant" ? "model" : "user") + "\n" + m.content + "<end_of_turn>\n";
            return out + "<start_of_turn>model\n";
        case chat_format::glm:
            out = "[gMASK]<sop>";
            for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content;
            return out + "<|assistant|>\n";
        case chat_format::deepseek:
            for (const auto& m : msgs) {
                if (m.role == "system") out += m.content;
                else if (m.role == "user") out += "<\uFF5CUser\uFF5C>" + m.content;
                else out += "<\uFF5CAssistant\uFF5C>" + m.content + "<\uFF5Cend\u2581of\u2581sentence\uFF5C>";
            }
            return out + "<\uFF5CAssistant\uFF5C>";
        case chat_format::granite:
            for (const auto& m : msgs) out += "<|start_of_role|>" + m.role + "<|end_of_role|>" + m.content + "<|end_of_text|>\n";
            return out + "<|start_of_role|>assistant<|end_of_role|>";
        case chat_format::llama2: {
            std::string system;
            for (const auto& m : msgs) {
                if (m.role == "system") {
                    system = "<<SYS>>\n" + m.content + "\n<</SYS>>\n\n";
                } else if (m.role == "user") {
                    out += "[INST] " + system + m.content + " [/INST]";
                    system.clear();
                } else {
                    out += " " + m.content + " </s><s>";
                }
            }
            return out;
        }
        case chat_format::plain:
            for (const auto& m : msgs) {
                if (m.role == "system") out += m.content + "\n\n";
                else out += (m.role == "user" ? "User: " : "Assistant: ") + m.content + "\n";
            }
            return out + "Assistant:";
    }
    return out;
}

// Text that ends a reply when the model writes it out instead of emitting an end token.
std::vector<std::string> stop_strings(chat_format f) {
    switch (f) {
        case chat_format::chatml: return {"<|im_end|>", "<|im_start|>"};
        case chat_format::llama3: return {"<|eot_id|>", "<|start_header_id|>"};
        case chat_format::phi3: return {"<|end|>", "<|user|>"};
        case chat_format::gemma: return {"<end_of_turn>", "<start_of_turn>"};
        case chat_format::llama2: return {"[INST]", "</s>"};
        case chat_format::glm: return {"<|user|>", "<|observation|>"};
        case chat_format::deepseek: return {"<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<\uFF5CUser\uFF5C>"};
        case chat_format::granite: return {"<|end_of_text|>", "<|start_of_role|>"};
        case chat_format::plain: return {"\nUser:", "\nAssistant:"};
    }
    return {};
}

// Streams text to stdout but holds back a tail that could still become a stop string.
class reply_printer {
public:
    explicit reply_printer(std::vector<std::string> stops) : stops_(std::move(stops)) {}

    // Returns false once a stop string has appeared (nothing from it on is printed).
    bool push(std::string_view piece) {
        pending_ += piece;
        for (const auto& s : stops_) {
            const size_t at = pending_.find(s);
            if (at != std::string::npos) {
                emit(pending_.substr(0, at));
                pending_.clear();
                return false;
            }
        }
        size_t hold = 0;  // the longest tail of pending_ that begins some stop string
        for (const auto& s : stops_)
            for (size_t n = std::min(s.size() - 1, pending_.size()); n > hold; --n)
                if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
                    hold = n;
                    break;
                }
        emit(pending_.substr(0, pending_.size() - hold));
        pending_.erase(0, pending_.size() - hold);
        return true;
    }
    void finish() {
        emit(pending_);
        pending_.clear();
    }
    const std::string& text() const { return text_; }

private:
    void emit(const std::string& s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
        text_ += s;
    }
    std::vector<std::string> stops_;
    std::string pending_, text_;
};

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

int main(int argc, char** argv) {
    // chat --template-family FILE: the family a Jinja chat template is recognised as.
    if (argc == 3 && std::string(argv[1]) == "--template-family") {
        std::ifstream in(argv[2], std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "chat: cannot open %s\n", argv[2]);
            return 1;
        }
        std::ostringstream text;
        text << in.rdbuf();
        std::printf("%s\n", format_name(detect_format(text.str())));
        return 0;
    }
    if (argc < 2 || argc > 4) {
        std::fprintf(stderr, "usage: %s MODEL [N [TEMP]]   (one user turn per line of stdin)\n", argv[0]);
        return 2;
    }
    try {
        const ember::c::model model(argv[1]);
        const int64_t n_max = argc > 2 ? std::stoll(argv[2]) : 128;
        const float temp = argc > 3 ? std::stof(argv[3]) : 0.0f;

        const chat_format fmt = detect_format(model.meta("tokenizer.chat_template").value_or(""));
        std::fprintf(stderr, "chat: %s, format %s\n", model.description().c_str(), format_name(fmt));

        ember_context_params cp = ember_context_default_params();
        cp.context_shift = true;
        ember::c::context ctx(model, cp);
        ember_sampler_params sp = ember_sampler_default_params();
        sp.temp = temp;
        sp.seed = 42;
        ember::c::sampler smp(sp, &model);

        std::vector<message> history;
        std::string line;
        for (int turn = 1; std::getline(std::cin, line); ++turn) {
            line = trim(line);
            if (line.empty()) {
                --turn;
                continue;
            }
            history.push_back({"user", line});
            const auto prompt = model.tokenize(render(fmt, history), /*add_special=*/true, /*parse_special=*/true);

            reply_printer out(stop_strings(fmt));
            ember_generate_params gp = ember_generate_default_params();
            gp.max_tokens = n_max;
            smp.reset();  // the penalty history restarts with each full prompt
            const ember_generate_result r =
                ctx.generate(prompt, &smp, gp, [&](const ember_token_event& ev) { return out.push({ev.text, ev.text_len}); });
            out.finish();
            std::fputc('\n', stdout);
            std::fflush(stdout);
            history.push_back({"assistant", trim(out.text())});
            std::fprintf(stderr, "chat: turn %d: %lld prompt tokens (%lld evaluated, the rest reused), %lld generated\n", turn,
                         (long long)prompt.size(), (long long)r.n_prompt_evaluated, (long long)r.n_tokens);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat: %s\n", e.what());
        return 1;
    }
    return 0;
}
