/* task.h - assertion macros and helpers shared by the C unit tests. */
#ifndef PRC_TEST_TASK_H
#define PRC_TEST_TASK_H

/*
 * Modelled on libuv's test/task.h.  A test is `TEST_IMPL(name)`, a
 * function returning TEST_OK, TEST_FAILED or TEST_SKIPPED.  Every ASSERT_*
 * macro prints the expression, both values and file:line, then returns
 * TEST_FAILED from the function it is used in, so helpers that assert
 * return int too and are called through CHECK().  Worker threads must not
 * use ASSERT_*: they record what they saw and the test asserts after the
 * join.
 *
 * Cleanup that must happen whatever the outcome (pools, fake servers) is
 * registered with test_defer(); the runner runs it after the test, last
 * registered first.
 */

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "prc.h"

enum { TEST_OK = 0, TEST_FAILED = 1, TEST_SKIPPED = 2 };

#define TEST_IMPL(name) int run_test_##name(void)

/* Print "file:line: message" for a failed assertion (runner, main.c). */
void test__fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record a skip; returns TEST_SKIPPED, or TEST_FAILED for a known bug
 * when PRC_TEST_STRICT=1 is set in the environment. */
int test__skip(const char *file, int line, const char *reason);
/* Print `len` bytes with C escapes into out (for messages). */
const char *test__escape(const char *s, size_t len, char *out, size_t outlen);

#define ASSERT(expr)                                                          \
    do {                                                                      \
        if (!(expr)) {                                                        \
            test__fail(__FILE__, __LINE__, "assertion failed: %s", #expr);    \
            return TEST_FAILED;                                               \
        }                                                                     \
    } while (0)

#define ASSERT_BASE(a, op, b, type, fmt)                                      \
    do {                                                                      \
        type eval_a = (type)(a);                                              \
        type eval_b = (type)(b);                                              \
        if (!(eval_a op eval_b)) {                                            \
            test__fail(__FILE__, __LINE__,                                    \
                       "assertion failed: %s %s %s (" fmt " %s " fmt ")", #a, \
                       #op, #b, eval_a, #op, eval_b);                         \
            return TEST_FAILED;                                               \
        }                                                                     \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_BASE(a, ==, b, int64_t, "%" PRId64)
#define ASSERT_NE(a, b) ASSERT_BASE(a, !=, b, int64_t, "%" PRId64)
#define ASSERT_LT(a, b) ASSERT_BASE(a, <, b, int64_t, "%" PRId64)
#define ASSERT_LE(a, b) ASSERT_BASE(a, <=, b, int64_t, "%" PRId64)
#define ASSERT_GT(a, b) ASSERT_BASE(a, >, b, int64_t, "%" PRId64)
#define ASSERT_GE(a, b) ASSERT_BASE(a, >=, b, int64_t, "%" PRId64)
#define ASSERT_UINT64_EQ(a, b) ASSERT_BASE(a, ==, b, uint64_t, "%" PRIu64)
#define ASSERT_UINT64_NE(a, b) ASSERT_BASE(a, !=, b, uint64_t, "%" PRIu64)
#define ASSERT_DOUBLE_EQ(a, b) ASSERT_BASE(a, ==, b, double, "%.17g")
#define ASSERT_DOUBLE_LE(a, b) ASSERT_BASE(a, <=, b, double, "%.17g")
#define ASSERT_DOUBLE_LT(a, b) ASSERT_BASE(a, <, b, double, "%.17g")
#define ASSERT_DOUBLE_GE(a, b) ASSERT_BASE(a, >=, b, double, "%.17g")
#define ASSERT_DOUBLE_GT(a, b) ASSERT_BASE(a, >, b, double, "%.17g")
#define ASSERT_PTR_EQ(a, b) ASSERT_BASE(a, ==, b, const void *, "%p")
#define ASSERT_PTR_NE(a, b) ASSERT_BASE(a, !=, b, const void *, "%p")
#define ASSERT_NULL(a) ASSERT_PTR_EQ(a, NULL)
#define ASSERT_NOT_NULL(a) ASSERT_PTR_NE(a, NULL)

/* Error codes: prints names as well as numbers. */
#define ASSERT_CODE(a, b)                                                     \
    do {                                                                      \
        int eval_a = (a);                                                     \
        int eval_b = (b);                                                     \
        if (eval_a != eval_b) {                                               \
            test__fail(__FILE__, __LINE__,                                    \
                       "assertion failed: %s == %s (%s(%d) == %s(%d))", #a,   \
                       #b, prc_err_name(eval_a), eval_a,                      \
                       prc_err_name(eval_b), eval_b);                         \
            return TEST_FAILED;                                               \
        }                                                                     \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                   \
    do {                                                                      \
        const char *eval_a = (a);                                             \
        const char *eval_b = (b);                                             \
        if (eval_a == NULL || eval_b == NULL || strcmp(eval_a, eval_b)) {     \
            test__fail(__FILE__, __LINE__,                                    \
                       "assertion failed: %s == %s (\"%s\" == \"%s\")", #a,   \
                       #b, eval_a ? eval_a : "(null)",                        \
                       eval_b ? eval_b : "(null)");                           \
            return TEST_FAILED;                                               \
        }                                                                     \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                      \
    do {                                                                      \
        const char *eval_a = (hay);                                           \
        const char *eval_b = (needle);                                        \
        if (eval_a == NULL || strstr(eval_a, eval_b) == NULL) {               \
            test__fail(__FILE__, __LINE__,                                    \
                       "assertion failed: %s contains %s (\"%s\" does not "   \
                       "contain \"%s\")",                                     \
                       #hay, #needle, eval_a ? eval_a : "(null)", eval_b);    \
            return TEST_FAILED;                                               \
        }                                                                     \
    } while (0)

/* Byte strings: (a, alen) equals the NUL-terminated b. */
#define ASSERT_MEM_EQ(a, alen, b)                                             \
    do {                                                                      \
        const char *eval_a = (a);                                             \
        size_t eval_alen = (alen);                                            \
        const char *eval_b = (b);                                             \
        size_t eval_blen = strlen(eval_b);                                    \
        if (eval_alen != eval_blen ||                                         \
            (eval_alen && memcmp(eval_a, eval_b, eval_alen))) {               \
            char esc_a[256], esc_b[256];                                      \
            test__fail(__FILE__, __LINE__,                                    \
                       "assertion failed: %s == %s (\"%s\" [%zu] == \"%s\" "  \
                       "[%zu])",                                              \
                       #a, #b,                                                \
                       test__escape(eval_a, eval_alen, esc_a, sizeof(esc_a)), \
                       eval_alen,                                             \
                       test__escape(eval_b, eval_blen, esc_b, sizeof(esc_b)), \
                       eval_blen);                                            \
            return TEST_FAILED;                                               \
        }                                                                     \
    } while (0)

/* Propagate a helper's failure. */
#define CHECK(expr)                                                           \
    do {                                                                      \
        int check_rc = (expr);                                                \
        if (check_rc == TEST_FAILED) {                                        \
            test__fail(__FILE__, __LINE__, "from here: %s", #expr);           \
        }                                                                     \
        if (check_rc != TEST_OK) {                                            \
            return check_rc;                                                  \
        }                                                                     \
    } while (0)

/* A skip for a missing tool (redis-server not on PATH...). */
#define SKIP(reason) return test__skip(__FILE__, __LINE__, reason)

/* ---- helpers (main.c) --------------------------------------------------- */

/* Run fn(arg) after the current test, whatever its outcome (LIFO). */
void test_defer(void (*fn)(void *), void *arg);
/* CLOCK_MONOTONIC in ms, bypassing the core's injectable clock. */
double test_now_ms(void);
void test_sleep_ms(double ms);
/* Scale for loop counts: 1 normally, smaller under TSan (slow). */
int test_scale(int n);
/* The code of a certificate verification failure: PRC_ECERT where the
 * core has it (its own, uncounted code), else PRC_ETLS. */
int test_cert_error_code(void);
/* A loopback TCP port that was free a moment ago. */
int test_free_port(void);

/* ---- failing allocator (failalloc.c) ------------------------------------ */

/*
 * With -Wl,--wrap=malloc,calloc,realloc,strdup (see the Makefile) every
 * allocation the core makes goes through failalloc.  Arming is per
 * thread: allocations on other threads (a fake server) are not counted.
 */
/* Make the n-th allocation (1-based) on this thread fail; 0 disarms. */
void failalloc_arm(long n);
/* Allocations counted on this thread since arming. */
long failalloc_count(void);
/* Did the armed failure happen? */
int failalloc_fired(void);
/* 1 when the wrappers are linked in (the Makefile passes --wrap). */
int failalloc_available(void);

#endif /* PRC_TEST_TASK_H */
