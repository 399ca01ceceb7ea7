// Draws samples under grammars for the independent check in tests/grammar/check_samples.py.
//
//   ember_grammar_samples CASES.json VOCAB_DIR OUT.json [N=200]
//
// Each case of CASES.json (tests/data/grammar_cases.json) gives a grammar as GBNF, a JSON Schema,
// a regex or choices, and a vocabulary. The "model" is a fixed random unigram distribution over
// that vocabulary (logits N(0, 1)), with tokens that close something ('"', '}', ']', ')') and
// the end-of-generation tokens raised so that samples end; sampling is at temperature 1 with no
// truncation, through the sampler chain with the grammar stage (checked first). Every sample is
// written with whether it ended (an end-of-generation token) within 512 tokens.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/grammar.hpp"
#include "ember/sampler.hpp"
#include "ember/vocab.hpp"

int main(int argc, char** argv) try {
    if (argc < 4) {
        std::fprintf(stderr, "usage: ember_grammar_samples CASES.json VOCAB_DIR OUT.json [N]\n");
        return 2;
    }
    const int n_samples = argc > 4 ? std::atoi(argv[4]) : 200;
    std::ifstream in(argv[1]);
    const nlohmann::ordered_json cases = nlohmann::ordered_json::parse(in);
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& c : cases) {
        const std::string kind = c["kind"];
        ember::grammar g = kind == "schema"   ? ember::grammar::from_json_schema(c["schema"].dump())
                           : kind == "regex"  ? ember::grammar::from_regex(c["regex"].get<std::string>())
                           : kind == "choice" ? ember::grammar::from_choices(c["choices"].get<std::vector<std::string>>())
                                              : ember::grammar::from_gbnf(c["gbnf"].get<std::string>());
        const auto f = ember::gguf_file::open(std::string(argv[2]) + "/ggml-vocab-" + c["vocab"].get<std::string>() + ".gguf");
        const ember::vocab v = ember::vocab::from_gguf(f);
        std::mt19937 rng(1234);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> logits(size_t(v.size()));
        for (ember::token_id id = 0; id < v.size(); ++id) {
            const std::string piece = v.token_to_piece(id, false);
            float l = normal(rng);
            if (piece.find_first_of("\"}])") != std::string::npos) l += 9.0f;
            if (v.is_eog(id)) l += 12.0f;
            logits[size_t(id)] = l;
        }
        ember::sampler_params sp;
        sp.temp = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.seed = 42;
        ember::sampler s = ember::sampler::from_params(sp, v, &g);
        nlohmann::ordered_json samples = nlohmann::ordered_json::array();
        for (int i = 0; i < n_samples; ++i) {
            s.reset(uint64_t(1000 + i));  // a new sample stream; the grammar restarts, its caches stay
            std::vector<ember::token_id> toks;
            bool ended = false;
            while (toks.size() < 512) {
                const ember::token_id t = s.sample(logits);
                s.accept(t);
                if (v.is_eog(t)) {
                    ended = true;
                    break;
                }
                toks.push_back(t);
            }
            std::string text;
            for (const ember::token_id t : toks) text += v.token_to_piece(t, false);
            samples.push_back({{"text", text}, {"ended", ended}, {"tokens", toks.size()}});
        }
        nlohmann::ordered_json rec = c;
        rec["samples"] = samples;
        out.push_back(rec);
        std::fprintf(stderr, "%s: %d samples\n", c["name"].get<std::string>().c_str(), n_samples);
    }
    std::ofstream(argv[3]) << out.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "ember_grammar_samples: %s\n", e.what());
    return 1;
}
