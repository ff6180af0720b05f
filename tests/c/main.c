/* main.c - the C unit test runner: every test, or those named on argv. */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "task.h"
#include "tests.h"

/*
 * Usage: prc_tests [--list] [NAME|PREFIX ...]
 *
 * A NAME runs that test; a PREFIX such as "framer" runs every test whose
 * name starts with "framer_".  Each test runs in this process, one after
 * another, under a watchdog alarm (PRC_TEST_TIMEOUT seconds, default 60).
 * The last line of output is always "N passed, N failed"; the exit status
 * is non-zero when anything failed.
 */

#define TEST_DECLARE(name) int run_test_##name(void);
TEST_LIST(TEST_DECLARE)
#undef TEST_DECLARE

typedef struct {
    const char *name;
    int (*fn)(void);
} test_entry;

static const test_entry all_tests[] = {
#define TEST_ENTRY(name) {#name, run_test_##name},
    TEST_LIST(TEST_ENTRY)
#undef TEST_ENTRY
};
#define NTESTS ((int)(sizeof(all_tests) / sizeof(all_tests[0])))

static const char *current_test = "(none)";
static char skip_reason[512];
static int skip_is_bug;

#define MAX_DEFER 64
static struct {
    void (*fn)(void *);
    void *arg;
} defers[MAX_DEFER];
static int ndefers;

void
test__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

int
test_cert_error_code(void)
{
    /* Looked up by name, so that the tests build with cores from before
     * PRC_ECERT too. */
#define PRC_FIND_CERT(name, code, ...)                                        \
    if (strcmp(#name, "ECERT") == 0) {                                        \
        return code;                                                          \
    }
    PRC_ERRNO_MAP(PRC_FIND_CERT)
#undef PRC_FIND_CERT
    return PRC_ETLS;
}

int
test_strict(void)
{
    const char *strict = getenv("PRC_TEST_STRICT");

    return strict != NULL && strcmp(strict, "1") == 0;
}

int
test__skip(int is_bug, const char *file, int line, const char *reason)
{

    snprintf(skip_reason, sizeof(skip_reason), "%s (%s:%d)", reason, file,
             line);
    skip_is_bug = is_bug;
    if (is_bug && test_strict()) {
        test__fail(file, line, "known bug (PRC_TEST_STRICT=1): %s", reason);
        return TEST_FAILED;
    }
    return TEST_SKIPPED;
}

const char *
test__escape(const char *s, size_t len, char *out, size_t outlen)
{
    size_t i, o = 0;

    if (s == NULL) {
        snprintf(out, outlen, "(null)");
        return out;
    }
    for (i = 0; i < len && o + 8 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\r') {
            o += (size_t)snprintf(out + o, outlen - o, "\\r");
        } else if (ch == '\n') {
            o += (size_t)snprintf(out + o, outlen - o, "\\n");
        } else if (ch < 32 || ch >= 127 || ch == '"' || ch == '\\') {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (i < len && o + 4 < outlen) {
        o += (size_t)snprintf(out + o, outlen - o, "...");
    }
    out[o < outlen ? o : outlen - 1] = '\0';
    return out;
}

void
test_defer(void (*fn)(void *), void *arg)
{
    if (ndefers == MAX_DEFER) {
        fprintf(stderr, "test_defer: too many deferred calls\n");
        abort();
    }
    defers[ndefers].fn = fn;
    defers[ndefers].arg = arg;
    ndefers++;
}

static void
run_defers(void)
{
    while (ndefers > 0) {
        ndefers--;
        defers[ndefers].fn(defers[ndefers].arg);
    }
}

double
test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
test_sleep_ms(double ms)
{
    struct timespec ts;

    if (ms <= 0) {
        return;
    }
    ts.tv_sec = (time_t)(ms / 1e3);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1e3) * 1e6);
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int
test_scale(int n)
{
#if defined(__SANITIZE_THREAD__)
    n /= 4;
#endif
    return n < 1 ? 1 : n;
}

int
test_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

static void
on_alarm(int sig)
{
    char msg[256];
    int n;

    (void)sig;
    n = snprintf(msg, sizeof(msg),
                 "\nTIMEOUT: test %s did not finish; aborting\n"
                 "0 passed, 1 failed\n",
                 current_test);
    if (n > 0) {
        (void)!write(2, msg, (size_t)n);
    }
    _exit(3);
}

/* A test name matches "name" exactly or "prefix" as "prefix_...". */
static int
matches(const char *name, const char *pat)
{
    size_t n = strlen(pat);

    return strcmp(name, pat) == 0 ||
           (strncmp(name, pat, n) == 0 && name[n] == '_');
}

static int
selected(const char *name, int argc, char **argv, int first)
{
    int i;

    if (first >= argc) {
        return 1;
    }
    for (i = first; i < argc; i++) {
        if (matches(name, argv[i])) {
            return 1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    int i, j, first = 1, passed = 0, failed = 0, skipped = 0, bugs = 0;
    unsigned timeout = 60;
    const char *env = getenv("PRC_TEST_TIMEOUT");
    char bug_list[8192] = "";

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    if (env != NULL && atoi(env) > 0) {
        timeout = (unsigned)atoi(env);
    }
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (i = 0; i < NTESTS; i++) {
            printf("%s\n", all_tests[i].name);
        }
        return 0;
    }
    /* Every name on argv must match something: a typo is a failure. */
    for (j = first; j < argc; j++) {
        int found = 0;
        for (i = 0; i < NTESTS && !found; i++) {
            found = matches(all_tests[i].name, argv[j]);
        }
        if (!found) {
            fprintf(stderr, "no test named %s (try --list)\n", argv[j]);
            printf("0 passed, 1 failed\n");
            return 2;
        }
    }
    for (i = 0; i < NTESTS; i++) {
        const test_entry *t = &all_tests[i];
        double t0;
        int rc;

        if (!selected(t->name, argc, argv, first)) {
            continue;
        }
        current_test = t->name;
        skip_reason[0] = '\0';
        fflush(stdout);
        t0 = test_now_ms();
        alarm(timeout);
        rc = t->fn();
        run_defers();
        alarm(0);
        prc_clock_set(NULL);
        failalloc_arm(0);
        if (rc == TEST_OK) {
            passed++;
            printf("ok      %-40s %8.1f ms\n", t->name, test_now_ms() - t0);
        } else if (rc == TEST_SKIPPED) {
            skipped++;
            printf("skip    %-40s %s%s\n", t->name, skip_is_bug ? "BUG: " : "",
                   skip_reason);
            if (skip_is_bug) {
                bugs++;
                snprintf(bug_list + strlen(bug_list),
                         sizeof(bug_list) - strlen(bug_list), "  %s\n",
                         t->name);
            }
        } else {
            failed++;
            printf("FAIL    %-40s %8.1f ms\n", t->name, test_now_ms() - t0);
        }
    }
    if (skipped > 0) {
        printf("%d skipped (%d for known bugs in csrc/core)\n", skipped, bugs);
        if (bugs > 0) {
            printf("known bugs (PRC_TEST_STRICT=1 makes them failures):\n%s",
                   bug_list);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
