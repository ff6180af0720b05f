/* writer.c - the RESP writer: commands encoded into output buffers. */
#include <stdlib.h>
#include <string.h>

#include "prc.h"

/* The first heap block a buffer takes, at least. */
#define PRC_WBUF_MIN 256

/* "00" "01" ... "99": two digits per division by 100. */
static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* Write v's n digits (prc_dec_digits) backwards from out + n. */
static inline void
put_digits(char *out, size_t n, uint64_t v)
{
    while (v >= 100) {
        size_t d = (size_t)(v % 100) * 2;
        v /= 100;
        out[--n] = digit_pairs[d + 1];
        out[--n] = digit_pairs[d];
    }
    if (v >= 10) {
        out[1] = digit_pairs[v * 2 + 1];
        out[0] = digit_pairs[v * 2];
    } else {
        out[0] = (char)('0' + v);
    }
}

size_t
prc_fmt_u64(char *out, uint64_t v)
{
    size_t n = prc_dec_digits(v);

    put_digits(out, n, v);
    return n;
}

size_t
prc_fmt_i64(char *out, int64_t v)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + prc_fmt_u64(out + 1, 0 - (uint64_t)v);
    }
    return prc_fmt_u64(out, (uint64_t)v);
}

/* A header line: the type byte, n, CRLF. */
static inline char *
put_header(char *p, char type, uint64_t n)
{
    size_t d = prc_dec_digits(n);

    *p++ = type;
    put_digits(p, d, n);
    p += d;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

size_t
prc_resp_command_len(int argc, const size_t *argvlen)
{
    /* "*<argc>\r\n", then prc_resp_arg_len per argument. */
    size_t total = prc_resp_header_len((size_t)(argc > 0 ? argc : 0));
    int i;

    for (i = 0; i < argc; i++) {
        size_t len = argvlen[i];
        if (len >= PRC_MAX_COMMAND) {
            return PRC_MAX_COMMAND;
        }
        /* Both below 2^31 plus 2^31 + 25: no overflow on any size_t. */
        total += prc_resp_arg_len(len);
        if (total >= PRC_MAX_COMMAND) {
            return PRC_MAX_COMMAND;
        }
    }
    return total;
}

/* Copy n bytes: short arguments (keys, fields, small values) without a
 * call into memcpy, as two overlapping loads and stores that stay inside
 * both [src, src + n) and [dst, dst + n). */
static inline void
copy_bytes(char *dst, const char *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n > 16) {
        memcpy(dst, src, n);
    } else if (n > 0) {
        /* 1 to 3 bytes: first, middle and last (some the same). */
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

char *
prc_resp_write_command(char *out, int argc, const char *const *argv,
                       const size_t *argvlen)
{
    char *p;
    int i;

    if ((unsigned)argc < 10) { /* most commands: "*<one digit>\r\n" */
        out[0] = '*';
        out[1] = (char)('0' + argc);
        out[2] = '\r';
        out[3] = '\n';
        p = out + 4;
    } else {
        p = put_header(out, '*', (uint64_t)argc);
    }

    for (i = 0; i < argc; i++) {
        size_t len = argvlen[i];
        *p = '$';
        if (len < 10) {
            p[1] = (char)('0' + len);
            p += 2;
        } else if (len < 100) {
            p[1] = digit_pairs[len * 2];
            p[2] = digit_pairs[len * 2 + 1];
            p += 3;
        } else {
            size_t d = prc_dec_digits(len);
            put_digits(p + 1, d, len);
            p += 1 + d;
        }
        p[0] = '\r';
        p[1] = '\n';
        copy_bytes(p + 2, argv[i], len);
        p += len + 2;
        p[0] = '\r';
        p[1] = '\n';
        p += 2;
    }
    return p;
}

void
prc_wbuf_init(prc_wbuf_t *wb, char *storage, size_t cap)
{
    wb->buf = storage;
    wb->len = 0;
    wb->cap = storage != NULL ? cap : 0;
    wb->owned = 0;
}

void
prc_wbuf_free(prc_wbuf_t *wb)
{
    if (wb->owned) {
        free(wb->buf);
    }
    prc_wbuf_init(wb, NULL, 0);
}

int
prc_wbuf_reserve(prc_wbuf_t *wb, size_t more)
{
    size_t want = wb->len + more, cap;
    char *nb;

    if (want < wb->len) {
        return PRC_ETOOBIG;
    }
    if (want <= wb->cap) {
        return 0;
    }
    /* Double, so that appending n bytes in pieces costs O(n) copies. */
    cap = wb->cap < PRC_WBUF_MIN ? PRC_WBUF_MIN : wb->cap;
    while (cap < want) {
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    }
    if (wb->owned) {
        nb = realloc(wb->buf, cap);
        if (nb == NULL) {
            return PRC_ENOMEM;
        }
    } else {
        /* Out of the caller's storage: its bytes move to the heap. */
        nb = malloc(cap);
        if (nb == NULL) {
            return PRC_ENOMEM;
        }
        if (wb->len > 0) {
            memcpy(nb, wb->buf, wb->len);
        }
        wb->owned = 1;
    }
    wb->buf = nb;
    wb->cap = cap;
    return 0;
}

int
prc_wbuf_append(prc_wbuf_t *wb, const void *p, size_t n)
{
    int rc = prc_wbuf_reserve(wb, n);

    if (rc != 0) {
        return rc;
    }
    if (n > 0) {
        memcpy(wb->buf + wb->len, p, n);
        wb->len += n;
    }
    return 0;
}

int
prc_wbuf_append_command(prc_wbuf_t *wb, int argc, const char *const *argv,
                        const size_t *argvlen)
{
    size_t n;
    int rc;

    if (argc < 1) {
        return PRC_EINVAL;
    }
    n = prc_resp_command_len(argc, argvlen);
    if (n >= PRC_MAX_COMMAND) {
        return PRC_ETOOBIG;
    }
    rc = prc_wbuf_reserve(wb, n);
    if (rc != 0) {
        return rc;
    }
    wb->len = (size_t)(prc_resp_write_command(wb->buf + wb->len, argc, argv,
                                              argvlen) -
                       wb->buf);
    return 0;
}

void
prc_wbuf_consume(prc_wbuf_t *wb, size_t n)
{
    if (n >= wb->len) {
        wb->len = 0;
        return;
    }
    memmove(wb->buf, wb->buf + n, wb->len - n);
    wb->len -= n;
}

void
prc_wbuf_shrink(prc_wbuf_t *wb, size_t keep)
{
    wb->len = 0;
    if (wb->owned && wb->cap > keep) {
        prc_wbuf_free(wb);
    }
}
