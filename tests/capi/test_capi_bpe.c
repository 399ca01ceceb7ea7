/* The C API on a byte-level BPE vocabulary: special-token parsing, round trips, end-of-generation
 * ids. Usage: test_capi_bpe MODEL TMP_DIR [TEST]. */
#include <stdbool.h>
#include <string.h>

#include "capi_test.h"

/* A Llama-3 (byte-level BPE) vocabulary on a tiny random model (made by `ember mkmodel` in
 * tests/capi/CMakeLists.txt). */
TEST(llama3_tokens) {
    ember_model* m = load_test_model();
    if (!m) return;
    char buf[256];
    size_t size = 0;
    REQUIRE_OK(ember_model_meta_string(m, "tokenizer.ggml.model", buf, sizeof buf, &size));
    CHECK(strcmp(buf, "gpt2") == 0);
    const char* chat = "<|begin_of_text|>Hi<|eot_id|>";
    ember_token ids[64];
    size_t n = 0;
    /* With special parsing the markers are single control tokens... */
    REQUIRE_OK(ember_model_tokenize(m, chat, strlen(chat), false, true, ids, 64, &n));
    CHECK(n == 3 && ids[0] == 128000 && ids[1] == 13347 && ids[2] == 128009);
    /* ...without it they are plain text, and add_special puts BOS in front. */
    REQUIRE_OK(ember_model_tokenize(m, chat, strlen(chat), true, false, ids, 64, &n));
    CHECK(n > 4 && ids[0] == 128000);
    for (size_t i = 1; i < n; ++i) CHECK(ids[i] != 128000 && ids[i] != 128009);
    CHECK_OK(ember_model_detokenize(m, ids + 1, n - 1, false, false, buf, sizeof buf, &size));
    CHECK(strcmp(buf, chat) == 0);
    const char* text = "Grüße, 世界! It's 12345 ✓";
    REQUIRE_OK(ember_model_tokenize(m, text, strlen(text), false, false, ids, 64, &n));
    CHECK_OK(ember_model_detokenize(m, ids, n, false, false, buf, sizeof buf, &size));
    CHECK(strcmp(buf, text) == 0);
    ember_token eog[16];
    size_t n_eog = 0;
    REQUIRE_OK(ember_model_eog_tokens(m, eog, 16, &n_eog));
    bool eot = false, eos = false;
    for (size_t i = 0; i < n_eog; ++i) {
        eot |= eog[i] == 128009; /* <|eot_id|> */
        eos |= eog[i] == 128001; /* <|end_of_text|> */
        if (i) CHECK(eog[i - 1] < eog[i]);
    }
    CHECK(eot && eos);
    bool is_eog = false;
    CHECK_OK(ember_model_token_attr(m, 128009, NULL, NULL, &is_eog));
    CHECK(is_eog);
    CHECK_OK(ember_model_token_attr(m, 128000, NULL, NULL, &is_eog));
    CHECK(!is_eog);
    ember_model_free(m);
}

RUN_TESTS(T(llama3_tokens))
