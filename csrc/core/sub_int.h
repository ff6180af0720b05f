/* sub_int.h - the subscriber's internals, shared by sub.c (requests,
 * waiting, the reader's turn), subconn.c (its connection), subset.c,
 * subparse.c and the C tests. */
#ifndef PRC_SUB_INT_H
#define PRC_SUB_INT_H

#include "prc_int.h"

/* ---- a set of names (subset.c) ------------------------------------------ */

/* One slot of a name set. */
typedef struct prc_name_slot_s {
    char *name; /* owned; NULL: an empty slot */
    size_t len;
    uint64_t hash;
    uint64_t seq; /* the order names were added in */
} prc_name_slot_t;

/*
 * The channels (or patterns, or shard channels) a subscriber is subscribed
 * to: each name copied, with the order they were added in.  Open
 * addressing with linear probing, at most half full.  All zero is an
 * empty set.  Not thread-safe: the subscriber's mutex guards it.
 */
typedef struct prc_nameset_s {
    prc_name_slot_t *slots; /* owned */
    size_t cap;             /* 0 or a power of two */
    size_t n;
    uint64_t next_seq;
} prc_nameset_t;

/* Add a copy of p[0, len) (any bytes, empty too) unless it is there:
 * 0, or PRC_ENOMEM with the set unchanged. */
int prc__nameset_add(prc_nameset_t *set, const char *p, size_t len);
/* Remove the name if it is there. */
void prc__nameset_remove(prc_nameset_t *set, const char *p, size_t len);
/* Remove every name; the table is kept. */
void prc__nameset_clear(prc_nameset_t *set);
/* Free the names and the table, leaving an empty set. */
void prc__nameset_free(prc_nameset_t *set);
/*
 * Fill names[0, set->n) and lens with the names in the order they were
 * added: pointers into the set (borrowed: valid until it changes).
 * Returns 0, or PRC_ENOMEM (nothing filled).
 */
int prc__nameset_list(const prc_nameset_t *set, const char **names,
                      size_t *lens);

/* ---- pushed replies (subparse.c) ---------------------------------------- */

/*
 * Split a reply b[0, len) that prc_framer_scan framed on a subscribed
 * connection into m (pointers into b): 0, or -1 for anything that is no
 * pub/sub message, confirmation, pong or error line.
 */
int prc__sub_parse_push(const char *b, size_t len, prc_sub_msg_t *m);
/* The same on a monitoring connection, where a status line other than
 * PONG is MONITOR's +OK or a command the server ran. */
int prc__sub_parse_monitor(const char *b, size_t len, prc_sub_msg_t *m);

/* ---- the subscriber (sub.c, subconn.c) --------------------------------- */

/* Its connection: none (connect when something must be sent), waiting to
 * connect again, connecting, ready; or closed for good. */
enum { SUB_IDLE = 0, SUB_BACKOFF, SUB_OPEN, SUB_READY, SUB_CLOSED };

/* A subscriber (prc.h).  It owns its connection, config, sets, buffers and
 * wake pipe; its mutex guards what the comments say. */
struct prc_sub_s {
    pthread_mutex_t mu;
    prc_conn_cfg_t cfg; /* owned; fd_mu NULL: these files lock */
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
    int state;             /* SUB_* */
    int closed;            /* prc_sub_close ran */
    int reader;            /* a caller holds the reader's turn */
    int waiting;           /* ... and is blocked in poll: wake it */
    int wake[2];           /* pipe that wakes the reader; -1 until needed */
    prc_conn_t *conn;      /* owned; NULL unless OPEN or READY */
    prc_nameset_t sets[3]; /* PRC_SUB_CHANNELS, _PATTERNS, _SHARDS */
    prc_wbuf_t out;        /* for the connection, in order */
    prc_wbuf_t later;      /* PINGs asked for while not connected */
    int64_t counts[2];     /* the server's count in the last (un)subscribe
                              confirmation: [0] channels and patterns,
                              [1] shard channels */
    int active;            /* subscribed since a subscribe request, until an
                              unsubscribe confirmation leaves nothing (as
                              redis-py's subscribed) */
    int monitor;           /* prc_sub_monitor ran: MONITOR on every
                              connection, kept until closed */
    int64_t last_rx;       /* bytes last arrived (or the connect) */
    int64_t expect_by;     /* bytes must arrive by then; 0: none awaited */
    int64_t retry_at;      /* BACKOFF: connect again then */
    int health_owed;       /* health PINGs sent on the connection and not
                              answered yet */
    int64_t open_at;       /* OPEN: started then */
    int attempt;           /* backoff step */
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
    /* A move asked for (prc_sub_move), applied by the reader's next step:
     * the new host (owned until then) and port; NULL: none. */
    char *move_host;
    int move_port;

    /* Written by the reader (its turn held), read by it. */
    prc_sub_msg_t msg;
    prc_sub_event_t event;

    _Atomic int64_t st_messages, st_connects, st_disconnects, st_reconnects,
        st_health;
};

/* The commands of each set (PRC_SUB_CHANNELS ...). */
extern const char *const prc__sub_subscribe_cmd[3];
extern const char *const prc__sub_unsubscribe_cmd[3];

/* Raise the connection's line limit for MONITOR's lines (mu held). */
void prc__sub_monitor_lines(prc_sub_t *s);
/* Anything in any of the sets, or monitoring? (mu held) */
int prc__sub_has_names(const prc_sub_t *s);
/* Append "cmd names..." as one command (the core's writer): 0, or
 * PRC_ENOMEM / PRC_ETOOBIG with nothing appended. */
int prc__sub_put_command(prc_wbuf_t *wb, const char *cmd, int n,
                         const char *const *names, const size_t *lens);
/* Something must be sent: connect now if nothing is connected or being
 * connected (mu held). */
void prc__sub_want_connection_locked(prc_sub_t *s);
/* Queue a command for the connection (mu held): sent now as far as the
 * socket takes it without waiting, the rest by the reader.  With no
 * connection ready nothing is queued: one is asked for, and the sets
 * (already changed) go out once it is.  0, or PRC_ENOMEM / PRC_ETOOBIG. */
int prc__sub_request_locked(prc_sub_t *s, const char *cmd, int n,
                            const char *const *names, const size_t *lens);
/*
 * Advance the subscriber as far as it goes without waiting (mu held, the
 * reader's turn held): connect, resubscribe, send, read and frame, PING
 * on idle, and back off after a loss.  `mode` PRC_SUB_BUFFERED frames
 * buffered bytes only; `flush_only` connects and sends but frames
 * nothing.  Returns PRC_SUB_MESSAGE / _RECONNECTED, PRC_SUB_NONE, a
 * PRC_WANT_* with io->fd and io->deadline, or PRC_ENOMEM.
 */
int prc__sub_step_locked(prc_sub_t *s, int mode, int flags, int flush_only,
                         prc_sub_io_t *io);

#endif /* PRC_SUB_INT_H */
