/* pooltest.c - helpers shared by the pool and connection tests. */
#include <stdlib.h>

#include "pooltest.h"

void
pt_opts(prc_opts_t *o, const fakesrv_t *srv)
{
    prc_opts_init(o);
    o->host = "127.0.0.1";
    o->port = srv != NULL ? fakesrv_port(srv) : 6379;
    o->connect_timeout = 1.0;
    o->socket_timeout = 1.0;
    o->pool_timeout = 1.0;
    o->retry_base = 0.01;
    o->retry_cap = 0.05;
}

static void
hook_before(void *ud, int what)
{
    hook_counts_t *h = ud;
    int d;

    if (what >= 0 && what < 5) {
        atomic_fetch_add(&h->before[what], 1);
    }
    d = atomic_fetch_add(&h->depth, 1) + 1;
    if (d > atomic_load(&h->max_depth)) {
        atomic_store(&h->max_depth, d);
    }
}

static void
hook_after(void *ud, int what)
{
    hook_counts_t *h = ud;

    if (what >= 0 && what < 5) {
        atomic_fetch_add(&h->after[what], 1);
    }
    atomic_fetch_sub(&h->depth, 1);
}

void
pt_hooks(prc_opts_t *o, hook_counts_t *h)
{
    memset(h, 0, sizeof(*h));
    o->hooks.before_block = hook_before;
    o->hooks.after_block = hook_after;
    o->hooks.ud = h;
}

static void
free_pool(void *p)
{
    prc_pool_free(p);
}

prc_pool_t *
pt_pool(const prc_opts_t *o)
{
    char errbuf[256] = "";
    int err = 0;
    prc_pool_t *p = prc_pool_new(o, &err, errbuf, sizeof(errbuf));

    if (p == NULL) {
        fprintf(stderr, "  prc_pool_new: %s: %s\n", prc_err_name(err), errbuf);
        return NULL;
    }
    test_defer(free_pool, p);
    return p;
}

static void
free_cfg(void *cfg)
{
    prc__conn_cfg_free(cfg);
    free(cfg);
}

prc_conn_cfg_t *
pt_cfg(const prc_opts_t *o)
{
    char errbuf[256] = "";
    prc_conn_cfg_t *cfg = malloc(sizeof(*cfg));
    int err;

    if (cfg == NULL) {
        return NULL;
    }
    err = prc__conn_cfg_init(cfg, o, errbuf, sizeof(errbuf));
    if (err != 0) {
        fprintf(stderr, "  prc__conn_cfg_init: %s: %s\n", prc_err_name(err),
                errbuf);
        free(cfg);
        return NULL;
    }
    test_defer(free_cfg, cfg);
    return cfg;
}

size_t
pt_format(char *out, size_t cap, const char *const *argv)
{
    size_t n = 0;
    int argc = 0, i;

    while (argv[argc] != NULL) {
        argc++;
    }
    n += (size_t)snprintf(out + n, cap - n, "*%d\r\n", argc);
    for (i = 0; i < argc; i++) {
        n += (size_t)snprintf(out + n, cap - n, "$%zu\r\n%s\r\n",
                              strlen(argv[i]), argv[i]);
    }
    return n;
}

int
pt_call(prc_pool_t *p, prc_call_t *call, const char *req, int nreplies,
        int flags, double timeout)
{
    prc_call_init(call, req, strlen(req), nreplies, flags,
                  prc_deadline_after(timeout));
    return prc_pool_call(p, call);
}

int
pt_replies_are(prc_call_t *call, const char *expect)
{
    size_t len;
    const char *r;

    ASSERT_NOT_NULL(ST(call)->conn);
    r = prc_conn_replies(ST(call)->conn, &len);
    ASSERT_MEM_EQ(r, len, expect);
    return TEST_OK;
}
