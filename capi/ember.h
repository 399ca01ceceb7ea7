/*
 * ember.h - the stable C interface of ember (C99; usable from C, C++, Python ctypes, Rust FFI).
 *
 * Conventions (they hold for every function below):
 *
 * Handles. ember_model, ember_context and ember_sampler are opaque; each has a create and a
 * free function, and free accepts NULL. A model is immutable once loaded and may be shared by
 * any number of contexts on any number of threads. A context keeps its model alive, so the
 * model handle may be freed before the contexts made from it. A context and a sampler are used
 * by one thread at a time (different contexts run in parallel freely); the only exception is
 * ember_context_abort(), which may be called from any thread at any time.
 *
 * Status. Every function that can fail returns an ember_status: EMBER_OK (0) or one of the
 * negative EMBER_ERR_* codes, and on failure sets a message for the calling thread that
 * ember_last_error() returns. Each function lists the codes it returns besides these two, which
 * any of them may return: EMBER_ERR_INVALID_ARGUMENT (a NULL handle or pointer, a value out of
 * range) and EMBER_ERR_OUT_OF_MEMORY. EMBER_ERR_INTERNAL means a bug in ember. No C++ exception,
 * assertion or abort ever crosses this interface. On failure, out-parameters are left unchanged
 * unless the function says otherwise.
 *
 * Parameter structs. Each begins with `size_t struct_size`, which the caller sets to
 * sizeof(the struct) as its ember.h declares it: obtain defaults with ember_*_default_params()
 * (inline functions that do exactly that), then change fields. New fields are only ever
 * appended. A struct from an older ember.h (a smaller struct_size) is accepted and the fields it
 * lacks take their defaults; a struct larger than this library knows (from a newer ember.h) is
 * rejected with EMBER_ERR_UNSUPPORTED, as is a struct_size that ends inside a field. The same
 * holds for the structs the library fills (ember_model_info, ...): the caller sets struct_size
 * and only that many bytes are written. (Maintainers: a new field goes after the previous
 * sizeof of its struct, never into its tail padding, whose bytes an older caller leaves
 * undefined.)
 *
 * Buffers. Functions that produce text or token lists take (buffer, capacity, size_t* size).
 * They always store the full size in *size: the number of tokens, or the length of the text in
 * bytes not counting the terminating NUL. If the buffer is too small (text needs capacity >=
 * length + 1) they return EMBER_ERR_BUFFER_TOO_SMALL and write nothing to the buffer, so a call
 * with (NULL, 0, &size) asks for the size. Text is UTF-8 and always NUL-terminated when written.
 * Returned text may contain embedded NUL bytes (a model's byte tokens can produce them): use
 * *size, not strlen.
 *
 * Callbacks receive the `void* user_data` given with them and run on the thread that called the
 * function they were given to. They must not throw C++ exceptions or unwind (longjmp) through
 * ember, and must not call back into the handle that is invoking them.
 */
#ifndef EMBER_H
#define EMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The library version (semantic: a new minor version only adds) and the ABI version, which is
 * the shared library's SONAME major (libember.so.1). The ABI version changes only when an
 * existing function or struct field changes incompatibly; it is not tied to the library version. */
#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0
#define EMBER_VERSION_STRING "0.1.0"
#define EMBER_ABI_VERSION 1

#if defined(_WIN32)
#  if defined(EMBER_BUILDING_LIBRARY)
#    define EMBER_API __declspec(dllexport)
#  elif defined(EMBER_SHARED)
#    define EMBER_API __declspec(dllimport)
#  else
#    define EMBER_API
#  endif
#elif defined(EMBER_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#  define EMBER_API __attribute__((visibility("default")))
#else
#  define EMBER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Basic types
 * ------------------------------------------------------------------------------------------- */

typedef int32_t ember_status;
enum {
    EMBER_OK = 0,
    EMBER_ERR_INVALID_ARGUMENT = -1,  /* a NULL handle or pointer, a value out of range */
    EMBER_ERR_FILE_NOT_FOUND = -2,    /* a path does not exist or cannot be opened */
    EMBER_ERR_BAD_FILE = -3,          /* a model or state file is malformed or inconsistent */
    EMBER_ERR_UNSUPPORTED = -4,       /* well-formed, but asks for something ember cannot do */
    EMBER_ERR_OUT_OF_MEMORY = -5,     /* an allocation failed */
    EMBER_ERR_CONTEXT_FULL = -6,      /* the KV cache has no room (and shifting is off) */
    EMBER_ERR_CANCELLED = -7,         /* a callback or ember_context_abort() asked to stop */
    EMBER_ERR_IO = -8,                /* reading or writing failed (disk full, permissions, ...) */
    EMBER_ERR_INTERNAL = -9,          /* a bug in ember; please report it */
    EMBER_ERR_BUFFER_TOO_SMALL = -10, /* see "Buffers" above; *size holds what is needed */
    EMBER_ERR_NOT_FOUND = -11,        /* no such metadata key, tensor or token */
    EMBER_ERR_TEMPLATE = -12          /* a chat template failed: syntax, raise_exception(), a limit */
};

typedef int32_t ember_token; /* a token id; -1 means "none" */
typedef int32_t ember_seq;   /* a sequence id in the KV cache, 0 .. n_seq_max - 1 */

/* Element types of the KV cache (the GGUF/ggml type numbers). */
enum { EMBER_TYPE_F32 = 0, EMBER_TYPE_F16 = 1, EMBER_TYPE_Q8_0 = 8 };

/* A seed value meaning "pick a random seed". */
#define EMBER_SEED_RANDOM UINT64_MAX

typedef struct ember_model ember_model;
typedef struct ember_context ember_context;
typedef struct ember_sampler ember_sampler;

/* ---------------------------------------------------------------------------------------------
 * Library, errors and logging
 * ------------------------------------------------------------------------------------------- */

/* "0.1.0": the version of the library actually loaded (compare with EMBER_VERSION_STRING). */
EMBER_API const char* ember_version(void);
/* EMBER_ABI_VERSION of the library actually loaded. */
EMBER_API uint32_t ember_abi_version(void);
/* The message of the last call on this thread that failed ("" if none has). Successful calls
 * do not clear it. The pointer is valid until the next failing call on this thread. */
EMBER_API const char* ember_last_error(void);
/* A constant description of a status code, e.g. "invalid argument". */
EMBER_API const char* ember_status_string(ember_status status);

enum { EMBER_LOG_DEBUG = 0, EMBER_LOG_INFO = 1, EMBER_LOG_WARN = 2, EMBER_LOG_ERROR = 3 };
/* One message per call, without a trailing newline. */
typedef void (*ember_log_fn)(int32_t level, const char* message, void* user_data);
/* Installs the process-wide log sink (NULL: discard, the default - ember never prints by
 * itself). Thread-safe; messages may arrive from any thread that calls into ember, one at a
 * time. Once this returns, the previous sink is never called again. */
EMBER_API void ember_log_set(ember_log_fn fn, void* user_data);

/* Progress in [0, 1]; return false to cancel the operation (it then fails with
 * EMBER_ERR_CANCELLED). */
typedef bool (*ember_progress_fn)(float progress, void* user_data);

/* ---------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------- */

typedef struct ember_model_params {
    size_t struct_size;
    bool use_mmap;                /* true (default): map the file; false: read it into memory on
                                     huge pages (slower start, faster generation) */
    bool check_tensors;           /* false; true: also scan every weight for NaN/Inf (slow) */
    ember_progress_fn progress;   /* NULL, or called while loading; may cancel */
    void* progress_user_data;
} ember_model_params;

/* Fills the first struct_size bytes of *params with the defaults and sets params->struct_size.
 * EMBER_ERR_UNSUPPORTED: struct_size is larger than this library's struct or ends in a field. */
EMBER_API ember_status ember_model_params_init(ember_model_params* params, size_t struct_size);
static inline ember_model_params ember_model_default_params(void) {
    ember_model_params p;
    ember_model_params_init(&p, sizeof p);
    return p;
}

/* Loads and validates a GGUF model. params may be NULL (defaults). On success *model owns it.
 * EMBER_ERR_FILE_NOT_FOUND: cannot open path. EMBER_ERR_BAD_FILE: not a valid GGUF model (or,
 * with check_tensors, a weight is not finite). EMBER_ERR_UNSUPPORTED: an architecture, tensor
 * type or tokenizer ember does not implement, or a params struct from a newer ember.h.
 * EMBER_ERR_CANCELLED: the progress callback returned false. EMBER_ERR_IO: reading failed. */
EMBER_API ember_status ember_model_load(const char* path, const ember_model_params* params, ember_model** model);
EMBER_API void ember_model_free(ember_model* model);

typedef struct ember_model_info {
    size_t struct_size;      /* set by the caller: sizeof(ember_model_info) */
    int64_t n_vocab;
    int64_t n_ctx_train;     /* context length the model was trained with */
    int64_t n_embd;
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t n_ff;
    int64_t head_dim;
    uint64_t n_params;       /* elements of every tensor */
    uint64_t weight_bytes;   /* bytes of every tensor's data */
    uint64_t file_size;
    uint64_t n_tensors;
    uint64_t n_metadata;     /* metadata keys */
    ember_token bos, eos, eot, eom, unk, pad; /* special tokens, -1 when absent */
    bool add_bos;            /* tokenizing with add_special adds BOS */
    bool add_eos;
    bool mmapped;            /* the weights are mapped from the file */
} ember_model_info;

/* Fills the first info->struct_size bytes. EMBER_ERR_UNSUPPORTED: info->struct_size too large. */
EMBER_API ember_status ember_model_get_info(const ember_model* model, ember_model_info* info);
/* general.architecture, e.g. "llama". Buffer convention. */
EMBER_API ember_status ember_model_architecture(const ember_model* model, char* buf, size_t capacity, size_t* size);
/* A one-line description, e.g. "llama 19.5M Q4_K_M". Buffer convention. */
EMBER_API ember_status ember_model_description(const ember_model* model, char* buf, size_t capacity, size_t* size);

/* Metadata by key, rendered as text: strings verbatim, integers in decimal, floats in shortest
 * round-trip form, booleans as true/false, arrays as a summary "type[n] [a, b, ...]" of their
 * first 8 elements. Buffer convention. EMBER_ERR_NOT_FOUND: no such key. */
EMBER_API ember_status ember_model_meta_string(const ember_model* model, const char* key, char* buf, size_t capacity, size_t* size);
/* EMBER_ERR_NOT_FOUND: no such key. EMBER_ERR_INVALID_ARGUMENT: the value is not an integer
 * (bool counts as 0/1) or does not fit int64_t. */
EMBER_API ember_status ember_model_meta_int(const ember_model* model, const char* key, int64_t* value);
/* EMBER_ERR_NOT_FOUND: no such key. EMBER_ERR_INVALID_ARGUMENT: the value is not a number. */
EMBER_API ember_status ember_model_meta_float(const ember_model* model, const char* key, double* value);
/* The key of metadata entry `index` (0 .. n_metadata - 1, in file order). Buffer convention.
 * EMBER_ERR_NOT_FOUND: index out of range. */
EMBER_API ember_status ember_model_meta_key(const ember_model* model, uint64_t index, char* buf, size_t capacity, size_t* size);

typedef struct ember_tensor_info {
    size_t struct_size;      /* set by the caller */
    int32_t type;            /* GGUF/ggml type number */
    uint32_t n_dims;
    int64_t ne[4];           /* ne[0] is the row length; unused dimensions are 1 */
    uint64_t offset;         /* in the file's data section */
    uint64_t nbytes;
} ember_tensor_info;

/* Tensor `index` (0 .. n_tensors - 1, in file order). EMBER_ERR_NOT_FOUND: index out of range. */
EMBER_API ember_status ember_model_tensor_info(const ember_model* model, uint64_t index, ember_tensor_info* info);
EMBER_API ember_status ember_model_tensor_name(const ember_model* model, uint64_t index, char* buf, size_t capacity, size_t* size);

/* ---------------------------------------------------------------------------------------------
 * Tokens
 * ------------------------------------------------------------------------------------------- */

/* Text (text_len bytes; need not be NUL-terminated) to token ids, as llama.cpp's tokenizer:
 * add_special adds BOS/EOS as the model asks, parse_special matches control tokens written in
 * the text. Buffer convention (*n_tokens = the number of ids). */
EMBER_API ember_status ember_model_tokenize(const ember_model* model, const char* text, size_t text_len, bool add_special,
                                           bool parse_special, ember_token* tokens, size_t capacity, size_t* n_tokens);
/* Token ids to text. special: render control tokens as their text; remove_special: drop a
 * leading BOS / trailing EOS the model adds. Buffer convention. EMBER_ERR_INVALID_ARGUMENT: an
 * id outside the vocabulary. */
EMBER_API ember_status ember_model_detokenize(const ember_model* model, const ember_token* tokens, size_t n_tokens,
                                             bool special, bool remove_special, char* buf, size_t capacity, size_t* size);
/* One token's bytes as generation emits them (may be an incomplete UTF-8 sequence; control
 * tokens are empty unless special). Buffer convention. */
EMBER_API ember_status ember_model_token_piece(const ember_model* model, ember_token token, bool special, char* buf,
                                              size_t capacity, size_t* size);
/* The raw vocabulary entry of a token (e.g. "▁the", "<0x0A>"). Buffer convention. */
EMBER_API ember_status ember_model_token_text(const ember_model* model, ember_token token, char* buf, size_t capacity,
                                             size_t* size);
/* Token attributes; any out-pointer may be NULL. type: the GGUF token type (1 normal,
 * 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). is_eog: ends generation (one of
 * ember_model_eog_tokens). */
EMBER_API ember_status ember_model_token_attr(const ember_model* model, ember_token token, float* score, int32_t* type,
                                             bool* is_eog);
/* Every id that ends generation, ascending: EOS, EOT, EOM, the fill-in-the-middle pad/repo/file
 * separators and the end-of-turn markers llama.cpp recognises by text (<|eot_id|>, <|im_end|>,
 * <|endoftext|>, <end_of_turn>, ...). Buffer convention (*n_tokens = the number of ids). */
EMBER_API ember_status ember_model_eog_tokens(const ember_model* model, ember_token* tokens, size_t capacity,
                                             size_t* n_tokens);
/* The id whose vocabulary entry is exactly `text` (NUL-terminated). EMBER_ERR_NOT_FOUND: none. */
EMBER_API ember_status ember_model_token_find(const ember_model* model, const char* text, ember_token* token);

/* ---------------------------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------------------------- */

typedef struct ember_context_params {
    size_t struct_size;
    int64_t n_ctx;          /* 0: the model's training context. KV capacity in tokens; with a
                               window, the largest prompt batch */
    int64_t n_batch;        /* 512: most tokens per forward pass */
    int32_t n_threads;      /* 0: all hardware threads */
    int32_t n_seq_max;      /* 1: independent sequences the cache holds (1..64) */
    int64_t window;         /* 0: full attention; W > 0: sliding window over the last W positions */
    int32_t type_k;         /* EMBER_TYPE_F16: cached keys, F32, F16 or Q8_0 */
    int32_t type_v;         /* EMBER_TYPE_F16: cached values */
    bool context_shift;     /* false: ember_context_decode fails with CONTEXT_FULL on a full
                               cache; true: it drops the older half (after n_keep) and goes on */
    int64_t n_keep;         /* 0: tokens kept at the start on a shift (BOS is always kept) */
    uint64_t seed;          /* EMBER_SEED_RANDOM: seed of the sampler ember_context_generate
                               builds when it is given none (see there) */
} ember_context_params;

EMBER_API ember_status ember_context_params_init(ember_context_params* params, size_t struct_size);
static inline ember_context_params ember_context_default_params(void) {
    ember_context_params p;
    ember_context_params_init(&p, sizeof p);
    return p;
}

/* params may be NULL (defaults). EMBER_ERR_UNSUPPORTED: a KV type other than F32/F16/Q8_0, a
 * params struct from a newer ember.h. EMBER_ERR_OUT_OF_MEMORY: the cache does not fit. */
EMBER_API ember_status ember_context_create(const ember_model* model, const ember_context_params* params, ember_context** ctx);
EMBER_API void ember_context_free(ember_context* ctx);

/* The parameters in effect (n_ctx, n_batch, n_threads resolved; seed as given). */
EMBER_API ember_status ember_context_get_params(const ember_context* ctx, ember_context_params* params);
/* KV cache capacity in slots. */
EMBER_API ember_status ember_context_n_ctx(const ember_context* ctx, int64_t* n_ctx);
/* The next position of sequence seq (0 when it is empty). */
EMBER_API ember_status ember_context_n_past(const ember_context* ctx, ember_seq seq, int64_t* n_past);
/* Tokens run through the model since the context was created (prefix reuse skips some). */
EMBER_API ember_status ember_context_n_evaluated(const ember_context* ctx, uint64_t* n_evaluated);

typedef struct ember_memory_usage {
    size_t struct_size;  /* set by the caller */
    uint64_t weights;    /* the model's tensor data (shared by every context) */
    uint64_t kv_cache;   /* this context's key/value cache */
    uint64_t scratch;    /* this context's activations, logits and work buffers */
} ember_memory_usage;
EMBER_API ember_status ember_context_memory(const ember_context* ctx, ember_memory_usage* usage);

/* Evaluates n_tokens tokens of sequence seq at positions n_past(seq), n_past(seq) + 1, ...;
 * computes logits for the last one or, with all_logits, for each. On failure the cache and the
 * previous logits are unchanged. EMBER_ERR_CONTEXT_FULL: no room (without context_shift, or too
 * many tokens even after a shift). EMBER_ERR_CANCELLED: ember_context_abort() was called.
 * EMBER_ERR_INVALID_ARGUMENT: no tokens, an id outside the vocabulary, a bad seq. */
EMBER_API ember_status ember_context_decode(ember_context* ctx, const ember_token* tokens, size_t n_tokens, ember_seq seq,
                                           bool all_logits);

/* An explicit batch: token i goes to position pos[i] of sequence seq[i]. */
typedef struct ember_batch {
    size_t struct_size;
    size_t n_tokens;
    const ember_token* tokens;  /* required */
    const int32_t* pos;         /* required */
    const ember_seq* seq;       /* NULL: every token belongs to sequence 0 */
    const int8_t* logits;       /* NULL: logits for the last token only; else nonzero = wanted */
} ember_batch;
/* EMBER_ERR_CONTEXT_FULL, EMBER_ERR_CANCELLED as ember_context_decode (no shifting). */
EMBER_API ember_status ember_context_decode_batch(ember_context* ctx, const ember_batch* batch);

/* Evaluates a prompt for sequence seq, reusing the longest prefix already cached for it: the
 * cached tokens after the first difference are dropped and only the rest is evaluated (the last
 * token always is, so its logits are fresh). *n_evaluated (may be NULL) receives the count.
 * Errors as ember_context_decode. */
EMBER_API ember_status ember_context_decode_prompt(ember_context* ctx, const ember_token* tokens, size_t n_tokens,
                                                  ember_seq seq, int64_t* n_evaluated);

/* The logits (n_vocab floats) of token i of the last decode; i = -1: the last token that has
 * them. *logits points into the context and stays valid until the next call that decodes,
 * clears or loads state into it, or frees it. EMBER_ERR_INVALID_ARGUMENT: nothing decoded yet,
 * i out of range or without logits. */
EMBER_API ember_status ember_context_logits(const ember_context* ctx, int64_t i, const float** logits, size_t* n_vocab);

/* Removes positions [p0, p1) of sequence seq (seq < 0: every sequence; p1 < 0: to the end). */
EMBER_API ember_status ember_context_seq_rm(ember_context* ctx, ember_seq seq, int32_t p0, int32_t p1);
/* Makes positions [p0, p1) of src also belong to dst (shares the cache slots). */
EMBER_API ember_status ember_context_seq_cp(ember_context* ctx, ember_seq src, ember_seq dst, int32_t p0, int32_t p1);
/* Drops n_discard positions after the first n_keep of sequence seq and moves the rest down
 * (keys are re-rotated). EMBER_ERR_INVALID_ARGUMENT: the range does not fit, or a windowed cache. */
EMBER_API ember_status ember_context_shift(ember_context* ctx, ember_seq seq, int64_t n_keep, int64_t n_discard);
/* Empties the cache and forgets the logits. */
EMBER_API ember_status ember_context_clear(ember_context* ctx);

/* Asks a decode (or generation) running on another thread to stop: it fails with
 * EMBER_ERR_CANCELLED at its next layer boundary and leaves the cache as it was. If none is
 * running, the next one is cancelled. Safe from any thread while ctx is alive. */
EMBER_API ember_status ember_context_abort(ember_context* ctx);

/* Saved state: the cache, its tokens and the last logits, restorable into a context of the
 * same model and cache configuration. save: buffer convention (*size = bytes). */
EMBER_API ember_status ember_context_state_save(const ember_context* ctx, void* buf, size_t capacity, size_t* size);
/* EMBER_ERR_BAD_FILE: corrupt or truncated data. EMBER_ERR_INVALID_ARGUMENT: saved from another
 * model or cache configuration. On failure the context is unchanged. */
EMBER_API ember_status ember_context_state_load(ember_context* ctx, const void* data, size_t size);
/* The file is written to a temporary name and renamed into place. EMBER_ERR_IO. */
EMBER_API ember_status ember_context_state_save_file(const ember_context* ctx, const char* path);
/* EMBER_ERR_FILE_NOT_FOUND, EMBER_ERR_IO, and the codes of ember_context_state_load. */
EMBER_API ember_status ember_context_state_load_file(ember_context* ctx, const char* path);

/* ---------------------------------------------------------------------------------------------
 * Chat templates
 *
 * A model's tokenizer.chat_template is a Jinja2 program; ember renders it as Hugging Face's
 * apply_chat_template does (byte for byte on the templates of published models), with limits on
 * steps, output size and depth: the template comes from the file and is untrusted. Messages are
 * JSON as Hugging Face passes them: [{"role": "user", "content": "Hi"}, ...], content a string or
 * a list of parts ({"type": "text", "text": ...}), plus tool_calls, reasoning_content, ...
 * ------------------------------------------------------------------------------------------- */

typedef struct ember_chat_params {
    size_t struct_size;
    bool add_generation_prompt; /* true (default): end with the cue for the assistant's turn */
    const char* tools_json;     /* NULL (default) or a JSON array of tool definitions */
    const char* extra_json;     /* NULL (default) or a JSON object of further template variables */
    const char* bos_token;      /* NULL (default): the model's BOS text ("" without a model) */
    const char* eos_token;      /* NULL (default): the model's EOS text */
    int64_t now;                /* strftime_now's clock, seconds since the epoch formatted in UTC;
                                   -1 (default): the current local time */
    uint64_t max_steps;         /* 1000000 (default): evaluations before EMBER_ERR_TEMPLATE */
    uint64_t max_output;        /* 16 MiB (default): bytes of the prompt or of any string built */
} ember_chat_params;

EMBER_API ember_status ember_chat_params_init(ember_chat_params* params, size_t struct_size);
static inline ember_chat_params ember_chat_default_params(void) {
    ember_chat_params p;
    ember_chat_params_init(&p, sizeof p);
    return p;
}

/* A message for ember_chat_apply_template_messages: role and content, NUL-terminated. */
typedef struct ember_chat_message {
    const char* role;
    const char* content;
} ember_chat_message;

/* Renders a conversation into prompt text. template_source: a Jinja chat template, or NULL for
 * the model's own (ChatML when the model has none; a warning is logged). model may be NULL when
 * template_source is given. params may be NULL (defaults). Buffer convention.
 * EMBER_ERR_INVALID_ARGUMENT: messages_json/tools_json/extra_json is not valid JSON of the right
 * shape (the message names the byte). EMBER_ERR_TEMPLATE: the template has a syntax error, raises
 * (raise_exception, a type error) or exceeds a limit; the message names the line. */
EMBER_API ember_status ember_chat_apply_template(const ember_model* model, const char* template_source,
                                                const char* messages_json, const ember_chat_params* params,
                                                char* buf, size_t capacity, size_t* size);
/* The same from an array of plain role/content messages. */
EMBER_API ember_status ember_chat_apply_template_messages(const ember_model* model, const char* template_source,
                                                         const ember_chat_message* messages, size_t n_messages,
                                                         const ember_chat_params* params, char* buf, size_t capacity,
                                                         size_t* size);
/* Renders and tokenizes in one step, the safe way: the template's own markers become special
 * tokens, while special-token text inside message contents stays text (a user typing
 * "<|im_end|>" cannot end the turn). add_special adds BOS as the model asks unless the template
 * wrote it. Buffer convention (*n_tokens). */
EMBER_API ember_status ember_chat_tokenize(const ember_model* model, const char* template_source,
                                          const char* messages_json, const ember_chat_params* params, bool add_special,
                                          ember_token* tokens, size_t capacity, size_t* n_tokens);
/* The same from an array of plain role/content messages. */
EMBER_API ember_status ember_chat_tokenize_messages(const ember_model* model, const char* template_source,
                                                   const ember_chat_message* messages, size_t n_messages,
                                                   const ember_chat_params* params, bool add_special, ember_token* tokens,
                                                   size_t capacity, size_t* n_tokens);

/* ---------------------------------------------------------------------------------------------
 * Samplers
 *
 * The chain built from ember_sampler_params runs: logit bias -> penalties -> top-k -> typical-p
 * -> top-p -> min-p -> temperature -> draw (stages that are disabled are left out). mirostat
 * 1/2 replaces top-k..min-p and the draw; temp <= 0 is greedy (highest logit, ties to the lower
 * id). A seed gives the same tokens on every machine and thread count.
 * ------------------------------------------------------------------------------------------- */

typedef struct ember_token_bias {
    ember_token token;
    float bias;  /* added to the logit; -INFINITY bans the token */
} ember_token_bias;

typedef struct ember_sampler_params {
    size_t struct_size;
    uint64_t seed;                /* EMBER_SEED_RANDOM */
    float temp;                   /* 0.8; <= 0: greedy */
    int32_t top_k;                /* 40; 0 = off */
    float top_p;                  /* 0.95; 1 = off */
    float min_p;                  /* 0.05; 0 = off */
    float typical_p;              /* 1.0 = off */
    int32_t min_keep;             /* 0 */
    float repeat_penalty;         /* 1.0 = off */
    int32_t repeat_last_n;        /* 64; 0 = none, -1 = everything since reset */
    float frequency_penalty;      /* 0 */
    float presence_penalty;       /* 0 */
    int32_t mirostat;             /* 0 = off, 1, 2 */
    float mirostat_tau;           /* 5.0 */
    float mirostat_eta;           /* 0.1 */
    const ember_token_bias* logit_bias;  /* NULL, or n_logit_bias entries (copied) */
    size_t n_logit_bias;
    bool logprobs;                /* false: record log-probabilities of each sampled token */
    int32_t n_logprobs;           /* 0: alternatives reported besides the sampled token */
    bool logprobs_after_transforms; /* false: of the raw logits; true: of the final distribution */
} ember_sampler_params;

EMBER_API ember_status ember_sampler_params_init(ember_sampler_params* params, size_t struct_size);
static inline ember_sampler_params ember_sampler_default_params(void) {
    ember_sampler_params p;
    ember_sampler_params_init(&p, sizeof p);
    return p;
}

/* The chain described above. model may be NULL; when given, logit-bias ids are checked against
 * its vocabulary. EMBER_ERR_INVALID_ARGUMENT names the first bad parameter. */
EMBER_API ember_status ember_sampler_create(const ember_sampler_params* params, const ember_model* model, ember_sampler** sampler);
/* An empty chain to build with ember_sampler_add_*; without stages it draws from the softmax. */
EMBER_API ember_status ember_sampler_chain_create(uint64_t seed, ember_sampler** sampler);
EMBER_API void ember_sampler_free(ember_sampler* sampler);

/* Structured output: a grammar every generated token must fit (see include/ember/grammar.hpp for
 * the GBNF syntax and the supported JSON Schema and regex subsets). */
typedef enum ember_grammar_kind {
    EMBER_GRAMMAR_GBNF = 0,        /* llama.cpp's GBNF, start rule `root` */
    EMBER_GRAMMAR_JSON_SCHEMA = 1, /* JSON matching a JSON Schema (the text is the schema) */
    EMBER_GRAMMAR_REGEX = 2        /* the whole output matches the regular expression */
} ember_grammar_kind;
/* ember_sampler_create with a grammar stage first in the chain; model is required (its
 * vocabulary). EMBER_ERR_INVALID_ARGUMENT with a message naming the problem: the GBNF line and
 * column, the JSON Schema path and keyword, the regex column, an unknown kind. */
EMBER_API ember_status ember_sampler_create_grammar(const ember_sampler_params* params, const ember_model* model, int kind,
                                                    const char* text, ember_sampler** sampler);
/* Appends a grammar stage to a chain. Add it first: later stages then see only allowed tokens
 * (and the chain checks the drawn token first, computing the full mask only when it does not
 * fit). Prompt tokens never reach the grammar; ember_sampler_accept of a token it refuses is
 * EMBER_ERR_INVALID_ARGUMENT; ember_sampler_reset restarts it. */
EMBER_API ember_status ember_sampler_add_grammar(ember_sampler* sampler, const ember_model* model, int kind, const char* text);

/* Stages appended in call order. Nothing may follow a stage that selects the token (greedy,
 * mirostat): EMBER_ERR_INVALID_ARGUMENT. */
EMBER_API ember_status ember_sampler_add_logit_bias(ember_sampler* sampler, const ember_token_bias* biases, size_t n);
EMBER_API ember_status ember_sampler_add_penalties(ember_sampler* sampler, int32_t last_n, float repeat, float frequency,
                                                  float presence);
EMBER_API ember_status ember_sampler_add_top_k(ember_sampler* sampler, int32_t k);
EMBER_API ember_status ember_sampler_add_typical_p(ember_sampler* sampler, float p, size_t min_keep);
EMBER_API ember_status ember_sampler_add_top_p(ember_sampler* sampler, float p, size_t min_keep);
EMBER_API ember_status ember_sampler_add_min_p(ember_sampler* sampler, float p, size_t min_keep);
EMBER_API ember_status ember_sampler_add_temperature(ember_sampler* sampler, float temp);
EMBER_API ember_status ember_sampler_add_greedy(ember_sampler* sampler);
EMBER_API ember_status ember_sampler_add_mirostat(ember_sampler* sampler, float tau, float eta, int32_t m);
EMBER_API ember_status ember_sampler_add_mirostat_v2(ember_sampler* sampler, float tau, float eta);
/* Log-probability recording (ember_sampler_last_logprob). n_top: alternatives, 0..100. */
EMBER_API ember_status ember_sampler_set_logprobs(ember_sampler* sampler, bool enabled, int32_t n_top, bool after_transforms);

/* Chooses a token from the logits of token i of ctx's last decode (i = -1: the last). It does
 * not record it: call ember_sampler_accept with every token that enters the context. */
EMBER_API ember_status ember_sampler_sample(ember_sampler* sampler, const ember_context* ctx, int64_t i, ember_token* token);
/* The same from a caller's row of n_logits floats. */
EMBER_API ember_status ember_sampler_sample_logits(ember_sampler* sampler, const float* logits, size_t n_logits,
                                                  ember_token* token);
/* Records a token that entered the context (penalty history, mirostat's learning step). */
EMBER_API ember_status ember_sampler_accept(ember_sampler* sampler, ember_token token);
/* Records a prompt token: penalties and mirostat learn from it as from ember_sampler_accept,
 * a grammar stage ignores it (the prompt is not output the grammar constrains). */
EMBER_API ember_status ember_sampler_accept_prompt(ember_sampler* sampler, ember_token token);
/* Forgets the history and restarts the random generator from the seed. */
EMBER_API ember_status ember_sampler_reset(ember_sampler* sampler);
/* The seed in use (a random pick is reported here). */
EMBER_API ember_status ember_sampler_get_seed(const ember_sampler* sampler, uint64_t* seed);
/* E.g. "top-k 40 -> top-p 0.95 -> temp 0.8 -> dist(seed 7)". Buffer convention. */
EMBER_API ember_status ember_sampler_describe(const ember_sampler* sampler, char* buf, size_t capacity, size_t* size);

typedef struct ember_token_logprob {
    ember_token token;
    float logprob;  /* natural log */
} ember_token_logprob;
/* The log-probability of the last sampled token and the entropy (nats) of its distribution;
 * any pointer may be NULL. top (buffer convention, *n_top = the count; may be NULL with
 * capacity 0): the most likely alternatives, best first. EMBER_ERR_INVALID_ARGUMENT: logprobs
 * are off or nothing has been sampled yet. */
EMBER_API ember_status ember_sampler_last_logprob(const ember_sampler* sampler, ember_token* token, float* logprob,
                                                 float* entropy, ember_token_logprob* top, size_t capacity, size_t* n_top);

/* ---------------------------------------------------------------------------------------------
 * Generation
 * ------------------------------------------------------------------------------------------- */

enum {
    EMBER_STOP_MAX_TOKENS = 0,        /* generated max_tokens */
    EMBER_STOP_END_OF_GENERATION = 1, /* the model emitted an end-of-generation token */
    EMBER_STOP_CALLBACK = 2,          /* the token callback returned false */
    EMBER_STOP_CONTEXT_FULL = 3,      /* the cache filled up (context_shift off) */
    EMBER_STOP_ABORTED = 4,           /* ember_context_abort() */
    EMBER_STOP_ERROR = 5              /* another error; see the status */
};

/* One generated token, passed to the token callback. The library sets struct_size: a field
 * beyond it is absent (a library older than the caller's ember.h). */
typedef struct ember_token_event {
    size_t struct_size;
    ember_token token;       /* -1 for the final call that carries held-back text */
    const char* text;        /* complete UTF-8 only (NUL-terminated; may be empty while a
                                multi-byte character is incomplete); valid during the call */
    size_t text_len;
    int64_t index;           /* 0-based count of generated tokens */
    bool has_logprob;        /* the sampler records log-probabilities */
    float logprob;
    float entropy;
    const ember_token_logprob* top;  /* n_top alternatives, best first */
    size_t n_top;
} ember_token_event;
/* Return false to stop generating (ember_context_generate then returns EMBER_ERR_CANCELLED). */
typedef bool (*ember_token_fn)(const ember_token_event* event, void* user_data);

typedef struct ember_generate_params {
    size_t struct_size;
    int64_t max_tokens;     /* 128; -1 = until an end-of-generation token */
    ember_seq seq;          /* 0: the sequence to extend */
    bool stop_at_eog;       /* true: stop at end-of-generation tokens (they are not emitted) */
    bool accept_prompt;     /* true: feed the prompt to the sampler's penalty history */
    float temperature;      /* 0 (greedy): used only without a sampler, see below */
    int32_t top_k;          /* 40 */
    float top_p;            /* 0.95 */
    float min_p;            /* 0.05 */
} ember_generate_params;

EMBER_API ember_status ember_generate_params_init(ember_generate_params* params, size_t struct_size);
static inline ember_generate_params ember_generate_default_params(void) {
    ember_generate_params p;
    ember_generate_params_init(&p, sizeof p);
    return p;
}

typedef struct ember_generate_result {
    size_t struct_size;          /* set by the caller */
    int64_t n_tokens;            /* tokens generated (an end-of-generation token excluded) */
    int64_t n_prompt_evaluated;  /* prompt tokens that were not already cached */
    int32_t stop_reason;         /* EMBER_STOP_* */
} ember_generate_result;

/* Evaluates the prompt (reusing the cached prefix of params->seq), then samples, streams and
 * feeds back tokens until a stop condition. sampler may be NULL: then one is built from
 * params->temperature/top_k/top_p/min_p, seeded with the context's seed (each call starts from
 * it). params and result may be NULL; on_token may be NULL. result is filled whatever the
 * status. Returns EMBER_OK when generation stopped by itself (max_tokens, end of generation, a
 * full cache - see result->stop_reason); EMBER_ERR_CANCELLED when on_token returned false or
 * ember_context_abort() was called; the errors of ember_context_decode otherwise. */
EMBER_API ember_status ember_context_generate(ember_context* ctx, ember_sampler* sampler, const ember_token* prompt,
                                             size_t n_prompt, const ember_generate_params* params, ember_token_fn on_token,
                                             void* user_data, ember_generate_result* result);

/* ---------------------------------------------------------------------------------------------
 * Quantization
 * ------------------------------------------------------------------------------------------- */

typedef struct ember_quantize_params {
    size_t struct_size;
    const char* preset;          /* required: F32, F16, BF16, Q8_0, Q4_K_M, Q4_K_S, Q3_K_M, Q2_K */
    int32_t n_threads;           /* 0: all hardware threads */
    ember_progress_fn progress;  /* NULL, or called after each tensor; may cancel */
    void* progress_user_data;
} ember_quantize_params;

EMBER_API ember_status ember_quantize_params_init(ember_quantize_params* params, size_t struct_size);
static inline ember_quantize_params ember_quantize_default_params(void) {
    ember_quantize_params p;
    ember_quantize_params_init(&p, sizeof p);
    return p;
}

typedef struct ember_quantize_result {
    size_t struct_size;    /* set by the caller */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t n_tensors;
    uint64_t n_quantized;
} ember_quantize_result;

/* Writes a quantized copy of the GGUF model `input` to `output` (through a temporary file: a
 * failure leaves no partial output), with llama.cpp's quantize presets. result may be NULL.
 * EMBER_ERR_INVALID_ARGUMENT: an unknown preset, or output is input. EMBER_ERR_FILE_NOT_FOUND,
 * EMBER_ERR_BAD_FILE: the input. EMBER_ERR_UNSUPPORTED: an architecture or tensor the preset can
 * not be applied to (or a library built without the quantizer). EMBER_ERR_CANCELLED: progress
 * returned false. EMBER_ERR_IO: writing failed. */
EMBER_API ember_status ember_quantize_file(const char* input, const char* output, const ember_quantize_params* params,
                                          ember_quantize_result* result);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_H */
