// The README's example, built against an installed ember exactly as a user would build it.
#include <ember/context.hpp>
#include <ember/generate.hpp>
#include <ember/model.hpp>
#include <ember/sampler.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    try {
        auto model = ember::model::load(argv[1]);
        ember::context ctx(model, {.n_ctx = 256, .n_threads = 2});
        auto sampler = ember::sampler::from_params({.temp = 0.0f});  // greedy
        auto prompt = model->vocab().tokenize("Once upon a time", /*add_special=*/true, /*parse_special=*/false);
        ember::generate(ctx, sampler, prompt, {.max_tokens = 16}, [](ember::token_id, std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            return true;  // false stops the generation
        });
    } catch (const ember::error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
