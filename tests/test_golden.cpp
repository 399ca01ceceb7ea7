// Acceptance against llama.cpp (issue 2): F32 and F16 models, reference tokens and greedy text.
#include "golden.hpp"

using namespace ember;

TEST_SUITE("golden") {

TEST_CASE("stories260K F32 matches llama.cpp") {
    const auto st = test::check_golden("stories260K.gguf", "stories260K.jsonl", 1e-3);
    CHECK(st.tokens_compared > 0);
}

TEST_CASE("shakespeare-19m F32 matches llama.cpp") {
    const auto st = test::check_golden("shakespeare-19m-F32.gguf", "shakespeare-19m-F32.jsonl", 1e-3);
    CHECK(st.tokens_compared > 0);
}

TEST_CASE("shakespeare-19m F16 matches llama.cpp") {
    const auto st = test::check_golden("shakespeare-19m-F16.gguf", "shakespeare-19m-F16.jsonl", 2e-2);
    CHECK(st.tokens_compared > 0);
}

// Issue 12: the other architectures (random weights in real layouts; F32 KV as the reference).
TEST_CASE("synthetic qwen2 (q/k/v biases) matches llama.cpp") {
    const auto st = test::check_golden("synthetic-qwen2.gguf", "synthetic-qwen2.jsonl", 1e-3);
    CHECK(st.argmax_checked > 0);
}

TEST_CASE("synthetic qwen3 (per-head q/k norms) matches llama.cpp") {
    const auto st = test::check_golden("synthetic-qwen3.gguf", "synthetic-qwen3.jsonl", 1e-3);
    CHECK(st.argmax_checked > 0);
}

TEST_CASE("synthetic gemma3 (sliding windows, GELU, post norms) matches llama.cpp") {
    const auto st = test::check_golden("synthetic-gemma3.gguf", "synthetic-gemma3.jsonl", 1e-3);
    CHECK(st.argmax_checked > 0);
}

TEST_CASE("synthetic qwen2 with the real Qwen2 BPE vocabulary matches llama.cpp from the prompt text") {
    const auto st = test::check_golden("synthetic-qwen2-bpe.gguf", "synthetic-qwen2-bpe.jsonl", 1e-2, 2, /*from_text=*/true);
    CHECK(st.argmax_checked > 0);
}

TEST_CASE("logits do not depend on the thread count or on batching") {
    const auto m = model::load(test::shared("models/stories260K.gguf"));
    const std::vector<token_id> toks = {1, 403, 407, 261, 378, 432, 383, 286, 261};
    context one(m, {.n_ctx = 64, .n_threads = 1, .type_k = ggml_type::f32, .type_v = ggml_type::f32});
    one.decode(toks, true);
    context two(m, {.n_ctx = 64, .n_batch = 3, .n_threads = 2, .type_k = ggml_type::f32, .type_v = ggml_type::f32});
    for (size_t i = 0; i < toks.size(); i += 2) two.decode(std::span(toks).subspan(i, std::min<size_t>(2, toks.size() - i)), true);
    const auto a = one.logits(-1), b = two.logits(-1);
    double max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, double(std::abs(a[i] - b[i])));
    CHECK(max_diff < 1e-4);
}

}
