/* framer.c - find where RESP2 replies end, in place, enforcing limits. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "prc.h"

/* Longest header or status/error line accepted before its CRLF, unless the
 * owner raises max_line (a monitoring subscriber: MONITOR's lines carry
 * whole commands). */
#define PRC_MAX_LINE (64 * 1024)

void
prc_framer_init(prc_framer_t *f, size_t max_bulk, int64_t max_elements,
                int max_depth)
{
    memset(f, 0, sizeof(*f));
    f->bulk_left = -1;
    f->max_bulk = max_bulk;
    f->max_elements = max_elements;
    if (max_depth < 1 || max_depth > PRC_FRAMER_MAX_DEPTH) {
        max_depth = PRC_FRAMER_MAX_DEPTH;
    }
    f->max_depth = max_depth;
    f->max_line = PRC_MAX_LINE;
}

int
prc_framer_idle(const prc_framer_t *f)
{
    return f->bulk_left < 0 && f->depth == 0;
}

/* Is [p, end) a signed decimal?  1: an int64; 0: not a number; -1: a
 * number beyond 64 bits.  Integer replies are only checked, never
 * converted: the binding parses them. */
static int
valid_int(const char *p, const char *end)
{
    /* The magnitude's limit: INT64_MAX, or one more for a negative. */
    const char *limit = "9223372036854775807";
    size_t digits;
    const char *q;

    if (p < end && *p == '-') {
        limit = "9223372036854775808";
        p++;
    }
    if (p == end) {
        return 0;
    }
    for (q = p; q < end; q++) {
        if (*q < '0' || *q > '9') {
            return 0;
        }
    }
    digits = (size_t)(end - p);
    if (digits > 19 || (digits == 19 && memcmp(p, limit, 19) > 0)) {
        return -1;
    }
    return 1;
}

/* Parse a length (at most 18 digits, so it cannot overflow) in [p, end);
 * 0 on success.  Longer lengths exceed every limit anyway. */
static inline int
parse_int(const char *p, const char *end, int64_t *out)
{
    int neg = 0;
    int64_t v = 0;

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || end - p > 18) {
        return -1;
    }
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* Is the pair at p CR LF?  One 16-bit comparison. */
static inline int
is_crlf(const unsigned char *p)
{
    static const char crlf[2] = {'\r', '\n'};
    uint16_t w, want;

    memcpy(&w, p, 2);
    memcpy(&want, crlf, 2);
    return w == want;
}

/* The usual length line, one or two digits and CR LF, at p, of which four
 * bytes are readable: the position after the LF, with the length in *out;
 * NULL for any other shape. */
static inline const char *
short_length(const char *p, int64_t *out)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned d1 = (unsigned)u[0] - '0', d2;

    if (d1 > 9) {
        return NULL;
    }
    if (is_crlf(u + 1)) {
        *out = d1;
        return p + 3;
    }
    d2 = (unsigned)u[1] - '0';
    if (d2 <= 9 && is_crlf(u + 2)) {
        *out = d1 * 10 + d2;
        return p + 4;
    }
    return NULL;
}

/* The common header, "<1-18 digits>\r\n" wholly in [p, end): parse the
 * length in the pass that finds the line's end.  Returns the position after
 * the LF, or NULL for anything else (a sign, a line still arriving, bad
 * bytes), which the general path then handles and reports. */
static inline const char *
fast_length(const char *p, const char *end, int64_t *out)
{
    const char *start = p, *eol;
    int64_t v = 0;

    if (end - p >= 4 && (eol = short_length(p, out)) != NULL) {
        return eol;
    }
    while (p < end && *p >= '0' && *p <= '9' && p - start < 18) {
        v = v * 10 + (*p - '0');
        p++;
    }
    if (p == start || end - p < 2 || p[0] != '\r' || p[1] != '\n') {
        return NULL;
    }
    *out = v;
    return p + 2;
}

/* Inside an array, skip a run of bulk strings that are wholly in the buffer
 * and are not the array's last element (the MGET, HGETALL and LRANGE shape)
 * in a tight loop; nils ("$-1") are skipped too.  Returns the position of
 * the first element it leaves to the general path: anything else,
 * anything odd (which that path then reports), the last element (which
 * may complete the reply), or the end. */
static size_t
skip_bulk_run(prc_framer_t *f, const char *buf, size_t len, size_t pos)
{
    const unsigned char *b = (const unsigned char *)buf;
    int64_t left = f->left[f->depth - 1]; /* in a register; stored back */

    /* Six bytes, the shortest element ("$0\r\n\r\n"), are readable. */
    while (left > 1 && len - pos >= 6 && b[pos] == '$') {
        const char *eol;
        int64_t n;
        size_t body;

        if ((eol = short_length(buf + pos + 1, &n)) == NULL) {
            if (b[pos + 1] == '-' && b[pos + 2] == '1' &&
                is_crlf(b + pos + 3)) {
                pos += 5; /* a nil */
                left--;
                continue;
            }
            eol = fast_length(buf + pos + 1, buf + len, &n);
            if (eol == NULL) {
                break;
            }
        }
        body = (size_t)(eol - buf);
        if ((uint64_t)n > f->max_bulk || len - body < (size_t)n + 2 ||
            !is_crlf(b + body + n)) {
            break;
        }
        pos = body + (size_t)n + 2;
        left--;
    }
    f->left[f->depth - 1] = left;
    return pos;
}

/* One element finished at the current position: close the aggregates it
 * completes.  Returns 1 when a top-level reply is complete. */
static int
element_done(prc_framer_t *f)
{
    while (f->depth > 0) {
        if (--f->left[f->depth - 1] > 0) {
            return 0;
        }
        f->depth--;
    }
    return 1;
}

static int framer_error(prc_framer_t *f, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
framer_error(prc_framer_t *f, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->errstr, sizeof(f->errstr), fmt, ap);
    va_end(ap);
    return code;
}

static int
reply_too_big(prc_framer_t *f)
{
    return framer_error(f, PRC_EREPLYLIMIT,
                        "reply of more than %zu bytes exceeds "
                        "max_reply_bytes",
                        f->max_reply);
}

int
prc_framer_scan(prc_framer_t *f, const char *buf, size_t len, int limit)
{
    size_t pos = f->pos; /* kept in a register; stored back on return */
    int completed = 0;

    while (pos < len) {
        int done = 0;

        if (f->bulk_left >= 0) {
            size_t avail = len - pos;
            size_t skip =
                avail < (size_t)f->bulk_left ? avail : (size_t)f->bulk_left;
            pos += skip;
            f->bulk_left -= (int64_t)skip;
            if (f->bulk_left > 0 || len - pos < 2) {
                break;
            }
            if (buf[pos] != '\r' || buf[pos + 1] != '\n') {
                return framer_error(f, PRC_EPROTO,
                                    "bulk string not followed by CRLF");
            }
            pos += 2;
            f->bulk_left = -1;
            done = element_done(f);
        } else {
            const char *line = buf + pos;
            const char *eol;
            int64_t n = 0;

            if (f->depth == 0) {
                f->reply_start = pos; /* a new top-level reply begins */
            } else {
                pos = skip_bulk_run(f, buf, len, pos);
                if (pos >= len) {
                    break;
                }
                line = buf + pos;
            }
            if ((line[0] == '$' || line[0] == '*') &&
                (eol = fast_length(line + 1, buf + len, &n)) != NULL) {
                pos = (size_t)(eol - buf);
            } else {
                const char *nl = memchr(line, '\n', len - pos);

                if (nl == NULL) {
                    if (len - pos > f->max_line) {
                        return framer_error(f, PRC_EPROTO,
                                            "reply line longer than %zu bytes",
                                            f->max_line);
                    }
                    break;
                }
                if (nl == line || nl[-1] != '\r') {
                    return framer_error(f, PRC_EPROTO,
                                        "reply line not terminated by CRLF");
                }
                pos = (size_t)(nl - buf) + 1;
                switch (line[0]) {
                case '+':
                case '-':
                    done = element_done(f);
                    break;
                case ':':
                    switch (valid_int(line + 1, nl - 1)) {
                    case 0:
                        return framer_error(f, PRC_EPROTO,
                                            "invalid integer reply");
                    case -1:
                        return framer_error(f, PRC_EPROTO,
                                            "integer reply beyond 64 bits");
                    }
                    done = element_done(f);
                    break;
                case '$':
                case '*':
                    if (parse_int(line + 1, nl - 1, &n) != 0 || n < -1) {
                        return framer_error(f, PRC_EPROTO, "invalid %s length",
                                            line[0] == '$' ? "bulk" : "array");
                    }
                    break;
                default:
                    return framer_error(f, PRC_EPROTO,
                                        "invalid reply type byte 0x%02x",
                                        (unsigned int)(unsigned char)line[0]);
                }
            }
            if (line[0] == '$') {
                if (n == -1) {
                    done = element_done(f);
                } else if ((uint64_t)n > f->max_bulk) {
                    return framer_error(
                        f, PRC_EREPLYLIMIT,
                        "bulk reply of %lld bytes exceeds max_reply_bytes",
                        (long long)n);
                } else if (len - pos >= (size_t)n + 2) {
                    /* The body is usually here already: skip it now. */
                    if (buf[pos + n] != '\r' || buf[pos + n + 1] != '\n') {
                        return framer_error(f, PRC_EPROTO,
                                            "bulk string not followed by "
                                            "CRLF");
                    }
                    pos += (size_t)n + 2;
                    done = element_done(f);
                } else {
                    f->bulk_left = n;
                }
            } else if (line[0] == '*') {
                if (n > f->max_elements) {
                    return framer_error(
                        f, PRC_EREPLYLIMIT,
                        "array reply of %lld elements exceeds max_reply_bytes",
                        (long long)n);
                }
                if (n <= 0) {
                    done = element_done(f);
                } else if (f->depth >= f->max_depth) {
                    return framer_error(f, PRC_EREPLYLIMIT,
                                        "reply nested deeper than %d levels",
                                        f->max_depth);
                } else {
                    f->left[f->depth++] = n;
                }
            }
        }
        if (done) {
            if (f->max_reply && pos - f->reply_start > f->max_reply) {
                f->pos = pos;
                return reply_too_big(f);
            }
            if (++completed == limit) {
                f->pos = pos;
                return completed;
            }
        }
    }
    f->pos = pos;
    /* The reply still arriving counts too. */
    if (f->max_reply && !prc_framer_idle(f) &&
        f->pos - f->reply_start > f->max_reply) {
        return reply_too_big(f);
    }
    return completed;
}

int
prc_reply_at(const char *buf, size_t len, size_t pos, prc_reply_t *r)
{
    prc_framer_t f;
    const char *line, *eol;
    int rc;

    prc_framer_init(&f, SIZE_MAX, INT64_MAX, PRC_FRAMER_MAX_DEPTH);
    f.pos = pos;
    rc = prc_framer_scan(&f, buf, len, 1);
    if (rc <= 0) {
        return rc;
    }
    /* The framer checked the header line: "<type><text>\r\n" (a simple
     * string may hold a CR of its own: its line ends at the LF). */
    line = buf + pos + 1;
    eol = (const char *)memchr(line, '\n', len - pos - 1) - 1;
    memset(r, 0, sizeof(*r));
    r->type = (unsigned char)buf[pos];
    r->end = f.pos;
    switch (r->type) {
    case '$':
    case '*':
        if (parse_int(line, eol, &r->n) != 0) {
            return PRC_EPROTO; /* cannot happen: the framer parsed it */
        }
        r->body = (size_t)(eol + 2 - buf);
        if (r->type == '$' && r->n >= 0) {
            r->text = eol + 2;
            r->len = (size_t)r->n;
        }
        break;
    default:
        r->text = line;
        r->len = (size_t)(eol - line);
        break;
    }
    return 1;
}
