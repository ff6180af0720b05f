/* subscriber.c - the Subscriber type: a prc_sub_t (pub/sub on a connection
 * of its own) with its messages built as redis-py's dicts. */
#include <strings.h>

#include "binding.h"
#include "structmember.h"

/* The requests Subscriber.request takes, by their command name. */
static const struct {
    const char *name;
    int set;       /* PRC_SUB_CHANNELS ... */
    int subscribe; /* 1 subscribe, 0 unsubscribe, -1 PING, 2 MONITOR */
} requests[] = {
    {"SUBSCRIBE", PRC_SUB_CHANNELS, 1},
    {"UNSUBSCRIBE", PRC_SUB_CHANNELS, 0},
    {"PSUBSCRIBE", PRC_SUB_PATTERNS, 1},
    {"PUNSUBSCRIBE", PRC_SUB_PATTERNS, 0},
    {"SSUBSCRIBE", PRC_SUB_SHARDS, 1},
    {"SUNSUBSCRIBE", PRC_SUB_SHARDS, 0},
    {"PING", 0, -1},
    {"MONITOR", 0, 2},
};

/* A new reference to None (Py_NewRef is 3.10's). */
static inline PyObject *
none_ref(void)
{
    Py_INCREF(Py_None);
    return Py_None;
}

static int
Subscriber_init(SubscriberObject *self, PyObject *args, PyObject *kwds)
{
    prc_opts_t o;
    pyrc_opts_t own;
    int err = 0;
    char errbuf[256];

    if (self->sub != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Subscriber already initialised");
        return -1;
    }
    if (pyrc_parse_options(args, kwds, &o, &own) < 0) {
        return -1;
    }
    self->decode = own.decode;
    if (pyrc_text_init(&own, &self->encoding, &self->errors,
                       &self->utf8_strict, &self->arg_encoding) < 0) {
        return -1;
    }
    if (own.creds == Py_True) {
        PyErr_SetString(PyExc_TypeError, "a subscriber's credential_provider "
                                         "must answer at once: a callable");
        return -1;
    }
    pyrc_creds_free(self->creds); /* an __init__ that failed before */
    if (pyrc_creds_install(own.creds, &o, 1, &self->creds) < 0) {
        return -1;
    }
    self->sub = prc_sub_new(&o, &err, errbuf, sizeof(errbuf));
    if (self->sub == NULL) {
        return pyrc_raise_setup(self->state, err, errbuf);
    }
    return 0;
}

static PyObject *
Subscriber_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    SubscriberObject *self;

    (void)args;
    (void)kwds;
    self = (SubscriberObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->state = pyrc_get_state_by_type(type);
    }
    return (PyObject *)self;
}

static void
Subscriber_dealloc(SubscriberObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    /* Nobody else can be inside a method: each holds a reference. */
    prc_sub_free(self->sub);
    pyrc_creds_free(self->creds); /* after the subscriber, its last user */
    PyMem_RawFree(self->encoding);
    PyMem_RawFree(self->errors);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* A reconnect inside a blocking read with a credentials provider uses
 * what it answered when last asked: reads wait in slices of this many
 * seconds, asking again between them when a connection was lost. */
#define PYRC_CREDS_SLICE 1.0

/* With a credentials provider: ask it again (with the GIL) when a
 * connection was lost since it was last asked, or it never was.  The core
 * answers its connects from that copy and never waits for the GIL, which
 * it could not do while holding the subscriber's mutex (creds.c). */
static void
refresh_creds(SubscriberObject *self)
{
    prc_sub_stats_t st;

    if (self->creds != NULL) {
        prc_sub_stats(self->sub, &st);
        pyrc_creds_refresh(self->creds, st.disconnects);
    }
}

static int
check_init(SubscriberObject *self)
{
    if (self->sub == NULL) {
        PyErr_SetString(PYRC_EXC(self->state, REDIS),
                        "Subscriber.__init__ was not called");
        return -1;
    }
    return 0;
}

/* A core error as its exception; PRC_SUB_BUSY as RuntimeError. */
static PyObject *
sub_error(SubscriberObject *self, int rc, const char *errstr)
{
    if (rc == PRC_SUB_BUSY) {
        PyErr_SetString(PyExc_RuntimeError,
                        "another thread is reading this subscription: one "
                        "reader at a time");
        return NULL;
    }
    if (rc == PRC_ECLOSED && (errstr == NULL || errstr[0] == '\0')) {
        errstr = "this subscription is closed";
    }
    return pyrc_raise(self->state, rc, errstr);
}

/* Log a loss the core noticed, once per outage.  -1 when logging raised. */
static int
log_notice(SubscriberObject *self)
{
    char why[PRC_ERRSTR_LEN];

    if (!prc_sub_take_notice(self->sub, why, sizeof(why))) {
        return 0;
    }
    if (strncmp(why, "moved to ", 9) == 0) { /* prc_sub_move: at once */
        return pyrc_log(self->state, 30,
                        "pub/sub subscription %s: subscribing again there; "
                        "a 'reconnect' message will mark the gap",
                        why);
    }
    return pyrc_log(self->state, 30,
                    "pub/sub connection lost (%s): reconnecting with backoff; "
                    "a 'reconnect' message will mark the gap",
                    why);
}

/* A bulk string as bytes, or str with decode_responses; None for nil. */
static PyObject *
bulk(SubscriberObject *self, const prc_sub_elem_t *e)
{
    if (e->p == NULL) {
        Py_RETURN_NONE;
    }
    if (!self->decode) {
        return PyBytes_FromStringAndSize(e->p, (Py_ssize_t)e->len);
    }
    if (self->utf8_strict) {
        return PyUnicode_DecodeUTF8(e->p, (Py_ssize_t)e->len, NULL);
    }
    return PyUnicode_Decode(e->p, (Py_ssize_t)e->len, self->encoding,
                            self->errors);
}

/* {"type", "pattern", "channel", "data"}: steals the three values. */
static PyObject *
message_dict(pyrc_state *st, PyObject *type, PyObject *pattern,
             PyObject *channel, PyObject *data)
{
    PyObject *d = NULL;

    if (pattern == NULL || channel == NULL || data == NULL) {
        goto done;
    }
    d = PyDict_New();
    if (d == NULL || PyDict_SetItem(d, st->sub_keys[0], type) < 0 ||
        PyDict_SetItem(d, st->sub_keys[1], pattern) < 0 ||
        PyDict_SetItem(d, st->sub_keys[2], channel) < 0 ||
        PyDict_SetItem(d, st->sub_keys[3], data) < 0) {
        Py_CLEAR(d);
    }
done:
    Py_XDECREF(pattern);
    Py_XDECREF(channel);
    Py_XDECREF(data);
    return d;
}

/* The message the reader holds, as redis-py shapes it (an error reply is
 * raised, as redis-py raises it). */
static PyObject *
build_message(SubscriberObject *self)
{
    pyrc_state *st = self->state;
    PyObject *type;
    prc_sub_msg_t m;

    prc_sub_message(self->sub, &m);
    type = st->sub_kinds[m.kind];
    switch (m.kind) {
    case PRC_SUB_KIND_MESSAGE:
    case PRC_SUB_KIND_SMESSAGE:
        return message_dict(st, type, none_ref(), bulk(self, &m.el[0]),
                            bulk(self, &m.el[1]));
    case PRC_SUB_KIND_PMESSAGE:
        return message_dict(st, type, bulk(self, &m.el[0]),
                            bulk(self, &m.el[1]), bulk(self, &m.el[2]));
    case PRC_SUB_KIND_PONG:
    case PRC_SUB_KIND_MONITOR:
    case PRC_SUB_KIND_COMMAND:
        return message_dict(st, type, none_ref(), none_ref(),
                            bulk(self, &m.el[0]));
    case PRC_SUB_KIND_ERROR: {
        PyObject *exc = pyrc_error_reply(st, m.el[0].p, m.el[0].len);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    default: /* a confirmation: the channel or pattern, and the count */
        return message_dict(st, type, none_ref(), bulk(self, &m.el[0]),
                            PyLong_FromLongLong(m.el[1].num));
    }
}

/* The gap after a reconnect, as a message of its own type. */
static PyObject *
build_event(SubscriberObject *self)
{
    pyrc_state *st = self->state;
    prc_sub_event_t ev;
    PyObject *data;

    prc_sub_event(self->sub, &ev);
    if (pyrc_log(st, 20,
                 "pub/sub resubscribed after %.3f s down (%d connect "
                 "attempts; lost: %s)",
                 (double)ev.down_ns / 1e9, ev.attempts, ev.reason) < 0) {
        return NULL;
    }
    data = Py_BuildValue(
        "{sdsisssLsLsL}", "down_seconds", (double)ev.down_ns / 1e9, "attempts",
        ev.attempts, "reason", ev.reason, "channels",
        (long long)ev.counts[PRC_SUB_CHANNELS], "patterns",
        (long long)ev.counts[PRC_SUB_PATTERNS], "shard_channels",
        (long long)ev.counts[PRC_SUB_SHARDS]);
    return message_dict(st, st->sub_reconnect, none_ref(), none_ref(), data);
}

/* What a read returned, for Python: a message dict, None, or an error.
 * The reader's turn is given back whatever happens. */
static PyObject *
deliver(SubscriberObject *self, int rc, const prc_sub_io_t *io)
{
    PyObject *res = NULL;

    if (rc == PRC_SUB_MESSAGE || rc == PRC_SUB_RECONNECTED) {
        res = rc == PRC_SUB_MESSAGE ? build_message(self) : build_event(self);
        prc_sub_release(self->sub);
    } else if (rc == PRC_SUB_NONE) {
        res = none_ref();
    } else {
        sub_error(self, rc, io->errstr);
    }
    if (log_notice(self) < 0) {
        Py_CLEAR(res);
    }
    return res;
}

/* A timeout argument: seconds >= 0, or None for no limit (-1). */
static int
parse_timeout(PyObject *arg, double *out)
{
    if (arg == Py_None) {
        *out = -1;
        return 0;
    }
    *out = PyFloat_AsDouble(arg);
    if (*out == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (!(*out >= 0 && *out <= 1e9)) {
        PyErr_SetString(PyExc_ValueError,
                        "timeout must be a number of seconds from 0 to 1e9, "
                        "or None");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(
    Subscriber_get_message_doc,
    "get_message($self, timeout, skip_confirms, /)\n--\n\n"
    "The next message as a dict, waiting up to timeout seconds (None:\n"
    "no limit; 0: only what has arrived) without the GIL; None when none\n"
    "came, or when close() ended the wait.  A reconnect is a message of\n"
    "type 'reconnect'; an outage is never raised.  skip_confirms drops\n"
    "(un)subscribe confirmations.");

static PyObject *
Subscriber_get_message(SubscriberObject *self, PyObject *const *args,
                       Py_ssize_t nargs)
{
    prc_sub_io_t io;
    double timeout;
    int64_t deadline;
    int flags, rc;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError,
                        "get_message() takes timeout and skip_confirms");
        return NULL;
    }
    if (check_init(self) < 0 || parse_timeout(args[0], &timeout) < 0 ||
        (flags = PyObject_IsTrue(args[1])) < 0) {
        return NULL;
    }
    flags = flags ? PRC_SUB_SKIP_CONFIRMS : 0;
    /* What has arrived is framed with the GIL held: no I/O. */
    rc = prc_sub_read(self->sub, PRC_SUB_BUFFERED | flags, 0, &io);
    if (rc == PRC_SUB_NONE) {
        deadline = timeout < 0 ? PRC_NO_DEADLINE : prc_deadline_after(timeout);
        for (;;) {
            int64_t until = deadline;
            if (self->creds != NULL) {
                int64_t slice = prc_deadline_after(PYRC_CREDS_SLICE);
                refresh_creds(self);
                until = slice < deadline ? slice : deadline;
            }
            Py_BEGIN_ALLOW_THREADS rc =
                prc_sub_read(self->sub, PRC_SUB_WAIT | flags, until, &io);
            Py_END_ALLOW_THREADS if (rc == PRC_SUB_NONE && until != deadline &&
                                     prc_now() >= until)
            {
                continue; /* a slice ended, not the wait */
            }
            if (rc != PRC_EINTR) {
                break;
            }
            if (PyErr_CheckSignals() < 0) {
                return NULL;
            }
        }
    }
    return deliver(self, rc, &io);
}

/* (state, fd, timeout) for an event loop; timeout None: no limit. */
static PyObject *
wait_tuple(int rc, const prc_sub_io_t *io)
{
    int64_t left;

    if (io->deadline == PRC_NO_DEADLINE) {
        return Py_BuildValue("(iiO)", rc, io->fd, Py_None);
    }
    left = io->deadline - prc_now();
    return Py_BuildValue("(iid)", rc, io->fd,
                         left > 0 ? (double)left / 1e9 : 0.0);
}

PyDoc_STRVAR(
    Subscriber_step_doc,
    "step($self, skip_confirms, /)\n--\n\n"
    "Advance without blocking (asyncio): a message dict, None when\n"
    "close() ended it, or (state, fd, timeout): wait for WANT_READ or\n"
    "WANT_WRITE on fd, or WANT_SLEEP, at most timeout seconds (None: no\n"
    "limit), then step again.");

static PyObject *
Subscriber_step(SubscriberObject *self, PyObject *arg)
{
    prc_sub_io_t io;
    int flags = PyObject_IsTrue(arg), rc;

    if (flags < 0 || check_init(self) < 0) {
        return NULL;
    }
    flags = flags ? PRC_SUB_SKIP_CONFIRMS : 0;
    rc = prc_sub_read(self->sub, PRC_SUB_BUFFERED | flags, 0, &io);
    if (rc == PRC_SUB_NONE) {
        refresh_creds(self);
        /* Reads never hold the GIL, non-blocking ones included. */
        Py_BEGIN_ALLOW_THREADS rc = prc_sub_read(
            self->sub, PRC_SUB_STEP | flags, PRC_NO_DEADLINE, &io);
        Py_END_ALLOW_THREADS
    }
    if (rc == PRC_WANT_READ || rc == PRC_WANT_WRITE || rc == PRC_WANT_SLEEP) {
        if (log_notice(self) < 0) {
            return NULL;
        }
        return wait_tuple(rc, &io);
    }
    return deliver(self, rc, &io);
}

PyDoc_STRVAR(
    Subscriber_request_doc,
    "request($self, args, /)\n--\n\n"
    "Queue (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING or MONITOR with its\n"
    "arguments (a tuple, the command first) and send it when that\n"
    "needs no wait; flush() or the next read sends the rest, after\n"
    "connecting when nothing is connected.  Never blocks.");

static PyObject *
Subscriber_request(SubscriberObject *self, PyObject *args_seq)
{
    pyrc_args a;
    PyObject *seq;
    size_t i, n = sizeof(requests) / sizeof(requests[0]);
    int rc = PRC_EINVAL;

    if (check_init(self) < 0) {
        return NULL;
    }
    seq = PySequence_Fast(args_seq, "request() takes a tuple of arguments");
    if (seq == NULL) {
        return NULL;
    }
    if (PySequence_Fast_GET_SIZE(seq) < 1) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "request() needs a command");
        return NULL;
    }
    if (pyrc_args_from_seq(self->state, seq, &a, self->arg_encoding,
                           self->errors) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (strlen(requests[i].name) == a.argvlen[0] &&
            strncasecmp(requests[i].name, a.argv[0], a.argvlen[0]) == 0) {
            break;
        }
    }
    if (i == n || (requests[i].subscribe == 1 && a.argc < 2) ||
        (requests[i].subscribe == -1 && a.argc > 2) ||
        (requests[i].subscribe == 2 && a.argc > 1)) {
        PyErr_SetString(PyExc_ValueError,
                        "request() takes (P|S)SUBSCRIBE with names, "
                        "(P|S)UNSUBSCRIBE, PING [message], or MONITOR");
        goto done;
    }
    if (requests[i].subscribe == 1) {
        rc = prc_sub_subscribe(self->sub, requests[i].set, a.argc - 1,
                               a.argv + 1, a.argvlen + 1);
    } else if (requests[i].subscribe == 0) {
        rc = prc_sub_unsubscribe(self->sub, requests[i].set, a.argc - 1,
                                 a.argv + 1, a.argvlen + 1);
    } else if (requests[i].subscribe == 2) {
        rc = prc_sub_monitor(self->sub);
    } else {
        rc = prc_sub_ping(self->sub, a.argc > 1 ? a.argv[1] : NULL,
                          a.argc > 1 ? a.argvlen[1] : 0);
    }
    if (rc != 0) {
        sub_error(self, rc,
                  rc == PRC_ECLOSED ? NULL : "cannot queue the request");
    }
done:
    pyrc_args_free(&a);
    Py_DECREF(seq);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Subscriber_flush_doc,
    "flush($self, /)\n--\n\n"
    "Connect when a request needs it (within socket_connect_timeout)\n"
    "and send what requests queued, without the GIL; reads nothing\n"
    "else.  A failed connect is not raised: reading reconnects.\n"
    "Returns at once when another thread reads (it sends them).");

static PyObject *
Subscriber_flush(SubscriberObject *self, PyObject *unused)
{
    prc_sub_io_t io;
    int rc;

    (void)unused;
    if (check_init(self) < 0) {
        return NULL;
    }
    for (;;) {
        refresh_creds(self);
        Py_BEGIN_ALLOW_THREADS rc =
            prc_sub_flush(self->sub, PRC_SUB_WAIT, PRC_NO_DEADLINE, &io);
        Py_END_ALLOW_THREADS if (rc != PRC_EINTR)
        {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            return NULL;
        }
    }
    if (log_notice(self) < 0) {
        return NULL;
    }
    if (rc < 0) {
        return sub_error(self, rc, io.errstr);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Subscriber_flush_step_doc,
             "flush_step($self, /)\n--\n\n"
             "flush() without blocking (asyncio): None when done, or\n"
             "(state, fd, timeout) to wait for before calling it again.");

static PyObject *
Subscriber_flush_step(SubscriberObject *self, PyObject *unused)
{
    prc_sub_io_t io;
    int rc;

    (void)unused;
    if (check_init(self) < 0) {
        return NULL;
    }
    refresh_creds(self);
    Py_BEGIN_ALLOW_THREADS rc =
        prc_sub_flush(self->sub, PRC_SUB_STEP, PRC_NO_DEADLINE, &io);
    Py_END_ALLOW_THREADS if (log_notice(self) < 0)
    {
        return NULL;
    }
    if (rc == PRC_WANT_READ || rc == PRC_WANT_WRITE || rc == PRC_WANT_SLEEP) {
        return wait_tuple(rc, &io);
    }
    if (rc < 0) {
        return sub_error(self, rc, io.errstr);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Subscriber_close_doc,
             "close($self, /)\n--\n\n"
             "Close the connection; later calls raise ConnectionError, and a\n"
             "reader waiting in another thread returns None.  Idempotent.");

static PyObject *
Subscriber_close(SubscriberObject *self, PyObject *unused)
{
    (void)unused;
    if (self->sub != NULL) {
        prc_sub_close(self->sub);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Subscriber_move_doc,
             "move($self, host, port, /)\n--\n\n"
             "Move to the server at host:port: the next read drops the\n"
             "connection, connects there, subscribes everything again and\n"
             "returns a 'reconnect' message for the gap, as after a lost\n"
             "connection.  For a cluster's classic pub/sub whose node left,\n"
             "and a sentinel client's after a failover.");

static PyObject *
Subscriber_move(SubscriberObject *self, PyObject *args)
{
    const char *host;
    int port, rc;

    if (!PyArg_ParseTuple(args, "si:move", &host, &port) ||
        check_init(self) < 0) {
        return NULL;
    }
    rc = prc_sub_move(self->sub, host, port);
    if (rc == PRC_EINVAL) {
        PyErr_Format(PyExc_ValueError,
                     "move() needs a host name and a port in 1..65535 (and a "
                     "TCP subscription), not %R:%d",
                     PyTuple_GET_ITEM(args, 0), port);
        return NULL;
    }
    if (rc != 0) {
        return sub_error(self, rc, NULL);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Subscriber_count_doc,
             "count($self, set, /)\n--\n\n"
             "How many names set 0 (channels), 1 (patterns) or 2 (shard\n"
             "channels) holds.");

static PyObject *
Subscriber_count(SubscriberObject *self, PyObject *arg)
{
    long set = PyLong_AsLong(arg);

    if ((set == -1 && PyErr_Occurred()) || check_init(self) < 0) {
        return NULL;
    }
    return PyLong_FromLong(prc_sub_count(self->sub, (int)set));
}

PyDoc_STRVAR(Subscriber_stats_doc, "stats($self, /)\n--\n\n"
                                   "The subscriber's counters as a dict.");

static PyObject *
Subscriber_stats(SubscriberObject *self, PyObject *unused)
{
    prc_sub_stats_t s;

    (void)unused;
    if (check_init(self) < 0) {
        return NULL;
    }
    prc_sub_stats(self->sub, &s);
    return Py_BuildValue("{sLsLsLsLsL}", "messages", (long long)s.messages,
                         "connects", (long long)s.connects, "disconnects",
                         (long long)s.disconnects, "reconnects",
                         (long long)s.reconnects, "health_checks",
                         (long long)s.health_checks);
}

static PyObject *
Subscriber_get_subscribed(SubscriberObject *self, void *unused)
{
    (void)unused;
    if (check_init(self) < 0) {
        return NULL;
    }
    return PyBool_FromLong(prc_sub_subscribed(self->sub));
}

static PyObject *
Subscriber_get_connected(SubscriberObject *self, void *unused)
{
    (void)unused;
    if (check_init(self) < 0) {
        return NULL;
    }
    return PyBool_FromLong(prc_sub_connected(self->sub));
}

static PyGetSetDef Subscriber_getset[] = {
    {"connected", (getter)Subscriber_get_connected, NULL,
     "Connected to the server now: False while connecting, waiting to\n"
     "reconnect, before the first request, and once closed.",
     NULL},
    {"subscribed", (getter)Subscriber_get_subscribed, NULL,
     "Subscribed to anything: names in the sets, or confirmations the\n"
     "server has not yet taken back.  False once closed.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Subscriber_methods[] = {
    {"get_message", (PyCFunction)(void (*)(void))Subscriber_get_message,
     METH_FASTCALL, Subscriber_get_message_doc},
    {"step", (PyCFunction)Subscriber_step, METH_O, Subscriber_step_doc},
    {"request", (PyCFunction)Subscriber_request, METH_O,
     Subscriber_request_doc},
    {"flush", (PyCFunction)Subscriber_flush, METH_NOARGS,
     Subscriber_flush_doc},
    {"flush_step", (PyCFunction)Subscriber_flush_step, METH_NOARGS,
     Subscriber_flush_step_doc},
    {"close", (PyCFunction)Subscriber_close, METH_NOARGS,
     Subscriber_close_doc},
    {"move", (PyCFunction)Subscriber_move, METH_VARARGS, Subscriber_move_doc},
    {"count", (PyCFunction)Subscriber_count, METH_O, Subscriber_count_doc},
    {"stats", (PyCFunction)Subscriber_stats, METH_NOARGS,
     Subscriber_stats_doc},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Subscriber_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(SubscriberObject, weakreflist),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(Subscriber_doc,
             "Subscriber(*, host='localhost', port=6379, ...)\n--\n\n"
             "Pub/sub on a connection of its own (outside any pool), with\n"
             "Client's keyword arguments.  It reconnects and resubscribes by\n"
             "itself.  Use pyredisclient's client.pubsub().");

static PyType_Slot Subscriber_slots[] = {
    {Py_tp_doc, (void *)Subscriber_doc}, {Py_tp_new, Subscriber_new},
    {Py_tp_init, Subscriber_init},       {Py_tp_dealloc, Subscriber_dealloc},
    {Py_tp_methods, Subscriber_methods}, {Py_tp_members, Subscriber_members},
    {Py_tp_getset, Subscriber_getset},   {0, NULL},
};

PyType_Spec pyrc_subscriber_spec = {
    .name = "pyredisclient._core.Subscriber",
    .basicsize = sizeof(SubscriberObject),
    .flags = Py_TPFLAGS_DEFAULT | PYRC_TPFLAGS_IMMUTABLE,
    .slots = Subscriber_slots,
};
