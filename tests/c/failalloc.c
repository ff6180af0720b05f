/* failalloc.c - a failing allocator for the test binary (--wrap=malloc). */
#include <stdlib.h>
#include <string.h>

#include "task.h"

/*
 * hiredis 0.14 has no allocator hook, so the test binary is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup (STYLE.md
 * "Tests"; sqlite.org/testing.html): every call to these functions from
 * the core's and the tests' objects lands here.  Calls made inside shared
 * libraries (hiredis's formatter, libc's getaddrinfo) are not wrapped.
 *
 * The __real_* symbols are weak so that a build without --wrap still
 * links; failalloc_available() then reports 0 and the tests that need the
 * allocator skip.
 */
extern void *__real_malloc(size_t n) __attribute__((weak));
extern void *__real_calloc(size_t n, size_t size) __attribute__((weak));
extern void *__real_realloc(void *p, size_t n) __attribute__((weak));
extern char *__real_strdup(const char *s) __attribute__((weak));

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

/* Per thread, so that a fake server's allocations are never failed. */
static _Thread_local long fail_at; /* 0: disarmed */
static _Thread_local long counted;
static _Thread_local int fired;
static _Thread_local volatile int probing; /* volatile: malloc is a builtin */

void
failalloc_arm(long n)
{
    fail_at = n;
    counted = 0;
    fired = 0;
}

long
failalloc_count(void)
{
    return counted;
}

int
failalloc_fired(void)
{
    return fired;
}

/* Count one allocation; 1 when it must fail. */
static int
should_fail(void)
{
    if (probing) {
        return 1;
    }
    if (fail_at <= 0) {
        return 0;
    }
    if (++counted == fail_at) {
        fired = 1;
        return 1;
    }
    return 0;
}

void *
__wrap_malloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
    if (should_fail()) {
        return NULL;
    }
    return __real_strdup(s);
}

int
failalloc_available(void)
{
    /* With --wrap, this malloc call is our wrapper and fails. */
    void *volatile p;

    if (__real_malloc == NULL) {
        return 0;
    }
    probing = 1;
    p = malloc(16);
    probing = 0;
    if (p != NULL) {
        free(p);
        return 0;
    }
    return 1;
}
