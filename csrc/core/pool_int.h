/* pool_int.h - the pool's internals, shared by pool.c (idle list,
 * checkout, fork registry) and call.c (the call state machine). */
#ifndef PRC_POOL_INT_H
#define PRC_POOL_INT_H

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
    /* The link, for the connect and reconnect events (prc_call_t
     * conn_event): up_at is prc_now() at the last such event, 0 before
     * the first connect; lost is set by a failure of a connection or
     * call that began after up_at, so that one outage, seen by many
     * calls, is one event (atomics, no lock). */
    _Atomic int64_t link_up_at;
    _Atomic int link_lost;
    uint64_t fork_gen; /* generation the internals belong to; mu */
    /* prc_pool_disconnect calls so far; a connection linked before the
     * last one is closed when given back (mu). */
    uint64_t epoch;
    /* The retry policy: opts' values at first, then prc_pool_set_retry's.
     * call.c reads these, never opts.retry_attempts/base/cap, since they
     * change while calls run (atomics, no lock; one call may see an old
     * and a new field together, each of them valid). */
    _Atomic int retry_attempts;
    _Atomic double retry_base, retry_cap;

    prc_pool_t *reg_next; /* fork registry link; reg_mu */

    prc_breaker_t breaker;
    /* Counters: call.c adds, pool.c reads (atomics, no lock). */
    _Atomic int64_t m_calls, m_commands, m_response_errors, m_latency_ns;
    _Atomic int64_t m_errors[PRC_NCODES];
    _Atomic int64_t m_hist[PRC_HIST_BUCKETS];
    _Atomic int64_t st_created, st_closed, st_in_use, st_waits, st_timeouts,
        st_errors, st_retries, st_health, st_stale;
};

/*
 * Take an idle connection, or a slot and a new (unconnected) connection,
 * waiting until `deadline` for one to come free (PRC_NO_DEADLINE: no
 * limit).  Returns 0 with *out set and *fresh true for a new connection;
 * PRC_WANT_POOL when `nonblock` and none is free (an event loop waits for
 * a release); PRC_EINTR when opts.wait_slice passed (the caller resumes);
 * or PRC_ECLOSED, PRC_ENOMEM, PRC_EPOOLTIMEOUT.  *waited is set (and the
 * wait counted) the first time the caller has to wait: pass the same
 * flag again when resuming.  Takes the pool mutex; never while holding
 * another lock.
 */
int prc__pool_checkout(prc_pool_t *p, int64_t deadline, int nonblock,
                       int *waited, prc_conn_t **out, int *fresh);
/* Give a checked-out connection back: pooled when `ok` and it is READY
 * (and of this process), else closed.  Wakes one waiter. */
void prc__pool_release(prc_pool_t *p, prc_conn_t *c, int ok);
/* Close a checked-out connection and give its slot back. */
void prc__pool_discard(prc_pool_t *p, prc_conn_t *c);

#endif /* PRC_POOL_INT_H */
