/* creds.c - a Python credentials provider behind the core's C callback
 * (prc_creds_provider_t): asked at every new connection's handshake. */
#include <pthread.h>
#include <string.h>

#include "binding.h"

/*
 * What the core's callback points at (its `ud`): owned by the Client or
 * Subscriber that installed it, freed after its pool or subscriber (which
 * is the last user).  Allocated with PyMem_Raw: the core may call through
 * it on a thread without the GIL, though it reads `later` only and takes
 * the GIL before touching `provider`.
 */
struct pyrc_creds_s {
    PyObject *provider; /* strong: a callable returning (username, password) */
    int later;          /* answer PRC_WANT_CREDS: the asyncio driver awaits */
    /* A subscriber's: answer from the last answer the binding asked for
     * (pyrc_creds_refresh, with the GIL), never taking the GIL, for the
     * core opens a subscriber's connection holding the subscriber's mutex,
     * which threads holding the GIL take too.  mu guards the fields below
     * and is a leaf: nothing else is taken while it is held. */
    int cached;
    pthread_mutex_t mu;
    int have;       /* asked at least once */
    int failed;     /* the last asking failed: errstr says why */
    char *username; /* malloc'd copies, or NULL */
    char *password;
    char errstr[PRC_ERRSTR_LEN];
    int64_t seen; /* the generation of the last asking */
};

#if PY_VERSION_HEX >= 0x030D0000
#define pyrc_finalizing() Py_IsFinalizing()
#else
#define pyrc_finalizing() _Py_IsFinalizing()
#endif

static char *
dup_or_null(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

/* Wipe and free a malloc'd secret; NULL ok. */
static void
wipe(char **s)
{
    if (*s != NULL) {
        memset(*s, 0, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

/* Copy one str (or None: NULL) of the provider's answer into malloc'd
 * memory the core will own.  0, or -1 with out->errstr set. */
static int
copy_text(PyObject *v, const char *what, char **dst, prc_creds_t *out)
{
    const char *text;
    Py_ssize_t n;

    *dst = NULL;
    if (v == Py_None) {
        return 0;
    }
    if (!PyUnicode_Check(v)) {
        snprintf(out->errstr, sizeof(out->errstr),
                 "the credentials provider gave a %.40s %s, not a str",
                 Py_TYPE(v)->tp_name, what);
        return -1;
    }
    text = PyUnicode_AsUTF8AndSize(v, &n);
    if (text == NULL) {
        PyErr_Clear(); /* its message could quote the text */
        snprintf(out->errstr, sizeof(out->errstr),
                 "the credentials provider gave a %s that is not UTF-8", what);
        return -1;
    }
    if (strlen(text) != (size_t)n) {
        snprintf(out->errstr, sizeof(out->errstr),
                 "the credentials provider gave a %s with a NUL character",
                 what);
        return -1;
    }
    *dst = malloc((size_t)n + 1); /* the core frees it (plain free) */
    if (*dst == NULL) {
        snprintf(out->errstr, sizeof(out->errstr),
                 "out of memory for the credentials");
        return -1;
    }
    memcpy(*dst, text, (size_t)n + 1);
    return 0;
}

/* Say why the provider raised: its class and message (the provider's
 * own words; ours never hold a secret), then drop the exception. */
static void
describe_raise(prc_creds_t *out)
{
    PyObject *type, *value, *tb, *text = NULL;
    const char *msg = NULL, *name;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL) {
        text = PyObject_Str(value);
        msg = text != NULL ? PyUnicode_AsUTF8(text) : NULL;
    }
    PyErr_Clear();
    name = type != NULL ? ((PyTypeObject *)type)->tp_name : "an exception";
    if (msg == NULL) {
        msg = "";
    }
    /* Run-time precisions: errstr (128 bytes) truncates what is longer. */
    snprintf(out->errstr, sizeof(out->errstr),
             "the credentials provider raised %.*s%s%.*s",
             (int)strnlen(name, 40), name, msg[0] ? ": " : "",
             (int)strnlen(msg, 80), msg);
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* Call the provider and copy its answer (the GIL held).  0 or PRC_EAUTH
 * with out->errstr; nothing allocated is left in out on error. */
static int
ask(struct pyrc_creds_s *cr, prc_creds_t *out)
{
    PyObject *exc_type, *exc_value, *exc_tb, *res;
    int rc = PRC_EAUTH;

    /* An exception pending in this thread (none is, on the call paths;
     * cheap to be sure) must survive the provider's own. */
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    res = PyObject_CallNoArgs(cr->provider);
    if (res == NULL) {
        describe_raise(out);
    } else if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
        snprintf(out->errstr, sizeof(out->errstr),
                 "the credentials provider must return (username, "
                 "password), not a %.40s",
                 Py_TYPE(res)->tp_name);
    } else if (copy_text(PyTuple_GET_ITEM(res, 0), "username", &out->username,
                         out) == 0 &&
               copy_text(PyTuple_GET_ITEM(res, 1), "password", &out->password,
                         out) == 0) {
        rc = 0;
    } else {
        wipe(&out->username); /* the core frees nothing on error */
    }
    Py_XDECREF(res);
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return rc;
}

/* The cached answer, copied for the core (a subscriber's connection). */
static int
from_cache(struct pyrc_creds_s *cr, prc_creds_t *out)
{
    int rc = 0;

    pthread_mutex_lock(&cr->mu);
    if (!cr->have || cr->failed) {
        snprintf(out->errstr, sizeof(out->errstr), "%s",
                 cr->have ? cr->errstr
                          : "the credentials provider was not asked yet");
        rc = PRC_EAUTH;
    } else {
        out->username = dup_or_null(cr->username);
        out->password = dup_or_null(cr->password);
        if ((cr->username != NULL && out->username == NULL) ||
            (cr->password != NULL && out->password == NULL)) {
            wipe(&out->username);
            wipe(&out->password);
            snprintf(out->errstr, sizeof(out->errstr),
                     "out of memory for the credentials");
            rc = PRC_ENOMEM;
        }
    }
    pthread_mutex_unlock(&cr->mu);
    return rc;
}

/* The core's callback: on the thread opening a connection, with or
 * without the GIL (a blocking call releases it; an event loop's step
 * holds it).  A pool calls it with no core lock held; a subscriber,
 * holding its mutex, gets the cached answer. */
static int
creds_get(void *ud, prc_creds_t *out)
{
    struct pyrc_creds_s *cr = ud;
    PyGILState_STATE g;
    int rc;

    if (cr->later) {
        return PRC_WANT_CREDS;
    }
    if (cr->cached) {
        return from_cache(cr, out);
    }
    if (pyrc_finalizing()) {
        snprintf(out->errstr, sizeof(out->errstr),
                 "the interpreter is shutting down: no credentials");
        return PRC_EAUTH;
    }
    g = PyGILState_Ensure();
    rc = ask(cr, out);
    PyGILState_Release(g);
    return rc;
}

void
pyrc_creds_refresh(pyrc_creds *cr, int64_t generation)
{
    prc_creds_t ans;
    int rc;

    if (cr == NULL || !cr->cached || (cr->have && cr->seen == generation)) {
        return;
    }
    memset(&ans, 0, sizeof(ans));
    rc = ask(cr, &ans);
    pthread_mutex_lock(&cr->mu);
    wipe(&cr->username);
    wipe(&cr->password);
    cr->have = 1;
    cr->seen = generation;
    cr->failed = rc != 0;
    if (rc == 0) {
        cr->username = ans.username; /* the cache owns them now */
        cr->password = ans.password;
    } else {
        memcpy(cr->errstr, ans.errstr, sizeof(cr->errstr));
    }
    pthread_mutex_unlock(&cr->mu);
}

int
pyrc_creds_install(PyObject *provider, prc_opts_t *o, int cached,
                   pyrc_creds **out)
{
    struct pyrc_creds_s *cr;
    int later;

    *out = NULL;
    if (provider == NULL || provider == Py_None) {
        return 0;
    }
    later = provider == Py_True;
    if (!later && !PyCallable_Check(provider)) {
        PyErr_Format(PyExc_TypeError,
                     "credential_provider must be a callable returning "
                     "(username, password), or True, not %.100s",
                     Py_TYPE(provider)->tp_name);
        return -1;
    }
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        /* The callback takes the GIL with PyGILState_Ensure, which knows
         * the main interpreter only. */
        PyErr_SetString(PyExc_RuntimeError,
                        "credential_provider works in the main interpreter "
                        "only");
        return -1;
    }
    cr = PyMem_RawCalloc(1, sizeof(*cr));
    if (cr == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(provider);
    cr->provider = provider;
    cr->later = later;
    cr->cached = cached;
    pthread_mutex_init(&cr->mu, NULL);
    o->creds.get = creds_get;
    o->creds.ud = cr;
    *out = cr;
    return 0;
}

void
pyrc_creds_free(pyrc_creds *cr)
{
    if (cr != NULL) {
        Py_DECREF(cr->provider);
        wipe(&cr->username);
        wipe(&cr->password);
        pthread_mutex_destroy(&cr->mu);
        PyMem_RawFree(cr);
    }
}

int
pyrc_creds_traverse(pyrc_creds *cr, visitproc visit, void *arg)
{
    if (cr != NULL) {
        Py_VISIT(cr->provider);
    }
    return 0;
}
