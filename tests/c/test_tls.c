/* test_tls.c - TLS: handshake, verification, SNI, against a TLS fake. */
#include <unistd.h>

#include "pooltest.h"
#include "tlscert.h"

static tlscert_t srv_cert, other_cert;
static int certs_made;

static void
remove_certs(void *arg)
{
    (void)arg;
    tlscert_remove(&srv_cert);
    tlscert_remove(&other_cert);
    certs_made = 0;
}

/* The server's certificate (localhost, 127.0.0.1) and an unrelated one. */
static int
make_certs(void)
{
    if (!certs_made) {
        ASSERT_EQ(tlscert_make(&srv_cert, "srv", "localhost",
                               "DNS:localhost,IP:127.0.0.1"),
                  0);
        ASSERT_EQ(tlscert_make(&other_cert, "other", "other.example",
                               "DNS:other.example"),
                  0);
        certs_made = 1;
        test_defer(remove_certs, NULL);
    }
    return TEST_OK;
}

static int
start_tls_fake(fakesrv_t **srv)
{
    fakesrv_opts_t so = {0};

    CHECK(make_certs());
    so.tls_cert = srv_cert.cert;
    so.tls_key = srv_cert.key;
    START_FAKE(*srv, &so);
    return TEST_OK;
}

static void
tls_opts(prc_opts_t *o, fakesrv_t *srv)
{
    pt_opts(o, srv);
    o->tls = 1;
    o->tls_ca_file = srv_cert.cert;
    o->retry_attempts = 0;
}

TEST_IMPL(tls_ok)
{
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    const char *r;
    size_t len;
    char eb[128];
    int err, i;

    CHECK(start_tls_fake(&srv));
    tls_opts(&o, srv);
    o.password = "pw"; /* the setup commands go over TLS too */
    p = prc_pool_new(&o, &err, eb, sizeof(eb));
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 2.0), 0);
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    /* Large replies: more than one TLS record per read, data left
     * buffered inside the TLS session. */
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(pt_call(p, &call, "*2\r\n$3\r\nBIG\r\n$6\r\n100000\r\n", 1,
                          0, 2.0),
                  0);
        r = prc_conn_replies(ST(&call)->conn, &len);
        ASSERT_EQ(len, 9 + 100000 + 2);
        ASSERT(memcmp(r + len - 3, "x\r\n", 3) == 0);
        prc_call_finish(p, &call, PRC_OK);
    }
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    ASSERT_EQ(fakesrv_commands(srv), 5);
    /* Freeing the pool ends the session (close_notify): the server sees
     * the connection close. */
    prc_pool_free(p);
    ASSERT_EQ(fakesrv_wait_closed(srv, 1, 2000), 0);
    return TEST_OK;
}

TEST_IMPL(tls_server_name)
{
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;

    CHECK(start_tls_fake(&srv));
    /* A DNS name checked against the DNS SAN (and sent as SNI). */
    tls_opts(&o, srv);
    o.tls_server_name = "localhost";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    /* A name the certificate does not have. */
    tls_opts(&o, srv);
    o.tls_server_name = "wrong.example";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0),
                test_cert_error_code());
    ASSERT_STR_CONTAINS(call.errstr, "certificate verify failed");
    ASSERT_STR_CONTAINS(call.errstr, "hostname mismatch");
    prc_call_finish(p, &call, call.err);
    /* An IP literal is checked against the IP SANs. */
    tls_opts(&o, srv);
    o.tls_server_name = "127.0.0.2";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0),
                test_cert_error_code());
    ASSERT_STR_CONTAINS(call.errstr, "IP address mismatch");
    prc_call_finish(p, &call, call.err);
    /* The check can be turned off. */
    tls_opts(&o, srv);
    o.tls_server_name = "wrong.example";
    o.tls_check_hostname = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

TEST_IMPL(tls_untrusted)
{
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    double t0;

    CHECK(start_tls_fake(&srv));
    /* A CA that did not sign the server's certificate. */
    tls_opts(&o, srv);
    o.tls_ca_file = other_cert.cert;
    o.retry_attempts = 3;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0),
                test_cert_error_code());
    ASSERT_LT(test_now_ms() - t0, 1000);
    ASSERT_STR_CONTAINS(call.errstr, "certificate verify failed");
    prc_call_finish(p, &call, call.err);
    if (test_cert_error_code() != PRC_ETLS) {
        /* Configuration, not availability: no replay, no breaker
         * failure. */
        ASSERT_EQ(call.retries, 0);
        ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    }
    /* "optional" verifies like "required" (as Python's ssl does). */
    o.tls_verify = PRC_TLS_VERIFY_OPTIONAL;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0),
                test_cert_error_code());
    prc_call_finish(p, &call, call.err);
    /* The system store does not know the test CA either. */
    tls_opts(&o, srv);
    o.tls_ca_file = NULL;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0),
                test_cert_error_code());
    ASSERT_STR_CONTAINS(call.errstr, "certificate verify failed");
    prc_call_finish(p, &call, call.err);
    /* "none" connects without a CA or a name check. */
    o.tls_verify = PRC_TLS_VERIFY_NONE;
    o.tls_server_name = "wrong.example";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    return TEST_OK;
}

TEST_IMPL(tls_client_files)
{
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char eb[256];
    int err;

    CHECK(start_tls_fake(&srv));
    /* A client certificate and its key (the server does not ask). */
    tls_opts(&o, srv);
    o.tls_cert_file = other_cert.cert;
    o.tls_key_file = other_cert.key;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 2.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    /* A key that does not match the certificate. */
    o.tls_key_file = srv_cert.key;
    ASSERT_NULL(prc_pool_new(&o, &err, eb, sizeof(eb)));
    ASSERT_CODE(err, PRC_ETLS);
    ASSERT_STR_CONTAINS(eb, "loading TLS client key");
    /* A CA directory that does not exist: OpenSSL accepts the path, and
     * the handshake then finds no CA. */
    tls_opts(&o, srv);
    o.tls_ca_file = NULL;
    o.tls_ca_path = "/nonexistent/ca.d";
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 2.0),
                test_cert_error_code());
    ASSERT_STR_CONTAINS(call.errstr, "certificate verify failed");
    prc_call_finish(p, &call, call.err);
    /* A CA file that is not PEM. */
    tls_opts(&o, srv);
    o.tls_ca_file = "/etc/hostname";
    ASSERT_NULL(prc_pool_new(&o, &err, eb, sizeof(eb)));
    ASSERT_CODE(err, PRC_ETLS);
    ASSERT_STR_CONTAINS(eb, "loading TLS CA certificates");
    return TEST_OK;
}

TEST_IMPL(tls_against_plain_server)
{
    fakesrv_opts_t so = {.mode = FS_RAW, .raw_reply = "-ERR wrong\r\n"};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    double t0, ms;
    int rc;

    /* A plain server answering the ClientHello with RESP. */
    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.tls = 1;
    o.tls_verify = PRC_TLS_VERIFY_NONE;
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 1.0), PRC_ETLS);
    ASSERT_STR_CONTAINS(call.errstr, "TLS handshake");
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 1);

    /* A server that closes at once (OpenSSL 3 reports the EOF as an
     * "unexpected eof" TLS error; either way it counts). */
    fakesrv_set_mode(srv, FS_CLOSE_ON_ACCEPT);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    rc = pt_call(p, &call, PING_REQ, 1, 0, 1.0);
    ASSERT(rc == PRC_ECONNLOST || rc == PRC_ETLS);
    ASSERT_STR_CONTAINS(call.errstr, "TLS handshake");
    prc_call_finish(p, &call, call.err);

    /* A server that never answers the ClientHello. */
    fakesrv_set_mode(srv, FS_HANG);
    o.connect_timeout = 0.1;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    t0 = test_now_ms();
    ASSERT_CODE(pt_call(p, &call, PING_REQ, 1, 0, 1.0), PRC_ETIMEDOUT);
    ms = test_now_ms() - t0;
    ASSERT_STR_CONTAINS(call.errstr, "timed out");
    ASSERT_LE(ms, 100 + 250);
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}
