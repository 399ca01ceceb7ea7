// simple.cpp - the C++ API in one page: load a model, tokenize a prompt, generate greedily.
//
//   simple_cpp MODEL PROMPT N
//
// stdout receives exactly the N-token continuation (as `ember run --temp 0` prints it).
#include <cstdio>
#include <string>

#include "ember/context.hpp"
#include "ember/generate.hpp"
#include "ember/model.hpp"
#include "ember/sampler.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL PROMPT N\n", argv[0]);
        return 2;
    }
    try {
        // The model is immutable and shareable; the context holds the KV cache and threads.
        const auto model = ember::model::load(argv[1]);
        ember::context_params cp;
        cp.context_shift = true;  // like `ember run`: keep going when the cache fills up
        ember::context ctx(model, cp);

        ember::sampler_params sp;
        sp.temp = 0.0f;  // greedy: the most likely token every time
        ember::sampler smp = ember::sampler::from_params(sp, model->hparams().n_vocab);

        const auto prompt = model->vocab().tokenize(argv[2], /*add_special=*/true, /*parse_special=*/false);
        ember::generate_params gp;
        gp.max_tokens = std::stoll(argv[3]);
        // The callback receives complete UTF-8 text as each token is generated.
        ember::generate(ctx, smp, prompt, gp, [](ember::token_id, std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            return true;
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "simple_cpp: %s\n", e.what());
        return 1;
    }
    return 0;
}
