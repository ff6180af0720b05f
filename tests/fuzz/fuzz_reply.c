/* fuzz_reply.c - libFuzzer target: the reply path, from bytes to replies.
 *
 * The input is what a server sends.  A connection reads it through a fake
 * transport in chunks the input chooses, so prc__conn_io_step, the reply
 * buffer, the framer with its limits and the out-of-step checks (and, in
 * setup mode, the pre-command check and the setup-reply check) run as in
 * production.  When the connection says the expected replies are complete,
 * the binding would feed exactly those bytes to its hiredis reader and
 * expect exactly that many replies: the harness does the same with a
 * hiredis reader and checks that both agree on where each reply ends and
 * that integers were framed only when they fit in 64 bits; and that
 * prc_reply_at (how the core reads the few replies it looks into) reads
 * each reply as hiredis does.
 *
 * Input layout: byte 0 selects the mode (bits 0-2: replies expected - 1;
 * bits 3-4: limits; bit 5: setup mode; bits 6-7: chunking), byte 1 seeds
 * the chunk sizes; the rest is the server's bytes.
 */
#include <errno.h>
#include <hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prc_int.h"

static prc_conn_cfg_t plain_cfg; /* no setup commands */
static prc_conn_cfg_t setup_cfg; /* AUTH + SELECT + CLIENT SETNAME */

static const uint8_t *in_data;
static size_t in_len, in_pos;
static unsigned chunk_seed, chunk_mode, reads;
static int quiet_first; /* the first read finds nothing (setup mode) */
static int exhausted;   /* everything was read and the server waits */

static ssize_t
fz_read(prc_conn_t *c, char *buf, size_t len)
{
    size_t n;

    (void)c;
    reads++;
    if ((chunk_mode == 3 && reads % 3 == 0) || (reads == 1 && quiet_first)) {
        return PRC__AGAIN_READ; /* a spurious wake-up, or nothing yet */
    }
    if (in_pos == in_len) {
        /* All of it was read: the server now waits (or closed). */
        if (chunk_seed & 1) {
            return 0;
        }
        exhausted = 1;
        return PRC__AGAIN_READ;
    }
    switch (chunk_mode) {
    case 0:
        n = len; /* as much as fits: the usual case */
        break;
    case 1:
        n = 1; /* a byte at a time */
        break;
    default:
        chunk_seed = chunk_seed * 1103515245u + 12345u;
        n = 1 + (chunk_seed >> 16) % 64;
        break;
    }
    if (n > len) {
        n = len;
    }
    if (n > in_len - in_pos) {
        n = in_len - in_pos;
    }
    memcpy(buf, in_data + in_pos, n);
    in_pos += n;
    return (ssize_t)n;
}

static ssize_t
fz_write(prc_conn_t *c, const char *buf, size_t len)
{
    (void)c;
    (void)buf;
    return (ssize_t)len;
}

static void
fz_close(prc_conn_t *c, int orderly)
{
    (void)c;
    (void)orderly;
}

static const prc_transport_t fuzz_transport = {
    .read = fz_read,
    .write = fz_write,
    .handshake = NULL,
    .close = fz_close,
};

/* A connection config, no pool: the connection stands on its own. */
static void
make_cfg(prc_conn_cfg_t *cfg, int setup)
{
    prc_opts_t o;
    char err[128];

    prc_opts_init(&o);
    o.host = "127.0.0.1";
    if (setup) {
        o.password = "pw";
        o.db = 2;
        o.client_name = "fuzz";
    }
    if (prc__conn_cfg_init(cfg, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "prc__conn_cfg_init: %s\n", err);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    make_cfg(&plain_cfg, 0);
    make_cfg(&setup_cfg, 1);
    return 0;
}

/* The framer accepted an integer line: it must be a decimal that fits in
 * int64, and hiredis must have read the same value. */
static void
check_integer(const char *line, size_t len, long long parsed)
{
    char tmp[32];
    char *end;
    long long v;

    if (len >= sizeof(tmp)) {
        abort(); /* the framer let through more than 20 characters */
    }
    memcpy(tmp, line, len);
    tmp[len] = '\0';
    errno = 0;
    v = strtoll(tmp, &end, 10);
    if (errno == ERANGE || *end != '\0' || v != parsed) {
        fprintf(stderr, "integer \"%s\" framed, hiredis read %lld\n", tmp,
                parsed);
        abort();
    }
}

/* prc_reply_at must read the reply hiredis read: same type, end, text,
 * payload or element count. */
static void
check_reply_at(const char *buf, size_t len, size_t start, size_t end,
               const redisReply *reply)
{
    prc_reply_t r;
    int ok;

    if (prc_reply_at(buf, len, start, &r) != 1 || r.end != end) {
        abort();
    }
    switch (reply->type) {
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        ok = r.type == (reply->type == REDIS_REPLY_STATUS ? '+' : '-') &&
             r.len == (size_t)reply->len &&
             memcmp(r.text, reply->str, r.len) == 0;
        break;
    case REDIS_REPLY_STRING:
        ok = r.type == '$' && r.n == (int64_t)reply->len &&
             r.len == (size_t)reply->len &&
             memcmp(r.text, reply->str, r.len) == 0;
        break;
    case REDIS_REPLY_INTEGER:
        ok = r.type == ':' && r.text == buf + start + 1;
        break;
    case REDIS_REPLY_NIL:
        ok = (r.type == '$' || r.type == '*') && r.n == -1 && r.text == NULL;
        break;
    case REDIS_REPLY_ARRAY:
        ok = r.type == '*' && r.n == (int64_t)reply->elements;
        break;
    default:
        ok = 0;
        break;
    }
    if (!ok) {
        fprintf(stderr, "prc_reply_at read type %c, hiredis type %d\n", r.type,
                reply->type);
        abort();
    }
}

/*
 * The replies are complete: rbuf holds exactly `want` of them.  Frame them
 * again one at a time to learn where each ends, and check that hiredis
 * reads the same replies from the same bytes, consuming all of them.
 * hiredis may refuse what the framer accepted (0.14 stops at depth 7, and
 * refuses leading zeros in numbers): the binding then raises
 * ProtocolError and closes the connection, which is safe.  But when
 * hiredis reads a reply, it must end where the framer said.
 */
static void
check_replies(const char *buf, size_t len, int want)
{
    prc_framer_t f;
    redisReader *r = redisReaderCreate();
    size_t start = 0;
    int i;

    if (r == NULL) {
        abort();
    }
    prc_framer_init(&f, SIZE_MAX, INT64_MAX, PRC_FRAMER_MAX_DEPTH);
    for (i = 0; i < want; i++) {
        void *obj = NULL;
        redisReply *reply;
        int k = prc_framer_scan(&f, buf, len, 1);

        if (k != 1) {
            fprintf(stderr, "reply %d did not frame again (%d)\n", i, k);
            abort();
        }
        /* Feed this reply's bytes only: hiredis must complete it with no
         * byte of the next one. */
        if (redisReaderFeed(r, buf + start, f.pos - start) != REDIS_OK) {
            abort();
        }
        if (redisReaderGetReply(r, &obj) != REDIS_OK) {
            break; /* refused: ProtocolError in the binding */
        }
        if (obj == NULL) {
            fprintf(stderr, "hiredis wants more than reply %d's %zu bytes\n",
                    i, f.pos - start);
            abort();
        }
        reply = obj;
        if (reply->type == REDIS_REPLY_INTEGER) {
            check_integer(buf + start + 1, f.pos - start - 3, reply->integer);
        }
        check_reply_at(buf, len, start, f.pos, reply);
        freeReplyObject(reply);
        if (redisReaderGetReply(r, &obj) != REDIS_OK || obj != NULL) {
            abort(); /* the reader saw a reply the framer did not */
        }
        start = f.pos;
    }
    if (i == want && start != len) {
        abort(); /* bytes beyond the expected replies were handed out */
    }
    redisReaderFree(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[4] = {64, 1024, 64 * 1024, 1024 * 1024};
    prc_conn_t *c;
    int want, setup, rc, steps = 0;
    size_t limit;

    if (size < 2) {
        return 0;
    }
    want = (data[0] & 7) + 1;
    limit = limits[(data[0] >> 3) & 3];
    setup = (data[0] >> 5) & 1;
    chunk_mode = data[0] >> 6;
    chunk_seed = data[1];
    in_data = data + 2;
    in_len = size - 2;
    in_pos = 0;
    reads = 0;
    exhausted = 0;
    quiet_first = setup && !(chunk_seed & 2);

    c = prc__conn_new(setup ? &setup_cfg : &plain_cfg);
    if (c == NULL) {
        return 0;
    }
    c->tp = &fuzz_transport;
    /* Limits small enough that no input makes the reply buffer huge. */
    prc_framer_init(&c->framer, limit, (int64_t)limit, PRC_FRAMER_MAX_DEPTH);
    c->framer.max_reply = limit + 32;
    if (setup) {
        /* Connected, nothing sent yet: the setup commands go out next. */
        c->state = PRC__CONN_CONNECTING;
        while ((rc = prc__conn_open_step(c)) > 0 && !exhausted &&
               ++steps < 100000) {
        }
        if (rc == PRC_DONE && c->state != PRC__CONN_READY) {
            abort();
        }
        if (rc != PRC_DONE) {
            goto done;
        }
    } else {
        c->state = PRC__CONN_READY;
    }
    prc__conn_begin(c, "", 0, want);
    while ((rc = prc__conn_io_step(c)) > 0 && !exhausted && ++steps < 100000) {
    }
    if (rc == PRC_DONE) {
        size_t len;
        const char *buf = prc_conn_replies(c, &len);

        if (c->state != PRC__CONN_READY || c->got != want ||
            c->framer.pos != len) {
            abort();
        }
        check_replies(buf, len, want);
    } else if (rc < 0 && c->state != PRC__CONN_BROKEN) {
        abort(); /* a failed exchange must retire its connection */
    }
done:
    prc__conn_free(c, 0);
    return 0;
}
