/* mux_int.h - the Mux's state, shared by mux.c (submitting, writing,
 * deadlines, closing) and muxread.c (reading).  Internal to the binding. */
#ifndef PYRC_MUX_INT_H
#define PYRC_MUX_INT_H

#include "binding.h"

/* submit() results: what the driver does next. */
enum {
    MUX_QUEUED = 0,    /* a flush is already due */
    MUX_FLUSH_NOW = 1, /* nothing else in flight: write now */
    MUX_DEDICATED = 2, /* the command needs a connection of its own */
    MUX_FLUSH_SOON = 3 /* others in flight: write as the iteration ends */
};

/* Write at once when this much is waiting, rather than at the end of the
 * loop iteration. */
#define MUX_FLUSH_BOUND (256 * 1024)
/* Read at most about this much per readable event, so that one busy
 * connection does not starve the loop. */
#define MUX_READ_MAX (1024 * 1024)
/* Keep an output buffer up to this size when it empties. */
#define MUX_OUT_KEEP (1024 * 1024)
/* A pipeline larger than this keeps a dedicated connection: its replies
 * would hold up every other caller's behind them. */
#define MUX_BATCH_MAX (64 * 1024)

/* One pending call.  A caller that gave up (cancelled, timed out) leaves
 * its entry: a tombstone whose reply is read and dropped, keeping the
 * replies in step with the FIFO. */
typedef struct {
    PyObject *fut;     /* owned: the caller's future */
    PyObject *partial; /* owned: a pipeline's replies so far (list), or
                          NULL */
    uint64_t start;    /* bytes appended before its command(s) */
    uint64_t end;      /* bytes appended up to the end of its command */
    Py_ssize_t count;  /* replies it takes: 1, or a pipeline's commands */
    int batch;         /* a pipeline: its replies complete fut as a list */
    Py_ssize_t got;    /* replies in partial */
    Py_ssize_t exec;   /* a transaction: the items EXEC must hold; or -1 */
    int outcome;       /* a pipeline's first error outcome (breaker) */
    int64_t started;   /* prc_now() at submit */
    int64_t deadline;  /* PRC_NO_DEADLINE: none */
    uint64_t epoch;    /* breaker admission */
    int probe;
    int flags;     /* PRC_CALL_READONLY */
    int raw;       /* sent as NeverDecode: its reply is never decoded */
    int may_retry; /* the caller has retries left */
    int settled;   /* its breaker admission was settled (timed out) */
} mux_entry;

typedef struct {
    PyObject_HEAD RedisClientObject *client; /* strong reference */
    prc_conn_t *conn;  /* owned (checked out of the client's pool, pinned)
                          until the Mux closes; NULL then */
    prc_wbuf_t out;    /* owned: commands not yet written */
    uint64_t appended; /* bytes ever appended to out */
    uint64_t sent;     /* bytes ever written */
    mux_entry *q;      /* ring of pending calls (PyMem, owned) */
    size_t cap, head, len;
    size_t nraw;       /* entries of the ring with raw set */
    size_t replies;    /* replies owed to the calls in the ring */
    int64_t last_read; /* prc_now() of the last reply read */
    int64_t opened;    /* prc_now() when it took the connection */
    int sealed;        /* submit_last() queued its last command */
} MuxObject;

static inline mux_entry *
entry_at(MuxObject *m, size_t i)
{
    return &m->q[(m->head + i) % m->cap];
}

/* Take the head entry off the ring (its references pass to the caller). */
mux_entry pyrc__mux_ring_pop(MuxObject *m);
/* Whether fut is done: 1, 0, or -1 with an exception set. */
int pyrc__mux_fut_done(pyrc_state *st, PyObject *fut);
/* Complete fut with value (as its exception when exc): 0, or -1. */
int pyrc__mux_fut_settle(pyrc_state *st, PyObject *fut, PyObject *value,
                         int exc);
/* Settle e's breaker admission with outcome (record: count the call) and
 * log a transition: 0, or -1 when logging raised. */
int pyrc__mux_settle(MuxObject *m, mux_entry *e, int outcome, int record);
/* 0 while the connection is open, else -1 with ConnectionError. */
int pyrc__mux_check_open(MuxObject *m);
/* Mux.read(): the replies that arrived, delivered; their count. */
PyObject *pyrc__mux_read(MuxObject *m);

#endif
