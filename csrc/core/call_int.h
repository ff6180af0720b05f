/* call_int.h - a call's private state: call.c's, and the C tests'. */
#ifndef PRC_CALL_INT_H
#define PRC_CALL_INT_H

#include "prc_int.h"

/*
 * A call's private state, kept in its opaque block (prc_call_private_t):
 * the caller's memory, so a call costs no allocation.  may_alias: the
 * block is declared as bytes, and this type reads and writes it.
 */
typedef struct call_state_s {
    prc_conn_t *conn;    /* checked out, pinned, or NULL */
    uint64_t epoch;      /* breaker epoch at admission */
    size_t written;      /* request bytes the kernel accepted */
    int64_t sleep_until; /* backoff end */
    int64_t pool_deadline;
    int64_t open_started;
    int64_t started; /* prc_now() at admission: latency, breaker events */
    int phase;
    int attempt;
    int probe;         /* admitted as a half-open probe */
    int admitted;      /* holds a breaker admission to settle */
    int fresh;         /* the connection was opened by this call */
    int saw_alive;     /* a connection of this call was up, then failed */
    int quick_retried; /* a refused connect was retried without a wait */
    int pool_waited;   /* counted in the pool's waits already */
    int finished;      /* prc_call_finish ran */
} __attribute__((may_alias)) call_state;

_Static_assert(sizeof(call_state) <= sizeof(prc_call_private_t),
               "prc_call_private_t is too small: raise "
               "PRC_CALL_PRIVATE_SIZE in prc.h");
_Static_assert(_Alignof(call_state) <= _Alignof(prc_call_private_t),
               "prc_call_private_t is not aligned for call_state");

/* The private state of a call (its prc_call_private_t block). */
#define ST(call) ((call_state *)(void *)(call)->priv.bytes)

#endif /* PRC_CALL_INT_H */
