/* client.c - the Client type (a pool with a command interface) and Batch. */
#include <string.h>
#include <strings.h>

#include "binding.h"
#include "structmember.h"

/* ---- helpers ------------------------------------------------------------ */

/* None means "no limit" (-1); numbers must be finite and positive. */
static int
timeout_arg(PyObject *o, const char *name, double *out)
{
    double v;

    if (o == NULL || o == Py_None) {
        *out = -1;
        return 0;
    }
    v = PyFloat_AsDouble(o);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (!(v > 0) || v > 1e9) {
        PyErr_Format(PyExc_ValueError,
                     "%s must be a positive number of seconds or None", name);
        return -1;
    }
    *out = v;
    return 0;
}

#define PYRC_RAISED 1

static const char *const breaker_names[] = {"closed", "open", "half_open"};

/* Log the transition a call caused, once, saying why it opened.  -1
 * when logging raised. */
static int
log_transition(RedisClientObject *self, prc_call_t *call)
{
    pyrc_state *st = self->state;
    int t = call->transition;

    call->transition = -1;
    if (t == PRC_BREAKER_OPEN) {
        prc_breaker_info_t info;
        prc_breaker_info(prc_pool_breaker(self->pool), &info);
        return pyrc_log(st, 30,
                        "circuit breaker opened for %.3g s (%s; last error "
                        "%s): calls fail fast with CircuitOpenError until a "
                        "probe succeeds",
                        (double)info.open_ns / 1e9, info.reason,
                        prc_err_name(info.last_error));
    }
    if (t == PRC_BREAKER_HALF_OPEN) {
        return pyrc_log(st, 20,
                        "circuit breaker half-open: probing the server");
    }
    if (t == PRC_BREAKER_CLOSED) {
        return pyrc_log(st, 20,
                        "circuit breaker closed: server reachable again");
    }
    return 0;
}

/*
 * Run a prepared call: one GIL release covers the pool wait, connect,
 * write and read.  On EINTR the GIL is taken back to run signal handlers;
 * the call then resumes against the same deadline.  Returns the core
 * result, or PYRC_RAISED when a signal handler raised: the call has then
 * been finished and the exception is set.
 */
static int
run_call(RedisClientObject *self, prc_call_t *call)
{
    int rc;

    for (;;) {
        Py_BEGIN_ALLOW_THREADS rc = prc_pool_call(self->pool, call);
        Py_END_ALLOW_THREADS
            /* Signals first: a handler that raises ends the call here, and
             * nothing below may run (and swallow) it before. */
            if (rc == PRC_EINTR && PyErr_CheckSignals() < 0)
        {
            prc_call_finish(self->pool, call, PRC_EINTR);
            call->transition = -1;
            return PYRC_RAISED;
        }
        if (call->transition >= 0 && log_transition(self, call) < 0) {
            prc_call_finish(self->pool, call, PRC_EINTR);
            call->transition = -1;
            return PYRC_RAISED;
        }
        if (rc != PRC_EINTR) {
            return rc;
        }
    }
}

/* Finish a call and log its breaker transition: -1 when logging raised
 * (the exception is set and must be propagated). */
static int
finish(RedisClientObject *self, prc_call_t *call, int outcome)
{
    prc_call_finish(self->pool, call, outcome);
    if (call->transition >= 0) {
        return log_transition(self, call);
    }
    return 0;
}

/* After a successful exchange: the outcome that error replies imply. */
static int
reply_outcome(RedisClientObject *self, prc_conn_t *conn, PyObject *reply)
{
    int outcome;

    if (reply == NULL || !PyExceptionInstance_Check(reply)) {
        return PRC_OK;
    }
    outcome = pyrc_error_reply_outcome(self->state, reply);
    if (outcome != PRC_OK) {
        prc_conn_mark_broken(conn);
    }
    return outcome;
}

/* ---- Client ----------------------------------------------------------- */

static int batch_busy(BatchObject *self);

static int
Client_init(RedisClientObject *self, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"host",
                                         "port",
                                         "unix_socket_path",
                                         "db",
                                         "username",
                                         "password",
                                         "client_name",
                                         "socket_timeout",
                                         "socket_connect_timeout",
                                         "socket_keepalive",
                                         "max_connections",
                                         "pool_timeout",
                                         "health_check_interval",
                                         "decode_responses",
                                         "encoding",
                                         "encoding_errors",
                                         "max_reply_bytes",
                                         "retry_attempts",
                                         "retry_base",
                                         "retry_cap",
                                         "retry_on_timeout",
                                         "circuit_breaker",
                                         "failure_threshold",
                                         "recovery_timeout",
                                         "success_threshold",
                                         "failure_rate_threshold",
                                         "failure_window",
                                         "minimum_calls",
                                         "min_recovery_timeout",
                                         "ssl",
                                         "ssl_ca_certs",
                                         "ssl_ca_path",
                                         "ssl_certfile",
                                         "ssl_keyfile",
                                         "ssl_cert_reqs",
                                         "ssl_check_hostname",
                                         "ssl_server_hostname",
                                         "metrics",
                                         NULL};
    prc_opts_t o;
    PyObject *sock_to = Py_None, *conn_to = Py_None, *pool_to = NULL;
    const char *encoding = "utf-8", *errors = "strict", *cert_reqs = NULL;
    Py_ssize_t max_reply = 512 * 1024 * 1024;
    int decode = 0, err = 0;
    char errbuf[256];

    if (self->pool != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Client already initialised");
        return -1;
    }
    prc_opts_init(&o);
    sock_to = conn_to = NULL;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "|$zizizzzOOpiOdpssniddppididdidpzzzzzpzp",
            (char **)kwlist, &o.host, &o.port, &o.unix_path, &o.db,
            &o.username, &o.password, &o.client_name, &sock_to, &conn_to,
            &o.keepalive, &o.max_connections, &pool_to,
            &o.health_check_interval, &decode, &encoding, &errors, &max_reply,
            &o.retry_attempts, &o.retry_base, &o.retry_cap,
            &o.retry_on_timeout, &o.breaker_enabled, &o.failure_threshold,
            &o.recovery_timeout, &o.success_threshold, &o.failure_rate,
            &o.failure_window, &o.minimum_calls, &o.min_recovery_timeout,
            &o.tls, &o.tls_ca_file, &o.tls_ca_path, &o.tls_cert_file,
            &o.tls_key_file, &cert_reqs, &o.tls_check_hostname,
            &o.tls_server_name, &o.metrics)) {
        return -1;
    }
    /* Not given: the finite defaults; None: no limit. */
    if (sock_to != NULL &&
        timeout_arg(sock_to, "socket_timeout", &o.socket_timeout) < 0) {
        return -1;
    }
    if (conn_to != NULL && timeout_arg(conn_to, "socket_connect_timeout",
                                       &o.connect_timeout) < 0) {
        return -1;
    }
    o.pool_timeout = o.socket_timeout;
    if (pool_to != NULL &&
        timeout_arg(pool_to, "pool_timeout", &o.pool_timeout) < 0) {
        return -1;
    }
    if (o.max_connections < 1) {
        PyErr_SetString(PyExc_ValueError, "max_connections must be >= 1");
        return -1;
    }
    if (o.port < 1 || o.port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port must be in 1-65535");
        return -1;
    }
    if (o.db < 0) {
        PyErr_SetString(PyExc_ValueError, "db must be >= 0");
        return -1;
    }
    if (!(o.failure_rate >= 0 && o.failure_rate <= 1)) {
        PyErr_SetString(PyExc_ValueError,
                        "failure_rate_threshold must be in 0-1 (0: off)");
        return -1;
    }
    if (!(o.failure_window > 0 && o.failure_window <= 1e9) ||
        !(o.min_recovery_timeout > 0 && o.min_recovery_timeout <= 1e9) ||
        !(o.recovery_timeout > 0 && o.recovery_timeout <= 1e9)) {
        PyErr_SetString(PyExc_ValueError,
                        "failure_window, min_recovery_timeout and "
                        "recovery_timeout must be seconds > 0");
        return -1;
    }
    if (o.minimum_calls < 1 || o.failure_threshold < 1 ||
        o.success_threshold < 1 || o.success_threshold > 255) {
        PyErr_SetString(PyExc_ValueError,
                        "minimum_calls and failure_threshold must be >= 1, "
                        "success_threshold 1-255");
        return -1;
    }
    if (max_reply < 1024) {
        PyErr_SetString(PyExc_ValueError, "max_reply_bytes must be >= 1024");
        return -1;
    }
    if (o.username != NULL && o.password == NULL) {
        PyErr_SetString(PyExc_ValueError, "username requires a password");
        return -1;
    }
    if (cert_reqs == NULL || strcmp(cert_reqs, "required") == 0) {
        o.tls_verify = PRC_TLS_VERIFY_REQUIRED;
    } else if (strcmp(cert_reqs, "optional") == 0) {
        o.tls_verify = PRC_TLS_VERIFY_OPTIONAL;
    } else if (strcmp(cert_reqs, "none") == 0) {
        o.tls_verify = PRC_TLS_VERIFY_NONE;
    } else {
        PyErr_SetString(PyExc_ValueError,
                        "ssl_cert_reqs must be 'required', 'optional' or "
                        "'none'");
        return -1;
    }
    if (PyCodec_KnownEncoding(encoding) != 1) {
        PyErr_Format(PyExc_ValueError, "unknown encoding %s", encoding);
        return -1;
    }
    o.max_reply_bytes = (size_t)max_reply;
    self->socket_timeout = o.socket_timeout;
    self->decode = decode;
    self->encoding = PyMem_RawMalloc(strlen(encoding) + 1);
    self->errors = PyMem_RawMalloc(strlen(errors) + 1);
    if (self->encoding == NULL || self->errors == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    strcpy(self->encoding, encoding);
    strcpy(self->errors, errors);
    self->utf8_strict =
        (strcmp(encoding, "utf-8") == 0 || strcmp(encoding, "utf8") == 0) &&
        strcmp(errors, "strict") == 0;
    /* str arguments are encoded with the client's encoding, as redis-py
     * does; UTF-8 takes the no-copy path. */
    self->arg_encoding = (strcasecmp(encoding, "utf-8") == 0 ||
                          strcasecmp(encoding, "utf8") == 0)
                             ? NULL
                             : self->encoding;
    /* Pool waits cannot be interrupted by signals: wake every 100 ms so a
     * Ctrl-C handler runs promptly. */
    o.wait_slice = 0.1;
    self->pool = prc_pool_new(&o, &err, errbuf, sizeof(errbuf));
    if (self->pool == NULL) {
        if (err == PRC_ETLS) {
            PyErr_SetString(self->state->ConnectionError, errbuf);
        } else if (err == PRC_ENOMEM) {
            PyErr_NoMemory();
        } else {
            PyErr_SetString(PyExc_ValueError, errbuf);
        }
        return -1;
    }
    return 0;
}

static PyObject *
Client_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    RedisClientObject *self;

    (void)args;
    (void)kwds;
    self = (RedisClientObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->state = pyrc_get_state_by_type(type);
    self->socket_timeout = 5.0;
    return (PyObject *)self;
}

static int
Client_traverse(RedisClientObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void
Client_dealloc(RedisClientObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    prc_pool_free(self->pool);
    PyMem_RawFree(self->encoding);
    PyMem_RawFree(self->errors);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int
check_open(RedisClientObject *self)
{
    if (self->pool == NULL) {
        PyErr_SetString(self->state->RedisError,
                        "Client.__init__ was not called");
        return -1;
    }
    return 0;
}

/* The deadline of a blocking command: its own timeout plus a margin. */
static void
set_block_deadline(RedisClientObject *self, prc_call_t *call, double block)
{
    double margin = self->socket_timeout > 0.5 ? self->socket_timeout : 0.5;

    if (block == 0) {
        call->block_deadline = PRC_NO_DEADLINE; /* BLPOP k 0: wait forever */
        call->deadline = PRC_NO_DEADLINE;
    } else if (block > 0) {
        call->block_deadline = prc_deadline_after(block + margin);
        if (call->deadline < call->block_deadline) {
            call->deadline = call->block_deadline;
        }
    } else {
        call->block_deadline = call->deadline;
    }
}

PyDoc_STRVAR(
    Client_execute_doc,
    "execute($self, args, /)\n--\n\n"
    "Send one command (a tuple of str, bytes, bytearray, memoryview,\n"
    "int or float) and return its reply.  An error reply raises\n"
    "ResponseError (or a subclass).");

/* Raise DataError for a command with a PRC_CMD_* state class (prc.h) that
 * the caller refuses: it would change a connection that goes back to the
 * pool.  The message names the command and what to use instead.  Called
 * only when the classification (done for every command anyway) set such
 * a class, so the check costs one test on the hot path.  Returns -1. */
static int
refuse_state(pyrc_state *st, const pyrc_args *a)
{
    const char *name;
    const char *advice =
        prc_command_refusal(a->argc, a->argv, a->argvlen, &name);

    PyErr_Format(st->DataError, "%s is not allowed on a pooled connection: %s",
                 name != NULL ? name : "this command",
                 advice != NULL ? advice
                                : "it changes the connection's state");
    return -1;
}

/* The state classes refused for one command: on a pooled connection all
 * of them; on a pinned one (a WATCHing pipeline) WATCH and UNWATCH may go,
 * since the pin ends with EXEC, UNWATCH or a close, never pooled watching,
 * while MULTI, EXEC and DISCARD belong to the pipeline's own batch. */
static inline int
refused_single(PinnedObject *pin)
{
    return pin == NULL ? PRC_CMD_STATE : PRC_CMD_STATE & ~PRC_CMD_WATCH;
}

/* Encode one command and classify it; returns the formatted buffer
 * (pyrc_free_command) or NULL with an exception set.  A command with a
 * state class refused on its connection (refused_single) raises DataError
 * (refuse_state).  The state classes stay in *flags: the pool ignores
 * them. */
static char *
prepare_single(RedisClientObject *self, PyObject *args_seq, size_t *len,
               int *flags, double *block, PinnedObject *pin)
{
    pyrc_args a;
    PyObject *seq;
    char *cmd;

    seq = PySequence_Fast(args_seq, "execute() takes a tuple of arguments");
    if (seq == NULL) {
        return NULL;
    }
    if (pyrc_args_from_seq(self->state, seq, &a, self->arg_encoding,
                           self->errors) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    *flags = prc_command_flags(a.argc, a.argv, a.argvlen, block);
    if ((*flags & PRC_CMD_STATE) && (*flags & refused_single(pin))) {
        refuse_state(self->state, &a);
        pyrc_args_free(&a);
        Py_DECREF(seq);
        return NULL;
    }
    cmd = pyrc_format(self->state, &a, len);
    /* The formatted command is a copy: nothing inside the GIL-released
     * section points into a Python object. */
    pyrc_args_free(&a);
    Py_DECREF(seq);
    return cmd;
}

/* How many replies the EXEC that ends a transaction batch must hold (its
 * MULTI and EXEC aside), or -1 when the batch is no transaction. */
static Py_ssize_t
exec_items(PyObject *batch)
{
    BatchObject *b = (BatchObject *)batch;

    if (batch == NULL || !b->transaction || !b->exec_last || b->n < 2) {
        return -1;
    }
    return b->n - 2;
}

/* EXEC answers an array of one reply per queued command, nil when a WATCHed
 * key changed, or an error.  Anything else means the replies cannot be
 * matched to the commands: raise ProtocolError and never reuse the
 * connection.  Steals `replies`; returns it, or NULL with the error set. */
static PyObject *
check_exec(RedisClientObject *self, prc_call_t *call, PyObject *replies,
           Py_ssize_t items)
{
    PyObject *last = PyList_GET_ITEM(replies, PyList_GET_SIZE(replies) - 1);

    if (last == Py_None || PyExceptionInstance_Check(last) ||
        (PyList_Check(last) && PyList_GET_SIZE(last) == items)) {
        return replies;
    }
    if (PyList_Check(last)) {
        PyErr_Format(self->state->ProtocolError,
                     "invalid EXEC reply: an array of %zd replies for %zd "
                     "queued commands; connection closed",
                     PyList_GET_SIZE(last), items);
    } else {
        PyErr_Format(self->state->ProtocolError,
                     "invalid EXEC reply: %s where an array of %zd replies "
                     "was expected; connection closed",
                     PyLong_Check(last) ? "an integer" : "a string", items);
    }
    prc_conn_mark_broken(call->conn);
    Py_DECREF(replies);
    return NULL;
}

/* Parse the replies of a successful call and finish it.  `single`: one
 * reply, whose error reply is raised; `exec`: the items the batch's final
 * EXEC must hold, or -1.  Returns a new reference or NULL. */
static PyObject *
complete(RedisClientObject *self, prc_call_t *call, Py_ssize_t n, int single,
         Py_ssize_t exec)
{
    PyObject *replies;
    Py_ssize_t i, nerr = 0;
    int outcome = PRC_OK;

    replies = pyrc_parse_replies(self, call->conn, n, !single);
    if (replies != NULL && exec >= 0) {
        replies = check_exec(self, call, replies, exec);
    }
    if (replies == NULL) {
        /* Invalid RESP counts against the breaker; a reply we could not
         * decode (encoding errors, memory) says nothing about the server. */
        outcome = PyErr_ExceptionMatches(self->state->ProtocolError)
                      ? PRC_EPROTO
                      : PRC_EINVAL;
    } else if (single) {
        outcome = reply_outcome(self, call->conn, replies);
        nerr = PyExceptionInstance_Check(replies);
    } else {
        for (i = 0; i < n; i++) {
            PyObject *r = PyList_GET_ITEM(replies, i);
            if (PyExceptionInstance_Check(r)) {
                nerr++;
                if (outcome == PRC_OK) {
                    outcome = reply_outcome(self, call->conn, r);
                }
            }
        }
    }
    if (nerr > 0) {
        prc_pool_count_response_errors(self->pool, nerr);
    }
    if (finish(self, call, outcome) < 0) {
        Py_XDECREF(replies);
        return NULL;
    }
    if (single && replies != NULL && PyExceptionInstance_Check(replies)) {
        PyErr_SetObject((PyObject *)Py_TYPE(replies), replies);
        Py_DECREF(replies);
        return NULL;
    }
    return replies;
}

/* Lend a pin's connection to a call, or mark the call to become pinned when
 * the pin has none yet.  While lent the call owns the connection and the pin
 * is busy: one call at a time, so two tasks (or threads) sharing a WATCHing
 * pipeline get an error instead of interleaved replies, and a pin cleared
 * while its call is in flight (a garbage cycle) never frees the connection
 * under the call.  Every successful lend is ended by pin_keep. */
static int
pin_lend(PinnedObject *pin, prc_call_t *call)
{
    if (pin == NULL) {
        return 0;
    }
    if (pin->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the pinned connection is busy: a WATCHing pipeline "
                        "serves one call at a time");
        return -1;
    }
    pin->busy = 1;
    if (pin->conn != NULL) {
        prc_call_use_conn(call, pin->conn);
        pin->conn = NULL;
    } else {
        call->flags |= PRC_CALL_PIN;
    }
    return 0;
}

/* After a finished pinned call: the connection goes back to the pin, or to
 * the pool (closed) when the pin was cleared meanwhile. */
static void
pin_keep(RedisClientObject *self, PinnedObject *pin, prc_call_t *call)
{
    prc_conn_t *c;

    if (pin == NULL) {
        return;
    }
    pin->busy = 0;
    c = prc_call_take_conn(call);
    if (c != NULL) {
        if (pin->client == NULL || pin->conn != NULL) {
            prc_pool_unpin(self->pool, c, 0);
        } else {
            pin->conn = c;
        }
    }
}

static PyObject *
execute_impl(RedisClientObject *self, PyObject *args_seq, PinnedObject *pin)
{
    prc_call_t call;
    PyObject *reply;
    char *cmd;
    size_t len;
    double block;
    int flags, rc;

    if (check_open(self) < 0) {
        return NULL;
    }
    cmd = prepare_single(self, args_seq, &len, &flags, &block, pin);
    if (cmd == NULL) {
        return NULL;
    }
    prc_call_init(&call, cmd, len, 1, flags,
                  prc_deadline_after(self->socket_timeout));
    if (flags & PRC_CALL_BLOCKING) {
        set_block_deadline(self, &call, block);
    }
    if (pin_lend(pin, &call) < 0) {
        pyrc_free_command(cmd);
        return NULL;
    }
    rc = run_call(self, &call);
    if (rc != 0) {
        if (rc != PYRC_RAISED && finish(self, &call, rc) == 0) {
            pyrc_raise(self->state, rc, call.errstr);
        }
        pin_keep(self, pin, &call);
        pyrc_free_command(cmd);
        return NULL;
    }
    reply = complete(self, &call, 1, 1, -1);
    pin_keep(self, pin, &call);
    pyrc_free_command(cmd);
    return reply;
}

static PyObject *
Client_execute(RedisClientObject *self, PyObject *args_seq)
{
    return execute_impl(self, args_seq, NULL);
}

PyDoc_STRVAR(
    Client_run_doc,
    "run($self, args, callback=None, /)\n--\n\n"
    "execute(args), then callback(reply) when a callback is given.  The\n"
    "command methods' _run hook, with no Python frame in between.");

static PyObject *
Client_run(RedisClientObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *reply, *result;

    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "run() takes 1 or 2 positional arguments (%zd given)",
                     nargs);
        return NULL;
    }
    reply = execute_impl(self, args[0], NULL);
    if (reply == NULL || nargs == 1 || args[1] == Py_None) {
        return reply;
    }
    result = PyObject_CallOneArg(args[1], reply);
    Py_DECREF(reply);
    return result;
}

PyDoc_STRVAR(Client_execute_batch_doc,
             "execute_batch($self, batch, /)\n--\n\n"
             "Send every command queued in a Batch with one write and read\n"
             "all replies.  Returns a list; error replies are returned as\n"
             "exception instances, never raised.");

static PyObject *
execute_batch_impl(RedisClientObject *self, PyObject *arg, PinnedObject *pin)
{
    BatchObject *b;
    prc_call_t call;
    PyObject *replies;
    int rc;

    if (check_open(self) < 0) {
        return NULL;
    }
    if (!PyObject_TypeCheck(arg, self->state->BatchType)) {
        PyErr_SetString(PyExc_TypeError, "execute_batch() takes a Batch");
        return NULL;
    }
    b = (BatchObject *)arg;
    if (batch_busy(b) < 0) {
        return NULL;
    }
    if (b->n == 0) {
        return PyList_New(0);
    }
    if (b->n > INT32_MAX) {
        PyErr_SetString(self->state->DataError, "too many queued commands");
        return NULL;
    }
    /* A blocking command inside a pipeline never gets an unlimited wait:
     * pipelines keep the socket timeout. */
    prc_call_init(&call, b->buf, b->len, (int)b->n,
                  b->flags & ~PRC_CALL_BLOCKING,
                  prc_deadline_after(self->socket_timeout));
    if (pin_lend(pin, &call) < 0) {
        return NULL;
    }
    /* Keep the batch alive and unchanged while the GIL is released. */
    Py_INCREF(b);
    b->busy = 1;
    rc = run_call(self, &call);
    b->busy = 0;
    if (rc != 0) {
        if (rc != PYRC_RAISED && finish(self, &call, rc) == 0) {
            pyrc_raise(self->state, rc, call.errstr);
        }
        pin_keep(self, pin, &call);
        Py_DECREF(b);
        return NULL;
    }
    replies = complete(self, &call, b->n, 0, exec_items((PyObject *)b));
    pin_keep(self, pin, &call);
    Py_DECREF(b);
    return replies;
}

static PyObject *
Client_execute_batch(RedisClientObject *self, PyObject *arg)
{
    return execute_batch_impl(self, arg, NULL);
}

PyDoc_STRVAR(
    Client_pinned_doc,
    "pinned($self, /)\n--\n\n"
    "A Pinned handle: its calls share one connection (checked out by\n"
    "the first call) until release(), for WATCH/MULTI/EXEC.");

static PyObject *
Client_pinned(RedisClientObject *self, PyObject *unused)
{
    PinnedObject *pin;

    (void)unused;
    if (check_open(self) < 0) {
        return NULL;
    }
    pin = PyObject_GC_New(PinnedObject, self->state->PinnedType);
    if (pin == NULL) {
        return NULL;
    }
    Py_INCREF(self);
    pin->client = self;
    pin->conn = NULL;
    pin->busy = 0;
    PyObject_GC_Track(pin);
    return (PyObject *)pin;
}

PyDoc_STRVAR(Client_pool_stats_doc,
             "pool_stats($self, /)\n--\n\nPool counters as a dict.");

static PyObject *
Client_pool_stats(RedisClientObject *self, PyObject *unused)
{
    prc_pool_stats_t s;

    (void)unused;
    if (check_open(self) < 0) {
        return NULL;
    }
    prc_pool_stats(self->pool, &s);
    return Py_BuildValue(
        "{sLsLsLsLsLsLsLsLsLsLsL}", "created", (long long)s.created, "closed",
        (long long)s.closed, "in_use", (long long)s.in_use, "idle",
        (long long)s.idle, "waits", (long long)s.waits, "timeouts",
        (long long)s.timeouts, "errors", (long long)s.errors, "retries",
        (long long)s.retries, "max_connections", (long long)s.max_connections,
        "health_checks", (long long)s.health_checks, "stale",
        (long long)s.stale);
}

PyDoc_STRVAR(Client_breaker_doc,
             "breaker_state($self, /)\n--\n\n"
             "Circuit breaker state, settings and counters as a dict, with\n"
             "why it is open (reason) and for how long (open_seconds,\n"
             "open_remaining).");

static PyObject *
Client_breaker_state(RedisClientObject *self, PyObject *unused)
{
    prc_breaker_t *b;
    prc_breaker_info_t info;
    PyObject *reason, *last_error, *res;

    (void)unused;
    if (check_open(self) < 0) {
        return NULL;
    }
    b = prc_pool_breaker(self->pool);
    prc_breaker_info(b, &info);
    if (info.reason[0]) {
        reason = PyUnicode_FromString(info.reason);
    } else {
        Py_INCREF(Py_None);
        reason = Py_None;
    }
    if (info.last_error != 0) {
        last_error = PyObject_GetAttrString(
            pyrc_error_class(self->state, info.last_error), "__name__");
    } else {
        Py_INCREF(Py_None);
        last_error = Py_None;
    }
    if (reason == NULL || last_error == NULL) {
        Py_XDECREF(reason);
        Py_XDECREF(last_error);
        return NULL;
    }
    res = Py_BuildValue(
        "{sssOsOsOszsisisisdsdsisLsLsdsdsdsdsLsLsL}", "state",
        breaker_names[info.state], "enabled", b->enabled ? Py_True : Py_False,
        "reason", reason, "last_error", last_error, "last_error_code",
        info.last_error ? prc_err_name(info.last_error) : NULL, "failures",
        info.failures, "failure_threshold", b->failure_threshold,
        "success_threshold", b->success_threshold, "failure_rate_threshold",
        b->failure_rate, "failure_window", (double)b->window_ns / 1e9,
        "minimum_calls", b->minimum_calls, "window_calls",
        (long long)info.window_calls, "window_failures",
        (long long)info.window_failures, "open_seconds",
        (double)info.open_ns / 1e9, "open_remaining",
        (double)info.open_left_ns / 1e9, "min_recovery_timeout",
        (double)b->min_open_ns / 1e9, "recovery_timeout",
        (double)b->recovery_ns / 1e9, "opens",
        (long long)atomic_load(&b->opens), "refused",
        (long long)atomic_load(&b->refused), "transitions",
        (long long)atomic_load(&b->transitions));
    Py_DECREF(reason);
    Py_DECREF(last_error);
    return res;
}

PyDoc_STRVAR(
    Client_close_doc,
    "close($self, /)\n--\n\n"
    "Close idle connections, wake callers blocked on this client and\n"
    "refuse new calls with ConnectionError.  Idempotent.");

static PyObject *
Client_close(RedisClientObject *self, PyObject *unused)
{
    (void)unused;
    if (self->pool != NULL) {
        prc_pool_close(self->pool);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Client_metrics_doc,
    "metrics($self, /)\n--\n\n"
    "Call counters, failures by core error name, and the latency\n"
    "histogram (cumulative buckets keyed by upper bound in seconds).");

static PyObject *
Client_metrics(RedisClientObject *self, PyObject *unused)
{
    prc_metrics_t m;
    PyObject *errors = NULL, *hist = NULL, *res = NULL;
    int64_t cum = 0;
    int i;

    (void)unused;
    if (check_open(self) < 0) {
        return NULL;
    }
    prc_pool_metrics(self->pool, &m);
    errors = PyDict_New();
    hist = PyList_New(0);
    if (errors == NULL || hist == NULL) {
        goto done;
    }
    for (i = 1; i < PRC_NCODES; i++) {
        PyObject *v;
        if (m.errors[i] == 0) {
            continue;
        }
        v = PyLong_FromLongLong(m.errors[i]);
        if (v == NULL || PyDict_SetItemString(errors, prc_err_name(-i), v)) {
            Py_XDECREF(v);
            goto done;
        }
        Py_DECREF(v);
    }
    for (i = 0; i < PRC_HIST_BUCKETS; i++) {
        PyObject *pair;
        cum += m.hist[i];
        if (i < PRC_HIST_BUCKETS - 1) {
            pair = Py_BuildValue("(dL)", prc_hist_bounds[i], (long long)cum);
        } else {
            pair = Py_BuildValue("(sL)", "+Inf", (long long)cum);
        }
        if (pair == NULL || PyList_Append(hist, pair) < 0) {
            Py_XDECREF(pair);
            goto done;
        }
        Py_DECREF(pair);
    }
    res = Py_BuildValue("{sLsLsLsOsOsdsL}", "calls", (long long)m.calls,
                        "commands", (long long)m.commands, "response_errors",
                        (long long)m.response_errors, "errors", errors,
                        "latency_histogram", hist, "latency_seconds_sum",
                        (double)m.latency_ns_sum / 1e9, "breaker_transitions",
                        (long long)m.breaker_transitions);
done:
    Py_XDECREF(errors);
    Py_XDECREF(hist);
    return res;
}

/* ---- AsyncCall: a call driven by an event loop -------------------------- */

static AsyncCallObject *
new_async_call(RedisClientObject *self)
{
    AsyncCallObject *ac =
        PyObject_GC_New(AsyncCallObject, self->state->AsyncCallType);

    if (ac == NULL) {
        return NULL;
    }
    Py_INCREF(self);
    ac->client = self;
    ac->batch = NULL;
    ac->pin = NULL;
    ac->cmd = NULL;
    ac->single = 0;
    ac->finished = 0;
    PyObject_GC_Track(ac);
    return ac;
}

/* A new AsyncCall on a pinned connection (pin may be NULL: none): borrow the
 * pin's connection for the call's life, holding a reference to the pin until
 * async_finish gives it back.  On failure the call is marked finished (it
 * checked nothing out) for the caller to drop. */
static int
async_lend(AsyncCallObject *ac, PinnedObject *pin)
{
    if (pin == NULL) {
        return 0;
    }
    if (pin_lend(pin, &ac->call) < 0) {
        ac->finished = 1;
        return -1;
    }
    Py_INCREF(pin);
    ac->pin = pin;
    return 0;
}

/* Begin one command without blocking, on a pinned connection when pin is
 * given; the AsyncCall owns cmd and, until it finishes, the lent pin. */
static PyObject *
start_impl(RedisClientObject *self, PyObject *args_seq, PinnedObject *pin)
{
    AsyncCallObject *ac;
    size_t len;
    double block;
    int flags;
    char *cmd;

    if (check_open(self) < 0) {
        return NULL;
    }
    cmd = prepare_single(self, args_seq, &len, &flags, &block, pin);
    if (cmd == NULL) {
        return NULL;
    }
    ac = new_async_call(self);
    if (ac == NULL) {
        pyrc_free_command(cmd);
        return NULL;
    }
    ac->cmd = cmd;
    ac->single = 1;
    prc_call_init(&ac->call, cmd, len, 1, flags | PRC_CALL_NONBLOCK,
                  prc_deadline_after(self->socket_timeout));
    if (flags & PRC_CALL_BLOCKING) {
        set_block_deadline(self, &ac->call, block);
    }
    if (async_lend(ac, pin) < 0) {
        Py_DECREF(ac);
        return NULL;
    }
    return (PyObject *)ac;
}

PyDoc_STRVAR(Client_start_doc,
             "start($self, args, /)\n--\n\n"
             "Begin one command without blocking; drive it with AsyncCall.");

static PyObject *
Client_start(RedisClientObject *self, PyObject *args_seq)
{
    return start_impl(self, args_seq, NULL);
}

/* Begin a pipeline without blocking (pinned when pin is given); the
 * AsyncCall holds the batch, busy, until it finishes. */
static PyObject *
start_batch_impl(RedisClientObject *self, PyObject *arg, PinnedObject *pin)
{
    AsyncCallObject *ac;
    BatchObject *b;

    if (check_open(self) < 0) {
        return NULL;
    }
    if (!PyObject_TypeCheck(arg, self->state->BatchType)) {
        PyErr_SetString(PyExc_TypeError, "start_batch() takes a Batch");
        return NULL;
    }
    b = (BatchObject *)arg;
    if (b->busy || b->n <= 0 || b->n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError,
                        "start_batch() needs a non-empty, idle batch");
        return NULL;
    }
    ac = new_async_call(self);
    if (ac == NULL) {
        return NULL;
    }
    prc_call_init(&ac->call, b->buf, b->len, (int)b->n,
                  (b->flags & ~PRC_CALL_BLOCKING) | PRC_CALL_NONBLOCK,
                  prc_deadline_after(self->socket_timeout));
    if (async_lend(ac, pin) < 0) {
        Py_DECREF(ac);
        return NULL;
    }
    Py_INCREF(b);
    ac->batch = (PyObject *)b;
    b->busy = 1; /* until the call is finished */
    return (PyObject *)ac;
}

PyDoc_STRVAR(Client_start_batch_doc,
             "start_batch($self, batch, /)\n--\n\n"
             "Begin a pipeline without blocking; drive it with AsyncCall.");

static PyObject *
Client_start_batch(RedisClientObject *self, PyObject *arg)
{
    return start_batch_impl(self, arg, NULL);
}

/* Finish once: settle the breaker and release or close the connection;
 * give the batch back. */
static int
async_finish(AsyncCallObject *ac, int outcome)
{
    int rc = 0;

    if (!ac->finished) {
        ac->finished = 1;
        rc = finish(ac->client, &ac->call, outcome);
    }
    if (ac->pin != NULL) {
        /* The connection goes back to the pin, which is free again. */
        PinnedObject *pin = ac->pin;
        ac->pin = NULL;
        pin_keep(ac->client, pin, &ac->call);
        Py_DECREF(pin);
    }
    if (ac->batch != NULL) {
        BatchObject *b = (BatchObject *)ac->batch;
        b->busy = 0;
    }
    return rc;
}

static PyObject *
async_fail(AsyncCallObject *ac, int rc)
{
    if (async_finish(ac, rc) < 0) {
        return NULL;
    }
    return pyrc_raise(ac->client->state, rc, ac->call.errstr);
}

PyDoc_STRVAR(
    AsyncCall_step_doc,
    "step($self, /)\n--\n\n"
    "Advance without blocking.  Returns 0 when the replies are ready\n"
    "(call result()), or WANT_READ / WANT_WRITE (wait on fileno()),\n"
    "WANT_POOL (wait for a release) or WANT_SLEEP, each for at most\n"
    "timeout() seconds; raises on failure (the call is finished).");

static PyObject *
AsyncCall_step(AsyncCallObject *ac, PyObject *unused)
{
    int rc;

    (void)unused;
    if (ac->finished) {
        PyErr_SetString(PyExc_RuntimeError, "the call is finished");
        return NULL;
    }
    rc = prc_pool_step(ac->client->pool, &ac->call);
    if (ac->call.transition >= 0 &&
        log_transition(ac->client, &ac->call) < 0) {
        async_finish(ac, PRC_EINTR);
        return NULL;
    }
    if (rc < 0) {
        return async_fail(ac, rc);
    }
    return PyLong_FromLong(rc);
}

PyDoc_STRVAR(
    AsyncCall_timed_out_doc,
    "timed_out($self, /)\n--\n\n"
    "The wait passed its deadline: returns None when the call goes on\n"
    "(step again), or raises TimeoutError/PoolTimeoutError.");

static PyObject *
AsyncCall_timed_out(AsyncCallObject *ac, PyObject *unused)
{
    int rc;

    (void)unused;
    if (ac->finished) {
        PyErr_SetString(PyExc_RuntimeError, "the call is finished");
        return NULL;
    }
    rc = prc_call_timed_out(ac->client->pool, &ac->call);
    if (rc != 0) {
        return async_fail(ac, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *
AsyncCall_fileno(AsyncCallObject *ac, PyObject *unused)
{
    (void)unused;
    return PyLong_FromLong(ac->call.wait_fd);
}

static PyObject *
AsyncCall_timeout(AsyncCallObject *ac, PyObject *unused)
{
    int64_t left;

    (void)unused;
    if (ac->call.wait_deadline == PRC_NO_DEADLINE) {
        Py_RETURN_NONE;
    }
    left = ac->call.wait_deadline - prc_now();
    return PyFloat_FromDouble(left > 0 ? (double)left / 1e9 : 0.0);
}

PyDoc_STRVAR(
    AsyncCall_result_doc,
    "result($self, /)\n--\n\n"
    "After step() returned 0: build the reply (or list of replies for\n"
    "a batch) and finish the call.  A single command's error reply\n"
    "is raised.");

static PyObject *
AsyncCall_result(AsyncCallObject *ac, PyObject *unused)
{
    Py_ssize_t n = ac->call.nreplies;
    PyObject *res;

    (void)unused;
    if (ac->finished || ac->call.conn == NULL || ac->call.err != 0) {
        PyErr_SetString(PyExc_RuntimeError, "no reply is ready");
        return NULL;
    }
    ac->finished = 1;
    res =
        complete(ac->client, &ac->call, n, ac->single, exec_items(ac->batch));
    async_finish(ac, PRC_OK); /* gives the batch back; already finished */
    return res;
}

PyDoc_STRVAR(
    AsyncCall_cancel_doc,
    "cancel($self, /)\n--\n\n"
    "Abandon the call: its connection is closed, never pooled, so no\n"
    "half-read reply can reach a later call.  Idempotent.");

static PyObject *
AsyncCall_cancel(AsyncCallObject *ac, PyObject *unused)
{
    (void)unused;
    if (async_finish(ac, PRC_EINTR) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
AsyncCall_traverse(AsyncCallObject *ac, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(ac));
    Py_VISIT(ac->client);
    Py_VISIT(ac->batch);
    Py_VISIT(ac->pin);
    return 0;
}

static int
AsyncCall_clear(AsyncCallObject *ac)
{
    if (!ac->finished && ac->client != NULL &&
        async_finish(ac, PRC_EINTR) < 0) {
        PyErr_WriteUnraisable((PyObject *)ac);
    }
    Py_CLEAR(ac->batch);
    Py_CLEAR(ac->client);
    return 0;
}

static void
AsyncCall_dealloc(AsyncCallObject *ac)
{
    PyTypeObject *tp = Py_TYPE(ac);

    PyObject_GC_UnTrack(ac);
    AsyncCall_clear(ac);
    if (ac->cmd != NULL) {
        pyrc_free_command(ac->cmd);
    }
    PyObject_GC_Del(ac);
    Py_DECREF(tp);
}

static PyMethodDef AsyncCall_methods[] = {
    {"step", (PyCFunction)AsyncCall_step, METH_NOARGS, AsyncCall_step_doc},
    {"timed_out", (PyCFunction)AsyncCall_timed_out, METH_NOARGS,
     AsyncCall_timed_out_doc},
    {"fileno", (PyCFunction)AsyncCall_fileno, METH_NOARGS,
     "fileno($self, /)\n--\n\nThe descriptor to wait on, or -1."},
    {"timeout", (PyCFunction)AsyncCall_timeout, METH_NOARGS,
     "timeout($self, /)\n--\n\nSeconds left for the current wait, or None."},
    {"result", (PyCFunction)AsyncCall_result, METH_NOARGS,
     AsyncCall_result_doc},
    {"cancel", (PyCFunction)AsyncCall_cancel, METH_NOARGS,
     AsyncCall_cancel_doc},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot AsyncCall_slots[] = {
    {Py_tp_doc, (void *)"One call driven by an event loop."},
    {Py_tp_dealloc, AsyncCall_dealloc},
    {Py_tp_traverse, AsyncCall_traverse},
    {Py_tp_clear, AsyncCall_clear},
    {Py_tp_methods, AsyncCall_methods},
    {0, NULL},
};

PyType_Spec pyrc_asynccall_spec = {
    .name = "pyredisclient._core.AsyncCall",
    .basicsize = sizeof(AsyncCallObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_NO_NEW |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = AsyncCall_slots,
};

static PyMethodDef Client_methods[] = {
    {"execute", (PyCFunction)Client_execute, METH_O, Client_execute_doc},
    {"run", (PyCFunction)(void (*)(void))Client_run, METH_FASTCALL,
     Client_run_doc},
    {"execute_batch", (PyCFunction)Client_execute_batch, METH_O,
     Client_execute_batch_doc},
    {"pool_stats", (PyCFunction)Client_pool_stats, METH_NOARGS,
     Client_pool_stats_doc},
    {"breaker_state", (PyCFunction)Client_breaker_state, METH_NOARGS,
     Client_breaker_doc},
    {"close", (PyCFunction)Client_close, METH_NOARGS, Client_close_doc},
    {"metrics", (PyCFunction)Client_metrics, METH_NOARGS, Client_metrics_doc},
    {"pinned", (PyCFunction)Client_pinned, METH_NOARGS, Client_pinned_doc},
    {"start", (PyCFunction)Client_start, METH_O, Client_start_doc},
    {"start_batch", (PyCFunction)Client_start_batch, METH_O,
     Client_start_batch_doc},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Client_members[] = {
    {"__weaklistoffset__", T_PYSSIZET,
     offsetof(RedisClientObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(Client_doc,
             "Client(*, host='localhost', port=6379, ...)\n--\n\n"
             "The C core's connection pool with a command interface.  Use\n"
             "pyredisclient.RedisClient, which validates configuration.");

static PyType_Slot Client_slots[] = {
    {Py_tp_doc, (void *)Client_doc},   {Py_tp_new, Client_new},
    {Py_tp_init, Client_init},         {Py_tp_dealloc, Client_dealloc},
    {Py_tp_traverse, Client_traverse}, {Py_tp_methods, Client_methods},
    {Py_tp_members, Client_members},   {0, NULL},
};

PyType_Spec pyrc_client_spec = {
    .name = "pyredisclient._core.Client",
    .basicsize = sizeof(RedisClientObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = Client_slots,
};

/* ---- Batch -------------------------------------------------------------- */

static char *
dup_cstr(const char *s)
{
    char *d = PyMem_Malloc(strlen(s) + 1);

    if (d == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    strcpy(d, s);
    return d;
}

static PyObject *
Batch_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"encoding", "encoding_errors",
                                         "owner", "transaction", NULL};
    const char *encoding = NULL, *errors = NULL;
    PyObject *owner = Py_None;
    int transaction = 0;
    BatchObject *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$zzOp:Batch",
                                     (char **)kwlist, &encoding, &errors,
                                     &owner, &transaction)) {
        return NULL;
    }
    self = (BatchObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->flags = PRC_CALL_READONLY;
    self->transaction = transaction;
    self->callbacks = PyList_New(0);
    if (self->callbacks == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    if (owner != Py_None) {
        self->owner = PyWeakref_NewRef(owner, NULL);
        if (self->owner == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    if (encoding != NULL && strcasecmp(encoding, "utf-8") != 0 &&
        strcasecmp(encoding, "utf8") != 0) {
        if (PyCodec_KnownEncoding(encoding) != 1) {
            Py_DECREF(self);
            PyErr_Format(PyExc_ValueError, "unknown encoding %s", encoding);
            return NULL;
        }
        self->encoding = dup_cstr(encoding);
        if (self->encoding == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    if (errors != NULL && strcmp(errors, "strict") != 0) {
        self->errors = dup_cstr(errors);
        if (self->errors == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    return (PyObject *)self;
}

static int
Batch_traverse(BatchObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->callbacks);
    Py_VISIT(self->owner);
    return 0;
}

static void
Batch_dealloc(BatchObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    /* No tp_clear: the list and the weak reference break any cycle
     * through the callbacks, so both are always set while we live. */
    Py_XDECREF(self->callbacks);
    Py_XDECREF(self->owner);
    PyMem_Free(self->buf);
    PyMem_Free(self->encoding);
    PyMem_Free(self->errors);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int
batch_busy(BatchObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the batch is being executed by another thread");
        return -1;
    }
    return 0;
}

/* Encode one command (arguments already converted) onto the end of the
 * batch; a command with a state class in `refused` raises DataError
 * (refuse_state).  Returns 0, or -1 with an exception set and the batch
 * unchanged. */
static int
batch_push(BatchObject *self, pyrc_state *st, const pyrc_args *a, int refused)
{
    char *cmd;
    size_t len;
    double block;
    int flags = prc_command_flags(a->argc, a->argv, a->argvlen, &block);

    if ((flags & PRC_CMD_STATE) && (flags & refused)) {
        return refuse_state(st, a);
    }
    cmd = pyrc_format(st, a, &len);
    if (cmd == NULL) {
        return -1;
    }
    if (self->len + len > self->cap) {
        size_t cap = self->cap ? self->cap : 256;
        char *nb;
        while (cap < self->len + len) {
            cap *= 2;
        }
        if (cap >= (size_t)INT32_MAX * 2) {
            pyrc_free_command(cmd);
            PyErr_SetString(st->DataError, "pipeline larger than 4 GiB");
            return -1;
        }
        nb = PyMem_Realloc(self->buf, cap);
        if (nb == NULL) {
            pyrc_free_command(cmd);
            PyErr_NoMemory();
            return -1;
        }
        self->buf = nb;
        self->cap = cap;
    }
    memcpy(self->buf + self->len, cmd, len);
    pyrc_free_command(cmd);
    self->len += len;
    self->n++;
    if (!(flags & PRC_CALL_READONLY)) {
        self->flags &= ~PRC_CALL_READONLY;
    }
    if (flags & (PRC_CALL_BLOCKING | PRC_CALL_CLOSE)) {
        self->any_blocking |= (flags & PRC_CALL_BLOCKING) != 0;
        self->flags |= flags & PRC_CALL_CLOSE;
    }
    self->exec_last = a->argc == 1 && a->argvlen[0] == 4 &&
                      strncasecmp(a->argv[0], "EXEC", 4) == 0;
    return 0;
}

/* Convert and push a tuple/list of arguments (batch_push); 0 or -1.
 * Inline: each caller's constant `refused` then costs nothing. */
static inline int
batch_add(BatchObject *self, pyrc_state *st, PyObject *args_seq, int refused)
{
    pyrc_args a;
    PyObject *seq;
    int rc;

    seq = PySequence_Fast(args_seq, "append() takes a tuple of arguments");
    if (seq == NULL) {
        return -1;
    }
    if (pyrc_args_from_seq(st, seq, &a, self->encoding,
                           self->errors ? self->errors : "strict") < 0) {
        Py_DECREF(seq);
        return -1;
    }
    rc = batch_push(self, st, &a, refused);
    pyrc_args_free(&a);
    Py_DECREF(seq);
    return rc;
}

PyDoc_STRVAR(
    Batch_append_doc,
    "append($self, args, /)\n--\n\n"
    "Encode one command now (the arguments are copied) and queue it.\n"
    "The pipeline's own path: MULTI, EXEC, DISCARD, WATCH and UNWATCH\n"
    "may go; other connection-state commands raise DataError.");

static PyObject *
Batch_append(BatchObject *self, PyObject *args_seq)
{
    if (batch_busy(self) < 0 ||
        batch_add(self, pyrc_get_state_by_type(Py_TYPE(self)), args_seq,
                  PRC_CMD_CONN_STATE) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Batch_asking_doc,
    "asking($self, /)\n--\n\n"
    "Queue ASKING, for the command appended next: the cluster client's\n"
    "answer to an ASK redirection.  ASKING holds for that one command\n"
    "only, so the connection goes back to the pool as it was (append()\n"
    "refuses ASKING alone).");

static PyObject *
Batch_asking(BatchObject *self, PyObject *unused)
{
    static const char *const asking_argv[] = {"ASKING"};
    static size_t asking_len[] = {6};
    pyrc_args asking = {
        .argv = (const char **)asking_argv, .argvlen = asking_len, .argc = 1};

    (void)unused;
    if (batch_busy(self) < 0 ||
        batch_push(self, pyrc_get_state_by_type(Py_TYPE(self)), &asking, 0) <
            0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Batch_readonly_replica_doc,
    "readonly_replica($self, /)\n--\n\n"
    "Queue READONLY: the cluster client's prefix to a read it sends to a\n"
    "replica (read_from_replicas).  READONLY stays on the connection, but\n"
    "the cluster client sends it only on its connections to replicas, each\n"
    "time, where it changes nothing for later reads; append() refuses it.");

static PyObject *
Batch_readonly_replica(BatchObject *self, PyObject *unused)
{
    static const char *const ro_argv[] = {"READONLY"};
    static size_t ro_len[] = {8};
    pyrc_args ro = {
        .argv = (const char **)ro_argv, .argvlen = ro_len, .argc = 1};

    (void)unused;
    if (batch_busy(self) < 0 ||
        batch_push(self, pyrc_get_state_by_type(Py_TYPE(self)), &ro, 0) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Batch_queue_doc,
    "queue($self, args, callback=None, /)\n--\n\n"
    "append(args) (after MULTI, for the first command of a transaction\n"
    "batch) and record callback in callbacks.  Returns the owner given\n"
    "to Batch(), so a Pipeline's command methods chain; None without one.\n"
    "Every connection-state command raises DataError (the user's path).");

static PyObject *
Batch_queue(BatchObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const multi_argv[] = {"MULTI"};
    static size_t multi_len[] = {5};
    pyrc_state *st = pyrc_get_state_by_type(Py_TYPE(self));
    size_t len0 = self->len;
    Py_ssize_t n0 = self->n;
    int flags0 = self->flags, blocking0 = self->any_blocking;
    int exec0 = self->exec_last;
    PyObject *owner;

    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "queue() takes 1 or 2 positional arguments (%zd given)",
                     nargs);
        return NULL;
    }
    if (batch_busy(self) < 0) {
        return NULL;
    }
    if (self->transaction && self->n == 0) {
        pyrc_args multi = {.argv = (const char **)multi_argv,
                           .argvlen = multi_len,
                           .argc = 1};
        if (batch_push(self, st, &multi, 0) < 0) {
            return NULL;
        }
    }
    if (batch_add(self, st, args[0], PRC_CMD_STATE) < 0 ||
        PyList_Append(self->callbacks, nargs == 2 ? args[1] : Py_None) < 0) {
        /* Nothing half-queued: a command without its callback (or a lone
         * MULTI) would shift every later reply. */
        self->len = len0;
        self->n = n0;
        self->flags = flags0;
        self->any_blocking = blocking0;
        self->exec_last = exec0;
        return NULL;
    }
    if (self->owner == NULL) {
        Py_RETURN_NONE;
    }
#if PY_VERSION_HEX >= 0x030D0000
    if (PyWeakref_GetRef(self->owner, &owner) < 0) {
        return NULL;
    }
    if (owner == NULL) {
        Py_RETURN_NONE;
    }
    return owner;
#else
    owner = PyWeakref_GetObject(self->owner); /* borrowed; None when dead */
    Py_INCREF(owner);
    return owner;
#endif
}

/* Parse "<type><decimal>\r\n" at *p (hiredis's formatter wrote the
 * batch, so this only guards against a bug); returns the value, or -1. */
static long long
resp_header(const char **p, const char *end, char type)
{
    const char *q = *p;
    long long v = 0;

    if (q >= end || *q++ != type) {
        return -1;
    }
    while (q < end && *q >= '0' && *q <= '9' && v < (1LL << 40)) {
        v = v * 10 + (*q++ - '0');
    }
    if (end - q < 2 || q[0] != '\r' || q[1] != '\n') {
        return -1;
    }
    *p = q + 2;
    return v;
}

PyDoc_STRVAR(Batch_command_name_doc,
             "command_name($self, index, /)\n--\n\n"
             "The name (first argument) of queued command `index`, counting\n"
             "a transaction's MULTI; for error messages.");

static PyObject *
Batch_command_name(BatchObject *self, PyObject *arg)
{
    Py_ssize_t index = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    const char *p = self->buf, *end = self->buf + self->len;

    if (index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (index < 0 || index >= self->n) {
        PyErr_SetString(PyExc_IndexError, "command index out of range");
        return NULL;
    }
    for (;;) {
        long long argc = resp_header(&p, end, '*'), j;
        for (j = 0; j < argc; j++) {
            long long len = resp_header(&p, end, '$');
            if (len < 0 || end - p < len + 2) {
                break;
            }
            if (j == 0 && index == 0) {
                return PyUnicode_DecodeUTF8(p, (Py_ssize_t)len,
                                            "backslashreplace");
            }
            p += len + 2;
        }
        if (argc < 1 || j < argc) {
            break;
        }
        index--;
    }
    PyErr_SetString(PyExc_RuntimeError, "malformed batch buffer");
    return NULL;
}

PyDoc_STRVAR(Batch_clear_doc,
             "clear($self, /)\n--\n\nDrop every queued command.");

static PyObject *
Batch_clear(BatchObject *self, PyObject *unused)
{
    (void)unused;
    if (batch_busy(self) < 0) {
        return NULL;
    }
    if (PyList_SetSlice(self->callbacks, 0, PY_SSIZE_T_MAX, NULL) < 0) {
        return NULL;
    }
    self->len = 0;
    self->n = 0;
    self->flags = PRC_CALL_READONLY;
    self->any_blocking = 0;
    self->exec_last = 0;
    if (self->cap > 1024 * 1024) {
        PyMem_Free(self->buf);
        self->buf = NULL;
        self->cap = 0;
    }
    Py_RETURN_NONE;
}

static Py_ssize_t
Batch_len(BatchObject *self)
{
    return self->n;
}

static PyObject *
Batch_get_nbytes(BatchObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(self->len);
}

static PyObject *
Batch_get_readonly(BatchObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong((self->flags & PRC_CALL_READONLY) != 0);
}

static PyMethodDef Batch_methods[] = {
    {"append", (PyCFunction)Batch_append, METH_O, Batch_append_doc},
    {"asking", (PyCFunction)Batch_asking, METH_NOARGS, Batch_asking_doc},
    {"readonly_replica", (PyCFunction)Batch_readonly_replica, METH_NOARGS,
     Batch_readonly_replica_doc},
    {"queue", (PyCFunction)(void (*)(void))Batch_queue, METH_FASTCALL,
     Batch_queue_doc},
    {"command_name", (PyCFunction)Batch_command_name, METH_O,
     Batch_command_name_doc},
    {"clear", (PyCFunction)Batch_clear, METH_NOARGS, Batch_clear_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
Batch_get_callbacks(BatchObject *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->callbacks);
    return self->callbacks;
}

static PyGetSetDef Batch_getset[] = {
    {"callbacks", (getter)Batch_get_callbacks, NULL,
     "the callbacks given to queue(), in order (the batch's own list)", NULL},
    {"nbytes", (getter)Batch_get_nbytes, NULL, "encoded size in bytes", NULL},
    {"readonly", (getter)Batch_get_readonly, NULL,
     "True when every queued command is read-only", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Batch_doc, "Batch()\n--\n\n"
                        "Commands encoded and queued in C for one pipeline.");

static PyType_Slot Batch_slots[] = {
    {Py_tp_doc, (void *)Batch_doc},
    {Py_tp_new, Batch_new},
    {Py_tp_dealloc, Batch_dealloc},
    {Py_tp_traverse, Batch_traverse},
    {Py_tp_methods, Batch_methods},
    {Py_tp_getset, Batch_getset},
    {Py_sq_length, Batch_len},
    {Py_mp_length, Batch_len},
    {0, NULL},
};

PyType_Spec pyrc_batch_spec = {
    .name = "pyredisclient._core.Batch",
    .basicsize = sizeof(BatchObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_IMMUTABLE,
    .slots = Batch_slots,
};

/* ---- Pinned ------------------------------------------------------------- */

static void
pinned_release(PinnedObject *pin, int ok)
{
    if (pin->conn != NULL) {
        prc_conn_t *c = pin->conn;
        pin->conn = NULL;
        prc_pool_unpin(pin->client->pool, c, ok && prc_conn_usable(c));
    }
}

static PyObject *
Pinned_execute(PinnedObject *pin, PyObject *args_seq)
{
    return execute_impl(pin->client, args_seq, pin);
}

static PyObject *
Pinned_execute_batch(PinnedObject *pin, PyObject *arg)
{
    return execute_batch_impl(pin->client, arg, pin);
}

static PyObject *
Pinned_start(PinnedObject *pin, PyObject *args_seq)
{
    return start_impl(pin->client, args_seq, pin);
}

static PyObject *
Pinned_start_batch(PinnedObject *pin, PyObject *arg)
{
    return start_batch_impl(pin->client, arg, pin);
}

PyDoc_STRVAR(
    Pinned_release_doc,
    "release($self, /, ok=True)\n--\n\n"
    "Give the connection back: pooled when ok and clean, else closed.\n"
    "The caller must have cleared server-side state (UNWATCH) first.");

static PyObject *
Pinned_release(PinnedObject *pin, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"ok", NULL};
    int ok = 1;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p", (char **)kwlist, &ok)) {
        return NULL;
    }
    pinned_release(pin, ok);
    Py_RETURN_NONE;
}

static PyObject *
Pinned_get_active(PinnedObject *pin, void *closure)
{
    (void)closure;
    return PyBool_FromLong(pin->conn != NULL);
}

static PyObject *
Pinned_get_usable(PinnedObject *pin, void *closure)
{
    (void)closure;
    return PyBool_FromLong(pin->conn == NULL || prc_conn_usable(pin->conn));
}

static int
Pinned_traverse(PinnedObject *pin, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(pin));
    Py_VISIT(pin->client);
    return 0;
}

static int
Pinned_clear(PinnedObject *pin)
{
    if (pin->client != NULL) {
        /* Never pool a connection whose WATCH state is unknown. */
        pinned_release(pin, 0);
    }
    Py_CLEAR(pin->client);
    return 0;
}

static void
Pinned_dealloc(PinnedObject *pin)
{
    PyTypeObject *tp = Py_TYPE(pin);

    PyObject_GC_UnTrack(pin);
    Pinned_clear(pin);
    PyObject_GC_Del(pin);
    Py_DECREF(tp);
}

static PyMethodDef Pinned_methods[] = {
    {"execute", (PyCFunction)Pinned_execute, METH_O,
     "execute($self, args, /)\n--\n\nClient.execute on the pinned "
     "connection."},
    {"execute_batch", (PyCFunction)Pinned_execute_batch, METH_O,
     "execute_batch($self, batch, /)\n--\n\n"
     "Client.execute_batch on the pinned connection."},
    {"start", (PyCFunction)Pinned_start, METH_O,
     "start($self, args, /)\n--\n\nClient.start on the pinned "
     "connection."},
    {"start_batch", (PyCFunction)Pinned_start_batch, METH_O,
     "start_batch($self, batch, /)\n--\n\n"
     "Client.start_batch on the pinned connection."},
    {"release", (PyCFunction)(void (*)(void))Pinned_release,
     METH_VARARGS | METH_KEYWORDS, Pinned_release_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Pinned_getset[] = {
    {"active", (getter)Pinned_get_active, NULL,
     "True while a connection is pinned", NULL},
    {"usable", (getter)Pinned_get_usable, NULL,
     "False once the pinned connection broke", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Pinned_slots[] = {
    {Py_tp_doc, (void *)"Calls that share one pinned connection."},
    {Py_tp_dealloc, Pinned_dealloc},
    {Py_tp_traverse, Pinned_traverse},
    {Py_tp_clear, Pinned_clear},
    {Py_tp_methods, Pinned_methods},
    {Py_tp_getset, Pinned_getset},
    {0, NULL},
};

PyType_Spec pyrc_pinned_spec = {
    .name = "pyredisclient._core.Pinned",
    .basicsize = sizeof(PinnedObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_NO_NEW |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = Pinned_slots,
};
