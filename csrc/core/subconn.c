/* subconn.c - a subscriber's connection: connect, resubscribe in one
 * write, send, frame what is pushed, PING on idle, and on a loss back off
 * and report the gap once the resubscription is confirmed.  Everything
 * here runs with the subscriber's mutex held (sub.c takes it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sub_int.h"

/* The argument of our idle PINGs: their pongs are read and dropped. */
#define SUB_HEALTH_TOKEN "pyredisclient-health-check"
/* Names per (P|S)SUBSCRIBE of a resubscription (the server takes about a
 * million arguments; smaller commands let messages in between). */
#define SUB_NAMES_PER_COMMAND 10000
/* A flushed output buffer keeps at most this much. */
#define SUB_KEEP_OUT (64 * 1024)
/* Arguments of a command built without an allocation. */
#define SUB_ARGV_SMALL 16
/* Reconnects are at least this far apart, whatever retry_base says. */
#define SUB_MIN_BACKOFF_NS INT64_C(10000000)

const char *const prc__sub_subscribe_cmd[3] = {"SUBSCRIBE", "PSUBSCRIBE",
                                               "SSUBSCRIBE"};
const char *const prc__sub_unsubscribe_cmd[3] = {"UNSUBSCRIBE", "PUNSUBSCRIBE",
                                                 "SUNSUBSCRIBE"};

/* ---- output: commands for the connection, in order ---------------------- */

int
prc__sub_put_command(prc_wbuf_t *wb, const char *cmd, int n,
                     const char *const *names, const size_t *lens)
{
    const char *argv_small[SUB_ARGV_SMALL];
    size_t len_small[SUB_ARGV_SMALL];
    const char **argv = argv_small;
    size_t *argvlen = len_small;
    int rc = PRC_ENOMEM;

    if (n >= SUB_ARGV_SMALL) {
        argv = malloc(((size_t)n + 1) * sizeof(*argv));
        argvlen = malloc(((size_t)n + 1) * sizeof(*argvlen));
    }
    if (argv != NULL && argvlen != NULL) {
        argv[0] = cmd;
        argvlen[0] = strlen(cmd);
        if (n > 0) {
            memcpy(argv + 1, names, (size_t)n * sizeof(*argv));
            memcpy(argvlen + 1, lens, (size_t)n * sizeof(*argvlen));
        }
        rc = prc_wbuf_append_command(wb, n + 1, argv, argvlen);
    }
    if (argv != argv_small) {
        free(argv);
        free(argvlen);
    }
    return rc;
}

/* A monitoring connection takes status lines as long as the largest reply
 * (MONITOR shows each command whole, its arguments escaped). */
void
prc__sub_monitor_lines(prc_sub_t *s)
{
    prc_framer_t *f = s->conn != NULL ? &s->conn->framer : NULL;

    if (f != NULL && f->max_bulk > f->max_line) {
        f->max_line = f->max_bulk;
    }
}

/* ---- connection loss and recovery --------------------------------------- */

int
prc__sub_has_names(const prc_sub_t *s)
{
    return s->sets[0].n > 0 || s->sets[1].n > 0 || s->sets[2].n > 0 ||
           s->monitor;
}

static void
end_outage(prc_sub_t *s)
{
    s->down_since = 0;
    s->down_attempts = 0;
    s->attempt = 0;
    s->resubscribing = 0;
}

/* Close the connection without sending anything, and forget what it owed
 * and what the server had confirmed on it. */
static void
close_conn(prc_sub_t *s)
{
    prc__conn_free(s->conn, 0);
    s->conn = NULL;
    s->counts[0] = s->counts[1] = 0;
    s->health_owed = 0;
    s->resub_head = s->resub_n = 0;
    s->resubscribing = 0;
    s->expect_by = 0;
    prc_wbuf_shrink(&s->out, SUB_KEEP_OUT);
}

/*
 * The connection is gone (why: the reason, copied): close it without
 * sending anything, forget what it owed, and while anything is
 * subscribed schedule a reconnect with backoff; the first loss of an
 * outage is remembered for the gap's report and the log.
 */
static void
lost(prc_sub_t *s, const char *why)
{
    int64_t now = prc_now(), pause;

    close_conn(s);
    atomic_fetch_add(&s->st_disconnects, 1);
    if (!prc__sub_has_names(s)) {
        /* Nothing subscribed, nothing missed: connect again when asked. */
        s->active = 0;
        prc_wbuf_shrink(&s->later, SUB_KEEP_OUT);
        end_outage(s);
        s->state = SUB_IDLE;
        return;
    }
    if (s->down_since == 0) {
        s->down_since = now;
        snprintf(s->reason, sizeof(s->reason), "%s", why);
        atomic_store(&s->notice, 1);
    }
    /* Equal jitter: each pause at least half its ceiling. */
    pause = (int64_t)(1e9 * prc_backoff(s->attempt, s->retry_base,
                                        s->retry_cap, 0.5 + prc_random() / 2));
    if (s->attempt < 60) {
        s->attempt++;
    }
    s->retry_at =
        now + (pause > SUB_MIN_BACKOFF_NS ? pause : SUB_MIN_BACKOFF_NS);
    s->state = SUB_BACKOFF;
}

/* The connection is broken (its errstr says why). */
static void
lost_conn(prc_sub_t *s)
{
    char why[PRC_ERRSTR_LEN];

    snprintf(why, sizeof(why), "%s",
             s->conn != NULL && s->conn->errstr[0] ? s->conn->errstr
                                                   : "connection lost");
    lost(s, why);
}

/*
 * The move prc_sub_move asked for: a connection to the old address is
 * lost (the outage and its report start as for any loss, with "moved to"
 * as the reason unless one had started already), the config takes the new
 * address, and the next step connects there at once.  A connection the
 * server confirmed nothing on (no outage running, no MONITOR: a cluster
 * placing a subscription on its first SUBSCRIBE after a PING) is closed
 * quietly instead.
 */
static void
apply_move(prc_sub_t *s)
{
    char why[PRC_ERRSTR_LEN];

    snprintf(why, sizeof(why), "moved to %s:%d", s->move_host, s->move_port);
    if (s->conn != NULL && s->down_since == 0 && !s->monitor &&
        s->counts[0] == 0 && s->counts[1] == 0) {
        /* Nobody can have missed a message on it: no gap, no loss.  The
         * sets (requests not yet confirmed) go to the new address as on a
         * first connect, their confirmations to the caller. */
        close_conn(s);
        s->state =
            prc__sub_has_names(s) || s->later.len > 0 ? SUB_BACKOFF : SUB_IDLE;
    } else if (s->conn != NULL) {
        lost(s, why);
    }
    free(s->cfg.owned[0]); /* the host: owned[0] (prc__conn_cfg_init) */
    s->cfg.owned[0] = s->move_host;
    s->cfg.host = s->move_host;
    s->cfg.port = s->move_port;
    s->move_host = NULL;
    if (s->state == SUB_BACKOFF) {
        s->attempt = 0;
        s->retry_at = 0;
    }
}

/* Owe the resubscription n confirmations for its next command. */
static int
owe(prc_sub_t *s, int n)
{
    if (s->resub_head + s->resub_n == s->resub_cap) {
        int cap = s->resub_cap ? s->resub_cap * 2 : 4;
        int *nr = realloc(s->resub, (size_t)cap * sizeof(int));
        if (nr == NULL) {
            return PRC_ENOMEM;
        }
        s->resub = nr;
        s->resub_cap = cap;
    }
    s->resub[s->resub_head + s->resub_n++] = n;
    return 0;
}

/* A shard channel's place in a resubscription: by hash slot (a cluster
 * refuses an SSUBSCRIBE whose channels span slots), then in the order it
 * was added. */
typedef struct {
    int slot;
    size_t seq;
    const char *name; /* borrowed from the set */
    size_t len;
} by_slot_t;

static int
by_slot_seq(const void *a, const void *b)
{
    const by_slot_t *x = a, *y = b;

    if (x->slot != y->slot) {
        return x->slot < y->slot ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reorder names/lens (k, in the order added) by hash slot into slots. */
static int
order_by_slot(const char **names, size_t *lens, int *slots, size_t k)
{
    by_slot_t *o = malloc(k * sizeof(*o));
    size_t i;

    if (o == NULL) {
        return PRC_ENOMEM;
    }
    for (i = 0; i < k; i++) {
        o[i].slot = prc_key_slot(names[i], lens[i]);
        o[i].seq = i;
        o[i].name = names[i];
        o[i].len = lens[i];
    }
    qsort(o, k, sizeof(*o), by_slot_seq);
    for (i = 0; i < k; i++) {
        names[i] = o[i].name;
        lens[i] = o[i].len;
        slots[i] = o[i].slot;
    }
    free(o);
    return 0;
}

/* Queue the subscriptions of one set in the order they were made,
 * SUB_NAMES_PER_COMMAND per command (shard channels: one command per hash
 * slot); with `owed`, each command's confirmations go on the resub FIFO. */
static int
put_set(prc_sub_t *s, int set, int owed)
{
    size_t k = s->sets[set].n, i, j;
    const char **names;
    size_t *lens;
    int *slots;
    int rc;

    if (k == 0) {
        return 0;
    }
    names = malloc(k * sizeof(*names));
    lens = malloc(k * sizeof(*lens));
    slots = calloc(k, sizeof(*slots)); /* all 0 outside the shard set */
    rc = names != NULL && lens != NULL && slots != NULL
             ? prc__nameset_list(&s->sets[set], names, lens)
             : PRC_ENOMEM;
    if (rc == 0 && set == PRC_SUB_SHARDS) {
        rc = order_by_slot(names, lens, slots, k);
    }
    for (i = 0; rc == 0 && i < k; i = j) {
        for (j = i + 1;
             j < k && j - i < SUB_NAMES_PER_COMMAND && slots[j] == slots[i];
             j++) {
        }
        rc = prc__sub_put_command(&s->out, prc__sub_subscribe_cmd[set],
                                  (int)(j - i), names + i, lens + i);
        if (rc == 0 && owed) {
            rc = owe(s, (int)(j - i));
        }
    }
    free(names);
    free(lens);
    free(slots);
    return rc;
}

static void
expect_reply(prc_sub_t *s, int64_t now)
{
    if (s->expect_by == 0 && s->reply_ns > 0) {
        s->expect_by = now + s->reply_ns;
    }
}

/* Connected: queue the whole subscription in one write (with the PINGs
 * asked for meanwhile).  After an outage its confirmations are owed to
 * the resubscription, and the gap is reported once they are in. */
static int
ready(prc_sub_t *s)
{
    int64_t now = prc_now();
    int set, rc = 0, owed = s->down_since != 0;

    s->state = SUB_READY;
    atomic_fetch_add(&s->st_connects, 1);
    s->last_rx = now;
    s->expect_by = 0;
    prc_wbuf_shrink(&s->out, SUB_KEEP_OUT);
    s->resub_head = s->resub_n = 0;
    s->health_owed = 0;
    for (set = 0; rc == 0 && set < 3; set++) {
        rc = put_set(s, set, owed);
    }
    if (rc == 0 && s->monitor) {
        prc__sub_monitor_lines(s);
        rc = prc__sub_put_command(&s->out, "MONITOR", 0, NULL, NULL);
        if (rc == 0 && owed) {
            rc = owe(s, 1);
        }
    }
    if (rc == 0) {
        rc = prc_wbuf_append(&s->out, s->later.buf, s->later.len);
    }
    prc_wbuf_shrink(&s->later, SUB_KEEP_OUT);
    if (rc != 0) {
        return rc;
    }
    if (s->out.len > 0) {
        expect_reply(s, now);
    }
    if (!owed) {
        s->attempt = 0;
    } else if (s->resub_n > 0) {
        s->resubscribing = 1;
    } else {
        end_outage(s); /* unsubscribed from everything meanwhile */
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

static int
is_health_pong(const prc_sub_msg_t *m)
{
    static const char token[] = SUB_HEALTH_TOKEN;

    return m->kind == PRC_SUB_KIND_PONG && m->el[0].len == sizeof(token) - 1 &&
           memcmp(m->el[0].p, token, sizeof(token) - 1) == 0;
}

/* An error reply refusing a PING ("NOPERM ... the 'ping' command" for a
 * user whose ACL has none, "unknown command 'PING'" where it is renamed):
 * while a health PING is owed, it is that PING's answer, and as good a
 * sign of life as a PONG.  (A caller's own ping() refused the same way
 * while one is owed gets one of the two identical errors.) */
static int
refuses_ping(const prc_sub_msg_t *m)
{
    const char *p = m->el[0].p;
    size_t i, len = m->el[0].len;

    for (i = 0; p != NULL && i + 6 <= len; i++) {
        if (strncasecmp(p + i, "'ping'", 6) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A confirmation (or an error, which answers a whole command) came: does
 * it belong to the resubscription?  1: it does (read and dropped). */
static int
owed_to_resub(prc_sub_t *s, int is_error)
{
    if (s->resub_n == 0) {
        return 0;
    }
    if (is_error || --s->resub[s->resub_head] == 0) {
        s->resub_head++;
        s->resub_n--;
        if (s->resub_n == 0) {
            s->resub_head = 0;
        }
    }
    return !is_error;
}

/* The resubscription is confirmed: report the gap. */
static int
gap_ended(prc_sub_t *s)
{
    prc_sub_event_t *ev = &s->event;
    int i;

    ev->down_ns = prc_now() - s->down_since;
    ev->attempts = s->down_attempts;
    for (i = 0; i < 3; i++) {
        ev->counts[i] = (int64_t)s->sets[i].n;
    }
    snprintf(ev->reason, sizeof(ev->reason), "%s", s->reason);
    end_outage(s);
    atomic_fetch_add(&s->st_reconnects, 1);
    return PRC_SUB_RECONNECTED;
}

/* Frame what the buffer holds until a message for the caller: one
 * PRC_SUB_MESSAGE / _RECONNECTED, 0 for none, or an error (the connection
 * broken). */
static int
take_reply(prc_sub_t *s, int flags)
{
    prc_conn_t *c = s->conn;
    prc_sub_msg_t *m = &s->msg;

    for (;;) {
        int k;

        if (s->resubscribing && s->resub_n == 0) {
            return gap_ended(s);
        }
        k = prc_framer_scan(&c->framer, c->rbuf, c->rlen, 1);
        if (k < 0) {
            return prc__conn_error(c, k, 0, "%s", c->framer.errstr);
        }
        if (k == 0) {
            return 0;
        }
        if ((s->monitor ? prc__sub_parse_monitor : prc__sub_parse_push)(
                c->rbuf + c->framer.reply_start,
                c->framer.pos - c->framer.reply_start, m) != 0) {
            return prc__conn_error(c, PRC_EPROTO, 0,
                                   "a reply that is no pub/sub message on a "
                                   "subscribed connection");
        }
        switch (m->kind) {
        case PRC_SUB_KIND_MESSAGE:
        case PRC_SUB_KIND_PMESSAGE:
        case PRC_SUB_KIND_SMESSAGE:
        case PRC_SUB_KIND_COMMAND:
            atomic_fetch_add_explicit(&s->st_messages, 1,
                                      memory_order_relaxed);
            return PRC_SUB_MESSAGE;
        case PRC_SUB_KIND_PONG:
            if (is_health_pong(m)) {
                s->health_owed -= s->health_owed > 0;
                continue;
            }
            return PRC_SUB_MESSAGE;
        case PRC_SUB_KIND_ERROR:
            if (s->health_owed > 0 && refuses_ping(m)) {
                s->health_owed--;
                continue;
            }
            owed_to_resub(s, 1);
            return PRC_SUB_MESSAGE;
        case PRC_SUB_KIND_MONITOR:
            if (owed_to_resub(s, 0) || (flags & PRC_SUB_SKIP_CONFIRMS)) {
                continue;
            }
            return PRC_SUB_MESSAGE;
        case PRC_SUB_KIND_SSUBSCRIBE:
        case PRC_SUB_KIND_SUNSUBSCRIBE:
            s->counts[1] = m->el[1].num;
            break;
        default:
            s->counts[0] = m->el[1].num;
            break;
        }
        if ((m->kind == PRC_SUB_KIND_UNSUBSCRIBE ||
             m->kind == PRC_SUB_KIND_PUNSUBSCRIBE ||
             m->kind == PRC_SUB_KIND_SUNSUBSCRIBE) &&
            s->counts[0] == 0 && s->counts[1] == 0 && !prc__sub_has_names(s)) {
            s->active = 0; /* the last confirmation of an unsubscribe */
        }
        if (owed_to_resub(s, 0) || (flags & PRC_SUB_SKIP_CONFIRMS)) {
            continue;
        }
        return PRC_SUB_MESSAGE;
    }
}

/* Send what is queued, dropping what went: 0 when all of it went,
 * PRC_WANT_* when the socket is full, or an error (the connection
 * broken). */
static int
write_out(prc_sub_t *s)
{
    uint64_t sent = 0; /* a subscriber counts no bytes */
    int rc = prc_conn_stream_write(s->conn, &s->out, &sent);

    if (rc == PRC_DONE) {
        prc_wbuf_shrink(&s->out, SUB_KEEP_OUT);
    }
    return rc;
}

/* Nothing arrived in time: the connection is lost. */
static void
unanswered(prc_sub_t *s)
{
    char why[PRC_ERRSTR_LEN];

    snprintf(why, sizeof(why),
             "no reply from the server within %.3g s (health check)",
             (double)s->reply_ns / 1e9);
    lost(s, why);
}

int
prc__sub_step_locked(prc_sub_t *s, int mode, int flags, int flush_only,
                     prc_sub_io_t *io)
{
    /* A monitor sends no idle PINGs: each would show as a command. */
    int64_t health_ns = s->monitor ? 0 : s->health_ns;

    if (s->move_host != NULL) {
        apply_move(s);
    }
    for (;;) {
        int64_t now = prc_now();
        int rc;

        io->fd = -1;
        io->deadline = PRC_NO_DEADLINE;
        switch (s->state) {
        case SUB_IDLE:
            return flush_only || mode == PRC_SUB_BUFFERED ? PRC_SUB_NONE
                                                          : PRC_WANT_SLEEP;
        case SUB_BACKOFF:
            if (!prc__sub_has_names(s) && s->later.len == 0) {
                end_outage(s);
                s->state = SUB_IDLE;
                continue;
            }
            if (mode == PRC_SUB_BUFFERED ||
                (flush_only && now < s->retry_at)) {
                return PRC_SUB_NONE;
            }
            if (now < s->retry_at) {
                io->deadline = s->retry_at;
                return PRC_WANT_SLEEP;
            }
            s->conn = prc__conn_new(&s->cfg);
            if (s->conn == NULL) {
                lost(s, "out of memory for a connection");
                continue;
            }
            if (s->down_since != 0) {
                s->down_attempts++;
            }
            s->open_at = now;
            s->state = SUB_OPEN;
            continue;
        case SUB_OPEN:
            if (mode == PRC_SUB_BUFFERED) {
                return PRC_SUB_NONE;
            }
            rc = prc__conn_open_step(s->conn);
            if (rc > 0) {
                int64_t dl = s->connect_ns < 0 ? PRC_NO_DEADLINE
                                               : s->open_at + s->connect_ns;
                if (now >= dl) {
                    char why[PRC_ERRSTR_LEN];
                    snprintf(why, sizeof(why),
                             "connect timed out after %.3g s",
                             (double)s->connect_ns / 1e9);
                    lost(s, why);
                    continue;
                }
                io->fd = s->conn->fd;
                io->deadline = dl;
                return rc;
            }
            if (rc < 0) {
                lost_conn(s);
                continue;
            }
            if (ready(s) != 0) {
                lost(s, "out of memory for the resubscription");
            }
            continue;
        case SUB_READY:
            break;
        default:
            return PRC_SUB_NONE;
        }

        /* READY */
        if (s->conn->state == PRC__CONN_BROKEN) {
            lost_conn(s); /* a request's write failed */
            continue;
        }
        if (!flush_only) {
            rc = take_reply(s, flags);
            if (rc < 0) {
                lost_conn(s);
                continue;
            }
            if (rc > 0 || mode == PRC_SUB_BUFFERED) {
                return rc;
            }
        }
        rc = 0;
        if (s->out.len > 0) {
            rc = write_out(s);
            if (rc < 0) {
                lost_conn(s);
                continue;
            }
        }
        if (flush_only && rc == 0) {
            return PRC_SUB_NONE;
        }
        if (!flush_only) {
            ssize_t n;
            prc__conn_compact(s->conn);
            n = prc__conn_read_more(s->conn);
            if (n > 0) {
                s->last_rx = now;
                s->expect_by = 0;
                continue;
            }
            if (n != PRC__AGAIN_READ && n != PRC__AGAIN_WRITE) {
                lost_conn(s);
                continue;
            }
            if (n == PRC__AGAIN_WRITE) {
                rc = PRC_WANT_WRITE;
            }
        }
        if (s->expect_by != 0 && now >= s->expect_by) {
            unanswered(s);
            continue;
        }
        if (s->expect_by == 0 && health_ns > 0 &&
            now - s->last_rx >= health_ns) {
            const char *arg = SUB_HEALTH_TOKEN;
            size_t len = sizeof(SUB_HEALTH_TOKEN) - 1;
            if (prc__sub_put_command(&s->out, "PING", 1, &arg, &len) != 0) {
                return PRC_ENOMEM;
            }
            atomic_fetch_add(&s->st_health, 1);
            s->health_owed++;
            s->expect_by = now + (s->reply_ns > 0 ? s->reply_ns : health_ns);
            continue;
        }
        io->fd = s->conn->fd;
        io->deadline = s->expect_by != 0 ? s->expect_by
                       : health_ns > 0   ? s->last_rx + health_ns
                                         : PRC_NO_DEADLINE;
        return rc > 0 ? rc : PRC_WANT_READ;
    }
}

/* ---- requests ----------------------------------------------------------- */

void
prc__sub_want_connection_locked(prc_sub_t *s)
{
    if (s->state == SUB_IDLE) {
        s->state = SUB_BACKOFF;
        s->retry_at = 0;
    }
}

int
prc__sub_request_locked(prc_sub_t *s, const char *cmd, int n,
                        const char *const *names, const size_t *lens)
{
    int rc;

    if (s->state != SUB_READY) {
        prc__sub_want_connection_locked(s);
        return 0; /* sent with the sets once connected */
    }
    rc = prc__sub_put_command(&s->out, cmd, n, names, lens);
    if (rc != 0) {
        return rc;
    }
    expect_reply(s, prc_now());
    /* Never a wait: what the socket does not take now, the reader sends
     * (woken by the caller).  A failure breaks the connection, and the
     * reader finds it so.  Safe beside a reader: it polls, or builds its
     * message, without the mutex, and never writes then. */
    (void)write_out(s);
    return 0;
}
