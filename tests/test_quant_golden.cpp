// Quantized models end to end against llama.cpp (../shared/golden): the forward pass reaches the
// quantized weights only through kernels::get(type) (vec_dot_type, from_float, vec_dot), so this
// checks the activation quantizers and dot products of the scalar table (or whichever ISA is
// active) in their real use. Logits differ from llama.cpp's by kernel summation order only
// (formats.md §3.5); the tolerances are ~2x the largest difference measured.
#include "golden.hpp"

using namespace ember;

TEST_SUITE("quant") {

TEST_CASE("shakespeare-19m Q8_0 matches llama.cpp") {
    const auto st = test::check_golden("shakespeare-19m-Q8_0.gguf", "shakespeare-19m-Q8_0.jsonl", 2e-2);
    CHECK(st.argmax_checked > 100);
    CHECK(st.tokens_compared > 0);
}

TEST_CASE("shakespeare-19m Q4_K_M matches llama.cpp") {
    const auto st = test::check_golden("shakespeare-19m-Q4_K_M.gguf", "shakespeare-19m-Q4_K_M.jsonl", 4e-2);
    CHECK(st.argmax_checked > 100);
    CHECK(st.tokens_compared > 0);
}

TEST_CASE("shakespeare-19m Q2_K matches llama.cpp") {
    const auto st = test::check_golden("shakespeare-19m-Q2_K.gguf", "shakespeare-19m-Q2_K.jsonl", 4e-2);
    CHECK(st.argmax_checked > 100);
    CHECK(st.tokens_compared > 0);
}

}  // TEST_SUITE
