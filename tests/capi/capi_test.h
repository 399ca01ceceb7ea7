/* A minimal test harness for the C API tests (plain C99, like any C user of ember.h).
 * Each test file defines its cases with TEST(name), lists them in a TEST_LIST and calls
 * run_tests(); the program prints one line per failed check and a closing
 * "N passed, N failed" line, and exits non-zero on any failure. */
#ifndef EMBER_CAPI_TEST_H
#define EMBER_CAPI_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

static int g_checks_failed = 0;
static const char* g_model_path = NULL; /* argv[1]: stories260K.gguf */
static const char* g_tmp_dir = NULL;    /* argv[2]: a writable folder */

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
            ++g_checks_failed;                                                            \
        }                                                                                 \
    } while (0)

/* Checks a status and, for an error, that a message naming the problem was recorded. */
#define CHECK_STATUS(expr, expected)                                                      \
    do {                                                                                  \
        ember_status s_ = (expr);                                                         \
        if (s_ != (expected)) {                                                           \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s); last error: %s\n", \
                    __FILE__, __LINE__, #expr, (int)s_, ember_status_string(s_), (int)(expected), \
                    ember_status_string(expected), ember_last_error());                   \
            ++g_checks_failed;                                                            \
        } else if (s_ != EMBER_OK && ember_last_error()[0] == '\0') {                     \
            fprintf(stderr, "%s:%d: %s failed without a message\n", __FILE__, __LINE__, #expr); \
            ++g_checks_failed;                                                            \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, EMBER_OK)

/* The last error mentions `text` (e.g. the bad parameter's name). */
#define CHECK_MESSAGE(text)                                                               \
    do {                                                                                  \
        if (!strstr(ember_last_error(), (text))) {                                        \
            fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n", __FILE__, \
                    __LINE__, ember_last_error(), (text));                                \
            ++g_checks_failed;                                                            \
        }                                                                                 \
    } while (0)

/* Ends the current test when a check that later ones depend on fails. */
#define REQUIRE_OK(expr)                                                                  \
    do {                                                                                  \
        int before_ = g_checks_failed;                                                    \
        CHECK_OK(expr);                                                                   \
        if (g_checks_failed != before_) return;                                           \
    } while (0)

typedef struct test_case {
    const char* name;
    void (*fn)(void);
} test_case;

#define TEST(name) static void name(void)

static inline int run_tests(int argc, char** argv, const test_case* tests, size_t n) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL TMP_DIR [TEST]\n", argv[0]);
        return 2;
    }
    g_model_path = argv[1];
    g_tmp_dir = argv[2];
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; ++i) {
        if (argc > 3 && strcmp(argv[3], tests[i].name) != 0) continue;
        const int before = g_checks_failed;
        tests[i].fn();
        if (g_checks_failed == before) {
            ++passed;
        } else {
            ++failed;
            fprintf(stderr, "FAILED: %s\n", tests[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define RUN_TESTS(...)                                                                    \
    int main(int argc, char** argv) {                                                     \
        static const test_case tests_[] = {__VA_ARGS__};                                  \
        return run_tests(argc, argv, tests_, sizeof tests_ / sizeof tests_[0]);           \
    }
#define T(name) {#name, name}

/* Small helpers shared by the tests. */
static inline ember_model* load_test_model(void) {
    ember_model* m = NULL;
    if (ember_model_load(g_model_path, NULL, &m) != EMBER_OK) {
        fprintf(stderr, "cannot load %s: %s\n", g_model_path, ember_last_error());
        ++g_checks_failed;
        return NULL;
    }
    return m;
}

static inline size_t tokenize(const ember_model* m, const char* text, ember_token* out, size_t capacity) {
    size_t n = 0;
    if (ember_model_tokenize(m, text, strlen(text), true, false, out, capacity, &n) != EMBER_OK) {
        fprintf(stderr, "tokenize failed: %s\n", ember_last_error());
        ++g_checks_failed;
        return 0;
    }
    return n;
}

static inline void tmp_path(char* buf, size_t cap, const char* name) { snprintf(buf, cap, "%s/%s", g_tmp_dir, name); }

#endif
