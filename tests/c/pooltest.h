/* pooltest.h - helpers shared by the pool and connection tests. */
#ifndef PRC_TEST_POOLTEST_H
#define PRC_TEST_POOLTEST_H

#include <stdatomic.h>

#include "call_int.h"
#include "fakesrv.h"
#include "prc_int.h"
#include "task.h"

#define PING_REQ "*1\r\n$4\r\nPING\r\n"
#define GET_REQ "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
#define SET_REQ "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"

/* Counts of the blocking hooks, per `what` (PRC_BLOCK_*). */
typedef struct {
    _Atomic int before[5];
    _Atomic int after[5];
    _Atomic int depth; /* before without after yet: never above 1 */
    _Atomic int max_depth;
} hook_counts_t;

/* Options for a fake server on loopback: short timeouts (1 s), fast
 * retries (10-50 ms backoff), breaker on with its defaults. */
void pt_opts(prc_opts_t *o, const fakesrv_t *srv);
/* Install counting hooks into o. */
void pt_hooks(prc_opts_t *o, hook_counts_t *h);
/* A pool freed after the test (test_defer); NULL with the error
 * printed when prc_pool_new fails. */
prc_pool_t *pt_pool(const prc_opts_t *o);
/* A connection config built from o (prc__conn_cfg_init), freed after the
 * test: what a connection needs, with no pool.  NULL with the error
 * printed on failure. */
prc_conn_cfg_t *pt_cfg(const prc_opts_t *o);
/* Format argv (NULL-terminated) as a RESP command into out; its length. */
size_t pt_format(char *out, size_t cap, const char *const *argv);
/* prc_call_init + prc_pool_call with a deadline `timeout` s from now. */
int pt_call(prc_pool_t *p, prc_call_t *call, const char *req, int nreplies,
            int flags, double timeout);
/* The reply bytes of a successful call equal `expect`? */
int pt_replies_are(prc_call_t *call, const char *expect);
/* A start_fake wrapper that fails the test when the server cannot start. */
#define START_FAKE(var, opts)                                                 \
    do {                                                                      \
        (var) = fakesrv_start(opts);                                          \
        ASSERT_NOT_NULL(var);                                                 \
    } while (0)

#endif /* PRC_TEST_POOLTEST_H */
