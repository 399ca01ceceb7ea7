/* The C API's structured output: a JSON-schema-constrained generation whose text parses as the
 * schema asks (checked here by hand), a regex and a GBNF chain, and the error paths - each
 * message names the line/column, the schema path or the regex column.
 * argv: MODEL (stories260K.gguf) TMP_DIR. */
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"
#include "ember.h"

static int all_digits(const char* s, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; ++i)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static char g_text[8192];
static size_t g_len;

static bool collect(const ember_token_event* e, void* user_data) {
    (void)user_data;
    if (g_len + e->text_len < sizeof g_text) {
        memcpy(g_text + g_len, e->text, e->text_len);
        g_len += e->text_len;
        g_text[g_len] = 0;
    }
    return true;
}

/* Generates up to max_tokens under the sampler; returns the text (a static buffer). */
static const char* generate(ember_model* m, ember_sampler* s, const char* prompt, int64_t max_tokens) {
    g_len = 0;
    g_text[0] = 0;
    ember_context_params cp;
    ember_context_params_init(&cp, sizeof cp);
    ember_context* ctx = NULL;
    if (ember_context_create(m, &cp, &ctx) != EMBER_OK) return g_text;
    ember_token prompt_tokens[64];
    size_t n = 0;
    if (ember_model_tokenize(m, prompt, strlen(prompt), true, false, prompt_tokens, 64, &n) == EMBER_OK) {
        ember_generate_params gp;
        ember_generate_params_init(&gp, sizeof gp);
        gp.max_tokens = max_tokens;
        CHECK_OK(ember_context_generate(ctx, s, prompt_tokens, n, &gp, collect, NULL, NULL));
    }
    ember_context_free(ctx);
    return g_text;
}

TEST(json_schema_generation) {
    ember_model* m = NULL;
    REQUIRE_OK(ember_model_load(g_model_path, NULL, &m));
    ember_sampler_params p;
    REQUIRE_OK(ember_sampler_params_init(&p, sizeof p));
    p.temp = 1.0f;
    const char* schema = "{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"string\", \"pattern\": \"^[0-9]{3}$\"}}, \"required\": [\"n\"]}";
    for (int seed = 0; seed < 5; ++seed) {
        p.seed = (uint64_t)(seed + 1);
        ember_sampler* s = NULL;
        REQUIRE_OK(ember_sampler_create_grammar(&p, m, EMBER_GRAMMAR_JSON_SCHEMA, schema, &s));
        const char* text = generate(m, s, "Once upon a time", 200);
        /* {"n": "ddd"} with optional whitespace */
        const char* q = strstr(text, "\"n\"");
        CHECK(text[0] == '{');
        CHECK(q != NULL);
        if (q) {
            const char* v = strchr(q + 3, '"');
            CHECK(v != NULL);
            if (v) {
                const char* end = strchr(v + 1, '"');
                CHECK(end != NULL && all_digits(v + 1, (size_t)(end - v - 1)) && end - v - 1 == 3);
            }
        }
        CHECK(strrchr(text, '}') != NULL && strspn(strrchr(text, '}') + 1, " \n\t") == strlen(strrchr(text, '}') + 1));
        ember_sampler_free(s);
    }
    ember_model_free(m);
}

TEST(chain_with_regex_and_gbnf) {
    ember_model* m = NULL;
    REQUIRE_OK(ember_model_load(g_model_path, NULL, &m));
    ember_sampler* s = NULL;
    REQUIRE_OK(ember_sampler_chain_create(3, &s));
    REQUIRE_OK(ember_sampler_add_grammar(s, m, EMBER_GRAMMAR_REGEX, "(yes|no)!"));
    REQUIRE_OK(ember_sampler_add_temperature(s, 1.0f));
    const char* text = generate(m, s, "Once", 20);
    CHECK(strcmp(text, "yes!") == 0 || strcmp(text, "no!") == 0);
    ember_sampler_free(s);

    REQUIRE_OK(ember_sampler_chain_create(4, &s));
    REQUIRE_OK(ember_sampler_add_grammar(s, m, EMBER_GRAMMAR_GBNF, "root ::= [a-c]{2} \"-\" [0-9]\n"));
    text = generate(m, s, "Once", 20);
    CHECK(strlen(text) == 4 && text[0] >= 'a' && text[0] <= 'c' && text[1] >= 'a' && text[1] <= 'c' && text[2] == '-' &&
          text[3] >= '0' && text[3] <= '9');
    /* A token the grammar refuses cannot be accepted. */
    ember_sampler_reset(s);
    ember_token tok[8];
    size_t n = 0;
    REQUIRE_OK(ember_model_tokenize(m, "zzz", 3, false, false, tok, 8, &n));
    CHECK_STATUS(ember_sampler_accept(s, tok[0]), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("does not fit the grammar");
    /* ...but as a prompt token it is not output: the grammar ignores it and still starts at root. */
    REQUIRE_OK(ember_sampler_accept_prompt(s, tok[0]));
    CHECK_STATUS(ember_sampler_accept_prompt(s, -1), EMBER_ERR_INVALID_ARGUMENT);
    text = generate(m, s, "Once", 20);
    CHECK(strlen(text) == 4 && text[2] == '-');
    ember_sampler_free(s);
    ember_model_free(m);
}

TEST(errors) {
    ember_model* m = NULL;
    REQUIRE_OK(ember_model_load(g_model_path, NULL, &m));
    ember_sampler_params p;
    REQUIRE_OK(ember_sampler_params_init(&p, sizeof p));
    ember_sampler* s = NULL;
    CHECK_STATUS(ember_sampler_create_grammar(&p, m, EMBER_GRAMMAR_GBNF, "root ::= \"a\"\nx ::= (\"b\"\n", &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("line 2");
    CHECK(s == NULL);
    CHECK_STATUS(ember_sampler_create_grammar(&p, m, EMBER_GRAMMAR_JSON_SCHEMA, "{\"properties\": {\"a\": {\"minimum\": 1}}}", &s),
                 EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("/properties/a: 'minimum' is not supported");
    CHECK_STATUS(ember_sampler_create_grammar(&p, m, EMBER_GRAMMAR_REGEX, "a(b", &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("regex column 4");
    CHECK_STATUS(ember_sampler_create_grammar(&p, m, 9, "root ::= \"a\"", &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("kind = 9");
    CHECK_STATUS(ember_sampler_create_grammar(&p, m, EMBER_GRAMMAR_GBNF, NULL, &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_create_grammar(&p, NULL, EMBER_GRAMMAR_GBNF, "root ::= \"a\"", &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("model");
    CHECK_STATUS(ember_sampler_add_grammar(NULL, m, EMBER_GRAMMAR_GBNF, "root ::= \"a\""), EMBER_ERR_INVALID_ARGUMENT);
    ember_model_free(m);
}

RUN_TESTS(T(json_schema_generation), T(chain_with_regex_and_gbnf), T(errors))
