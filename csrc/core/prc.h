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

/*
 * XX(name, code, message, class).  Codes are negative; 0 is success.
 * class: the error class (PRC_EXC_MAP below) a call failing with the code
 * raises; NONE for ENOMEM (the binding raises MemoryError) and EINTR (a
 * call abandoned to a signal or a cancellation; nothing is raised).
 */
#define PRC_ERRNO_MAP(XX)                                                     \
    XX(ENOMEM, -1, "out of memory", NONE)                                     \
    XX(EINVAL, -2, "invalid argument", DATA)                                  \
    XX(ECONNECT, -3, "connection failed", CONNECTION)                         \
    XX(ETIMEDOUT, -4, "timed out", TIMEOUT)                                   \
    XX(ECONNLOST, -5, "connection lost", CONNECTION)                          \
    XX(EPROTO, -6, "protocol error", PROTOCOL)                                \
    XX(EREPLYLIMIT, -7, "reply exceeds a configured limit", REPLYLIMIT)       \
    XX(EAUTH, -8, "authentication failed", AUTH)                              \
    XX(EHANDSHAKE, -9, "connection setup command failed", RESPONSE)           \
    XX(EPOOLTIMEOUT, -10, "timed out waiting for a pooled connection",        \
       POOL_TIMEOUT)                                                          \
    XX(ECLOSED, -11, "client is closed", CONNECTION)                          \
    XX(ECIRCUIT, -12, "circuit breaker is open", CIRCUIT)                     \
    XX(EINTR, -13, "interrupted by a signal", NONE)                           \
    XX(ETLS, -14, "TLS error", CONNECTION)                                    \
    XX(EMAXCLIENTS, -15, "server has reached maxclients", MAXCLIENTS)         \
    XX(ELOADING, -16, "server is loading the dataset", LOADING)               \
    XX(ETOOBIG, -17, "command too large", DATA)                               \
    XX(ECERT, -18, "TLS certificate verification failed", CONNECTION)

typedef enum {
    PRC_OK = 0,
#define PRC_ERR_ENUM(name, code, msg, cls) PRC_##name = (code),
    PRC_ERRNO_MAP(PRC_ERR_ENUM)
#undef PRC_ERR_ENUM
} prc_errno_t;

/* Message for a code; never NULL, static storage. */
const char *prc_strerror(int code);
/* Name of a code ("ETIMEDOUT"); never NULL, static storage. */
const char *prc_err_name(int code);

/*
 * The error classes, one table: XX(ID, name, parent, builtin, code, doc),
 * parents before their children.
 *   ID       PRC_EXC_<ID>
 *   name     the exception class the binding creates ("RedisError")
 *   parent   the ID of its base class; NONE for the root
 *   builtin  a builtin exception it also derives from, or NULL
 *   code     the core code it stands for, or 0: a setup reply of this
 *            class fails the connection with it (PRC_EHANDSHAKE when 0),
 *            and an error reply of this class counts against the breaker
 *            as it when prc_breaker_counts(code).  A failed call with the
 *            code raises this class, or its parent when the parent has the
 *            same code (MASTERDOWN: a lost link, raised as ConnectionError)
 *   doc      its docstring
 * The binding creates the classes from it and maps codes and error
 * replies to them; scripts/gen_stubs.py lists them in _core.pyi and
 * pyredisclient/exceptions.py; the metrics name failures by them.  Names
 * follow redis-py's where they overlap, so its users' code keeps working.
 */
#define PRC_EXC_MAP(XX)                                                       \
    XX(REDIS, "RedisError", NONE, "Exception", 0,                             \
       "Base class of every error.")                                          \
    XX(CONNECTION, "ConnectionError", REDIS, "ConnectionError",               \
       PRC_ECONNLOST,                                                         \
       "The server could not be reached or the connection broke.")            \
    XX(TIMEOUT, "TimeoutError", REDIS, "TimeoutError", PRC_ETIMEDOUT,         \
       "The call did not complete before its deadline.")                      \
    XX(AUTH, "AuthenticationError", CONNECTION, NULL, PRC_EAUTH,              \
       "The server refused the credentials.")                                 \
    XX(CIRCUIT, "CircuitOpenError", CONNECTION, NULL, PRC_ECIRCUIT,           \
       "The circuit breaker is open: the call was refused at once.")          \
    XX(POOL_TIMEOUT, "PoolTimeoutError", CONNECTION, NULL, PRC_EPOOLTIMEOUT,  \
       "No pooled connection became free before pool_timeout.")               \
    XX(LOADING, "BusyLoadingError", CONNECTION, NULL, PRC_ELOADING,           \
       "The server is loading its dataset.")                                  \
    XX(MAXCLIENTS, "MaxClientsError", CONNECTION, NULL, PRC_EMAXCLIENTS,      \
       "The server has reached maxclients.")                                  \
    XX(MASTERDOWN, "MasterDownError", CONNECTION, NULL, PRC_ECONNLOST,        \
       "MASTERDOWN error reply: a replica that lost its primary and does "    \
       "not serve stale data.")                                               \
    XX(RESPONSE, "ResponseError", REDIS, NULL, PRC_EHANDSHAKE,                \
       "The server answered with an error reply.")                            \
    XX(NOSCRIPT, "NoScriptError", RESPONSE, NULL, 0, "NOSCRIPT error reply.") \
    XX(READONLY, "ReadOnlyError", RESPONSE, NULL, 0, "READONLY error reply.") \
    XX(OOM, "OutOfMemoryError", RESPONSE, NULL, 0, "OOM error reply.")        \
    XX(EXECABORT, "ExecAbortError", RESPONSE, NULL, 0,                        \
       "EXECABORT error reply.")                                              \
    XX(NOPERM, "NoPermissionError", RESPONSE, NULL, 0, "NOPERM error reply.") \
    XX(ASK, "AskError", RESPONSE, NULL, 0,                                    \
       "ASK error reply: the key's slot is migrating; the message keeps "     \
       "\"ASK <slot> <host:port>\".")                                         \
    XX(MOVED, "MovedError", ASK, NULL, 0,                                     \
       "MOVED error reply: another node serves the slot; the message keeps "  \
       "\"MOVED <slot> <host:port>\".")                                       \
    XX(TRYAGAIN, "TryAgainError", RESPONSE, NULL, 0,                          \
       "TRYAGAIN error reply: a multi-key command during a slot migration.")  \
    XX(MODULE, "ModuleError", RESPONSE, NULL, 0,                              \
       "MODULE LOAD or MODULE UNLOAD failed.")                                \
    XX(PROTOCOL, "ProtocolError", REDIS, NULL, PRC_EPROTO,                    \
       "The server sent bytes that are not valid RESP.")                      \
    XX(REPLYLIMIT, "ReplyLimitError", PROTOCOL, NULL, PRC_EREPLYLIMIT,        \
       "A reply exceeded max_reply_bytes or the nesting limit.")              \
    XX(DATA, "DataError", REDIS, "TypeError", PRC_EINVAL,                     \
       "An argument cannot be encoded as a command argument.")                \
    XX(WATCH, "WatchError", REDIS, NULL, 0,                                   \
       "A watched key changed: the transaction was not run.")                 \
    XX(PUBSUB, "PubSubError", REDIS, NULL, 0,                                 \
       "Pub/sub misuse, such as a runner for a channel without a handler.")

/* Other names of classes: XX(name, ID). */
#define PRC_EXC_ALIAS_MAP(XX) XX("InvalidResponse", PROTOCOL)

#define PRC_EXC_ENUM(id, name, parent, builtin, code, doc) PRC_EXC_##id,
enum { PRC_EXC_NONE = -1, PRC_EXC_MAP(PRC_EXC_ENUM) PRC_EXC_COUNT };
#undef PRC_EXC_ENUM

/*
 * Server error prefixes, mapped as redis-py maps them; the first match
 * wins, and an error matching none is a RESPONSE.  XX(prefix, ID, strip):
 * strip drops the error code word from the message ("NOSCRIPT No matching
 * script..." reads "No matching script...").
 */
#define PRC_REPLY_ERROR_MAP(XX)                                               \
    XX("ERR max number of clients reached", MAXCLIENTS, 1)                    \
    XX("ERR Client sent AUTH, but no password is set", AUTH, 1)               \
    XX("ERR invalid password", AUTH, 1)                                       \
    XX("ERR AUTH", AUTH, 1)                                                   \
    XX("ERR Error loading the extension", MODULE, 1)                          \
    XX("ERR Error unloading module", MODULE, 1)                               \
    XX("ERR ", RESPONSE, 1)                                                   \
    XX("WRONGPASS ", AUTH, 0)                                                 \
    XX("NOAUTH ", AUTH, 0)                                                    \
    XX("NOPERM ", NOPERM, 0)                                                  \
    XX("NOSCRIPT ", NOSCRIPT, 1)                                              \
    XX("READONLY ", READONLY, 1)                                              \
    XX("OOM ", OOM, 1)                                                        \
    XX("EXECABORT ", EXECABORT, 1)                                            \
    XX("LOADING ", LOADING, 1)                                                \
    XX("MASTERDOWN ", MASTERDOWN, 0)                                          \
    XX("MOVED ", MOVED, 0)                                                    \
    XX("ASK ", ASK, 0)                                                        \
    XX("TRYAGAIN ", TRYAGAIN, 0)

/* One error class (PRC_EXC_MAP's columns). */
typedef struct prc_exc_s {
    const char *name;
    int parent; /* PRC_EXC_*, or PRC_EXC_NONE */
    const char *builtin;
    int code; /* PRC_E*, or 0 */
    const char *doc;
} prc_exc_t;

/* The class with that PRC_EXC_* id, or NULL.  Static storage. */
const prc_exc_t *prc_exc_class(int id);
/* The class (PRC_EXC_*) a failed call with `code` raises; PRC_EXC_NONE
 * for ENOMEM, EINTR and unknown codes. */
int prc_err_class(int code);
/* The class of a server error reply (msg: its text after the '-', len
 * bytes: PRC_REPLY_ERROR_MAP); *skip (may be NULL) receives how many
 * leading bytes its message drops. */
int prc_error_reply_class(const char *msg, size_t len, size_t *skip);

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
    size_t max_line;      /* longest header or status/error line accepted
                             before its CRLF (prc_framer_init: 64 KiB) */
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

/*
 * One whole reply, as the framer found it: the one place besides hiredis
 * that reads RESP, for the few replies the core and the binding look into
 * themselves (setup replies, a liveness PONG, a LOADING refusal, a
 * batch's commands).  Pointers are into the caller's buffer.
 */
typedef struct prc_reply_s {
    int type;         /* '+', '-', ':', '$' or '*' */
    const char *text; /* +, -, :: the line after the type byte; $: the
                         payload (NULL when nil); *: NULL */
    size_t len;       /* bytes of text */
    int64_t n;        /* $: payload bytes, *: elements (-1: nil); else 0 */
    size_t body;      /* *: where its first element starts */
    size_t end;       /* just past the reply */
} prc_reply_t;

/*
 * Frame the reply that starts at buf[pos] (of len bytes), with no limit
 * but the framer's depth.  Returns 1 with *r filled, 0 while the reply is
 * incomplete, or PRC_EPROTO / PRC_EREPLYLIMIT for bytes that are not
 * RESP.  Cheap (no allocation) but not for the hot path: it starts a
 * framer of its own.
 */
int prc_reply_at(const char *buf, size_t len, size_t pos, prc_reply_t *r);

/* ---- the RESP writer (writer.c) ------------------------------------------
 */

/*
 * Commands go out as RESP arrays of bulk strings, written by our own
 * encoder (hiredis only reads replies): the exact size is computed once
 * from the argument lengths, then the bytes are written in one pass with
 * lengths formatted by hand, straight into the buffer that is sent.
 * Whoever sends the bytes owns that buffer: a synchronous call's stack
 * (or its client's spare buffer), an AsyncCall's own object, a Batch's
 * prc_wbuf_t (a pipeline's commands back to back, reused), a connection
 * config's handshake; the asyncio multiplexer will append many callers'
 * commands to its shared connection's prc_wbuf_t.
 */

/* Commands whose encoding would reach this are refused (PRC_ETOOBIG)
 * before anything is written: 2 GiB (DESIGN.md). */
#define PRC_MAX_COMMAND ((size_t)1 << 31)

/* The decimal digits of v: comparisons, four digits per division. */
static inline size_t
prc_dec_digits(uint64_t v)
{
    size_t n = 1;

    for (;;) {
        if (v < 10) {
            return n;
        }
        if (v < 100) {
            return n + 1;
        }
        if (v < 1000) {
            return n + 2;
        }
        if (v < 10000) {
            return n + 3;
        }
        v /= 10000;
        n += 4;
    }
}
/* The RESP encoding of a command is its header "*<argc>\r\n" and, per
 * argument, "$<len>\r\n<bytes>\r\n": the sizes of both parts, whose sum
 * prc_resp_command_len computes. */
static inline size_t
prc_resp_header_len(size_t argc)
{
    return 3 + prc_dec_digits(argc);
}
static inline size_t
prc_resp_arg_len(size_t len)
{
    return len + 5 + prc_dec_digits(len);
}
/*
 * The exact size of the RESP encoding of a command of argc arguments with
 * these lengths, or PRC_MAX_COMMAND when it would be that or more (the
 * sum saturates there: no overflow).  Pure; argc >= 0.
 */
size_t prc_resp_command_len(int argc, const size_t *argvlen);
/*
 * Write the command at out, which has room for prc_resp_command_len()
 * bytes (below PRC_MAX_COMMAND); returns the end of what was written.
 * The arguments are copied; argv[i] may be NULL when argvlen[i] is 0.
 */
char *prc_resp_write_command(char *out, int argc, const char *const *argv,
                             const size_t *argvlen);
/* Write v in decimal at out (at most 20 bytes, no NUL); returns the number
 * of bytes.  prc_fmt_i64 adds a '-' for negatives (21 bytes at most). */
size_t prc_fmt_u64(char *out, uint64_t v);
size_t prc_fmt_i64(char *out, int64_t v);

/*
 * A growable output buffer.  Its storage is either the caller's (a fixed
 * array given to prc_wbuf_init: never freed here) or a heap block the
 * buffer owns (malloc; freed by prc_wbuf_free / prc_wbuf_shrink); growing
 * out of the caller's storage copies what was written to the heap.  Not
 * thread-safe: one owner at a time.  A writer that sends it in pieces
 * keeps its own offset of what was sent and drops it with
 * prc_wbuf_consume while appending more.
 */
typedef struct prc_wbuf_s {
    char *buf;  /* the storage (NULL when none yet) */
    size_t len; /* bytes written */
    size_t cap; /* bytes of storage */
    int owned;  /* buf is a heap block of this buffer's */
} prc_wbuf_t;

/* Start an empty buffer on the caller's storage (which must outlive its
 * use; NULL and 0 for none: the first append allocates). */
void prc_wbuf_init(prc_wbuf_t *wb, char *storage, size_t cap);
/* Free the heap block, if any, and leave the buffer empty with no
 * storage.  Safe on an initialised buffer at any time; idempotent. */
void prc_wbuf_free(prc_wbuf_t *wb);
/* Make room for `more` bytes after len: 0, or PRC_ENOMEM / PRC_ETOOBIG
 * (len + more overflows) with the buffer unchanged. */
int prc_wbuf_reserve(prc_wbuf_t *wb, size_t more);
/* Append n raw bytes (already RESP): 0 or PRC_ENOMEM / PRC_ETOOBIG. */
int prc_wbuf_append(prc_wbuf_t *wb, const void *p, size_t n);
/*
 * Append one command (prc_resp_write_command).  Returns 0; PRC_EINVAL for
 * argc < 1; PRC_ETOOBIG when its encoding would reach PRC_MAX_COMMAND;
 * PRC_ENOMEM.  On error nothing was appended.
 */
int prc_wbuf_append_command(prc_wbuf_t *wb, int argc, const char *const *argv,
                            const size_t *argvlen);
/* Drop the first n bytes (already sent), keeping the rest in order. */
void prc_wbuf_consume(prc_wbuf_t *wb, size_t n);
/* Empty the buffer; a heap block larger than `keep` bytes is freed (the
 * next append allocates again), a smaller one is kept for reuse. */
void prc_wbuf_shrink(prc_wbuf_t *wb, size_t keep);

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
 * Credentials that change (a rotated password, a short-lived token): asked
 * for at every new connection's handshake, instead of the fixed username
 * and password options (which are then ignored).  `get` runs on the thread
 * that opens the connection, with no core lock held (it may block briefly,
 * e.g. to take the GIL), and returns:
 *   0               out->password (NULL: no AUTH) and out->username (NULL:
 *                   plain AUTH) filled with malloc'd NUL-terminated copies,
 *                   which the core now owns: it wipes and frees them as
 *                   soon as the AUTH command is formatted;
 *   PRC_WANT_CREDS  the answer comes later: the step driver (an event loop
 *                   that awaits a coroutine) passes it to
 *                   prc_call_set_creds, nothing allocated in out;
 *   a PRC_E* code   the connection fails with it and out->errstr (never a
 *                   secret); nothing allocated may be left in out.
 * ud is borrowed for the life of the pool or subscriber.  A subscriber
 * has no step driver to answer later: its provider must answer at once.
 */
typedef struct prc_creds_s {
    char *username;
    char *password;
    char errstr[PRC_ERRSTR_LEN];
} prc_creds_t;
typedef struct prc_creds_provider_s {
    int (*get)(void *ud, prc_creds_t *out);
    void *ud;
} prc_creds_provider_t;

/*
 * Every option of a pool, one table: XX(type, field, keyword, default).
 *   type     how the binding reads the keyword (and the field's C type,
 *            PRC_OPT_CTYPE_*): STR a str or None (NULL); INT an int;
 *            BOOL a truth value; DOUBLE a number; SECONDS a number of
 *            seconds, or None for no limit (stored as -1); SIZE an int
 *            that fits size_t; TLS_VERIFY the name of a prc_tls_verify_t
 *            ("required", "optional", "none")
 *   field    its prc_opts_t field
 *   keyword  its keyword argument of _core.Client: RedisConfig's field
 *   default  prc_opts_init's value
 * prc_opts_t is declared from it, prc_opts_init's defaults come from it,
 * the binding parses _core.Client's keywords with it (checking types
 * only: RedisConfig validates meaning, prc_pool_new what the core cannot
 * work with) and scripts/gen_stubs.py writes their stub from it.  Adding
 * an option: a line here, and a field of RedisConfig with its rule
 * (pyredisclient/config.py); tests/unit/test_config.py checks that they agree.
 */
#define PRC_OPTIONS_MAP(XX)                                                   \
    /* where */                                                               \
    XX(STR, host, "host", "localhost") /* TCP name or address */              \
    XX(INT, port, "port", 6379)                                               \
    XX(STR, unix_path, "unix_socket_path", NULL) /* instead of host:port */   \
    XX(INT, db, "db", 0)                                                      \
    XX(STR, username, "username", NULL) /* ACL user; NULL: plain AUTH */      \
    XX(STR, password, "password", NULL) /* NULL: no AUTH */                   \
    XX(STR, client_name, "client_name", NULL)                                 \
    /* time */                                                                \
    XX(SECONDS, socket_timeout, "socket_timeout", 5.0)                        \
    XX(SECONDS, connect_timeout, "socket_connect_timeout", 5.0)               \
    XX(SECONDS, pool_timeout, "pool_timeout", 5.0)                            \
    /* PING pooled connections idle longer than this */                       \
    XX(DOUBLE, health_check_interval, "health_check_interval", 30.0)          \
    XX(BOOL, keepalive, "socket_keepalive", 1)                                \
    /* keepalive probes: first after idle s, then every interval s; */        \
    /* the connection is dropped after count unanswered */                    \
    XX(INT, keepalive_idle, "socket_keepalive_idle", 60)                      \
    XX(INT, keepalive_interval, "socket_keepalive_interval", 10)              \
    XX(INT, keepalive_count, "socket_keepalive_count", 3)                     \
    XX(INT, max_connections, "max_connections", 50)                           \
    XX(SIZE, max_reply_bytes, "max_reply_bytes", 512u * 1024 * 1024)          \
    /* retry */                                                               \
    XX(INT, retry_attempts, "retry_attempts", 3)                              \
    XX(DOUBLE, retry_base, "retry_base", 0.05)                                \
    XX(DOUBLE, retry_cap, "retry_cap", 1.0)                                   \
    XX(BOOL, retry_on_timeout, "retry_on_timeout", 0)                         \
    /* circuit breaker (see prc_breaker_t) */                                 \
    XX(BOOL, breaker_enabled, "circuit_breaker", 1)                           \
    /* a run of this many failure events opens */                             \
    XX(INT, failure_threshold, "failure_threshold", 5)                        \
    /* this failed share of the window opens; 0 turns the rate off */         \
    XX(DOUBLE, failure_rate, "failure_rate_threshold", 0.5)                   \
    /* seconds of calls the rate looks at */                                  \
    XX(DOUBLE, failure_window, "failure_window", 10.0)                        \
    /* calls in the window before the rate counts */                          \
    XX(INT, minimum_calls, "minimum_calls", 10)                               \
    /* first open time; doubles per failed probe, up to recovery_timeout */   \
    XX(DOUBLE, min_recovery_timeout, "min_recovery_timeout", 1.0)             \
    XX(DOUBLE, recovery_timeout, "recovery_timeout", 30.0)                    \
    /* probe successes that close it */                                       \
    XX(INT, success_threshold, "success_threshold", 3)                        \
    /* TLS */                                                                 \
    XX(BOOL, tls, "ssl", 0)                                                   \
    XX(STR, tls_ca_file, "ssl_ca_certs", NULL)                                \
    XX(STR, tls_ca_path, "ssl_ca_path", NULL)                                 \
    XX(STR, tls_cert_file, "ssl_certfile", NULL)                              \
    XX(STR, tls_key_file, "ssl_keyfile", NULL)                                \
    XX(TLS_VERIFY, tls_verify, "ssl_cert_reqs", PRC_TLS_VERIFY_REQUIRED)      \
    XX(BOOL, tls_check_hostname, "ssl_check_hostname", 1)                     \
    /* SNI and verification; NULL: host */                                    \
    XX(STR, tls_server_name, "ssl_server_hostname", NULL)                     \
    /* keep call counters and the latency histogram */                        \
    XX(BOOL, metrics, "metrics", 1)

/* The C type of each option type. */
#define PRC_OPT_CTYPE_STR const char *
#define PRC_OPT_CTYPE_INT int
#define PRC_OPT_CTYPE_BOOL int
#define PRC_OPT_CTYPE_DOUBLE double
#define PRC_OPT_CTYPE_SECONDS double
#define PRC_OPT_CTYPE_SIZE size_t
#define PRC_OPT_CTYPE_TLS_VERIFY int
#define PRC_OPT_FIELD(type, field, keyword, dflt) PRC_OPT_CTYPE_##type field;

/*
 * Everything a pool needs: the options of the table, then two that only
 * C callers set.  Strings are borrowed by prc_pool_new, which copies what
 * it keeps.  Timeouts in seconds; a negative value means "no limit".
 */
typedef struct prc_opts_s {
    PRC_OPTIONS_MAP(PRC_OPT_FIELD)
    double wait_slice; /* > 0: pool waits return PRC_EINTR this often */
    prc_hooks_t hooks;
    prc_creds_provider_t creds; /* get NULL: username and password */
} prc_opts_t;

/* Fill opts with the defaults of PRC_OPTIONS_MAP (5 s timeouts, 50
 * connections...); no wait slice, no hooks. */
void prc_opts_init(prc_opts_t *opts);

/* ---- connection
 * ------------------------------------------------------------- */

typedef struct prc_conn_s prc_conn_t;

/* Step results for the non-blocking state machine and call driver. */
enum {
    PRC_DONE = 0,
    PRC_WANT_READ = 1,   /* wait until call->wait_fd is readable */
    PRC_WANT_WRITE = 2,  /* wait until call->wait_fd is writable */
    PRC_WANT_POOL = 3,   /* wait until a pooled connection is released */
    PRC_WANT_SLEEP = 4,  /* back off until call->wait_deadline */
    PRC_WANT_CREDS = 5,  /* credentials for a new connection, by
                            call->wait_deadline: prc_call_set_creds */
    PRC_WANT_CONVERT = 6 /* call->convert_at replies are framed and more
                            are due: take them (prc_call_framed), then
                            resume; only when convert_at was set */
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

/*
 * Streaming exchanges, for a connection shared by many callers (the
 * asyncio multiplexer): requests are appended to an output buffer the
 * caller owns and written as the socket takes them; replies are framed as
 * they arrive and taken in order.  A READY connection checked out of its
 * pool (pinned) enters this mode with prc_conn_stream_begin and is never
 * pooled again while in it (unpin it with ok = 0 unless nothing is
 * pending).
 */
void prc_conn_stream_begin(prc_conn_t *c);
/*
 * Write what `out` holds, dropping what the socket took (prc_wbuf_consume)
 * and adding its count to *sent.  Returns PRC_DONE when `out` is empty,
 * PRC_WANT_WRITE when the socket is full (PRC_WANT_READ when TLS must
 * read before it writes), or a negative code (the connection is then
 * broken).
 */
int prc_conn_stream_write(prc_conn_t *c, prc_wbuf_t *out, uint64_t *sent);
/*
 * Read what is there (at most about `max` bytes) and frame it with the
 * connection's reply limits.  Returns PRC_WANT_READ with *len the bytes
 * of whole replies at the start of the reply buffer (prc_conn_replies
 * gives them; *n of them), or a negative code: EOF, an error or a reply
 * over the limits (the connection is then broken; after EOF or an error
 * *len and *n still report the whole replies that came before it, after
 * bytes that are not RESP none).  The caller takes the replies, then
 * calls prc_conn_stream_consume.
 */
int prc_conn_stream_read(prc_conn_t *c, size_t max, size_t *len, int *n);
/* Drop the whole replies prc_conn_stream_read reported, keeping the part
 * of a reply still arriving. */
void prc_conn_stream_consume(prc_conn_t *c, size_t len);

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
/* 1 once prc_pool_close has run, else 0.  Thread-safe. */
int prc_pool_closed(prc_pool_t *p);
/*
 * redis-py's ConnectionPool.disconnect(): close the idle connections now
 * and, with in_use, each connection in use when it is given back, so that
 * the next calls connect afresh.  The pool stays open.  Thread-safe.
 */
void prc_pool_disconnect(prc_pool_t *p, int in_use);
/*
 * redis-py's set_retry(): from now on a failed call is retried at most
 * `attempts` times, with back-off from `base` doubling up to `cap`
 * seconds (the options retry_attempts, retry_base, retry_cap).  Calls
 * under way read the new values at their next failure.  Returns 0, or
 * PRC_EINVAL (nothing changed) unless attempts >= 0 and
 * 0 < base <= cap <= 1e9.  Thread-safe.
 */
int prc_pool_set_retry(prc_pool_t *p, int attempts, double base, double cap);
/* The retry policy now (opts' values until prc_pool_set_retry). */
void prc_pool_get_retry(prc_pool_t *p, int *attempts, double *base,
                        double *cap);
/*
 * Give every connection the pool opens from now on for a blocking command
 * (PRC_CALL_BLOCKING) a PING round trip before that command
 * (prc_int.h: prc__conn_cfg_round_trip), so that the server has taken the
 * connection in before the command is written.  An event loop asks for it
 * when it orders a blocking call's write before the later writes of its
 * shared connection (AsyncCall.sent): a command written on a connection
 * the server has not accepted yet may be read after one sent later on an
 * open connection.  Other calls' new connections do without it.
 * Idempotent; only before the pool opened its first connection (0, or
 * PRC_EINVAL after; PRC_ENOMEM).
 */
int prc_pool_round_trip_opens(prc_pool_t *p);

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
 * The private state of a call: call.c's own, opaque to everyone else.  It
 * is a block of bytes sized and aligned for call.c's struct (call.c checks
 * the size at compile time), so that a call still lives on the caller's
 * stack or inside the caller's object, with no allocation per call, while
 * what the state machine keeps there can change without touching this
 * header or its users.
 */
#define PRC_CALL_PRIVATE_SIZE 128
typedef union prc_call_private_u {
    unsigned char bytes[PRC_CALL_PRIVATE_SIZE];
    int64_t align_; /* alignment only */
    void *alignp_;
} prc_call_private_t;

/*
 * One logical call: a request of `nreplies` commands, its deadline and
 * its state.  The request bytes are borrowed and must stay valid until
 * the call is finished (prc_call_finish).  A call that returns PRC_EINTR
 * keeps its state: calling prc_pool_call again resumes the same phase
 * against the same deadline and never re-sends what was written.
 */
typedef struct prc_call_s {
    /* in: set by prc_call_init; deadline, block_deadline and flags may be
     * changed before the first step */
    const char *req;
    size_t reqlen;
    int nreplies;
    int flags;
    int64_t deadline;       /* overall, from prc_deadline_after */
    int64_t block_deadline; /* blocking commands: read deadline */
    /* in/out: when set (> 0), the blocking driver returns PRC_WANT_CONVERT
     * as soon as this many of the attempt's replies are framed and more
     * are still due, so that the caller converts them while the rest
     * arrive.  The caller raises it before resuming; a replay starts
     * counting from zero again (call->retries tells). */
    int convert_at;

    /* out: the wait the last step asked for (prc_pool_step) */
    int wait_fd;
    int64_t wait_deadline;

    /* out: the breaker state this call's admission or outcome entered, or
     * -1; the caller logs the transition and sets it back to -1 */
    int transition;
    /* out: PRC_CONN_EVENT_* when this call opened the pool's first
     * connection, or the first one after connections failed; 0 else.
     * The caller logs it and sets it back to 0. */
    int conn_event;
    int retries; /* how many times the call was replayed */
    int err;

    prc_call_private_t priv; /* call.c's; never read or written outside */

    char errstr[PRC_ERRSTR_LEN];
} prc_call_t;

/* prc_call_t.conn_event: what a fresh connection meant for the pool. */
enum {
    PRC_CONN_EVENT_NONE = 0,
    PRC_CONN_EVENT_CONNECT = 1,  /* the pool's first connection */
    PRC_CONN_EVENT_RECONNECT = 2 /* the first one after a failure */
};

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
 * Answer a step's PRC_WANT_CREDS: the credentials of the connection being
 * opened (username may be NULL; password NULL: no AUTH), copied and wiped
 * once formatted; or `error` (not NULL: the provider failed; a message
 * without secrets), which fails the connection with PRC_EAUTH.  Then step
 * again.  A call that is not waiting for credentials ignores it.
 */
void prc_call_set_creds(prc_call_t *call, const char *username,
                        const char *password, const char *error);

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
 * The connection of a call: after a successful run (prc_pool_call or a
 * step returning 0) it holds the replies (prc_conn_replies); NULL before
 * checkout and after prc_call_finish released it.  Borrowed.
 */
prc_conn_t *prc_call_conn(const prc_call_t *call);
/* Has the current attempt's request been handed to the kernel whole (or
 * has the call ended, so that nothing more of it will be)?  An event loop
 * orders its other connections' writes after a call's with it. */
int prc_call_sent(const prc_call_t *call);
/* The replies the current attempt has framed so far: their count, with
 * *len the bytes they take at the start of prc_conn_replies (0 and 0
 * before the request is under way). */
int prc_call_framed(const prc_call_t *call, size_t *len);

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

/* A connection the caller drives itself (a shared one) failed; it was
 * taken from the pool at `since` (prc_now()).  The pool's next connect
 * then reports PRC_CONN_EVENT_RECONNECT.  Lock-free. */
void prc_pool_link_failed(prc_pool_t *p, int64_t since);

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
/* Record a call the pool did not run (a shared connection's, whose caller
 * keeps the admission itself): started at `started` (prc_now()), of
 * `ncommands` commands, with this outcome (PRC_OK or a code).  A no-op
 * without the metrics option. */
void prc_pool_record_call(prc_pool_t *p, int64_t started, int ncommands,
                          int outcome);

/* ---- circuit breaker
 * --------------------------------------------------------- */

enum {
    PRC_BREAKER_CLOSED = 0,
    PRC_BREAKER_OPEN = 1,
    PRC_BREAKER_HALF_OPEN = 2
};

/* Why the breaker last opened (prc_breaker_info_t.why). */
enum {
    PRC_BREAKER_WHY_NONE = 0,
    PRC_BREAKER_WHY_RATE,      /* failure rate over the window */
    PRC_BREAKER_WHY_RUN,       /* a run of failure events */
    PRC_BREAKER_WHY_PROBE,     /* a half-open probe failed */
    PRC_BREAKER_WHY_PROBE_LOST /* a half-open probe never reported */
};

/* Buckets of the sliding window (failure_window / this each). */
#define PRC_BREAKER_BUCKETS 20

/*
 * A lock-free circuit breaker.  Its state is one atomic word changed by
 * compare-and-swap: bits 0-1 state, 2-9 half-open probes admitted, 10-17
 * half-open successes, 18-22 the open level (the open time is
 * min_open << level, at most recovery_timeout), 23-63 epoch.  Every
 * transition bumps the epoch, so outcomes reported for an older epoch are
 * ignored.
 *
 * CLOSED: one event is one failure.  A failure counts as an event only if
 * its call was admitted after the last counted event was recorded, so
 * calls that were in flight together (eight threads timing out on one
 * paused server) count once.  A run of failure_threshold events with no
 * success between opens the breaker, and so does a failure rate of at
 * least failure_rate among the calls settled in the last failure_window
 * seconds, once there are minimum_calls of them (each failed call counts
 * in the rate: there, a burst is weighed against the window's calls).
 * OPEN: calls are refused for min_open first; HALF_OPEN: one probe is
 * admitted, and each success doubles the probes allowed in flight, until
 * success_threshold successes close the breaker.  A failed probe, or one
 * that has not reported after probe_timeout, re-opens it for twice as long
 * (up to recovery_timeout).  The side fields (reason, window, run) are
 * separate atomics: a snapshot of them is consistent enough to explain,
 * never used to decide a transition.
 */
typedef struct prc_breaker_s {
    _Atomic uint64_t word;
    _Atomic int64_t changed_at; /* prc_now() at the last transition */
    _Atomic int64_t probe_at;   /* prc_now() at the last probe admission */
    _Atomic int failures;       /* run of failure events (CLOSED) */
    _Atomic int64_t last_event; /* prc_now() when the last event counted */
    _Atomic uint64_t window[PRC_BREAKER_BUCKETS]; /* seq:32 calls:16 fail:16 */
    _Atomic int last_error;  /* code of the last availability failure */
    _Atomic int why;         /* PRC_BREAKER_WHY_* of the last open */
    _Atomic int64_t why_n;   /* events in the run, or calls in the window */
    _Atomic int64_t why_bad; /* failed calls in the window (rate) */
    _Atomic int64_t refused;
    _Atomic int64_t opens;
    _Atomic int64_t transitions;
    int enabled;
    int failure_threshold;
    int success_threshold; /* at most 255 */
    int minimum_calls;
    double failure_rate; /* 0: the rate never opens it */
    int64_t window_ns;
    int64_t bucket_ns;
    int64_t min_open_ns;
    int64_t recovery_ns;
    int64_t probe_ns;
} prc_breaker_t;

/* Set up a breaker from the circuit breaker fields of `o` (borrowed).  A
 * probe is presumed lost after the longest a call can take
 * (socket_timeout + connect_timeout), or recovery_timeout when either has
 * no limit. */
void prc_breaker_init(prc_breaker_t *b, const prc_opts_t *o);
/*
 * Ask for admission.  Returns 0 and fills *epoch and *probe, or
 * PRC_ECIRCUIT when open (or half-open with every probe slot taken).
 * `no_probe` refuses admission as a half-open probe (blocking commands).
 * *transition receives the state this thread's CAS entered, or -1.
 */
int prc_breaker_allow(prc_breaker_t *b, int no_probe, uint64_t *epoch,
                      int *probe, int *transition);
/*
 * Settle an admission made at time `started` (prc_now()) with its
 * outcome: PRC_OK, or an error code; codes that prc_breaker_counts
 * rejects settle without counting either way (a pool timeout or an
 * authentication error says nothing about availability).  Outcomes from
 * other epochs are ignored.  Returns the state this thread's CAS entered,
 * or -1 when it caused no transition.
 */
int prc_breaker_record(prc_breaker_t *b, uint64_t epoch, int probe,
                       int64_t started, int outcome);
/* Current state; an OPEN breaker past its open time reads HALF_OPEN. */
int prc_breaker_state(prc_breaker_t *b);
/* The run of failure events counted so far in the CLOSED state. */
int prc_breaker_failures(prc_breaker_t *b);
/* Does this error code count against the breaker? */
int prc_breaker_counts(int code);

/* A snapshot that explains the breaker (health checks, metrics). */
typedef struct prc_breaker_info_s {
    int state;                   /* as prc_breaker_state */
    int failures;                /* run of failure events (CLOSED) */
    int64_t window_calls;        /* calls settled in the window now */
    int64_t window_failures;     /* of which failed */
    int64_t open_ns;             /* OPEN/HALF_OPEN: this open time; CLOSED:
                                    the next one (min_open) */
    int64_t open_left_ns;        /* OPEN: until a probe is admitted; else 0 */
    int last_error;              /* last availability failure, 0 if none */
    int why;                     /* PRC_BREAKER_WHY_* of the last open */
    char reason[PRC_ERRSTR_LEN]; /* why it is not CLOSED; "" when it is */
} prc_breaker_info_t;
void prc_breaker_info(prc_breaker_t *b, prc_breaker_info_t *out);

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
 * One command's flags remembered by the bytes of its name, for a caller
 * that classifies many commands in a row (a pipeline's queue).  Holds
 * only commands whose flags depend on the name alone: no subcommands, not
 * blocking.  Zero it to start; not thread-safe (one owner at a time).
 */
typedef struct prc_cmd_memo_s {
    int flags;     /* prc_command_flags of the name */
    uint8_t len;   /* bytes in name (at most 16); 0: holds nothing */
    char name[16]; /* argv[0] as given (any case) */
} prc_cmd_memo_t;
/* prc_command_flags, answered from *memo when argv[0] has the same bytes
 * as the name it holds; else looked up, and remembered when it can be. */
int prc_command_flags_memo(prc_cmd_memo_t *memo, int argc,
                           const char *const *argv, const size_t *argvlen,
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

/* ---- command specs: the generated command table (cmdspec.c) ------------ */

/*
 * One entry per command and per subcommand ("CLIENT KILL"), generated by
 * scripts/gen_commands.py from the server's own COMMAND / COMMAND DOCS
 * output (snapshot in scripts/commands/) plus a marked hand-written
 * supplement for commands newer than the snapshot's server.  The data is
 * csrc/core/commands_gen.h; never edit it by hand.  Entries are static
 * const data: pointers to them stay valid for the life of the process and
 * are never freed.  Every function here is thread-safe, allocates nothing
 * and may run without the GIL.
 *
 * The vocabularies below are the server's own names (COMMAND INFO), one
 * bit each, in the server's order.  XX(NAME, "name"): the generator
 * refuses a snapshot with a name missing here, so a newer server's flag
 * is added here first.
 */
#define PRC_CMD_FLAG_MAP(XX)                                                  \
    XX(WRITE, "write")                                                        \
    XX(READONLY, "readonly")                                                  \
    XX(DENYOOM, "denyoom")                                                    \
    XX(MODULE, "module")                                                      \
    XX(ADMIN, "admin")                                                        \
    XX(PUBSUB, "pubsub")                                                      \
    XX(NOSCRIPT, "noscript")                                                  \
    XX(BLOCKING, "blocking")                                                  \
    XX(LOADING, "loading")                                                    \
    XX(STALE, "stale")                                                        \
    XX(SKIP_MONITOR, "skip_monitor")                                          \
    XX(SKIP_SLOWLOG, "skip_slowlog")                                          \
    XX(ASKING, "asking")                                                      \
    XX(FAST, "fast")                                                          \
    XX(NO_AUTH, "no_auth")                                                    \
    XX(MAY_REPLICATE, "may_replicate")                                        \
    XX(NO_MANDATORY_KEYS, "no_mandatory_keys")                                \
    XX(NO_ASYNC_LOADING, "no_async_loading")                                  \
    XX(NO_MULTI, "no_multi")                                                  \
    XX(MOVABLEKEYS, "movablekeys")                                            \
    XX(ALLOW_BUSY, "allow_busy")

/* ACL categories, as COMMAND INFO reports them. */
#define PRC_CMD_ACL_MAP(XX)                                                   \
    XX(KEYSPACE, "@keyspace")                                                 \
    XX(READ, "@read")                                                         \
    XX(WRITE, "@write")                                                       \
    XX(SET, "@set")                                                           \
    XX(SORTEDSET, "@sortedset")                                               \
    XX(LIST, "@list")                                                         \
    XX(HASH, "@hash")                                                         \
    XX(STRING, "@string")                                                     \
    XX(BITMAP, "@bitmap")                                                     \
    XX(HYPERLOGLOG, "@hyperloglog")                                           \
    XX(GEO, "@geo")                                                           \
    XX(STREAM, "@stream")                                                     \
    XX(PUBSUB, "@pubsub")                                                     \
    XX(ADMIN, "@admin")                                                       \
    XX(FAST, "@fast")                                                         \
    XX(SLOW, "@slow")                                                         \
    XX(BLOCKING, "@blocking")                                                 \
    XX(DANGEROUS, "@dangerous")                                               \
    XX(CONNECTION, "@connection")                                             \
    XX(TRANSACTION, "@transaction")                                           \
    XX(SCRIPTING, "@scripting")

/* Command tips: output determinism and the Cluster request and response
 * policies (a command without a request policy goes to its keys' node). */
#define PRC_CMD_TIP_MAP(XX)                                                   \
    XX(NONDETERMINISTIC_OUTPUT, "nondeterministic_output")                    \
    XX(NONDETERMINISTIC_OUTPUT_ORDER, "nondeterministic_output_order")        \
    XX(REQUEST_ALL_NODES, "request_policy:all_nodes")                         \
    XX(REQUEST_ALL_SHARDS, "request_policy:all_shards")                       \
    XX(REQUEST_MULTI_SHARD, "request_policy:multi_shard")                     \
    XX(REQUEST_SPECIAL, "request_policy:special")                             \
    XX(RESPONSE_ONE_SUCCEEDED, "response_policy:one_succeeded")               \
    XX(RESPONSE_ALL_SUCCEEDED, "response_policy:all_succeeded")               \
    XX(RESPONSE_AGG_LOGICAL_AND, "response_policy:agg_logical_and")           \
    XX(RESPONSE_AGG_LOGICAL_OR, "response_policy:agg_logical_or")             \
    XX(RESPONSE_AGG_MIN, "response_policy:agg_min")                           \
    XX(RESPONSE_AGG_MAX, "response_policy:agg_max")                           \
    XX(RESPONSE_AGG_SUM, "response_policy:agg_sum")                           \
    XX(RESPONSE_SPECIAL, "response_policy:special")

/* Key-spec flags: what the command does with the key (one of RO, RW, OW,
 * RM), with its user data, and how reliable the spec is. */
#define PRC_KS_FLAG_MAP(XX)                                                   \
    XX(RO, "RO")                                                              \
    XX(RW, "RW")                                                              \
    XX(OW, "OW")                                                              \
    XX(RM, "RM")                                                              \
    XX(ACCESS, "access")                                                      \
    XX(UPDATE, "update")                                                      \
    XX(INSERT, "insert")                                                      \
    XX(DELETE, "delete")                                                      \
    XX(NOT_KEY, "not_key")                                                    \
    XX(INCOMPLETE, "incomplete")                                              \
    XX(VARIABLE_FLAGS, "variable_flags")

/*
 * Our own classes, derived by the generator (its rules say how):
 * replay_safe       may be sent again after a connection error;
 * blocking          waits on the server: own timeout (block_tmo);
 * blocks_with_arg   blocking only with an argument (XREAD's BLOCK);
 * connection_state  changes the connection it runs on (SELECT, SUBSCRIBE):
 *                   refused where the connection is pooled (refusal says
 *                   why), unless it closes the connection;
 * deprecated        COMMAND DOCS says so;
 * supplement        hand-written: newer than the snapshot's server;
 * closes            ends its connection (QUIT): closed after the call.
 */
#define PRC_CMD_CLASS_MAP(XX)                                                 \
    XX(REPLAY_SAFE, "replay_safe")                                            \
    XX(BLOCKING, "blocking")                                                  \
    XX(BLOCKS_WITH_ARG, "blocks_with_arg")                                    \
    XX(CONN_STATE, "connection_state")                                        \
    XX(DEPRECATED, "deprecated")                                              \
    XX(SUPPLEMENT, "supplement")                                              \
    XX(CLOSES, "closes")

#define PRC_CMD_BIT_ENUM(prefix, name, str) prefix##BIT_##name,
#define PRC_CMD_MASK_ENUM(prefix, name, str)                                  \
    prefix##name = 1 << prefix##BIT_##name,
#define PRC_CMD_FLAG_BIT(name, str) PRC_CMD_BIT_ENUM(PRC_CMD_, name, str)
#define PRC_CMD_FLAG_MASK(name, str) PRC_CMD_MASK_ENUM(PRC_CMD_, name, str)
#define PRC_ACL_BIT(name, str) PRC_CMD_BIT_ENUM(PRC_ACL_, name, str)
#define PRC_ACL_MASK(name, str) PRC_CMD_MASK_ENUM(PRC_ACL_, name, str)
#define PRC_TIP_BIT(name, str) PRC_CMD_BIT_ENUM(PRC_TIP_, name, str)
#define PRC_TIP_MASK(name, str) PRC_CMD_MASK_ENUM(PRC_TIP_, name, str)
#define PRC_KS_BIT(name, str) PRC_CMD_BIT_ENUM(PRC_KS_, name, str)
#define PRC_KS_MASK(name, str) PRC_CMD_MASK_ENUM(PRC_KS_, name, str)
#define PRC_CLASS_BIT(name, str) PRC_CMD_BIT_ENUM(PRC_CLASS_, name, str)
#define PRC_CLASS_MASK(name, str) PRC_CMD_MASK_ENUM(PRC_CLASS_, name, str)
/* PRC_CMD_WRITE, PRC_ACL_READ, PRC_TIP_REQUEST_ALL_SHARDS, PRC_KS_RO,
 * PRC_CLASS_REPLAY_SAFE ...: one bit each (and PRC_CMD_BIT_WRITE ...: its
 * position). */
enum { PRC_CMD_FLAG_MAP(PRC_CMD_FLAG_BIT) PRC_CMD_FLAG_COUNT };
enum { PRC_CMD_FLAG_MAP(PRC_CMD_FLAG_MASK) };
enum { PRC_CMD_ACL_MAP(PRC_ACL_BIT) PRC_ACL_COUNT };
enum { PRC_CMD_ACL_MAP(PRC_ACL_MASK) };
enum { PRC_CMD_TIP_MAP(PRC_TIP_BIT) PRC_TIP_COUNT };
enum { PRC_CMD_TIP_MAP(PRC_TIP_MASK) };
enum { PRC_KS_FLAG_MAP(PRC_KS_BIT) PRC_KS_COUNT };
enum { PRC_KS_FLAG_MAP(PRC_KS_MASK) };
enum { PRC_CMD_CLASS_MAP(PRC_CLASS_BIT) PRC_CLASS_COUNT };
enum { PRC_CMD_CLASS_MAP(PRC_CLASS_MASK) };

/* How a key spec finds its first key, and then the keys. */
enum { PRC_KS_BEGIN_UNKNOWN = 0, PRC_KS_BEGIN_INDEX, PRC_KS_BEGIN_KEYWORD };
enum { PRC_KS_FIND_UNKNOWN = 0, PRC_KS_FIND_RANGE, PRC_KS_FIND_KEYNUM };

/* Where a blocking command says how long it may wait (a hand-written rule
 * of the generator: the server does not say); PRC_TMO_NONE (0) for the
 * others. */
#define PRC_CMD_TMO_MAP(XX)                                                   \
    XX(LAST_SECONDS, "last_seconds") /* BLPOP key... timeout */               \
    XX(ARG1_SECONDS, "arg1_seconds") /* BLMPOP timeout numkeys ... */         \
    XX(BLOCK_MS, "block_ms")         /* XREAD ... [BLOCK ms] STREAMS ... */   \
    XX(ARG2_MS, "arg2_ms")           /* WAIT numreplicas timeout */           \
    XX(ARG3_MS, "arg3_ms")           /* WAITAOF numlocal numreplicas ms */
#define PRC_TMO_ENUM(name, str) PRC_TMO_##name,
enum { PRC_TMO_NONE = 0, PRC_CMD_TMO_MAP(PRC_TMO_ENUM) PRC_TMO_END };

/* Why a connection-state command is refused where its connection goes
 * back to a pool, and what to use instead (a rule of the generator, its
 * REFUSALS; prc_command_refusal gives the sentence); PRC_REFUSE_NONE (0)
 * for the others.  TRANSACTION and WATCH are the pipeline's own. */
#define PRC_CMD_REFUSAL_MAP(XX)                                               \
    XX(PUBSUB, "pubsub")                                                      \
    XX(MONITOR, "monitor")                                                    \
    XX(REPLICATION, "replication")                                            \
    XX(SELECT, "select")                                                      \
    XX(AUTH, "auth")                                                          \
    XX(HELLO, "hello")                                                        \
    XX(RESET, "reset")                                                        \
    XX(TRANSACTION, "transaction")                                            \
    XX(WATCH, "watch")                                                        \
    XX(CLIENT_REPLY, "client_reply")                                          \
    XX(TRACKING, "tracking")                                                  \
    XX(CLIENT_FLAG, "client_flag")                                            \
    XX(CLUSTER, "cluster")                                                    \
    XX(SCRIPT_DEBUG, "script_debug")
#define PRC_REFUSE_ENUM(name, str) PRC_REFUSE_##name,
enum {
    PRC_REFUSE_NONE = 0,
    PRC_CMD_REFUSAL_MAP(PRC_REFUSE_ENUM) PRC_REFUSE_END
};

/* One key specification, as https://redis.io/docs/latest/develop/
 * reference/key-specs/ defines it. */
typedef struct prc_keyspec_s {
    uint16_t flags;      /* PRC_KS_* */
    uint8_t begin;       /* PRC_KS_BEGIN_* */
    uint8_t find;        /* PRC_KS_FIND_* */
    int16_t index;       /* BEGIN_INDEX: the first key's position */
    int16_t startfrom;   /* BEGIN_KEYWORD: where the search starts; < 0
                            counts from the end and searches backwards */
    const char *keyword; /* BEGIN_KEYWORD: upper case; else NULL */
    int16_t lastkey;     /* RANGE: the last key, relative to the first;
                            < 0 counts from the end of argv */
    int16_t limit;       /* RANGE with lastkey -1: keys are 1/limit of
                            what follows (0 or 1: all) */
    int16_t keynumidx;   /* KEYNUM: numkeys' position, from begin */
    int16_t firstkey;    /* KEYNUM: the first key's, from begin */
    int16_t keystep;     /* RANGE and KEYNUM: distance between keys */
} prc_keyspec_t;

/* One command or subcommand. */
typedef struct prc_cmd_s {
    const char *name;  /* "GET", "CLIENT KILL": upper case */
    uint8_t name_len;  /* strlen(name) */
    uint8_t sub_off;   /* a subcommand's name starts at name + sub_off */
    int16_t arity;     /* argc (name included); < 0: at least -arity */
    uint32_t flags;    /* PRC_CMD_* (the server's) */
    uint32_t acl;      /* PRC_ACL_* */
    uint32_t tips;     /* PRC_TIP_* */
    uint16_t classes;  /* PRC_CLASS_* (ours) */
    uint8_t block_tmo; /* PRC_TMO_*: where a blocking command's timeout is */
    uint8_t keys_rule; /* cmdspec.c's own rule for incomplete specs */
    uint8_t refusal;   /* PRC_REFUSE_*: a connection-state command's */
    uint8_t nkeyspecs;
    const prc_keyspec_t *keyspecs;
    int16_t parent;     /* a subcommand's container (prc_cmd_at), or -1 */
    uint16_t first_sub; /* a container's subcommands: prc_cmd_at(first_sub) */
    uint16_t nsubs;     /* ... to prc_cmd_at(first_sub + nsubs - 1) */
    const char *group;  /* COMMAND DOCS group ("string"), or "" */
    const char *since;  /* COMMAND DOCS since ("1.0.0"), or "" */
} prc_cmd_t;

/*
 * Look a command up by its argv, as the server does: argv[0] by name (any
 * case; names are (pointer, length), never NUL-terminated strings), and
 * for a command with subcommands argv[1] too.  Returns the entry, the
 * container itself when argc is 1, or NULL for an unknown command or
 * subcommand (or argc < 1).
 */
const prc_cmd_t *prc_cmd_lookup(int argc, const char *const *argv,
                                const size_t *argvlen);
/* The number of entries, and entry i (0 <= i < count; else NULL).
 * Commands come sorted by name, each followed by its subcommands. */
int prc_cmd_count(void);
const prc_cmd_t *prc_cmd_at(int i);
/* The server version of the snapshot the table was generated from. */
const char *prc_cmd_table_version(void);
/* The name of bit `bit` of a vocabulary (the server's spelling), or NULL
 * past its end. */
enum {
    PRC_VOCAB_FLAG,
    PRC_VOCAB_ACL,
    PRC_VOCAB_TIP,
    PRC_VOCAB_KEYSPEC,
    PRC_VOCAB_CLASS
};
const char *prc_cmd_vocab_name(int vocab, int bit);
/* The name of a PRC_TMO_* ("last_seconds"), or NULL for PRC_TMO_NONE. */
const char *prc_cmd_tmo_name(int tmo);
/* The name of a PRC_REFUSE_* ("pubsub"), or NULL for PRC_REFUSE_NONE. */
const char *prc_cmd_refusal_name(int refusal);

/* One key found in an argv: its position and its key spec's flags. */
typedef struct {
    int pos;
    uint16_t flags; /* PRC_KS_* */
} prc_cmd_key_t;

/* Options of prc_cmd_keys. */
enum {
    PRC_KEYS_NOT_KEYS = 1, /* also report not_key specs (shard channels) */
    PRC_KEYS_PARTIAL = 2   /* skip specs that cannot be followed, and keep
                              the keys the others give */
};

/*
 * Find the key arguments of argv (as prc_cmd_lookup found cmd for it)
 * from cmd's key specs, as the server's COMMAND GETKEYS does: each spec's
 * keys in spec order, and for specs marked incomplete or unknown (SORT's
 * STORE, MIGRATE's KEYS) the same argument rules the server falls back
 * on.  Writes at most `cap` keys and returns how many there are (more
 * than cap: call again with room for them all; at most argc per key
 * spec), or PRC_EINVAL when argv does not fit the command: wrong
 * argument count, numkeys not a canonical integer, negative or past the
 * end of argv, a key range past the end, or an incomplete spec with no
 * rule.  `why` (may be NULL) then receives a static message.  Keyless
 * commands return 0.
 */
int prc_cmd_keys(const prc_cmd_t *cmd, int argc, const char *const *argv,
                 const size_t *argvlen, int options, prc_cmd_key_t *keys,
                 int cap, const char **why);

/* ---- subscriber: pub/sub on a dedicated connection ---------------------- */

/*
 * A subscriber owns one connection of its own, outside any pool, and the
 * sets of channels, patterns and shard channels it is subscribed to.  The
 * server pushes messages unasked; the subscriber frames them as they come,
 * never treating them as out of step.  When its connection is lost (EOF,
 * reset, an unanswered PING, a reply limit), it reconnects with backoff
 * (retry_base and retry_cap, equal jitter, at least 10 ms apart) for as
 * long as anything is subscribed, resubscribes every set in one write,
 * swallows the confirmations of that write and then reports the gap once
 * (PRC_SUB_RECONNECTED).  While idle it sends a PING every
 * health_check_interval seconds (<= 0: never); when nothing at all arrives
 * within socket_timeout (or, without one, the interval) of anything sent,
 * the connection is lost.
 *
 * Threads: one reader at a time (prc_sub_read or prc_sub_flush hold the
 * reader's turn; another caller gets PRC_SUB_BUSY); requests
 * (prc_sub_subscribe ...) and prc_sub_close may come from any thread at
 * any time and wake a reader blocked in PRC_SUB_WAIT.  Short critical
 * sections under the subscriber's mutex; poll(2) never holds it.
 *
 * Reads never buffer more than the message being framed plus one chunk
 * (16 KiB): what the caller does not read waits in the socket and then in
 * the server's output buffer, whose limits apply (client-output-buffer-
 * limit pubsub: a too-slow subscriber is disconnected, reconnects, and the
 * gap is reported).
 *
 * Fork: in a child every call fails with PRC_ECLOSED without sending
 * anything; the inherited descriptors are closed.
 */
typedef struct prc_sub_s prc_sub_t;

/* The three sets. */
enum { PRC_SUB_CHANNELS = 0, PRC_SUB_PATTERNS = 1, PRC_SUB_SHARDS = 2 };

/* prc_sub_read and prc_sub_flush modes, and a flag. */
enum {
    PRC_SUB_BUFFERED = 0, /* bytes already read only: no I/O, no wait */
    PRC_SUB_STEP = 1,     /* non-blocking I/O; report the wait needed */
    PRC_SUB_WAIT = 2,     /* poll until a message or the deadline */
    PRC_SUB_MODE_MASK = 3,
    PRC_SUB_SKIP_CONFIRMS = 8 /* drop (un)subscribe confirmations */
};

/* Results beyond PRC_DONE (PRC_SUB_NONE), PRC_WANT_* and error codes. */
enum {
    PRC_SUB_NONE = 0,         /* nothing (yet): see prc_sub_read */
    PRC_SUB_MESSAGE = 16,     /* prc_sub_message, then prc_sub_release */
    PRC_SUB_RECONNECTED = 17, /* prc_sub_event, then prc_sub_release */
    PRC_SUB_BUSY = 18         /* another thread has the reader's turn */
};

/* What a pushed reply is: XX(NAME, "its first element"). */
#define PRC_SUB_KIND_MAP(XX)                                                  \
    XX(MESSAGE, "message")                                                    \
    XX(PMESSAGE, "pmessage")                                                  \
    XX(SMESSAGE, "smessage")                                                  \
    XX(SUBSCRIBE, "subscribe")                                                \
    XX(UNSUBSCRIBE, "unsubscribe")                                            \
    XX(PSUBSCRIBE, "psubscribe")                                              \
    XX(PUNSUBSCRIBE, "punsubscribe")                                          \
    XX(SSUBSCRIBE, "ssubscribe")                                              \
    XX(SUNSUBSCRIBE, "sunsubscribe")                                          \
    XX(PONG, "pong")                                                          \
    XX(ERROR, "error") /* an error reply (NOPERM ...) */                      \
    /* After ERROR: no pushed reply is named so.  A monitoring subscriber's   \
     * (prc_sub_monitor) status lines: */                                     \
    XX(MONITOR, "monitor") /* MONITOR's +OK */                                \
    XX(COMMAND, "command") /* a command the server ran, as MONITOR shows */
#define PRC_SUB_KIND_ENUM(name, str) PRC_SUB_KIND_##name,
enum { PRC_SUB_KIND_MAP(PRC_SUB_KIND_ENUM) PRC_SUB_KIND_COUNT };
#undef PRC_SUB_KIND_ENUM
/* The name of a kind ("pmessage"), or NULL. */
const char *prc_sub_kind_name(int kind);

/* One element of a message: '$' (p, len; p NULL for nil), ':' (num), or
 * '-' (p, len: the error line). */
typedef struct prc_sub_elem_s {
    int type;
    const char *p;
    size_t len;
    int64_t num;
} prc_sub_elem_t;

/* A message, split (by PRC_SUB_KIND_*): MESSAGE/SMESSAGE channel, data;
 * PMESSAGE pattern,
 * channel, data; the (un)subscribe kinds channel (nil after an
 * unsubscribe from nothing), count; PONG data; ERROR the line; MONITOR
 * and COMMAND the status line ('+').  Pointers are into the subscriber's
 * buffer: valid until prc_sub_release. */
typedef struct prc_sub_msg_s {
    int kind; /* PRC_SUB_KIND_* */
    int n;    /* elements in el */
    prc_sub_elem_t el[3];
} prc_sub_msg_t;

/* The gap a PRC_SUB_RECONNECTED reports. */
typedef struct prc_sub_event_s {
    int64_t down_ns;   /* from the loss to the resubscription confirmed */
    int attempts;      /* connects tried, the one that worked included */
    int64_t counts[3]; /* what was resubscribed, by set */
    char reason[PRC_ERRSTR_LEN]; /* why the connection was lost */
} prc_sub_event_t;

/* The wait a PRC_SUB_STEP result asks for, or why a call failed. */
typedef struct prc_sub_io_s {
    int fd;           /* wait on it (WANT_READ/WRITE), or -1 */
    int64_t deadline; /* until then (PRC_NO_DEADLINE: no limit) */
    char errstr[PRC_ERRSTR_LEN];
} prc_sub_io_t;

/* Counters (atomics; a snapshot). */
typedef struct prc_sub_stats_s {
    int64_t messages;      /* message, pmessage and smessage read */
    int64_t connects;      /* connections established */
    int64_t disconnects;   /* connections lost (failed connects included) */
    int64_t reconnects;    /* gaps reported (PRC_SUB_RECONNECTED) */
    int64_t health_checks; /* idle PINGs sent */
} prc_sub_stats_t;

/*
 * A subscriber for the connection, timeout, retry and health options of
 * `o` (borrowed; the strings it keeps are copied).  No connection yet.
 * NULL with *err and errbuf set on bad options or when out of memory.
 */
prc_sub_t *prc_sub_new(const prc_opts_t *o, int *err, char *errbuf,
                       size_t errlen);
/* Free it and close its connection; nobody may use it any more.  NULL ok. */
void prc_sub_free(prc_sub_t *s);
/* Close: later calls fail with PRC_ECLOSED; a reader blocked in
 * PRC_SUB_WAIT wakes and returns PRC_SUB_NONE.  Thread-safe, idempotent. */
void prc_sub_close(prc_sub_t *s);

/*
 * Add n names (copied) to a set and send the (P|S)SUBSCRIBE, or remove
 * them and send the unsubscribe (n 0: the whole set).  Connects first
 * when nothing is connected: the next prc_sub_read or prc_sub_flush does
 * it.  Never blocks, never fails for a lost connection (what is in the
 * sets is resubscribed); PRC_ECLOSED, PRC_ENOMEM, PRC_ETOOBIG.
 */
int prc_sub_subscribe(prc_sub_t *s, int set, int n, const char *const *names,
                      const size_t *lens);
int prc_sub_unsubscribe(prc_sub_t *s, int set, int n, const char *const *names,
                        const size_t *lens);
/*
 * Move to another server (host:port, copied): the reader's next step
 * drops the connection as a loss and connects to the new address, where
 * everything in the sets is subscribed again and the gap is reported
 * (PRC_SUB_RECONNECTED) as after any loss.  For a cluster's classic
 * pub/sub, whose node left, and a sentinel client's after a failover.  0,
 * or PRC_ECLOSED, PRC_ENOMEM, PRC_EINVAL (a bad address, or a unix socket
 * subscriber).
 */
int prc_sub_move(prc_sub_t *s, const char *host, int port);
/* Send PING (msg NULL: without an argument); its pong is a message. */
int prc_sub_ping(prc_sub_t *s, const char *msg, size_t len);
/*
 * Turn the subscriber into a monitor: MONITOR is sent now (or once
 * connected) and again after every reconnect; its +OK is a confirmation
 * (PRC_SUB_KIND_MONITOR, dropped with PRC_SUB_SKIP_CONFIRMS and after a
 * reconnect, like a resubscription's), and each line the server streams
 * after it a PRC_SUB_KIND_COMMAND message.  No idle PINGs from then on:
 * the server would show each one as a command.  Idempotent.  0, or
 * PRC_ECLOSED, PRC_ENOMEM.
 */
int prc_sub_monitor(prc_sub_t *s);

/*
 * The next message (mode PRC_SUB_BUFFERED, _STEP or _WAIT, with
 * PRC_SUB_SKIP_CONFIRMS or not): PRC_SUB_MESSAGE or PRC_SUB_RECONNECTED
 * with the reader's turn kept until prc_sub_release; PRC_SUB_NONE when
 * BUFFERED found no whole message, WAIT reached `deadline`, or the
 * subscriber was closed meanwhile; PRC_WANT_* (STEP: wait as io says,
 * then call again); PRC_SUB_BUSY; PRC_EINTR (WAIT: a signal; call again);
 * or PRC_ECLOSED / PRC_ENOMEM with io->errstr.  Reconnecting is part of
 * reading: a lost connection never fails a read.
 */
int prc_sub_read(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io);
/* The message or event just read (the reader's turn held). */
void prc_sub_message(const prc_sub_t *s, prc_sub_msg_t *m);
void prc_sub_event(const prc_sub_t *s, prc_sub_event_t *ev);
/* Done with that message: give the reader's turn back. */
void prc_sub_release(prc_sub_t *s);
/*
 * Connect (when a request asked for it and no backoff is running) and
 * send what requests queued, reading nothing else: PRC_SUB_NONE when
 * done (or when the connect failed: reading retries it), PRC_WANT_*
 * (STEP), PRC_SUB_BUSY when a reader has the turn (it sends them),
 * PRC_EINTR, or PRC_ECLOSED.
 */
int prc_sub_flush(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io);

/* Subscribed to anything (the sets, or confirmations not yet unsubscribed
 * by the server)?  0 once closed. */
int prc_sub_subscribed(prc_sub_t *s);
/* Connected (and set up) now?  0 while connecting, backing off, idle or
 * closed. */
int prc_sub_connected(prc_sub_t *s);
/* How many names a set holds. */
int prc_sub_count(prc_sub_t *s, int set);
/* A loss to log, once per outage: 1 with why in buf, else 0. */
int prc_sub_take_notice(prc_sub_t *s, char *buf, size_t len);
void prc_sub_stats(prc_sub_t *s, prc_sub_stats_t *out);

/* ---- cluster hash slots (slot.c) ---------------------------------------- */

/* The number of hash slots of a Redis Cluster. */
#define PRC_CLUSTER_SLOTS 16384
/* prc_cmd_slot's answers besides a slot. */
enum { PRC_SLOT_NONE = -100, PRC_SLOT_CROSS = -101 };

/* CRC16-CCITT (XMODEM) of buf, the checksum the cluster hashes keys with. */
uint16_t prc_crc16(const char *buf, size_t len);
/*
 * The hash slot (0..16383) of a key: CRC16 of its hash tag (the text
 * between the first '{' and the first '}' after it, when not empty), else
 * of the whole key, modulo 16384.  Pure, thread-safe, no allocation.
 */
int prc_key_slot(const char *key, size_t len);
/*
 * The one slot every key of argv (and shard channel: not_key specs count)
 * hashes to, for cmd as prc_cmd_lookup found it: a slot, PRC_SLOT_NONE for
 * a command without keys, PRC_SLOT_CROSS when the keys hash to more than
 * one slot, or a prc_cmd_keys error (PRC_EINVAL with `why`, PRC_ENOMEM).
 * Allocates only for more than 16 keys, and frees before returning.
 */
int prc_cmd_slot(const prc_cmd_t *cmd, int argc, const char *const *argv,
                 const size_t *argvlen, const char **why);

/* ---- fork --------------------------------------------------------------- */

/* Fork generation: bumped in the child by a pthread_atfork handler. */
uint64_t prc_fork_generation(void);

#ifdef __cplusplus
}
#endif
#endif /* PRC_H */
