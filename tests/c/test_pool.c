/* test_pool.c - the pool and the blocking call driver, on a fake server. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pooltest.h"

/* prc_pool_new refuses the options `stmt` makes, naming `option`. */
#define BAD_OPTS(option, stmt)                                                \
    do {                                                                      \
        prc_opts_t bo;                                                        \
        char eb[128] = "";                                                    \
        int err = 0;                                                          \
        prc_opts_init(&bo);                                                   \
        stmt;                                                                 \
        ASSERT_NULL(prc_pool_new(&bo, &err, eb, sizeof(eb)));                 \
        ASSERT_CODE(err, PRC_EINVAL);                                         \
        ASSERT_STR_CONTAINS(eb, "invalid pool option " option ":");           \
    } while (0)

TEST_IMPL(pool_new_validation)
{
    prc_opts_t o;
    prc_pool_stats_t st;
    prc_pool_t *p;
    char eb[256] = "";
    int err = -99;

    BAD_OPTS("max_connections", bo.max_connections = 0);
    BAD_OPTS("max_connections", bo.max_connections = -1);
    BAD_OPTS("port", bo.port = -1);
    BAD_OPTS("port", bo.port = 65536);
    BAD_OPTS("db", bo.db = -1);
    BAD_OPTS("host", bo.host = NULL);
    BAD_OPTS("max_reply_bytes", bo.max_reply_bytes = 63);
    BAD_OPTS("max_reply_bytes", bo.max_reply_bytes = 0);
    /* Numbers the core cannot compute with, whatever they mean. */
    BAD_OPTS("socket_timeout", bo.socket_timeout = NAN);
    BAD_OPTS("socket_connect_timeout", bo.connect_timeout = INFINITY);
    BAD_OPTS("pool_timeout", bo.pool_timeout = 2e9);
    BAD_OPTS("health_check_interval", bo.health_check_interval = -INFINITY);
    BAD_OPTS("retry_base", bo.retry_base = NAN);
    BAD_OPTS("failure_rate_threshold", bo.failure_rate = NAN);
    BAD_OPTS("wait_slice", bo.wait_slice = NAN);
    BAD_OPTS("ssl_cert_reqs", bo.tls_verify = 3);

    /* The defaults are valid; no connection is opened yet. */
    prc_opts_init(&o);
    ASSERT_DOUBLE_EQ(o.socket_timeout, 5.0);
    ASSERT_DOUBLE_EQ(o.connect_timeout, 5.0);
    ASSERT_DOUBLE_EQ(o.pool_timeout, 5.0);
    ASSERT_EQ(o.max_connections, 50);
    ASSERT_EQ(o.retry_attempts, 3);
    ASSERT_EQ(o.breaker_enabled, 1);
    ASSERT_EQ(o.max_reply_bytes, 512u * 1024 * 1024);
    p = prc_pool_new(&o, &err, eb, sizeof(eb));
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(err, 0);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 0);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(st.max_connections, 50);
    ASSERT_EQ(prc_breaker_state(prc_pool_breaker(p)), PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_pool_closed(p), 0);
    prc_pool_disconnect(p,
                        1); /* redis-py's disconnect(): the pool stays open */
    ASSERT_EQ(prc_pool_closed(p), 0);
    prc_pool_close(p);
    ASSERT_EQ(prc_pool_closed(p), 1);
    prc_pool_close(p); /* idempotent */
    ASSERT_EQ(prc_pool_closed(p), 1);
    prc_pool_free(p);
    prc_pool_free(NULL);

    /* Edge values that are fine. */
    prc_opts_init(&o);
    o.host = NULL;
    o.unix_path = "/tmp/prc-test-none.sock";
    o.port = 0;
    o.max_reply_bytes = 64;
    o.max_connections = 1;
    p = prc_pool_new(&o, &err, eb, sizeof(eb));
    ASSERT_NOT_NULL(p);
    prc_pool_free(p);

    /* TLS: a CA file that does not exist is reported at creation. */
    prc_opts_init(&o);
    o.tls = 1;
    o.tls_ca_file = "/nonexistent/ca.pem";
    ASSERT_NULL(prc_pool_new(&o, &err, eb, sizeof(eb)));
    ASSERT_CODE(err, PRC_ETLS);
    ASSERT_STR_CONTAINS(eb, "loading TLS CA certificates");
    prc_opts_init(&o);
    o.tls = 1;
    o.tls_cert_file = "/nonexistent/client.pem";
    o.tls_verify = PRC_TLS_VERIFY_NONE;
    ASSERT_NULL(prc_pool_new(&o, &err, eb, sizeof(eb)));
    ASSERT_CODE(err, PRC_ETLS);
    ASSERT_STR_CONTAINS(eb, "client certificate");
    /* With the system CAs a TLS pool is created. */
    prc_opts_init(&o);
    o.tls = 1;
    p = prc_pool_new(&o, &err, eb, sizeof(eb));
    ASSERT_NOT_NULL(p);
    prc_pool_free(p);
    return TEST_OK;
}

TEST_IMPL(pool_new_copies_strings)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char host[32], pw[32], user[32], name[32], line[128];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    strcpy(host, "127.0.0.1");
    strcpy(pw, "s3cret");
    strcpy(user, "alice");
    strcpy(name, "app-1");
    o.host = host;
    o.password = pw;
    o.username = user;
    o.client_name = name;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* The caller's buffers are gone: the pool kept copies. */
    memset(host, 'X', sizeof(host) - 1);
    memset(pw, 'X', sizeof(pw) - 1);
    memset(user, 'X', sizeof(user) - 1);
    memset(name, 'X', sizeof(name) - 1);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_log(srv, 0, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "AUTH alice s3cret");
    ASSERT_EQ(fakesrv_log(srv, 1, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "CLIENT SETNAME app-1");
    ASSERT_EQ(fakesrv_log(srv, 2, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "PING");
    return TEST_OK;
}

TEST_IMPL(pool_call_success)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    prc_conn_t *first;
    int i;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_READONLY, 1.0), 0);
    ASSERT_EQ(call.err, 0);
    ASSERT_EQ(call.retries, 0);
    ASSERT_EQ(call.errstr[0], '\0');
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    ASSERT_GE(prc_conn_fd(ST(&call)->conn), 0);
    first = ST(&call)->conn;
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(st.in_use, 1);
    ASSERT_EQ(st.idle, 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_NULL(ST(&call)->conn);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.idle, 1);
    /* Later calls reuse the pooled connection. */
    for (i = 0; i < 20; i++) {
        ASSERT_EQ(
            pt_call(p, &call, "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n", 1, 0, 1.0),
            0);
        ASSERT_PTR_EQ(ST(&call)->conn, first);
        CHECK(pt_replies_are(&call, "$3\r\nabc\r\n"));
        prc_call_finish(p, &call, PRC_OK);
    }
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(st.closed, 0);
    ASSERT_EQ(st.errors, 0);
    ASSERT_EQ(st.retries, 0);
    ASSERT_EQ(st.waits, 0);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    ASSERT_EQ(fakesrv_commands(srv), 21);
    ASSERT_EQ(prc_breaker_state(prc_pool_breaker(p)), PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    return TEST_OK;
}

TEST_IMPL(pool_pipeline)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char req[512];
    size_t n = 0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    n += pt_format(req + n, sizeof(req) - n, (const char *[]){"PING", NULL});
    n += pt_format(req + n, sizeof(req) - n,
                   (const char *[]){"ECHO", "hello", NULL});
    n += pt_format(req + n, sizeof(req) - n,
                   (const char *[]){"SET", "k", "v", NULL});
    n += pt_format(req + n, sizeof(req) - n,
                   (const char *[]){"ARR", "2", "1", NULL});
    ASSERT_EQ(pt_call(p, &call, req, 4, 0, 1.0), 0);
    CHECK(pt_replies_are(&call, "+PONG\r\n$5\r\nhello\r\n+OK\r\n"
                                "*2\r\n$1\r\ny\r\n$1\r\ny\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 4);
    return TEST_OK;
}

TEST_IMPL(pool_exhaustion)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, b;
    prc_pool_stats_t st;
    hook_counts_t h;
    double t0, ms;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 1;
    o.pool_timeout = 0.15;
    pt_hooks(&o, &h);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* `a` holds the only connection (not finished). */
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 1.0), 0);
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &b, PING_REQ, 1, 0, 1.0), PRC_EPOOLTIMEOUT);
    ms = test_now_ms() - t0;
    ASSERT_CODE(b.err, PRC_EPOOLTIMEOUT);
    ASSERT_STR_CONTAINS(b.errstr, "timed out waiting for a connection");
    ASSERT_GE(ms, 145);
    ASSERT_LE(ms, 150 + 250);
    ASSERT_GE(atomic_load(&h.before[PRC_BLOCK_POOL]), 1);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_POOL]),
              atomic_load(&h.after[PRC_BLOCK_POOL]));
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.waits, 1);
    ASSERT_EQ(st.timeouts, 1);
    ASSERT_EQ(st.in_use, 1);
    ASSERT_EQ(st.created, 1);
    /* A pool timeout says nothing about the server: not counted. */
    prc_call_finish(p, &b, PRC_EPOOLTIMEOUT);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    prc_call_finish(p, &a, PRC_OK);
    /* The connection is free again and reused. */
    ASSERT_EQ(pt_call(p, &b, PING_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &b, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.errors, 1);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    return TEST_OK;
}

TEST_IMPL(pool_disconnect)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, b;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* Two connections: `a` stays in use, `b` goes back idle. */
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 1.0), 0);
    ASSERT_EQ(pt_call(p, &b, PING_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &b, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.idle, 1);
    ASSERT_EQ(st.in_use, 1);
    /* Without in_use: the idle one closes, `a` goes back idle later. */
    prc_pool_disconnect(p, 0);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(st.closed, 1);
    prc_call_finish(p, &a, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.idle, 1);
    /* With in_use: `a`, taken again, closes when given back. */
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 1.0), 0);
    prc_pool_disconnect(p, 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 1);
    ASSERT_EQ(st.closed, 1);
    prc_call_finish(p, &a, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(st.closed, 2);
    /* The pool stays open: the next call connects afresh, and is kept. */
    ASSERT_EQ(pt_call(p, &b, PING_REQ, 1, 0, 1.0), 0);
    CHECK(pt_replies_are(&b, "+PONG\r\n"));
    prc_call_finish(p, &b, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 3);
    ASSERT_EQ(st.idle, 1);
    ASSERT_EQ(fakesrv_accepted(srv), 3);
    /* After close: nothing left to do, and no harm. */
    prc_pool_close(p);
    prc_pool_disconnect(p, 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 3);
    return TEST_OK;
}

TEST_IMPL(pool_timeout_capped_by_deadline)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, b;
    double t0, ms;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 1;
    o.pool_timeout = 5.0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 1.0), 0);
    /* The call's own deadline (0.1 s) is shorter than pool_timeout. */
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &b, PING_REQ, 1, 0, 0.1), PRC_EPOOLTIMEOUT);
    ms = test_now_ms() - t0;
    ASSERT_GE(ms, 95);
    ASSERT_LE(ms, 100 + 250);
    prc_call_finish(p, &b, b.err);
    prc_call_finish(p, &a, PRC_OK);
    return TEST_OK;
}

/* ---- threads ------------------------------------------------------------ */

typedef struct {
    prc_pool_t *p;
    int calls;
    int ok;
    int bad_reply;
    int first_err;
} worker_t;

static void *
pool_worker(void *arg)
{
    worker_t *w = arg;
    int i;

    for (i = 0; i < w->calls; i++) {
        prc_call_t call;
        int rc = pt_call(w->p, &call, PING_REQ, 1, PRC_CALL_READONLY, 5.0);
        if (rc == 0) {
            size_t len;
            const char *r = prc_conn_replies(ST(&call)->conn, &len);
            if (len == 7 && memcmp(r, "+PONG\r\n", 7) == 0) {
                w->ok++;
            } else {
                w->bad_reply++;
            }
        } else if (w->first_err == 0) {
            w->first_err = rc;
        }
        prc_call_finish(w->p, &call, rc);
    }
    return NULL;
}

TEST_IMPL(pool_threads)
{
    enum { NT = 8 };
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    pthread_t th[NT];
    worker_t w[NT];
    prc_pool_stats_t st;
    int i, ok = 0, calls = test_scale(200);

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 4;
    o.pool_timeout = 5.0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    for (i = 0; i < NT; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].p = p;
        w[i].calls = calls;
        ASSERT_EQ(pthread_create(&th[i], NULL, pool_worker, &w[i]), 0);
    }
    for (i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
    }
    for (i = 0; i < NT; i++) {
        if (w[i].first_err != 0) {
            test__fail(__FILE__, __LINE__, "thread %d: %s", i,
                       prc_err_name(w[i].first_err));
        }
        ASSERT_EQ(w[i].bad_reply, 0);
        ok += w[i].ok;
    }
    ASSERT_EQ(ok, NT * calls);
    prc_pool_stats(p, &st);
    ASSERT_LE(st.created, 4);
    ASSERT_GE(st.created, 1);
    ASSERT_EQ(st.closed, 0);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.idle, st.created);
    ASSERT_EQ(st.errors, 0);
    ASSERT_EQ(st.timeouts, 0);
    ASSERT_EQ(st.retries, 0);
    ASSERT_EQ(fakesrv_commands(srv), NT * calls);
    ASSERT_LE(fakesrv_max_open(srv), 4);
    ASSERT_EQ(fakesrv_accepted(srv), st.created);
    return TEST_OK;
}

/* ---- close ------------------------------------------------------------- */

typedef struct {
    prc_pool_t *p;
    const char *req;
    int flags;
    double timeout;
    prc_call_t call;
    int rc;
    double ms;
} bg_call_t;

static void *
bg_call(void *arg)
{
    bg_call_t *b = arg;
    double t0 = test_now_ms();

    b->rc = pt_call(b->p, &b->call, b->req, 1, b->flags, b->timeout);
    b->ms = test_now_ms() - t0;
    return NULL;
}

TEST_IMPL(pool_close_wakes_waiter)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, c;
    bg_call_t b = {0};
    pthread_t th;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 1;
    o.pool_timeout = 5.0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 5.0), 0);
    b.p = p;
    b.req = PING_REQ;
    b.timeout = 5.0;
    ASSERT_EQ(pthread_create(&th, NULL, bg_call, &b), 0);
    /* Close only once the thread waits for the connection (its start may
     * lag on a loaded machine), and a little after. */
    for (int i = 0; i < 500; i++) {
        prc_pool_stats(p, &st);
        if (st.waits >= 1)
            break;
        test_sleep_ms(10);
    }
    ASSERT_EQ(st.waits, 1);
    test_sleep_ms(50);
    prc_pool_close(p);
    pthread_join(th, NULL);
    ASSERT_CODE(b.rc, PRC_ECLOSED);
    ASSERT_GE(b.ms, 40);   /* it waited until the close ... */
    ASSERT_LT(b.ms, 1000); /* ... and the close woke it, not pool_timeout */
    prc_call_finish(p, &b.call, b.rc);
    /* The holder finishes normally; its connection is closed, not
     * pooled, since the pool is closed. */
    prc_call_finish(p, &a, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(st.idle, 0);
    /* New calls are refused at once. */
    ASSERT_CODE(pt_call(p, &c, PING_REQ, 1, 0, 1.0), PRC_ECLOSED);
    prc_call_finish(p, &c, c.err);
    return TEST_OK;
}

TEST_IMPL(pool_close_wakes_reader)
{
    fakesrv_opts_t so = {.delay_ms = 10000}; /* reads, answers never */
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    bg_call_t b = {0};
    pthread_t th;
    prc_pool_stats_t st;
    int i;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    b.p = p;
    b.req = SET_REQ;
    b.timeout = 5.0;
    ASSERT_EQ(pthread_create(&th, NULL, bg_call, &b), 0);
    /* Once the server has the command, the reader is blocked in poll. */
    for (i = 0; i < 500 && fakesrv_commands(srv) < 1; i++) {
        test_sleep_ms(2);
    }
    test_sleep_ms(20);
    /* close() shuts its socket down and it returns at once, long before
     * its deadline. */
    prc_pool_close(p);
    pthread_join(th, NULL);
    /* ECLOSED ("the client was closed during the call"); older cores
     * reported the shutdown as ECONNLOST. */
    if (b.rc != PRC_ECONNLOST) {
        ASSERT_CODE(b.rc, PRC_ECLOSED);
    }
    ASSERT_LT(b.ms, 1000);
    prc_call_finish(p, &b.call, b.rc);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.created, st.closed);
    return TEST_OK;
}

/* close() while another thread is still opening its connection (here:
 * waiting for the AUTH reply): it returns at once. */
TEST_IMPL(pool_close_during_handshake)
{
    fakesrv_opts_t so = {.mode = FS_HANG};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    bg_call_t b = {0};
    pthread_t th;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.connect_timeout = 5.0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    b.p = p;
    b.req = GET_REQ;
    b.flags = PRC_CALL_READONLY;
    b.timeout = 5.0;
    ASSERT_EQ(pthread_create(&th, NULL, bg_call, &b), 0);
    test_sleep_ms(100);
    prc_pool_close(p);
    pthread_join(th, NULL);
    if (b.rc != PRC_ECONNLOST) {
        ASSERT_CODE(b.rc, PRC_ECLOSED);
    }
    ASSERT_LT(b.ms, 1000);
    ASSERT_EQ(b.call.retries, 0);
    prc_call_finish(p, &b.call, b.rc);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.created, st.closed);
    return TEST_OK;
}

/* ---- liveness of pooled connections ------------------------------------ */

TEST_IMPL(pool_stale_replaced)
{
    fakesrv_opts_t so = {.close_after_reply = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 1.0), 0);
    ASSERT_EQ(call.conn_event, PRC_CONN_EVENT_CONNECT);
    prc_call_finish(p, &call, PRC_OK);
    /* The server closed the idle connection (as after its `timeout`). */
    ASSERT_EQ(fakesrv_wait_closed(srv, 1, 1000), 0);
    test_sleep_ms(20);
    /* A write command, never replayable: the checkout must notice the
     * EOF before sending anything.  The connection it opens instead is a
     * reconnect. */
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 1.0), 0);
    ASSERT_EQ(call.conn_event, PRC_CONN_EVENT_RECONNECT);
    ASSERT_EQ(call.retries, 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.stale, 1);
    ASSERT_EQ(st.created, 2);
    ASSERT_EQ(st.retries, 0);
    ASSERT_EQ(st.errors, 0);
    ASSERT_EQ(fakesrv_commands(srv), 2);
    return TEST_OK;
}

/* A call that opens a connection: its conn_event, after finishing it. */
static int
fresh_call_event(prc_pool_t *p)
{
    prc_call_t call;
    int ev;

    if (pt_call(p, &call, PING_REQ, 1, PRC_CALL_CLOSE, 1.0) != 0) {
        return -1;
    }
    ev = call.conn_event;
    prc_call_finish(p, &call, PRC_OK);
    return ev;
}

TEST_IMPL(pool_conn_events)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* Nothing connected yet: a failure is no loss. */
    prc_pool_link_failed(p, prc_now());
    ASSERT_EQ(fresh_call_event(p), PRC_CONN_EVENT_CONNECT);
    /* More connections, nothing failed: no event. */
    ASSERT_EQ(fresh_call_event(p), PRC_CONN_EVENT_NONE);
    /* A failure of a connection taken before the last event is that
     * outage seen late: no new event. */
    prc_pool_link_failed(p, 1);
    ASSERT_EQ(fresh_call_event(p), PRC_CONN_EVENT_NONE);
    /* One taken since: the next connect is a reconnect, once. */
    prc_pool_link_failed(p, prc_now());
    prc_pool_link_failed(p, prc_now());
    ASSERT_EQ(fresh_call_event(p), PRC_CONN_EVENT_RECONNECT);
    ASSERT_EQ(fresh_call_event(p), PRC_CONN_EVENT_NONE);
    /* A call failing on the link counts too; the one that opened the
     * first connection since reports it. */
    test_sleep_ms(2);
    fakesrv_stop(srv);
    {
        prc_call_t call;
        ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 0.5) < 0, 1);
        ASSERT_EQ(call.conn_event, PRC_CONN_EVENT_NONE);
        prc_call_finish(p, &call, call.err);
    }
    return TEST_OK;
}

TEST_IMPL(pool_stray_bytes_replaced)
{
    fakesrv_opts_t so = {.stray = "+STRAY\r\n", .stray_ms = 30};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 1.0), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    test_sleep_ms(80);
    /* Unread bytes on an idle connection: it is out of step, replace. */
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 1.0), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.stale, 1);
    ASSERT_EQ(st.created, 2);
    return TEST_OK;
}

TEST_IMPL(pool_health_check)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    char line[64];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.health_check_interval = 0; /* PING every reused connection */
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    test_sleep_ms(1);
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    /* The caller sees its own reply, not the PING's. */
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.health_checks, 1);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(fakesrv_commands(srv), 3);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "GET k");
    fakesrv_log(srv, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, "PING");
    fakesrv_log(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "GET k");
    /* A fresh pool with the default interval (30 s) does not PING. */
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.health_checks, 0);
    return TEST_OK;
}

/* The liveness PING answered otherwise than +PONG.  An error (a user whose
 * ACL has no PING) proves the connection alive: kept, the command sent on
 * it.  Anything else means the connection is out of step: it is replaced
 * before the command is sent, which is not a retry. */
TEST_IMPL(pool_health_check_fails)
{
    static const struct {
        const char *ping_reply;
        int stale;
    } cases[] = {
        {"-NOPERM this user has no permissions to run the 'ping' command\r\n",
         0},
        {"+OK\r\n", 1},
    };
    size_t k;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        fakesrv_opts_t so = {.ping_reply = cases[k].ping_reply};
        fakesrv_t *srv;
        prc_opts_t o;
        prc_pool_t *p;
        prc_call_t call;
        prc_pool_stats_t st;
        int i;

        START_FAKE(srv, &so);
        pt_opts(&o, srv);
        o.health_check_interval = 0;
        ASSERT_NOT_NULL(p = pt_pool(&o));
        for (i = 0; i < 3; i++) {
            ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 1.0), 0);
            ASSERT_EQ(call.retries, 0);
            CHECK(pt_replies_are(&call, "+OK\r\n"));
            prc_call_finish(p, &call, PRC_OK);
            test_sleep_ms(1);
        }
        prc_pool_stats(p, &st);
        ASSERT_EQ(st.health_checks, 2);
        ASSERT_EQ(st.stale, 2 * cases[k].stale);
        ASSERT_EQ(st.created, 1 + 2 * cases[k].stale);
    }
    return TEST_OK;
}

TEST_IMPL(pool_hooks)
{
    fakesrv_opts_t so = {.delay_ms = 20};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    hook_counts_t h;
    int i;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    pt_hooks(&o, &h);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
        prc_call_finish(p, &call, PRC_OK);
    }
    /* Every wait on the server's answer is bracketed by the hooks. */
    ASSERT_GE(atomic_load(&h.before[PRC_BLOCK_READ]), 3);
    for (i = 1; i < 5; i++) {
        ASSERT_EQ(atomic_load(&h.before[i]), atomic_load(&h.after[i]));
    }
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_POOL]), 0);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_SLEEP]), 0);
    ASSERT_EQ(atomic_load(&h.max_depth), 1);
    ASSERT_EQ(atomic_load(&h.depth), 0);
    return TEST_OK;
}

/* ---- EINTR ----------------------------------------------------------------
 */

static void
on_usr1(int sig)
{
    (void)sig;
}

typedef struct {
    pthread_t target;
    int delay_ms;
} kicker_t;

static void *
kicker(void *arg)
{
    kicker_t *k = arg;

    test_sleep_ms(k->delay_ms);
    pthread_kill(k->target, SIGUSR1);
    return NULL;
}

TEST_IMPL(pool_eintr_resumes)
{
    fakesrv_opts_t so = {.delay_ms = 250};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    struct sigaction sa, old;
    kicker_t k;
    pthread_t th;
    int rc1, rc2, err1;
    int64_t deadline;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    k.target = pthread_self();
    k.delay_ms = 80;
    ASSERT_EQ(pthread_create(&th, NULL, kicker, &k), 0);
    rc1 = pt_call(p, &call, SET_REQ, 1, 0, 2.0);
    pthread_join(th, NULL);
    deadline = call.deadline;
    err1 = call.err;
    /* Resuming the same call: same phase, same deadline, no re-send. */
    rc2 = rc1 == PRC_EINTR ? prc_pool_call(p, &call) : rc1;
    sigaction(SIGUSR1, &old, NULL);
    ASSERT_CODE(rc1, PRC_EINTR);
    ASSERT_CODE(err1, PRC_EINTR);
    ASSERT_EQ(rc2, 0);
    ASSERT_CODE(call.err, PRC_OK); /* a call that succeeded has no error */
    ASSERT_EQ(call.deadline, deadline);
    ASSERT_EQ(call.retries, 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 1);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    return TEST_OK;
}

/* ---- the breaker in the call driver ---------------------------------- */

TEST_IMPL(pool_breaker_integration)
{
    fakesrv_opts_t so = {.mode = FS_CLOSE_ON_ACCEPT};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_breaker_t *b;
    double t0;
    int rc;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_attempts = 0;
    o.failure_threshold = 2;
    o.recovery_timeout = 0.2;
    o.success_threshold = 1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    b = prc_pool_breaker(p);
    rc = pt_call(p, &call, SET_REQ, 1, 0, 1.0);
    ASSERT_CODE(rc, PRC_ECONNLOST);
    prc_call_finish(p, &call, rc);
    ASSERT_EQ(call.transition, -1);
    ASSERT_EQ(prc_breaker_failures(b), 1);
    rc = pt_call(p, &call, SET_REQ, 1, 0, 1.0);
    ASSERT_CODE(rc, PRC_ECONNLOST);
    prc_call_finish(p, &call, rc);
    ASSERT_EQ(call.transition, PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_state(b), PRC_BREAKER_OPEN);
    /* Open: refused without touching the server, in well under a ms. */
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, SET_REQ, 1, 0, 1.0), PRC_ECIRCUIT);
    ASSERT_LT(test_now_ms() - t0, 20);
    ASSERT_STR_CONTAINS(call.errstr, "circuit breaker is open");
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(fakesrv_accepted(srv), 2);
    /* Health checks bypass admission and settle nothing. */
    fakesrv_set_mode(srv, FS_NORMAL);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_NO_BREAKER, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(prc_breaker_state(b), PRC_BREAKER_OPEN);
    ASSERT_EQ(fakesrv_accepted(srv), 3);
    /* After recovery one probe goes through and closes the breaker. */
    test_sleep_ms(220);
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 1.0), 0);
    ASSERT_EQ(ST(&call)->probe, 1);
    ASSERT_EQ(call.transition, PRC_BREAKER_HALF_OPEN);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(call.transition, PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_breaker_state(b), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(pool_breaker_blocking_not_probe)
{
    fakesrv_opts_t so = {.mode = FS_CLOSE_ON_ACCEPT};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int rc;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_attempts = 0;
    o.failure_threshold = 1;
    o.recovery_timeout = 0.05;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    rc = pt_call(p, &call, SET_REQ, 1, 0, 1.0);
    prc_call_finish(p, &call, rc);
    ASSERT_EQ(prc_breaker_state(prc_pool_breaker(p)), PRC_BREAKER_OPEN);
    fakesrv_set_mode(srv, FS_NORMAL);
    test_sleep_ms(70);
    /* Half-open: a blocking command is never a probe. */
    ASSERT_CODE(pt_call(p, &call,
                        "*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n1\r\n", 1,
                        PRC_CALL_BLOCKING, 1.0),
                PRC_ECIRCUIT);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_READONLY, 1.0), 0);
    ASSERT_EQ(ST(&call)->probe, 1);
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

/* ---- fork ------------------------------------------------------------- */

TEST_IMPL(pool_fork)
{
#if defined(__SANITIZE_THREAD__)
    SKIP("fork with running threads is not supported under TSan");
#else
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    uint64_t gen;
    pid_t pid;
    int status = -1, i;
    char line[64];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    gen = prc_fork_generation();
    fflush(NULL);
    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        /* The child must not use the parent's socket: it opens its own
         * and never sends anything on the inherited one. */
        if (prc_fork_generation() != gen + 1) {
            pt_child_exit(10);
        }
        if (pt_call(p, &call, PING_REQ, 1, 0, 2.0) != 0) {
            pt_child_exit(11);
        }
        if (ST(&call)->fresh != 1) {
            pt_child_exit(12);
        }
        prc_call_finish(p, &call, PRC_OK);
        prc_pool_stats(p, &st);
        if (st.in_use != 0) {
            pt_child_exit(13);
        }
        pt_child_exit(0);
    }
    for (i = 0; i < 500; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            break;
        }
        test_sleep_ms(10);
    }
    if (i == 500) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(prc_fork_generation(), gen);
    /* The parent's pooled connection survived the child. */
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    ASSERT_EQ(ST(&call)->fresh, 0);
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(st.stale, 0);
    ASSERT_EQ(fakesrv_accepted(srv), 2);
    ASSERT_EQ(fakesrv_commands(srv), 3);
    for (i = 0; i < 3; i++) {
        fakesrv_log(srv, i, line, sizeof(line));
        ASSERT_STR_EQ(line, "PING"); /* no QUIT from the child */
    }
    return TEST_OK;
#endif
}

/* ---- the binding's per-connection slot -------------------------------- */

static _Atomic int user_frees;

static void
user_free(void *ptr)
{
    atomic_fetch_add(&user_frees, 1);
    free(ptr);
}

TEST_IMPL(pool_conn_user)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    void *u1 = malloc(16), *u2 = malloc(16);
    char eb[128];
    int err;

    START_FAKE(srv, &so);
    atomic_store(&user_frees, 0);
    pt_opts(&o, srv);
    p = prc_pool_new(&o, &err, eb, sizeof(eb));
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    ASSERT_NULL(prc_conn_user(ST(&call)->conn));
    prc_conn_set_user(ST(&call)->conn, u1, user_free);
    ASSERT_PTR_EQ(prc_conn_user(ST(&call)->conn), u1);
    prc_call_finish(p, &call, PRC_OK);
    /* The slot stays with its (pooled) connection. */
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    ASSERT_PTR_EQ(prc_conn_user(ST(&call)->conn), u1);
    /* A connection marked broken is closed on release, even "ok". */
    prc_conn_mark_broken(ST(&call)->conn);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(atomic_load(&user_frees), 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    ASSERT_NULL(prc_conn_user(ST(&call)->conn));
    prc_conn_set_user(ST(&call)->conn, u2, user_free);
    prc_call_finish(p, &call, PRC_OK);
    /* Freeing the pool frees the idle connection's slot. */
    prc_pool_free(p);
    ASSERT_EQ(atomic_load(&user_frees), 2);
    return TEST_OK;
}

/* ---- the non-blocking driver (prc_pool_step), as an event loop uses it -- */

/* Wait as the step asked; 1 when ready, 0 when its deadline passed. */
static int
step_wait(prc_call_t *call, int rc)
{
    struct pollfd pfd;
    int64_t left = call->wait_deadline - prc_now();
    int ms;

    if (call->wait_deadline != PRC_NO_DEADLINE && left <= 0) {
        return 0;
    }
    ms = call->wait_deadline == PRC_NO_DEADLINE
             ? -1
             : (int)((left + 999999) / 1000000);
    pfd.fd = call->wait_fd;
    pfd.events = rc == PRC_WANT_WRITE ? POLLOUT : POLLIN;
    pfd.revents = 0;
    return poll(&pfd, 1, ms) > 0;
}

/* Drive a call with prc_pool_step to its end; counts the waits. */
static int
drive(prc_pool_t *p, prc_call_t *call, int *waits, int *sleeps)
{
    int rc;

    for (;;) {
        rc = prc_pool_step(p, call);
        if (rc <= 0) {
            return rc;
        }
        if (rc == PRC_WANT_SLEEP) {
            (*sleeps)++;
            if (call->wait_fd != -1) {
                return 1000;
            }
            test_sleep_ms((double)(call->wait_deadline - prc_now()) / 1e6);
            rc = prc_call_timed_out(p, call);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if (rc != PRC_WANT_READ && rc != PRC_WANT_WRITE) {
            return 1001;
        }
        if (call->wait_fd != prc_conn_fd(ST(call)->conn)) {
            return 1002;
        }
        (*waits)++;
        if (!step_wait(call, rc)) {
            rc = prc_call_timed_out(p, call);
            if (rc != 0) {
                return rc;
            }
        }
    }
}

TEST_IMPL(pool_step_driver)
{
    fakesrv_opts_t so = {.delay_ms = 20};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int waits = 0, sleeps = 0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_call_init(&call, PING_REQ, strlen(PING_REQ), 1, 0,
                  prc_deadline_after(1.0));
    ASSERT_EQ(drive(p, &call, &waits, &sleeps), 0);
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    /* At least: the AUTH reply and the PING reply. */
    ASSERT_GE(waits, 2);
    ASSERT_EQ(sleeps, 0);
    prc_call_finish(p, &call, PRC_OK);
    /* A second call on the pooled connection. */
    waits = 0;
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(1.0));
    ASSERT_EQ(drive(p, &call, &waits, &sleeps), 0);
    ASSERT_EQ(waits, 1);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    return TEST_OK;
}

/* prc_pool_round_trip_opens: a blocking call's new connection has a PING
 * round trip before the command, and prc_call_sent says when the command
 * itself is written (not during the round trip); another call's new
 * connection has none. */
TEST_IMPL(pool_round_trip_opens)
{
    fakesrv_opts_t so = {.delay_ms = 20};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call, other;
    char line[64];
    int rc, sent_waits = 0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(prc_pool_round_trip_opens(p), 0);
    ASSERT_EQ(prc_pool_round_trip_opens(p), 0); /* idempotent */
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_BLOCKING,
                  prc_deadline_after(1.0));
    call.block_deadline = call.deadline;
    ASSERT_EQ(prc_call_sent(&call), 0);
    while ((rc = prc_pool_step(p, &call)) > 0) {
        ASSERT_NE(rc == PRC_WANT_READ || rc == PRC_WANT_WRITE, 0);
        if (prc_call_sent(&call)) {
            /* The GET went out after the PING's answer (delayed 20 ms)
             * came back; its own answer is awaited. */
            if (sent_waits++ == 0) {
                /* Meanwhile a call that does not block opens the next
                 * connection: no PING there. */
                ASSERT_EQ(pt_call(p, &other, GET_REQ, 1, 0, 1.0), 0);
                prc_call_finish(p, &other, PRC_OK);
            }
        } else {
            /* Connecting, or the round trip: the GET is not out. */
            ASSERT_LE(fakesrv_commands(srv), 1);
        }
        ASSERT_NE(step_wait(&call, rc), 0);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_NE(prc_call_sent(&call), 0);
    ASSERT_GE(sent_waits, 1);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_accepted(srv), 2);
    ASSERT_EQ(fakesrv_commands(srv), 3);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "PING");
    fakesrv_log(srv, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, "GET k");
    fakesrv_log(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "GET k");
    /* A reused connection has no round trip; too late to ask now. */
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_BLOCKING, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 4);
    ASSERT_EQ(prc_pool_round_trip_opens(p), 0); /* already on */
    ASSERT_NOT_NULL(p = pt_pool(&o));           /* a second pool, without it */
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_BLOCKING, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 5); /* no PING */
    ASSERT_CODE(prc_pool_round_trip_opens(p), PRC_EINVAL);
    return TEST_OK;
}

/* The round trip's PING answered with an error is an answer (a user
 * without @connection, a loading server): the command goes on.  Anything
 * else is a connection out of step. */
TEST_IMPL(pool_round_trip_answers)
{
    static const char *const errors[] = {
        "-NOPERM User u has no permissions to run the 'ping' command\r\n",
        "-ERR unknown command 'PING'\r\n"};
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    size_t i;

    for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        so.ping_reply = errors[i];
        START_FAKE(srv, &so);
        pt_opts(&o, srv);
        ASSERT_NOT_NULL(p = pt_pool(&o));
        ASSERT_EQ(prc_pool_round_trip_opens(p), 0);
        ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_BLOCKING, 1.0), 0);
        CHECK(pt_replies_are(&call, "+OK\r\n"));
        prc_call_finish(p, &call, PRC_OK);
    }
    so.ping_reply = "+OK\r\n";
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(prc_pool_round_trip_opens(p), 0);
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_BLOCKING, 1.0),
                PRC_EPROTO);
    ASSERT_STR_CONTAINS(call.errstr, "unexpected reply to PING");
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(pool_step_timeouts)
{
    fakesrv_opts_t so = {.mode = FS_HANG};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int64_t now;
    int rc;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* The read waits against the call's deadline... */
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(5.0));
    do {
        rc = prc_pool_step(p, &call);
        if (rc == PRC_WANT_WRITE) {
            step_wait(&call, rc);
        }
    } while (rc == PRC_WANT_WRITE);
    ASSERT_EQ(rc, PRC_WANT_READ);
    ASSERT_EQ(ST(&call)->written, strlen(GET_REQ));
    ASSERT_EQ(call.wait_deadline, call.deadline);
    /* ...and the loop reports that it passed. */
    ASSERT_CODE(prc_call_timed_out(p, &call), PRC_ETIMEDOUT);
    ASSERT_STR_EQ(call.errstr, "timed out reading from the server");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);

    /* The handshake waits against connect_timeout, not the call's
     * deadline. */
    pt_opts(&o, srv);
    o.password = "pw";
    o.connect_timeout = 0.5;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(5.0));
    now = prc_now();
    do {
        rc = prc_pool_step(p, &call);
        if (rc == PRC_WANT_WRITE) {
            step_wait(&call, rc);
        }
    } while (rc == PRC_WANT_WRITE);
    ASSERT_EQ(rc, PRC_WANT_READ);
    ASSERT_LE(call.wait_deadline, now + 500000000 + 50000000);
    ASSERT_GE(call.wait_deadline, now + 400000000);
    ASSERT_CODE(prc_call_timed_out(p, &call), PRC_ETIMEDOUT);
    ASSERT_STR_CONTAINS(call.errstr, "connect to 127.0.0.1 timed out");
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(pool_step_backoff)
{
    fakesrv_opts_t so = {.mode = FS_CLOSE_ON_COMMAND};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int waits = 0, sleeps = 0;

    /* A read-only call whose connection is lost each time: replayed
     * after a backoff. */
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_attempts = 2;
    o.retry_base = 0.05;
    o.retry_cap = 0.05;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_random_seed(1); /* a non-zero backoff */
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_READONLY,
                  prc_deadline_after(2.0));
    ASSERT_CODE(drive(p, &call, &waits, &sleeps), PRC_ECONNLOST);
    ASSERT_EQ(call.retries, 2);
    ASSERT_EQ(sleeps, 2); /* WANT_SLEEP with no fd, once per replay */
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

/* A refused connect when the server was up moments ago is a restart:
 * ridden through with backoff.  Once a call gives up on it, the pool
 * knows the server is down and refusals fail at once, until a connect
 * succeeds again. */
TEST_IMPL(pool_refused_rides_then_fails_fast)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    hook_counts_t h;
    double t0, ms;
    int sleeps;

    START_FAKE(srv, &so);
    so.port = fakesrv_port(srv);
    pt_opts(&o, srv);
    o.retry_attempts = 3;
    o.retry_base = 0.02; /* equal jitter: 10-20, 20-40, 40-80 ms */
    o.retry_cap = 1.0;
    pt_hooks(&o, &h);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    fakesrv_stop(srv);
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ECONNECT);
    ms = test_now_ms() - t0;
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(call.retries, 3);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_SLEEP]), 3);
    ASSERT_GE(ms, 70);
    ASSERT_LT(ms, 1000);
    /* Known down: one immediate retry, no sleep. */
    sleeps = atomic_load(&h.before[PRC_BLOCK_SLEEP]);
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ECONNECT);
    ms = test_now_ms() - t0;
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(call.retries, 1);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_SLEEP]), sleeps);
    ASSERT_LT(ms, 50);
    /* Back on the same port: the next call connects at once... */
    START_FAKE(srv, &so);
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 2.0), 0);
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, PRC_OK);
    /* ...and the pool rides the next restart again. */
    fakesrv_stop(srv);
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ECONNECT);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(call.retries, 3);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_SLEEP]), sleeps + 3);
    return TEST_OK;
}

/* A server that comes back within the retries is ridden through: the
 * call succeeds. */
TEST_IMPL(pool_refused_ride_succeeds)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int rc, waits = 0, sleeps = 0;

    START_FAKE(srv, &so);
    so.port = fakesrv_port(srv);
    pt_opts(&o, srv);
    o.retry_attempts = 3;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    fakesrv_stop(srv);
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(2.0));
    /* Up to the first backoff: the connect was refused. */
    for (;;) {
        rc = prc_pool_step(p, &call);
        if (rc == PRC_WANT_SLEEP) {
            break;
        }
        ASSERT(rc == PRC_WANT_READ || rc == PRC_WANT_WRITE);
        if (!step_wait(&call, rc)) {
            ASSERT_EQ(prc_call_timed_out(p, &call), 0);
        }
    }
    ASSERT_EQ(call.retries, 1);
    ASSERT_STR_CONTAINS(call.errstr, "refused");
    /* The server restarts during the backoff. */
    START_FAKE(srv, &so);
    test_sleep_ms((double)(call.wait_deadline - prc_now()) / 1e6);
    ASSERT_EQ(prc_call_timed_out(p, &call), 0);
    ASSERT_EQ(drive(p, &call, &waits, &sleeps), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    return TEST_OK;
}

TEST_IMPL(pool_step_nonblock_pool)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, b;
    prc_pool_stats_t st;
    int waits = 0, sleeps = 0;
    int64_t now;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 1;
    o.pool_timeout = 2.0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 1.0), 0);
    /* An event loop never blocks in the pool: it is told to wait. */
    now = prc_now();
    prc_call_init(&b, PING_REQ, strlen(PING_REQ), 1, PRC_CALL_NONBLOCK,
                  prc_deadline_after(5.0));
    ASSERT_EQ(prc_pool_step(p, &b), PRC_WANT_POOL);
    ASSERT_EQ(b.wait_fd, -1);
    ASSERT_GE(b.wait_deadline, now + 1900000000);
    ASSERT_LE(b.wait_deadline, prc_now() + 2000000000);
    ASSERT_EQ(prc_pool_step(p, &b), PRC_WANT_POOL);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.waits, 1); /* one call, one wait, however many steps */
    prc_call_finish(p, &a, PRC_OK);
    ASSERT_EQ(drive(p, &b, &waits, &sleeps), 0);
    CHECK(pt_replies_are(&b, "+PONG\r\n"));
    /* Its wait timing out is a pool timeout. */
    prc_call_init(&a, PING_REQ, strlen(PING_REQ), 1, PRC_CALL_NONBLOCK,
                  prc_deadline_after(5.0));
    ASSERT_EQ(prc_pool_step(p, &a), PRC_WANT_POOL);
    ASSERT_CODE(prc_call_timed_out(p, &a), PRC_EPOOLTIMEOUT);
    prc_call_finish(p, &a, a.err);
    prc_call_finish(p, &b, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.waits, 2);
    ASSERT_EQ(st.timeouts, 1);
    ASSERT_EQ(st.in_use, 0);
    return TEST_OK;
}

/* ---- wait_slice: a pool wait that lets signal handlers run ---------------
 */

typedef struct {
    prc_pool_t *p;
    prc_call_t *call;
    int delay_ms;
} releaser_t;

static void *
release_later(void *arg)
{
    releaser_t *r = arg;

    test_sleep_ms(r->delay_ms);
    prc_call_finish(r->p, r->call, PRC_OK);
    return NULL;
}

TEST_IMPL(pool_wait_slice)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, b;
    prc_pool_stats_t st;
    releaser_t r;
    pthread_t th;
    double t0, ms;
    int rc, eintrs = 0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 1;
    o.pool_timeout = 0.3;
    o.wait_slice = 0.05;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &a, PING_REQ, 1, 0, 1.0), 0);
    t0 = test_now_ms();
    rc = pt_call(p, &b, PING_REQ, 1, 0, 5.0);
    ms = test_now_ms() - t0;
    ASSERT_CODE(rc, PRC_EINTR);
    ASSERT_STR_CONTAINS(b.errstr, "interrupted");
    ASSERT_GE(ms, 45);
    ASSERT_LT(ms, 50 + 250);
    /* Resuming keeps the same pool deadline: it ends at pool_timeout. */
    while (rc == PRC_EINTR && eintrs < 100) {
        eintrs++;
        rc = prc_pool_call(p, &b);
    }
    ms = test_now_ms() - t0;
    ASSERT_CODE(rc, PRC_EPOOLTIMEOUT);
    ASSERT_GE(eintrs, 2);
    ASSERT_GE(ms, 295);
    ASSERT_LE(ms, 300 + 250);
    prc_call_finish(p, &b, rc);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.waits, 1);
    ASSERT_EQ(st.timeouts, 1);
    /* A release during the slices ends the wait with the connection. */
    r.p = p;
    r.call = &a;
    r.delay_ms = 120;
    ASSERT_EQ(pthread_create(&th, NULL, release_later, &r), 0);
    rc = pt_call(p, &b, PING_REQ, 1, 0, 5.0);
    while (rc == PRC_EINTR) {
        rc = prc_pool_call(p, &b);
    }
    pthread_join(th, NULL);
    ASSERT_EQ(rc, 0);
    CHECK(pt_replies_are(&b, "+PONG\r\n"));
    prc_call_finish(p, &b, PRC_OK);
    return TEST_OK;
}

/* ---- metrics ------------------------------------------------------------ */

TEST_IMPL(pool_metrics)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t c1, c2, h, t;
    prc_metrics_t m;
    char req[128];
    size_t n;
    int64_t sum = 0;
    int i;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_connections = 1;
    o.pool_timeout = 0.05;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_pool_metrics(p, &m);
    ASSERT_EQ(m.calls, 0);
    ASSERT_EQ(pt_call(p, &c1, PING_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &c1, PRC_OK);
    n = pt_format(req, sizeof(req), (const char *[]){"PING", NULL});
    pt_format(req + n, sizeof(req) - n, (const char *[]){"PING", NULL});
    ASSERT_EQ(pt_call(p, &c2, req, 2, 0, 1.0), 0);
    prc_call_finish(p, &c2, PRC_OK);
    ASSERT_EQ(pt_call(p, &h, PING_REQ, 1, 0, 1.0), 0);
    ASSERT_CODE(pt_call(p, &t, PING_REQ, 1, 0, 1.0), PRC_EPOOLTIMEOUT);
    prc_call_finish(p, &t, t.err);
    prc_call_finish(p, &h, PRC_OK);
    /* Finishing twice is harmless and counts once. */
    prc_call_finish(p, &h, PRC_OK);
    prc_call_finish(p, &t, t.err);
    prc_pool_count_response_errors(p, 2);
    prc_pool_metrics(p, &m);
    ASSERT_EQ(m.calls, 4);
    ASSERT_EQ(m.commands, 5);
    ASSERT_EQ(m.response_errors, 2);
    ASSERT_EQ(m.errors[-PRC_EPOOLTIMEOUT], 1);
    for (i = 0; i < PRC_NCODES; i++) {
        sum += m.errors[i];
    }
    ASSERT_EQ(sum, 1);
    sum = 0;
    for (i = 0; i < PRC_HIST_BUCKETS; i++) {
        sum += m.hist[i];
    }
    ASSERT_EQ(sum, 4);
    ASSERT_GE(m.latency_ns_sum, 50000000); /* the pool timeout alone */
    ASSERT_EQ(m.breaker_transitions, 0);
    for (i = 1; i < PRC_HIST_BUCKETS - 1; i++) {
        ASSERT_DOUBLE_GT(prc_hist_bounds[i], prc_hist_bounds[i - 1]);
    }
    return TEST_OK;
}

/* ---- pinned connections (WATCH) -------------------------------------- */

TEST_IMPL(pool_pin)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_conn_t *conn;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_PIN, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    /* The pin survives finish and is handed over. */
    ASSERT_NOT_NULL(ST(&call)->conn);
    conn = prc_call_take_conn(&call);
    ASSERT_NOT_NULL(conn);
    ASSERT_NULL(ST(&call)->conn);
    ASSERT(prc_conn_usable(conn));
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 1);
    /* Later calls use it directly: no checkout, never replayed. */
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_READONLY,
                  prc_deadline_after(1.0));
    prc_call_use_conn(&call, conn);
    ASSERT(call.flags & PRC_CALL_NO_RETRY);
    ASSERT_EQ(prc_pool_call(p, &call), 0);
    ASSERT_PTR_EQ(ST(&call)->conn, conn);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_PTR_EQ(prc_call_take_conn(&call), conn);
    prc_pool_unpin(p, conn, 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.idle, 1);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    prc_pool_unpin(p, NULL, 1);

    /* A pinned connection that broke: refused, then discarded. */
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_PIN, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    conn = prc_call_take_conn(&call);
    prc_conn_mark_broken(conn);
    ASSERT(!prc_conn_usable(conn));
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(1.0));
    prc_call_use_conn(&call, conn);
    ASSERT_CODE(prc_pool_call(p, &call), PRC_ECONNLOST);
    ASSERT_STR_CONTAINS(call.errstr, "pinned connection was closed");
    prc_call_finish(p, &call, call.err);
    prc_call_take_conn(&call);
    prc_pool_unpin(p, conn, 0);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.closed, 1);

    /* A pinned call that fails leaves its connection unusable. */
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_PIN, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    conn = prc_call_take_conn(&call);
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_READONLY,
                  prc_deadline_after(1.0));
    prc_call_use_conn(&call, conn);
    ASSERT_EQ(prc_pool_call(p, &call), 0);
    prc_call_finish(p, &call, PRC_EPROTO); /* e.g. an unparsable reply */
    conn = prc_call_take_conn(&call);
    ASSERT(!prc_conn_usable(conn));
    prc_pool_unpin(p, conn, 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.idle, 0);

    /* The server drops a pinned connection: never replayed, even for a
     * read-only command (the WATCH state died with it). */
    START_FAKE(srv, &(fakesrv_opts_t){.close_after_reply = 1});
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_PIN, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    conn = prc_call_take_conn(&call);
    ASSERT_EQ(fakesrv_wait_closed(srv, 1, 1000), 0);
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_READONLY,
                  prc_deadline_after(1.0));
    prc_call_use_conn(&call, conn);
    ASSERT_CODE(prc_pool_call(p, &call), PRC_ECONNLOST);
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    prc_pool_unpin(p, prc_call_take_conn(&call), 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    return TEST_OK;
}

/* Bytes nobody asked for on a pinned connection between two calls: the
 * next call must not read them as its reply. */
TEST_IMPL(pool_pin_stray_bytes)
{
    fakesrv_opts_t so = {.stray = "+STRAY\r\n", .stray_ms = 20};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_conn_t *conn;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_PIN, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    conn = prc_call_take_conn(&call);
    test_sleep_ms(80);
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_READONLY,
                  prc_deadline_after(1.0));
    prc_call_use_conn(&call, conn);
    ASSERT_CODE(prc_pool_call(p, &call), PRC_ECONNLOST);
    ASSERT_STR_CONTAINS(call.errstr, "out of step");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    conn = prc_call_take_conn(&call);
    ASSERT(!prc_conn_usable(conn));
    prc_pool_unpin(p, conn, 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(fakesrv_commands(srv), 1); /* the GET was never sent */
    return TEST_OK;
}

/* An idle connection keeps no large reply buffer. */
TEST_IMPL(pool_idle_buffers_trimmed)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_conn_t *conn;
    char req[64];
    size_t len;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    pt_format(req, sizeof(req), (const char *[]){"BIG", "1000000", NULL});
    ASSERT_EQ(pt_call(p, &call, req, 1, PRC_CALL_READONLY, 2.0), 0);
    conn = ST(&call)->conn;
    prc_conn_replies(conn, &len);
    ASSERT_EQ(len, 1000000 + 12); /* "$1000000\r\n" ... "\r\n" */
    ASSERT_GE(prc__conn_buffered(conn), len);
    prc_call_finish(p, &call, PRC_OK);
    /* Pooled (the same connection serves the next call), but trimmed. */
    ASSERT_EQ(prc__conn_buffered(conn), 0);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_READONLY, 1.0), 0);
    ASSERT_PTR_EQ(ST(&call)->conn, conn);
    /* Small replies keep their buffer: no allocation per call. */
    ASSERT_EQ(prc__conn_buffered(conn), 16 * 1024);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(prc__conn_buffered(conn), 16 * 1024);
    return TEST_OK;
}
