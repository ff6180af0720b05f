/* errors.c - map core error codes and server error replies to exceptions. */
#include <string.h>

#include "binding.h"

PyObject *
pyrc_error_class(pyrc_state *st, int code)
{
    PyObject *cls;

    switch (code) {
    case PRC_ETIMEDOUT:
        cls = st->TimeoutError;
        break;
    case PRC_EAUTH:
        cls = st->AuthenticationError;
        break;
    case PRC_ECIRCUIT:
        cls = st->CircuitOpenError;
        break;
    case PRC_EPOOLTIMEOUT:
        cls = st->PoolTimeoutError;
        break;
    case PRC_ELOADING:
        cls = st->BusyLoadingError;
        break;
    case PRC_EMAXCLIENTS:
        cls = st->MaxClientsError;
        break;
    case PRC_EPROTO:
        cls = st->ProtocolError;
        break;
    case PRC_EREPLYLIMIT:
        cls = st->ReplyLimitError;
        break;
    case PRC_ENOMEM:
        cls = PyExc_MemoryError;
        break;
    case PRC_EINVAL:
    case PRC_ETOOBIG:
        cls = st->DataError;
        break;
    case PRC_EHANDSHAKE:
        cls = st->ResponseError;
        break;
    default: /* ECONNECT, ECONNLOST, ECLOSED, ETLS, ... */
        cls = st->ConnectionError;
        break;
    }
    return cls;
}

PyObject *
pyrc_raise(pyrc_state *st, int code, const char *errstr)
{
    if (code == PRC_ENOMEM) {
        return PyErr_NoMemory();
    }
    PyObject *type, *value, *tb, *name;

    PyErr_SetString(pyrc_error_class(st, code),
                    errstr && errstr[0] ? errstr : prc_strerror(code));
    /* exc.error_code names the core's code ("ECONNECT": the connect
     * failed, so nothing was sent): the cluster client decides from it
     * whether a write may be sent again elsewhere. */
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    name = PyUnicode_FromString(prc_err_name(code));
    if (name == NULL || value == NULL ||
        PyObject_SetAttrString(value, "error_code", name) < 0) {
        PyErr_Clear(); /* the exception itself still says what failed */
    }
    Py_XDECREF(name);
    PyErr_Restore(type, value, tb);
    return NULL;
}

typedef struct {
    const char *prefix; /* error code word, or a whole "ERR ..." text */
    size_t offset;      /* field offset of the class in pyrc_state */
    int strip;          /* drop the code word from the message */
} reply_map;

#define F(name) offsetof(pyrc_state, name)
/* Server error prefixes, mapped as redis-py maps them. */
static const reply_map reply_maps[] = {
    {"ERR max number of clients reached", F(MaxClientsError), 1},
    {"ERR Client sent AUTH, but no password is set", F(AuthenticationError),
     1},
    {"ERR invalid password", F(AuthenticationError), 1},
    {"ERR AUTH", F(AuthenticationError), 1},
    {"ERR ", F(ResponseError), 1},
    {"WRONGPASS ", F(AuthenticationError), 0},
    {"NOAUTH ", F(AuthenticationError), 0},
    {"NOPERM ", F(NoPermissionError), 0},
    {"NOSCRIPT ", F(NoScriptError), 1},
    {"READONLY ", F(ReadOnlyError), 1},
    {"OOM ", F(OutOfMemoryError), 1},
    {"EXECABORT ", F(ExecAbortError), 1},
    {"LOADING ", F(BusyLoadingError), 1},
    {"MASTERDOWN ", F(ConnectionError), 0},
};
#undef F

PyObject *
pyrc_error_reply(pyrc_state *st, const char *s, size_t len)
{
    PyObject *cls = st->ResponseError, *msg, *exc;
    size_t i, skip = 0;

    for (i = 0; i < sizeof(reply_maps) / sizeof(reply_maps[0]); i++) {
        size_t plen = strlen(reply_maps[i].prefix);
        if (len >= plen && memcmp(s, reply_maps[i].prefix, plen) == 0) {
            cls = *(PyObject **)((char *)st + reply_maps[i].offset);
            if (reply_maps[i].strip) {
                const char *sp = memchr(s, ' ', len);
                skip = sp ? (size_t)(sp - s) + 1 : 0;
            }
            break;
        }
    }
    msg = PyUnicode_DecodeUTF8(s + skip, (Py_ssize_t)(len - skip), "replace");
    if (msg == NULL) {
        return NULL;
    }
    exc = PyObject_CallOneArg(cls, msg);
    Py_DECREF(msg);
    return exc;
}

int
pyrc_error_reply_outcome(pyrc_state *st, PyObject *exc)
{
    PyObject *cls = (PyObject *)Py_TYPE(exc);

    if (cls == st->MaxClientsError) {
        return PRC_EMAXCLIENTS;
    }
    if (cls == st->BusyLoadingError) {
        return PRC_ELOADING;
    }
    if (cls == st->ConnectionError) {
        return PRC_ECONNLOST; /* MASTERDOWN: the server is not usable */
    }
    return PRC_OK;
}
