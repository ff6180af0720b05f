/* pool.c - the thread-safe connection pool and the blocking call driver. */
#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "prc_int.h"

struct prc_pool_s {
    prc_opts_t opts;    /* host, unix_path, tls_server_name point into
                           cfg; the other strings are not kept (NULL) */
    prc_conn_cfg_t cfg; /* what each connection needs: copied strings,
                           the handshake, the TLS context (owned) */

    pthread_mutex_t mu;
    pthread_cond_t cv;  /* a connection or a slot came free; mu */
    prc_conn_t *idle;   /* LIFO of idle connections; mu */
    prc_conn_t *all;    /* every connection this pool owns; mu */
    int nidle;          /* mu */
    int nopen;          /* connections existing or being opened; mu */
    int waiters;        /* threads in cond wait; mu */
    _Atomic int closed; /* set under mu; read without it as a hint */
    /* Is the server down?  alive_at: prc_now() when a connect or a call
     * last succeeded; down_since: when a call last gave up on refused
     * connects, 0 once a connect succeeds again (atomics, no lock). */
    _Atomic int64_t alive_at;
    _Atomic int64_t down_since;
    uint64_t fork_gen; /* generation the internals belong to; mu */

    prc_pool_t *reg_next; /* fork registry link; reg_mu */

    prc_breaker_t breaker;
    _Atomic int64_t m_calls, m_commands, m_response_errors, m_latency_ns;
    _Atomic int64_t m_errors[PRC_NCODES];
    _Atomic int64_t m_hist[PRC_HIST_BUCKETS];
    _Atomic int64_t st_created, st_closed, st_in_use, st_waits, st_timeouts,
        st_errors, st_retries, st_health, st_stale;
};

/* ---- fork safety ----------------------------------------------------- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static prc_pool_t *registry; /* reg_mu */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
init_sync(prc_pool_t *p)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void
atfork_prepare(void)
{
    pthread_mutex_lock(&reg_mu);
}

static void
atfork_parent(void)
{
    pthread_mutex_unlock(&reg_mu);
}

/*
 * In the child only the forking thread exists, and fork.c's handler (run
 * first: child handlers run in the order they were installed) has bumped
 * the fork generation.  Pool mutexes may have been
 * held by threads that are gone, so they are re-created, never locked.
 * Inherited connections share their sockets with the parent: close the
 * fds without sending anything (no QUIT, no TLS close_notify).  Idle ones
 * are freed; ones that were in use stay allocated for their holder, marked
 * broken, and are freed when released.
 */
static void
atfork_child(void)
{
    prc_pool_t *p;

    pthread_mutex_init(&reg_mu, NULL);
    for (p = registry; p != NULL; p = p->reg_next) {
        prc_conn_t *c, *next;

        for (c = p->all; c != NULL; c = next) {
            next = c->all_next;
            if (c->fd >= 0) {
                close(c->fd);
                c->fd = -1;
            }
            c->state = PRC__CONN_BROKEN;
            c->err = PRC_ECONNLOST;
            snprintf(c->errstr, sizeof(c->errstr),
                     "connection inherited across fork");
            c->all_prev = c->all_next = NULL;
        }
        for (c = p->idle; c != NULL; c = next) {
            next = c->next;
            prc__conn_free(c, 0);
        }
        p->idle = NULL;
        p->all = NULL;
        p->nidle = p->nopen = p->waiters = 0;
        /* The child's counters describe the child's connections only. */
        atomic_store(&p->st_in_use, 0);
        atomic_store(&p->st_created, 0);
        atomic_store(&p->st_closed, 0);
        p->fork_gen = prc_fork_generation();
        init_sync(p);
    }
}

static void
install_atfork(void)
{
    prc__fork_init(); /* first, so that its child handler runs first */
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* ---- options ----------------------------------------------------------- */

void
prc_opts_init(prc_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "localhost";
    o->port = 6379;
    o->connect_timeout = 5.0;
    o->socket_timeout = 5.0;
    o->pool_timeout = 5.0;
    o->health_check_interval = 30.0;
    o->keepalive = 1;
    o->max_connections = 50;
    o->max_reply_bytes = 512u * 1024 * 1024;
    o->retry_attempts = 3;
    o->retry_base = 0.05;
    o->retry_cap = 1.0;
    o->breaker_enabled = 1;
    o->failure_threshold = 5;
    o->failure_rate = 0.5;
    o->failure_window = 10.0;
    o->minimum_calls = 10;
    o->min_recovery_timeout = 1.0;
    o->recovery_timeout = 30.0;
    o->success_threshold = 3;
    o->metrics = 1;
    o->tls_verify = PRC_TLS_VERIFY_REQUIRED;
    o->tls_check_hostname = 1;
}

prc_breaker_t *
prc_pool_breaker(prc_pool_t *p)
{
    return &p->breaker;
}

/* Free what prc_pool_new built; secrets are wiped first.  NULL ok. */
static void
destroy(prc_pool_t *p)
{
    if (p == NULL) {
        return;
    }
    prc__conn_cfg_free(&p->cfg);
    free(p);
}

prc_pool_t *
prc_pool_new(const prc_opts_t *opts, int *err, char *errbuf, size_t errlen)
{
    prc_pool_t *p;

    *err = 0;
    if (opts->max_connections < 1 || opts->port < 0 || opts->port > 65535 ||
        opts->db < 0 || (opts->host == NULL && opts->unix_path == NULL) ||
        opts->max_reply_bytes < 64) {
        *err = PRC_EINVAL;
        snprintf(errbuf, errlen, "invalid pool options");
        return NULL;
    }
    pthread_once(&atfork_once, install_atfork);
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        *err = PRC_ENOMEM;
        snprintf(errbuf, errlen, "out of memory creating the pool");
        return NULL;
    }
    *err = prc__conn_cfg_init(&p->cfg, opts, errbuf, errlen);
    if (*err != 0) {
        destroy(p);
        return NULL;
    }
    /* The pool keeps the options it reads itself; the strings it names
     * in messages are the config's copies, and the secrets stay only in
     * the handshake. */
    p->opts = *opts;
    p->opts.host = p->cfg.host;
    p->opts.unix_path = p->cfg.unix_path;
    p->opts.tls_server_name = p->cfg.tls_server_name;
    p->opts.username = p->opts.password = p->opts.client_name = NULL;
    p->opts.tls_ca_file = p->opts.tls_ca_path = NULL;
    p->opts.tls_cert_file = p->opts.tls_key_file = NULL;
    p->cfg.fd_mu = &p->mu;
    prc_breaker_init(&p->breaker, &p->opts);
    init_sync(p);
    pthread_mutex_lock(&reg_mu);
    p->fork_gen = prc_fork_generation();
    p->reg_next = registry;
    registry = p;
    pthread_mutex_unlock(&reg_mu);
    return p;
}

/* ---- connections in the pool ---------------------------------------- */

/* Link a new connection into the pool's list; caller holds mu. */
static void
link_locked(prc_pool_t *p, prc_conn_t *c)
{
    c->all_prev = NULL;
    c->all_next = p->all;
    if (p->all != NULL) {
        p->all->all_prev = c;
    }
    p->all = c;
}

/* Unlink from the pool's list; caller holds mu. */
static void
unlink_locked(prc_pool_t *p, prc_conn_t *c)
{
    if (c->all_prev != NULL) {
        c->all_prev->all_next = c->all_next;
    } else if (p->all == c) {
        p->all = c->all_next;
    }
    if (c->all_next != NULL) {
        c->all_next->all_prev = c->all_prev;
    }
    c->all_prev = c->all_next = NULL;
}

/* Close a checked-out connection and give its slot back. */
static void
discard(prc_pool_t *p, prc_conn_t *c)
{
    int inherited = c->fork_gen != prc_fork_generation();

    if (!inherited) {
        pthread_mutex_lock(&p->mu);
        unlink_locked(p, c);
        p->nopen--;
        if (p->waiters > 0) {
            pthread_cond_signal(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_sub(&p->st_in_use, 1);
        atomic_fetch_add(&p->st_closed, 1);
    }
    prc__conn_free(c, !inherited);
}

static void
release(prc_pool_t *p, prc_conn_t *c, int ok)
{
    if (!ok || c->state != PRC__CONN_READY ||
        c->fork_gen != prc_fork_generation()) {
        discard(p, c);
        return;
    }
    c->last_used = prc_now();
    prc__conn_trim(c);
    atomic_store_explicit(&p->alive_at, c->last_used, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    if (p->closed) {
        pthread_mutex_unlock(&p->mu);
        discard(p, c);
        return;
    }
    c->next = p->idle;
    p->idle = c;
    p->nidle++;
    if (p->waiters > 0) {
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_sub(&p->st_in_use, 1);
}

/* Remaining time to `deadline` as an absolute CLOCK_MONOTONIC timespec. */
static void
abs_deadline(int64_t deadline, struct timespec *ts)
{
    struct timespec now;
    int64_t left = deadline - prc_now(), at;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (left < 0) {
        left = 0;
    }
    at = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + left;
    ts->tv_sec = at / 1000000000;
    ts->tv_nsec = at % 1000000000;
}

/*
 * Take an idle connection or a slot for a new one, waiting until the pool
 * deadline.  Returns 0 with call->conn set (call->fresh when new).
 */
static int
checkout(prc_pool_t *p, prc_call_t *call)
{
    const prc_hooks_t *h = &p->opts.hooks;
    prc_conn_t *c;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->closed) {
            pthread_mutex_unlock(&p->mu);
            return PRC_ECLOSED;
        }
        if (p->idle != NULL) {
            c = p->idle;
            p->idle = c->next;
            c->next = NULL;
            p->nidle--;
            pthread_mutex_unlock(&p->mu);
            atomic_fetch_add(&p->st_in_use, 1);
            call->conn = c;
            call->fresh = 0;
            return 0;
        }
        if (p->nopen < p->opts.max_connections) {
            p->nopen++;
            pthread_mutex_unlock(&p->mu);
            c = prc__conn_new(&p->cfg);
            pthread_mutex_lock(&p->mu);
            if (c == NULL) {
                p->nopen--;
                pthread_mutex_unlock(&p->mu);
                return PRC_ENOMEM;
            }
            link_locked(p, c);
            pthread_mutex_unlock(&p->mu);
            atomic_fetch_add(&p->st_in_use, 1);
            atomic_fetch_add(&p->st_created, 1);
            call->conn = c;
            call->fresh = 1;
            return 0;
        }
        if (call->pool_deadline != PRC_NO_DEADLINE &&
            prc_now() >= call->pool_deadline) {
            pthread_mutex_unlock(&p->mu);
            atomic_fetch_add(&p->st_timeouts, 1);
            return PRC_EPOOLTIMEOUT;
        }
        if (!call->pool_waited) {
            call->pool_waited = 1;
            atomic_fetch_add(&p->st_waits, 1);
        }
        if (call->flags & PRC_CALL_NONBLOCK) {
            /* An event loop waits for a release itself. */
            pthread_mutex_unlock(&p->mu);
            return PRC_WANT_POOL;
        }
        p->waiters++;
        if (h->before_block) {
            h->before_block(h->ud, PRC_BLOCK_POOL);
        }
        {
            /* Signals do not interrupt a condition wait: with
             * wait_slice set, give the caller a chance to run signal
             * handlers that often (PRC_EINTR; the call resumes). */
            int64_t until = call->pool_deadline, slice_end = PRC_NO_DEADLINE;
            struct timespec ts;
            int rc;
            if (p->opts.wait_slice > 0) {
                slice_end = prc_deadline_after(p->opts.wait_slice);
                if (slice_end < until) {
                    until = slice_end;
                }
            }
            if (until == PRC_NO_DEADLINE) {
                rc = pthread_cond_wait(&p->cv, &p->mu);
            } else {
                abs_deadline(until, &ts);
                rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            }
            if (h->after_block) {
                h->after_block(h->ud, PRC_BLOCK_POOL);
            }
            p->waiters--;
            if (rc != 0 && until == slice_end && p->idle == NULL &&
                p->nopen >= p->opts.max_connections && !p->closed &&
                prc_now() < call->pool_deadline) {
                pthread_mutex_unlock(&p->mu);
                return PRC_EINTR;
            }
            continue;
        }
    }
}

/* ---- the call driver ---------------------------------------------------- */

enum {
    PH_START = 0,
    PH_CHECKOUT,
    PH_PING,
    PH_OPEN,
    PH_IO,
    PH_BACKOFF,
    PH_DONE
};

static const char ping_cmd[] = "*1\r\n$4\r\nPING\r\n";

void
prc_call_init(prc_call_t *call, const char *req, size_t reqlen, int nreplies,
              int flags, int64_t deadline)
{
    memset(call, 0, offsetof(prc_call_t, errstr));
    call->errstr[0] = '\0';
    call->req = req;
    call->reqlen = reqlen;
    call->nreplies = nreplies;
    call->flags = flags;
    call->deadline = deadline;
    call->block_deadline = PRC_NO_DEADLINE;
    call->transition = -1;
    call->phase = PH_START;
    call->wait_fd = -1;
}

static int
fail(prc_call_t *call, int code, const char *msg)
{
    call->err = code;
    snprintf(call->errstr, sizeof(call->errstr), "%s", msg);
    return code;
}

/* May this failure be replayed?  Exactly the safe cases of DESIGN.md. */
static int
retryable(prc_pool_t *p, prc_call_t *call, int code, int during_open)
{
    const prc_opts_t *o = &p->opts;

    if (call->attempt >= o->retry_attempts ||
        (call->flags & PRC_CALL_NO_RETRY) || code == PRC_EAUTH ||
        code == PRC_EREPLYLIMIT || code == PRC_ENOMEM || code == PRC_EINVAL ||
        code == PRC_EHANDSHAKE || code == PRC_ECERT) {
        return 0;
    }
    /* Retrying stops once the breaker opens (or while it probes). */
    if (p->opts.breaker_enabled &&
        prc_breaker_state(&p->breaker) != PRC_BREAKER_CLOSED) {
        return 0;
    }
    if (during_open) {
        /* Nothing of the command was sent yet. */
        return code != PRC_ETIMEDOUT || o->retry_on_timeout;
    }
    if (code == PRC_ETIMEDOUT) {
        return o->retry_on_timeout && (call->flags & PRC_CALL_READONLY) &&
               !(call->flags & PRC_CALL_BLOCKING);
    }
    if (call->written < call->reqlen) {
        /* The server cannot have run a command it did not fully get. */
        return 1;
    }
    return (call->flags & PRC_CALL_READONLY) != 0;
}

/* How recent a success must be for a refused connect to be ridden
 * through as a restart. */
#define PRC_RIDE_WINDOW_NS INT64_C(1000000000)

/* Did the server refuse the connect (nothing listens: ECONNREFUSED, or a
 * unix socket whose file is gone)?  A refusal on loopback or a LAN is an
 * answer, not a blip: no point in waiting for a reply that will not come. */
static int
conn_refused(const prc_conn_t *c)
{
    return c != NULL && c->err == PRC_ECONNECT &&
           (c->sys_err == ECONNREFUSED || c->sys_err == ENOENT);
}

/*
 * Ride a refused connect through with backoff, as a restart?  Only when
 * the server was up moments ago (this call lost a live connection or
 * found a pooled one dead, or a call or connect succeeded within the ride
 * window) and no call has given up on it since.  Otherwise the refusal is
 * retried at once, once, and the call fails in microseconds.
 */
static int
may_ride(prc_pool_t *p, const prc_call_t *call)
{
    int64_t alive = atomic_load_explicit(&p->alive_at, memory_order_relaxed);

    if (atomic_load_explicit(&p->down_since, memory_order_relaxed) != 0) {
        return 0;
    }
    return call->saw_alive ||
           (alive != 0 && prc_now() - alive <= PRC_RIDE_WINDOW_NS);
}

/* A call gives up on refused connects: later ones fail fast until a
 * connect succeeds.  Keeps the first time. */
static void
mark_down(prc_pool_t *p)
{
    int64_t zero = 0;

    atomic_compare_exchange_strong(&p->down_since, &zero, prc_now());
}

/*
 * Is the reply to a single command "-LOADING ..."?  A server loading its
 * data refuses every command it does not run during loading, so nothing
 * ran.  Then the connection takes the message as its error (and is
 * closed).  A pipeline is left alone: loading may have ended between two
 * of its commands.
 */
static int
loading_reply(prc_conn_t *c, int nreplies)
{
    static const char prefix[] = "-LOADING ";
    const size_t plen = sizeof(prefix) - 1;
    const char *end;

    if (nreplies != 1 || c->rlen < plen + 2 ||
        memcmp(c->rbuf, prefix, plen) != 0) {
        return 0;
    }
    end = memchr(c->rbuf, '\r', c->rlen);
    prc__conn_error(c, PRC_ELOADING, 0, "%.*s",
                    (int)((end ? end : c->rbuf + c->rlen) - c->rbuf - 1),
                    c->rbuf + 1);
    return 1;
}

/* Handle a failed attempt: 0 when a replay is scheduled, else the code. */
static int
attempt_failed(prc_pool_t *p, prc_call_t *call, int code, int during_open)
{
    prc_conn_t *c = call->conn;
    int refusal = during_open && conn_refused(c);
    int ride = 1;
    int64_t now, pause = 0;

    if (atomic_load(&p->closed)) {
        /* close() shut the connection down under us. */
        return fail(call, PRC_ECLOSED,
                    "the client was closed during the call");
    }
    fail(call, code,
         c != NULL && c->errstr[0] ? c->errstr : prc_strerror(code));
    if (!during_open) {
        call->saw_alive = 1; /* an open connection failed: it was up */
    }
    if (refusal) {
        ride = may_ride(p, call);
    }
    if (!retryable(p, call, code, during_open) ||
        (!ride && call->quick_retried)) {
        if (refusal) {
            mark_down(p);
        }
        return code;
    }
    now = prc_now();
    if (ride) {
        /* Riding a restart (refused, or loading its data): equal jitter,
         * so each step waits at least half its ceiling and the retries
         * span a known minimum. */
        double rnd = prc_random();
        int restart = refusal || code == PRC_ELOADING;
        pause = (int64_t)(prc_backoff(call->attempt, p->opts.retry_base,
                                      p->opts.retry_cap,
                                      restart ? 0.5 + rnd / 2 : rnd) *
                          1e9);
        if (call->deadline != PRC_NO_DEADLINE) {
            int64_t left = call->deadline - now;
            if (left <= 0) {
                if (refusal) {
                    mark_down(p);
                }
                return code;
            }
            /* Back off at most half of what is left, so the replay still
             * gets time: the call ends at its deadline, not before. */
            if (pause > left / 2) {
                pause = left / 2;
            }
        }
    } else {
        call->quick_retried = 1;
    }
    call->sleep_until = now + pause;
    if (c != NULL) {
        discard(p, c);
        call->conn = NULL;
    }
    call->attempt++;
    call->retries++;
    call->written = 0;
    atomic_fetch_add(&p->st_retries, 1);
    call->phase = PH_BACKOFF;
    return 0;
}

/* The breaker refused the call: say why, and for how long. */
static int
refuse(prc_pool_t *p, prc_call_t *call)
{
    prc_breaker_info_t info;

    prc_breaker_info(&p->breaker, &info);
    call->err = PRC_ECIRCUIT;
    if (info.open_left_ns > 0) {
        snprintf(call->errstr, sizeof(call->errstr),
                 "circuit breaker is open (%.64s); next probe in %lld ms",
                 info.reason, (long long)(info.open_left_ns / 1000000));
    } else {
        snprintf(call->errstr, sizeof(call->errstr),
                 "circuit breaker is open (%.64s); probe calls in flight",
                 info.reason);
    }
    return PRC_ECIRCUIT;
}

/* Ask the driver to wait for `want` on the connection until `deadline`. */
static int
want(prc_call_t *call, int rc, int64_t deadline)
{
    call->wait_fd = call->conn->fd;
    call->wait_deadline = deadline;
    return rc;
}

int
prc_pool_step(prc_pool_t *p, prc_call_t *call)
{
    int rc;

    for (;;) {
        prc_conn_t *c = call->conn;

        switch (call->phase) {
        case PH_START:
            /* The admission time: the latency histogram, and the
             * breaker's "in flight together" test. */
            call->started = prc_now();
            if (!(call->flags & PRC_CALL_NO_BREAKER) &&
                p->opts.breaker_enabled) {
                rc = prc_breaker_allow(
                    &p->breaker, (call->flags & PRC_CALL_BLOCKING) != 0,
                    &call->epoch, &call->probe, &call->transition);
                if (rc != 0) {
                    return refuse(p, call);
                }
                call->admitted = 1;
            }
            call->pool_deadline = prc_deadline_after(p->opts.pool_timeout);
            if (call->deadline < call->pool_deadline) {
                call->pool_deadline = call->deadline;
            }
            if (call->conn != NULL) {
                /* A pinned connection: no checkout, no liveness check, no
                 * replay (its server-side state would be lost). */
                if (!prc_conn_usable(call->conn)) {
                    return fail(call, PRC_ECONNLOST,
                                "the pinned connection was closed");
                }
                if (prc__conn_stale(call->conn)) {
                    /* EOF, or bytes nobody asked for between two calls:
                     * the next reply read would not be this call's. */
                    prc_conn_mark_broken(call->conn);
                    return fail(call, PRC_ECONNLOST,
                                "the pinned connection is out of step: the "
                                "server closed it or sent unrequested "
                                "bytes");
                }
                prc__conn_begin(call->conn, call->req, call->reqlen,
                                call->nreplies);
                call->phase = PH_IO;
                break;
            }
            call->phase = PH_CHECKOUT;
            break;
        case PH_CHECKOUT:
            rc = checkout(p, call);
            if (rc == PRC_EINTR) {
                return fail(call, rc, "interrupted to check for signals");
            }
            if (rc == PRC_WANT_POOL) {
                call->wait_fd = -1;
                call->wait_deadline = call->pool_deadline;
                return rc;
            }
            if (rc != 0) {
                return fail(call, rc,
                            rc == PRC_EPOOLTIMEOUT
                                ? "timed out waiting for a connection from "
                                  "the pool (all max_connections in use)"
                                : prc_strerror(rc));
            }
            c = call->conn;
            if (call->fresh) {
                call->open_started = prc_now();
                call->phase = PH_OPEN;
                break;
            }
            if (prc__conn_stale(c)) {
                /* EOF or stray bytes on an idle connection: replace it;
                 * nothing was sent, so this is not a retry. */
                call->saw_alive = 1;
                atomic_fetch_add(&p->st_stale, 1);
                discard(p, c);
                call->conn = NULL;
                break;
            }
            if (p->opts.health_check_interval >= 0 &&
                prc_now() - c->last_used >
                    (int64_t)(p->opts.health_check_interval * 1e9)) {
                atomic_fetch_add(&p->st_health, 1);
                prc__conn_begin(c, ping_cmd, sizeof(ping_cmd) - 1, 1);
                call->phase = PH_PING;
                break;
            }
            prc__conn_begin(c, call->req, call->reqlen, call->nreplies);
            call->phase = PH_IO;
            break;
        case PH_PING:
            rc = prc__conn_io_step(c);
            if (rc == PRC_DONE && c->state == PRC__CONN_READY &&
                c->rlen == 7 && memcmp(c->rbuf, "+PONG\r\n", 7) == 0) {
                prc__conn_begin(c, call->req, call->reqlen, call->nreplies);
                call->phase = PH_IO;
                break;
            }
            if (rc > 0) {
                return want(call, rc, call->deadline);
            }
            /* A failed liveness PING: the connection was dead before the
             * command was sent; replace it. */
            call->saw_alive = 1;
            atomic_fetch_add(&p->st_stale, 1);
            discard(p, c);
            call->conn = NULL;
            call->phase = PH_CHECKOUT;
            break;
        case PH_OPEN:
            rc = prc__conn_open_step(c);
            if (rc > 0) {
                int64_t dl = PRC_NO_DEADLINE;
                if (p->opts.connect_timeout >= 0) {
                    dl = call->open_started +
                         (int64_t)(p->opts.connect_timeout * 1e9);
                }
                return want(call, rc, dl);
            }
            if (rc < 0) {
                if (attempt_failed(p, call, rc, 1) != 0) {
                    return call->err;
                }
                break;
            }
            /* Connected: the connect's time is added to the deadline. */
            {
                int64_t now = prc_now();
                if (call->deadline != PRC_NO_DEADLINE) {
                    call->deadline += now - call->open_started;
                }
                atomic_store_explicit(&p->alive_at, now, memory_order_relaxed);
                if (atomic_load_explicit(&p->down_since,
                                         memory_order_relaxed) != 0) {
                    atomic_store(&p->down_since, 0);
                }
            }
            prc__conn_begin(c, call->req, call->reqlen, call->nreplies);
            call->phase = PH_IO;
            break;
        case PH_IO:
            rc = prc__conn_io_step(c);
            call->written = c->written;
            if (rc == PRC_DONE && loading_reply(c, call->nreplies)) {
                /* The server ran nothing: replayed like a connect that
                 * failed, riding the restart with backoff. */
                if (attempt_failed(p, call, PRC_ELOADING, 1) != 0) {
                    return call->err;
                }
                break;
            }
            if (rc == PRC_DONE) {
                call->phase = PH_DONE;
                call->err = 0; /* an earlier attempt may have failed */
                return 0;
            }
            if (rc > 0) {
                int64_t dl = call->deadline;
                if ((call->flags & PRC_CALL_BLOCKING) &&
                    c->written == c->reqlen) {
                    dl = call->block_deadline;
                } else if (p->opts.retry_on_timeout &&
                           (call->flags & PRC_CALL_READONLY) &&
                           !(call->flags & PRC_CALL_NO_RETRY) &&
                           call->attempt < p->opts.retry_attempts &&
                           dl != PRC_NO_DEADLINE) {
                    /* One deadline per call: with retry_on_timeout each
                     * remaining attempt gets an equal share of it, so a
                     * timed-out read-only attempt leaves time to replay. */
                    int64_t now = prc_now();
                    int left = p->opts.retry_attempts - call->attempt + 1;
                    if (dl > now) {
                        dl = now + (dl - now) / left;
                    }
                }
                return want(call, rc, dl);
            }
            if (attempt_failed(p, call, rc, 0) != 0) {
                return call->err;
            }
            break;
        case PH_BACKOFF:
            if (prc_now() < call->sleep_until) {
                call->wait_fd = -1;
                call->wait_deadline = call->sleep_until;
                return PRC_WANT_SLEEP;
            }
            call->phase = PH_CHECKOUT;
            break;
        default:
            return call->err;
        }
    }
}

int
prc_call_timed_out(prc_pool_t *p, prc_call_t *call)
{
    prc_conn_t *c = call->conn;

    switch (call->phase) {
    case PH_CHECKOUT:
        atomic_fetch_add(&p->st_timeouts, 1);
        return fail(call, PRC_EPOOLTIMEOUT,
                    "timed out waiting for a connection from the pool (all "
                    "max_connections in use)");
    case PH_PING:
        return fail(call, PRC_ETIMEDOUT,
                    "timed out checking a pooled connection with PING");
    case PH_OPEN:
        if (c->state == PRC__CONN_TLS) {
            /* A plain-text Redis port reads a ClientHello as an inline
             * command and waits, silently, for a newline. */
            prc__conn_error(c, PRC_ETIMEDOUT, 0,
                            "TLS handshake with %s timed out: no TLS reply (a "
                            "plain-text port? use redis:// or the TLS port)",
                            p->opts.host);
            return attempt_failed(p, call, PRC_ETIMEDOUT, 1);
        }
        prc__conn_error(c, PRC_ETIMEDOUT, 0, "%s %s timed out",
                        c->state == PRC__CONN_RESOLVING ? "resolving"
                                                        : "connect to",
                        p->opts.unix_path ? p->opts.unix_path : p->opts.host);
        return attempt_failed(p, call, PRC_ETIMEDOUT, 1);
    case PH_IO:
        prc__conn_error(c, PRC_ETIMEDOUT, 0, "timed out %s the server",
                        c->written < c->reqlen ? "writing to"
                                               : "reading from");
        return attempt_failed(p, call, PRC_ETIMEDOUT, 0);
    case PH_BACKOFF:
        call->phase = PH_CHECKOUT;
        return 0;
    default:
        return call->err;
    }
}

int
prc_pool_call(prc_pool_t *p, prc_call_t *call)
{
    const prc_hooks_t *h = &p->opts.hooks;
    int rc, w;

    for (;;) {
        rc = prc_pool_step(p, call);
        if (rc == PRC_WANT_READ || rc == PRC_WANT_WRITE) {
            w = prc__wait(call->conn, rc, call->wait_deadline);
            if (w == PRC_EINTR) {
                return fail(call, PRC_EINTR, "interrupted");
            }
            if (w == PRC_ETIMEDOUT) {
                rc = prc_call_timed_out(p, call);
                if (rc != 0) {
                    return rc;
                }
            }
            /* Any other poll failure marked the connection broken: the
             * next step reports it. */
            continue;
        }
        if (rc == PRC_WANT_SLEEP) {
            int64_t left = call->wait_deadline - prc_now();
            if (left > 0) {
                if (h->before_block) {
                    h->before_block(h->ud, PRC_BLOCK_SLEEP);
                }
                w = poll(NULL, 0, (int)((left + 999999) / 1000000));
                if (h->after_block) {
                    h->after_block(h->ud, PRC_BLOCK_SLEEP);
                }
                if (w < 0 && errno == EINTR) {
                    return fail(call, PRC_EINTR, "interrupted");
                }
            }
            continue;
        }
        if (rc == PRC_WANT_POOL) {
            /* Only with PRC_CALL_NONBLOCK, which this driver does not
             * use; treat as a pool timeout rather than spin. */
            return prc_call_timed_out(p, call);
        }
        return rc;
    }
}

const double prc_hist_bounds[PRC_HIST_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};

/* Record one finished call: counters and the latency histogram. */
static void
record_metrics(prc_pool_t *p, prc_call_t *call, int outcome)
{
    int64_t ns = prc_now() - call->started;
    double secs = (double)ns / 1e9;
    int b = 0;

    while (b < PRC_HIST_BUCKETS - 1 && secs > prc_hist_bounds[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&p->m_hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->m_latency_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->m_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->m_commands, call->nreplies,
                              memory_order_relaxed);
    if (outcome < 0 && -outcome < PRC_NCODES) {
        atomic_fetch_add_explicit(&p->m_errors[-outcome], 1,
                                  memory_order_relaxed);
    }
}

void
prc_pool_metrics(prc_pool_t *p, prc_metrics_t *out)
{
    int i;

    out->calls = atomic_load(&p->m_calls);
    out->commands = atomic_load(&p->m_commands);
    out->response_errors = atomic_load(&p->m_response_errors);
    out->latency_ns_sum = atomic_load(&p->m_latency_ns);
    for (i = 0; i < PRC_NCODES; i++) {
        out->errors[i] = atomic_load(&p->m_errors[i]);
    }
    for (i = 0; i < PRC_HIST_BUCKETS; i++) {
        out->hist[i] = atomic_load(&p->m_hist[i]);
    }
    out->breaker_transitions = atomic_load(&p->breaker.transitions);
}

void
prc_pool_count_response_errors(prc_pool_t *p, int64_t n)
{
    atomic_fetch_add_explicit(&p->m_response_errors, n, memory_order_relaxed);
}

void
prc_call_finish(prc_pool_t *p, prc_call_t *call, int outcome)
{
    if (call->finished) {
        return;
    }
    call->finished = 1;
    if (p->opts.metrics) {
        if (call->started == 0) {
            call->started = prc_now(); /* finished before admission */
        }
        record_metrics(p, call, outcome);
    }
    if (call->admitted) {
        int t = prc_breaker_record(&p->breaker, call->epoch, call->probe,
                                   call->started, outcome);
        if (t >= 0) {
            call->transition = t;
        }
        call->admitted = 0;
    }
    if (outcome != PRC_OK) {
        atomic_fetch_add(&p->st_errors, 1);
    }
    if (call->conn != NULL) {
        int ok = outcome == PRC_OK && call->phase == PH_DONE;
        if (call->flags & (PRC_CALL_PIN | PRC_CALL_CLOSE)) {
            /* The pin's owner keeps it (prc_call_take_conn) and releases
             * it with prc_pool_unpin; a failed one is unusable, and so is
             * one whose command ends it (QUIT: the server closes). */
            if (!ok || (call->flags & PRC_CALL_CLOSE)) {
                call->conn->state = PRC__CONN_BROKEN;
            }
            if (!(call->flags & PRC_CALL_PIN)) {
                release(p, call->conn, 0);
                call->conn = NULL;
            }
        } else {
            release(p, call->conn, ok);
            call->conn = NULL;
        }
    }
    call->phase = PH_DONE;
}

prc_conn_t *
prc_call_take_conn(prc_call_t *call)
{
    prc_conn_t *c = call->conn;

    call->conn = NULL;
    return c;
}

void
prc_call_use_conn(prc_call_t *call, prc_conn_t *conn)
{
    call->conn = conn;
    call->flags |= PRC_CALL_PIN | PRC_CALL_NO_RETRY;
}

void
prc_pool_unpin(prc_pool_t *p, prc_conn_t *conn, int ok)
{
    if (conn != NULL) {
        release(p, conn, ok);
    }
}

int
prc_conn_usable(const prc_conn_t *c)
{
    return c != NULL && c->state == PRC__CONN_READY && c->fd >= 0 &&
           c->fork_gen == prc_fork_generation();
}

void
prc_pool_close(prc_pool_t *p)
{
    prc_conn_t *idle, *c, *next;

    pthread_mutex_lock(&p->mu);
    if (p->fork_gen != prc_fork_generation()) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->closed = 1;
    idle = p->idle;
    p->idle = NULL;
    for (c = idle; c != NULL; c = c->next) {
        unlink_locked(p, c);
        p->nopen--;
        p->nidle--;
    }
    /* Wake threads blocked on in-use connections: shutdown() makes their
     * poll return at once while the fd stays valid for its owner, who
     * then closes it. */
    for (c = p->all; c != NULL; c = c->all_next) {
        if (c->fd >= 0) {
            shutdown(c->fd, SHUT_RDWR);
        }
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (c = idle; c != NULL; c = next) {
        next = c->next;
        atomic_fetch_add(&p->st_closed, 1);
        prc__conn_free(c, 1);
    }
}

void
prc_pool_free(prc_pool_t *p)
{
    prc_pool_t **pp;

    if (p == NULL) {
        return;
    }
    prc_pool_close(p);
    pthread_mutex_lock(&reg_mu);
    for (pp = &registry; *pp != NULL; pp = &(*pp)->reg_next) {
        if (*pp == p) {
            *pp = p->reg_next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    /* Connections still checked out (only possible after a fork, held by
     * threads that do not exist here) are freed with the pool. */
    while (p->all != NULL) {
        prc_conn_t *c = p->all;
        p->all = c->all_next;
        prc__conn_free(c, 0);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    destroy(p);
}

void
prc_pool_stats(prc_pool_t *p, prc_pool_stats_t *out)
{
    out->created = atomic_load(&p->st_created);
    out->closed = atomic_load(&p->st_closed);
    out->in_use = atomic_load(&p->st_in_use);
    out->idle = out->created - out->closed - out->in_use;
    if (out->idle < 0) {
        out->idle = 0;
    }
    out->waits = atomic_load(&p->st_waits);
    out->timeouts = atomic_load(&p->st_timeouts);
    out->errors = atomic_load(&p->st_errors);
    out->retries = atomic_load(&p->st_retries);
    out->max_connections = p->opts.max_connections;
    out->health_checks = atomic_load(&p->st_health);
    out->stale = atomic_load(&p->st_stale);
}
