/* pool.c - the thread-safe connection pool: idle list, checkout and
 * release, the fork registry, counters.  Calls run in call.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pool_int.h"

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
 * the fork generation.  Pool mutexes may have been held by threads that
 * are gone, so they are re-created, never locked.  Inherited connections share
 * their sockets with the parent: close the fds without sending anything (no
 * QUIT, no TLS close_notify).  Idle ones are freed; ones that were in use stay
 * allocated for their holder, marked broken, and are freed when released.
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

    const char *bad;

    *err = 0;
    bad = prc__opts_bad(opts);
    if (bad != NULL) {
        *err = PRC_EINVAL;
        snprintf(errbuf, errlen, "invalid pool option %s", bad);
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
    atomic_init(&p->retry_attempts, opts->retry_attempts);
    atomic_init(&p->retry_base, opts->retry_base);
    atomic_init(&p->retry_cap, opts->retry_cap);
    prc_breaker_init(&p->breaker, &p->opts);
    init_sync(p);
    pthread_mutex_lock(&reg_mu);
    p->fork_gen = prc_fork_generation();
    p->reg_next = registry;
    registry = p;
    pthread_mutex_unlock(&reg_mu);
    return p;
}

int
prc_pool_round_trip_opens(prc_pool_t *p)
{
    int rc = PRC_EINVAL;

    pthread_mutex_lock(&p->mu);
    if (p->cfg.handshake_rt) {
        rc = 0;
    } else if (atomic_load(&p->st_created) == 0 && p->nopen == 0) {
        rc = prc__conn_cfg_round_trip(&p->cfg, PRC__RT_PING);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* ---- connections in the pool ---------------------------------------- */

/* Link a new connection into the pool's list; caller holds mu. */
static void
link_locked(prc_pool_t *p, prc_conn_t *c)
{
    c->epoch = p->epoch;
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

void
prc__pool_discard(prc_pool_t *p, prc_conn_t *c)
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

void
prc__pool_release(prc_pool_t *p, prc_conn_t *c, int ok)
{
    if (!ok || c->state != PRC__CONN_READY ||
        c->fork_gen != prc_fork_generation()) {
        prc__pool_discard(p, c);
        return;
    }
    c->last_used = prc_now();
    prc__conn_trim(c);
    atomic_store_explicit(&p->alive_at, c->last_used, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    if (p->closed || c->epoch != p->epoch) {
        pthread_mutex_unlock(&p->mu);
        prc__pool_discard(p, c);
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

/* Check the most recently released idle connection out; the caller holds
 * p->mu, which this releases. */
static inline int
take_idle_locked(prc_pool_t *p, prc_conn_t **out, int *fresh)
{
    prc_conn_t *c = p->idle;

    p->idle = c->next;
    c->next = NULL;
    p->nidle--;
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->st_in_use, 1);
    *out = c;
    *fresh = 0;
    return 0;
}

/* The rest of prc__pool_checkout, entered with p->mu held: no idle
 * connection was there (or the pool is closed).  Out of line, so that the
 * common case, an idle connection, stays a short function. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int
checkout_locked(prc_pool_t *p, int64_t deadline, int nonblock, int *waited,
                prc_conn_t **out, int *fresh)
{
    const prc_hooks_t *h = &p->opts.hooks;
    prc_conn_t *c;

    for (;;) {
        if (p->closed) {
            pthread_mutex_unlock(&p->mu);
            return PRC_ECLOSED;
        }
        if (p->idle != NULL) {
            return take_idle_locked(p, out, fresh);
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
            *out = c;
            *fresh = 1;
            return 0;
        }
        if (deadline != PRC_NO_DEADLINE && prc_now() >= deadline) {
            pthread_mutex_unlock(&p->mu);
            atomic_fetch_add(&p->st_timeouts, 1);
            return PRC_EPOOLTIMEOUT;
        }
        if (!*waited) {
            *waited = 1;
            atomic_fetch_add(&p->st_waits, 1);
        }
        if (nonblock) {
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
            int64_t until = deadline, slice_end = PRC_NO_DEADLINE;
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
                prc_now() < deadline) {
                pthread_mutex_unlock(&p->mu);
                return PRC_EINTR;
            }
            continue;
        }
    }
}

int
prc__pool_checkout(prc_pool_t *p, int64_t deadline, int nonblock, int *waited,
                   prc_conn_t **out, int *fresh)
{
    pthread_mutex_lock(&p->mu);
    if (p->idle == NULL || p->closed) {
        return checkout_locked(p, deadline, nonblock, waited, out, fresh);
    }
    return take_idle_locked(p, out, fresh);
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
prc_pool_unpin(prc_pool_t *p, prc_conn_t *conn, int ok)
{
    if (conn != NULL) {
        prc__pool_release(p, conn, ok);
    }
}
/* Take every idle connection out of the pool (its slots free); the
 * caller holds mu, and closes them with free_taken once it is released. */
static prc_conn_t *
take_idle_all_locked(prc_pool_t *p)
{
    prc_conn_t *idle = p->idle, *c;

    p->idle = NULL;
    for (c = idle; c != NULL; c = c->next) {
        unlink_locked(p, c);
        p->nopen--;
        p->nidle--;
    }
    return idle;
}

static void
free_taken(prc_pool_t *p, prc_conn_t *idle)
{
    prc_conn_t *c, *next;

    for (c = idle; c != NULL; c = next) {
        next = c->next;
        atomic_fetch_add(&p->st_closed, 1);
        prc__conn_free(c, 1);
    }
}

void
prc_pool_close(prc_pool_t *p)
{
    prc_conn_t *idle, *c;

    pthread_mutex_lock(&p->mu);
    if (p->fork_gen != prc_fork_generation()) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->closed = 1;
    idle = take_idle_all_locked(p);
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
    free_taken(p, idle);
}

int
prc_pool_closed(prc_pool_t *p)
{
    return atomic_load(&p->closed) != 0;
}

void
prc_pool_disconnect(prc_pool_t *p, int in_use)
{
    prc_conn_t *idle;

    pthread_mutex_lock(&p->mu);
    if (p->fork_gen != prc_fork_generation()) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    if (in_use) {
        p->epoch++; /* connections in use now close when given back */
    }
    idle = take_idle_all_locked(p);
    if (idle != NULL && p->waiters > 0) {
        pthread_cond_broadcast(&p->cv); /* slots came free */
    }
    pthread_mutex_unlock(&p->mu);
    free_taken(p, idle);
}

int
prc_pool_set_retry(prc_pool_t *p, int attempts, double base, double cap)
{
    /* The same bounds as the options (opts.c); NaN fails every test. */
    if (attempts < 0 || !(base > 0 && base <= cap && cap <= 1e9)) {
        return PRC_EINVAL;
    }
    atomic_store_explicit(&p->retry_attempts, attempts, memory_order_relaxed);
    atomic_store_explicit(&p->retry_base, base, memory_order_relaxed);
    atomic_store_explicit(&p->retry_cap, cap, memory_order_relaxed);
    return 0;
}

void
prc_pool_get_retry(prc_pool_t *p, int *attempts, double *base, double *cap)
{
    *attempts = atomic_load_explicit(&p->retry_attempts, memory_order_relaxed);
    *base = atomic_load_explicit(&p->retry_base, memory_order_relaxed);
    *cap = atomic_load_explicit(&p->retry_cap, memory_order_relaxed);
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
