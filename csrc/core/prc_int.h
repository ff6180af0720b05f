/* prc_int.h - core internals shared by the core's files and C tests. */
#ifndef PRC_INT_H
#define PRC_INT_H

#include <netdb.h>
#include <pthread.h>

#include "prc.h"

/* Transport results beyond byte counts. */
#define PRC__AGAIN_READ (-1000)
#define PRC__AGAIN_WRITE (-1001)

/*
 * The transport vtable: plain sockets (transport.c) or TLS (tls.c).
 * read/write return bytes (read: 0 = EOF), PRC__AGAIN_*, or a negative
 * PRC_E* code with the connection's errstr set.
 */
typedef struct prc_transport_s {
    ssize_t (*read)(prc_conn_t *c, char *buf, size_t len);
    ssize_t (*write)(prc_conn_t *c, const char *buf, size_t len);
    /* Non-blocking handshake step: PRC_DONE, PRC_WANT_*, or error. */
    int (*handshake)(prc_conn_t *c);
    /* Release transport state; `orderly` false after fork or error. */
    void (*close)(prc_conn_t *c, int orderly);
} prc_transport_t;

extern const prc_transport_t prc__plain_transport;

typedef struct prc_resolve_s prc_resolve_t;

/*
 * Everything a connection needs, and nothing more: where to connect, how
 * (keepalive, TLS), what to send first (the handshake) and the limit of
 * its replies.  A connection never looks further up: whoever opens
 * connections owns one of these (a pool embeds one; a connection of its
 * own, such as a subscriber's, or a Cluster node's pool, can build its
 * own with prc__conn_cfg_init) and keeps it alive, unchanged, for as long
 * as any connection made from it lives: each connection borrows it.
 */
typedef struct prc_conn_cfg_s {
    const char *host; /* owned copy; "localhost" when none was given */
    int port;
    const char *unix_path; /* owned copy, or NULL: TCP */
    int keepalive;
    int keepalive_idle, keepalive_interval, keepalive_count; /* seconds, n */
    size_t max_reply_bytes;
    int tls;                     /* a TLS session on every connection */
    void *tls_ctx;               /* SSL_CTX *, owned; NULL without TLS */
    const char *tls_server_name; /* owned copy, or NULL: host */
    int tls_verify;              /* prc_tls_verify_t */
    int tls_check_hostname;
    /* AUTH, SELECT and CLIENT SETNAME, formatted back to back: sent on
     * every new connection in one write.  Owned; wiped when freed (it may
     * hold the password). */
    char *handshake;
    size_t handshake_len;
    int handshake_n;         /* commands in it */
    int handshake_rt;        /* PRC__RT_*: prc__conn_cfg_round_trip's last */
    size_t handshake_rt_len; /* that last command's bytes */
    /* get set: each connection asks it for the AUTH it sends before the
     * handshake above (which then holds no AUTH); ud borrowed. */
    prc_creds_provider_t creds;
    prc_hooks_t hooks; /* around each blocking wait (prc__wait) */
    /* Held while a connection's fd changes, so that another thread may
     * shutdown(2) the fd of a connection in use (prc_pool_close): the
     * owner's mutex, borrowed; NULL when no other thread looks. */
    pthread_mutex_t *fd_mu;
    char *owned[3]; /* host, unix_path, tls_server_name */
} prc_conn_cfg_t;

/* The setup commands of a handshake: at most three, of at most three
 * arguments each (conncfg.c: the config's; conn.c: a connection's AUTH
 * with a credential provider's answer).  Arguments borrowed. */
typedef struct {
    int n;
    int argc[3];
    const char *argv[3][3];
    size_t lens[3][3];
} prc__setup_t;
void prc__setup_add(prc__setup_t *s, int argc, const char *a0, const char *a1,
                    const char *a2);

/*
 * Fill cfg from the connection options of `o` (borrowed): copy the
 * strings it keeps, format the handshake, and create the TLS context
 * when o->tls.  Returns 0, or PRC_ENOMEM / PRC_ETLS with errbuf filled
 * (cfg is then left empty: prc__conn_cfg_free is still safe).
 */
int prc__conn_cfg_init(prc_conn_cfg_t *cfg, const prc_opts_t *o, char *errbuf,
                       size_t errlen);
/* Free what prc__conn_cfg_init made, wiping secrets.  Every connection
 * made from cfg must be gone. */
void prc__conn_cfg_free(prc_conn_cfg_t *cfg);
/* prc__conn_cfg_round_trip's kinds (prc_conn_cfg_t.handshake_rt). */
enum { PRC__RT_NONE = 0, PRC__RT_UNSUBSCRIBE = 1, PRC__RT_PING = 2 };

/*
 * End cfg's handshake with one more command, so that every connection made
 * from it has had one round trip, and the server has taken it in, before
 * it is ready: a command written on a connection the server has not yet
 * accepted may be read after one another connection sends later.
 *
 * PRC__RT_UNSUBSCRIBE, for a subscriber (a SUBSCRIBE read after a PUBLISH
 * sent later finds no subscriber): an UNSUBSCRIBE of nothing, whose one
 * reply (unsubscribe, nil, 0) is checked like the +OKs, NOPERM accepted.
 * UNSUBSCRIBE rather than PING: a pub/sub ACL allows it, sentinels know it,
 * and a server loading its data or a stale replica answers it (PING gets
 * LOADING or MASTERDOWN there, SUBSCRIBE does not;
 * tests/faults/test_pubsub_faults.py subscribes on both kinds of server).
 *
 * PRC__RT_PING, for a pool whose calls an event loop orders
 * (prc_pool_round_trip_opens): a PING, answered +PONG or any error reply
 * (NOPERM, LOADING, NOAUTH ...: an answer all the same; the command after
 * it meets the same state and reports it).  PING rather than UNSUBSCRIBE:
 * proxies that know no pub/sub (Envoy's, twemproxy) know PING.  Only the
 * connections a blocking call opens send it; the others leave it out
 * (prc_conn_t.no_rt).
 *
 * 0, or PRC_ENOMEM (cfg unchanged).
 */
int prc__conn_cfg_round_trip(prc_conn_cfg_t *cfg, int kind);

enum {
    PRC__CONN_NEW = 0,
    PRC__CONN_RESOLVING, /* fd is the resolver's socketpair end */
    PRC__CONN_CONNECTING,
    PRC__CONN_TLS,
    PRC__CONN_CREDS, /* waiting for prc__conn_set_creds (PRC_WANT_CREDS) */
    PRC__CONN_HANDSHAKE,
    PRC__CONN_READY,
    PRC__CONN_BROKEN
};

struct prc_conn_s {
    int fd;
    int state;
    const prc_transport_t *tp;
    void *tls;                 /* SSL *, owned; freed by tp->close */
    const prc_conn_cfg_t *cfg; /* borrowed: its owner outlives the conn */

    int connect_pending;    /* a non-blocking connect awaits SO_ERROR */
    prc_resolve_t *resolve; /* one reference, owned while resolving */
    struct addrinfo *ai;    /* owned while connecting */
    struct addrinfo *ai_next;

    /* The exchange in progress. */
    const char *req; /* borrowed from the caller */
    size_t reqlen;
    size_t written;
    int want;   /* replies expected */
    int got;    /* replies framed */
    char *rbuf; /* owned; reply bytes */
    size_t rlen;
    size_t rcap;
    prc_framer_t framer;
    int64_t connected_at; /* connect duration bookkeeping */
    /* With a credentials provider: this connection's AUTH followed by the
     * config's handshake.  Owned; wiped and freed once answered. */
    char *hs;
    size_t hs_len;
    /* Set by the owner before the connection opens: the config's handshake
     * without its PRC__RT_PING round trip (prc_pool_round_trip_opens),
     * which only a blocking call's new connection needs. */
    int no_rt;

    uint64_t fork_gen; /* fork generation it was created in */

    /* The owner's bookkeeping (a pool's), never read by the connection
     * layer. */
    int64_t last_used; /* prc_now() at last release */
    uint64_t epoch;    /* the pool's epoch when it was linked */

    void *user; /* the binding's reader, owned via user_free */
    void (*user_free)(void *);

    prc_conn_t *next;     /* idle list link, guarded by the pool mutex */
    prc_conn_t *all_prev; /* list of every conn, guarded by pool mutex */
    prc_conn_t *all_next;
    int err;
    int sys_err; /* errno behind err, 0 if none */
    char errstr[PRC_ERRSTR_LEN];
};

/* Connection life cycle (conn.c).  new: NULL when out of memory; the
 * connection borrows cfg for its whole life. */
prc_conn_t *prc__conn_new(const prc_conn_cfg_t *cfg);
void prc__conn_free(prc_conn_t *c, int orderly);
/* Start or continue connecting: PRC_DONE when READY, PRC_WANT_*, error. */
int prc__conn_open_step(prc_conn_t *c);
/* Answer PRC__CONN_CREDS (see prc_call_set_creds): copy the credentials
 * into the connection's handshake and start it, or fail the connection
 * with PRC_EAUTH and `error`.  No-op in any other state. */
void prc__conn_set_creds(prc_conn_t *c, const char *username,
                         const char *password, const char *error);
/* Begin an exchange: send req (borrowed) and expect nreplies replies. */
void prc__conn_begin(prc_conn_t *c, const char *req, size_t len, int nreplies);
/* Free a reply buffer larger than an idle connection may keep. */
void prc__conn_trim(prc_conn_t *c);
/* Bytes of reply buffer the connection holds (its capacity). */
size_t prc__conn_buffered(const prc_conn_t *c);
/* Continue the exchange: PRC_DONE when all replies are framed. */
int prc__conn_io_step(prc_conn_t *c);
/* Streaming reads, for a connection that is sent replies nobody asked
 * for (a subscriber's): read once into the reply buffer after its rlen
 * bytes, at most what the reply being framed needs or one chunk.  Returns
 * the bytes read (> 0), PRC__AGAIN_READ / PRC__AGAIN_WRITE, or an error
 * code with the connection broken (EOF: PRC_ECONNLOST). */
ssize_t prc__conn_read_more(prc_conn_t *c);
/* Drop the framed replies at the front of the reply buffer (everything
 * before the reply the framer is in, or all it scanned when idle): the
 * framer's positions move with the bytes. */
void prc__conn_compact(prc_conn_t *c);
/* Wait for fd readiness until deadline: 0, PRC_ETIMEDOUT, PRC_EINTR. */
int prc__wait(prc_conn_t *c, int want, int64_t deadline);
/* Set conn error with context (errno saved by the caller in `sys`). */
int prc__conn_error(prc_conn_t *c, int code, int sys, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Zero-timeout liveness check of an idle pooled connection: 0 if quiet. */
int prc__conn_stale(prc_conn_t *c);

/* Change a connection's fd under cfg->fd_mu, which prc_pool_close holds
 * while it shuts down the fds of connections in use (transport.c). */
void prc__conn_set_fd(prc_conn_t *c, int fd);
/* Close the fd (if any) and set it to -1, under the same mutex. */
void prc__conn_close_fd(prc_conn_t *c);

/* Host names resolved on a helper thread (resolve.c).  start: the request
 * (one reference is the caller's) and, in *fd, a descriptor that becomes
 * readable when the answer is in; NULL with *sys set on failure. */
prc_resolve_t *prc__resolve_start(const char *host, int port, int *fd,
                                  int *sys);
/* 1: answered (getaddrinfo's return in *gai, errno in *sys, the list in
 * *ai, now the caller's); 0: not yet, wait for fd again; -1: fd was shut
 * down before the answer. */
int prc__resolve_take(prc_resolve_t *r, int fd, int *gai, struct addrinfo **ai,
                      int *sys);
/* Drop the caller's reference (answered or abandoned); NULL is fine. */
void prc__resolve_release(prc_resolve_t *r);
/* The lookup the helper thread runs: getaddrinfo, replaced only by C tests
 * that need a slow one (set it before any lookup starts). */
typedef int (*prc__getaddrinfo_fn)(const char *, const char *,
                                   const struct addrinfo *,
                                   struct addrinfo **);
extern prc__getaddrinfo_fn prc__getaddrinfo;

/* Socket helpers (transport.c).  connect_start returns PRC_WANT_READ with
 * c->resolve set while a host name is being resolved; resolve_step then
 * continues the connect once fd is readable. */
int prc__socket_connect_start(prc_conn_t *c);
int prc__socket_resolve_step(prc_conn_t *c);
int prc__socket_connect_check(prc_conn_t *c);

/* TLS (tls.c): a context per connection config, a session per
 * connection. */
void *prc__tls_ctx_new(const prc_opts_t *o, char *errbuf, size_t errlen);
void prc__tls_ctx_free(void *ctx);
int prc__tls_attach(prc_conn_t *c);
/* Decrypted bytes already buffered inside the TLS session? */
int prc__tls_pending(const prc_conn_t *c);

/* Why the core cannot run with these options (a static "keyword: why"),
 * or NULL (opts.c).  Only what would break the core: RedisConfig
 * validates what the options mean, with messages for people. */
const char *prc__opts_bad(const prc_opts_t *o);

/* Install the fork handler that bumps prc_fork_generation() (fork.c);
 * idempotent.  Handlers installed after it run after it in the child. */
void prc__fork_init(void);

#endif /* PRC_INT_H */
