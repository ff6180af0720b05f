/* test_alloc.c - allocation failures, injected with the failing allocator. */
#include <stdlib.h>

#include "pooltest.h"

TEST_IMPL(alloc_wrapper_works)
{
    void *volatile p;

    if (!failalloc_available()) {
        SKIP("built without -Wl,--wrap=malloc (see tests/c/Makefile)");
    }
    failalloc_arm(2);
    p = malloc(8); /* 1: succeeds */
    ASSERT_NOT_NULL(p);
    free(p);
    ASSERT_NULL(calloc(1, 8)); /* 2: fails */
    ASSERT(failalloc_fired());
    p = strdup("x"); /* 3: succeeds again */
    ASSERT_NOT_NULL(p);
    free(p);
    ASSERT_EQ(failalloc_count(), 3);
    failalloc_arm(0);
    return TEST_OK;
}

/* prc_pool_new fails cleanly, with PRC_ENOMEM and nothing leaked (ASan),
 * whichever of its allocations fails. */
TEST_IMPL(alloc_pool_new)
{
    prc_opts_t o;
    prc_pool_t *p;
    char eb[128];
    long n;
    int err, failures = 0, fired;

    if (!failalloc_available()) {
        SKIP("built without -Wl,--wrap=malloc (see tests/c/Makefile)");
    }
    prc_opts_init(&o);
    o.host = "127.0.0.1";
    o.unix_path = "/tmp/prc-none.sock";
    o.username = "user";
    o.password = "secret";
    o.client_name = "name";
    o.db = 4;
    o.tls_ca_file = "/ca.pem";
    o.tls_ca_path = "/ca";
    o.tls_cert_file = "/cert.pem";
    o.tls_key_file = "/key.pem";
    o.tls_server_name = "redis.example";
    for (n = 1; n < 100; n++) {
        err = 0;
        eb[0] = '\0';
        failalloc_arm(n);
        p = prc_pool_new(&o, &err, eb, sizeof(eb));
        fired = failalloc_fired();
        failalloc_arm(0);
        if (!fired) {
            /* Past the last allocation: it succeeds. */
            ASSERT_NOT_NULL(p);
            prc_pool_free(p);
            break;
        }
        if (p != NULL) {
            prc_pool_free(p);
            test__fail(__FILE__, __LINE__, "allocation %ld failed unseen", n);
        }
        ASSERT_NULL(p);
        ASSERT_CODE(err, PRC_ENOMEM);
        ASSERT_STR_CONTAINS(eb, "out of memory");
        failures++;
    }
    /* The pool, the three option strings its connections keep (host,
     * unix path, TLS server name) and one block for the three setup
     * commands: the secrets and the TLS file names are not kept. */
    ASSERT_GE(failures, 5);
    ASSERT_LT(n, 100);
    return TEST_OK;
}

/* A call whose allocations fail one by one: ENOMEM, never a crash, a leak
 * or a breaker failure; the pool stays usable. */
static int
call_with_failures(fakesrv_t *srv, const char *req, int with_auth,
                   int *failures)
{
    long n;

    *failures = 0;
    for (n = 1; n < 50; n++) {
        prc_opts_t o;
        prc_pool_t *p;
        prc_call_t call;
        prc_pool_stats_t st;
        char eb[128];
        int err, rc, fired;

        pt_opts(&o, srv);
        o.password = with_auth ? "pw" : NULL;
        p = prc_pool_new(&o, &err, eb, sizeof(eb));
        ASSERT_NOT_NULL(p);
        failalloc_arm(n);
        rc = pt_call(p, &call, req, 1, PRC_CALL_READONLY, 2.0);
        fired = failalloc_fired();
        failalloc_arm(0);
        prc_call_finish(p, &call, rc);
        prc_pool_stats(p, &st);
        if (fired) {
            if (rc != PRC_ENOMEM) {
                test__fail(__FILE__, __LINE__, "allocation %ld: %s", n,
                           call.errstr);
            }
            ASSERT_CODE(rc, PRC_ENOMEM);
            ASSERT_EQ(call.retries, 0);
            (*failures)++;
        } else {
            ASSERT_EQ(rc, 0);
        }
        ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
        ASSERT_EQ(st.in_use, 0);
        /* The same pool works once memory is back. */
        ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 2.0), 0);
        prc_call_finish(p, &call, PRC_OK);
        prc_pool_free(p);
        if (!fired) {
            break;
        }
    }
    ASSERT_LT(n, 50);
    return TEST_OK;
}

TEST_IMPL(alloc_pool_call)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    int failures;

    if (!failalloc_available()) {
        SKIP("built without -Wl,--wrap=malloc (see tests/c/Makefile)");
    }
    START_FAKE(srv, &so);
    /* The connection, its reply buffer (in the handshake). */
    CHECK(call_with_failures(srv, PING_REQ, 1, &failures));
    ASSERT_GE(failures, 2);
    /* The connection, its buffer, then growing it for a 100 kB reply. */
    CHECK(call_with_failures(srv, "*2\r\n$3\r\nBIG\r\n$6\r\n100000\r\n", 0,
                             &failures));
    ASSERT_GE(failures, 3);
    return TEST_OK;
}
