/* The C API doing its job: model information, tokens, decoding, logits, sequences, saved
 * state, samplers, log-probabilities, generation and logging, on stories260K. */
#include <math.h>

#include "capi_test.h"

static size_t argmax(const float* x, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

TEST(model_information) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_model_info info;
    info.struct_size = sizeof info;
    REQUIRE_OK(ember_model_get_info(m, &info));
    CHECK(info.n_vocab == 512 && info.n_embd == 64 && info.n_layer == 5 && info.n_head == 8 && info.n_head_kv == 4);
    CHECK(info.n_ff == 172 && info.head_dim == 8 && info.n_ctx_train == 2048);
    CHECK(info.n_tensors == 48 && info.n_metadata == 19);
    CHECK(info.file_size == 1185376 && info.weight_bytes > 1000000 && info.n_params == info.weight_bytes / 4);
    CHECK(info.bos == 1 && info.eos == 2 && info.unk == 0 && info.eot == -1 && info.pad == -1);
    CHECK(info.add_bos && !info.add_eos && info.mmapped);

    char buf[256];
    size_t size = 0;
    CHECK_OK(ember_model_architecture(m, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "llama") == 0 && size == 5);
    CHECK_OK(ember_model_description(m, buf, sizeof buf, &size));
    CHECK(strncmp(buf, "llama", 5) == 0 && size == strlen(buf));
    CHECK_OK(ember_model_meta_string(m, "tokenizer.ggml.model", buf, sizeof buf, &size));
    CHECK(strcmp(buf, "llama") == 0);
    CHECK_OK(ember_model_meta_string(m, "llama.block_count", buf, sizeof buf, &size));
    CHECK(strcmp(buf, "5") == 0);
    CHECK_OK(ember_model_meta_string(m, "tokenizer.ggml.tokens", buf, sizeof buf, &size));
    CHECK(strncmp(buf, "string[512] [", 13) == 0);
    int64_t iv = 0;
    CHECK_OK(ember_model_meta_int(m, "llama.attention.head_count_kv", &iv));
    CHECK(iv == 4);
    CHECK_OK(ember_model_meta_int(m, "tokenizer.ggml.padding_token_id", &iv));
    CHECK(iv == 4294967295LL);
    double dv = 0;
    CHECK_OK(ember_model_meta_float(m, "llama.attention.layer_norm_rms_epsilon", &dv));
    CHECK(fabs(dv - 1e-5) < 1e-9);
    CHECK_OK(ember_model_meta_float(m, "llama.embedding_length", &dv));
    CHECK(dv == 64.0);
    CHECK_OK(ember_model_meta_key(m, 0, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "tokenizer.ggml.tokens") == 0);
    CHECK_OK(ember_model_meta_key(m, 18, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "llama.attention.layer_norm_rms_epsilon") == 0);

    ember_tensor_info ti;
    ti.struct_size = sizeof ti;
    CHECK_OK(ember_model_tensor_info(m, 0, &ti));
    CHECK(ti.type == 0 && ti.n_dims == 2 && ti.ne[0] == 64 && ti.ne[1] == 512 && ti.ne[2] == 1 && ti.nbytes == 131072);
    CHECK_OK(ember_model_tensor_name(m, 0, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "token_embd.weight") == 0);
    CHECK_OK(ember_model_tensor_name(m, 47, buf, sizeof buf, &size));
    CHECK(strncmp(buf, "blk.4.", 6) == 0);
    ember_model_free(m);
}

static bool count_progress(float progress, void* user_data) {
    float* last = user_data;
    CHECK(progress >= 0.0f && progress <= 1.0f);
    last[0] = progress;
    last[1] += 1.0f;
    return true;
}

TEST(load_options) {
    ember_model_params p = ember_model_default_params();
    p.use_mmap = false;
    p.check_tensors = true;
    float progress[2] = {-1.0f, 0.0f};
    p.progress = count_progress;
    p.progress_user_data = progress;
    ember_model* m = NULL;
    REQUIRE_OK(ember_model_load(g_model_path, &p, &m));
    CHECK(progress[0] == 1.0f);
    CHECK(progress[1] >= 3.0f + 48.0f); /* the load's 3 reports and one per checked tensor */
    ember_model_info info;
    info.struct_size = sizeof info;
    CHECK_OK(ember_model_get_info(m, &info));
    CHECK(!info.mmapped);
    ember_model_free(m);
}

typedef struct log_record {
    int n_info;
    int n_total;
    char last[512];
} log_record;

static void record_log(int32_t level, const char* message, void* user_data) {
    log_record* r = user_data;
    ++r->n_total;
    if (level == EMBER_LOG_INFO) ++r->n_info;
    snprintf(r->last, sizeof r->last, "%s", message);
}

TEST(log_sink) {
    log_record rec;
    memset(&rec, 0, sizeof rec);
    ember_log_set(record_log, &rec);
    ember_model* m = load_test_model();
    ember_log_set(NULL, NULL);
    CHECK(rec.n_info >= 1);
    CHECK(strstr(rec.last, "stories260K") != NULL);
    const int seen = rec.n_total;
    ember_model_free(m);
    m = load_test_model(); /* nothing arrives once the sink is removed */
    CHECK(rec.n_total == seen);
    ember_model_free(m);
}

TEST(tokens) {
    ember_model* m = load_test_model();
    if (!m) return;
    const char* text = "Once upon a time, there was a cat.";
    ember_token ids[64];
    size_t n = 0;
    REQUIRE_OK(ember_model_tokenize(m, text, strlen(text), true, false, ids, 64, &n));
    CHECK(n > 5 && ids[0] == 1);
    char buf[256];
    size_t size = 0;
    /* Round trip: dropping BOS gives back the text. */
    CHECK_OK(ember_model_detokenize(m, ids + 1, n - 1, false, false, buf, sizeof buf, &size));
    CHECK(strcmp(buf, text) == 0 && size == strlen(text));
    /* After BOS the text keeps the space the tokenizer put in front of it. */
    CHECK_OK(ember_model_detokenize(m, ids, n, false, false, buf, sizeof buf, &size));
    CHECK(buf[0] == ' ' && strcmp(buf + 1, text) == 0);
    CHECK_OK(ember_model_detokenize(m, ids, n, false, true, buf, sizeof buf, &size));
    CHECK(buf[0] == ' ' && strcmp(buf + 1, text) == 0);
    CHECK_OK(ember_model_detokenize(m, ids, n, true, false, buf, sizeof buf, &size));
    CHECK(strncmp(buf, "<s>", 3) == 0);
    size_t n2 = 0;
    CHECK_OK(ember_model_tokenize(m, text, strlen(text), false, false, ids, 64, &n2));
    CHECK(n2 == n - 1);
    /* Not NUL-terminated input: only text_len bytes count. */
    CHECK_OK(ember_model_tokenize(m, "OnceXXXX", 4, false, false, ids, 64, &n2));
    CHECK_OK(ember_model_detokenize(m, ids, n2, false, false, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "Once") == 0);
    CHECK_OK(ember_model_tokenize(m, "", 0, false, false, NULL, 0, &n2));
    CHECK(n2 == 0);

    CHECK_OK(ember_model_token_text(m, 1, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "<s>") == 0);
    CHECK_OK(ember_model_token_piece(m, 1, false, buf, sizeof buf, &size));
    CHECK(size == 0);
    CHECK_OK(ember_model_token_piece(m, 1, true, buf, sizeof buf, &size));
    CHECK(strcmp(buf, "<s>") == 0);
    ember_token nl = -1;
    CHECK_OK(ember_model_token_find(m, "<0x0A>", &nl));
    CHECK_OK(ember_model_token_piece(m, nl, false, buf, sizeof buf, &size));
    CHECK(size == 1 && buf[0] == '\n');
    /* A byte token whose piece is a NUL byte: reported by size, not strlen. */
    CHECK_OK(ember_model_token_piece(m, 3, false, buf, sizeof buf, &size));
    CHECK(size == 1 && buf[0] == '\0');
    float score = 1;
    int32_t type = 0;
    bool eog = false;
    CHECK_OK(ember_model_token_attr(m, 2, &score, &type, &eog));
    CHECK(type == 3 && eog);
    CHECK_OK(ember_model_token_attr(m, 300, NULL, &type, &eog));
    CHECK(type == 1 && !eog);
    CHECK_OK(ember_model_token_attr(m, 100, NULL, &type, NULL));
    CHECK(type == 6); /* <0x61> */
    ember_token t = -1;
    CHECK_OK(ember_model_token_find(m, "</s>", &t));
    CHECK(t == 2);
    /* stories260K ends generation at </s> only. */
    ember_token eogs[8];
    size_t n_eog = 0;
    CHECK_OK(ember_model_eog_tokens(m, eogs, 8, &n_eog));
    CHECK(n_eog == 1 && eogs[0] == 2);
    CHECK(ember_model_eog_tokens(m, NULL, 0, &n_eog) == EMBER_ERR_BUFFER_TOO_SMALL && n_eog == 1);
    CHECK(ember_model_eog_tokens(m, eogs, 8, NULL) == EMBER_ERR_INVALID_ARGUMENT);
    ember_model_free(m);
}

static ember_context* make_context_kv(ember_model* m, int64_t n_ctx, int32_t n_seq, int32_t kv_type) {
    ember_context_params p = ember_context_default_params();
    p.n_ctx = n_ctx;
    p.type_k = p.type_v = kv_type;
    p.n_seq_max = n_seq;
    p.n_threads = 1; /* the machines that run this are small and busy */
    ember_context* c = NULL;
    if (ember_context_create(m, &p, &c) != EMBER_OK) {
        fprintf(stderr, "context: %s\n", ember_last_error());
        ++g_checks_failed;
    }
    return c;
}

static ember_context* make_context(ember_model* m, int64_t n_ctx, int32_t n_seq) {
    return make_context_kv(m, n_ctx, n_seq, EMBER_TYPE_F16);
}

TEST(decode_logits_and_prefix_reuse) {
    ember_model* m = load_test_model();
    /* An F32 cache: a prompt batch and single tokens take different kernels (a batched product and
       dot products), whose last-bit differences can flip an f16 rounding of a cached key. */
    ember_context* c = m ? make_context_kv(m, 128, 1, EMBER_TYPE_F32) : NULL;
    if (!c) return;
    ember_token ids[64];
    const size_t n = tokenize(m, "Once upon a time, there was a", ids, 64);
    REQUIRE_OK(ember_context_decode(c, ids, n, 0, true));
    const float* logits = NULL;
    size_t n_vocab = 0;
    REQUIRE_OK(ember_context_logits(c, -1, &logits, &n_vocab));
    CHECK(n_vocab == 512);
    float last[512];
    memcpy(last, logits, sizeof last);
    for (size_t i = 0; i < n_vocab; ++i) CHECK(isfinite(last[i]));
    const float* first = NULL;
    CHECK_OK(ember_context_logits(c, 0, &first, &n_vocab));
    CHECK(first != logits);
    int64_t n_past = 0;
    CHECK_OK(ember_context_n_past(c, 0, &n_past));
    CHECK(n_past == (int64_t)n);

    /* Token by token gives the same last logits (up to rounding). */
    CHECK_OK(ember_context_clear(c));
    CHECK_OK(ember_context_n_past(c, 0, &n_past));
    CHECK(n_past == 0);
    for (size_t i = 0; i < n; ++i) REQUIRE_OK(ember_context_decode(c, ids + i, 1, 0, false));
    CHECK_OK(ember_context_logits(c, -1, &logits, &n_vocab));
    for (size_t i = 0; i < n_vocab; ++i) CHECK(fabsf(logits[i] - last[i]) < 1e-4f);

    /* decode_prompt reuses the cached prefix. */
    int64_t evaluated = -1;
    CHECK_OK(ember_context_decode_prompt(c, ids, n, 0, &evaluated));
    CHECK(evaluated == 1); /* everything cached: only the last token is re-run for fresh logits */
    ember_token longer[64];
    memcpy(longer, ids, n * sizeof ids[0]);
    longer[n] = 300, longer[n + 1] = 301;
    CHECK_OK(ember_context_decode_prompt(c, longer, n + 2, 0, &evaluated));
    CHECK(evaluated == 2);
    longer[3] = 77; /* a difference at position 3: everything from there is evaluated again */
    CHECK_OK(ember_context_decode_prompt(c, longer, n + 2, 0, &evaluated));
    CHECK(evaluated == (int64_t)(n + 2 - 3));
    uint64_t total = 0;
    CHECK_OK(ember_context_n_evaluated(c, &total));
    CHECK(total == n + n + 1 + 2 + (n + 2 - 3));
    ember_context_free(c);
    ember_model_free(m);
}

TEST(sequences_and_batches) {
    ember_model* m = load_test_model();
    ember_context* c = m ? make_context(m, 128, 2) : NULL;
    if (!c) return;
    ember_token ids[64];
    const size_t n = tokenize(m, "The little dog ran to the park", ids, 64);
    REQUIRE_OK(ember_context_decode(c, ids, n, 0, false));
    int64_t p0 = 0, p1 = 0;
    CHECK_OK(ember_context_seq_cp(c, 0, 1, 0, -1));
    CHECK_OK(ember_context_n_past(c, 1, &p1));
    CHECK(p1 == (int64_t)n);
    CHECK_OK(ember_context_seq_rm(c, 1, 3, -1));
    CHECK_OK(ember_context_n_past(c, 1, &p1));
    CHECK_OK(ember_context_n_past(c, 0, &p0));
    CHECK(p1 == 3 && p0 == (int64_t)n);
    CHECK_OK(ember_context_shift(c, 0, 1, 2));
    CHECK_OK(ember_context_n_past(c, 0, &p0));
    CHECK(p0 == (int64_t)n - 2);
    CHECK_OK(ember_context_seq_rm(c, -1, 0, -1));
    CHECK_OK(ember_context_n_past(c, 0, &p0));
    CHECK_OK(ember_context_n_past(c, 1, &p1));
    CHECK(p0 == 0 && p1 == 0);

    /* One batch holding two sequences gives each the logits it gets alone. */
    ember_token other[64];
    const size_t n2 = tokenize(m, "A big red ball", other, 64);
    ember_token bt[128];
    int32_t pos[128];
    ember_seq seq[128];
    int8_t want[128];
    size_t k = 0;
    for (size_t i = 0; i < n; ++i, ++k) bt[k] = ids[i], pos[k] = (int32_t)i, seq[k] = 0, want[k] = i + 1 == n;
    for (size_t i = 0; i < n2; ++i, ++k) bt[k] = other[i], pos[k] = (int32_t)i, seq[k] = 1, want[k] = i + 1 == n2;
    ember_batch b;
    b.struct_size = sizeof b;
    b.n_tokens = k;
    b.tokens = bt;
    b.pos = pos;
    b.seq = seq;
    b.logits = want;
    REQUIRE_OK(ember_context_decode_batch(c, &b));
    const float* lg = NULL;
    size_t nv = 0;
    float both[2][512];
    REQUIRE_OK(ember_context_logits(c, (int64_t)n - 1, &lg, &nv));
    memcpy(both[0], lg, sizeof both[0]);
    REQUIRE_OK(ember_context_logits(c, (int64_t)k - 1, &lg, &nv));
    memcpy(both[1], lg, sizeof both[1]);

    ember_context* alone = make_context(m, 128, 1);
    REQUIRE_OK(ember_context_decode(alone, other, n2, 0, false));
    REQUIRE_OK(ember_context_logits(alone, -1, &lg, &nv));
    for (size_t i = 0; i < nv; ++i) CHECK(fabsf(lg[i] - both[1][i]) < 1e-4f);
    CHECK_OK(ember_context_clear(alone));
    REQUIRE_OK(ember_context_decode(alone, ids, n, 0, false));
    REQUIRE_OK(ember_context_logits(alone, -1, &lg, &nv));
    for (size_t i = 0; i < nv; ++i) CHECK(fabsf(lg[i] - both[0][i]) < 1e-4f);
    ember_context_free(alone);
    ember_context_free(c);
    ember_model_free(m);
}

/* Greedy continuation of what the context holds, n tokens, by hand. */
static void greedy_tokens(ember_context* c, ember_token* out, int n) {
    const float* lg = NULL;
    size_t nv = 0;
    for (int i = 0; i < n; ++i) {
        if (ember_context_logits(c, -1, &lg, &nv) != EMBER_OK) break;
        out[i] = (ember_token)argmax(lg, nv);
        if (ember_context_decode(c, &out[i], 1, 0, false) != EMBER_OK) break;
    }
}

TEST(state_round_trip) {
    ember_model* m = load_test_model();
    ember_context* c = m ? make_context(m, 128, 1) : NULL;
    if (!c) return;
    ember_token ids[64];
    const size_t n = tokenize(m, "Lily wanted to play with", ids, 64);
    REQUIRE_OK(ember_context_decode(c, ids, n, 0, false));
    size_t size = 0;
    CHECK_STATUS(ember_context_state_save(c, NULL, 0, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    unsigned char* state = malloc(size);
    REQUIRE_OK(ember_context_state_save(c, state, size, &size));
    char path[1024];
    tmp_path(path, sizeof path, "capi.state");
    REQUIRE_OK(ember_context_state_save_file(c, path));
    ember_token expect[16], got[16];
    greedy_tokens(c, expect, 16);

    ember_context* c2 = make_context(m, 128, 1);
    REQUIRE_OK(ember_context_state_load(c2, state, size));
    int64_t n_past = 0;
    CHECK_OK(ember_context_n_past(c2, 0, &n_past));
    CHECK(n_past == (int64_t)n);
    greedy_tokens(c2, got, 16);
    CHECK(memcmp(expect, got, sizeof got) == 0);

    ember_context* c3 = make_context(m, 128, 1);
    REQUIRE_OK(ember_context_state_load_file(c3, path));
    greedy_tokens(c3, got, 16);
    CHECK(memcmp(expect, got, sizeof got) == 0);
    free(state);
    ember_context_free(c3);
    ember_context_free(c2);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(memory_figures) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 256;
    ember_context *f16 = NULL, *f32 = NULL, *win = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &f16));
    p.type_k = p.type_v = EMBER_TYPE_F32;
    REQUIRE_OK(ember_context_create(m, &p, &f32));
    p = ember_context_default_params();
    p.window = 32;
    p.n_ctx = 64;
    REQUIRE_OK(ember_context_create(m, &p, &win));
    ember_memory_usage a, b, w;
    a.struct_size = b.struct_size = w.struct_size = sizeof a;
    ember_token ids[2] = {1, 300};
    CHECK_OK(ember_context_decode(f16, ids, 2, 0, false)); /* scratch grows with the first decode */
    CHECK_OK(ember_context_memory(f16, &a));
    CHECK_OK(ember_context_memory(f32, &b));
    CHECK_OK(ember_context_memory(win, &w));
    ember_model_info info;
    info.struct_size = sizeof info;
    CHECK_OK(ember_model_get_info(m, &info));
    CHECK(a.weights == info.weight_bytes);
    /* 5 layers x 256 slots x 32 values (4 KV heads x 8) x K and V, 2 bytes each */
    CHECK(a.kv_cache == 5u * 256 * 32 * 2 * 2);
    CHECK(b.kv_cache == 2 * a.kv_cache);
    CHECK(w.kv_cache == 5u * (31 + 64) * 32 * 2 * 2); /* W - 1 slots plus a batch */
    CHECK(a.scratch > 0);
    ember_context_free(win);
    ember_context_free(f32);
    ember_context_free(f16);
    ember_model_free(m);
}

TEST(samplers) {
    float logits[6] = {1.0f, 3.0f, 2.5f, -1.0f, 3.0f, 0.0f};
    ember_sampler* s = NULL;
    ember_token t = -1;
    /* greedy: the highest logit, ties to the lower id */
    ember_sampler_params p = ember_sampler_default_params();
    p.temp = 0.0f;
    REQUIRE_OK(ember_sampler_create(&p, NULL, &s));
    CHECK_OK(ember_sampler_sample_logits(s, logits, 6, &t));
    CHECK(t == 1);
    ember_sampler_free(s);

    /* a hand-built chain: logit bias bans 1 and 4, top-k 1 keeps the best of the rest */
    REQUIRE_OK(ember_sampler_chain_create(99, &s));
    ember_token_bias ban[2] = {{1, -INFINITY}, {4, -INFINITY}};
    CHECK_OK(ember_sampler_add_logit_bias(s, ban, 2));
    CHECK_OK(ember_sampler_add_penalties(s, 64, 1.1f, 0.0f, 0.0f));
    CHECK_OK(ember_sampler_add_top_k(s, 1));
    CHECK_OK(ember_sampler_add_typical_p(s, 1.0f, 1));
    CHECK_OK(ember_sampler_add_top_p(s, 0.9f, 1));
    CHECK_OK(ember_sampler_add_min_p(s, 0.05f, 1));
    CHECK_OK(ember_sampler_add_temperature(s, 0.7f));
    CHECK_OK(ember_sampler_sample_logits(s, logits, 6, &t));
    CHECK(t == 2);
    CHECK_OK(ember_sampler_accept(s, t));
    uint64_t seed = 0;
    CHECK_OK(ember_sampler_get_seed(s, &seed));
    CHECK(seed == 99);
    char buf[256];
    size_t size = 0;
    CHECK_OK(ember_sampler_describe(s, buf, sizeof buf, &size));
    CHECK(strstr(buf, "top-k 1") != NULL);
    ember_sampler_free(s);

    /* a seed reproduces its draws; reset restarts them */
    p = ember_sampler_default_params();
    p.seed = 5;
    p.temp = 1.5f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    ember_sampler* s2 = NULL;
    REQUIRE_OK(ember_sampler_create(&p, NULL, &s));
    REQUIRE_OK(ember_sampler_create(&p, NULL, &s2));
    ember_token a[32], b[32];
    int distinct = 0;
    for (int i = 0; i < 32; ++i) {
        CHECK_OK(ember_sampler_sample_logits(s, logits, 6, &a[i]));
        CHECK_OK(ember_sampler_sample_logits(s2, logits, 6, &b[i]));
        distinct |= 1 << a[i];
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(distinct != (1 << a[0])); /* it is really random */
    CHECK_OK(ember_sampler_reset(s));
    for (int i = 0; i < 32; ++i) {
        CHECK_OK(ember_sampler_sample_logits(s, logits, 6, &t));
        CHECK(t == a[i]);
    }
    ember_sampler_free(s2);
    ember_sampler_free(s);

    /* mirostat chains select by themselves */
    REQUIRE_OK(ember_sampler_chain_create(3, &s));
    CHECK_OK(ember_sampler_add_mirostat_v2(s, 5.0f, 0.1f));
    CHECK_OK(ember_sampler_sample_logits(s, logits, 6, &t));
    CHECK(t >= 0 && t < 6);
    ember_sampler_free(s);
    REQUIRE_OK(ember_sampler_chain_create(3, &s));
    CHECK_OK(ember_sampler_add_mirostat(s, 5.0f, 0.1f, 100));
    CHECK_OK(ember_sampler_sample_logits(s, logits, 6, &t));
    ember_sampler_free(s);

    /* a random seed is picked and reported */
    p = ember_sampler_default_params();
    REQUIRE_OK(ember_sampler_create(&p, NULL, &s));
    CHECK_OK(ember_sampler_get_seed(s, &seed));
    CHECK(seed != EMBER_SEED_RANDOM);
    ember_sampler_free(s);
}

TEST(log_probabilities) {
    float logits[5] = {0.0f, 1.0f, 2.0f, 3.0f, -2.0f};
    ember_sampler_params p = ember_sampler_default_params();
    p.temp = 0.0f;
    p.n_logprobs = 3;
    ember_sampler* s = NULL;
    REQUIRE_OK(ember_sampler_create(&p, NULL, &s));
    ember_token t = -1, tok = -1;
    REQUIRE_OK(ember_sampler_sample_logits(s, logits, 5, &t));
    CHECK(t == 3);
    float lp = 0, entropy = 0;
    ember_token_logprob top[3];
    size_t n_top = 0;
    REQUIRE_OK(ember_sampler_last_logprob(s, &tok, &lp, &entropy, top, 3, &n_top));
    double z = 0;
    for (int i = 0; i < 5; ++i) z += exp(logits[i]);
    CHECK(tok == 3);
    CHECK(fabs(lp - (3.0 - log(z))) < 1e-5);
    CHECK(entropy > 0.5f && entropy < 1.6f);
    CHECK(n_top == 3);
    CHECK(top[0].token == 3 && top[1].token == 2 && top[2].token == 1);
    CHECK(fabs(top[1].logprob - (2.0 - log(z))) < 1e-5);
    CHECK_OK(ember_sampler_set_logprobs(s, false, 0, false));
    CHECK_STATUS(ember_sampler_last_logprob(s, &tok, &lp, NULL, NULL, 0, &n_top), EMBER_ERR_INVALID_ARGUMENT);
    ember_sampler_free(s);
}

typedef struct collected {
    char text[4096];
    size_t len;
    ember_token tokens[256];
    int n_tokens;
    int n_calls;
    int n_logprobs;
    int bad_events;
} collected;

static bool collect(const ember_token_event* ev, void* user_data) {
    collected* c = user_data;
    ++c->n_calls;
    if (ev->struct_size < sizeof *ev || ev->text == NULL || ev->text[ev->text_len] != '\0') ++c->bad_events;
    if (ev->token >= 0) {
        if (ev->index != c->n_tokens) ++c->bad_events;
        c->tokens[c->n_tokens++] = ev->token;
    }
    if (ev->has_logprob) {
        ++c->n_logprobs;
        if (ev->logprob > 0.0f || ev->n_top != 2 || ev->top[0].token != ev->token) ++c->bad_events;
    }
    if (c->len + ev->text_len < sizeof c->text) {
        memcpy(c->text + c->len, ev->text, ev->text_len);
        c->len += ev->text_len;
        c->text[c->len] = '\0';
    }
    return true;
}

TEST(generation) {
    ember_model* m = load_test_model();
    ember_context* c = m ? make_context(m, 256, 1) : NULL;
    if (!c) return;
    ember_token prompt[64];
    const size_t n = tokenize(m, "Once upon a time", prompt, 64);

    /* Greedy generation equals a hand-written decode/argmax loop. */
    collected got;
    memset(&got, 0, sizeof got);
    ember_generate_params g = ember_generate_default_params();
    g.max_tokens = 40;
    ember_generate_result r;
    r.struct_size = sizeof r;
    REQUIRE_OK(ember_context_generate(c, NULL, prompt, n, &g, collect, &got, &r));
    CHECK(r.n_tokens == 40 && r.stop_reason == EMBER_STOP_MAX_TOKENS && r.n_prompt_evaluated == (int64_t)n);
    CHECK(got.n_tokens == 40 && got.bad_events == 0 && got.n_logprobs == 0);
    ember_context* c2 = make_context(m, 256, 1);
    REQUIRE_OK(ember_context_decode(c2, prompt, n, 0, false));
    ember_token expect[40];
    greedy_tokens(c2, expect, 40);
    CHECK(memcmp(expect, got.tokens, sizeof expect) == 0);
    char text[4096];
    size_t size = 0;
    CHECK_OK(ember_model_detokenize(m, got.tokens, 40, false, false, text, sizeof text, &size));
    /* the stream continues the prompt, so it keeps the first token's leading space */
    CHECK(got.len == size + 1 || got.len == size);
    CHECK(strstr(got.text, text + (text[0] == ' ')) != NULL);

    /* A second call with the same prompt reuses the whole cached prefix. */
    memset(&got, 0, sizeof got);
    g.max_tokens = 5;
    REQUIRE_OK(ember_context_generate(c, NULL, prompt, n, &g, collect, &got, &r));
    CHECK(r.n_prompt_evaluated == 1);
    CHECK(memcmp(expect, got.tokens, 5 * sizeof expect[0]) == 0);

    /* With a sampler that records log-probabilities, events carry them. */
    ember_sampler_params sp = ember_sampler_default_params();
    sp.temp = 0.0f;
    sp.n_logprobs = 2;
    ember_sampler* s = NULL;
    REQUIRE_OK(ember_sampler_create(&sp, m, &s));
    memset(&got, 0, sizeof got);
    g.max_tokens = 10;
    CHECK_OK(ember_context_clear(c));
    REQUIRE_OK(ember_context_generate(c, s, prompt, n, &g, collect, &got, &r));
    CHECK(got.n_logprobs == 10 && got.bad_events == 0);
    CHECK(memcmp(expect, got.tokens, 10 * sizeof expect[0]) == 0);
    ember_sampler_free(s);

    /* A banned-everything-but-EOS bias ends generation at once. */
    ember_token_bias eos = {2, 1000.0f};
    sp = ember_sampler_default_params();
    sp.temp = 0.0f;
    sp.logit_bias = &eos;
    sp.n_logit_bias = 1;
    REQUIRE_OK(ember_sampler_create(&sp, m, &s));
    memset(&got, 0, sizeof got);
    REQUIRE_OK(ember_context_generate(c, s, prompt, n, &g, collect, &got, &r));
    CHECK(r.stop_reason == EMBER_STOP_END_OF_GENERATION && r.n_tokens == 0 && got.n_calls == 0);
    ember_sampler_free(s);
    ember_context_free(c2);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(context_seed_drives_generation_without_a_sampler) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 256;
    p.n_threads = 1;
    p.seed = 1234;
    ember_context *a = NULL, *b = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &a));
    REQUIRE_OK(ember_context_create(m, &p, &b));
    ember_token prompt[64];
    const size_t n = tokenize(m, "Once upon a time", prompt, 64);
    ember_generate_params g = ember_generate_default_params();
    g.max_tokens = 48;
    g.temperature = 1.0f;
    collected ga, gb, greedy;
    memset(&ga, 0, sizeof ga);
    memset(&gb, 0, sizeof gb);
    memset(&greedy, 0, sizeof greedy);
    CHECK_OK(ember_context_generate(a, NULL, prompt, n, &g, collect, &ga, NULL));
    CHECK_OK(ember_context_generate(b, NULL, prompt, n, &g, collect, &gb, NULL));
    CHECK(ga.n_tokens == gb.n_tokens && memcmp(ga.tokens, gb.tokens, (size_t)ga.n_tokens * sizeof(ember_token)) == 0);
    g.temperature = 0.0f;
    CHECK_OK(ember_context_clear(b));
    CHECK_OK(ember_context_generate(b, NULL, prompt, n, &g, collect, &greedy, NULL));
    CHECK(memcmp(ga.tokens, greedy.tokens, 48 * sizeof(ember_token)) != 0); /* temperature 1 samples */
    ember_context_params got;
    got.struct_size = sizeof got;
    CHECK_OK(ember_context_get_params(a, &got));
    CHECK(got.seed == 1234);
    ember_context_free(b);
    ember_context_free(a);
    ember_model_free(m);
}

TEST(windowed_context_generates_past_its_cache) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.window = 16;
    p.n_ctx = 32;
    p.n_threads = 1;
    ember_context* c = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &c));
    ember_token prompt[64];
    const size_t n = tokenize(m, "Once upon a time", prompt, 64);
    ember_generate_params g = ember_generate_default_params();
    g.max_tokens = 200;
    g.stop_at_eog = false;
    ember_generate_result r;
    r.struct_size = sizeof r;
    CHECK_OK(ember_context_generate(c, NULL, prompt, n, &g, NULL, NULL, &r));
    CHECK(r.n_tokens == 200 && r.stop_reason == EMBER_STOP_MAX_TOKENS);
    int64_t slots = 0;
    CHECK_OK(ember_context_n_ctx(c, &slots));
    CHECK(slots == 15 + 32);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(model_outlives_its_handle) {
    ember_model* m = load_test_model();
    ember_context* c = m ? make_context(m, 64, 1) : NULL;
    if (!c) return;
    ember_model_free(m); /* the context keeps the weights alive */
    ember_token ids[3] = {1, 100, 200};
    CHECK_OK(ember_context_decode(c, ids, 3, 0, false));
    const float* lg = NULL;
    size_t nv = 0;
    CHECK_OK(ember_context_logits(c, -1, &lg, &nv));
    CHECK(nv == 512 && isfinite(lg[0]));
    ember_context_free(c);
}

static bool count_calls(float progress, void* user_data) {
    float* state = user_data; /* {calls, last fraction, cancel after n (0: never)} */
    state[0] += 1.0f;
    state[1] = progress;
    return state[2] == 0.0f || state[0] < state[2];
}

TEST(quantize_a_model_file) {
    char out[1024];
    tmp_path(out, sizeof out, "stories-f16.gguf");
    remove(out);
    ember_quantize_params q = ember_quantize_default_params();
    q.preset = "F16"; /* stories260K's rows of 172 do not fit Q8_0's blocks of 32 */
    float state[3] = {0, 0, 0};
    q.progress = count_calls;
    q.progress_user_data = state;
    ember_quantize_result r;
    r.struct_size = sizeof r;
    const ember_status s = ember_quantize_file(g_model_path, out, &q, &r);
    if (s == EMBER_ERR_UNSUPPORTED && strstr(ember_last_error(), "no file quantizer")) {
        printf("quantize_a_model_file: this build has no file quantizer (checked: it says so)\n");
        return;
    }
    REQUIRE_OK(s);
    CHECK(r.n_tensors == 48 && r.n_quantized > 0 && r.bytes_out < r.bytes_in);
    CHECK(state[0] == 48.0f && state[1] == 1.0f);
    ember_model* m = NULL;
    REQUIRE_OK(ember_model_load(out, NULL, &m));
    int n_f16 = 0, found = 0;
    for (uint64_t i = 0; i < 48; ++i) {
        ember_tensor_info ti;
        ti.struct_size = sizeof ti;
        char name[128];
        size_t len = 0;
        CHECK_OK(ember_model_tensor_info(m, i, &ti));
        CHECK_OK(ember_model_tensor_name(m, i, name, sizeof name, &len));
        n_f16 += ti.type == 1;
        if (strcmp(name, "blk.0.attn_q.weight") == 0) {
            found = 1;
            CHECK(ti.type == 1);
        }
    }
    CHECK(found && n_f16 == (int)r.n_quantized);
    ember_context* c = make_context(m, 64, 1);
    ember_token ids[3] = {1, 403, 407};
    CHECK_OK(ember_context_decode(c, ids, 3, 0, false));
    ember_context_free(c);
    ember_model_free(m);

    /* Cancelled from the progress callback: no output file is left behind. */
    char out2[1024];
    tmp_path(out2, sizeof out2, "stories-cancelled.gguf");
    remove(out2);
    state[0] = 0, state[2] = 5;
    CHECK_STATUS(ember_quantize_file(g_model_path, out2, &q, NULL), EMBER_ERR_CANCELLED);
    CHECK(state[0] == 5.0f);
    FILE* f = fopen(out2, "rb");
    CHECK(f == NULL);
    if (f) fclose(f);
    q.preset = "Q9_X";
    CHECK_STATUS(ember_quantize_file(g_model_path, out2, &q, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("Q9_X");
    q.preset = "Q8_0";
    q.progress = NULL;
    CHECK_STATUS(ember_quantize_file(g_model_path, out2, &q, NULL), EMBER_ERR_UNSUPPORTED);
    CHECK_MESSAGE("ffn_down"); /* the tensor whose rows do not fit */
}

RUN_TESTS(T(model_information), T(load_options), T(log_sink), T(tokens), T(decode_logits_and_prefix_reuse),
          T(sequences_and_batches), T(state_round_trip), T(memory_figures), T(samplers), T(log_probabilities), T(generation),
          T(context_seed_drives_generation_without_a_sampler), T(windowed_context_generates_past_its_cache),
          T(model_outlives_its_handle), T(quantize_a_model_file))
