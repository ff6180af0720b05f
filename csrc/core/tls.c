/* tls.c - TLS over OpenSSL: fills the transport vtable, as ssl.c does. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "prc_int.h"

/* Append OpenSSL's queued error (or `fallback`) to buf. */
static void
ssl_error_text(char *buf, size_t len, const char *what, const char *fallback)
{
    unsigned long e = ERR_get_error();
    char detail[256];

    if (e != 0) {
        ERR_error_string_n(e, detail, sizeof(detail));
    } else {
        snprintf(detail, sizeof(detail), "%s", fallback);
    }
    snprintf(buf, len, "%s: %s", what, detail);
    ERR_clear_error();
}

void *
prc__tls_ctx_new(const prc_opts_t *o, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ssl_error_text(errbuf, errlen, "TLS context", "allocation failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* "optional" verifies like "required", as Python's ssl does for
     * client sockets: a server always presents a certificate. */
    SSL_CTX_set_verify(ctx,
                       o->tls_verify == PRC_TLS_VERIFY_NONE ? SSL_VERIFY_NONE
                                                            : SSL_VERIFY_PEER,
                       NULL);
    if (o->tls_ca_file != NULL || o->tls_ca_path != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_ca_file,
                                          o->tls_ca_path) != 1) {
            ssl_error_text(errbuf, errlen, "loading TLS CA certificates",
                           "unreadable CA file or directory");
            goto error;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        ssl_error_text(errbuf, errlen, "loading system CA certificates",
                       "failed");
        goto error;
    }
    if (o->tls_cert_file != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert_file) != 1) {
            ssl_error_text(errbuf, errlen, "loading TLS client certificate",
                           "unreadable certificate file");
            goto error;
        }
        if (SSL_CTX_use_PrivateKey_file(
                ctx, o->tls_key_file ? o->tls_key_file : o->tls_cert_file,
                SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            ssl_error_text(errbuf, errlen, "loading TLS client key",
                           "key does not match the certificate");
            goto error;
        }
    }
    return ctx;

error:
    SSL_CTX_free(ctx);
    return NULL;
}

void
prc__tls_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx); /* accepts NULL */
}

static int
tls_fail(prc_conn_t *c, SSL *ssl, int ret, const char *what)
{
    int e = SSL_get_error(ssl, ret);
    char buf[PRC_ERRSTR_LEN];

    if (e == SSL_ERROR_WANT_READ) {
        return PRC__AGAIN_READ;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        return PRC__AGAIN_WRITE;
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        int saved = errno;
        ERR_clear_error();
        if (saved == 0) {
            return prc__conn_error(c, PRC_ECONNLOST, 0,
                                   "%s: server closed the connection", what);
        }
        return prc__conn_error(c, PRC_ECONNLOST, saved, "%s", what);
    }
    ssl_error_text(buf, sizeof(buf), what, "TLS protocol error");
    return prc__conn_error(c, PRC_ETLS, 0, "%s", buf);
}

static ssize_t
tls_read(prc_conn_t *c, char *buf, size_t len)
{
    int n;

    ERR_clear_error();
    n = SSL_read(c->tls, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0) {
        return n;
    }
    if (SSL_get_error(c->tls, n) == SSL_ERROR_ZERO_RETURN) {
        return 0;
    }
    return tls_fail(c, c->tls, n, "TLS read");
}

static ssize_t
tls_write(prc_conn_t *c, const char *buf, size_t len)
{
    int n;

    ERR_clear_error();
    n = SSL_write(c->tls, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0) {
        return n;
    }
    return tls_fail(c, c->tls, n, "TLS write");
}

/* Whether an OpenSSL error means the peer's bytes were not TLS at all: a
 * plain-text Redis port answering the ClientHello with "-ERR ...". */
static int
not_tls_reply(unsigned long e)
{
    int reason = ERR_GET_REASON(e);

    if (ERR_GET_LIB(e) != ERR_LIB_SSL) {
        return 0;
    }
    return reason == SSL_R_WRONG_VERSION_NUMBER ||
           reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
           reason == SSL_R_HTTP_REQUEST || reason == SSL_R_UNKNOWN_PROTOCOL;
}

static int
tls_handshake(prc_conn_t *c)
{
    int rc;

    ERR_clear_error();
    rc = SSL_connect(c->tls);
    if (rc == 1) {
        return PRC_DONE;
    }
    if (SSL_get_error(c->tls, rc) == SSL_ERROR_SSL &&
        not_tls_reply(ERR_peek_error())) {
        const char *why = ERR_reason_error_string(ERR_peek_error());
        ERR_clear_error();
        return prc__conn_error(c, PRC_ETLS, 0,
                               "TLS handshake: the reply is not TLS (%s); a "
                               "plain-text port? use redis:// or the TLS port",
                               why ? why : "unknown");
    }
    rc = tls_fail(c, c->tls, rc, "TLS handshake");
    if (rc == PRC__AGAIN_READ) {
        return PRC_WANT_READ;
    }
    if (rc == PRC__AGAIN_WRITE) {
        return PRC_WANT_WRITE;
    }
    if (SSL_get_verify_result(c->tls) != X509_V_OK) {
        /* Configuration (wrong CA, host name), not availability: its own
         * code, which the breaker does not count and retries skip. */
        long v = SSL_get_verify_result(c->tls);
        return prc__conn_error(c, PRC_ECERT, 0,
                               "TLS handshake: certificate verify failed: %s",
                               X509_verify_cert_error_string(v));
    }
    return rc;
}

static void
tls_close(prc_conn_t *c, int orderly)
{
    if (c->tls == NULL) {
        return;
    }
    if (orderly) {
        /* One non-blocking close_notify; its answer is not awaited. */
        ERR_clear_error();
        (void)SSL_shutdown(c->tls);
        ERR_clear_error();
    }
    SSL_free(c->tls);
    c->tls = NULL;
}

static const prc_transport_t tls_transport = {
    .read = tls_read,
    .write = tls_write,
    .handshake = tls_handshake,
    .close = tls_close,
};

int
prc__tls_attach(prc_conn_t *c)
{
    const prc_conn_cfg_t *o = c->cfg;
    const char *name = o->tls_server_name ? o->tls_server_name : o->host;
    unsigned char addr[16];
    int is_ip;
    SSL *ssl;

    ERR_clear_error();
    ssl = SSL_new(o->tls_ctx);
    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        return prc__conn_error(c, PRC_ETLS, 0, "TLS session setup failed");
    }
    is_ip = inet_pton(AF_INET, name, addr) == 1 ||
            inet_pton(AF_INET6, name, addr) == 1;
    if (!is_ip) {
        SSL_set_tlsext_host_name(ssl, name); /* SNI */
    }
    if (o->tls_verify != PRC_TLS_VERIFY_NONE && o->tls_check_hostname) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (is_ip) {
            X509_VERIFY_PARAM_set1_ip_asc(param, name);
        } else {
            X509_VERIFY_PARAM_set_hostflags(
                param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            X509_VERIFY_PARAM_set1_host(param, name, 0);
        }
    }
    SSL_set_connect_state(ssl);
    c->tls = ssl;
    c->tp = &tls_transport;
    return 0;
}

int
prc__tls_pending(const prc_conn_t *c)
{
    return c->tls != NULL && SSL_pending(c->tls) > 0;
}
