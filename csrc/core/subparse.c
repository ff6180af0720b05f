/* subparse.c - a reply pushed on a subscribed connection, split into a
 * message: its kind and its flat elements, pointing into the buffer. */
#include <string.h>

#include "sub_int.h"

const char *
prc_sub_kind_name(int kind)
{
    static const char *const names[PRC_SUB_KIND_COUNT] = {
#define PRC_SUB_KIND_NAME(name, str) str,
        PRC_SUB_KIND_MAP(PRC_SUB_KIND_NAME)
#undef PRC_SUB_KIND_NAME
    };

    return kind >= 0 && kind < PRC_SUB_KIND_COUNT ? names[kind] : NULL;
}

/* An integer line [p, end) that the framer checked. */
static int64_t
line_int(const char *p, const char *end)
{
    int neg = p < end && *p == '-';
    uint64_t v = 0;

    for (p += neg; p < end; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

/* One flat element at b[*pos] of a framed reply: 0 and *pos past it, or
 * -1 for an aggregate. */
static int
elem_at(const char *b, size_t len, size_t *pos, prc_sub_elem_t *e)
{
    const char *line = b + *pos + 1;
    const char *nl = memchr(line, '\n', len - *pos - 1);
    const char *eol;

    if (nl == NULL) {
        return -1;
    }
    eol = nl - 1; /* its CR */
    e->type = (unsigned char)b[*pos];
    e->p = NULL;
    e->len = 0;
    e->num = 0;
    *pos = (size_t)(nl + 1 - b);
    switch (e->type) {
    case '$': {
        int64_t n = line_int(line, eol);
        if (n >= 0) {
            e->p = b + *pos;
            e->len = (size_t)n;
            *pos += (size_t)n + 2;
        }
        return 0;
    }
    case ':':
        e->num = line_int(line, eol);
        return 0;
    case '+':
    case '-':
        e->p = line;
        e->len = (size_t)(eol - line);
        return 0;
    default:
        return -1;
    }
}

/* Does the message have n elements of these types ("$$", "$:", ...)?
 * A '$' must not be nil unless `nil_ok`. */
static int
shaped(const prc_sub_msg_t *m, const char *types, int nil_ok)
{
    int i;

    if ((size_t)m->n != strlen(types)) {
        return 0;
    }
    for (i = 0; i < m->n; i++) {
        if (m->el[i].type != types[i] ||
            (types[i] == '$' && m->el[i].p == NULL && !nil_ok)) {
            return 0;
        }
    }
    return 1;
}

int
prc__sub_parse_push(const char *b, size_t len, prc_sub_msg_t *m)
{
    static const char pong[] = "PONG";
    prc_sub_elem_t kind;
    size_t pos = 0;
    int64_t n;
    int i;

    m->n = 0;
    if (b[0] != '*') {
        if (elem_at(b, len, &pos, &m->el[0]) != 0) {
            return -1;
        }
        m->n = 1;
        switch (m->el[0].type) {
        case '$': /* PING's reply while subscribed to nothing */
            m->kind = PRC_SUB_KIND_PONG;
            return m->el[0].p != NULL ? 0 : -1;
        case '+':
            if (m->el[0].len != 4 || memcmp(m->el[0].p, pong, 4) != 0) {
                return -1;
            }
            m->kind = PRC_SUB_KIND_PONG;
            m->el[0].type = '$';
            m->el[0].len = 0; /* as redis-py: PING without a message */
            return 0;
        case '-':
            m->kind = PRC_SUB_KIND_ERROR;
            return 0;
        default:
            return -1;
        }
    }
    pos = (size_t)((const char *)memchr(b, '\n', len) + 1 - b);
    n = line_int(b + 1, b + pos - 2);
    if (n < 2 || n > 4 || elem_at(b, len, &pos, &kind) != 0 ||
        kind.type != '$' || kind.p == NULL) {
        return -1;
    }
    for (i = 0; i < (int)n - 1; i++) {
        if (elem_at(b, len, &pos, &m->el[i]) != 0) {
            return -1;
        }
    }
    m->n = (int)n - 1;
    for (m->kind = 0; m->kind < PRC_SUB_KIND_ERROR; m->kind++) {
        const char *name = prc_sub_kind_name(m->kind);
        if (strlen(name) == kind.len && memcmp(name, kind.p, kind.len) == 0) {
            break;
        }
    }
    switch (m->kind) {
    case PRC_SUB_KIND_MESSAGE:
    case PRC_SUB_KIND_SMESSAGE:
        return shaped(m, "$$", 0) ? 0 : -1;
    case PRC_SUB_KIND_PMESSAGE:
        return shaped(m, "$$$", 0) ? 0 : -1;
    case PRC_SUB_KIND_PONG:
        return shaped(m, "$", 0) ? 0 : -1;
    case PRC_SUB_KIND_ERROR:
        return -1;
    default: /* the (un)subscribe confirmations */
        return shaped(m, "$:", 1) ? 0 : -1;
    }
}

int
prc__sub_parse_monitor(const char *b, size_t len, prc_sub_msg_t *m)
{
    size_t pos = 0;

    if (b[0] != '+' || (len == 7 && memcmp(b, "+PONG\r\n", 7) == 0)) {
        return prc__sub_parse_push(b, len, m);
    }
    if (elem_at(b, len, &pos, &m->el[0]) != 0) {
        return -1;
    }
    m->n = 1;
    m->kind = m->el[0].len == 2 && memcmp(m->el[0].p, "OK", 2) == 0
                  ? PRC_SUB_KIND_MONITOR
                  : PRC_SUB_KIND_COMMAND;
    return 0;
}
