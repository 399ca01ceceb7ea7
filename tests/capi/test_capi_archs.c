/* The C API on each architecture ember runs (the shared synthetic qwen2, qwen3, gemma3 and
 * Qwen2-BPE models): load, tokenize the reference prompt, decode it with an F32 KV cache and
 * continue greedily; the tokens must be llama.cpp's (../shared/golden/synthetic-*.jsonl).
 * Usage: test_capi_archs MODEL TMP_DIR, with EMBER_ARCH (general.architecture), EMBER_PROMPT and
 * EMBER_EXPECT (llama.cpp's first greedy tokens, comma-separated) in the environment. */
#include <stdbool.h>
#include <string.h>

#include "capi_test.h"

TEST(greedy_matches_llamacpp) {
    const char* arch = getenv("EMBER_ARCH");
    const char* prompt = getenv("EMBER_PROMPT");
    const char* expect = getenv("EMBER_EXPECT");
    CHECK(arch && prompt && expect);
    if (!arch || !prompt || !expect) return;
    ember_token want[16];
    size_t n_want = 0;
    for (const char* p = expect; *p && n_want < 16;) {
        want[n_want++] = (ember_token)strtol(p, (char**)&p, 10);
        if (*p == ',') ++p;
    }
    CHECK(n_want > 0);
    ember_model* m = load_test_model();
    if (!m) return;
    char buf[64];
    size_t size = 0;
    CHECK_OK(ember_model_meta_string(m, "general.architecture", buf, sizeof buf, &size));
    CHECK(strcmp(buf, arch) == 0);
    ember_token ids[256];
    const size_t n = tokenize(m, prompt, ids, 256);
    CHECK(n > 0);
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 256;
    p.type_k = p.type_v = EMBER_TYPE_F32;
    p.n_threads = 1;
    ember_context* c = NULL;
    if (ember_context_create(m, &p, &c) != EMBER_OK) {
        fprintf(stderr, "context: %s\n", ember_last_error());
        ++g_checks_failed;
        ember_model_free(m);
        return;
    }
    CHECK_OK(ember_context_decode(c, ids, n, 0, false));
    for (size_t i = 0; i < n_want; ++i) {
        const float* logits = NULL;
        size_t n_vocab = 0;
        CHECK_OK(ember_context_logits(c, -1, &logits, &n_vocab));
        if (!logits) break;
        ember_token best = 0;
        for (size_t v = 1; v < n_vocab; ++v)
            if (logits[v] > logits[best]) best = (ember_token)v;
        if (best != want[i]) fprintf(stderr, "%s: greedy token %zu is %d, llama.cpp's is %d\n", arch, i, (int)best, (int)want[i]);
        CHECK(best == want[i]);
        CHECK_OK(ember_context_decode(c, &best, 1, 0, false));
    }
    ember_context_free(c);
    ember_model_free(m);
}

RUN_TESTS(T(greedy_matches_llamacpp))
