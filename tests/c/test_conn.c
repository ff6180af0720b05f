/* test_conn.c - one connection on its own, with no pool: the state machine
 * driven by hand from a prc_conn_cfg_t. */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pooltest.h"

/* Slack for timing assertions: a loaded 2-core machine under TSan. */
#define SLACK_MS 250

/* ---- the state machine, driven by hand -------------------------------- */

/* Open a connection with prc__conn_open_step and prc__wait. */
static int
open_conn(const prc_conn_cfg_t *cfg, prc_conn_t **out)
{
    prc_conn_t *c = prc__conn_new(cfg);
    int64_t dl = prc_deadline_after(1.0);
    int rc, steps = 0;

    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->state, PRC__CONN_NEW);
    ASSERT_EQ(c->fd, -1);
    while ((rc = prc__conn_open_step(c)) > 0) {
        ASSERT(rc == PRC_WANT_READ || rc == PRC_WANT_WRITE);
        ASSERT_EQ(prc__wait(c, rc, dl), 0);
        ASSERT_LT(++steps, 100);
    }
    ASSERT_EQ(rc, PRC_DONE);
    ASSERT_EQ(c->state, PRC__CONN_READY);
    ASSERT_GE(c->fd, 0);
    ASSERT_NULL(c->ai);
    *out = c;
    return TEST_OK;
}

/* Run one exchange to completion or error; returns the io_step result. */
static int
exchange(prc_conn_t *c, const char *req, size_t len, int n, double timeout)
{
    int64_t dl = prc_deadline_after(timeout);
    int rc;

    prc__conn_begin(c, req, len, n);
    while ((rc = prc__conn_io_step(c)) > 0) {
        int w = prc__wait(c, rc, dl);
        if (w != 0) {
            return w;
        }
    }
    return rc;
}

static void
free_conn(void *c)
{
    prc__conn_free(c, 1);
}

/* Open a connection as far as it goes within `timeout`; returns the last
 * open_step result (PRC_DONE or an error), with *out freed after the
 * test. */
static int
try_open(const prc_conn_cfg_t *cfg, double timeout, prc_conn_t **out)
{
    prc_conn_t *c = prc__conn_new(cfg);
    int64_t dl = prc_deadline_after(timeout);
    int rc, w;

    if (c == NULL) {
        return PRC_ENOMEM;
    }
    test_defer(free_conn, c);
    *out = c;
    while ((rc = prc__conn_open_step(c)) > 0) {
        w = prc__wait(c, rc, dl);
        if (w != 0) {
            return w;
        }
    }
    return rc;
}

TEST_IMPL(conn_state_machine)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_conn_cfg_t *cfg;
    prc_conn_t *c;
    const char *r;
    size_t len;
    char req[256];
    int64_t past;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "pw"; /* the handshake runs inside open_step */
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    CHECK(open_conn(cfg, &c));
    test_defer(free_conn, c);
    ASSERT_EQ(prc__conn_stale(c), 0);
    /* The first io_step writes everything and asks to wait: no read
     * before poll says readable. */
    prc__conn_begin(c, PING_REQ, strlen(PING_REQ), 1);
    ASSERT_EQ(prc__conn_io_step(c), PRC_WANT_READ);
    ASSERT_EQ(c->written, strlen(PING_REQ));
    ASSERT_EQ(prc__wait(c, PRC_WANT_READ, prc_deadline_after(1.0)), 0);
    ASSERT_EQ(prc__conn_io_step(c), PRC_DONE);
    ASSERT_EQ(c->got, 1);
    r = prc_conn_replies(c, &len);
    ASSERT_MEM_EQ(r, len, "+PONG\r\n");
    /* A pipeline on the same connection. */
    len = pt_format(req, sizeof(req), (const char *[]){"PING", NULL});
    len += pt_format(req + len, sizeof(req) - len,
                     (const char *[]){"ECHO", "x", NULL});
    ASSERT_EQ(exchange(c, req, len, 2, 1.0), PRC_DONE);
    r = prc_conn_replies(c, &len);
    ASSERT_MEM_EQ(r, len, "+PONG\r\n$1\r\nx\r\n");
    ASSERT(prc_framer_idle(&c->framer));
    /* A deadline in the past times out at once. */
    past = prc_now() - 1;
    ASSERT_CODE(prc__wait(c, PRC_WANT_READ, past), PRC_ETIMEDOUT);
    /* The server goes away: the idle connection reads as stale. */
    fakesrv_stop(srv);
    test_sleep_ms(20);
    ASSERT_EQ(prc__conn_stale(c), 1);
    ASSERT_CODE(exchange(c, PING_REQ, strlen(PING_REQ), 1, 1.0),
                PRC_ECONNLOST);
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);
    ASSERT_EQ(prc__conn_stale(c), 1);
    /* A broken connection keeps failing with its error. */
    ASSERT_CODE(prc__conn_io_step(c), PRC_ECONNLOST);
    ASSERT_CODE(prc__conn_open_step(c), PRC_ECONNLOST);
    return TEST_OK;
}

/* ---- a faulty transport ------------------------------------------------ */

enum { FT_SHORT = 0, FT_EOF, FT_RESET, FT_WRITE_ERR, FT_STUCK, FT_TLS_READ };
static int ft_mode;
static int ft_calls;

static ssize_t
ft_read(prc_conn_t *c, char *buf, size_t len)
{
    ft_calls++;
    switch (ft_mode) {
    case FT_SHORT:
        if (ft_calls % 3 == 0) {
            return PRC__AGAIN_READ;
        }
        return prc__plain_transport.read(c, buf, len > 1 ? 1 : len);
    case FT_EOF:
        return 0;
    case FT_RESET:
        return prc__conn_error(c, PRC_ECONNLOST, ECONNRESET, "read");
    case FT_STUCK:
        return PRC__AGAIN_READ;
    default:
        return prc__plain_transport.read(c, buf, len);
    }
}

static ssize_t
ft_write(prc_conn_t *c, const char *buf, size_t len)
{
    ft_calls++;
    switch (ft_mode) {
    case FT_SHORT:
        if (ft_calls % 2 == 0) {
            return PRC__AGAIN_WRITE;
        }
        return prc__plain_transport.write(c, buf, len > 3 ? 3 : len);
    case FT_WRITE_ERR:
        return prc__conn_error(c, PRC_ECONNLOST, EPIPE, "write");
    case FT_TLS_READ: /* as SSL_write wanting to read first */
        return PRC__AGAIN_READ;
    default:
        return prc__plain_transport.write(c, buf, len);
    }
}

static const prc_transport_t faulty = {
    .read = ft_read,
    .write = ft_write,
    .handshake = NULL,
    .close = NULL,
};

static void
free_faulty_conn(void *arg)
{
    prc_conn_t *c = arg;

    c->tp = &prc__plain_transport;
    prc__conn_free(c, 1);
}

static int
faulty_conn(const prc_conn_cfg_t *cfg, int mode, prc_conn_t **out)
{
    CHECK(open_conn(cfg, out));
    test_defer(free_faulty_conn, *out);
    (*out)->tp = &faulty;
    ft_mode = mode;
    ft_calls = 0;
    return TEST_OK;
}

TEST_IMPL(conn_faulty_transport)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_conn_cfg_t *p;
    prc_conn_t *c;
    const char *r;
    size_t len;
    char req[256];
    double t0;
    prc_wbuf_t out;
    uint64_t sent = 0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_cfg(&o));

    /* Short writes, one-byte reads and spurious EAGAINs. */
    CHECK(faulty_conn(p, FT_SHORT, &c));
    len = pt_format(req, sizeof(req), (const char *[]){"PING", NULL});
    len += pt_format(req + len, sizeof(req) - len,
                     (const char *[]){"ECHO", "hello", NULL});
    len += pt_format(req + len, sizeof(req) - len,
                     (const char *[]){"ARR", "2", "3", NULL});
    ASSERT_EQ(exchange(c, req, len, 3, 2.0), PRC_DONE);
    r = prc_conn_replies(c, &len);
    ASSERT_MEM_EQ(r, len,
                  "+PONG\r\n$5\r\nhello\r\n*2\r\n$3\r\nyyy\r\n$3\r\nyyy\r\n");
    ASSERT_GT(ft_calls, 40);
    ASSERT_EQ(c->state, PRC__CONN_READY);

    /* EOF while reading. */
    CHECK(faulty_conn(p, FT_EOF, &c));
    ASSERT_CODE(exchange(c, PING_REQ, strlen(PING_REQ), 1, 1.0),
                PRC_ECONNLOST);
    ASSERT_STR_EQ(c->errstr, "server closed the connection");
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);

    /* Reset while reading. */
    CHECK(faulty_conn(p, FT_RESET, &c));
    ASSERT_CODE(exchange(c, PING_REQ, strlen(PING_REQ), 1, 1.0),
                PRC_ECONNLOST);
    ASSERT_STR_EQ(c->errstr, "read: Connection reset by peer");

    /* A write error. */
    CHECK(faulty_conn(p, FT_WRITE_ERR, &c));
    ASSERT_CODE(exchange(c, PING_REQ, strlen(PING_REQ), 1, 1.0),
                PRC_ECONNLOST);
    ASSERT_STR_EQ(c->errstr, "write: Broken pipe");
    ASSERT_EQ(c->written, 0);

    /* A transport that never yields data ends at the deadline. */
    CHECK(faulty_conn(p, FT_STUCK, &c));
    t0 = test_now_ms();
    ASSERT_CODE(exchange(c, PING_REQ, strlen(PING_REQ), 1, 0.05),
                PRC_ETIMEDOUT);
    ASSERT_LE(test_now_ms() - t0, 50 + SLACK_MS);

    /* A write that must read first (TLS): a stream write waits to read;
     * a wait for POLLOUT would return at once, and spin. */
    CHECK(faulty_conn(p, FT_TLS_READ, &c));
    prc_wbuf_init(&out, NULL, 0);
    ASSERT_EQ(prc_wbuf_append(&out, "x", 1), 0);
    ASSERT_EQ(prc_conn_stream_write(c, &out, &sent), PRC_WANT_READ);
    ASSERT_EQ(out.len, 1);
    ASSERT_EQ(sent, 0);
    prc_wbuf_free(&out);
    return TEST_OK;
}

/* ---- out of step: bytes nobody asked for, on a socketpair ----------- */

static void
close_fd(void *arg)
{
    close((int)(intptr_t)arg);
}

/* A connection on one end of a socketpair, in `state`; *peer is the
 * test's end, playing the server byte for byte. */
static int
pair_conn(const prc_conn_cfg_t *cfg, int state, prc_conn_t **out, int *peer)
{
    int sv[2];
    prc_conn_t *c;

    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ASSERT_NOT_NULL(c = prc__conn_new(cfg));
    test_defer(free_conn, c);
    test_defer(close_fd, (void *)(intptr_t)sv[1]);
    c->fd = sv[0];
    c->state = state;
    *out = c;
    *peer = sv[1];
    return TEST_OK;
}

static int
peer_says(int peer, const char *bytes)
{
    ASSERT_EQ(write(peer, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
    return TEST_OK;
}

TEST_IMPL(conn_out_of_step)
{
    prc_opts_t o;
    prc_conn_cfg_t *p;
    prc_conn_t *c;
    const char *r;
    char req[64];
    size_t len;
    int peer;

    prc_opts_init(&o);
    o.host = "127.0.0.1";
    ASSERT_NOT_NULL(p = pt_cfg(&o));
    len = pt_format(req, sizeof(req), (const char *[]){"ECHO", "two", NULL});

    /* The answer, then an extra reply while the connection is idle: the
     * checkout check finds it, and nobody reads it as a reply. */
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    CHECK(peer_says(peer, "$3\r\none\r\n"));
    ASSERT_EQ(exchange(c, req, len, 1, 1.0), PRC_DONE);
    ASSERT_EQ(prc__conn_stale(c), 0);
    CHECK(peer_says(peer, "$3\r\none\r\n"));
    ASSERT_EQ(prc__conn_stale(c), 1);

    /* The extra reply arrives with the next answer, in one read: the
     * first reply is the stale one, and neither is handed out. */
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    CHECK(peer_says(peer, "$3\r\none\r\n$3\r\ntwo\r\n"));
    ASSERT_CODE(exchange(c, req, len, 1, 1.0), PRC_EPROTO);
    ASSERT_STR_EQ(c->errstr, "connection out of step: 9 bytes beyond the "
                             "expected replies; closed");
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);

    /* A pipeline gets all its replies or none. */
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    CHECK(peer_says(peer, "+OK\r\n:1\r\n+EXTRA\r\n"));
    ASSERT_CODE(exchange(c, req, len, 2, 1.0), PRC_EPROTO);
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    CHECK(peer_says(peer, "+OK\r\n:1\r\n"));
    ASSERT_EQ(exchange(c, req, len, 2, 1.0), PRC_DONE);
    r = prc_conn_replies(c, &len);
    ASSERT_MEM_EQ(r, len, "+OK\r\n:1\r\n");
    return TEST_OK;
}

/* ---- streaming exchanges (a shared connection) ---------------------- */

TEST_IMPL(conn_stream)
{
    prc_opts_t o;
    prc_conn_cfg_t *p;
    prc_conn_t *c;
    prc_wbuf_t out;
    const char *argv[] = {"ECHO", "abc"};
    const size_t lens[] = {4, 3};
    char got[64];
    uint64_t sent = 0;
    size_t len;
    int peer, n;

    prc_opts_init(&o);
    o.host = "127.0.0.1";
    ASSERT_NOT_NULL(p = pt_cfg(&o));
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    prc_conn_stream_begin(c);

    /* Two commands appended, one write; the buffer is emptied. */
    prc_wbuf_init(&out, NULL, 0);
    ASSERT_EQ(prc_wbuf_append_command(&out, 2, argv, lens), 0);
    ASSERT_EQ(prc_wbuf_append_command(&out, 2, argv, lens), 0);
    ASSERT_EQ(prc_conn_stream_write(c, &out, &sent), PRC_DONE);
    ASSERT_EQ(out.len, 0);
    ASSERT_EQ(sent, 46);
    ASSERT_EQ(read(peer, got, sizeof(got)), 46);
    prc_wbuf_free(&out);

    /* Nothing there yet: no reply. */
    ASSERT_EQ(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_WANT_READ);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(len, 0);
    /* A whole reply and part of the next: the first is taken, the rest
     * kept for the next read. */
    CHECK(peer_says(peer, "+OK\r\n$3\r\nab"));
    ASSERT_EQ(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_WANT_READ);
    ASSERT_EQ(n, 1);
    ASSERT_MEM_EQ(prc_conn_replies(c, &(size_t){0}), len, "+OK\r\n");
    prc_conn_stream_consume(c, len);
    CHECK(peer_says(peer, "c\r\n"));
    ASSERT_EQ(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_WANT_READ);
    ASSERT_EQ(n, 1);
    ASSERT_MEM_EQ(prc_conn_replies(c, &(size_t){0}), len, "$3\r\nabc\r\n");
    prc_conn_stream_consume(c, len);
    prc_conn_stream_consume(c, 0);

    /* A reply, then the end: the reply first, then ECONNLOST. */
    CHECK(peer_says(peer, ":1\r\n"));
    shutdown(peer, SHUT_WR);
    ASSERT_EQ(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_WANT_READ);
    ASSERT_EQ(n, 1);
    ASSERT_MEM_EQ(prc_conn_replies(c, &(size_t){0}), len, ":1\r\n");
    prc_conn_stream_consume(c, len);
    ASSERT_CODE(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_ECONNLOST);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(len, 0);
    ASSERT_STR_EQ(c->errstr, "server closed the connection");
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);
    /* A broken connection neither writes nor reads. */
    prc_wbuf_init(&out, NULL, 0);
    ASSERT_EQ(prc_wbuf_append(&out, "x", 1), 0);
    ASSERT_CODE(prc_conn_stream_write(c, &out, &sent), PRC_ECONNLOST);
    ASSERT_CODE(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_ECONNLOST);
    prc_wbuf_free(&out);

    /* Bytes that are not RESP: no reply is taken. */
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    prc_conn_stream_begin(c);
    CHECK(peer_says(peer, "+OK\r\n?what\r\n"));
    ASSERT_CODE(prc_conn_stream_read(c, 1 << 20, &len, &n), PRC_EPROTO);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);

    /* A read bounded by max stops early; the rest comes next time. */
    CHECK(pair_conn(p, PRC__CONN_READY, &c, &peer));
    prc_conn_stream_begin(c);
    CHECK(peer_says(peer, "+A\r\n"));
    ASSERT_EQ(prc_conn_stream_read(c, 1, &len, &n), PRC_WANT_READ);
    ASSERT_EQ(n, 1);
    prc_conn_stream_consume(c, len);

    /* The peer stops reading: the write waits for the socket. */
    {
        static char big[1 << 20];
        memset(big, 'x', sizeof(big));
        prc_wbuf_init(&out, NULL, 0);
        ASSERT_EQ(prc_wbuf_append(&out, big, sizeof(big)), 0);
        sent = 0;
        ASSERT_EQ(prc_conn_stream_write(c, &out, &sent), PRC_WANT_WRITE);
        ASSERT_GT(sent, 0);
        ASSERT_EQ(sent + out.len, sizeof(big));
        prc_wbuf_free(&out);
    }
    return TEST_OK;
}

/* Bytes that a server sends before any command: a new connection with
 * them is out of step (or refused, when they are a server error). */
static int
early_case(const prc_conn_cfg_t *p, const char *bytes, int close_peer,
           int code, const char *errstr)
{
    prc_conn_t *c;
    int peer;

    CHECK(pair_conn(p, PRC__CONN_CONNECTING, &c, &peer));
    if (bytes != NULL) {
        CHECK(peer_says(peer, bytes));
    }
    if (close_peer) {
        shutdown(peer, SHUT_WR);
    }
    ASSERT_CODE(prc__conn_open_step(c), code);
    if (errstr != NULL) {
        ASSERT_STR_EQ(c->errstr, errstr);
    }
    if (code < 0) {
        ASSERT_EQ(c->state, PRC__CONN_BROKEN);
    }
    return TEST_OK;
}

TEST_IMPL(conn_bytes_before_handshake)
{
    prc_opts_t o;
    prc_conn_cfg_t *p, *auth;

    prc_opts_init(&o);
    o.host = "127.0.0.1";
    ASSERT_NOT_NULL(p = pt_cfg(&o));
    o.password = "pw";
    ASSERT_NOT_NULL(auth = pt_cfg(&o));

    /* Quiet: READY at once, or the handshake is sent. */
    CHECK(early_case(p, NULL, 0, PRC_DONE, NULL));
    CHECK(early_case(auth, NULL, 0, PRC_WANT_READ, NULL));
    /* A banner, with or without setup commands to send. */
    CHECK(early_case(p, "+EARLY\r\n", 0, PRC_EPROTO,
                     "connection out of step: the server sent 8 bytes "
                     "before any command"));
    CHECK(early_case(auth, "+EARLY\r\n", 0, PRC_EPROTO, NULL));
    /* What Redis itself sends on accept when it refuses a client. */
    CHECK(early_case(p, "-ERR max number of clients reached\r\n", 1,
                     PRC_EMAXCLIENTS, "ERR max number of clients reached"));
    CHECK(early_case(p, "-DENIED Redis is running in protected mode\r\n", 1,
                     PRC_EHANDSHAKE,
                     "DENIED Redis is running in protected mode"));
    CHECK(early_case(p, NULL, 1, PRC_ECONNLOST,
                     "server closed the connection before any command was "
                     "sent"));
    return TEST_OK;
}

/* ---- opening: connect, resolve, handshake, on a config alone ------------ */

TEST_IMPL(conn_open_refused)
{
    prc_opts_t o;
    prc_conn_cfg_t *cfg;
    prc_conn_t *c;
    char expect[64];
    int port = test_free_port();

    ASSERT_GT(port, 0);
    pt_opts(&o, NULL);
    o.port = port;
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_CODE(try_open(cfg, 1.0, &c), PRC_ECONNECT);
    snprintf(expect, sizeof(expect), "connect 127.0.0.1:%d: ", port);
    ASSERT_STR_CONTAINS(c->errstr, expect);
    ASSERT_STR_CONTAINS(c->errstr, "refused");
    ASSERT_EQ(c->sys_err, ECONNREFUSED);
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);
    ASSERT_EQ(c->fd, -1);
    return TEST_OK;
}

/* A host name is resolved on a helper thread, awaited like any fd. */
TEST_IMPL(conn_open_resolve)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_conn_cfg_t *cfg;
    prc_conn_t *c;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.host = "localhost";
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_EQ(try_open(cfg, 2.0, &c), PRC_DONE);
    ASSERT_EQ(c->state, PRC__CONN_READY);
    ASSERT_NULL(c->resolve);
    ASSERT_EQ(exchange(c, PING_REQ, strlen(PING_REQ), 1, 1.0), PRC_DONE);
    /* A name that does not resolve: the resolver's own message. */
    o.host = "no-such-host.invalid";
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_CODE(try_open(cfg, 5.0, &c), PRC_ECONNECT);
    ASSERT_STR_CONTAINS(c->errstr, "resolve no-such-host.invalid: ");
    return TEST_OK;
}

/* The config's handshake goes out in one write, in order, and only the
 * replies to it are read; a setup error maps as redis-py maps it. */
TEST_IMPL(conn_open_handshake)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_conn_cfg_t *cfg;
    prc_conn_t *c;
    char line[128];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.username = "u";
    o.password = "pw";
    o.db = 3;
    o.client_name = "nm";
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_EQ(cfg->handshake_n, 3);
    ASSERT_EQ(try_open(cfg, 1.0, &c), PRC_DONE);
    ASSERT_EQ(c->state, PRC__CONN_READY);
    ASSERT_EQ(c->rlen, 0); /* the setup replies are not the caller's */
    ASSERT_EQ(fakesrv_commands(srv), 3);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "AUTH u pw");
    fakesrv_log(srv, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, "SELECT 3");
    fakesrv_log(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "CLIENT SETNAME nm");

    START_FAKE(srv, &(fakesrv_opts_t){.auth_reply = "-WRONGPASS invalid "
                                                    "username-password "
                                                    "pair\r\n"});
    pt_opts(&o, srv);
    o.password = "pw";
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_CODE(try_open(cfg, 1.0, &c), PRC_EAUTH);
    ASSERT_STR_EQ(c->errstr, "WRONGPASS invalid username-password pair");
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);
    return TEST_OK;
}

TEST_IMPL(conn_open_unix)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_conn_cfg_t *cfg;
    prc_conn_t *c;
    static char path[64];

    snprintf(path, sizeof(path), "/tmp/prc-conn-%d.sock", (int)getpid());
    so.unix_path = path;
    START_FAKE(srv, &so);
    pt_opts(&o, NULL);
    o.unix_path = path;
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_EQ(try_open(cfg, 1.0, &c), PRC_DONE);
    ASSERT_EQ(exchange(c, PING_REQ, strlen(PING_REQ), 1, 1.0), PRC_DONE);
    fakesrv_stop(srv);
    unlink(path);
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_CODE(try_open(cfg, 1.0, &c), PRC_ECONNECT);
    ASSERT_STR_CONTAINS(c->errstr, "connect unix socket ");
    return TEST_OK;
}

/* The config's max_reply_bytes holds each reply: a value of exactly the
 * limit fits, a larger one fails on its header. */
TEST_IMPL(conn_reply_limit)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_conn_cfg_t *cfg;
    prc_conn_t *c;
    static const char big1000[] = "*2\r\n$3\r\nBIG\r\n$4\r\n1000\r\n";
    static const char big1001[] = "*2\r\n$3\r\nBIG\r\n$4\r\n1001\r\n";

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.max_reply_bytes = 1000;
    ASSERT_NOT_NULL(cfg = pt_cfg(&o));
    ASSERT_EQ(try_open(cfg, 1.0, &c), PRC_DONE);
    ASSERT_EQ(exchange(c, big1000, strlen(big1000), 1, 1.0), PRC_DONE);
    ASSERT_CODE(exchange(c, big1001, strlen(big1001), 1, 1.0),
                PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(c->errstr, "bulk reply of 1001 bytes exceeds");
    ASSERT_EQ(c->state, PRC__CONN_BROKEN);
    return TEST_OK;
}
