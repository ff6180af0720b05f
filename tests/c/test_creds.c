/* test_creds.c - credentials asked for at every new connection. */
#include <stdlib.h>
#include <string.h>

#include "pooltest.h"

/* A provider that counts its calls and answers what `mode` says. */
enum { CR_ANSWER, CR_FAIL, CR_LATER, CR_NO_PASSWORD };
typedef struct {
    _Atomic int calls;
    int mode;
    const char *username; /* NULL: plain AUTH */
    const char *password;
} provider_t;

static char *
dup_or_null(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

static int
provider_get(void *ud, prc_creds_t *out)
{
    provider_t *pv = ud;
    int n = atomic_fetch_add(&pv->calls, 1) + 1;

    switch (pv->mode) {
    case CR_FAIL:
        snprintf(out->errstr, sizeof(out->errstr), "vault unreachable (%d)",
                 n);
        return PRC_EAUTH;
    case CR_LATER:
        return PRC_WANT_CREDS;
    case CR_NO_PASSWORD:
        return 0;
    default:
        out->username = dup_or_null(pv->username);
        out->password = dup_or_null(pv->password);
        return 0;
    }
}

static void
use_provider(prc_opts_t *o, provider_t *pv)
{
    o->creds.get = provider_get;
    o->creds.ud = pv;
}

/* Asked at every new connection, never for a pooled one; the answer goes
 * out as AUTH before the config's SELECT and CLIENT SETNAME, and the fixed
 * password option is not sent. */
TEST_IMPL(creds_every_new_connection)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    provider_t pv = {.mode = CR_ANSWER, .username = "app", .password = "p1"};
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t a, b;
    char line[128];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.password = "fixed";
    o.db = 2;
    o.client_name = "nm";
    use_provider(&o, &pv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pv.calls, 0); /* not at construction */
    ASSERT_EQ(pt_call(p, &a, GET_REQ, 1, 0, 1.0), 0);
    CHECK(pt_replies_are(&a, "+OK\r\n"));
    ASSERT_EQ(pv.calls, 1);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "AUTH app p1");
    fakesrv_log(srv, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, "SELECT 2");
    fakesrv_log(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "CLIENT SETNAME nm");
    /* A second connection while the first is out: asked again, with the
     * rotated password. */
    pv.password = "p2";
    pv.username = NULL;
    ASSERT_EQ(pt_call(p, &b, GET_REQ, 1, 0, 1.0), 0);
    ASSERT_EQ(pv.calls, 2);
    fakesrv_log(srv, 4, line, sizeof(line));
    ASSERT_STR_EQ(line, "AUTH p2");
    prc_call_finish(p, &a, PRC_OK);
    prc_call_finish(p, &b, PRC_OK);
    /* A pooled connection is not asked again. */
    ASSERT_EQ(pt_call(p, &a, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &a, PRC_OK);
    ASSERT_EQ(pv.calls, 2);
    return TEST_OK;
}

/* A provider with no password: no AUTH, only the rest of the setup; and
 * none at all when there is no rest. */
TEST_IMPL(creds_no_password)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    provider_t pv = {.mode = CR_NO_PASSWORD};
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char line[128];

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.db = 1;
    use_provider(&o, &pv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "SELECT 1");

    pt_opts(&o, srv);
    use_provider(&o, &pv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    fakesrv_log(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "GET k");
    ASSERT_EQ(pv.calls, 2);
    return TEST_OK;
}

/* A provider that fails: the call fails with its message as an
 * authentication error, at once (no retry, no breaker failure), and the
 * connection is closed, not pooled. */
TEST_IMPL(creds_provider_fails)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    provider_t pv = {.mode = CR_FAIL};
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    use_provider(&o, &pv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0),
                PRC_EAUTH);
    ASSERT_STR_EQ(call.errstr, "vault unreachable (1)");
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    ASSERT_EQ(prc_breaker_failures(prc_pool_breaker(p)), 0);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(fakesrv_commands(srv), 0); /* nothing was sent */
    return TEST_OK;
}

/* Step until the call ends or asks for credentials (waits with poll). */
static int
step_until_creds(prc_pool_t *p, prc_call_t *call)
{
    for (;;) {
        int rc = prc_pool_step(p, call);
        if (rc <= 0 || rc == PRC_WANT_CREDS) {
            return rc;
        }
        if (prc__wait(prc_call_conn(call), rc, call->wait_deadline) != 0) {
            rc = prc_call_timed_out(p, call);
            if (rc != 0) {
                return rc;
            }
        }
    }
}

/* A provider that answers later: the step driver gets PRC_WANT_CREDS
 * with the connect deadline, answers with prc_call_set_creds, and the
 * call goes on; an error answer fails the connection; a blocking driver
 * cannot wait for one and fails clearly. */
TEST_IMPL(creds_answer_later)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    provider_t pv = {.mode = CR_LATER};
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    char line[128];
    int64_t before;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    use_provider(&o, &pv);
    o.retry_attempts = 0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(1.0));
    before = prc_now();
    ASSERT_EQ(step_until_creds(p, &call), PRC_WANT_CREDS);
    ASSERT_GT(call.wait_deadline, before);
    /* Asked again while nobody answered: the same wait, one provider call
     * per connection. */
    ASSERT_EQ(prc_pool_step(p, &call), PRC_WANT_CREDS);
    ASSERT_EQ(pv.calls, 1);
    prc_call_set_creds(&call, "u", "later", NULL);
    ASSERT_EQ(step_until_creds(p, &call), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    fakesrv_log(srv, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "AUTH u later");
    /* Ignored once nothing waits for it. */
    prc_call_set_creds(&call, NULL, "x", NULL);

    /* An error answer (the awaited provider raised). */
    prc_pool_close(p);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, PRC_CALL_READONLY,
                  prc_deadline_after(1.0));
    ASSERT_EQ(step_until_creds(p, &call), PRC_WANT_CREDS);
    prc_call_set_creds(&call, NULL, NULL, "provider raised KeyError");
    ASSERT_CODE(step_until_creds(p, &call), PRC_EAUTH);
    ASSERT_STR_EQ(call.errstr, "provider raised KeyError");
    prc_call_finish(p, &call, call.err);

    /* Nobody answers before the connect deadline. */
    o.connect_timeout = 0.05;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_call_init(&call, GET_REQ, strlen(GET_REQ), 1, 0,
                  prc_deadline_after(1.0));
    ASSERT_EQ(step_until_creds(p, &call), PRC_WANT_CREDS);
    ASSERT_CODE(prc_call_timed_out(p, &call), PRC_ETIMEDOUT);
    ASSERT_STR_CONTAINS(call.errstr, "credentials provider did not answer");
    prc_call_finish(p, &call, call.err);

    /* The blocking driver. */
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, 0, 1.0), PRC_EAUTH);
    ASSERT_STR_CONTAINS(call.errstr, "answers only to an event loop");
    prc_call_finish(p, &call, call.err);
    return TEST_OK;
}
