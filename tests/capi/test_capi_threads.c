/* One model shared by four threads, each with its own context: every thread's greedy text
 * equals the single-threaded one. Built and run under ThreadSanitizer too (EMBER_TSAN). */
#include <pthread.h>

#include "capi_test.h"

enum { n_threads = 4, n_generate = 48, text_cap = 4096 };

typedef struct job {
    const ember_model* model;
    const char* prompt;
    int32_t n_threads;  /* of the context's own thread pool */
    int64_t n_generate;
    char text[text_cap];
    size_t len;
    ember_status status;
    char error[256];
} job;

static bool append(const ember_token_event* ev, void* user_data) {
    job* j = user_data;
    if (j->len + ev->text_len < text_cap) {
        memcpy(j->text + j->len, ev->text, ev->text_len);
        j->len += ev->text_len;
        j->text[j->len] = '\0';
    }
    return true;
}

static void* run_job(void* arg) {
    job* j = arg;
    j->len = 0;
    j->text[0] = '\0';
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 128;
    p.n_threads = j->n_threads;
    ember_context* c = NULL;
    ember_token prompt[64];
    size_t n = 0;
    j->status = ember_context_create(j->model, &p, &c);
    if (j->status == EMBER_OK)
        j->status = ember_model_tokenize(j->model, j->prompt, strlen(j->prompt), true, false, prompt, 64, &n);
    ember_generate_params g = ember_generate_default_params();
    g.max_tokens = j->n_generate;
    /* Two rounds per thread: the second reuses the context after a clear. */
    for (int round = 0; round < 2 && j->status == EMBER_OK; ++round) {
        j->len = 0;
        j->status = ember_context_clear(c);
        if (j->status == EMBER_OK) j->status = ember_context_generate(c, NULL, prompt, n, &g, append, j, NULL);
    }
    if (j->status != EMBER_OK) snprintf(j->error, sizeof j->error, "%s", ember_last_error()); /* per-thread message */
    ember_context_free(c);
    return NULL;
}

static void share_one_model(int32_t pool_threads, int64_t n_tokens) {
    ember_model* m = load_test_model();
    if (!m) return;
    const char* prompts[n_threads] = {"Once upon a time", "The little dog", "Once upon a time", "Lily and Tom"};
    static job single[n_threads], multi[n_threads];
    for (int i = 0; i < n_threads; ++i) {
        single[i].model = multi[i].model = m;
        single[i].prompt = multi[i].prompt = prompts[i];
        single[i].n_threads = multi[i].n_threads = pool_threads;
        single[i].n_generate = multi[i].n_generate = n_tokens;
        run_job(&single[i]); /* one after another on this thread: the reference */
        CHECK_OK(single[i].status);
        CHECK(single[i].len > (size_t)n_tokens);
    }
    pthread_t threads[n_threads];
    for (int i = 0; i < n_threads; ++i) CHECK(pthread_create(&threads[i], NULL, run_job, &multi[i]) == 0);
    for (int i = 0; i < n_threads; ++i) pthread_join(threads[i], NULL);
    for (int i = 0; i < n_threads; ++i) {
        if (multi[i].status != EMBER_OK) fprintf(stderr, "thread %d: %s\n", i, multi[i].error);
        CHECK(multi[i].status == EMBER_OK);
        CHECK(multi[i].len == single[i].len && strcmp(multi[i].text, single[i].text) == 0);
    }
    CHECK(strcmp(multi[0].text, multi[2].text) == 0);
    CHECK(strcmp(multi[0].text, multi[1].text) != 0);
    ember_model_free(m);
}

TEST(four_threads_share_one_model) { share_one_model(1, n_generate); }

/* The same with a two-thread pool inside each context: eight threads in all. */
TEST(four_threads_with_thread_pools) { share_one_model(2, 12); }

/* Each thread's last error is its own. */
static void* fail_differently(void* arg) {
    const char* key = arg;
    ember_model* m = NULL;
    char msg[256];
    for (int i = 0; i < 200; ++i) {
        ember_model_load(key, NULL, &m);
        snprintf(msg, sizeof msg, "%s", ember_last_error());
        if (!strstr(msg, key)) return (void*)1;
    }
    return NULL;
}

TEST(last_error_is_per_thread) {
    pthread_t a, b;
    void *ra = NULL, *rb = NULL;
    CHECK(pthread_create(&a, NULL, fail_differently, (void*)"/nonexistent/aaa.gguf") == 0);
    CHECK(pthread_create(&b, NULL, fail_differently, (void*)"/nonexistent/bbb.gguf") == 0);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    CHECK(ra == NULL && rb == NULL);
}

RUN_TESTS(T(four_threads_share_one_model), T(four_threads_with_thread_pools), T(last_error_is_per_thread))
