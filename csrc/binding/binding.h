/* binding.h - shared declarations of the CPython binding
 * (pyredisclient._core). */
#ifndef PYRC_BINDING_H
#define PYRC_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"

#include <hiredis.h>

#include "prc.h"

/* Ownership markers for binding functions (after psycopg2's config.h). */
#define PYRC_BORROWED   /* returns a borrowed reference */
#define PYRC_STEALS(n)  /* steals a reference to argument n */
#define PYRC_RAISES     /* returns NULL with an exception set on error */
#define PYRC_RAISES_NEG /* returns -1 with an exception set on error */

/* Type flags that older Pythons lack, as 0 there: every type of the module is
 * immutable; AsyncCall and Pinned are only made by Client methods. */
#ifdef Py_TPFLAGS_IMMUTABLETYPE
#define PYRC_TPFLAGS_IMMUTABLE Py_TPFLAGS_IMMUTABLETYPE
#else
#define PYRC_TPFLAGS_IMMUTABLE 0
#endif
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define PYRC_TPFLAGS_NO_NEW Py_TPFLAGS_DISALLOW_INSTANTIATION
#else
#define PYRC_TPFLAGS_NO_NEW 0
#endif

/* The exception class PRC_EXC_<id> of a module state (borrowed). */
#define PYRC_EXC(st, id) ((st)->exc[PRC_EXC_##id])

/* Module state: types, exception classes and interned objects. */
typedef struct {
    PyTypeObject *ClientType;
    PyTypeObject *BatchType;
    PyTypeObject *AsyncCallType;
    PyTypeObject *PinnedType;
    PyTypeObject *MuxType;
    PyTypeObject *NeverDecodeType; /* a tuple subclass (neverdecode.c) */
    PyTypeObject *CommandMethodType;
    PyObject *exc[PRC_EXC_COUNT]; /* the classes of PRC_EXC_MAP (prc.h) */
    PyObject *logger;             /* logging.getLogger("pyredisclient") */
    PyObject *step_ready; /* (0, -1, None): AsyncCall.step()'s "ready" */
    PyTypeObject *SubscriberType;
    /* A pub/sub message's keys ("type", "pattern", "channel", "data"), its
     * types by PRC_SUB_KIND_* and "reconnect": interned str. */
    PyObject *sub_keys[4];
    PyObject *sub_kinds[PRC_SUB_KIND_COUNT];
    PyObject *sub_reconnect;
    PyObject *retry; /* _core.RETRY: a shared connection's "send again" */
    PyObject *str_done, *str_set_result, *str_set_exception; /* interned */
    PyObject *str_run; /* interned "_run": the command methods' hook */
    /* The buffer of a Batch that died, for the next Batch's commands (a
     * pipeline per request then allocates nothing once warm); empty or
     * owned, at most PYRC_BATCH_KEEP bytes; guarded by the GIL. */
    prc_wbuf_t batch_spare;
} pyrc_state;

/*
 * The binding's own options of _core.Client, in the shape of the core's
 * PRC_OPTIONS_MAP (prc.h): how replies become Python objects.  Client's
 * keywords are the two tables; scripts/gen_stubs.py reads both.
 */
#define PYRC_OPTIONS_MAP(XX)                                                  \
    XX(BOOL, decode, "decode_responses", 0)                                   \
    XX(STR, encoding, "encoding", "utf-8")                                    \
    XX(STR, errors, "encoding_errors", "strict")                              \
    /* asked at each new connection (creds.c); True: the driver answers */    \
    XX(OBJECT, creds, "credential_provider", NULL)

/* OBJECT: any Python object or None (NULL), borrowed from the kwargs. */
#define PRC_OPT_CTYPE_OBJECT PyObject *

typedef struct {
    PYRC_OPTIONS_MAP(PRC_OPT_FIELD)
} pyrc_opts_t;

/* options.c: fill o (from prc_opts_init) and own (the table's defaults)
 * from Client's keyword arguments, checking types only; -1 with
 * TypeError for positional or unknown arguments and a wrong type,
 * ValueError/OverflowError for values no C field can hold.  Strings
 * point into the arguments. */
int pyrc_parse_options(PyObject *args, PyObject *kwds, prc_opts_t *o,
                       pyrc_opts_t *own) PYRC_RAISES_NEG;
/* Every keyword of Client with its default, as a new dict. */
PyObject *pyrc_option_defaults(void) PYRC_RAISES;
/* options.c: the reply and argument codec of a Client or Subscriber from
 * its own options: *encoding and *errors owned copies (PyMem_RawFree),
 * *utf8_strict for the UTF-8 + strict fast path, *arg_encoding NULL for
 * UTF-8 (str arguments take the no-copy path, as redis-py encodes them
 * with the client's encoding) or *encoding.  -1 with MemoryError. */
int pyrc_text_init(const pyrc_opts_t *own, char **encoding, char **errors,
                   int *utf8_strict,
                   const char **arg_encoding) PYRC_RAISES_NEG;

/*
 * creds.c: a credentials provider (the credential_provider option) for the
 * core (prc_opts_t.creds).  A callable is called at each new connection's
 * handshake, taking the GIL if need be, and must return (username or
 * None, password or None); whatever it raises becomes the connection's
 * AuthenticationError (class and message, never a traceback).  True
 * means an asyncio driver answers instead (PRC_WANT_CREDS, then
 * AsyncCall.set_credentials).  With `cached` (a subscriber's, whose
 * connections the core opens holding its mutex) the core gets the answer
 * of the last pyrc_creds_refresh and the GIL is never taken.  install:
 * *out is owned by the caller, who frees it with pyrc_creds_free after the
 * pool or subscriber is freed; NULL (and nothing installed) for None.  -1
 * with TypeError for anything else, or RuntimeError in a subinterpreter.
 */
typedef struct pyrc_creds_s pyrc_creds;
int pyrc_creds_install(PyObject *provider, prc_opts_t *o, int cached,
                       pyrc_creds **out) PYRC_RAISES_NEG;
/* With the GIL and no core lock: ask a cached provider again unless it was
 * asked at this `generation` already (a subscriber's count of lost
 * connections).  Its failure is cached too; nothing is raised.  NULL ok. */
void pyrc_creds_refresh(pyrc_creds *cr, int64_t generation);
void pyrc_creds_free(pyrc_creds *cr);
int pyrc_creds_traverse(pyrc_creds *cr, visitproc visit, void *arg);

/* The client: a pool plus reply-building settings. */
typedef struct {
    PyObject_HEAD prc_pool_t *pool; /* owned */
    pyrc_state *state;              /* borrowed: kept alive through our type */
    double socket_timeout;          /* seconds; < 0 none */
    int decode;                     /* decode_responses */
    int utf8_strict;                /* fast path: utf-8 + strict */
    char *encoding;                 /* owned copy */
    char *errors;                   /* owned copy */
    const char *arg_encoding;       /* NULL (UTF-8 fast path) or encoding */
    /* Owned (PyMem), or NULL: a heap block for synchronous commands too
     * large for the caller's stack buffer, taken by one call at a time
     * and given back (pyrc_cmd_storage, pyrc_cmd_release); guarded by the
     * GIL, which the module requires (Py_MOD_GIL_USED). */
    char *spare;
    size_t spare_cap;
    PyObject *weakreflist;
    /* Owned: the extra fields of this client's logs (redis_host,
     * redis_port, redis_db, redis_tls; only str, int, bool, None, so no
     * cycle: not traversed), and the same as text ("host:port db 0, TLS
     * no"; PyMem_RawFree).  NULL before init. */
    PyObject *log_where;
    char *where;
    pyrc_creds *creds; /* owned, or NULL; outlives the pool */
} RedisClientObject;

/* A queue of encoded commands for one pipeline, kept in C. */
typedef struct {
    PyObject_HEAD prc_wbuf_t out; /* owned: the commands back to back, as
                                     sent; kept between executions */
    char *encoding;               /* owned; NULL for UTF-8 (str arguments) */
    char *errors;                 /* owned; NULL for strict */
    Py_ssize_t n;                 /* commands queued */
    int busy; /* sent by a call in progress: append/clear refuse */
    /* Owned (PyMem), or NULL while no NeverDecode command was queued:
     * raw[i] for the command at position i < raw_cap (pyrc_raw_t). */
    unsigned char *raw;
    Py_ssize_t raw_cap;
    int flags; /* AND of PRC_CALL_READONLY over the commands, OR of
                  PRC_CALL_CLOSE (QUIT) */
    int any_blocking;
    int exec_last;       /* the last command queued is EXEC */
    int transaction;     /* queue() puts MULTI before the first command */
    PyObject *callbacks; /* owned list: one entry (None or callable) per
                            queue(); created with the batch */
    PyObject *owner;     /* owned weak reference to what queue() returns
                            (a Pipeline), or NULL */
    prc_cmd_memo_t memo; /* the last command name's flags (batch_push) */
} BatchObject;

/* One call driven by an event loop through prc_pool_step.  A single
 * command's encoding lives in the object itself (cmd, Py_SIZE bytes): one
 * allocation per call; a batch call sends the batch's buffer. */
typedef struct {
    PyObject_VAR_HEAD RedisClientObject *client; /* strong reference */
    PyObject *batch;          /* strong reference when a batch call */
    struct PinnedObject *pin; /* strong reference while a pinned call is in
                                 flight (the pin lent it its connection) */
    int single;               /* one command: raise its error reply */
    int raw;                  /* single: its reply is never decoded */
    int finished;
    prc_call_t call;
    char cmd[]; /* the single command's RESP, sent by call */
} AsyncCallObject;

/* A connection kept checked out across calls (WATCH ... EXEC). */
typedef struct PinnedObject {
    PyObject_HEAD RedisClientObject *client; /* strong reference */
    prc_conn_t *conn; /* owned while pinned and not lent to a call; NULL
                         before use */
    int busy;         /* a call holds the connection (pin_lend) */
} PinnedObject;

/* Pub/sub on a connection of its own (subscriber.c). */
typedef struct {
    PyObject_HEAD prc_sub_t *sub; /* owned */
    pyrc_state *state;            /* borrowed: kept alive through our type */
    int decode;                   /* decode_responses */
    int utf8_strict;              /* fast path: utf-8 + strict */
    char *encoding;               /* owned copy */
    char *errors;                 /* owned copy */
    const char *arg_encoding;     /* NULL (UTF-8) or encoding */
    PyObject *weakreflist;
    pyrc_creds *creds; /* owned, or NULL; outlives the subscriber */
} SubscriberObject;

/* module.c */
pyrc_state *pyrc_get_state_by_type(PyTypeObject *tp) PYRC_BORROWED;
/* Log on the "pyredisclient" logger.  Returns -1 with the exception set
 * when logging raised (e.g. a signal handler ran inside it) and no other
 * exception was pending; the caller must then propagate it. */
int pyrc_log(pyrc_state *st, int level, const char *fmt, ...);
/* pyrc_log with `extra` (a dict, borrowed; NULL for none) passed as the
 * record's extra fields, for structured logs. */
int pyrc_log_extra(pyrc_state *st, int level, PyObject *extra, const char *fmt,
                   ...);

/* errors.c */
/* The exception class for a core error code (borrowed from the state). */
PyObject *pyrc_error_class(pyrc_state *st, int code) PYRC_BORROWED;
/* Raise the exception class for a core error code; returns NULL. */
PyObject *pyrc_raise(pyrc_state *st, int code, const char *errstr) PYRC_RAISES;
/* Raise for a client or subscriber that could not be created
 * (prc_pool_new, prc_sub_new: code and errbuf); returns -1. */
int pyrc_raise_setup(pyrc_state *st, int code,
                     const char *errstr) PYRC_RAISES_NEG;
/* Build (not raise) the exception for a server error reply; new ref. */
PyObject *pyrc_error_reply(pyrc_state *st, const char *s,
                           size_t len) PYRC_RAISES;
/* The core code an error-reply exception counts as for the breaker (the
 * class's code when prc_breaker_counts it; else PRC_OK). */
int pyrc_error_reply_outcome(pyrc_state *st, PyObject *exc);
/* error_classes(): the module's functions over the error table. */
extern PyMethodDef pyrc_error_methods[];

/* convert.c */
typedef struct {
    const char **argv;
    size_t *argvlen;
    int argc;
    /* storage for converted numbers and buffer exports */
    char *scratch;
    size_t scratch_len;
    Py_buffer *views;
    int nviews;
    PyObject *keep; /* list of temporaries (encoded str, big int text) */
    size_t size;    /* the RESP encoding's exact size, when the conversion
                       computed it on the way (< PRC_MAX_COMMAND); else 0 */
    const char *argv_small[16];
    size_t len_small[16];
    char scratch_small[8 * 32]; /* numbers of up to 8 int/float arguments */
} pyrc_args;

/* Convert n arguments (items[0] the command's name) to argv; every
 * pointer stays valid until pyrc_args_free, while the items live.  Raises
 * DataError naming a bad argument. */
int pyrc_args_from_items(pyrc_state *st, PyObject *const *items, Py_ssize_t n,
                         pyrc_args *a, const char *encoding,
                         const char *errors) PYRC_RAISES_NEG;
/* The same for a PySequence_Fast result (a tuple or a list). */
static inline int
pyrc_args_from_seq(pyrc_state *st, PyObject *seq, pyrc_args *a,
                   const char *encoding, const char *errors)
{
    return pyrc_args_from_items(st, PySequence_Fast_ITEMS(seq),
                                PySequence_Fast_GET_SIZE(seq), a, encoding,
                                errors);
}
void pyrc_args_free(pyrc_args *a);
/* The exact size of argv's RESP encoding (prc_resp_command_len), or -1
 * with DataError when it would reach 2 GiB: checked before anything is
 * written.  The core's writer then encodes it (prc_resp_write_command,
 * prc_wbuf_append_command). */
int pyrc_command_size(pyrc_state *st, const pyrc_args *a,
                      size_t *size) PYRC_RAISES_NEG;
/* Which replies of a parse keep their strings as bytes on a client with
 * decode_responses (commands sent as NeverDecode: redis-py's NEVER_DECODE).
 * Reply i is raw when i < len and flags[i]; when exec >= 0, reply `exec`
 * is a transaction's EXEC, whose element j answers the command at
 * position 1 + j (after MULTI): raw when flags[1 + j].  Borrowed. */
typedef struct {
    const unsigned char *flags;
    Py_ssize_t len;
    Py_ssize_t exec;
} pyrc_raw_t;

/* Is this command (a tuple of arguments) a NeverDecode?  Its type only. */
static inline int
pyrc_never_decode(pyrc_state *st, PyObject *args_seq)
{
    return Py_TYPE(args_seq) == st->NeverDecodeType;
}

/* Parse `n` replies from the connection's bytes into Python objects,
 * decoding none of those `raw` names (NULL: the client's setting for
 * all).  Returns a new reference: the single reply when n == 1 and
 * `as_list` is 0, else a list.  Error replies become exception
 * instances. */
PyObject *pyrc_parse_replies(RedisClientObject *self, prc_conn_t *conn,
                             Py_ssize_t n, int as_list,
                             const pyrc_raw_t *raw) PYRC_RAISES;
/* The same for the n whole replies in buf[0, len) (a shared connection's
 * stream): the reader is fed no byte beyond them.  With `keep`, a reply
 * that a conversion refused (a decoding error, memory) leaves the
 * connection usable: the exception is set, the connection not broken. */
PyObject *pyrc_parse_span(RedisClientObject *self, prc_conn_t *conn,
                          const char *buf, size_t len, Py_ssize_t n,
                          int as_list, int keep,
                          const pyrc_raw_t *raw) PYRC_RAISES;

/* A batch's replies converted while the rest arrive (the blocking
 * driver's PRC_WANT_CONVERT): replies [0, done) of the attempt `retries`
 * are in items, from the first `off` bytes of its reply buffer. */
typedef struct {
    redisReader *reader; /* owned: its own, never the connection's */
    PyObject **items;    /* owned (PyMem), n slots: [0, done) hold
                            references; NULL before the first step */
    Py_ssize_t done;
    size_t off;
    int retries;
} pyrc_partial_t;

/* Convert the replies the call's attempt has framed beyond pp->done
 * (starting over after a replay).  0, or -1 with an exception set, pp
 * cleared and the connection marked broken. */
int pyrc_partial_take(RedisClientObject *self, prc_call_t *call,
                      pyrc_partial_t *pp, Py_ssize_t n,
                      const pyrc_raw_t *raw) PYRC_RAISES_NEG;
/* Free what pp holds (with the GIL); pp is then empty. */
void pyrc_partial_clear(pyrc_partial_t *pp);
/* The converted replies as a new list (all n of them after the last
 * step), pp then empty; NULL with an exception set. */
PyObject *pyrc_partial_list(pyrc_partial_t *pp) PYRC_RAISES;

/* commands.c: command_spec, command_keys, command_names */
extern PyMethodDef pyrc_command_methods[];

/* Raise DataError for a command with a PRC_CMD_* state class that the
 * caller refuses: it would change a connection that goes back to the
 * pool.  The message names the command and what to use instead.
 * Returns -1. */
int pyrc_refuse_state(pyrc_state *st, const pyrc_args *a) PYRC_RAISES_NEG;

/* clientpool.c: the Client methods over its pool (client.c's table). */
PyObject *pyrc_client_pool_stats(RedisClientObject *self, PyObject *unused);
PyObject *pyrc_client_breaker_state(RedisClientObject *self, PyObject *unused);
PyObject *pyrc_client_disconnect(RedisClientObject *self, PyObject *in_use);
PyObject *pyrc_client_metrics(RedisClientObject *self, PyObject *unused);
PyObject *pyrc_client_set_retry(RedisClientObject *self, PyObject *args);
PyObject *pyrc_client_get_retry(RedisClientObject *self, PyObject *unused);
extern const char pyrc_client_pool_stats_doc[];
extern const char pyrc_client_breaker_doc[];
extern const char pyrc_client_disconnect_doc[];
extern const char pyrc_client_metrics_doc[];
extern const char pyrc_client_set_retry_doc[];
extern const char pyrc_client_get_retry_doc[];

/* client.c: the Client type and the synchronous call path. */
extern PyType_Spec pyrc_client_spec;
/* -1 with RedisError when Client.__init__ never ran. */
int pyrc_check_open(RedisClientObject *self) PYRC_RAISES_NEG;
/* Convert one command (a tuple/list) to argv and classify it (*flags,
 * with the blocking timeout in *block); refuses the connection-state
 * commands that may not run where the call's connection goes (a pin
 * allows WATCH and UNWATCH) and commands of 2 GiB or more.  On success
 * *a holds the arguments (pyrc_args_free, then Py_DECREF(*seq)) and
 * *size their encoding's exact size; 0, or -1 with the exception set
 * and nothing to free. */
int pyrc_prepare_single(RedisClientObject *self, PyObject *args_seq,
                        pyrc_args *a, PyObject **seq, size_t *size, int *flags,
                        double *block, PinnedObject *pin) PYRC_RAISES_NEG;
/* A blocking command's deadlines: its own timeout plus a margin. */
void pyrc_set_block_deadline(RedisClientObject *self, prc_call_t *call,
                             double block);
/* The deadline of a command that blocks for `block` seconds (0: for ever,
 * PRC_NO_DEADLINE) plus a margin; `dflt` when block < 0 (not blocking). */
int64_t pyrc_block_deadline(RedisClientObject *self, double block,
                            int64_t dflt);
/* Finish a call and log its breaker transition: -1 when logging raised
 * (the exception is set and must be propagated). */
int pyrc_finish(RedisClientObject *self, prc_call_t *call, int outcome);
/* Log a breaker transition (PRC_BREAKER_*) at WARNING; -1 when logging
 * raised. */
int pyrc_log_transition(RedisClientObject *self, int transition);
/* Log (once) what a call caused: the pool's first connect (INFO), a
 * reconnect after a failure or a breaker transition (WARNING), and reset
 * them on the call; -1 when logging raised. */
int pyrc_log_call_events(RedisClientObject *self, prc_call_t *call);
/* The breaker's states by PRC_BREAKER_*, as Python sees them. */
extern const char *const pyrc_breaker_names[3];
/* Set self->log_where (the extra of every log line) and self->where (the
 * address in messages, PyMem_Raw, freed with the client) from the options
 * the pool was made with; -1 with an exception set. */
int pyrc_set_where(RedisClientObject *self, const prc_opts_t *o);
/* Parse the n replies of a successful call and finish it; `single` raises
 * the one reply's error, `exec` is pyrc_exec_items; raw[i] (raw NULL, or
 * i >= nraw: decoded as the client says) keeps reply i, or a
 * transaction's item, as bytes; pp (or NULL): the replies converted
 * while the call ran, taken over.  New reference. */
PyObject *pyrc_complete(RedisClientObject *self, prc_call_t *call,
                        Py_ssize_t n, int single, Py_ssize_t exec,
                        const unsigned char *raw, Py_ssize_t nraw,
                        pyrc_partial_t *pp) PYRC_RAISES;
/* Finish a call whose replies could not be converted (the exception is
 * set): the outcome it stands for counts against the breaker only when
 * the bytes were not valid RESP.  Always NULL. */
PyObject *pyrc_complete_failed(RedisClientObject *self, prc_call_t *call);
/* The replies the final EXEC of a transaction batch must hold, or -1. */
Py_ssize_t pyrc_exec_items(PyObject *batch);
/* Run one command / a batch to its end, on a pin's connection if given. */
PyObject *pyrc_execute(RedisClientObject *self, PyObject *args_seq,
                       PinnedObject *pin) PYRC_RAISES;
PyObject *pyrc_execute_batch(RedisClientObject *self, PyObject *arg,
                             PinnedObject *pin) PYRC_RAISES;

/* asynccall.c: the AsyncCall type. */
extern PyType_Spec pyrc_asynccall_spec;
/* Begin one command / a batch without blocking (a pin's connection if
 * given): a new AsyncCall for an event loop to drive. */
PyObject *pyrc_start(RedisClientObject *self, PyObject *args_seq,
                     PinnedObject *pin) PYRC_RAISES;
PyObject *pyrc_start_batch(RedisClientObject *self, PyObject *arg,
                           PinnedObject *pin) PYRC_RAISES;

/* batch.c: the Batch type. */
extern PyType_Spec pyrc_batch_spec;
/* -1 with RuntimeError while a call sends the batch. */
int pyrc_batch_busy(BatchObject *self) PYRC_RAISES_NEG;
/* Batch.queue(args, callback=None): queue one command (MULTI first in an
 * empty transaction batch) and its callback; returns the owner or None. */
PyObject *pyrc_batch_queue(BatchObject *self, PyObject *const *args,
                           Py_ssize_t nargs) PYRC_RAISES;
/* The same for the n arguments in items (borrowed for the call); args_seq
 * is the tuple they came from (a NeverDecode marks the reply raw), or
 * NULL. */
PyObject *pyrc_batch_queue_items(BatchObject *self, PyObject *const *items,
                                 Py_ssize_t n, PyObject *args_seq,
                                 PyObject *callback) PYRC_RAISES;
/* cmdmethod.c: the CommandMethod type (commands/base.py plain_command). */
extern PyType_Spec pyrc_cmdmethod_spec;

/* subscriber.c: the Subscriber type. */
extern PyType_Spec pyrc_subscriber_spec;
/* neverdecode.c: the NeverDecode type (a tuple subclass). */
extern PyType_Spec pyrc_neverdecode_spec;
/* mux.c: the Mux type, a connection shared by an event loop's tasks. */
extern PyType_Spec pyrc_mux_spec;
/* A new Mux on the pin's connection, which it takes. */
PyObject *pyrc_mux_new(PinnedObject *pin) PYRC_RAISES;
/* Client.shareable(args): may the command run on a shared connection (not
 * blocking, not QUIT)?  Raises as execute() would for a bad command. */
PyObject *pyrc_shareable(RedisClientObject *self,
                         PyObject *args_seq) PYRC_RAISES;

/* pinned.c: the Pinned type. */
extern PyType_Spec pyrc_pinned_spec;
/* A new Pinned handle of client, with no connection yet. */
PyObject *pyrc_pinned_new(RedisClientObject *client) PYRC_RAISES;
/* Lend a pin's connection to a call (or mark the call to become pinned);
 * -1 with RuntimeError when the pin is busy.  Each lend ends with
 * pyrc_pin_keep. */
int pyrc_pin_lend(PinnedObject *pin, prc_call_t *call) PYRC_RAISES_NEG;
/* After a finished pinned call: the connection goes back to the pin (or
 * is closed when the pin was cleared meanwhile).  NULL pin: nothing. */
void pyrc_pin_keep(RedisClientObject *self, PinnedObject *pin,
                   prc_call_t *call);

#endif /* PYRC_BINDING_H */
