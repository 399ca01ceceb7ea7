/* Cancelling: a long generation stopped from the stream callback, a generation and a decode
 * aborted from another thread. Each returns EMBER_ERR_CANCELLED and leaves the context
 * usable. */
#include <pthread.h>

#include "capi_test.h"

typedef struct counter {
    int seen;
    int stop_after;
} counter;

static bool stop_after_n(const ember_token_event* ev, void* user_data) {
    counter* c = user_data;
    if (ev->token >= 0) ++c->seen;
    return c->seen < c->stop_after;
}

TEST(stream_callback_stops_a_long_generation) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.context_shift = true; /* 10 000 tokens would not fit otherwise */
    p.n_ctx = 512;
    p.n_threads = 1;
    ember_context* c = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &c));
    ember_token prompt[32];
    const size_t n = tokenize(m, "Once upon a time", prompt, 32);
    ember_generate_params g = ember_generate_default_params();
    g.max_tokens = 10000;
    g.stop_at_eog = false;
    counter cnt = {0, 10};
    ember_generate_result r;
    r.struct_size = sizeof r;
    CHECK_STATUS(ember_context_generate(c, NULL, prompt, n, &g, stop_after_n, &cnt, &r), EMBER_ERR_CANCELLED);
    CHECK_MESSAGE("callback");
    CHECK(cnt.seen == 10);
    CHECK(r.n_tokens == 10 && r.stop_reason == EMBER_STOP_CALLBACK);
    /* the stopping token was sampled but never decoded */
    int64_t n_past = 0;
    CHECK_OK(ember_context_n_past(c, 0, &n_past));
    CHECK(n_past == (int64_t)n + 9);
    ember_context_free(c);
    ember_model_free(m);
}

typedef struct abort_job {
    ember_context* ctx;
    volatile int started; /* set by the worker, read by the aborter; guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ember_status status;
    int iterations;
    int64_t n_past_after;
} abort_job;

static void signal_started(abort_job* j) {
    pthread_mutex_lock(&j->mu);
    j->started = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void wait_started(abort_job* j) {
    pthread_mutex_lock(&j->mu);
    while (!j->started) pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
}

/* Decodes a long prompt again and again until a decode is cancelled. */
static void* decode_until_cancelled(void* arg) {
    abort_job* j = arg;
    ember_token tokens[1024];
    for (int i = 0; i < 1024; ++i) tokens[i] = 3 + (i * 7) % 500;
    j->status = EMBER_OK;
    for (j->iterations = 0; j->iterations < 1000 && j->status == EMBER_OK; ++j->iterations) {
        ember_context_clear(j->ctx);
        if (j->iterations == 0) signal_started(j);
        j->status = ember_context_decode(j->ctx, tokens, 1024, 0, false);
    }
    ember_context_n_past(j->ctx, 0, &j->n_past_after);
    return NULL;
}

TEST(decode_aborted_from_another_thread) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 1024;
    p.n_threads = 1;
    abort_job j;
    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    REQUIRE_OK(ember_context_create(m, &p, &j.ctx));
    pthread_t worker;
    CHECK(pthread_create(&worker, NULL, decode_until_cancelled, &j) == 0);
    wait_started(&j);
    CHECK_OK(ember_context_abort(j.ctx)); /* from this thread, while the worker decodes */
    pthread_join(worker, NULL);
    CHECK(j.status == EMBER_ERR_CANCELLED);
    /* The decode in flight (or, if the abort came between two, the next one) was cancelled:
     * the loop did not run to its end. */
    CHECK(j.iterations < 1000);
    CHECK(j.n_past_after == 0); /* a cancelled decode leaves the cache as it was */
    /* The abort is consumed: the context works again. */
    ember_token t[2] = {1, 50};
    CHECK_OK(ember_context_decode(j.ctx, t, 2, 0, false));
    ember_context_free(j.ctx);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);
    ember_model_free(m);
}

typedef struct gen_job {
    abort_job base;
    counter cnt;
    ember_generate_result result;
} gen_job;

static bool signal_after_10(const ember_token_event* ev, void* user_data) {
    gen_job* g = user_data;
    if (ev->token >= 0 && ++g->cnt.seen == 10) signal_started(&g->base);
    return true;
}

static void* generate_long(void* arg) {
    gen_job* g = arg;
    ember_token prompt[4] = {1, 100, 200, 300};
    ember_generate_params gp = ember_generate_default_params();
    gp.max_tokens = 10000;
    gp.stop_at_eog = false;
    g->result.struct_size = sizeof g->result;
    g->base.status = ember_context_generate(g->base.ctx, NULL, prompt, 4, &gp, signal_after_10, g, &g->result);
    return NULL;
}

TEST(generation_aborted_from_another_thread) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 256;
    p.n_threads = 1;
    p.context_shift = true;
    static gen_job g;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.base.mu, NULL);
    pthread_cond_init(&g.base.cv, NULL);
    REQUIRE_OK(ember_context_create(m, &p, &g.base.ctx));
    pthread_t worker;
    CHECK(pthread_create(&worker, NULL, generate_long, &g) == 0);
    wait_started(&g.base);
    CHECK_OK(ember_context_abort(g.base.ctx));
    pthread_join(worker, NULL);
    CHECK(g.base.status == EMBER_ERR_CANCELLED);
    CHECK(g.result.stop_reason == EMBER_STOP_ABORTED);
    CHECK(g.cnt.seen >= 10 && g.result.n_tokens < 10000);
    ember_context_free(g.base.ctx);
    pthread_cond_destroy(&g.base.cv);
    pthread_mutex_destroy(&g.base.mu);
    ember_model_free(m);
}

RUN_TESTS(T(stream_callback_stops_a_long_generation), T(decode_aborted_from_another_thread),
          T(generation_aborted_from_another_thread))
