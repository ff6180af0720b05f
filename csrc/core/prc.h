/* prc.h - the pyredisclient C core: the sole public header. */
#ifndef PRC_H
#define PRC_H

/*
 * The core is plain C11 with no Python: connections (TCP, unix socket,
 * TLS), RESP framing, a thread-safe pool, a circuit breaker and retry
 * policy.  Functions return 0 or a negative PRC_E* code; handles keep
 * `err` and `errstr` with context.  Nothing here calls into Python, and
 * nothing here starts a thread.
 *
 * Ownership: every pointer argument is borrowed for the duration of the
 * call unless its comment says "copied" or "kept".  Strings that a handle
 * needs later are copied into it.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ----------------------------------------------------------- */

/* XX(name, code, message).  Codes are negative; 0 is success. */
#define PRC_ERRNO_MAP(XX)                                                     \
    XX(ENOMEM, -1, "out of memory")                                           \
    XX(EINVAL, -2, "invalid argument")                                        \
    XX(ECONNECT, -3, "connection failed")                                     \
    XX(ETIMEDOUT, -4, "timed out")                                            \
    XX(ECONNLOST, -5, "connection lost")                                      \
    XX(EPROTO, -6, "protocol error")                                          \
    XX(EREPLYLIMIT, -7, "reply exceeds a configured limit")                   \
    XX(EAUTH, -8, "authentication failed")                                    \
    XX(EHANDSHAKE, -9, "connection setup command failed")                     \
    XX(EPOOLTIMEOUT, -10, "timed out waiting for a pooled connection")        \
    XX(ECLOSED, -11, "client is closed")                                      \
    XX(ECIRCUIT, -12, "circuit breaker is open")                              \
    XX(EINTR, -13, "interrupted by a signal")                                 \
    XX(ETLS, -14, "TLS error")                                                \
    XX(EMAXCLIENTS, -15, "server has reached maxclients")                     \
    XX(ELOADING, -16, "server is loading the dataset")                        \
    XX(ETOOBIG, -17, "command too large")                                     \
    XX(ECERT, -18, "TLS certificate verification failed")

typedef enum {
    PRC_OK = 0,
#define PRC_ERR_ENUM(name, code, msg) PRC_##name = (code),
    PRC_ERRNO_MAP(PRC_ERR_ENUM)
#undef PRC_ERR_ENUM
} prc_errno_t;

/* Message for a code; never NULL, static storage. */
const char *prc_strerror(int code);
/* Name of a code ("ETIMEDOUT"); never NULL, static storage. */
const char *prc_err_name(int code);

#define PRC_ERRSTR_LEN 128

/* ---- clock -------------------------------------------------------------- */

/* A deadline is a CLOCK_MONOTONIC time in nanoseconds. */
#define PRC_NO_DEADLINE INT64_MAX

/* Current CLOCK_MONOTONIC time in ns, through the injectable clock. */
int64_t prc_now(void);
/* Replace the clock (C tests); NULL restores the real one. */
void prc_clock_set(int64_t (*fn)(void));
/* now + seconds, or PRC_NO_DEADLINE when seconds < 0 (no limit). */
int64_t prc_deadline_after(double seconds);

/* ---- framing: an incremental RESP2 scanner ------------------------------ */

/*
 * The framer finds where complete replies end without building anything
 * and without copying: it scans bytes in place and keeps only a small
 * stack.  It enforces the reply limits: bulk length, array size and depth
 * on headers, before any of the announced payload is buffered, and the
 * size of each whole reply (max_reply, set by the caller) as it arrives.
 */
#define PRC_FRAMER_MAX_DEPTH 64

typedef struct prc_framer_s {
    size_t pos;         /* bytes of the buffer already consumed */
    size_t reply_start; /* where the reply being scanned began */
    int64_t bulk_left;  /* >= 0: payload+CRLF bytes still to skip */
    int depth;          /* open aggregates */
    int64_t left[PRC_FRAMER_MAX_DEPTH]; /* elements left per level */
    size_t max_bulk;                    /* largest bulk payload accepted */
    size_t max_reply;     /* largest whole reply accepted; 0: no limit */
    int64_t max_elements; /* largest array header accepted */
    int max_depth;        /* deepest nesting accepted (<= MAX_DEPTH) */
    char errstr[PRC_ERRSTR_LEN];
} prc_framer_t;

/* Reset a framer for a new stream with the given limits. */
void prc_framer_init(prc_framer_t *f, size_t max_bulk, int64_t max_elements,
                     int max_depth);
/*
 * Scan buf[f->pos, len) for at most `limit` complete top-level replies
 * (limit <= 0: no limit).  Returns how many completed (>= 0), with f->pos
 * just past the last completed reply or past the scanned prefix of a
 * partial one; or PRC_EPROTO / PRC_EREPLYLIMIT with f->errstr set.
 */
int prc_framer_scan(prc_framer_t *f, const char *buf, size_t len, int limit);
/* True when the framer is between replies. */
int prc_framer_idle(const prc_framer_t *f);

/* ---- options --------------------------------------------------------------
 */

typedef enum {
    PRC_TLS_VERIFY_REQUIRED = 0,
    PRC_TLS_VERIFY_OPTIONAL = 1,
    PRC_TLS_VERIFY_NONE = 2
} prc_tls_verify_t;

/* Hooks called around each blocking wait (poll or pool wait); optional.
 * They run on the caller's thread, must not block and must not call back
 * into the pool.  `what` is PRC_BLOCK_READ, _WRITE, _POOL or _SLEEP. */
enum { PRC_BLOCK_READ = 1, PRC_BLOCK_WRITE, PRC_BLOCK_POOL, PRC_BLOCK_SLEEP };
typedef struct prc_hooks_s {
    void (*before_block)(void *ud, int what);
    void (*after_block)(void *ud, int what);
    void *ud;
} prc_hooks_t;

/*
 * Everything a pool needs; strings are borrowed by prc_pool_new, which
 * copies them.  Timeouts in seconds; a negative value means "no limit".
 */
typedef struct prc_opts_s {
    const char *host; /* TCP host name or address */
    int port;
    const char *unix_path; /* when set, used instead of host/port */
    int db;
    const char *username; /* ACL user; NULL for plain AUTH */
    const char *password; /* NULL: no AUTH */
    const char *client_name;
    double connect_timeout;
    double socket_timeout;
    double pool_timeout;
    double health_check_interval; /* PING pooled conns idle longer */
    double wait_slice; /* > 0: pool waits return PRC_EINTR this often */
    int keepalive;
    int max_connections;
    size_t max_reply_bytes;

    /* retry */
    int retry_attempts;
    double retry_base;
    double retry_cap;
    int retry_on_timeout;

    /* circuit breaker */
    int breaker_enabled;
    int failure_threshold;
    double recovery_timeout;
    int success_threshold;

    /* TLS */
    int tls;
    const char *tls_ca_file;
    const char *tls_ca_path;
    const char *tls_cert_file;
    const char *tls_key_file;
    const char *tls_server_name; /* SNI + verification; default host */
    int tls_verify;              /* prc_tls_verify_t */
    int tls_check_hostname;

    int metrics; /* keep call counters and the latency histogram */

    prc_hooks_t hooks;
} prc_opts_t;

/* Fill opts with the documented defaults (5 s timeouts, 50 conns...). */
void prc_opts_init(prc_opts_t *opts);

/* ---- connection
 * ------------------------------------------------------------- */

typedef struct prc_conn_s prc_conn_t;

/* Step results for the non-blocking state machine and call driver. */
enum {
    PRC_DONE = 0,
    PRC_WANT_READ = 1,  /* wait until call->wait_fd is readable */
    PRC_WANT_WRITE = 2, /* wait until call->wait_fd is writable */
    PRC_WANT_POOL = 3,  /* wait until a pooled connection is released */
    PRC_WANT_SLEEP = 4  /* back off until call->wait_deadline */
};

/*
 * Reply bytes of the last completed exchange: conn->rbuf[0, rlen) holds
 * exactly `nreplies` complete RESP replies.  Borrowed from the connection;
 * valid until the connection is released or used again.
 */
const char *prc_conn_replies(const prc_conn_t *c, size_t *len);
/* The connection's file descriptor, or -1. */
int prc_conn_fd(const prc_conn_t *c);
/* Per-connection slot for the binding's reply reader: `free_fn(ptr)` runs
 * when the connection is destroyed.  The core never looks inside. */
void *prc_conn_user(const prc_conn_t *c);
void prc_conn_set_user(prc_conn_t *c, void *ptr, void (*free_fn)(void *));
/* Mark a connection broken: it will be closed, never pooled, on release. */
void prc_conn_mark_broken(prc_conn_t *c);

/* ---- pool and calls
 * ----------------------------------------------------------- */

typedef struct prc_pool_s prc_pool_t;

/*
 * Create a pool (no connection is opened yet).  Returns NULL with *err
 * set and errbuf filled on bad options or allocation failure.  The
 * caller owns the pool and frees it with prc_pool_free.
 */
prc_pool_t *prc_pool_new(const prc_opts_t *opts, int *err, char *errbuf,
                         size_t errlen);
/*
 * Close idle connections and refuse new calls with PRC_ECLOSED; wakes
 * pool waiters and shuts down (shutdown(2), not close) connections in
 * use so that their owners return quickly.  Thread-safe, idempotent.
 */
void prc_pool_close(prc_pool_t *p);
/* Free the pool; all connections must have been released.  NULL ok. */
void prc_pool_free(prc_pool_t *p);

/* Flags of one call. */
enum {
    PRC_CALL_READONLY = 1,   /* safe to replay after a connection error */
    PRC_CALL_BLOCKING = 2,   /* a blocking command: own timeout, no probe */
    PRC_CALL_NO_RETRY = 4,   /* never replay (WATCH/MULTI state) */
    PRC_CALL_NO_BREAKER = 8, /* bypass admission (health checks) */
    PRC_CALL_NONBLOCK = 16,  /* pool checkout never waits: PRC_WANT_POOL */
    PRC_CALL_PIN = 32,       /* keep the connection after finish (WATCH) */
    PRC_CALL_CLOSE = 64      /* close the connection at finish, never pool
                                it (QUIT) */
};

/*
 * Connection-state classes that prc_command_flags adds to a command's
 * flags.  Such a command changes its connection for the commands after
 * it, so it must never run where the connection goes back to the pool:
 * the binding refuses it before anything is sent, with
 * prc_command_refusal's advice.  They never reach a call's flags.
 */
enum {
    PRC_CMD_CONN_STATE = 256,  /* SUBSCRIBE, SELECT, MONITOR, HELLO, ... */
    PRC_CMD_TRANSACTION = 512, /* MULTI, EXEC, DISCARD: the pipeline's */
    PRC_CMD_WATCH = 1024,      /* WATCH, UNWATCH: on a pinned connection */
    PRC_CMD_STATE = PRC_CMD_CONN_STATE | PRC_CMD_TRANSACTION | PRC_CMD_WATCH
};

/*
 * One logical call: a request of `nreplies` commands, its deadline and
 * its state.  The request bytes are borrowed and must stay valid until
 * the call is finished (prc_call_finish).  A call that returns PRC_EINTR
 * keeps its state: calling prc_pool_call again resumes the same phase
 * against the same deadline and never re-sends what was written.
 */
typedef struct prc_call_s {
    /* in */
    const char *req;
    size_t reqlen;
    int nreplies;
    int flags;
    int64_t deadline;       /* overall, from prc_deadline_after */
    int64_t block_deadline; /* blocking commands: read deadline */

    /* state (private) */
    int phase;
    int attempt;
    int probe;      /* admitted as a half-open probe */
    int transition; /* breaker state entered by this call, or -1 */
    uint64_t epoch; /* breaker epoch at admission */
    int admitted;
    int fresh;           /* the connection was opened by this call */
    int pool_waited;     /* counted in the pool's waits already */
    size_t written;      /* request bytes the kernel accepted */
    int64_t sleep_until; /* backoff end */
    int64_t pool_deadline;
    int64_t open_started;
    int64_t started; /* prc_now() at init, for the latency histogram */
    int finished;    /* prc_call_finish ran */
    prc_conn_t *conn;

    /* the wait a step asked for (prc_pool_step) */
    int wait_fd;
    int64_t wait_deadline;

    /* out */
    int retries; /* how many times the call was replayed */
    int err;
    char errstr[PRC_ERRSTR_LEN];
} prc_call_t;

/* Prepare a call; cheap, no allocation. */
void prc_call_init(prc_call_t *call, const char *req, size_t reqlen,
                   int nreplies, int flags, int64_t deadline);

/*
 * Run a call to completion with blocking waits (poll against the
 * deadline): breaker admission, pool checkout (liveness check, connect,
 * handshake), write, read until `nreplies` replies are framed, and safe
 * retries.  Returns 0 with call->conn holding the reply bytes
 * (prc_conn_replies), or a negative code with call->err/errstr; on
 * PRC_EINTR the call can be resumed.  Must be called without any Python
 * lock; takes the pool mutex only for short, non-blocking sections.
 */
int prc_pool_call(prc_pool_t *p, prc_call_t *call);
/*
 * The non-blocking driver: advance the call as far as it goes without
 * waiting.  Returns 0 when the replies are ready (as prc_pool_call), a
 * negative code on failure, or a PRC_WANT_* wait: READ/WRITE on
 * call->wait_fd, POOL (only with PRC_CALL_NONBLOCK) or SLEEP, each until
 * call->wait_deadline.  After the wait, call it again; if the deadline
 * passed first, call prc_call_timed_out instead.  An event loop drives
 * calls this way; prc_pool_call is the same loop with poll(2).
 */
int prc_pool_step(prc_pool_t *p, prc_call_t *call);
/*
 * The wait a step asked for passed its deadline: record the timeout for
 * the phase.  Returns 0 when the call goes on (a retry was scheduled or
 * a backoff ended: step again) or the error code.
 */
int prc_call_timed_out(prc_pool_t *p, prc_call_t *call);

/*
 * Finish a call: settles the breaker outcome and returns the connection
 * to the pool when `ok` and nothing is left unread, else closes it.
 * `outcome` is PRC_OK or an error code classifying the failure (for the
 * breaker: PRC_EPROTO, PRC_EMAXCLIENTS, PRC_ELOADING count as
 * availability failures).  Always call it once per prc_call_init, on
 * every exit path.  Thread-safe.
 */
void prc_call_finish(prc_pool_t *p, prc_call_t *call, int outcome);

/*
 * Pinned connections, for state that lives on one connection (WATCH):
 * a call made with PRC_CALL_PIN keeps its connection when it succeeds;
 * prc_call_take_conn hands it to the caller, who passes it to
 * prc_call_init_pinned for later calls (no checkout, never retried) and
 * gives it back with prc_pool_unpin.  A pinned connection counts as in
 * use; the caller must not use it from two threads at once.
 */
prc_conn_t *prc_call_take_conn(prc_call_t *call);
void prc_call_use_conn(prc_call_t *call, prc_conn_t *conn);
/* Return a pinned connection: pooled when `ok` and clean, else closed. */
void prc_pool_unpin(prc_pool_t *p, prc_conn_t *conn, int ok);
/* Is a pinned connection still usable? */
int prc_conn_usable(const prc_conn_t *c);

/* Pool counters (atomics; a snapshot, no lock). */
typedef struct prc_pool_stats_s {
    int64_t created; /* connections opened */
    int64_t closed;  /* connections closed */
    int64_t in_use;
    int64_t idle;
    int64_t waits;    /* checkouts that had to wait */
    int64_t timeouts; /* checkouts that gave up waiting */
    int64_t errors;   /* calls that ended in an error */
    int64_t retries;  /* replays */
    int64_t max_connections;
    int64_t health_checks; /* checkout PINGs */
    int64_t stale;         /* pooled connections found dead at checkout */
} prc_pool_stats_t;
void prc_pool_stats(prc_pool_t *p, prc_pool_stats_t *out);

/* Latency histogram bucket upper bounds in seconds; the last bucket is
 * everything slower. */
#define PRC_HIST_BUCKETS 16
extern const double prc_hist_bounds[PRC_HIST_BUCKETS - 1];
#define PRC_NCODES 32

/* Call metrics: lock-free atomic counters, read as a snapshot. */
typedef struct prc_metrics_s {
    int64_t calls;              /* logical calls finished */
    int64_t commands;           /* commands sent (a pipeline counts each) */
    int64_t response_errors;    /* error replies (ResponseError) */
    int64_t errors[PRC_NCODES]; /* failed calls by -code */
    int64_t hist[PRC_HIST_BUCKETS]; /* call latency, successes+failures */
    int64_t latency_ns_sum;
    int64_t breaker_transitions;
} prc_metrics_t;
void prc_pool_metrics(prc_pool_t *p, prc_metrics_t *out);
/* Count error replies seen by the binding (they are not call failures). */
void prc_pool_count_response_errors(prc_pool_t *p, int64_t n);

/* ---- circuit breaker
 * --------------------------------------------------------- */

enum {
    PRC_BREAKER_CLOSED = 0,
    PRC_BREAKER_OPEN = 1,
    PRC_BREAKER_HALF_OPEN = 2
};

/*
 * The breaker's whole state is one atomic word changed by compare-and-
 * swap: bits 0-1 state, 2-17 half-open probes admitted, 18-33 half-open
 * successes, 34-63 epoch.  Every transition bumps the epoch, so outcomes
 * reported for an older epoch are ignored.
 */
typedef struct prc_breaker_s {
    _Atomic uint64_t word;
    _Atomic int64_t changed_at; /* prc_now() at the last transition */
    _Atomic int failures;       /* consecutive counted failures (CLOSED) */
    _Atomic int64_t refused;
    _Atomic int64_t opens;
    _Atomic int64_t transitions;
    int enabled;
    int failure_threshold;
    int success_threshold;
    int64_t recovery_ns;
} prc_breaker_t;

void prc_breaker_init(prc_breaker_t *b, int enabled, int failure_threshold,
                      double recovery_timeout, int success_threshold);
/*
 * Ask for admission.  Returns 0 and fills *epoch and *probe, or
 * PRC_ECIRCUIT when open (or half-open with every probe slot taken).
 * `no_probe` refuses admission as a half-open probe (blocking commands).
 * *transition receives the state this thread's CAS entered, or -1.
 */
int prc_breaker_allow(prc_breaker_t *b, int no_probe, uint64_t *epoch,
                      int *probe, int *transition);
/* Settle an admission: `failure` true for an availability failure,
 * false for a success; `neutral` settles without counting either way (a
 * pool timeout or an authentication error says nothing about
 * availability).  Outcomes from older epochs are ignored.  Returns the
 * state this thread's CAS entered, or -1 when it caused no transition. */
int prc_breaker_record(prc_breaker_t *b, uint64_t epoch, int probe,
                       int failure, int neutral);
/* Current state; an OPEN breaker past its recovery time reads HALF_OPEN. */
int prc_breaker_state(prc_breaker_t *b);
/* Consecutive failures counted so far in the CLOSED state. */
int prc_breaker_failures(prc_breaker_t *b);
/* Does this error code count against the breaker? */
int prc_breaker_counts(int code);
/* Access the pool's breaker. */
prc_breaker_t *prc_pool_breaker(prc_pool_t *p);

/* ---- retry -------------------------------------------------------------- */

/* Full-jitter exponential backoff: uniform in [0, min(cap, base*2^n)].
 * `rnd` in [0,1).  Returns seconds. */
double prc_backoff(int attempt, double base, double cap, double rnd);
/* Thread-local xorshift RNG in [0,1); seedable for tests. */
double prc_random(void);
void prc_random_seed(uint64_t seed);

/* ---- command table ------------------------------------------------------ */

/*
 * Classify a command by its argv: returns PRC_CALL_READONLY and/or
 * PRC_CALL_BLOCKING, PRC_CALL_CLOSE, or one PRC_CMD_* state class; for a
 * blocking command *block_seconds receives its own timeout (0 = wait
 * forever, < 0 = unknown).
 */
int prc_command_flags(int argc, const char *const *argv, const size_t *argvlen,
                      double *block_seconds);
/*
 * Why a command with a PRC_CMD_* state class must not run on a pooled
 * connection, and what to use instead: a static sentence, with *name set
 * to the command as the table spells it ("CLIENT TRACKING", static).
 * NULL (and *name NULL) for a command without a state class.  Not on the
 * hot path: call it only for a command prc_command_flags marked.
 */
const char *prc_command_refusal(int argc, const char *const *argv,
                                const size_t *argvlen, const char **name);

/* ---- fork --------------------------------------------------------------- */

/* Fork generation: bumped in the child by a pthread_atfork handler. */
uint64_t prc_fork_generation(void);

#ifdef __cplusplus
}
#endif
#endif /* PRC_H */
