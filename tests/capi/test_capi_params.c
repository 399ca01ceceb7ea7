/* The struct_size contract: a struct from an older ember.h (shorter) works with defaults for
 * the fields it lacks; one from a newer ember.h (longer) is rejected with
 * EMBER_ERR_UNSUPPORTED; a size that ends inside a field or cannot hold struct_size itself is
 * rejected; output structs receive only as many bytes as their struct_size says. */
#include "capi_test.h"

/* What an older ember.h might have declared: the first three fields only. */
typedef struct old_context_params {
    size_t struct_size;
    int64_t n_ctx;
    int64_t n_batch;
} old_context_params;

/* What a newer ember.h might declare: one more field at the end. */
typedef struct new_context_params {
    ember_context_params base;
    int64_t from_the_future;
} new_context_params;

TEST(shorter_params_take_defaults_for_missing_fields) {
    ember_model* m = load_test_model();
    if (!m) return;
    CHECK(sizeof(old_context_params) == offsetof(ember_context_params, n_threads));
    old_context_params old;
    old.struct_size = sizeof old;
    old.n_ctx = 48;
    old.n_batch = 16;
    ember_context* c = NULL;
    REQUIRE_OK(ember_context_create(m, (const ember_context_params*)(const void*)&old, &c));
    ember_context_params got;
    got.struct_size = sizeof got;
    REQUIRE_OK(ember_context_get_params(c, &got));
    const ember_context_params def = ember_context_default_params();
    CHECK(got.n_ctx == 48);
    CHECK(got.n_batch == 16);
    CHECK(got.n_seq_max == def.n_seq_max);
    CHECK(got.type_k == EMBER_TYPE_F16 && got.type_v == EMBER_TYPE_F16);
    CHECK(got.context_shift == def.context_shift);
    CHECK(got.seed == EMBER_SEED_RANDOM);
    CHECK(got.n_threads > 0); /* 0 (all threads) resolved */
    ember_context_free(c);
    ember_model_free(m);
}

TEST(longer_params_are_rejected) {
    ember_model* m = load_test_model();
    if (!m) return;
    new_context_params p;
    p.base = ember_context_default_params();
    p.base.struct_size = sizeof p;
    p.from_the_future = 1;
    ember_context* c = NULL;
    CHECK_STATUS(ember_context_create(m, &p.base, &c), EMBER_ERR_UNSUPPORTED);
    CHECK_MESSAGE("newer ember.h");
    CHECK(c == NULL);

    ember_model_params mp = ember_model_default_params();
    mp.struct_size += 8;
    ember_model* m2 = NULL;
    CHECK_STATUS(ember_model_load(g_model_path, &mp, &m2), EMBER_ERR_UNSUPPORTED);
    CHECK_MESSAGE("ember_model_params");
    ember_sampler_params sp = ember_sampler_default_params();
    sp.struct_size += 1;
    ember_sampler* s = NULL;
    CHECK_STATUS(ember_sampler_create(&sp, NULL, &s), EMBER_ERR_UNSUPPORTED);
    ember_quantize_params qp = ember_quantize_default_params();
    qp.preset = "Q8_0";
    qp.struct_size = 4096;
    CHECK_STATUS(ember_quantize_file(g_model_path, "/nonexistent/out.gguf", &qp, NULL), EMBER_ERR_UNSUPPORTED);
    ember_model_free(m);
}

TEST(sizes_inside_a_field_or_too_small_are_rejected) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    ember_context* c = NULL;
    p.struct_size = offsetof(ember_context_params, n_ctx) + 4;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_UNSUPPORTED);
    CHECK_MESSAGE("inside a field");
    p.struct_size = 0;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("struct_size");
    p.struct_size = sizeof(size_t) - 1;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    /* Just the struct_size field: every other field takes its default. */
    p.struct_size = sizeof(size_t);
    p.n_ctx = -99; /* ignored: beyond struct_size */
    REQUIRE_OK(ember_context_create(m, &p, &c));
    int64_t n_ctx = 0;
    CHECK_OK(ember_context_n_ctx(c, &n_ctx));
    CHECK(n_ctx == 2048); /* the model's training context */
    ember_context_free(c);
    ember_model_free(m);
}

TEST(generate_params_and_result_sizes) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context* c = NULL;
    ember_context_params cp = ember_context_default_params();
    cp.n_ctx = 64;
    REQUIRE_OK(ember_context_create(m, &cp, &c));
    ember_token prompt[2] = {1, 300};
    /* An older generate_params with only max_tokens. */
    ember_generate_params g = ember_generate_default_params();
    g.struct_size = offsetof(ember_generate_params, seq);
    g.max_tokens = 3;
    g.seq = 55; /* beyond struct_size: ignored */
    /* An older result struct with only n_tokens: the bytes after it stay untouched. */
    union {
        ember_generate_result r;
        unsigned char raw[sizeof(ember_generate_result)];
    } u;
    unsigned char* raw = u.raw;
    memset(raw, 0xAB, sizeof u.raw);
    ember_generate_result* r = &u.r;
    r->struct_size = offsetof(ember_generate_result, n_prompt_evaluated);
    REQUIRE_OK(ember_context_generate(c, NULL, prompt, 2, &g, NULL, NULL, r));
    CHECK(r->n_tokens == 3);
    CHECK(r->struct_size == offsetof(ember_generate_result, n_prompt_evaluated));
    for (size_t i = offsetof(ember_generate_result, n_prompt_evaluated); i < sizeof u.raw; ++i) CHECK(raw[i] == 0xAB);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(output_structs_honour_struct_size) {
    ember_model* m = load_test_model();
    if (!m) return;
    union {
        ember_model_info info;
        unsigned char raw[sizeof(ember_model_info) + 16];
    } u;
    memset(u.raw, 0xCD, sizeof u.raw);
    ember_model_info* info = &u.info;
    info->struct_size = offsetof(ember_model_info, n_embd);
    REQUIRE_OK(ember_model_get_info(m, info));
    CHECK(info->n_vocab == 512);
    CHECK(info->n_ctx_train == 2048);
    for (size_t i = offsetof(ember_model_info, n_embd); i < sizeof u.raw; ++i) CHECK(u.raw[i] == 0xCD);
    info->struct_size = sizeof(ember_model_info) + 8;
    CHECK_STATUS(ember_model_get_info(m, info), EMBER_ERR_UNSUPPORTED);
    info->struct_size = offsetof(ember_model_info, n_vocab) + 1;
    CHECK_STATUS(ember_model_get_info(m, info), EMBER_ERR_UNSUPPORTED);
    info->struct_size = 0;
    CHECK_STATUS(ember_model_get_info(m, info), EMBER_ERR_INVALID_ARGUMENT);

    ember_tensor_info ti;
    ti.struct_size = offsetof(ember_tensor_info, ne);
    ti.ne[0] = -1;
    REQUIRE_OK(ember_model_tensor_info(m, 0, &ti));
    CHECK(ti.type == 0 && ti.n_dims == 2);
    CHECK(ti.ne[0] == -1); /* beyond struct_size */

    ember_context* c = NULL;
    ember_context_params cp = ember_context_default_params();
    cp.n_ctx = 32;
    REQUIRE_OK(ember_context_create(m, &cp, &c));
    ember_memory_usage mu;
    mu.struct_size = offsetof(ember_memory_usage, kv_cache);
    mu.kv_cache = 7;
    REQUIRE_OK(ember_context_memory(c, &mu));
    CHECK(mu.weights > 0);
    CHECK(mu.kv_cache == 7);
    mu.struct_size = sizeof mu + 8;
    CHECK_STATUS(ember_context_memory(c, &mu), EMBER_ERR_UNSUPPORTED);
    ember_context_params got;
    got.struct_size = sizeof got * 2;
    CHECK_STATUS(ember_context_get_params(c, &got), EMBER_ERR_UNSUPPORTED);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(params_init_writes_only_struct_size_bytes) {
    union {
        ember_sampler_params p;
        ember_model_params mp;
        unsigned char raw[sizeof(ember_sampler_params) + 8];
    } u;
    memset(u.raw, 0xEE, sizeof u.raw);
    ember_sampler_params* p = &u.p;
    const size_t n = offsetof(ember_sampler_params, top_k);
    REQUIRE_OK(ember_sampler_params_init(p, n));
    CHECK(p->struct_size == n);
    CHECK(p->seed == EMBER_SEED_RANDOM);
    CHECK(p->temp > 0.79f && p->temp < 0.81f);
    for (size_t i = n; i < sizeof u.raw; ++i) CHECK(u.raw[i] == 0xEE);
    CHECK_STATUS(ember_sampler_params_init(p, sizeof(ember_sampler_params) + 8), EMBER_ERR_UNSUPPORTED);
    CHECK_STATUS(ember_sampler_params_init(p, 2), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_params_init(&u.mp, offsetof(ember_model_params, progress) + 4), EMBER_ERR_UNSUPPORTED);
    CHECK_OK(ember_model_params_init(&u.mp, offsetof(ember_model_params, check_tensors)));
    CHECK(u.mp.use_mmap);

    /* The defaults documented in ember.h. */
    const ember_model_params mp = ember_model_default_params();
    CHECK(mp.struct_size == sizeof mp && mp.use_mmap && !mp.check_tensors && mp.progress == NULL);
    const ember_context_params cp = ember_context_default_params();
    CHECK(cp.struct_size == sizeof cp && cp.n_ctx == 0 && cp.n_batch == 512 && cp.n_threads == 0 && cp.n_seq_max == 1);
    CHECK(cp.window == 0 && cp.type_k == EMBER_TYPE_F16 && !cp.context_shift && cp.seed == EMBER_SEED_RANDOM);
    const ember_sampler_params sp = ember_sampler_default_params();
    CHECK(sp.top_k == 40 && sp.repeat_last_n == 64 && sp.logit_bias == NULL && !sp.logprobs);
    const ember_generate_params gp = ember_generate_default_params();
    CHECK(gp.max_tokens == 128 && gp.stop_at_eog && gp.accept_prompt && gp.temperature == 0.0f);
    const ember_quantize_params qp = ember_quantize_default_params();
    CHECK(qp.struct_size == sizeof qp && qp.preset == NULL && qp.n_threads == 0);
}

TEST(batch_struct_size) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context* c = NULL;
    ember_context_params cp = ember_context_default_params();
    cp.n_ctx = 32;
    REQUIRE_OK(ember_context_create(m, &cp, &c));
    ember_token tokens[2] = {1, 50};
    int32_t pos[2] = {0, 1};
    ember_batch b;
    b.struct_size = offsetof(ember_batch, seq); /* an older batch without seq and logits */
    b.n_tokens = 2;
    b.tokens = tokens;
    b.pos = pos;
    REQUIRE_OK(ember_context_decode_batch(c, &b));
    const float* logits = NULL;
    size_t n_vocab = 0;
    CHECK_OK(ember_context_logits(c, 1, &logits, &n_vocab)); /* default: the last token has logits */
    CHECK(n_vocab == 512);
    b.struct_size = sizeof b + 8;
    CHECK_STATUS(ember_context_decode_batch(c, &b), EMBER_ERR_UNSUPPORTED);
    ember_context_free(c);
    ember_model_free(m);
}

RUN_TESTS(T(shorter_params_take_defaults_for_missing_fields), T(longer_params_are_rejected),
          T(sizes_inside_a_field_or_too_small_are_rejected), T(generate_params_and_result_sizes),
          T(output_structs_honour_struct_size), T(params_init_writes_only_struct_size_bytes), T(batch_struct_size))
