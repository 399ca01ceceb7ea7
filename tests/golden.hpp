// Comparison of ember's logits and greedy output with llama.cpp's reference outputs
// (../shared/golden/MODEL.jsonl; see its README for the method).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common.hpp"
#include "ember/context.hpp"
#include "ember/model.hpp"
#include "json.hpp"

namespace ember::test {

struct golden_prompt {
    std::string prompt;
    std::vector<token_id> prompt_tokens;
    std::vector<token_id> generated;
    std::string generated_text;
    struct position {
        double lse;
        std::vector<std::pair<token_id, double>> top;  // highest first
    };
    std::vector<position> positions;
};

inline std::vector<golden_prompt> load_golden_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<golden_prompt> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const json j = json::parse(line);
        golden_prompt g;
        g.prompt = j["prompt"].str;
        for (const auto& t : j["prompt_tokens"].arr) g.prompt_tokens.push_back(token_id(t.as_int()));
        for (const auto& t : j["generated"].arr) g.generated.push_back(token_id(t.as_int()));
        g.generated_text = j["generated_text"].str;
        for (const auto& p : j["positions"].arr) {
            golden_prompt::position pos{p["lse"].num, {}};
            for (const auto& e : p["top"].arr) pos.top.emplace_back(token_id(e[0].as_int()), e[1].num);
            g.positions.push_back(std::move(pos));
        }
        out.push_back(std::move(g));
    }
    REQUIRE_MESSAGE(!out.empty(), "no prompts in " << file);
    return out;
}
inline std::vector<golden_prompt> load_golden(const std::string& file) { return load_golden_file(shared("golden/" + file)); }

struct golden_stats {
    double max_err = 0;
    int positions = 0, argmax_checked = 0, tokens_compared = 0;
};

// Feeds the reference tokens and checks every top-10 logit (|diff| <= tol), the argmax where the
// reference's top-2 gap exceeds 2*tol, then free-runs greedy decoding and compares the tokens up
// to the reference's first near-tie.
// With from_text, the prompt is first tokenized by the model's own vocabulary (BOS as its metadata
// says) and must give the reference's prompt tokens.
inline golden_stats check_golden_at(const std::filesystem::path& model_path, const std::filesystem::path& golden_path, double tol,
                                    int n_threads = 2, bool from_text = false, int64_t n_ctx = 512) {
    const std::string model_file = model_path.filename().string();
    const auto m = model::load(model_path);
    const auto prompts = load_golden_file(golden_path);
    golden_stats st;
    for (const auto& g : prompts) {
        CAPTURE(g.prompt);
        if (from_text) REQUIRE(m->vocab().tokenize(g.prompt, true, false) == g.prompt_tokens);
        std::vector<token_id> all = g.prompt_tokens;
        all.insert(all.end(), g.generated.begin(), g.generated.end());
        REQUIRE(g.positions.size() == all.size());

        context ctx(m, {.n_ctx = n_ctx, .n_threads = n_threads, .type_k = ggml_type::f32, .type_v = ggml_type::f32});
        ctx.decode(all, /*all_logits=*/true);
        size_t first_near_tie = g.positions.size();
        for (size_t p = 0; p < g.positions.size(); ++p) {
            const auto logits = ctx.logits(int64_t(p));
            const auto& ref = g.positions[p];
            for (const auto& [id, val] : ref.top) {
                const double err = std::abs(double(logits[size_t(id)]) - val);
                st.max_err = std::max(st.max_err, err);
                if (err > tol) FAIL_CHECK(fmt::format("pos {} token {}: ember {} vs llama.cpp {} (tol {})", p, id, logits[size_t(id)], val, tol));
            }
            const double gap = ref.top[0].second - ref.top[1].second;
            if (gap > 2 * tol) {
                const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
                CHECK_MESSAGE(best == ref.top[0].first, "argmax differs at pos " << p);
                ++st.argmax_checked;
            } else if (p >= g.prompt_tokens.size() - 1 && first_near_tie == g.positions.size()) {
                first_near_tie = p;
            }
            ++st.positions;
        }

        // Free-running greedy: the logits at position p choose the token at p + 1.
        ctx.clear();
        ctx.decode(g.prompt_tokens);
        const size_t n_cmp = std::min(g.generated.size(), first_near_tie + 1 - (g.prompt_tokens.size() - 1));
        for (size_t i = 0; i < n_cmp; ++i) {
            const auto logits = ctx.logits();
            const token_id next = token_id(std::max_element(logits.begin(), logits.end()) - logits.begin());
            REQUIRE_MESSAGE(next == g.generated[i], "greedy token " << i << " differs");
            ++st.tokens_compared;
            if (i + 1 < n_cmp) ctx.decode(std::span(&next, 1));
        }
    }
    MESSAGE(fmt::format("{}: {} positions, max |logit diff| {:.2e}, argmax checked at {}, {} greedy tokens matched",
                        model_file, st.positions, st.max_err, st.argmax_checked, st.tokens_compared));
    return st;
}

inline golden_stats check_golden(const std::string& model_file, const std::string& golden_file, double tol, int n_threads = 2,
                                 bool from_text = false) {
    return check_golden_at(shared("models/" + model_file), shared("golden/" + golden_file), tol, n_threads, from_text);
}

}  // namespace ember::test
