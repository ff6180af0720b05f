/* sub.c - a subscriber: one connection of its own, outside any pool, its
 * subscribed sets, reconnect with backoff, resubscribe in one write, PING
 * on idle, and each gap reported once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prc_int.h"

/* The argument of our idle PINGs: their pongs are read and dropped. */
#define SUB_HEALTH_TOKEN "pyredisclient-health-check"
/* Names per (P|S)SUBSCRIBE of a resubscription (the server takes about a
 * million arguments; smaller commands let messages in between). */
#define SUB_NAMES_PER_COMMAND 10000
/* PINGs asked for while no connection is up, sent once one is. */
#define SUB_LATER_MAX (64 * 1024)
/* A flushed output buffer keeps at most this much. */
#define SUB_KEEP_OUT (64 * 1024)
/* Reconnects are at least this far apart, whatever retry_base says. */
#define SUB_MIN_BACKOFF_NS INT64_C(10000000)

/* ---- a set of names ----------------------------------------------------- */

typedef struct {
    char *name; /* owned; NULL: an empty slot */
    size_t len;
    uint64_t hash;
    uint64_t seq; /* the order names were added in */
} slot_t;

/* Open addressing with linear probing, at most half full. */
typedef struct {
    slot_t *slots; /* owned */
    size_t cap;    /* 0 or a power of two */
    size_t n;
    uint64_t next_seq;
} nameset_t;

static uint64_t
hash_name(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The slot holding the name, or the empty slot where it would go. */
static size_t
set_probe(const nameset_t *set, const char *p, size_t len, uint64_t h)
{
    size_t mask = set->cap - 1, i = (size_t)h & mask;

    while (set->slots[i].name != NULL) {
        const slot_t *sl = &set->slots[i];
        if (sl->hash == h && sl->len == len &&
            (len == 0 || memcmp(sl->name, p, len) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
    return i;
}

static int
set_grow(nameset_t *set)
{
    size_t oldcap = set->cap, cap = oldcap ? oldcap * 2 : 16, i;
    slot_t *old = set->slots, *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return PRC_ENOMEM;
    }
    set->slots = slots;
    set->cap = cap;
    for (i = 0; i < oldcap; i++) {
        if (old[i].name != NULL) {
            slots[set_probe(set, old[i].name, old[i].len, old[i].hash)] =
                old[i];
        }
    }
    free(old);
    return 0;
}

static int
set_add(nameset_t *set, const char *p, size_t len)
{
    uint64_t h = hash_name(p, len);
    size_t i;
    char *copy;

    if ((set->n + 1) * 2 > set->cap && set_grow(set) != 0) {
        return PRC_ENOMEM;
    }
    i = set_probe(set, p, len, h);
    if (set->slots[i].name != NULL) {
        return 0;
    }
    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        return PRC_ENOMEM;
    }
    if (len > 0) {
        memcpy(copy, p, len);
    }
    set->slots[i].name = copy;
    set->slots[i].len = len;
    set->slots[i].hash = h;
    set->slots[i].seq = set->next_seq++;
    set->n++;
    return 0;
}

static void
set_remove(nameset_t *set, const char *p, size_t len)
{
    size_t mask, i, j;

    if (set->n == 0) {
        return;
    }
    mask = set->cap - 1;
    i = set_probe(set, p, len, hash_name(p, len));
    if (set->slots[i].name == NULL) {
        return;
    }
    free(set->slots[i].name);
    set->slots[i].name = NULL;
    set->n--;
    /* Backward shift: move each later entry of the run into the hole
     * unless its home slot lies cyclically in (hole, its slot]. */
    for (j = (i + 1) & mask; set->slots[j].name != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)set->slots[j].hash & mask;
        int stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            set->slots[i] = set->slots[j];
            set->slots[j].name = NULL;
            i = j;
        }
    }
}

static void
set_clear(nameset_t *set)
{
    size_t i;

    for (i = 0; i < set->cap; i++) {
        free(set->slots[i].name);
        set->slots[i].name = NULL;
    }
    set->n = 0;
}

static void
set_free(nameset_t *set)
{
    set_clear(set);
    free(set->slots);
    set->slots = NULL;
    set->cap = 0;
}

/* ---- output: RESP commands, written in order ---------------------------- */

typedef struct {
    char *p; /* owned */
    size_t len;
    size_t off; /* bytes already written */
    size_t cap;
} obuf_t;

static int
obuf_reserve(obuf_t *b, size_t more)
{
    size_t cap;
    char *np;

    if (b->off == b->len) {
        b->off = b->len = 0;
    }
    if (more <= b->cap - b->len) {
        return 0;
    }
    if (more > SIZE_MAX / 2 - b->len) {
        return PRC_ETOOBIG;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        cap *= 2;
    }
    np = realloc(b->p, cap);
    if (np == NULL) {
        return PRC_ENOMEM;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

static void
obuf_reset(obuf_t *b)
{
    b->len = b->off = 0;
    if (b->cap > SUB_KEEP_OUT) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

/* "<type><n>\r\n" */
static int
obuf_head(obuf_t *b, char type, size_t n)
{
    int rc = obuf_reserve(b, 24);

    if (rc == 0) {
        b->len += (size_t)snprintf(b->p + b->len, 24, "%c%zu\r\n", type, n);
    }
    return rc;
}

static int
obuf_bulk(obuf_t *b, const char *p, size_t len)
{
    int rc = obuf_head(b, '$', len);

    if (rc == 0) {
        rc = obuf_reserve(b, len + 2);
    }
    if (rc == 0) {
        if (len > 0) {
            memcpy(b->p + b->len, p, len);
        }
        memcpy(b->p + b->len + len, "\r\n", 2);
        b->len += len + 2;
    }
    return rc;
}

/* Append "cmd names..." as one RESP command. */
static int
obuf_command(obuf_t *b, const char *cmd, int n, const char *const *names,
             const size_t *lens)
{
    int rc = obuf_head(b, '*', (size_t)n + 1), i;

    if (rc == 0) {
        rc = obuf_bulk(b, cmd, strlen(cmd));
    }
    for (i = 0; rc == 0 && i < n; i++) {
        rc = obuf_bulk(b, names[i], lens[i]);
    }
    return rc;
}

/* ---- the subscriber ----------------------------------------------------- */

enum { S_IDLE = 0, S_BACKOFF, S_OPEN, S_READY, S_CLOSED };

static const char *const subscribe_cmd[3] = {"SUBSCRIBE", "PSUBSCRIBE",
                                             "SSUBSCRIBE"};
static const char *const unsubscribe_cmd[3] = {"UNSUBSCRIBE", "PUNSUBSCRIBE",
                                               "SUNSUBSCRIBE"};

struct prc_sub_s {
    pthread_mutex_t mu;
    prc_conn_cfg_t cfg; /* owned; fd_mu NULL: this file locks */
    int64_t connect_ns; /* < 0: no limit */
    int64_t reply_ns;   /* something must arrive this soon after a
                           request; 0: no limit */
    int64_t health_ns;  /* idle PING interval; 0: none */
    double retry_base;  /* seconds */
    double retry_cap;   /* seconds */
    uint64_t fork_gen;  /* the process it belongs to */
    _Atomic int forked; /* a child's cleanup ran */
    _Atomic int notice; /* a loss to log (reason) */

    /* Everything below: mu. */
    int state;         /* S_* */
    int closed;        /* prc_sub_close ran */
    int reader;        /* a caller holds the reader's turn */
    int waiting;       /* ... and is blocked in poll: wake it */
    int wake[2];       /* pipe that wakes the reader; -1 until needed */
    prc_conn_t *conn;  /* owned; NULL unless OPEN or READY */
    nameset_t sets[3]; /* PRC_SUB_CHANNELS, _PATTERNS, _SHARDS */
    obuf_t out;        /* for the connection, in order */
    obuf_t later;      /* PINGs asked for while not connected */
    int64_t counts[2]; /* the server's count in the last (un)subscribe
                          confirmation: [0] channels and patterns,
                          [1] shard channels */
    int active;        /* subscribed since a subscribe request, until an
                          unsubscribe confirmation leaves nothing (as
                          redis-py's subscribed) */
    int64_t last_rx;   /* bytes last arrived (or the connect) */
    int64_t expect_by; /* bytes must arrive by then; 0: none awaited */
    int64_t retry_at;  /* BACKOFF: connect again then */
    int64_t open_at;   /* OPEN: started then */
    int attempt;       /* backoff step */
    /* The outage: from the loss of a subscribed connection until the
     * resubscription is confirmed. */
    int64_t down_since; /* 0: none */
    int down_attempts;  /* connects tried since */
    char reason[PRC_ERRSTR_LEN];
    int resubscribing; /* the confirmations below end an outage */
    int *resub;        /* owned FIFO: confirmations each command of the
                          resubscription still owes */
    int resub_head;
    int resub_n;
    int resub_cap;

    /* Written by the reader (its turn held), read by it. */
    prc_sub_msg_t msg;
    prc_sub_event_t event;

    _Atomic int64_t st_messages, st_connects, st_disconnects, st_reconnects,
        st_health;
};

const char *
prc_sub_kind_name(int kind)
{
    static const char *const names[PRC_SUB_KIND_COUNT] = {
#define PRC_SUB_KIND_NAME(name, str) str,
        PRC_SUB_KIND_MAP(PRC_SUB_KIND_NAME)
#undef PRC_SUB_KIND_NAME
    };

    return kind >= 0 && kind < PRC_SUB_KIND_COUNT ? names[kind] : NULL;
}

static int64_t
seconds_ns(double s)
{
    return (int64_t)(s * 1e9);
}

prc_sub_t *
prc_sub_new(const prc_opts_t *o, int *err, char *errbuf, size_t errlen)
{
    const char *bad = prc__opts_bad(o);
    prc_sub_t *s;

    *err = 0;
    if (bad != NULL) {
        *err = PRC_EINVAL;
        snprintf(errbuf, errlen, "invalid option %s", bad);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *err = PRC_ENOMEM;
        snprintf(errbuf, errlen, "out of memory creating a subscriber");
        return NULL;
    }
    *err = prc__conn_cfg_init(&s->cfg, o, errbuf, errlen);
    if (*err != 0) {
        free(s);
        return NULL;
    }
    s->cfg.fd_mu = NULL;
    s->connect_ns =
        o->connect_timeout < 0 ? -1 : seconds_ns(o->connect_timeout);
    s->health_ns = o->health_check_interval > 0
                       ? seconds_ns(o->health_check_interval)
                       : 0;
    s->reply_ns =
        o->socket_timeout >= 0 ? seconds_ns(o->socket_timeout) : s->health_ns;
    if (o->socket_timeout >= 0 && s->reply_ns < 1000000) {
        s->reply_ns = 1000000; /* at least 1 ms: 0 would lose every reply */
    }
    s->retry_base = o->retry_base;
    s->retry_cap = o->retry_cap;
    s->wake[0] = s->wake[1] = -1;
    s->state = S_IDLE;
    pthread_mutex_init(&s->mu, NULL);
    prc__fork_init();
    s->fork_gen = prc_fork_generation();
    return s;
}

/* Called in a child of fork: the parent's subscriber.  Close our copies
 * of its descriptors without sending anything, and never lock the mutex
 * (a thread that no longer exists may hold it).  The connection's memory
 * is left alone: a vanished thread may have been changing it.  1 in a
 * child (every call then fails), 0 in the process it belongs to. */
static int
in_child(prc_sub_t *s)
{
    int expected = 0;

    if (s->fork_gen == prc_fork_generation()) {
        return 0;
    }
    if (atomic_compare_exchange_strong(&s->forked, &expected, 1)) {
        if (s->conn != NULL && s->conn->fd >= 0) {
            close(s->conn->fd);
            s->conn->fd = -1;
        }
        s->conn = NULL;
        if (s->wake[0] >= 0) {
            close(s->wake[0]);
            close(s->wake[1]);
            s->wake[0] = s->wake[1] = -1;
        }
        s->closed = 1;
        s->state = S_CLOSED;
    }
    return 1;
}

static int
child_error(prc_sub_io_t *io)
{
    snprintf(io->errstr, sizeof(io->errstr),
             "this subscription belongs to the parent process: it does not "
             "survive fork(); subscribe again in the child");
    return PRC_ECLOSED;
}

/* Close the connection (orderly: a TLS close_notify) and the wake pipe:
 * the end, by the reader's turn or when nobody holds it. */
static void
teardown_locked(prc_sub_t *s)
{
    prc__conn_free(s->conn, 1);
    s->conn = NULL;
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
        s->wake[0] = s->wake[1] = -1;
    }
    s->state = S_CLOSED;
}

void
prc_sub_free(prc_sub_t *s)
{
    int i;

    if (s == NULL) {
        return;
    }
    if (!in_child(s)) {
        teardown_locked(s); /* the caller's: nobody else uses it now */
        pthread_mutex_destroy(&s->mu);
    }
    for (i = 0; i < 3; i++) {
        set_free(&s->sets[i]);
    }
    free(s->out.p);
    free(s->later.p);
    free(s->resub);
    prc__conn_cfg_free(&s->cfg);
    free(s);
}

/* Wake a reader blocked in poll (mu held). */
static void
wake_locked(prc_sub_t *s)
{
    if (s->waiting && s->wake[1] >= 0) {
        ssize_t n = write(s->wake[1], "x", 1);
        (void)n; /* a full pipe wakes it just as well */
    }
}

void
prc_sub_close(prc_sub_t *s)
{
    if (in_child(s)) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    if (s->reader) {
        wake_locked(s); /* it tears down when it gives its turn back */
    } else {
        teardown_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- connection loss and recovery --------------------------------------- */

static int
nsets(const prc_sub_t *s)
{
    return s->sets[0].n > 0 || s->sets[1].n > 0 || s->sets[2].n > 0;
}

static void
end_outage(prc_sub_t *s)
{
    s->down_since = 0;
    s->down_attempts = 0;
    s->attempt = 0;
    s->resubscribing = 0;
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

    prc__conn_free(s->conn, 0);
    s->conn = NULL;
    atomic_fetch_add(&s->st_disconnects, 1);
    s->counts[0] = s->counts[1] = 0;
    s->resub_head = s->resub_n = 0;
    s->resubscribing = 0;
    s->expect_by = 0;
    obuf_reset(&s->out);
    if (!nsets(s)) {
        /* Nothing subscribed, nothing missed: connect again when asked. */
        s->active = 0;
        obuf_reset(&s->later);
        end_outage(s);
        s->state = S_IDLE;
        return;
    }
    if (s->down_since == 0) {
        s->down_since = now;
        snprintf(s->reason, sizeof(s->reason), "%s", why);
        atomic_store(&s->notice, 1);
    }
    /* Equal jitter: each pause at least half its ceiling. */
    pause = seconds_ns(prc_backoff(s->attempt, s->retry_base, s->retry_cap,
                                   0.5 + prc_random() / 2));
    if (s->attempt < 60) {
        s->attempt++;
    }
    s->retry_at =
        now + (pause > SUB_MIN_BACKOFF_NS ? pause : SUB_MIN_BACKOFF_NS);
    s->state = S_BACKOFF;
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

/* A name of a set in the order it is resubscribed: shard channels by hash
 * slot (a cluster refuses an SSUBSCRIBE whose channels span slots), then
 * everything in the order it was added. */
typedef struct {
    const slot_t *name; /* borrowed from the set */
    int slot;           /* 0 outside the shard set */
} ordered_t;

static int
by_slot_seq(const void *a, const void *b)
{
    const ordered_t *x = a, *y = b;

    if (x->slot != y->slot) {
        return x->slot < y->slot ? -1 : 1;
    }
    return x->name->seq < y->name->seq ? -1 : x->name->seq > y->name->seq;
}

/* Queue the subscriptions of one set in the order they were made,
 * SUB_NAMES_PER_COMMAND per command (shard channels: one command per hash
 * slot); with `owed`, each command's confirmations go on the resub FIFO. */
static int
put_set(prc_sub_t *s, int set, int owed)
{
    const nameset_t *ns = &s->sets[set];
    ordered_t *order;
    size_t i, j, k = 0;
    int rc = 0;

    if (ns->n == 0) {
        return 0;
    }
    order = malloc(ns->n * sizeof(*order));
    if (order == NULL) {
        return PRC_ENOMEM;
    }
    for (i = 0; i < ns->cap; i++) {
        const slot_t *sl = &ns->slots[i];
        if (sl->name != NULL) {
            order[k].name = sl;
            order[k++].slot =
                set == PRC_SUB_SHARDS ? prc_key_slot(sl->name, sl->len) : 0;
        }
    }
    qsort(order, k, sizeof(*order), by_slot_seq);
    for (i = 0; rc == 0 && i < k; i = j) {
        size_t n;

        for (j = i + 1; j < k && j - i < SUB_NAMES_PER_COMMAND &&
                        order[j].slot == order[i].slot;
             j++) {
        }
        n = j - i;
        rc = obuf_head(&s->out, '*', n + 1);
        if (rc == 0) {
            rc = obuf_bulk(&s->out, subscribe_cmd[set],
                           strlen(subscribe_cmd[set]));
        }
        if (rc == 0 && owed) {
            rc = owe(s, (int)n);
        }
        for (; rc == 0 && n > 0; n--, i++) {
            rc = obuf_bulk(&s->out, order[i].name->name, order[i].name->len);
        }
    }
    free(order);
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

    s->state = S_READY;
    atomic_fetch_add(&s->st_connects, 1);
    s->last_rx = now;
    s->expect_by = 0;
    obuf_reset(&s->out);
    s->resub_head = s->resub_n = 0;
    for (set = 0; rc == 0 && set < 3; set++) {
        rc = put_set(s, set, owed);
    }
    if (rc == 0 && s->later.len > 0) {
        rc = obuf_reserve(&s->out, s->later.len);
        if (rc == 0) {
            memcpy(s->out.p + s->out.len, s->later.p, s->later.len);
            s->out.len += s->later.len;
        }
    }
    obuf_reset(&s->later);
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

/* An integer line [p, end) that the framer checked. */
static int64_t
line_int(const char *p, const char *end)
{
    int neg = p < end && *p == '-';
    uint64_t v = 0;

    for (p += neg; p < end; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

/* One flat element at b[*pos] of a framed reply: 0 and *pos past it, or
 * -1 for an aggregate. */
static int
elem_at(const char *b, size_t len, size_t *pos, prc_sub_elem_t *e)
{
    const char *line = b + *pos + 1;
    const char *nl = memchr(line, '\n', len - *pos - 1);
    const char *eol;

    if (nl == NULL) {
        return -1;
    }
    eol = nl - 1; /* its CR */
    e->type = (unsigned char)b[*pos];
    e->p = NULL;
    e->len = 0;
    e->num = 0;
    *pos = (size_t)(nl + 1 - b);
    switch (e->type) {
    case '$': {
        int64_t n = line_int(line, eol);
        if (n >= 0) {
            e->p = b + *pos;
            e->len = (size_t)n;
            *pos += (size_t)n + 2;
        }
        return 0;
    }
    case ':':
        e->num = line_int(line, eol);
        return 0;
    case '+':
    case '-':
        e->p = line;
        e->len = (size_t)(eol - line);
        return 0;
    default:
        return -1;
    }
}

/* Does the message have n elements of these types ("$$", "$:", ...)?
 * A '$' must not be nil unless `nil_ok`. */
static int
shaped(const prc_sub_msg_t *m, const char *types, int nil_ok)
{
    int i;

    if ((size_t)m->n != strlen(types)) {
        return 0;
    }
    for (i = 0; i < m->n; i++) {
        if (m->el[i].type != types[i] ||
            (types[i] == '$' && m->el[i].p == NULL && !nil_ok)) {
            return 0;
        }
    }
    return 1;
}

/* Split a framed reply b[0, len) pushed on a subscribed connection: 0 with
 * m filled, or -1 for anything that is no pub/sub reply. */
static int
parse_push(const char *b, size_t len, prc_sub_msg_t *m)
{
    static const char pong[] = "PONG";
    prc_sub_elem_t kind;
    size_t pos = 0;
    int64_t n;
    int i;

    m->n = 0;
    if (b[0] != '*') {
        if (elem_at(b, len, &pos, &m->el[0]) != 0) {
            return -1;
        }
        m->n = 1;
        switch (m->el[0].type) {
        case '$': /* PING's reply while subscribed to nothing */
            m->kind = PRC_SUB_KIND_PONG;
            return m->el[0].p != NULL ? 0 : -1;
        case '+':
            if (m->el[0].len != 4 || memcmp(m->el[0].p, pong, 4) != 0) {
                return -1;
            }
            m->kind = PRC_SUB_KIND_PONG;
            m->el[0].type = '$';
            m->el[0].len = 0; /* as redis-py: PING without a message */
            return 0;
        case '-':
            m->kind = PRC_SUB_KIND_ERROR;
            return 0;
        default:
            return -1;
        }
    }
    pos = (size_t)((const char *)memchr(b, '\n', len) + 1 - b);
    n = line_int(b + 1, b + pos - 2);
    if (n < 2 || n > 4 || elem_at(b, len, &pos, &kind) != 0 ||
        kind.type != '$' || kind.p == NULL) {
        return -1;
    }
    for (i = 0; i < (int)n - 1; i++) {
        if (elem_at(b, len, &pos, &m->el[i]) != 0) {
            return -1;
        }
    }
    m->n = (int)n - 1;
    for (m->kind = 0; m->kind < PRC_SUB_KIND_ERROR; m->kind++) {
        const char *name = prc_sub_kind_name(m->kind);
        if (strlen(name) == kind.len && memcmp(name, kind.p, kind.len) == 0) {
            break;
        }
    }
    switch (m->kind) {
    case PRC_SUB_KIND_MESSAGE:
    case PRC_SUB_KIND_SMESSAGE:
        return shaped(m, "$$", 0) ? 0 : -1;
    case PRC_SUB_KIND_PMESSAGE:
        return shaped(m, "$$$", 0) ? 0 : -1;
    case PRC_SUB_KIND_PONG:
        return shaped(m, "$", 0) ? 0 : -1;
    case PRC_SUB_KIND_ERROR:
        return -1;
    default: /* the (un)subscribe confirmations */
        return shaped(m, "$:", 1) ? 0 : -1;
    }
}

static int
is_health_pong(const prc_sub_msg_t *m)
{
    static const char token[] = SUB_HEALTH_TOKEN;

    return m->kind == PRC_SUB_KIND_PONG && m->el[0].len == sizeof(token) - 1 &&
           memcmp(m->el[0].p, token, sizeof(token) - 1) == 0;
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
        if (parse_push(c->rbuf + c->framer.reply_start,
                       c->framer.pos - c->framer.reply_start, m) != 0) {
            return prc__conn_error(c, PRC_EPROTO, 0,
                                   "a reply that is no pub/sub message on a "
                                   "subscribed connection");
        }
        switch (m->kind) {
        case PRC_SUB_KIND_MESSAGE:
        case PRC_SUB_KIND_PMESSAGE:
        case PRC_SUB_KIND_SMESSAGE:
            atomic_fetch_add_explicit(&s->st_messages, 1,
                                      memory_order_relaxed);
            return PRC_SUB_MESSAGE;
        case PRC_SUB_KIND_PONG:
            if (is_health_pong(m)) {
                continue;
            }
            return PRC_SUB_MESSAGE;
        case PRC_SUB_KIND_ERROR:
            owed_to_resub(s, 1);
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
            s->counts[0] == 0 && s->counts[1] == 0 && !nsets(s)) {
            s->active = 0; /* the last confirmation of an unsubscribe */
        }
        if (owed_to_resub(s, 0) || (flags & PRC_SUB_SKIP_CONFIRMS)) {
            continue;
        }
        return PRC_SUB_MESSAGE;
    }
}

/* Send what is queued: 0 when all of it went, PRC_WANT_* when the socket
 * is full, or an error (the connection broken). */
static int
write_out(prc_sub_t *s)
{
    prc_conn_t *c = s->conn;

    while (s->out.off < s->out.len) {
        ssize_t n =
            c->tp->write(c, s->out.p + s->out.off, s->out.len - s->out.off);
        if (n == PRC__AGAIN_WRITE) {
            return PRC_WANT_WRITE;
        }
        if (n == PRC__AGAIN_READ) {
            return PRC_WANT_READ;
        }
        if (n < 0) {
            return (int)n;
        }
        s->out.off += (size_t)n;
    }
    obuf_reset(&s->out);
    return 0;
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

/*
 * Advance the subscriber as far as it goes without waiting (mu held, the
 * reader's turn held): connect, resubscribe, send, read and frame, PING
 * on idle, and back off after a loss.  `mode` PRC_SUB_BUFFERED frames
 * buffered bytes only; `flush_only` connects and sends but frames
 * nothing.  Returns PRC_SUB_MESSAGE / _RECONNECTED, PRC_SUB_NONE, a
 * PRC_WANT_* with io->fd and io->deadline, or PRC_ENOMEM.
 */
static int
step_locked(prc_sub_t *s, int mode, int flags, int flush_only,
            prc_sub_io_t *io)
{
    for (;;) {
        int64_t now = prc_now();
        int rc;

        io->fd = -1;
        io->deadline = PRC_NO_DEADLINE;
        switch (s->state) {
        case S_IDLE:
            return flush_only || mode == PRC_SUB_BUFFERED ? PRC_SUB_NONE
                                                          : PRC_WANT_SLEEP;
        case S_BACKOFF:
            if (!nsets(s) && s->later.len == 0) {
                end_outage(s);
                s->state = S_IDLE;
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
            s->state = S_OPEN;
            continue;
        case S_OPEN:
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
        case S_READY:
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
        if (s->out.off < s->out.len) {
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
        if (s->expect_by == 0 && s->health_ns > 0 &&
            now - s->last_rx >= s->health_ns) {
            const char *arg = SUB_HEALTH_TOKEN;
            size_t len = sizeof(SUB_HEALTH_TOKEN) - 1;
            if (obuf_command(&s->out, "PING", 1, &arg, &len) != 0) {
                return PRC_ENOMEM;
            }
            atomic_fetch_add(&s->st_health, 1);
            s->expect_by =
                now + (s->reply_ns > 0 ? s->reply_ns : s->health_ns);
            continue;
        }
        io->fd = s->conn->fd;
        io->deadline = s->expect_by != 0  ? s->expect_by
                       : s->health_ns > 0 ? s->last_rx + s->health_ns
                                          : PRC_NO_DEADLINE;
        return rc > 0 ? rc : PRC_WANT_READ;
    }
}

/* ---- waiting ------------------------------------------------------------ */

static int
make_wake(prc_sub_t *s)
{
    int fds[2], i;

    if (pipe(fds) != 0) {
        return -1;
    }
    for (i = 0; i < 2; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
    }
    s->wake[0] = fds[0];
    s->wake[1] = fds[1];
    return 0;
}

/* Block in poll (mu released) until the wait a step asked for ends, the
 * deadline passes or a request or close wakes us.  0, or PRC_EINTR. */
static int
wait_locked(prc_sub_t *s, int want, const prc_sub_io_t *io, int64_t deadline)
{
    struct pollfd pfd[2];
    int64_t until = io->deadline < deadline ? io->deadline : deadline, left;
    int nfds = 0, ms, rc, saved;
    char drain[64];

    if (s->wake[0] < 0) {
        (void)make_wake(s); /* without one, wait in slices below */
    }
    if (io->fd >= 0) {
        pfd[nfds].fd = io->fd;
        pfd[nfds].events = want == PRC_WANT_WRITE ? POLLOUT : POLLIN;
        pfd[nfds].revents = 0;
        nfds++;
    }
    if (s->wake[0] >= 0) {
        pfd[nfds].fd = s->wake[0];
        pfd[nfds].events = POLLIN;
        pfd[nfds].revents = 0;
        nfds++;
    }
    left = until == PRC_NO_DEADLINE ? -1 : until - prc_now();
    if (until != PRC_NO_DEADLINE && left <= 0) {
        return 0;
    }
    /* Round up, so that we never wake before the deadline and spin. */
    ms = left < 0 ? -1
         : left > (int64_t)2000000000 * 1000000
             ? 2000000000
             : (int)((left + 999999) / 1000000);
    if (s->wake[0] < 0 && (ms < 0 || ms > 50)) {
        ms = 50;
    }
    s->waiting = 1;
    pthread_mutex_unlock(&s->mu);
    rc = poll(pfd, (nfds_t)nfds, ms);
    saved = errno;
    pthread_mutex_lock(&s->mu);
    s->waiting = 0;
    if (s->wake[0] >= 0) {
        while (read(s->wake[0], drain, sizeof(drain)) > 0) {
        }
    }
    return rc < 0 && saved == EINTR ? PRC_EINTR : 0;
}

/* Take the reader's turn (mu held): 0, PRC_SUB_BUSY or PRC_ECLOSED. */
static int
enter_locked(prc_sub_t *s, prc_sub_io_t *io)
{
    if (s->closed) {
        snprintf(io->errstr, sizeof(io->errstr),
                 "this subscription is closed");
        return PRC_ECLOSED;
    }
    if (s->reader) {
        return PRC_SUB_BUSY;
    }
    s->reader = 1;
    return 0;
}

/* Give the reader's turn back (mu held); a close meanwhile ends it all. */
static void
leave_locked(prc_sub_t *s)
{
    s->reader = 0;
    if (s->closed) {
        teardown_locked(s);
    }
}

static void
io_init(prc_sub_io_t *io)
{
    io->fd = -1;
    io->deadline = PRC_NO_DEADLINE;
    io->errstr[0] = '\0';
}

/* prc_sub_read and prc_sub_flush: one loop, reading or only sending. */
static int
drive(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io,
      int flush_only)
{
    int flags = mode & PRC_SUB_SKIP_CONFIRMS, rc;

    mode &= PRC_SUB_MODE_MASK;
    io_init(io);
    if (in_child(s)) {
        return child_error(io);
    }
    pthread_mutex_lock(&s->mu);
    rc = enter_locked(s, io);
    if (rc != 0) {
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    for (;;) {
        rc = step_locked(s, mode == PRC_SUB_WAIT ? PRC_SUB_STEP : mode, flags,
                         flush_only, io);
        if (rc == PRC_SUB_MESSAGE || rc == PRC_SUB_RECONNECTED) {
            pthread_mutex_unlock(&s->mu); /* the turn is kept */
            return rc;
        }
        if (rc == PRC_ENOMEM) {
            snprintf(io->errstr, sizeof(io->errstr),
                     "out of memory queueing a health check");
        }
        if (rc <= 0 || mode != PRC_SUB_WAIT) {
            break;
        }
        if (deadline != PRC_NO_DEADLINE && prc_now() >= deadline) {
            rc = PRC_SUB_NONE;
            break;
        }
        rc = wait_locked(s, rc, io, deadline);
        if (rc != 0) {
            break;
        }
        if (s->closed) {
            rc = PRC_SUB_NONE; /* closed while we waited */
            break;
        }
    }
    leave_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_read(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io)
{
    return drive(s, mode, deadline, io, 0);
}

int
prc_sub_flush(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io)
{
    return drive(s, mode, deadline, io, 1);
}

void
prc_sub_message(const prc_sub_t *s, prc_sub_msg_t *m)
{
    *m = s->msg;
}

void
prc_sub_event(const prc_sub_t *s, prc_sub_event_t *ev)
{
    *ev = s->event;
}

void
prc_sub_release(prc_sub_t *s)
{
    if (in_child(s)) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    leave_locked(s);
    pthread_mutex_unlock(&s->mu);
}

/* ---- requests ----------------------------------------------------------- */

/* Queue a command for the connection (mu held): sent now when it can go
 * without waiting, else by the reader; a connection comes up first when
 * none is (IDLE). */
/* Something must be sent: connect now if nothing is connected or being
 * connected (mu held). */
static void
want_connection_locked(prc_sub_t *s)
{
    if (s->state == S_IDLE) {
        s->state = S_BACKOFF;
        s->retry_at = 0;
    }
}

static int
request_locked(prc_sub_t *s, const char *cmd, int n, const char *const *names,
               const size_t *lens)
{
    int rc;

    if (s->state != S_READY) {
        want_connection_locked(s);
        return 0; /* sent with the sets once connected */
    }
    rc = obuf_command(&s->out, cmd, n, names, lens);
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

static int
check_set(int set)
{
    return set >= PRC_SUB_CHANNELS && set <= PRC_SUB_SHARDS;
}

int
prc_sub_subscribe(prc_sub_t *s, int set, int n, const char *const *names,
                  const size_t *lens)
{
    int i, rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    if (!check_set(set) || n < 1) {
        return PRC_EINVAL;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    }
    for (i = 0; rc == 0 && i < n; i++) {
        rc = set_add(&s->sets[set], names[i], lens[i]);
    }
    s->active |= rc == 0;
    if (rc == 0) {
        rc = request_locked(s, subscribe_cmd[set], n, names, lens);
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_unsubscribe(prc_sub_t *s, int set, int n, const char *const *names,
                    const size_t *lens)
{
    int i, rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    if (!check_set(set) || n < 0) {
        return PRC_EINVAL;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    } else if (n == 0) {
        set_clear(&s->sets[set]);
    }
    for (i = 0; rc == 0 && i < n; i++) {
        set_remove(&s->sets[set], names[i], lens[i]);
    }
    if (rc == 0 && s->state == S_READY) {
        rc = request_locked(s, unsubscribe_cmd[set], n, names, lens);
    } else if (!nsets(s)) {
        s->active = 0; /* not connected: no confirmation will come */
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_ping(prc_sub_t *s, const char *msg, size_t len)
{
    int rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    } else if (s->state == S_READY) {
        rc = request_locked(s, "PING", msg != NULL, &msg, &len);
    } else if (s->later.len < SUB_LATER_MAX) {
        /* Sent once connected (a ping that cannot go yet is dropped
         * when the connection is lost with nothing subscribed). */
        rc = obuf_command(&s->later, "PING", msg != NULL, &msg, &len);
        want_connection_locked(s);
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- state -------------------------------------------------------------- */

int
prc_sub_subscribed(prc_sub_t *s)
{
    int r;

    if (in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    r = !s->closed && (nsets(s) || s->active);
    pthread_mutex_unlock(&s->mu);
    return r;
}

int
prc_sub_count(prc_sub_t *s, int set)
{
    int n;

    if (!check_set(set) || in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    n = (int)s->sets[set].n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int
prc_sub_take_notice(prc_sub_t *s, char *buf, size_t len)
{
    if (!atomic_load_explicit(&s->notice, memory_order_relaxed) ||
        in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->reason);
    atomic_store(&s->notice, 0);
    pthread_mutex_unlock(&s->mu);
    return 1;
}

void
prc_sub_stats(prc_sub_t *s, prc_sub_stats_t *out)
{
    out->messages = atomic_load(&s->st_messages);
    out->connects = atomic_load(&s->st_connects);
    out->disconnects = atomic_load(&s->st_disconnects);
    out->reconnects = atomic_load(&s->st_reconnects);
    out->health_checks = atomic_load(&s->st_health);
}
