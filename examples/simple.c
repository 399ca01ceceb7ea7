/* simple.c - the C API in one page: load a model, tokenize a prompt, generate greedily.
 *
 *   simple MODEL PROMPT N
 *
 * stdout receives exactly the N-token continuation (as `ember run --temp 0` prints it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

/* Called once per generated token with the text it completed (whole UTF-8 characters only). */
static bool print_piece(const ember_token_event* ev, void* user_data) {
    (void)user_data;
    fwrite(ev->text, 1, ev->text_len, stdout);
    fflush(stdout);
    return true; /* false would stop the generation */
}

static int fail(const char* what, ember_status status) {
    fprintf(stderr, "simple: %s failed (%s): %s\n", what, ember_status_string(status), ember_last_error());
    return 1;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL PROMPT N\n", argv[0]);
        return 2;
    }
    ember_model* model = NULL;
    ember_context* ctx = NULL;
    ember_token* prompt = NULL;
    size_t n_prompt = 0;
    int rc = 1;

    ember_status s = ember_model_load(argv[1], NULL, &model);
    if (s != EMBER_OK) return fail("loading the model", s);

    ember_context_params cparams = ember_context_default_params();
    cparams.context_shift = true; /* like `ember run`: keep going when the cache fills up */
    s = ember_context_create(model, &cparams, &ctx);
    if (s != EMBER_OK) { rc = fail("creating a context", s); goto done; }

    /* First ask for the size, then tokenize into a buffer of that size. */
    const char* text = argv[2];
    s = ember_model_tokenize(model, text, strlen(text), true, false, NULL, 0, &n_prompt);
    if (s != EMBER_ERR_BUFFER_TOO_SMALL && s != EMBER_OK) { rc = fail("tokenizing", s); goto done; }
    prompt = malloc((n_prompt ? n_prompt : 1) * sizeof *prompt);
    if (!prompt) goto done;
    s = ember_model_tokenize(model, text, strlen(text), true, false, prompt, n_prompt, &n_prompt);
    if (s != EMBER_OK) { rc = fail("tokenizing", s); goto done; }

    /* Without a sampler, ember_context_generate samples with params.temperature: 0 = greedy. */
    ember_generate_params gparams = ember_generate_default_params();
    gparams.max_tokens = atoll(argv[3]);
    s = ember_context_generate(ctx, NULL, prompt, n_prompt, &gparams, print_piece, NULL, NULL);
    if (s != EMBER_OK) { rc = fail("generating", s); goto done; }
    rc = 0;

done:
    free(prompt);
    ember_context_free(ctx);
    ember_model_free(model);
    return rc;
}
