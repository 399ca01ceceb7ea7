// chat.cpp - a multi-turn chat over the C API's C++ owners (capi/ember.hpp).
//
//   chat MODEL [N [TEMP]] [--template FILE.jinja] [--print-prompt]
//
// One user turn per line of stdin; replies stream to stdout. N caps each reply (default 128
// tokens), TEMP is the sampling temperature (default 0: greedy). The conversation is formatted by
// the model's own chat template (tokenizer.chat_template, a Jinja program that ember evaluates as
// Hugging Face does), or by FILE.jinja; a model without one gets ChatML, with a warning. The
// prompt is tokenized so that what the user types is text: "<|im_end|>" in a message cannot end
// the turn. --print-prompt prints each rendered prompt instead of generating.
// Every turn re-tokenizes the whole conversation; the context reuses the cached prefix, so only
// the new turn is evaluated.
#include <cstdio>
#include <cstring>
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

void print_log(int32_t level, const char* msg, void*) {
    if (level >= EMBER_LOG_WARN) std::fprintf(stderr, "chat: %s\n", msg);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> pos;
    std::string template_file;
    bool print_prompt = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--template" && i + 1 < argc) template_file = argv[++i];
        else if (a == "--print-prompt") print_prompt = true;
        else pos.push_back(a);
    }
    if (pos.empty() || pos.size() > 3) {
        std::fprintf(stderr, "usage: %s MODEL [N [TEMP]] [--template FILE.jinja] [--print-prompt]   (one user turn per line of stdin)\n",
                     argv[0]);
        return 2;
    }
    try {
        ember_log_set(print_log, nullptr);
        const ember::c::model model(pos[0]);
        const int64_t n_max = pos.size() > 1 ? std::stoll(pos[1]) : 128;
        const float temp = pos.size() > 2 ? std::stof(pos[2]) : 0.0f;
        std::string tmpl;
        if (!template_file.empty()) {
            std::ifstream in(template_file, std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "chat: cannot open %s\n", template_file.c_str());
                return 1;
            }
            std::ostringstream text;
            text << in.rdbuf();
            tmpl = text.str();
        }
        const char* tmpl_arg = template_file.empty() ? nullptr : tmpl.c_str();
        std::fprintf(stderr, "chat: %s, %s\n", model.description().c_str(),
                     tmpl_arg ? template_file.c_str() : model.meta("tokenizer.chat_template") ? "the model's chat template" : "ChatML");

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
            std::vector<ember_chat_message> msgs;
            for (const message& m : history) msgs.push_back({m.role.c_str(), m.content.c_str()});
            if (print_prompt) {
                std::fputs(model.chat_apply_template(msgs, tmpl_arg).c_str(), stdout);
                std::fputs("\n---\n", stdout);
                history.push_back({"assistant", "(reply " + std::to_string(turn) + ")"});
                continue;
            }
            const auto prompt = model.chat_tokenize(msgs, tmpl_arg);

            reply_printer out({});
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
