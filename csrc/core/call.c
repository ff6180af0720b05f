/* call.c - one logical call: the state machine that admits it, checks a
 * connection out, replays it when that is safe, and settles its outcome
 * (breaker, counters, release or pin).  Non-blocking: drive.c waits. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "call_int.h"
#include "pool_int.h"

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
    ST(call)->phase = PH_START;
    call->wait_fd = -1;
}

static int
fail(prc_call_t *call, int code, const char *msg)
{
    call->err = code;
    snprintf(call->errstr, sizeof(call->errstr), "%s", msg);
    return code;
}

/* How many times a failed call may be retried (prc_pool_set_retry). */
static int
retry_attempts(prc_pool_t *p)
{
    return atomic_load_explicit(&p->retry_attempts, memory_order_relaxed);
}

/* May this failure be replayed?  Exactly the safe cases of DESIGN.md. */
static int
retryable(prc_pool_t *p, prc_call_t *call, int code, int during_open)
{
    const prc_opts_t *o = &p->opts;

    if (ST(call)->attempt >= retry_attempts(p) ||
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
    if (ST(call)->written < call->reqlen) {
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
may_ride(prc_pool_t *p, prc_call_t *call)
{
    int64_t alive = atomic_load_explicit(&p->alive_at, memory_order_relaxed);

    if (atomic_load_explicit(&p->down_since, memory_order_relaxed) != 0) {
        return 0;
    }
    return ST(call)->saw_alive ||
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

/* Is this outcome a failure of the link to the server (the failures the
 * breaker counts), rather than the caller's or the command's? */
static int
link_failure(int code)
{
    switch (code) {
    case PRC_ECONNECT:
    case PRC_ETIMEDOUT:
    case PRC_ECONNLOST:
    case PRC_EPROTO:
    case PRC_ETLS:
    case PRC_EMAXCLIENTS:
    case PRC_ELOADING:
        return 1;
    default:
        return 0;
    }
}

/* A connection or call that began at `since` failed: the next connect is
 * a reconnect.  A failure that began before the last connect event is
 * the same outage, seen late (a killed idle connection found at
 * checkout), and counts no more. */
static void
mark_lost(prc_pool_t *p, int64_t since)
{
    int64_t up = atomic_load_explicit(&p->link_up_at, memory_order_relaxed);

    if (up != 0 && since > up &&
        !atomic_load_explicit(&p->link_lost, memory_order_relaxed)) {
        atomic_store(&p->link_lost, 1);
    }
}

/* A connection opened at `now`: PRC_CONN_EVENT_CONNECT for the pool's
 * first, PRC_CONN_EVENT_RECONNECT for the first since a failure, else 0.
 * Exactly one of many calls connecting together gets the event. */
static int
link_up(prc_pool_t *p, int64_t now)
{
    int64_t zero = 0;

    if (atomic_load_explicit(&p->link_up_at, memory_order_relaxed) == 0) {
        return atomic_compare_exchange_strong(&p->link_up_at, &zero, now)
                   ? PRC_CONN_EVENT_CONNECT
                   : PRC_CONN_EVENT_NONE;
    }
    if (atomic_load_explicit(&p->link_lost, memory_order_relaxed) &&
        atomic_exchange(&p->link_lost, 0)) {
        atomic_store(&p->link_up_at, now);
        return PRC_CONN_EVENT_RECONNECT;
    }
    return PRC_CONN_EVENT_NONE;
}

/*
 * Is the reply to a single command "-LOADING ..."?  A server loading its
 * data refuses every command it does not run during loading, so nothing
 * ran.  Then the connection takes the message as its error (and is
 * closed).  A pipeline is left alone: loading may have ended between two
 * of its commands.  The reply is framed: its first byte is its type, and
 * only an error reply is read further.
 */
static int
loading_reply(prc_conn_t *c, int nreplies)
{
    static const char prefix[] = "LOADING ";
    const size_t plen = sizeof(prefix) - 1;
    prc_reply_t r;

    if (nreplies != 1 || c->rlen == 0 || c->rbuf[0] != '-' ||
        prc_reply_at(c->rbuf, c->rlen, 0, &r) != 1 || r.len < plen ||
        memcmp(r.text, prefix, plen) != 0) {
        return 0;
    }
    prc__conn_error(c, PRC_ELOADING, 0, "%.*s", (int)r.len, r.text);
    return 1;
}

/* Did the liveness PING get its answer (and nothing else): PONG, or an
 * error reply, which proves the connection alive as well (a user whose ACL
 * has no PING, a renamed PING, a server LOADING): the command that follows
 * meets whatever the server has to say. */
static int
is_pong(const prc_conn_t *c)
{
    prc_reply_t r;

    return c->state == PRC__CONN_READY &&
           prc_reply_at(c->rbuf, c->rlen, 0, &r) == 1 && r.end == c->rlen &&
           (r.type == '-' ||
            (r.type == '+' && r.len == 4 && memcmp(r.text, "PONG", 4) == 0));
}

/* Handle a failed attempt: 0 when a replay is scheduled, else the code. */
static int
attempt_failed(prc_pool_t *p, prc_call_t *call, int code, int during_open)
{
    prc_conn_t *c = ST(call)->conn;
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
        ST(call)->saw_alive = 1; /* an open connection failed: it was up */
    }
    if (link_failure(code)) {
        mark_lost(p, ST(call)->started);
    }
    if (refusal) {
        ride = may_ride(p, call);
    }
    if (!retryable(p, call, code, during_open) ||
        (!ride && ST(call)->quick_retried)) {
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
        pause =
            (int64_t)(prc_backoff(ST(call)->attempt,
                                  atomic_load_explicit(&p->retry_base,
                                                       memory_order_relaxed),
                                  atomic_load_explicit(&p->retry_cap,
                                                       memory_order_relaxed),
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
        ST(call)->quick_retried = 1;
    }
    ST(call)->sleep_until = now + pause;
    if (c != NULL) {
        prc__pool_discard(p, c);
        ST(call)->conn = NULL;
    }
    ST(call)->attempt++;
    call->retries++;
    ST(call)->written = 0;
    atomic_fetch_add(&p->st_retries, 1);
    ST(call)->phase = PH_BACKOFF;
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
    call->wait_fd = ST(call)->conn->fd;
    call->wait_deadline = deadline;
    return rc;
}

int
prc_pool_step(prc_pool_t *p, prc_call_t *call)
{
    int rc;

    for (;;) {
        prc_conn_t *c = ST(call)->conn;

        switch (ST(call)->phase) {
        case PH_START:
            /* The admission time: the latency histogram, and the
             * breaker's "in flight together" test. */
            ST(call)->started = prc_now();
            if (!(call->flags & PRC_CALL_NO_BREAKER) &&
                p->opts.breaker_enabled) {
                rc = prc_breaker_allow(
                    &p->breaker, (call->flags & PRC_CALL_BLOCKING) != 0,
                    &ST(call)->epoch, &ST(call)->probe, &call->transition);
                if (rc != 0) {
                    return refuse(p, call);
                }
                ST(call)->admitted = 1;
            }
            ST(call)->pool_deadline = prc_deadline_after(p->opts.pool_timeout);
            if (call->deadline < ST(call)->pool_deadline) {
                ST(call)->pool_deadline = call->deadline;
            }
            if (ST(call)->conn != NULL) {
                /* A pinned connection: no checkout, no liveness check, no
                 * replay (its server-side state would be lost). */
                if (!prc_conn_usable(ST(call)->conn)) {
                    return fail(call, PRC_ECONNLOST,
                                "the pinned connection was closed");
                }
                if (prc__conn_stale(ST(call)->conn)) {
                    /* EOF, or bytes nobody asked for between two calls:
                     * the next reply read would not be this call's. */
                    prc_conn_mark_broken(ST(call)->conn);
                    return fail(call, PRC_ECONNLOST,
                                "the pinned connection is out of step: the "
                                "server closed it or sent unrequested "
                                "bytes");
                }
                prc__conn_begin(ST(call)->conn, call->req, call->reqlen,
                                call->nreplies);
                ST(call)->phase = PH_IO;
                break;
            }
            ST(call)->phase = PH_CHECKOUT;
            break;
        case PH_CHECKOUT:
            rc = prc__pool_checkout(p, ST(call)->pool_deadline,
                                    (call->flags & PRC_CALL_NONBLOCK) != 0,
                                    &ST(call)->pool_waited, &ST(call)->conn,
                                    &ST(call)->fresh);
            if (rc == PRC_EINTR) {
                return fail(call, rc, "interrupted to check for signals");
            }
            if (rc == PRC_WANT_POOL) {
                call->wait_fd = -1;
                call->wait_deadline = ST(call)->pool_deadline;
                return rc;
            }
            if (rc != 0) {
                return fail(call, rc,
                            rc == PRC_EPOOLTIMEOUT
                                ? "timed out waiting for a connection from "
                                  "the pool (all max_connections in use)"
                                : prc_strerror(rc));
            }
            c = ST(call)->conn;
            if (ST(call)->fresh) {
                /* prc_pool_round_trip_opens's PING: only where the order
                 * it gives is asked for, a blocking command's write. */
                c->no_rt = !(call->flags & PRC_CALL_BLOCKING);
                ST(call)->open_started = prc_now();
                ST(call)->phase = PH_OPEN;
                break;
            }
            if (prc__conn_stale(c)) {
                /* EOF or stray bytes on an idle connection: replace it;
                 * nothing was sent, so this is not a retry. */
                ST(call)->saw_alive = 1;
                atomic_fetch_add(&p->st_stale, 1);
                mark_lost(p, c->last_used);
                prc__pool_discard(p, c);
                ST(call)->conn = NULL;
                break;
            }
            if (p->opts.health_check_interval >= 0 &&
                prc_now() - c->last_used >
                    (int64_t)(p->opts.health_check_interval * 1e9)) {
                atomic_fetch_add(&p->st_health, 1);
                prc__conn_begin(c, ping_cmd, sizeof(ping_cmd) - 1, 1);
                ST(call)->phase = PH_PING;
                break;
            }
            prc__conn_begin(c, call->req, call->reqlen, call->nreplies);
            ST(call)->phase = PH_IO;
            break;
        case PH_PING:
            rc = prc__conn_io_step(c);
            if (rc == PRC_DONE && is_pong(c)) {
                prc__conn_begin(c, call->req, call->reqlen, call->nreplies);
                ST(call)->phase = PH_IO;
                break;
            }
            if (rc > 0) {
                return want(call, rc, call->deadline);
            }
            /* A failed liveness PING: the connection was dead before the
             * command was sent; replace it. */
            ST(call)->saw_alive = 1;
            atomic_fetch_add(&p->st_stale, 1);
            mark_lost(p, c->last_used);
            prc__pool_discard(p, c);
            ST(call)->conn = NULL;
            ST(call)->phase = PH_CHECKOUT;
            break;
        case PH_OPEN:
            rc = prc__conn_open_step(c);
            if (rc > 0) {
                int64_t dl = PRC_NO_DEADLINE;
                if (p->opts.connect_timeout >= 0) {
                    dl = ST(call)->open_started +
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
                int ev = link_up(p, now);
                if (ev != PRC_CONN_EVENT_NONE) {
                    call->conn_event = ev;
                }
                if (call->deadline != PRC_NO_DEADLINE) {
                    call->deadline += now - ST(call)->open_started;
                }
                atomic_store_explicit(&p->alive_at, now, memory_order_relaxed);
                if (atomic_load_explicit(&p->down_since,
                                         memory_order_relaxed) != 0) {
                    atomic_store(&p->down_since, 0);
                }
            }
            prc__conn_begin(c, call->req, call->reqlen, call->nreplies);
            ST(call)->phase = PH_IO;
            break;
        case PH_IO:
            rc = prc__conn_io_step(c);
            ST(call)->written = c->written;
            if (rc == PRC_DONE && loading_reply(c, call->nreplies)) {
                /* The server ran nothing: replayed like a connect that
                 * failed, riding the restart with backoff. */
                if (attempt_failed(p, call, PRC_ELOADING, 1) != 0) {
                    return call->err;
                }
                break;
            }
            if (rc == PRC_DONE) {
                ST(call)->phase = PH_DONE;
                call->err = 0; /* an earlier attempt may have failed */
                return 0;
            }
            if (rc == PRC_WANT_READ && call->convert_at > 0 &&
                c->got >= call->convert_at && c->written == c->reqlen) {
                /* Replies to convert while the rest arrive: the next
                 * step reads on (prc_call_framed). */
                return PRC_WANT_CONVERT;
            }
            if (rc > 0) {
                int64_t dl = call->deadline;
                if ((call->flags & PRC_CALL_BLOCKING) &&
                    c->written == c->reqlen) {
                    dl = call->block_deadline;
                } else if (p->opts.retry_on_timeout &&
                           (call->flags & PRC_CALL_READONLY) &&
                           !(call->flags & PRC_CALL_NO_RETRY) &&
                           ST(call)->attempt < retry_attempts(p) &&
                           dl != PRC_NO_DEADLINE) {
                    /* One deadline per call: with retry_on_timeout each
                     * remaining attempt gets an equal share of it, so a
                     * timed-out read-only attempt leaves time to replay. */
                    int64_t now = prc_now();
                    int left = retry_attempts(p) - ST(call)->attempt + 1;
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
            if (prc_now() < ST(call)->sleep_until) {
                call->wait_fd = -1;
                call->wait_deadline = ST(call)->sleep_until;
                return PRC_WANT_SLEEP;
            }
            ST(call)->phase = PH_CHECKOUT;
            break;
        default:
            return call->err;
        }
    }
}

int
prc_call_timed_out(prc_pool_t *p, prc_call_t *call)
{
    prc_conn_t *c = ST(call)->conn;

    switch (ST(call)->phase) {
    case PH_CHECKOUT:
        atomic_fetch_add(&p->st_timeouts, 1);
        return fail(call, PRC_EPOOLTIMEOUT,
                    "timed out waiting for a connection from the pool (all "
                    "max_connections in use)");
    case PH_PING:
        return fail(call, PRC_ETIMEDOUT,
                    "timed out checking a pooled connection with PING");
    case PH_OPEN:
        if (c->state == PRC__CONN_CREDS) {
            prc__conn_error(c, PRC_ETIMEDOUT, 0,
                            "the credentials provider did not answer within "
                            "socket_connect_timeout");
            return attempt_failed(p, call, PRC_ETIMEDOUT, 1);
        }
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
        ST(call)->phase = PH_CHECKOUT;
        return 0;
    default:
        return call->err;
    }
}

const double prc_hist_bounds[PRC_HIST_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};

/* Record one finished call: counters and the latency histogram. */
static void
record_metrics(prc_pool_t *p, int64_t started, int ncommands, int outcome)
{
    int64_t ns = prc_now() - started;
    double secs = (double)ns / 1e9;
    int b = 0;

    while (b < PRC_HIST_BUCKETS - 1 && secs > prc_hist_bounds[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&p->m_hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->m_latency_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->m_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->m_commands, ncommands, memory_order_relaxed);
    if (outcome < 0 && -outcome < PRC_NCODES) {
        atomic_fetch_add_explicit(&p->m_errors[-outcome], 1,
                                  memory_order_relaxed);
    }
}

void
prc_pool_link_failed(prc_pool_t *p, int64_t since)
{
    mark_lost(p, since);
}

void
prc_pool_record_call(prc_pool_t *p, int64_t started, int ncommands,
                     int outcome)
{
    if (p->opts.metrics) {
        record_metrics(p, started, ncommands, outcome);
    }
}
void
prc_call_finish(prc_pool_t *p, prc_call_t *call, int outcome)
{
    if (ST(call)->finished) {
        return;
    }
    ST(call)->finished = 1;
    if (p->opts.metrics) {
        if (ST(call)->started == 0) {
            ST(call)->started = prc_now(); /* finished before admission */
        }
        record_metrics(p, ST(call)->started, call->nreplies, outcome);
    }
    if (ST(call)->admitted) {
        int t =
            prc_breaker_record(&p->breaker, ST(call)->epoch, ST(call)->probe,
                               ST(call)->started, outcome);
        if (t >= 0) {
            call->transition = t;
        }
        ST(call)->admitted = 0;
    }
    if (outcome != PRC_OK) {
        atomic_fetch_add(&p->st_errors, 1);
        if (link_failure(outcome)) {
            mark_lost(p, ST(call)->started);
        }
    }
    if (ST(call)->conn != NULL) {
        int ok = outcome == PRC_OK && ST(call)->phase == PH_DONE;
        if (call->flags & (PRC_CALL_PIN | PRC_CALL_CLOSE)) {
            /* The pin's owner keeps it (prc_call_take_conn) and releases
             * it with prc_pool_unpin; a failed one is unusable, and so is
             * one whose command ends it (QUIT: the server closes). */
            if (!ok || (call->flags & PRC_CALL_CLOSE)) {
                ST(call)->conn->state = PRC__CONN_BROKEN;
            }
            if (!(call->flags & PRC_CALL_PIN)) {
                prc__pool_release(p, ST(call)->conn, 0);
                ST(call)->conn = NULL;
            }
        } else {
            prc__pool_release(p, ST(call)->conn, ok);
            ST(call)->conn = NULL;
        }
    }
    ST(call)->phase = PH_DONE;
}

void
prc_call_set_creds(prc_call_t *call, const char *username,
                   const char *password, const char *error)
{
    if (ST(call)->phase == PH_OPEN) {
        prc__conn_set_creds(ST(call)->conn, username, password, error);
    }
}

prc_conn_t *
prc_call_conn(const prc_call_t *call)
{
    return ST(call)->conn;
}

int
prc_call_sent(const prc_call_t *call)
{
    return ST(call)->phase == PH_DONE ||
           (ST(call)->phase == PH_IO && ST(call)->written == call->reqlen);
}

int
prc_call_framed(const prc_call_t *call, size_t *len)
{
    const prc_conn_t *c = ST(call)->conn;

    if (c == NULL ||
        (ST(call)->phase != PH_IO && ST(call)->phase != PH_DONE)) {
        *len = 0;
        return 0;
    }
    *len = prc_framer_idle(&c->framer) ? c->framer.pos : c->framer.reply_start;
    return c->got;
}

prc_conn_t *
prc_call_take_conn(prc_call_t *call)
{
    prc_conn_t *c = ST(call)->conn;

    ST(call)->conn = NULL;
    return c;
}

void
prc_call_use_conn(prc_call_t *call, prc_conn_t *conn)
{
    ST(call)->conn = conn;
    call->flags |= PRC_CALL_PIN | PRC_CALL_NO_RETRY;
}
