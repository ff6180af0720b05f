/* options.c - the keyword arguments of _core.Client, read with the option
 * tables (PRC_OPTIONS_MAP in prc.h, PYRC_OPTIONS_MAP in binding.h): types
 * checked, values stored, defaults reported. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "binding.h"

enum {
    OPT_STR,
    OPT_INT,
    OPT_BOOL,
    OPT_DOUBLE,
    OPT_SECONDS,
    OPT_SIZE,
    OPT_TLS_VERIFY,
    OPT_OBJECT
};

/* One keyword: its type, and where its value goes (a prc_opts_t or, for
 * the binding's own, a pyrc_opts_t). */
typedef struct {
    const char *keyword;
    int type;
    int own; /* in pyrc_opts_t */
    size_t offset;
} option_desc;

#define CORE_OPTION(type, field, keyword, dflt)                               \
    {keyword, OPT_##type, 0, offsetof(prc_opts_t, field)},
#define OWN_OPTION(type, field, keyword, dflt)                                \
    {keyword, OPT_##type, 1, offsetof(pyrc_opts_t, field)},
static const option_desc options[] = {PRC_OPTIONS_MAP(CORE_OPTION)
                                          PYRC_OPTIONS_MAP(OWN_OPTION)};
#undef CORE_OPTION
#undef OWN_OPTION
#define NOPTIONS ((int)(sizeof(options) / sizeof(options[0])))

static const char *const tls_verify_names[] = {
    [PRC_TLS_VERIFY_REQUIRED] = "required",
    [PRC_TLS_VERIFY_OPTIONAL] = "optional",
    [PRC_TLS_VERIFY_NONE] = "none",
};

/* Store one keyword's value, checking its type only: what the value means
 * is RedisConfig's to check, and what the core cannot run with is
 * prc_pool_new's.  Strings point into `value` (alive in the caller's
 * kwargs until the pool and the client have copied them).  0 or -1. */
static int
set_option(const option_desc *d, void *where, PyObject *value)
{
    char *at = (char *)where + d->offset;
    Py_ssize_t n;
    int i;

    switch (d->type) {
    case OPT_STR:
    case OPT_TLS_VERIFY: {
        const char *text = NULL;
        if (value != Py_None) {
            if (!PyUnicode_Check(value)) {
                goto wrong_type;
            }
            text = PyUnicode_AsUTF8AndSize(value, &n);
            if (text == NULL) {
                return -1;
            }
            if (strlen(text) != (size_t)n) {
                PyErr_Format(PyExc_ValueError, "%s: embedded null character",
                             d->keyword);
                return -1;
            }
        }
        if (d->type == OPT_STR) {
            *(const char **)at = text;
            return 0;
        }
        for (i = 0; i < 3; i++) {
            if (text == NULL ? i == PRC_TLS_VERIFY_REQUIRED
                             : strcmp(text, tls_verify_names[i]) == 0) {
                *(int *)at = i;
                return 0;
            }
        }
        PyErr_Format(PyExc_ValueError,
                     "%s must be 'required', 'optional' or 'none'",
                     d->keyword);
        return -1;
    }
    case OPT_INT: {
        long v;
        if (!PyLong_Check(value)) {
            goto wrong_type;
        }
        v = PyLong_AsLong(value);
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (v < INT_MIN || v > INT_MAX) {
            PyErr_Format(PyExc_OverflowError, "%s is out of range",
                         d->keyword);
            return -1;
        }
        *(int *)at = (int)v;
        return 0;
    }
    case OPT_SIZE: {
        size_t v;
        if (!PyLong_Check(value)) {
            goto wrong_type;
        }
        v = PyLong_AsSize_t(value);
        if (v == (size_t)-1 && PyErr_Occurred()) {
            return -1;
        }
        *(size_t *)at = v;
        return 0;
    }
    case OPT_OBJECT: /* checked by its user (creds.c) */
        *(PyObject **)at = value == Py_None ? NULL : value;
        return 0;
    case OPT_BOOL:
        i = PyObject_IsTrue(value);
        if (i < 0) {
            return -1;
        }
        *(int *)at = i;
        return 0;
    case OPT_SECONDS:
    case OPT_DOUBLE: {
        double v;
        if (d->type == OPT_SECONDS && value == Py_None) {
            *(double *)at = -1; /* no limit */
            return 0;
        }
        if (!PyFloat_Check(value) && !PyLong_Check(value)) {
            goto wrong_type;
        }
        v = PyFloat_AsDouble(value);
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        *(double *)at = v;
        return 0;
    }
    default:
        break;
    }
wrong_type:
    PyErr_Format(PyExc_TypeError, "%s: unexpected type %.100s", d->keyword,
                 Py_TYPE(value)->tp_name);
    return -1;
}

static void
own_defaults(pyrc_opts_t *own)
{
    memset(own, 0, sizeof(*own));
#define OWN_DEFAULT(type, field, keyword, dflt) own->field = (dflt);
    PYRC_OPTIONS_MAP(OWN_DEFAULT)
#undef OWN_DEFAULT
}

int
pyrc_parse_options(PyObject *args, PyObject *kwds, prc_opts_t *o,
                   pyrc_opts_t *own)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int i;

    prc_opts_init(o);
    own_defaults(own);
    if (args != NULL && PyTuple_GET_SIZE(args) > 0) {
        PyErr_SetString(PyExc_TypeError,
                        "Client() takes keyword arguments only");
        return -1;
    }
    while (kwds != NULL && PyDict_Next(kwds, &pos, &key, &value)) {
        for (i = 0; i < NOPTIONS; i++) {
            if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(
                                            key, options[i].keyword) == 0) {
                break;
            }
        }
        if (i == NOPTIONS) {
            PyErr_Format(PyExc_TypeError,
                         "Client() got an unexpected keyword argument '%S'",
                         key);
            return -1;
        }
        if (set_option(&options[i], options[i].own ? (void *)own : (void *)o,
                       value) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The Python value of one option's default. */
static PyObject *
option_default(const option_desc *d, const prc_opts_t *o,
               const pyrc_opts_t *own)
{
    const char *at =
        (const char *)(d->own ? (const void *)own : (const void *)o) +
        d->offset;
    double v;

    switch (d->type) {
    case OPT_OBJECT:
        Py_RETURN_NONE; /* every OBJECT option defaults to None */
    case OPT_STR:
        if (*(const char *const *)at == NULL) {
            Py_RETURN_NONE;
        }
        return PyUnicode_FromString(*(const char *const *)at);
    case OPT_TLS_VERIFY:
        return PyUnicode_FromString(tls_verify_names[*(const int *)at]);
    case OPT_INT:
        return PyLong_FromLong(*(const int *)at);
    case OPT_SIZE:
        return PyLong_FromSize_t(*(const size_t *)at);
    case OPT_BOOL:
        return PyBool_FromLong(*(const int *)at);
    default:
        v = *(const double *)at;
        if (d->type == OPT_SECONDS && v < 0) {
            Py_RETURN_NONE;
        }
        return PyFloat_FromDouble(v);
    }
}

PyObject *
pyrc_option_defaults(void)
{
    prc_opts_t o;
    pyrc_opts_t own;
    PyObject *d = PyDict_New();
    int i;

    prc_opts_init(&o);
    own_defaults(&own);
    for (i = 0; d != NULL && i < NOPTIONS; i++) {
        PyObject *v = option_default(&options[i], &o, &own);
        if (v == NULL || PyDict_SetItemString(d, options[i].keyword, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(d);
            break;
        }
        Py_DECREF(v);
    }
    return d;
}

static char *
raw_strdup(const char *s)
{
    char *d = PyMem_RawMalloc(strlen(s) + 1);

    if (d != NULL) {
        strcpy(d, s);
    }
    return d;
}

int
pyrc_text_init(const pyrc_opts_t *own, char **encoding, char **errors,
               int *utf8_strict, const char **arg_encoding)
{
    int utf8;

    *encoding = raw_strdup(own->encoding ? own->encoding : "utf-8");
    *errors = raw_strdup(own->errors ? own->errors : "strict");
    if (*encoding == NULL || *errors == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    utf8 = strcasecmp(*encoding, "utf-8") == 0 ||
           strcasecmp(*encoding, "utf8") == 0;
    *utf8_strict = utf8 && strcmp(*errors, "strict") == 0;
    *arg_encoding = utf8 ? NULL : *encoding;
    return 0;
}
