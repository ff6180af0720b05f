/* test_call.c - calls through a pool: connect errors, timeouts, safe
 * retries, handshake and reply-limit failures as a call sees them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "pooltest.h"

/* Slack for timing assertions: a loaded 2-core machine under TSan. */
#define SLACK_MS 250

static void
report_ms(const char *what, double ms)
{
    printf("        %-52s %7.1f ms\n", what, ms);
}

/* ---- connect errors ------------------------------------------------------
 */

TEST_IMPL(call_refused)
{
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    hook_counts_t h;
    char expect[64];
    int port = test_free_port();

    ASSERT_GT(port, 0);
    pt_opts(&o, NULL);
    o.port = port;
    o.retry_attempts = 3;
    pt_hooks(&o, &h);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ECONNECT);
    ASSERT_CODE(call.err, PRC_ECONNECT);
    snprintf(expect, sizeof(expect), "connect 127.0.0.1:%d", port);
    ASSERT_STR_CONTAINS(call.errstr, expect);
    ASSERT_STR_CONTAINS(call.errstr, "Connection refused");
    /* Nothing was sent, so a connect failure may be replayed; but the
     * server was never seen up: a refusal is retried once, at once, and
     * never slept on. */
    ASSERT_EQ(call.retries, 1);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.retries, 1);
    ASSERT_EQ(st.created, 2);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_SLEEP]), 0);
    prc_call_finish(p, &call, call.err);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 2);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.errors, 1);
    /* One logical call, one breaker outcome. */
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 1);
    return TEST_OK;
}

TEST_IMPL(call_refused_localhost)
{
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char expect[64];
    int port = test_free_port();

    pt_opts(&o, NULL);
    o.host = "localhost"; /* may resolve to ::1 and 127.0.0.1: both fail */
    o.port = port;
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ECONNECT);
    snprintf(expect, sizeof(expect), "connect localhost:%d: ", port);
    ASSERT_STR_CONTAINS(call.errstr, expect);
    ASSERT_STR_CONTAINS(call.errstr, "refused");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

/* A host name is resolved on a helper thread, awaited with the deadline. */
TEST_IMPL(call_resolve_localhost)
{
    fakesrv_opts_t so = {.mode = FS_NORMAL};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.host = "localhost";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0), PRC_OK);
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    fakesrv_stop(srv);
    return TEST_OK;
}

static int
slow_getaddrinfo(const char *node, const char *service,
                 const struct addrinfo *hints, struct addrinfo **res)
{
    test_sleep_ms(100);
    return getaddrinfo(node, service, hints, res);
}

/* Calls that give up while their lookup runs (a lookup made slow by
 * replacing getaddrinfo): each ends at its deadline, the connection drops
 * its reference and the helper thread frees the request when the lookup
 * ends (ASan, LeakSanitizer and TSan watch this). */
TEST_IMPL(call_resolve_abandoned)
{
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    int64_t t0;
    int i;

    pt_opts(&o, NULL);
    o.host = "localhost";
    o.connect_timeout = 0.02; /* connecting has its own deadline */
    o.retry_attempts = 0;
    o.breaker_enabled = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc__getaddrinfo = slow_getaddrinfo;
    for (i = 0; i < 5; i++) {
        t0 = prc_now();
        ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ETIMEDOUT);
        ASSERT_LT(prc_now() - t0, (int64_t)(20 + SLACK_MS) * 1000000);
        ASSERT_STR_CONTAINS(call.errstr, "resolving localhost timed out");
        prc_call_finish(p, &call, call.err);
    }
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    prc__getaddrinfo = getaddrinfo;
    test_sleep_ms(300); /* the lookups end and free their requests */
    return TEST_OK;
}

/* prc_pool_close while a lookup runs: the call ends at once, and the
 * lookup's thread still frees its request. */
TEST_IMPL(call_resolve_pool_closed)
{
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int64_t t0;
    int rc;

    pt_opts(&o, NULL);
    o.host = "localhost";
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc__getaddrinfo = slow_getaddrinfo;
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(2.0));
    rc = prc_pool_step(p, &call);
    prc__getaddrinfo = getaddrinfo;
    ASSERT_EQ(rc, PRC_WANT_READ);
    t0 = prc_now();
    prc_pool_close(p);
    rc = prc_pool_call(p, &call);
    ASSERT_LT(prc_now() - t0, (int64_t)SLACK_MS * 1000000);
    if (rc != PRC_ECLOSED) {
        ASSERT_CODE(rc, PRC_ECONNLOST);
        ASSERT_STR_CONTAINS(call.errstr, "closed while resolving localhost");
    }
    prc_call_finish(p, &call, rc);
    test_sleep_ms(300); /* the lookup ends and frees its request */
    return TEST_OK;
}

TEST_IMPL(call_resolve_error)
{
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    pt_opts(&o, NULL);
    o.host = "bad host name"; /* refused by the resolver, no DNS query */
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 2.0), PRC_ECONNECT);
    ASSERT_STR_CONTAINS(call.errstr, "resolve bad host name: ");
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

/* ---- timeouts ------------------------------------------------------------
 */

TEST_IMPL(call_hung_timeout)
{
    fakesrv_opts_t so = {.mode = FS_HANG};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    double t0, ms;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.socket_timeout = 0.2;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(
        pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, o.socket_timeout),
        PRC_ETIMEDOUT);
    ms = test_now_ms() - t0;
    report_ms("hung server, socket_timeout 200 ms: ETIMEDOUT after", ms);
    ASSERT_GE(ms, 199);
    ASSERT_LE(ms, 200 + SLACK_MS);
    ASSERT_STR_CONTAINS(call.errstr, "timed out reading from the server");
    /* Without retry_on_timeout a timeout is never replayed. */
    ASSERT_EQ(call.retries, 0);
    ASSERT_EQ(fakesrv_commands(srv), 0); /* FS_HANG does not parse */
    prc_call_finish(p, &call, call.err);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 1); /* its state is unknown: never pooled */
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 1);
    return TEST_OK;
}

TEST_IMPL(call_drip_timeout)
{
    fakesrv_opts_t so = {.drip_ms = 10};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    double t0, ms;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* A 200-byte reply at one byte per 10 ms would take 2 s; every byte
     * resets no timer: the call's one deadline still ends it. */
    t0 = test_now_ms();
    ASSERT_CODE(
        pt_call(p, &call, "*2\r\n$3\r\nBIG\r\n$3\r\n200\r\n", 1, 0, 0.2),
        PRC_ETIMEDOUT);
    ms = test_now_ms() - t0;
    report_ms("drip server (1 byte/10 ms), deadline 200 ms: after", ms);
    ASSERT_GE(ms, 199);
    ASSERT_LE(ms, 200 + SLACK_MS);
    ASSERT_NOT_NULL(ST(&call)->conn);
    ASSERT_GT(ST(&call)->conn->rlen, 0); /* bytes did arrive */
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(call_slow_ok)
{
    fakesrv_opts_t so = {.delay_ms = 100};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    double t0, ms;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 0.3), 0);
    ms = test_now_ms() - t0;
    ASSERT_GE(ms, 99);
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

/* convert_at: the blocking driver hands back the replies framed so far
 * (PRC_WANT_CONVERT) while the rest are due, then resumes the same call;
 * without it, never. */
TEST_IMPL(call_convert_progress)
{
    fakesrv_opts_t so = {.delay_ms = 25};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char req[8 * sizeof(PING_REQ)];
    size_t len;
    int i, n, rounds = 0;

    req[0] = '\0';
    for (i = 0; i < 8; i++) {
        strcat(req, PING_REQ);
    }
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_call_init(&call, req, strlen(req), 8, PRC_CALL_READONLY,
                  prc_deadline_after(5.0));
    ASSERT_EQ(prc_call_framed(&call, &len), 0);
    ASSERT_EQ(len, 0);
    call.convert_at = 3;
    while ((n = prc_pool_call(p, &call)) == PRC_WANT_CONVERT) {
        rounds++;
        n = prc_call_framed(&call, &len);
        ASSERT_GE(n, call.convert_at);
        ASSERT_LT(n, 8);
        ASSERT_EQ(len, (size_t)n * 7); /* whole "+PONG\r\n" replies only */
        call.convert_at = n + 3;
    }
    ASSERT_EQ(n, 0);
    ASSERT_GE(rounds, 1);
    ASSERT_LE(rounds, 2);
    ASSERT_EQ(prc_call_framed(&call, &len), 8);
    ASSERT_EQ(len, 8 * 7);
    prc_call_finish(p, &call, PRC_OK);

    /* The same pipeline without convert_at: straight to the end. */
    ASSERT_EQ(pt_call(p, &call, req, 8, PRC_CALL_READONLY, 5.0), 0);
    ASSERT_EQ(prc_call_framed(&call, &len), 8);
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

TEST_IMPL(call_write_timeout)
{
    fakesrv_opts_t so = {.mode = FS_NOREAD};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    size_t big = (size_t)48 << 20, hdr;
    char *req = malloc(big + 64);
    double t0, ms;
    int rc;

    ASSERT_NOT_NULL(req);
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    hdr = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", big);
    memset(req + hdr, 'v', big);
    memcpy(req + hdr + big, "\r\n", 2);
    prc_call_init(&call, req, hdr + big + 2, 1, PRC_CALL_READONLY,
                  prc_deadline_after(0.2));
    t0 = test_now_ms();
    rc = prc_pool_call(p, &call);
    ms = test_now_ms() - t0;
    report_ms("server not reading a 48 MiB request: ETIMEDOUT after", ms);
    prc_call_finish(p, &call, rc);
    free(req);
    ASSERT_CODE(rc, PRC_ETIMEDOUT);
    ASSERT_STR_CONTAINS(call.errstr, "timed out writing to the server");
    ASSERT_GT(ST(&call)->written, 0);
    ASSERT_LT(ST(&call)->written, hdr + big + 2);
    ASSERT_LE(ms, 200 + SLACK_MS);
    return TEST_OK;
}

TEST_IMPL(call_blocking_deadline)
{
    fakesrv_opts_t so = {.delay_ms = 250};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    static const char blpop[] =
        "*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$3\r\n0.2\r\n";
    double t0, ms;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* A blocking command reads against its own deadline, past the call's
     * socket deadline. */
    prc_call_init(&call, blpop, sizeof(blpop) - 1, 1, PRC_CALL_BLOCKING,
                  prc_deadline_after(0.1));
    call.block_deadline = prc_deadline_after(0.7);
    ASSERT_EQ(prc_pool_call(p, &call), 0);
    prc_call_finish(p, &call, PRC_OK);
    /* The same wait without the flag times out at the socket deadline. */
    prc_call_init(&call, blpop, sizeof(blpop) - 1, 1, 0,
                  prc_deadline_after(0.1));
    ASSERT_CODE(prc_pool_call(p, &call), PRC_ETIMEDOUT);
    prc_call_finish(p, &call, call.err);
    /* And a blocking command still ends at its block deadline. */
    fakesrv_set_mode(srv, FS_HANG);
    prc_call_init(&call, blpop, sizeof(blpop) - 1, 1, PRC_CALL_BLOCKING,
                  prc_deadline_after(0.05));
    call.block_deadline = prc_deadline_after(0.15);
    t0 = test_now_ms();
    ASSERT_CODE(prc_pool_call(p, &call), PRC_ETIMEDOUT);
    ms = test_now_ms() - t0;
    ASSERT_GE(ms, 149);
    ASSERT_LE(ms, 150 + SLACK_MS);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

/* ---- bad replies ------------------------------------------------------- */

TEST_IMPL(call_garbage)
{
    fakesrv_opts_t so = {.reply = "!garbage\r\n"};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, SET_REQ, 1, 0, 1.0), PRC_EPROTO);
    ASSERT_STR_CONTAINS(call.errstr, "invalid reply type byte 0x21");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(st.idle, 0);
    /* Invalid RESP counts against the breaker. */
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 1);
    return TEST_OK;
}

TEST_IMPL(call_extra_bytes)
{
    fakesrv_opts_t so = {.extra = "+EXTRA\r\n"};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* A reply and more in one read: which reply answers the command is
     * unknown (an unsolicited one may have come first), so the caller
     * gets none of them.  A write that reached the server is not
     * replayed. */
    ASSERT_CODE(pt_call(p, &call, SET_REQ, 1, 0, 1.0), PRC_EPROTO);
    ASSERT_STR_EQ(call.errstr, "connection out of step: 8 bytes beyond the "
                               "expected replies; closed");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    /* The connection, out of step, is closed instead of pooled. */
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 1);
    /* A read-only command is replayed on a fresh connection (this server
     * misbehaves on every one, so every attempt fails the same way). */
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0),
                PRC_EPROTO);
    ASSERT_EQ(call.retries, o.retry_attempts);
    prc_call_finish(p, &call, call.err);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 2 + o.retry_attempts);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(fakesrv_accepted(srv), 2 + o.retry_attempts);
    return TEST_OK;
}

TEST_IMPL(call_eof_mid_reply)
{
    fakesrv_opts_t so = {.reply = "$10\r\nabc", .close_after_reply = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, SET_REQ, 1, 0, 1.0), PRC_ECONNLOST);
    ASSERT_STR_CONTAINS(call.errstr, "server closed the connection");
    ASSERT_EQ(call.retries, 0); /* a write may have run: no replay */
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

/* ---- safe retries ------------------------------------------------------ */

TEST_IMPL(call_retry_readonly)
{
    fakesrv_opts_t so = {.first_mode = FS_CLOSE_ON_COMMAND, .first_n = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    hook_counts_t h;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    pt_hooks(&o, &h);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* The server read GET and dropped the connection: a read-only
     * command is replayed on a new connection. */
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    ASSERT_EQ(call.retries, 1);
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.retries, 1);
    ASSERT_EQ(st.created, 2);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(st.errors, 0);
    ASSERT_EQ(fakesrv_commands(srv), 2);
    ASSERT_EQ(atomic_load(&h.before[PRC_BLOCK_SLEEP]),
              atomic_load(&h.after[PRC_BLOCK_SLEEP]));
    ASSERT_LE(atomic_load(&h.before[PRC_BLOCK_SLEEP]), 1);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    return TEST_OK;
}

TEST_IMPL(call_no_retry_write)
{
    fakesrv_opts_t so = {.first_mode = FS_CLOSE_ON_COMMAND, .first_n = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* SET was fully written and may have run: never replayed. */
    ASSERT_CODE(pt_call(p, &call, SET_REQ, 1, 0, 1.0), PRC_ECONNLOST);
    ASSERT_EQ(call.retries, 0);
    ASSERT_EQ(ST(&call)->written, strlen(SET_REQ));
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(fakesrv_commands(srv), 1);
    return TEST_OK;
}

TEST_IMPL(call_no_retry_flag)
{
    fakesrv_opts_t so = {.first_mode = FS_CLOSE_ON_COMMAND, .first_n = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1,
                        PRC_CALL_READONLY | PRC_CALL_NO_RETRY, 1.0),
                PRC_ECONNLOST);
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(call_retry_attempts_bounded)
{
    fakesrv_opts_t so = {.mode = FS_CLOSE_ON_COMMAND};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_attempts = 2;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 2.0),
                PRC_ECONNLOST);
    ASSERT_EQ(call.retries, 2);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(fakesrv_commands(srv), 3);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 1);
    return TEST_OK;
}

/*
 * retry_on_timeout with one deadline per call: a read timeout means the
 * deadline is gone, so there is no time left to replay in.  Pinned down
 * here so that a change of this behaviour is noticed.
 */
TEST_IMPL(call_retry_on_timeout_read)
{
    fakesrv_opts_t so = {.first_mode = FS_HANG, .first_n = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    double t0, ms;

    /* The first connection never answers.  With retry_on_timeout a
     * read-only attempt gets a share of the call's one deadline (0.2 s
     * over 4 attempts), times out, and is replayed on a new connection,
     * which answers: the call succeeds within its deadline. */
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_on_timeout = 1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 0.2), PRC_OK);
    ms = test_now_ms() - t0;
    ASSERT_EQ(call.retries, 1);
    ASSERT_LE(ms, 200 + SLACK_MS);
    prc_call_finish(p, &call, PRC_OK);

    /* A write is never replayed after a timeout: it may have run. */
    so.first_n = 1;
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_on_timeout = 1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 0.2), PRC_ETIMEDOUT);
    ms = test_now_ms() - t0;
    ASSERT_EQ(call.retries, 0);
    ASSERT_GE(ms, 200 - SLACK_MS);
    ASSERT_LE(ms, 200 + SLACK_MS);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(call_retry_on_timeout_connect)
{
    fakesrv_opts_t so = {.first_mode = FS_HANG, .first_n = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    double t0, ms;

    /* The AUTH of the first connection is never answered: its connect
     * (handshake included) times out after connect_timeout. */
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.connect_timeout = 0.1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0),
                PRC_ETIMEDOUT);
    ms = test_now_ms() - t0;
    report_ms("handshake never answered, connect_timeout 100 ms:", ms);
    ASSERT_STR_CONTAINS(call.errstr, "connect to 127.0.0.1 timed out");
    ASSERT_EQ(call.retries, 0);
    ASSERT_GE(ms, 99);
    ASSERT_LE(ms, 100 + SLACK_MS);
    prc_call_finish(p, &call, call.err);

    /* With retry_on_timeout the connect is replayed (nothing was sent). */
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.connect_timeout = 0.1;
    o.retry_on_timeout = 1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0), 0);
    ASSERT_EQ(call.retries, 1);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

/* ---- handshake -------------------------------------------------------- */

TEST_IMPL(call_handshake_order)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char line[128];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.db = 3;
    o.client_name = "nm";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    /* Only the command's reply, none of the setup replies. */
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 4);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "AUTH pw");
    fakesrv_log(srv, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, "SELECT 3");
    fakesrv_log(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "CLIENT SETNAME nm");
    fakesrv_log(srv, 3, line, sizeof(line));
    ASSERT_STR_EQ(line, "GET k");
    /* A reused connection does not repeat the setup. */
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 5);
    return TEST_OK;
}

/* One handshake error reply and the code it must map to. */
static int
handshake_case(const char *auth_reply, const char *select_reply, int code,
               const char *errstr, int counted)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    so.auth_reply = auth_reply;
    so.select_reply = select_reply;
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.db = 1;
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0), code);
    /* The server's whole message, to its last character. */
    ASSERT_STR_EQ(call.errstr, errstr);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), counted);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.closed, 1);
    return TEST_OK;
}

TEST_IMPL(call_auth_error)
{
    fakesrv_opts_t so = {
        .auth_reply = "-WRONGPASS invalid username-password pair or user "
                      "is disabled.\r\n"};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "wrong";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0),
                PRC_EAUTH);
    ASSERT_STR_EQ(call.errstr, "WRONGPASS invalid username-password pair "
                               "or user is disabled.");
    /* Configuration, not availability: no retry, breaker untouched. */
    ASSERT_EQ(call.retries, 0);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);

    CHECK(handshake_case("-NOAUTH Authentication required.\r\n", NULL,
                         PRC_EAUTH, "NOAUTH Authentication required.", 0));
    CHECK(handshake_case(
        "-ERR AUTH <password> called without any password configured for "
        "the default user. Are you sure your configuration is correct?\r\n",
        NULL, PRC_EAUTH,
        "ERR AUTH <password> called without any password configured for "
        "the default user. Are you sure your configuration is correct?",
        0));
    CHECK(handshake_case("-ERR invalid password\r\n", NULL, PRC_EAUTH,
                         "ERR invalid password", 0));
    CHECK(handshake_case("-ERR Client sent AUTH, but no password is set\r\n",
                         NULL, PRC_EAUTH,
                         "ERR Client sent AUTH, but no password is set", 0));
    return TEST_OK;
}

TEST_IMPL(call_handshake_errors)
{
    CHECK(handshake_case("-ERR max number of clients reached\r\n", NULL,
                         PRC_EMAXCLIENTS, "ERR max number of clients reached",
                         1));
    CHECK(handshake_case("-LOADING Redis is loading the dataset in memory\r\n",
                         NULL, PRC_ELOADING,
                         "LOADING Redis is loading the dataset in memory", 1));
    CHECK(handshake_case(NULL, "-ERR DB index is out of range\r\n",
                         PRC_EHANDSHAKE, "ERR DB index is out of range", 0));
    CHECK(handshake_case("$2\r\nOK\r\n", NULL, PRC_EPROTO,
                         "unexpected reply to a setup command: connection "
                         "out of step",
                         1));
    CHECK(handshake_case("+EARLY\r\n", NULL, PRC_EPROTO,
                         "unexpected reply to a setup command: connection "
                         "out of step",
                         1));
    return TEST_OK;
}

/* More setup replies than setup commands, in the same segment. */
TEST_IMPL(call_handshake_extra_bytes)
{
    fakesrv_opts_t so = {.auth_reply = "+OK\r\n+EXTRA\r\n"};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 1.0), PRC_EPROTO);
    ASSERT_STR_EQ(call.errstr, "connection out of step: 8 bytes beyond the "
                               "expected replies; closed");
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(fakesrv_commands(srv), 1); /* GET never sent */
    return TEST_OK;
}

/* ---- reply limits ------------------------------------------------------ */

TEST_IMPL(call_reply_limit_bulk)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;
    double t0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* A value of exactly max_reply_bytes fits. */
    ASSERT_EQ(pt_call(p, &call, "*2\r\n$3\r\nBIG\r\n$4\r\n1000\r\n", 1,
                      PRC_CALL_READONLY, 1.0),
              0);
    prc_call_finish(p, &call, PRC_OK);
    /* A bigger one is refused on its header, before the payload: this
     * server sends the header and then nothing. */
    START_FAKE(srv, &(fakesrv_opts_t){.reply = "$2000\r\n"});
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0),
                PRC_EREPLYLIMIT);
    ASSERT_LT(test_now_ms() - t0, 500);
    ASSERT_STR_CONTAINS(call.errstr, "bulk reply of 2000 bytes exceeds");
    /* Not replayed even though read-only; not held against the server. */
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.closed, 1); /* the rest of the reply is unread */
    return TEST_OK;
}

TEST_IMPL(call_reply_limit_elements)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    /* Each element takes at least 3 bytes, so 1000 bytes cannot hold an
     * array of 400: refused on the header alone. */
    so.reply = "*400\r\n";
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 1.0), PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(call.errstr, "400 elements");
    prc_call_finish(p, &call, call.err);
    /* The whole reply, when it does arrive, is refused too. */
    so.reply = NULL;
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call,
                        "*3\r\n$3\r\nARR\r\n$3\r\n400\r\n$1\r\n1\r\n", 1, 0,
                        1.0),
                PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(call.errstr, "max_reply_bytes");
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(call_reply_limit_total)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    /* 300 small elements, each within every per-header limit, but the
     * reply is 11 kB against a 1000-byte max_reply_bytes. */
    ASSERT_CODE(pt_call(p, &call,
                        "*3\r\n$3\r\nARR\r\n$3\r\n300\r\n$2\r\n30\r\n", 1, 0,
                        1.0),
                PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(call.errstr, "max_reply_bytes");
    prc_call_finish(p, &call, call.err);
    /* The same at a larger scale, where the read buffer must grow: a
     * 1 MiB limit and a 1.9 MB reply of 16 kB values. */
    pt_opts(&o, srv);
    o.max_reply_bytes = 1 << 20;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call,
                        "*3\r\n$3\r\nARR\r\n$3\r\n120\r\n$5\r\n16000\r\n", 1,
                        0, 2.0),
                PRC_EREPLYLIMIT);
    /* Checked after each read; a read may fill the grown buffer, so at
     * most about twice the limit is ever buffered. */
    ASSERT_LE(ST(&call)->conn->rlen, 2 * (1 << 20) + 64 * 1024);
    prc_call_finish(p, &call, call.err);
    /* Below the limit, the same shape passes. */
    ASSERT_EQ(pt_call(p, &call,
                      "*3\r\n$3\r\nARR\r\n$2\r\n60\r\n$5\r\n16000\r\n", 1, 0,
                      2.0),
              0);
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

/* The limit holds per reply: a pipeline of three 900-byte values passes a
 * 1000-byte limit, however the bytes are split into reads. */
TEST_IMPL(call_reply_limit_per_reply)
{
    fakesrv_opts_t so = {.batch = 1};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char req[256];
    size_t n = 0;
    int i, rc;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    for (i = 0; i < 3; i++) {
        n += pt_format(req + n, sizeof(req) - n,
                       (const char *[]){"BIG", "900", NULL});
    }
    /* The server answers the three with one write: one read. */
    rc = pt_call(p, &call, req, 3, 0, 2.0);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(ST(&call)->conn->rlen, 3 * (6 + 900 + 2));
    prc_call_finish(p, &call, PRC_OK);
    /* A fourth reply over the limit is still refused. */
    n += pt_format(req + n, sizeof(req) - n,
                   (const char *[]){"BIG", "1100", NULL});
    ASSERT_CODE(pt_call(p, &call, req, 4, 0, 2.0), PRC_EREPLYLIMIT);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

TEST_IMPL(call_big_reply)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    const char *r;
    size_t len;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(
        pt_call(p, &call, "*2\r\n$3\r\nBIG\r\n$7\r\n1000000\r\n", 1, 0, 2.0),
        0);
    r = prc_conn_replies(ST(&call)->conn, &len);
    ASSERT_EQ(len, 10 + 1000000 + 2);
    ASSERT(memcmp(r, "$1000000\r\nxxx", 13) == 0);
    ASSERT(memcmp(r + len - 3, "x\r\n", 3) == 0);
    prc_call_finish(p, &call, PRC_OK);
    /* The pooled connection gives its big buffer back and still works. */
    ASSERT_EQ(pt_call(p, &call,
                      "*3\r\n$3\r\nARR\r\n$4\r\n1000\r\n$3\r\n100\r\n", 1, 0,
                      2.0),
              0);
    r = prc_conn_replies(ST(&call)->conn, &len);
    ASSERT_EQ(len, 7 + 1000 * (6 + 100 + 2));
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

/* ---- unix sockets and TLS --------------------------------------------- */

TEST_IMPL(call_unix_socket)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    static char path[64];

    snprintf(path, sizeof(path), "/tmp/prc-test-%d.sock", (int)getpid());
    so.unix_path = path;
    START_FAKE(srv, &so);
    pt_opts(&o, NULL);
    o.unix_path = path;
    o.password = "pw";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_commands(srv), 2);
    return TEST_OK;
}

TEST_IMPL(call_unix_errors)
{
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char longpath[200];

    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    pt_opts(&o, NULL);
    o.unix_path = longpath;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 1.0), PRC_EINVAL);
    ASSERT_STR_CONTAINS(call.errstr, "unix socket path too long");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);

    pt_opts(&o, NULL);
    o.unix_path = "/nonexistent/prc.sock";
    o.retry_attempts = 1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 1.0), PRC_ECONNECT);
    ASSERT_STR_CONTAINS(call.errstr,
                        "connect unix socket /nonexistent/prc.sock");
    ASSERT_STR_CONTAINS(call.errstr, "No such file or directory");
    ASSERT_EQ(call.retries, 1);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}

/* A server that writes +EARLY on accept, then answers like Redis: the
 * banner must not be taken as the AUTH reply (and the AUTH reply as the
 * command's). */
TEST_IMPL(call_greeting_not_a_reply)
{
    fakesrv_opts_t so = {.greeting = "+EARLY\r\n"};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char req[64], line[64];
    int i;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw";
    o.retry_attempts = 1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    pt_format(req, sizeof(req), (const char *[]){"ECHO", "mine", NULL});
    ASSERT_CODE(pt_call(p, &call, req, 1, PRC_CALL_READONLY, 1.0), PRC_EPROTO);
    ASSERT_STR_CONTAINS(call.errstr, "out of step");
    /* Setup failures are replayed on a new connection; never the
     * command, which was not sent. */
    ASSERT_EQ(call.retries, 1);
    ASSERT_EQ(fakesrv_accepted(srv), 2);
    prc_call_finish(p, &call, call.err);
    /* The retry may find the banner already there and send nothing. */
    ASSERT_GE(fakesrv_commands(srv), 1);
    ASSERT_LE(fakesrv_commands(srv), 2);
    for (i = 0; i < fakesrv_commands(srv); i++) {
        fakesrv_log(srv, i, line, sizeof(line));
        ASSERT_STR_EQ(line, "AUTH pw");
    }
    return TEST_OK;
}

/* ---- a real redis-server, when there is one ---------------------------- */

static int
on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[512];

    while (path != NULL && *path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
        if (access(buf, X_OK) == 0) {
            return 1;
        }
        path = colon ? colon + 1 : NULL;
    }
    return 0;
}

static pid_t redis_pid = -1;

static void
stop_redis(void *arg)
{
    int i, status;

    (void)arg;
    if (redis_pid <= 0) {
        return;
    }
    kill(redis_pid, SIGTERM);
    for (i = 0; i < 300; i++) {
        if (waitpid(redis_pid, &status, WNOHANG) == redis_pid) {
            redis_pid = -1;
            return;
        }
        test_sleep_ms(10);
    }
    kill(redis_pid, SIGKILL);
    waitpid(redis_pid, &status, 0);
    redis_pid = -1;
}

static int
wait_port(int port, int ms)
{
    double until = test_now_ms() + ms;

    while (test_now_ms() < until) {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (rc == 0) {
            return 0;
        }
        test_sleep_ms(20);
    }
    return -1;
}

static int
start_redis(int port)
{
    char portstr[16];
    char *argv[] = {"redis-server", "--port",        portstr,  "--bind",
                    "127.0.0.1",    "--save",        "",       "--appendonly",
                    "no",           "--requirepass", "s3cret", "--dir",
                    "/tmp",         "--logfile",     "",       NULL};
    posix_spawn_file_actions_t fa;
    extern char **environ;
    pid_t pid;
    int rc;

    snprintf(portstr, sizeof(portstr), "%d", port);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    rc = posix_spawnp(&pid, "redis-server", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        return -1;
    }
    redis_pid = pid;
    test_defer(stop_redis, NULL);
    return wait_port(port, 5000);
}

TEST_IMPL(call_real_redis)
{
    prc_opts_t o;
    prc_pool_t *p, *q;
    prc_call_t call;
    prc_pool_stats_t st;
    char req[512], id[32];
    const char *r;
    size_t len, n;
    int port, i, rc;
    double t0, ms;

    if (!on_path("redis-server")) {
        SKIP("redis-server is not on PATH");
    }
    port = test_free_port();
    ASSERT_EQ(start_redis(port), 0);

    /* A wrong password: the server's own message, EAUTH. */
    prc_opts_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    o.password = "nope";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0), PRC_EAUTH);
    ASSERT_STR_CONTAINS(call.errstr, "WRONGPASS");
    prc_call_finish(p, &call, call.err);

    /* ACL-style AUTH, SELECT and SETNAME. */
    o.username = "default";
    o.password = "s3cret";
    o.db = 2;
    o.client_name = "prc-test";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 2.0), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 2.0), 0);
    CHECK(pt_replies_are(&call, "$1\r\nv\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    pt_format(req, sizeof(req), (const char *[]){"CLIENT", "GETNAME", NULL});
    ASSERT_EQ(pt_call(p, &call, req, 1, 0, 2.0), 0);
    CHECK(pt_replies_are(&call, "$8\r\nprc-test\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    pt_format(req, sizeof(req), (const char *[]){"CLIENT", "INFO", NULL});
    ASSERT_EQ(pt_call(p, &call, req, 1, 0, 2.0), 0);
    r = prc_conn_replies(ST(&call)->conn, &len);
    ASSERT(memmem(r, len, " db=2 ", 6) != NULL);
    prc_call_finish(p, &call, PRC_OK);

    /* A pipeline of 100 INCRs in one write. */
    {
        static char pipe[100 * 32];
        n = 0;
        for (i = 0; i < 100; i++) {
            n += pt_format(pipe + n, sizeof(pipe) - n,
                           (const char *[]){"INCR", "counter", NULL});
        }
        ASSERT_EQ(pt_call(p, &call, pipe, 100, 0, 2.0), 0);
        r = prc_conn_replies(ST(&call)->conn, &len);
        ASSERT_EQ(len, 9 * 4 + 90 * 5 + 6);
        ASSERT(memcmp(r + len - 6, ":100\r\n", 6) == 0);
        prc_call_finish(p, &call, PRC_OK);
    }

    /* BLPOP with its own deadline: the server's nil after 0.1 s. */
    pt_format(req, sizeof(req),
              (const char *[]){"BLPOP", "nolist", "0.1", NULL});
    prc_call_init(&call, req, strlen(req), 1, PRC_CALL_BLOCKING,
                  prc_deadline_after(0.05));
    call.block_deadline = prc_deadline_after(0.6);
    t0 = test_now_ms();
    ASSERT_EQ(prc_pool_call(p, &call), 0);
    ms = test_now_ms() - t0;
    CHECK(pt_replies_are(&call, "*-1\r\n"));
    ASSERT_GE(ms, 90);
    prc_call_finish(p, &call, PRC_OK);

    /* The server kills our idle connection: replaced without error. */
    pt_format(req, sizeof(req), (const char *[]){"CLIENT", "ID", NULL});
    ASSERT_EQ(pt_call(p, &call, req, 1, 0, 2.0), 0);
    r = prc_conn_replies(ST(&call)->conn, &len);
    ASSERT(len > 3 && r[0] == ':');
    snprintf(id, sizeof(id), "%.*s", (int)(len - 3), r + 1);
    prc_call_finish(p, &call, PRC_OK);
    o.client_name = NULL;
    ASSERT_NOT_NULL(q = pt_pool(&o));
    pt_format(req, sizeof(req),
              (const char *[]){"CLIENT", "KILL", "ID", id, NULL});
    ASSERT_EQ(pt_call(q, &call, req, 1, 0, 2.0), 0);
    CHECK(pt_replies_are(&call, ":1\r\n"));
    prc_call_finish(q, &call, PRC_OK);
    test_sleep_ms(30);
    ASSERT_EQ(pt_call(p, &call, SET_REQ, 1, 0, 2.0), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.stale, 1);
    ASSERT_EQ(st.errors, 0);

    /* A 19-digit integer reply, straight from Redis. */
    pt_format(req, sizeof(req),
              (const char *[]){"SET", "n", "9223372036854775806", NULL});
    ASSERT_EQ(pt_call(p, &call, req, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    pt_format(req, sizeof(req), (const char *[]){"INCR", "n", NULL});
    rc = pt_call(p, &call, req, 1, 0, 2.0);
    ASSERT_EQ(rc, 0);
    CHECK(pt_replies_are(&call, ":9223372036854775807\r\n"));
    prc_call_finish(p, &call, rc);
    return TEST_OK;
}
