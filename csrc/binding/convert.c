/* convert.c - Python arguments to argv for the RESP writer, and RESP
 * replies to Python. */
#include <limits.h>
#include <string.h>

#include "binding.h"

/* Replies of a pipeline are fed to the reader this much at a time.  Small:
 * hiredis moves its unread bytes to the front each time it has consumed
 * 1 KiB, so the bytes moved grow with the slice (callgrind, pipelined GET:
 * 3,747 instructions with 16 KiB slices, 3,591 with 4, 2 or 1 KiB). */
#define PYRC_FEED_SLICE (4 * 1024)

/* A connection's reader is dropped after reading more than this: hiredis
 * (0.14 and 1.x) frees an oversized buffer only when the next reply is fed,
 * so an idle pooled connection would keep the largest reply it ever read. */
#define PYRC_READER_KEEP (64 * 1024)

static int
bad_type(pyrc_state *st, PyObject *const *items, Py_ssize_t i, PyObject *item)
{
    PyObject *name = items[0]; /* n >= 1: checked first */

    if (PyUnicode_Check(name)) {
        PyErr_Format(PYRC_EXC(st, DATA),
                     "Invalid input of type: '%s' for argument %zd of %U. "
                     "Convert to a bytes, string, int or float first.",
                     Py_TYPE(item)->tp_name, i, name);
    } else {
        PyErr_Format(PYRC_EXC(st, DATA),
                     "Invalid input of type: '%s' for argument %zd. "
                     "Convert to a bytes, string, int or float first.",
                     Py_TYPE(item)->tp_name, i);
    }
    return -1;
}

/* The exception being raised, taken off the thread state (a new reference,
 * or NULL if none). */
static PyObject *
take_raised(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* A str argument failed to encode (a lone surrogate in UTF-8, or a character
 * the client's encoding lacks): raise DataError naming the argument, the
 * command and the character, caused by the codec's UnicodeEncodeError.
 * Any other error (MemoryError) is left as it is.  Returns -1. */
static int
bad_text(pyrc_state *st, PyObject *const *items, Py_ssize_t i,
         const char *encoding)
{
    PyObject *name = items[0];
    PyObject *exc, *reason = NULL, *text = NULL, *msg = NULL, *err = NULL;
    Py_ssize_t start;
    char code[16];

    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        return -1;
    }
    exc = take_raised();
    if (PyUnicodeEncodeError_GetStart(exc, &start) < 0 ||
        (reason = PyUnicodeEncodeError_GetReason(exc)) == NULL ||
        (text = PyUnicodeEncodeError_GetObject(exc)) == NULL ||
        start >= PyUnicode_GET_LENGTH(text)) {
        goto done;
    }
    snprintf(code, sizeof(code), "U+%04X",
             (unsigned)PyUnicode_READ_CHAR(text, start));
    if (i == 0) {
        msg = PyUnicode_FromFormat(
            "Invalid command name: a str that cannot be encoded as %s: %s at "
            "index %zd (%U). Pass bytes instead.",
            encoding ? encoding : "UTF-8", code, start, reason);
    } else if (PyUnicode_Check(name)) {
        msg = PyUnicode_FromFormat(
            "Invalid input for argument %zd of %U: a str that cannot be "
            "encoded as %s: %s at index %zd (%U). Pass bytes instead.",
            i, name, encoding ? encoding : "UTF-8", code, start, reason);
    } else {
        msg = PyUnicode_FromFormat(
            "Invalid input for argument %zd: a str that cannot be encoded "
            "as %s: %s at index %zd (%U). Pass bytes instead.",
            i, encoding ? encoding : "UTF-8", code, start, reason);
    }
    if (msg != NULL) {
        err = PyObject_CallOneArg(PYRC_EXC(st, DATA), msg);
    }
    if (err != NULL) {
        PyException_SetCause(err, exc); /* steals exc */
        exc = NULL;
        PyErr_SetObject(PYRC_EXC(st, DATA), err);
    }

done:
    if (exc != NULL && !PyErr_Occurred()) {
        /* Could not build the DataError: raise the codec's error itself. */
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    }
    Py_XDECREF(exc);
    Py_XDECREF(err);
    Py_XDECREF(msg);
    Py_XDECREF(text);
    Py_XDECREF(reason);
    return -1;
}

void
pyrc_args_free(pyrc_args *a)
{
    int i;

    /* Most commands own nothing here: no call for NULL pointers. */
    if (a->views != NULL) {
        for (i = 0; i < a->nviews; i++) {
            PyBuffer_Release(&a->views[i]);
        }
        PyMem_Free(a->views);
    }
    Py_CLEAR(a->keep);
    if (a->scratch != NULL && a->scratch != a->scratch_small) {
        PyMem_Free(a->scratch);
    }
    if (a->argv != NULL && a->argv != a->argv_small) {
        PyMem_Free((void *)a->argv); /* and argvlen, in the same block */
    }
    a->views = NULL;
    a->scratch = NULL;
    a->argv = NULL;
    a->argvlen = NULL;
}

/* Keep a temporary alive until pyrc_args_free; returns 0 or -1. */
static int
keep(pyrc_args *a, PyObject *obj)
{
    int rc;

    if (a->keep == NULL) {
        a->keep = PyList_New(0);
        if (a->keep == NULL) {
            return -1;
        }
    }
    rc = PyList_Append(a->keep, obj);
    return rc;
}

/* Convert items[start:n] (convert_args) into a->argv/argvlen: counts what
 * needs scratch space or a buffer export, then converts each argument.
 * Returns 0, or -1 with an exception set (the caller frees *a). */
static int
convert_rest(pyrc_state *st, PyObject *const *items, Py_ssize_t n,
             pyrc_args *a, Py_ssize_t start, const char *encoding,
             const char *errors)
{
    Py_ssize_t i, numbers = 0, views = 0;
    size_t spos = 0;

    /* First pass: count what needs scratch space or a buffer export. */
    for (i = start; i < n; i++) {
        PyObject *o = items[i];
        /* str and bytes first: their checks are flag tests, while
         * PyFloat_Check of a str walks the type's bases. */
        if (PyBytes_Check(o) || PyUnicode_Check(o)) {
            continue;
        }
        if (PyLong_Check(o) || PyFloat_Check(o)) {
            numbers++;
        } else {
            views++;
        }
    }
    if (numbers > 0) {
        /* 32 bytes hold any int64 or repr(float); bigger ints go through
         * str() and are copied into a grown scratch below. */
        a->scratch_len = (size_t)numbers * 32;
        a->scratch = a->scratch_len <= sizeof(a->scratch_small)
                         ? a->scratch_small
                         : PyMem_Malloc(a->scratch_len);
        if (a->scratch == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    if (views > 0) {
        a->views = PyMem_Calloc((size_t)views, sizeof(Py_buffer));
        if (a->views == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    for (i = start; i < n; i++) {
        PyObject *o = items[i];
        Py_ssize_t len;

        if (PyBytes_Check(o)) {
            a->argv[i] = PyBytes_AS_STRING(o);
            a->argvlen[i] = (size_t)PyBytes_GET_SIZE(o);
        } else if (PyUnicode_Check(o)) {
            if (encoding == NULL && PyUnicode_IS_COMPACT_ASCII(o)) {
                /* ASCII is its own UTF-8, stored right after the object. */
                a->argv[i] = (const char *)PyUnicode_DATA(o);
                a->argvlen[i] = (size_t)PyUnicode_GET_LENGTH(o);
            } else if (encoding == NULL) {
                /* UTF-8 is cached inside the str: no copy. */
                const char *s = PyUnicode_AsUTF8AndSize(o, &len);
                if (s == NULL) {
                    bad_text(st, items, i, NULL);
                    return -1;
                }
                a->argv[i] = s;
                a->argvlen[i] = (size_t)len;
            } else {
                PyObject *enc = PyUnicode_AsEncodedString(o, encoding, errors);
                if (enc == NULL) {
                    bad_text(st, items, i, encoding);
                    return -1;
                }
                if (keep(a, enc) < 0) {
                    Py_DECREF(enc);
                    return -1;
                }
                Py_DECREF(enc); /* the keep list holds it */
                a->argv[i] = PyBytes_AS_STRING(enc);
                a->argvlen[i] = (size_t)PyBytes_GET_SIZE(enc);
            }
        } else if (PyLong_Check(o)) {
            int overflow;
            long long v;
            if (PyBool_Check(o)) {
                bad_type(st, items, i, o);
                return -1;
            }
            v = PyLong_AsLongLongAndOverflow(o, &overflow);
            if (v == -1 && PyErr_Occurred()) {
                return -1;
            }
            if (overflow) {
                /* Rare: an int beyond 64 bits, sent as its decimal text
                 * (as redis-py sends str(value)), from its value: int's own
                 * repr, never a subclass's __str__, so what is sent is what
                 * a key prefixer saw (pyredisclient/keyprefix.py). */
                PyObject *text = PyLong_Type.tp_repr(o);
                const char *s;
                if (text == NULL || keep(a, text) < 0) {
                    Py_XDECREF(text);
                    return -1;
                }
                Py_DECREF(text); /* the keep list holds it */
                s = PyUnicode_AsUTF8AndSize(text, &len);
                if (s == NULL) {
                    return -1;
                }
                a->argv[i] = s;
                a->argvlen[i] = (size_t)len;
                continue;
            }
            len = (Py_ssize_t)prc_fmt_i64(a->scratch + spos, v);
            a->argv[i] = a->scratch + spos;
            a->argvlen[i] = (size_t)len;
            spos += 32;
        } else if (PyFloat_Check(o)) {
            char *r = PyOS_double_to_string(PyFloat_AS_DOUBLE(o), 'r', 0,
                                            Py_DTSF_ADD_DOT_0, NULL);
            if (r == NULL) {
                return -1;
            }
            len = (Py_ssize_t)strlen(r);
            if (len >= 32) {
                PyMem_Free(r);
                PyErr_SetString(PYRC_EXC(st, DATA), "float argument too long");
                return -1;
            }
            memcpy(a->scratch + spos, r, (size_t)len);
            PyMem_Free(r);
            a->argv[i] = a->scratch + spos;
            a->argvlen[i] = (size_t)len;
            spos += 32;
        } else if (PyByteArray_Check(o) || PyMemoryView_Check(o)) {
            Py_buffer *view = &a->views[a->nviews];
            if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) < 0) {
                PyErr_Clear();
                PyErr_Format(PYRC_EXC(st, DATA),
                             "argument %zd: a memoryview argument must be "
                             "C-contiguous bytes",
                             i);
                return -1;
            }
            a->nviews++;
            a->argv[i] = view->buf;
            a->argvlen[i] = (size_t)view->len;
        } else {
            bad_type(st, items, i, o);
            return -1;
        }
    }
    return 0;
}

int
pyrc_args_from_items(pyrc_state *st, PyObject *const *items, Py_ssize_t n,
                     pyrc_args *a, const char *encoding, const char *errors)
{
    Py_ssize_t i;
    uint64_t size = 0;
    size_t wide = 0; /* the OR of the lengths */

    memset(a, 0, offsetof(pyrc_args, argv_small));
    if (n == 0) {
        PyErr_SetString(PYRC_EXC(st, DATA),
                        "a command needs at least its name");
        return -1;
    }
    if (n > INT_MAX / 2) {
        PyErr_SetString(PYRC_EXC(st, DATA), "too many arguments");
        return -1;
    }
    if (n <= 16) {
        a->argv = a->argv_small;
        a->argvlen = a->len_small;
    } else {
        /* One block: the lengths follow the pointers (n <= INT_MAX / 2:
         * no overflow). */
        a->argv = PyMem_Malloc((sizeof(char *) + sizeof(size_t)) * (size_t)n);
        if (a->argv == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        a->argvlen = (size_t *)(a->argv + n);
    }
    /* The common command, all bytes and (for UTF-8) ASCII str, in one
     * pass that points at the objects' own bytes and sums the encoding's
     * size; the first argument of any other kind (any argument, for
     * another encoding) hands the rest to convert_rest, and
     * pyrc_command_size then sums the size. */
    for (i = 0; i < n && encoding == NULL; i++) {
        PyObject *o = items[i];
        unsigned long tpflags = Py_TYPE(o)->tp_flags;
        size_t len;
        if (tpflags & Py_TPFLAGS_UNICODE_SUBCLASS) {
            if (!PyUnicode_IS_COMPACT_ASCII(o)) {
                break;
            }
            /* ASCII is its own UTF-8, stored right after the object (what
             * PyUnicode_DATA computes for a compact ASCII str). */
            a->argv[i] = (const char *)((PyASCIIObject *)o + 1);
            len = (size_t)((PyASCIIObject *)o)->length;
        } else if (tpflags & Py_TPFLAGS_BYTES_SUBCLASS) {
            a->argv[i] = PyBytes_AS_STRING(o);
            len = (size_t)PyBytes_GET_SIZE(o);
        } else {
            break;
        }
        a->argvlen[i] = len;
        wide |= len;
        /* Below 2^30 terms of at most 2^31 + 16 bytes while wide stays
         * below PRC_MAX_COMMAND: no overflow of 64 bits. */
        size += prc_resp_arg_len(len);
    }
    if (i == n && wide < PRC_MAX_COMMAND) {
        size += prc_resp_header_len((size_t)n);
        a->size = size < PRC_MAX_COMMAND ? (size_t)size : 0;
    }
    if (i < n && convert_rest(st, items, n, a, i, encoding, errors) < 0) {
        pyrc_args_free(a);
        return -1;
    }
    a->argc = (int)n;
    return 0;
}

int
pyrc_command_size(pyrc_state *st, const pyrc_args *a, size_t *size)
{
    *size = a->size != 0 ? a->size : prc_resp_command_len(a->argc, a->argvlen);
    if (*size >= PRC_MAX_COMMAND) {
        PyErr_SetString(PYRC_EXC(st, DATA),
                        "command encoding would exceed 2 GiB");
        return -1;
    }
    return 0;
}

/* ---- replies: hiredis reader object functions --------------------------- */

/* Per-parse context, pointed to by the reader's privdata. */
typedef struct {
    RedisClientObject *client;
    int failed; /* a Python exception is set */
    int decode; /* the reply being read: its strings are decoded */
    /* The reply being read is a transaction's EXEC whose items are raw
     * by these flags (pyrc_raw_t), or NULL. */
    const unsigned char *items;
    Py_ssize_t nitems;
} parse_ctx;

/* Is a string of an EXEC reply the answer, or part of the answer, of a
 * command sent as NeverDecode?  Found by the EXEC item it lies in: the
 * task whose parent is the top level.  A rare path (a transaction that
 * queued such a command). */
static int
item_is_raw(const parse_ctx *ctx, const redisReadTask *task)
{
    while (task->parent != NULL && task->parent->parent != NULL) {
        task = task->parent;
    }
    return task->parent != NULL && task->idx >= 0 && task->idx < ctx->nitems &&
           ctx->items[task->idx];
}

static void *
attach(const redisReadTask *task, PyObject *obj)
{
    if (obj == NULL) {
        ((parse_ctx *)task->privdata)->failed = 1;
        return NULL;
    }
    if (task->parent != NULL) {
        /* The parent list steals the reference. */
        PyList_SET_ITEM((PyObject *)task->parent->obj, task->idx, obj);
    }
    return obj;
}

/* A string reply (status, bulk, or an error reply's exception), decoded
 * when `decode`. */
static inline PyObject *
string_object(parse_ctx *ctx, int error, const char *s, size_t len, int decode)
{
    RedisClientObject *c = ctx->client;

    if (error) {
        return pyrc_error_reply(c->state, s, len);
    }
    if (!decode) {
        return PyBytes_FromStringAndSize(s, (Py_ssize_t)len);
    }
    if (c->utf8_strict) {
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, NULL);
    }
    return PyUnicode_Decode(s, (Py_ssize_t)len, c->encoding, c->errors);
}

static void *
create_string(const redisReadTask *task, char *s, size_t len)
{
    parse_ctx *ctx = task->privdata;
    int decode =
        ctx->decode && !(ctx->items != NULL && item_is_raw(ctx, task));

    return attach(task, string_object(ctx, task->type == REDIS_REPLY_ERROR, s,
                                      len, decode));
}

#if HIREDIS_MAJOR >= 1
static void *
create_array(const redisReadTask *task, size_t elements)
#else
static void *
create_array(const redisReadTask *task, int elements)
#endif
{
    return attach(task, PyList_New((Py_ssize_t)elements));
}

static void *
create_integer(const redisReadTask *task, long long value)
{
    return attach(task, PyLong_FromLongLong(value));
}

static void *
create_nil(const redisReadTask *task)
{
    Py_INCREF(Py_None);
    return attach(task, Py_None);
}

#if HIREDIS_MAJOR >= 1
static void *
create_double(const redisReadTask *task, double value, char *s, size_t len)
{
    (void)s;
    (void)len;
    return attach(task, PyFloat_FromDouble(value));
}

static void *
create_bool(const redisReadTask *task, int value)
{
    return attach(task, PyBool_FromLong(value));
}
#endif

static void
free_object(void *obj)
{
    Py_XDECREF((PyObject *)obj);
}

static redisReplyObjectFunctions reply_functions = {
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
#if HIREDIS_MAJOR >= 1
    .createDouble = create_double,
    .createBool = create_bool,
#endif
    .freeObject = free_object,
};

/* Free a reader that holds no Python object: safe without the GIL. */
static void
reader_free(void *r)
{
    redisReaderFree(r);
}

PyObject *
pyrc_parse_replies(RedisClientObject *self, prc_conn_t *conn, Py_ssize_t n,
                   int as_list, const pyrc_raw_t *raw)
{
    size_t len;
    const char *buf = prc_conn_replies(conn, &len);

    return pyrc_parse_span(self, conn, buf, len, n, as_list, 0, raw);
}

#if HIREDIS_MAJOR < 1
/* hiredis 0.14 refuses replies nested deeper than 7 (a fixed task stack),
 * and Redis sends such replies itself: COMMAND DOCS, a Lua script's nested
 * tables.  The framer has checked the reply (whole, valid RESP2, at most
 * PRC_FRAMER_MAX_DEPTH deep), so it is built here instead, element by
 * element, as the object functions above build what hiredis reads.
 * `item`: the reply's index in a transaction's EXEC (for pyrc_raw_t), or
 * -1.  A new reference, or NULL with an exception set: ctx->failed when a
 * conversion refused the bytes (a decode error), as attach() says it, so
 * that a shared connection is kept as it is for the replies hiredis reads. */
static PyObject *
build_deep(parse_ctx *ctx, const char *buf, size_t len, size_t pos,
           Py_ssize_t item, size_t *end)
{
    prc_reply_t r;
    PyObject *list, *obj = NULL;
    char num[32];
    int64_t i;
    int decode = ctx->decode;

    if (prc_reply_at(buf, len, pos, &r) != 1) {
        PyErr_SetString(PYRC_EXC(ctx->client->state, PROTOCOL),
                        "invalid reply: not whole RESP");
        return NULL;
    }
    *end = r.end;
    if (item >= 0 && item < ctx->nitems && ctx->items[item]) {
        decode = 0;
    }
    switch (r.type) {
    case '+':
    case '-':
        obj = string_object(ctx, r.type == '-', r.text, r.len, decode);
        break;
    case '$':
        if (r.text == NULL) {
            Py_RETURN_NONE;
        }
        obj = string_object(ctx, 0, r.text, r.len, decode);
        break;
    case ':':
        if (r.len >= sizeof(num)) {
            goto bad_type; /* the framer never lets one through */
        }
        memcpy(num, r.text, r.len);
        num[r.len] = '\0';
        obj = PyLong_FromString(num, NULL, 10);
        break;
    case '*':
        if (r.n < 0) {
            Py_RETURN_NONE;
        }
        list = PyList_New((Py_ssize_t)r.n);
        if (list == NULL) {
            ctx->failed = 1;
            return NULL;
        }
        pos = r.body;
        for (i = 0; i < r.n; i++) {
            /* Only the EXEC reply's own items say which are raw. */
            PyObject *o = build_deep(
                ctx, buf, len, pos,
                item < 0 && ctx->items != NULL ? (Py_ssize_t)i : item, &pos);
            if (o == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)i, o);
        }
        return list;
    default:
        goto bad_type;
    }
    if (obj == NULL) {
        ctx->failed = 1;
    }
    return obj;

bad_type:
    PyErr_Format(PYRC_EXC(ctx->client->state, PROTOCOL),
                 "invalid reply: unexpected type byte 0x%02x", r.type);
    return NULL;
}

/* Did hiredis refuse the reply only for its depth? */
static int
too_deep(const redisReader *r)
{
    return r->err == REDIS_ERR_PROTOCOL && strstr(r->errstr, "depth") != NULL;
}
#endif

/* Set up ctx for reply i of a parse (pyrc_raw_t). */
static void
raw_for_reply(parse_ctx *ctx, const pyrc_raw_t *raw, Py_ssize_t i)
{
    ctx->decode = ctx->client->decode;
    ctx->items = NULL;
    if (raw == NULL || !ctx->decode) {
        return;
    }
    if (i < raw->len && raw->flags[i]) {
        ctx->decode = 0;
    } else if (i == raw->exec && raw->len > 1) {
        ctx->items = raw->flags + 1;
        ctx->nitems = raw->len - 1;
    }
}

/* Convert replies [*next, to) into slots[*next, to), advancing *next
 * past each one set, and feeding the reader the bytes of buf[0, len) from
 * *off on (whole replies only: nothing beyond them is fed).  n is the
 * count of the whole parse: one reply is fed whole, many in slices,
 * because hiredis moves its unread bytes each time it discards what it
 * consumed, which is quadratic on one large buffer.  0, or -1
 * (ctx->failed when a conversion refused the bytes, else the reply was
 * not valid RESP). */
static int
parse_into(parse_ctx *ctx, redisReader **rp, const char *buf, size_t len,
           size_t *off, PyObject **slots, Py_ssize_t *next, Py_ssize_t to,
           Py_ssize_t n, const pyrc_raw_t *raw)
{
    redisReader *r = *rp;
    Py_ssize_t i;

    r->privdata = ctx;
    for (i = *next; i < to; i++) {
        void *obj = NULL;
#if HIREDIS_MAJOR < 1
        /* Where reply i starts in buf: what was fed, less what the reader
         * holds unread. */
        size_t start = *off - (r->len - r->pos);
#endif
        if (raw != NULL) {
            raw_for_reply(ctx, raw, i);
        }
        for (;;) {
            size_t take, left = len - *off;
            if (redisReaderGetReply(r, &obj) != REDIS_OK) {
#if HIREDIS_MAJOR < 1
                if (too_deep(r) && !ctx->failed) {
                    /* Built here; a new reader for what follows (the
                     * refusing one dropped what it was fed). */
                    redisReader *fresh =
                        redisReaderCreateWithFunctions(&reply_functions);
                    if (fresh == NULL) {
                        PyErr_NoMemory();
                        goto fail;
                    }
                    redisReaderFree(r);
                    *rp = r = fresh;
                    r->privdata = ctx;
                    obj = build_deep(ctx, buf, len, start, -1, off);
                    if (obj == NULL) {
                        goto fail;
                    }
                    break;
                }
#endif
                goto fail;
            }
            if (obj != NULL || left == 0) {
                break;
            }
            take = n == 1 || left < PYRC_FEED_SLICE ? left : PYRC_FEED_SLICE;
            if (redisReaderFeed(r, buf + *off, take) != REDIS_OK) {
                goto fail;
            }
            *off += take;
        }
        if (obj == NULL) {
            goto fail;
        }
        slots[i] = obj;
        *next = i + 1;
    }
    r->privdata = NULL;
    return 0;

fail:
    r->privdata = NULL;
    if (!ctx->failed && !PyErr_Occurred()) {
        PyErr_Format(PYRC_EXC(ctx->client->state, PROTOCOL),
                     "invalid reply: %s",
                     r->err ? r->errstr : "incomplete reply");
    }
    return -1;
}

PyObject *
pyrc_parse_span(RedisClientObject *self, prc_conn_t *conn, const char *buf,
                size_t len, Py_ssize_t n, int as_list, int keep,
                const pyrc_raw_t *raw)
{
    redisReader *r = prc_conn_user(conn);
    parse_ctx ctx = {self, 0, self->decode, NULL, 0};
    PyObject *list = NULL, *reply = NULL;
    size_t off = 0;
    Py_ssize_t next = 0;
    int rc;

    if (r == NULL) {
        r = redisReaderCreateWithFunctions(&reply_functions);
        if (r == NULL) {
            return PyErr_NoMemory();
        }
        prc_conn_set_user(conn, r, reader_free);
    }
    if (as_list || n != 1) {
        list = PyList_New(n);
        if (list == NULL) {
            return NULL; /* the reader holds nothing: it stays */
        }
    }
    rc = parse_into(&ctx, &r, buf, len, &off,
                    list != NULL ? ((PyListObject *)list)->ob_item : &reply,
                    &next, n, n, raw);
    if (r != prc_conn_user(conn)) {
        prc_conn_set_user(conn, r, reader_free); /* replaced (build_deep) */
    }
    if (rc < 0) {
        /* The reader may hold a half-built reply: free it now, with the
         * GIL, and never reuse this connection, unless the bytes were
         * whole RESP that only a conversion refused (`keep`: a shared
         * connection, whose next reply starts right after). */
        prc_conn_set_user(conn, NULL, NULL);
        redisReaderFree(r);
        if (!(keep && ctx.failed)) {
            prc_conn_mark_broken(conn);
        }
        Py_XDECREF(list);
        return NULL;
    }
    if (len > PYRC_READER_KEEP) {
        prc_conn_set_user(conn, NULL, NULL); /* a new one on the next call */
        redisReaderFree(r);
    }
    return list != NULL ? list : reply;
}

/* ---- replies converted while the rest arrive (pyrc_partial_t) ---------- */

void
pyrc_partial_clear(pyrc_partial_t *pp)
{
    Py_ssize_t i;

    if (pp->reader != NULL) {
        redisReaderFree(pp->reader); /* with the GIL: it may hold objects */
    }
    for (i = 0; i < pp->done; i++) {
        Py_DECREF(pp->items[i]);
    }
    PyMem_Free(pp->items);
    pp->reader = NULL;
    pp->items = NULL;
    pp->done = 0;
    pp->off = 0;
}

int
pyrc_partial_take(RedisClientObject *self, prc_call_t *call,
                  pyrc_partial_t *pp, Py_ssize_t n, const pyrc_raw_t *raw)
{
    parse_ctx ctx = {self, 0, self->decode, NULL, 0};
    prc_conn_t *conn = prc_call_conn(call);
    size_t len, rlen;
    int framed = prc_call_framed(call, &len);
    const char *buf = prc_conn_replies(conn, &rlen);

    if (pp->items != NULL && pp->retries != call->retries) {
        /* A replay on another connection: its replies start again. */
        pyrc_partial_clear(pp);
    }
    if (pp->items == NULL) {
        /* Not a list yet: nothing half-filled is ever visible to Python
         * code (gc.get_objects) that runs while the GIL is released. */
        pp->items = PyMem_New(PyObject *, (size_t)n);
        pp->reader = redisReaderCreateWithFunctions(&reply_functions);
        if (pp->items == NULL || pp->reader == NULL) {
            pyrc_partial_clear(pp);
            PyErr_NoMemory();
            return -1;
        }
        pp->retries = call->retries;
    }
    if (framed > n) {
        framed = (int)n; /* the core frames no more than it was asked */
    }
    if (parse_into(&ctx, &pp->reader, buf, len, &pp->off, pp->items, &pp->done,
                   framed, n, raw) < 0) {
        pyrc_partial_clear(pp); /* items[0, done) were set */
        prc_conn_mark_broken(conn);
        return -1;
    }
    return 0;
}

PyObject *
pyrc_partial_list(pyrc_partial_t *pp)
{
    PyObject *list = PyList_New(pp->done);

    if (list == NULL) {
        pyrc_partial_clear(pp);
        return NULL;
    }
    memcpy(((PyListObject *)list)->ob_item, pp->items,
           (size_t)pp->done * sizeof(PyObject *));
    pp->done = 0; /* the list's now */
    pyrc_partial_clear(pp);
    return list;
}
