/* Error paths of every C API function: NULL handles and pointers, values out of range, missing
 * and corrupt files, undersized buffers. Each must return its documented status with a
 * message, and nothing may crash. */
#include <math.h>

#include "capi_test.h"

static void write_file(const char* path, const void* data, size_t n) {
    FILE* f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static unsigned char* read_file(const char* path, size_t* n) {
    FILE* f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char* data = malloc(*n);
    if (data && fread(data, 1, *n, f) != *n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* A tiny GGUF v3 file by hand: no tensors, one string key. */
static size_t make_gguf(unsigned char* out, const char* key, const char* value) {
    size_t n = 0;
    const uint32_t version = 3, type_string = 8;
    const uint64_t n_tensors = 0, n_kv = 1, klen = strlen(key), vlen = strlen(value);
    memcpy(out + n, "GGUF", 4), n += 4;
    memcpy(out + n, &version, 4), n += 4;
    memcpy(out + n, &n_tensors, 8), n += 8;
    memcpy(out + n, &n_kv, 8), n += 8;
    memcpy(out + n, &klen, 8), n += 8;
    memcpy(out + n, key, klen), n += klen;
    memcpy(out + n, &type_string, 4), n += 4;
    memcpy(out + n, &vlen, 8), n += 8;
    memcpy(out + n, value, vlen), n += vlen;
    return n;
}

TEST(library_functions_never_fail) {
    CHECK(strcmp(ember_version(), EMBER_VERSION_STRING) == 0);
    CHECK(ember_abi_version() == EMBER_ABI_VERSION);
    CHECK(strcmp(ember_status_string(EMBER_ERR_CANCELLED), "cancelled") == 0);
    CHECK(strcmp(ember_status_string(12345), "unknown status") == 0);
    CHECK(ember_last_error() != NULL);
    ember_log_set(NULL, NULL);
    /* free functions accept NULL */
    ember_model_free(NULL);
    ember_context_free(NULL);
    ember_sampler_free(NULL);
}

TEST(load_missing_file) {
    ember_model* m = (ember_model*)0x1;
    CHECK_STATUS(ember_model_load("/nonexistent/dir/model.gguf", NULL, &m), EMBER_ERR_FILE_NOT_FOUND);
    CHECK_MESSAGE("/nonexistent/dir/model.gguf");
    CHECK(m == (ember_model*)0x1); /* out-parameters untouched on failure */
    /* A folder is not a model file. */
    const ember_status s = ember_model_load(g_tmp_dir, NULL, &m);
    CHECK(s == EMBER_ERR_FILE_NOT_FOUND || s == EMBER_ERR_IO || s == EMBER_ERR_BAD_FILE);
    CHECK(ember_last_error()[0] != '\0');
    CHECK(m == (ember_model*)0x1);
}

TEST(load_null_arguments) {
    ember_model* m = NULL;
    CHECK_STATUS(ember_model_load(NULL, NULL, &m), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("path");
    CHECK_STATUS(ember_model_load(g_model_path, NULL, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("model");
    CHECK(m == NULL);
}

TEST(load_corrupt_files) {
    char path[1024];
    size_t n = 0;
    unsigned char* data = read_file(g_model_path, &n);
    CHECK(data != NULL && n > 1000);
    if (!data) return;
    ember_model* m = NULL;
    /* Truncated copies: in the metadata, in the tensor infos, in the tensor data. */
    const size_t cuts[] = {3, 100, 5000, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; ++i) {
        tmp_path(path, sizeof path, "truncated.gguf");
        write_file(path, data, cuts[i]);
        CHECK_STATUS(ember_model_load(path, NULL, &m), EMBER_ERR_BAD_FILE);
        CHECK_MESSAGE("truncated.gguf");
        CHECK(m == NULL);
    }
    /* Not a GGUF file at all. */
    tmp_path(path, sizeof path, "garbage.gguf");
    write_file(path, "this is not a model, just some text of sufficient length", 56);
    CHECK_STATUS(ember_model_load(path, NULL, &m), EMBER_ERR_BAD_FILE);
    /* A flipped tensor count makes the header claim far more than the file holds. */
    unsigned char* bad = malloc(n);
    memcpy(bad, data, n);
    bad[8] = 0xff, bad[15] = 0x7f;
    tmp_path(path, sizeof path, "badcount.gguf");
    write_file(path, bad, n);
    CHECK_STATUS(ember_model_load(path, NULL, &m), EMBER_ERR_BAD_FILE);
    free(bad);
    /* A well-formed GGUF of an architecture ember does not implement. */
    unsigned char small[256];
    tmp_path(path, sizeof path, "unknown_arch.gguf");
    write_file(path, small, make_gguf(small, "general.architecture", "gpt-nine"));
    CHECK_STATUS(ember_model_load(path, NULL, &m), EMBER_ERR_UNSUPPORTED);
    CHECK_MESSAGE("gpt-nine");
    /* A well-formed GGUF without an architecture. */
    tmp_path(path, sizeof path, "no_arch.gguf");
    write_file(path, small, make_gguf(small, "general.name", "nothing"));
    CHECK_STATUS(ember_model_load(path, NULL, &m), EMBER_ERR_BAD_FILE);
    CHECK_MESSAGE("general.architecture");
    free(data);
}

static bool cancel_at_start(float progress, void* user_data) {
    (void)progress;
    ++*(int*)user_data;
    return false;
}

TEST(load_cancelled_by_progress) {
    ember_model_params p = ember_model_default_params();
    int calls = 0;
    p.progress = cancel_at_start;
    p.progress_user_data = &calls;
    ember_model* m = NULL;
    CHECK_STATUS(ember_model_load(g_model_path, &p, &m), EMBER_ERR_CANCELLED);
    CHECK(calls == 1);
    CHECK(m == NULL);
}

TEST(model_queries_reject_null_and_out_of_range) {
    ember_model* m = load_test_model();
    if (!m) return;
    char buf[8];
    size_t size = 0;
    int64_t iv = 0;
    double dv = 0;
    ember_model_info info;
    info.struct_size = sizeof info;
    CHECK_STATUS(ember_model_get_info(NULL, &info), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("model is NULL");
    CHECK_STATUS(ember_model_get_info(m, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_architecture(NULL, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_architecture(m, buf, sizeof buf, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_architecture(m, NULL, 4, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_description(NULL, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);

    CHECK_STATUS(ember_model_meta_string(m, NULL, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_string(m, "no.such.key", buf, sizeof buf, &size), EMBER_ERR_NOT_FOUND);
    CHECK_MESSAGE("no.such.key");
    CHECK_STATUS(ember_model_meta_string(NULL, "general.name", buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_int(m, "general.architecture", &iv), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("not an integer");
    CHECK_STATUS(ember_model_meta_int(m, "no.such.key", &iv), EMBER_ERR_NOT_FOUND);
    CHECK_STATUS(ember_model_meta_int(m, "llama.block_count", NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_int(NULL, "llama.block_count", &iv), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_float(m, "general.name", &dv), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_float(m, "no.such.key", &dv), EMBER_ERR_NOT_FOUND);
    CHECK_STATUS(ember_model_meta_float(m, "llama.block_count", NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_float(NULL, "llama.block_count", &dv), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_meta_key(m, 1000000, buf, sizeof buf, &size), EMBER_ERR_NOT_FOUND);
    CHECK_STATUS(ember_model_meta_key(NULL, 0, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);

    ember_tensor_info ti;
    ti.struct_size = sizeof ti;
    CHECK_STATUS(ember_model_tensor_info(m, 48, &ti), EMBER_ERR_NOT_FOUND);
    CHECK_MESSAGE("48");
    CHECK_STATUS(ember_model_tensor_info(m, 0, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_tensor_info(NULL, 0, &ti), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_tensor_name(m, (uint64_t)-1, buf, sizeof buf, &size), EMBER_ERR_NOT_FOUND);
    CHECK_STATUS(ember_model_tensor_name(NULL, 0, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    ember_model_free(m);
}

TEST(undersized_buffers_report_the_size) {
    ember_model* m = load_test_model();
    if (!m) return;
    char buf[64];
    size_t size = 0;
    /* "llama" needs 6 bytes with its NUL. */
    CHECK_STATUS(ember_model_architecture(m, buf, 5, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size == 5);
    CHECK_MESSAGE("do not fit");
    CHECK_STATUS(ember_model_architecture(m, NULL, 0, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size == 5);
    memset(buf, 'x', sizeof buf);
    CHECK_OK(ember_model_architecture(m, buf, 6, &size));
    CHECK(strcmp(buf, "llama") == 0);

    ember_token tokens[64];
    size_t n = 0;
    const char* text = "Once upon a time there was a little girl";
    CHECK_OK(ember_model_tokenize(m, text, strlen(text), true, false, tokens, 64, &n));
    const size_t full = n;
    CHECK(full > 4);
    tokens[2] = -77;
    CHECK_STATUS(ember_model_tokenize(m, text, strlen(text), true, false, tokens, 2, &n), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(n == full);
    CHECK(tokens[2] == -77); /* nothing written past the capacity */
    CHECK_STATUS(ember_model_tokenize(m, text, strlen(text), true, false, NULL, 0, &n), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(n == full);

    CHECK_OK(ember_model_tokenize(m, text, strlen(text), true, false, tokens, 64, &n));
    CHECK_STATUS(ember_model_detokenize(m, tokens, n, false, false, buf, 10, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size == strlen(text) + 1); /* after BOS the text keeps its leading space */
    CHECK_STATUS(ember_model_token_piece(m, tokens[1], false, buf, 1, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ember_model_token_text(m, tokens[1], buf, 1, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ember_model_meta_string(m, "general.architecture", buf, 3, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size == 5);
    CHECK_STATUS(ember_model_meta_key(m, 0, buf, 1, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ember_model_tensor_name(m, 0, buf, 1, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size == strlen("token_embd.weight"));
    CHECK_STATUS(ember_model_description(m, buf, 1, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size > 0);
    ember_model_free(m);
}

TEST(token_functions_reject_bad_ids_and_pointers) {
    ember_model* m = load_test_model();
    if (!m) return;
    char buf[64];
    size_t size = 0, n = 0;
    ember_token t = 0, bad[2] = {5, 512};
    float score;
    CHECK_STATUS(ember_model_tokenize(NULL, "a", 1, true, false, &t, 1, &n), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_tokenize(m, NULL, 3, true, false, &t, 1, &n), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("text is NULL");
    CHECK_STATUS(ember_model_tokenize(m, "a", 1, true, false, &t, 1, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_tokenize(m, "a", 1, true, false, NULL, 5, &n), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_detokenize(m, bad, 2, false, false, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("512");
    CHECK_STATUS(ember_model_detokenize(m, NULL, 2, false, false, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_detokenize(NULL, bad, 1, false, false, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_piece(m, -1, false, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_piece(m, 512, false, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_piece(NULL, 5, false, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_text(m, 1 << 30, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_text(NULL, 5, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_attr(m, -5, &score, NULL, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_attr(NULL, 5, &score, NULL, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_find(m, "no-such-entry-in-the-vocab", &t), EMBER_ERR_NOT_FOUND);
    CHECK_STATUS(ember_model_token_find(m, NULL, &t), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_find(m, "<s>", NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_model_token_find(NULL, "<s>", &t), EMBER_ERR_INVALID_ARGUMENT);
    ember_model_free(m);
}

TEST(params_init_rejects_null) {
    CHECK_STATUS(ember_model_params_init(NULL, sizeof(ember_model_params)), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_params_init(NULL, sizeof(ember_context_params)), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_params_init(NULL, sizeof(ember_sampler_params)), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_generate_params_init(NULL, sizeof(ember_generate_params)), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_quantize_params_init(NULL, sizeof(ember_quantize_params)), EMBER_ERR_INVALID_ARGUMENT);
}

TEST(context_create_rejects_bad_params) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context* c = NULL;
    ember_context_params p = ember_context_default_params();
    CHECK_STATUS(ember_context_create(NULL, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_create(m, &p, NULL), EMBER_ERR_INVALID_ARGUMENT);
    p.type_k = 2; /* Q4_0 */
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_UNSUPPORTED);
    CHECK_MESSAGE("type_k");
    p = ember_context_default_params();
    p.n_ctx = -1;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("n_ctx");
    p = ember_context_default_params();
    p.n_seq_max = 0;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("n_seq_max");
    p = ember_context_default_params();
    p.n_threads = -3;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    p = ember_context_default_params();
    p.n_ctx = (int64_t)1 << 40;
    CHECK_STATUS(ember_context_create(m, &p, &c), EMBER_ERR_INVALID_ARGUMENT);
    CHECK(c == NULL);
    ember_model_free(m);
}

TEST(context_functions_reject_null_and_bad_values) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 64;
    p.n_seq_max = 2;
    ember_context* c = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &c));
    int64_t i64 = 0;
    uint64_t u64 = 0;
    const float* logits = NULL;
    size_t n_vocab = 0;
    ember_token tokens[8] = {1, 400, 20, 30, 40, 50, 60, 70};

    CHECK_STATUS(ember_context_get_params(NULL, &p), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_get_params(c, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_n_ctx(NULL, &i64), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_n_ctx(c, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_n_past(c, 2, &i64), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("sequence 2");
    CHECK_STATUS(ember_context_n_past(c, -1, &i64), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_n_past(NULL, 0, &i64), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_n_evaluated(NULL, &u64), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_n_evaluated(c, NULL), EMBER_ERR_INVALID_ARGUMENT);
    ember_memory_usage mu;
    mu.struct_size = sizeof mu;
    CHECK_STATUS(ember_context_memory(NULL, &mu), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_memory(c, NULL), EMBER_ERR_INVALID_ARGUMENT);

    /* Logits before anything was decoded. */
    CHECK_STATUS(ember_context_logits(c, -1, &logits, &n_vocab), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("nothing has been decoded");

    CHECK_STATUS(ember_context_decode(NULL, tokens, 2, 0, false), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode(c, NULL, 2, 0, false), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode(c, tokens, 0, 0, false), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode(c, tokens, 2, 5, false), EMBER_ERR_INVALID_ARGUMENT);
    tokens[1] = 9999;
    CHECK_STATUS(ember_context_decode(c, tokens, 2, 0, false), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("9999");
    tokens[1] = 400;
    CHECK_OK(ember_context_n_past(c, 0, &i64));
    CHECK(i64 == 0); /* failed decodes leave no trace */

    REQUIRE_OK(ember_context_decode(c, tokens, 3, 0, false));
    CHECK_STATUS(ember_context_logits(c, 0, &logits, &n_vocab), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("did not ask for logits");
    CHECK_STATUS(ember_context_logits(c, 3, &logits, &n_vocab), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_logits(c, -1, NULL, &n_vocab), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_logits(c, -1, &logits, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_logits(NULL, -1, &logits, &n_vocab), EMBER_ERR_INVALID_ARGUMENT);

    ember_batch b;
    int32_t pos[2] = {3, 4};
    b.struct_size = sizeof b;
    b.n_tokens = 2;
    b.tokens = tokens;
    b.pos = NULL;
    b.seq = NULL;
    b.logits = NULL;
    CHECK_STATUS(ember_context_decode_batch(c, &b), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("pos is NULL");
    b.pos = pos;
    b.tokens = NULL;
    CHECK_STATUS(ember_context_decode_batch(c, &b), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode_batch(c, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode_batch(NULL, &b), EMBER_ERR_INVALID_ARGUMENT);
    b.tokens = tokens;
    pos[0] = -4;
    CHECK_STATUS(ember_context_decode_batch(c, &b), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("negative");

    CHECK_STATUS(ember_context_decode_prompt(c, tokens, 3, 7, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode_prompt(c, NULL, 3, 0, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode_prompt(c, tokens, 0, 0, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_decode_prompt(NULL, tokens, 3, 0, NULL), EMBER_ERR_INVALID_ARGUMENT);

    CHECK_STATUS(ember_context_seq_rm(c, 2, 0, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_seq_rm(c, 0, -3, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_seq_rm(NULL, 0, 0, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_seq_cp(c, 0, 2, 0, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_seq_cp(c, -1, 1, 0, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_seq_cp(NULL, 0, 1, 0, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_shift(c, 0, 1, 10), EMBER_ERR_INVALID_ARGUMENT); /* only 3 cached */
    CHECK_MESSAGE("do not fit");
    CHECK_STATUS(ember_context_shift(c, 0, 0, 0), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_shift(c, 3, 0, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_shift(NULL, 0, 0, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_clear(NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_abort(NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_OK(ember_context_n_past(c, 0, &i64));
    CHECK(i64 == 3);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(full_context_without_shift) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 16;
    ember_context* c = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &c));
    ember_token tokens[20];
    for (int i = 0; i < 20; ++i) tokens[i] = 10 + i;
    CHECK_STATUS(ember_context_decode(c, tokens, 20, 0, false), EMBER_ERR_CONTEXT_FULL);
    CHECK_MESSAGE("full");
    REQUIRE_OK(ember_context_decode(c, tokens, 12, 0, false));
    CHECK_STATUS(ember_context_decode(c, tokens, 5, 0, false), EMBER_ERR_CONTEXT_FULL);
    int64_t n_past = 0;
    CHECK_OK(ember_context_n_past(c, 0, &n_past));
    CHECK(n_past == 12);

    /* Generation stops by itself (status OK) when the cache fills up. */
    ember_generate_params g = ember_generate_default_params();
    g.max_tokens = 100;
    ember_generate_result r;
    r.struct_size = sizeof r;
    CHECK_OK(ember_context_generate(c, NULL, tokens, 12, &g, NULL, NULL, &r));
    CHECK(r.stop_reason == EMBER_STOP_CONTEXT_FULL);
    CHECK(r.n_tokens == 5); /* 12 + 4 decoded = 16 slots; the 5th token is sampled, not decoded */
    ember_context_free(c);
    ember_model_free(m);
}

TEST(state_errors) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context_params p = ember_context_default_params();
    p.n_ctx = 64;
    ember_context* c = NULL;
    REQUIRE_OK(ember_context_create(m, &p, &c));
    ember_token tokens[4] = {1, 100, 200, 300};
    REQUIRE_OK(ember_context_decode(c, tokens, 4, 0, false));
    size_t size = 0;
    unsigned char small[16];
    CHECK_STATUS(ember_context_state_save(c, small, sizeof small, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size > sizeof small);
    CHECK_STATUS(ember_context_state_save(c, NULL, 0, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_state_save(NULL, NULL, 0, &size), EMBER_ERR_INVALID_ARGUMENT);
    unsigned char* state = malloc(size);
    REQUIRE_OK(ember_context_state_save(c, state, size, &size));

    CHECK_STATUS(ember_context_state_load(c, state, size / 2), EMBER_ERR_BAD_FILE);
    CHECK_STATUS(ember_context_state_load(c, "garbage!garbage!garbage!", 24), EMBER_ERR_BAD_FILE);
    CHECK_STATUS(ember_context_state_load(c, NULL, 10), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_state_load(c, NULL, 0), EMBER_ERR_BAD_FILE);
    CHECK_STATUS(ember_context_state_load(NULL, state, size), EMBER_ERR_INVALID_ARGUMENT);
    state[size / 2] ^= 0x55; /* the checksum catches a flipped byte */
    CHECK_STATUS(ember_context_state_load(c, state, size), EMBER_ERR_BAD_FILE);
    CHECK_MESSAGE("checksum");
    state[size / 2] ^= 0x55;

    /* A state from a context with another cache configuration. */
    ember_context_params p2 = ember_context_default_params();
    p2.n_ctx = 64;
    p2.type_k = EMBER_TYPE_F32;
    ember_context* c2 = NULL;
    REQUIRE_OK(ember_context_create(m, &p2, &c2));
    CHECK_STATUS(ember_context_state_load(c2, state, size), EMBER_ERR_INVALID_ARGUMENT);
    ember_context_free(c2);

    char path[1024];
    CHECK_STATUS(ember_context_state_save_file(c, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_state_save_file(NULL, "x"), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_state_save_file(c, "/nonexistent/dir/state.bin"), EMBER_ERR_IO);
    CHECK_STATUS(ember_context_state_load_file(c, "/nonexistent/dir/state.bin"), EMBER_ERR_FILE_NOT_FOUND);
    CHECK_STATUS(ember_context_state_load_file(c, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_state_load_file(NULL, "x"), EMBER_ERR_INVALID_ARGUMENT);
    tmp_path(path, sizeof path, "corrupt.state");
    write_file(path, state, size - 3);
    CHECK_STATUS(ember_context_state_load_file(c, path), EMBER_ERR_BAD_FILE);
    int64_t n_past = 0;
    CHECK_OK(ember_context_n_past(c, 0, &n_past));
    CHECK(n_past == 4); /* failed loads leave the context as it was */
    free(state);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(sampler_errors) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_sampler* s = NULL;
    ember_sampler_params p = ember_sampler_default_params();
    CHECK_STATUS(ember_sampler_create(NULL, NULL, &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_create(&p, NULL, NULL), EMBER_ERR_INVALID_ARGUMENT);
    p.top_p = 1.5f;
    CHECK_STATUS(ember_sampler_create(&p, NULL, &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("top_p");
    p = ember_sampler_default_params();
    p.n_logit_bias = 2;
    CHECK_STATUS(ember_sampler_create(&p, NULL, &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("logit_bias");
    ember_token_bias bias = {4000, 1.0f};
    p.logit_bias = &bias;
    p.n_logit_bias = 1;
    CHECK_STATUS(ember_sampler_create(&p, m, &s), EMBER_ERR_INVALID_ARGUMENT); /* 4000 >= n_vocab */
    CHECK_MESSAGE("4000");
    p = ember_sampler_default_params();
    p.n_logprobs = 1000;
    CHECK_STATUS(ember_sampler_create(&p, NULL, &s), EMBER_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK_STATUS(ember_sampler_chain_create(1, NULL), EMBER_ERR_INVALID_ARGUMENT);

    REQUIRE_OK(ember_sampler_chain_create(7, &s));
    CHECK_STATUS(ember_sampler_add_top_k(NULL, 5), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_top_k(s, -2), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_top_p(s, 0.0f, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_top_p(NULL, 0.5f, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_min_p(s, 2.0f, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_min_p(NULL, 0.1f, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_typical_p(s, -1.0f, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_typical_p(NULL, 0.5f, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_temperature(s, NAN), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_temperature(NULL, 1.0f), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_penalties(s, -5, 1.1f, 0, 0), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_penalties(NULL, 64, 1.1f, 0, 0), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_logit_bias(s, NULL, 3), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_logit_bias(NULL, &bias, 1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_mirostat(s, -1.0f, 0.1f, 100), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_mirostat(NULL, 5.0f, 0.1f, 100), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_mirostat_v2(s, 5.0f, -0.1f), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_mirostat_v2(NULL, 5.0f, 0.1f), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_add_greedy(NULL), EMBER_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(ember_sampler_add_greedy(s));
    CHECK_STATUS(ember_sampler_add_top_k(s, 5), EMBER_ERR_INVALID_ARGUMENT); /* after a selecting stage */
    CHECK_MESSAGE("greedy");
    CHECK_STATUS(ember_sampler_set_logprobs(s, true, 101, false), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_set_logprobs(NULL, true, 1, false), EMBER_ERR_INVALID_ARGUMENT);

    ember_token t = 0;
    float lp;
    size_t n_top = 0;
    CHECK_STATUS(ember_sampler_last_logprob(s, &t, &lp, NULL, NULL, 0, &n_top), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("off");
    REQUIRE_OK(ember_sampler_set_logprobs(s, true, 3, false));
    CHECK_STATUS(ember_sampler_last_logprob(s, &t, &lp, NULL, NULL, 0, &n_top), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("nothing has been sampled");
    CHECK_STATUS(ember_sampler_last_logprob(NULL, &t, &lp, NULL, NULL, 0, &n_top), EMBER_ERR_INVALID_ARGUMENT);

    float logits[4] = {0.5f, 2.0f, 1.0f, -1.0f};
    CHECK_STATUS(ember_sampler_sample_logits(s, NULL, 4, &t), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_sample_logits(s, logits, 0, &t), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_sample_logits(s, logits, 4, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_sample_logits(NULL, logits, 4, &t), EMBER_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(ember_sampler_sample_logits(s, logits, 4, &t));
    CHECK(t == 1);
    ember_token_logprob top[3];
    CHECK_STATUS(ember_sampler_last_logprob(s, &t, &lp, NULL, top, 2, &n_top), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(n_top == 3);
    CHECK_STATUS(ember_sampler_last_logprob(s, &t, &lp, NULL, NULL, 3, &n_top), EMBER_ERR_INVALID_ARGUMENT);

    ember_context* c = NULL;
    ember_context_params cp = ember_context_default_params();
    cp.n_ctx = 32;
    REQUIRE_OK(ember_context_create(m, &cp, &c));
    CHECK_STATUS(ember_sampler_sample(s, c, -1, &t), EMBER_ERR_INVALID_ARGUMENT); /* nothing decoded */
    CHECK_STATUS(ember_sampler_sample(s, NULL, -1, &t), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_sample(NULL, c, -1, &t), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_sample(s, c, -1, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_accept(s, -1), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_accept(NULL, 3), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_reset(NULL), EMBER_ERR_INVALID_ARGUMENT);
    uint64_t seed = 0;
    CHECK_STATUS(ember_sampler_get_seed(NULL, &seed), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_sampler_get_seed(s, NULL), EMBER_ERR_INVALID_ARGUMENT);
    char buf[4];
    size_t size = 0;
    CHECK_STATUS(ember_sampler_describe(s, buf, sizeof buf, &size), EMBER_ERR_BUFFER_TOO_SMALL);
    CHECK(size > sizeof buf);
    CHECK_STATUS(ember_sampler_describe(NULL, buf, sizeof buf, &size), EMBER_ERR_INVALID_ARGUMENT);
    ember_context_free(c);
    ember_sampler_free(s);
    ember_model_free(m);
}

TEST(generate_errors) {
    ember_model* m = load_test_model();
    if (!m) return;
    ember_context* c = NULL;
    ember_context_params cp = ember_context_default_params();
    cp.n_ctx = 64;
    REQUIRE_OK(ember_context_create(m, &cp, &c));
    ember_token prompt[3] = {1, 100, 200};
    ember_generate_params g = ember_generate_default_params();
    ember_generate_result r;
    r.struct_size = sizeof r;
    CHECK_STATUS(ember_context_generate(NULL, NULL, prompt, 3, &g, NULL, NULL, &r), EMBER_ERR_INVALID_ARGUMENT);
    CHECK(r.stop_reason == EMBER_STOP_ERROR);
    CHECK_STATUS(ember_context_generate(c, NULL, NULL, 3, &g, NULL, NULL, &r), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_context_generate(c, NULL, prompt, 0, &g, NULL, NULL, &r), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("prompt");
    g.max_tokens = -5;
    CHECK_STATUS(ember_context_generate(c, NULL, prompt, 3, &g, NULL, NULL, &r), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("max_tokens");
    g = ember_generate_default_params();
    g.temperature = 1.0f;
    g.top_p = -3.0f;
    CHECK_STATUS(ember_context_generate(c, NULL, prompt, 3, &g, NULL, NULL, &r), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("top_p");
    g = ember_generate_default_params();
    prompt[1] = 100000;
    CHECK_STATUS(ember_context_generate(c, NULL, prompt, 3, &g, NULL, NULL, &r), EMBER_ERR_INVALID_ARGUMENT);
    CHECK(r.stop_reason == EMBER_STOP_ERROR);
    prompt[1] = 100;
    r.struct_size = sizeof r + 8;
    CHECK_STATUS(ember_context_generate(c, NULL, prompt, 3, &g, NULL, NULL, &r), EMBER_ERR_UNSUPPORTED);
    int64_t n_past = -1;
    CHECK_OK(ember_context_n_past(c, 0, &n_past));
    CHECK(n_past == 0);
    ember_context_free(c);
    ember_model_free(m);
}

TEST(quantize_errors) {
    char out[1024];
    tmp_path(out, sizeof out, "quantized.gguf");
    ember_quantize_params q = ember_quantize_default_params();
    CHECK(q.preset == NULL);
    CHECK_STATUS(ember_quantize_file(g_model_path, out, &q, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_MESSAGE("preset");
    q.preset = "Q8_0";
    CHECK_STATUS(ember_quantize_file(NULL, out, &q, NULL), EMBER_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ember_quantize_file(g_model_path, NULL, &q, NULL), EMBER_ERR_INVALID_ARGUMENT);
    q.n_threads = -1;
    CHECK_STATUS(ember_quantize_file(g_model_path, out, &q, NULL), EMBER_ERR_INVALID_ARGUMENT);
    q.n_threads = 0;
    ember_quantize_result r;
    r.struct_size = sizeof r + 1;
    CHECK_STATUS(ember_quantize_file(g_model_path, out, &q, &r), EMBER_ERR_UNSUPPORTED);
    /* A missing input: not found, or unsupported while the build has no quantizer. */
    const ember_status s = ember_quantize_file("/nonexistent/in.gguf", out, &q, NULL);
    CHECK(s == EMBER_ERR_FILE_NOT_FOUND || s == EMBER_ERR_UNSUPPORTED);
    CHECK(ember_last_error()[0] != '\0');
}

RUN_TESTS(T(library_functions_never_fail), T(load_missing_file), T(load_null_arguments), T(load_corrupt_files),
          T(load_cancelled_by_progress), T(model_queries_reject_null_and_out_of_range), T(undersized_buffers_report_the_size),
          T(token_functions_reject_bad_ids_and_pointers), T(params_init_rejects_null), T(context_create_rejects_bad_params),
          T(context_functions_reject_null_and_bad_values), T(full_context_without_shift), T(state_errors), T(sampler_errors),
          T(generate_errors), T(quantize_errors))
