/* conncfg.c - a connection's config (prc_conn_cfg_t): the option strings
 * it keeps, the handshake encoded once (AUTH, SELECT, CLIENT SETNAME, and a
 * subscriber's round trip), the TLS context.  Whoever opens connections
 * owns one; every connection borrows it (prc_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prc_int.h"

void
prc__setup_add(prc__setup_t *s, int argc, const char *a0, const char *a1,
               const char *a2)
{
    const char *args[3] = {a0, a1, a2};
    int i;

    for (i = 0; i < argc; i++) {
        s->argv[s->n][i] = args[i];
        s->lens[s->n][i] = strlen(args[i]);
    }
    s->argc[s->n++] = argc;
}

/* Copy one option string into cfg->owned[slot]; 0 or -1 when out of
 * memory.  NULL stays NULL. */
static int
own_string(prc_conn_cfg_t *cfg, int slot, const char *s, const char **field)
{
    *field = NULL;
    if (s == NULL) {
        return 0;
    }
    cfg->owned[slot] = strdup(s);
    if (cfg->owned[slot] == NULL) {
        return -1;
    }
    *field = cfg->owned[slot];
    return 0;
}

/*
 * AUTH [user] password, SELECT db, CLIENT SETNAME name: what o asks for,
 * encoded back to back into one block of exactly their size.  One
 * allocation and no realloc, so the password is in one place only, which
 * prc__conn_cfg_free wipes.  0, or -1 when out of memory or too large.
 */
static int
build_handshake(prc_conn_cfg_t *cfg, const prc_opts_t *o)
{
    prc__setup_t s = {0};
    char db[24];
    size_t total = 0;
    char *p;
    int i;

    if (o->password != NULL && o->creds.get == NULL) {
        if (o->username != NULL) {
            prc__setup_add(&s, 3, "AUTH", o->username, o->password);
        } else {
            prc__setup_add(&s, 2, "AUTH", o->password, NULL);
        }
    }
    if (o->db != 0) {
        db[prc_fmt_i64(db, o->db)] = '\0';
        prc__setup_add(&s, 2, "SELECT", db, NULL);
    }
    if (o->client_name != NULL) {
        prc__setup_add(&s, 3, "CLIENT", "SETNAME", o->client_name);
    }
    if (s.n == 0) {
        return 0;
    }
    for (i = 0; i < s.n; i++) {
        size_t n = prc_resp_command_len(s.argc[i], s.lens[i]);
        if (n >= PRC_MAX_COMMAND) {
            return -1;
        }
        total += n;
    }
    cfg->handshake = malloc(total);
    if (cfg->handshake == NULL) {
        return -1;
    }
    p = cfg->handshake;
    for (i = 0; i < s.n; i++) {
        p = prc_resp_write_command(p, s.argc[i], s.argv[i], s.lens[i]);
    }
    cfg->handshake_len = total;
    cfg->handshake_n = s.n;
    return 0;
}

int
prc__conn_cfg_init(prc_conn_cfg_t *cfg, const prc_opts_t *o, char *errbuf,
                   size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (own_string(cfg, 0, o->host ? o->host : "localhost", &cfg->host) ||
        own_string(cfg, 1, o->unix_path, &cfg->unix_path) ||
        own_string(cfg, 2, o->tls_server_name, &cfg->tls_server_name) ||
        build_handshake(cfg, o)) {
        prc__conn_cfg_free(cfg);
        snprintf(errbuf, errlen, "out of memory creating the pool");
        return PRC_ENOMEM;
    }
    cfg->port = o->port;
    cfg->keepalive = o->keepalive;
    cfg->keepalive_idle = o->keepalive_idle;
    cfg->keepalive_interval = o->keepalive_interval;
    cfg->keepalive_count = o->keepalive_count;
    cfg->max_reply_bytes = o->max_reply_bytes;
    cfg->tls = o->tls;
    cfg->tls_verify = o->tls_verify;
    cfg->tls_check_hostname = o->tls_check_hostname;
    cfg->hooks = o->hooks;
    cfg->creds = o->creds;
    if (o->tls) {
        cfg->tls_ctx = prc__tls_ctx_new(o, errbuf, errlen);
        if (cfg->tls_ctx == NULL) {
            prc__conn_cfg_free(cfg);
            return PRC_ETLS;
        }
    }
    return 0;
}

/* prc__conn_cfg_round_trip's commands, by kind (conn.c's check_handshake
 * reads the reply). */
static const char rt_unsubscribe[] = "*1\r\n$11\r\nUNSUBSCRIBE\r\n";
static const char rt_ping[] = "*1\r\n$4\r\nPING\r\n";

int
prc__conn_cfg_round_trip(prc_conn_cfg_t *cfg, int kind)
{
    const char *cmd = kind == PRC__RT_PING ? rt_ping : rt_unsubscribe;
    size_t n = kind == PRC__RT_PING ? sizeof(rt_ping) - 1
                                    : sizeof(rt_unsubscribe) - 1;
    char *hs = malloc(cfg->handshake_len + n);

    if (hs == NULL) {
        return PRC_ENOMEM;
    }
    if (cfg->handshake_len > 0) {
        /* It may hold the password: one copy only, the old one wiped. */
        memcpy(hs, cfg->handshake, cfg->handshake_len);
        memset(cfg->handshake, 0, cfg->handshake_len);
    }
    memcpy(hs + cfg->handshake_len, cmd, n);
    free(cfg->handshake);
    cfg->handshake = hs;
    cfg->handshake_len += n;
    cfg->handshake_n++;
    cfg->handshake_rt = kind;
    cfg->handshake_rt_len = n;
    return 0;
}

void
prc__conn_cfg_free(prc_conn_cfg_t *cfg)
{
    size_t i;

    if (cfg->handshake != NULL) {
        memset(cfg->handshake, 0, cfg->handshake_len);
    }
    free(cfg->handshake);
    for (i = 0; i < sizeof(cfg->owned) / sizeof(cfg->owned[0]); i++) {
        free(cfg->owned[i]);
    }
    prc__tls_ctx_free(cfg->tls_ctx);
    memset(cfg, 0, sizeof(*cfg));
}
