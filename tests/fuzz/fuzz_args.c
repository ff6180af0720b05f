/* fuzz_args.c - libFuzzer target: commands as argument vectors.
 *
 * The input is an argv.  The harness checks what the core does with one:
 * prc_command_flags classifies it (read-only, blocking, its own timeout,
 * found by each command's syntax); the RESP encoding the binding sends
 * (the core's writer, writer.c) is byte for byte hiredis's formatter's,
 * alone and appended to a buffer, frames as exactly one request and reads
 * back as the same arguments; and a pool whose setup commands carry the
 * arguments as password, user and client name encodes each of them
 * intact.
 *
 * Input layout: a sequence of arguments, each a length byte and that many
 * bytes (the last one cut short by the end of the input).
 */
#include <hiredis.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prc_int.h"

#define MAX_ARGS 64

static int
is_option(const char *a, size_t len, const char *name)
{
    return len == strlen(name) && strncasecmp(a, name, len) == 0;
}

/* The classification's invariants. */
static void
check_flags(int argc, const char **argv, const size_t *lens)
{
    double block = 123.0;
    int flags = prc_command_flags(argc, argv, lens, &block);
    int i, has_block = 0;

    if (flags & ~(PRC_CALL_READONLY | PRC_CALL_BLOCKING | PRC_CALL_CLOSE |
                  PRC_CMD_STATE)) {
        abort();
    }
    /* A connection-state command is refused, never run: it neither blocks
     * nor is replayed, and has exactly one state class and a refusal. */
    if (flags & PRC_CMD_STATE) {
        const char *name;
        int state = flags & PRC_CMD_STATE;
        if ((flags & ~PRC_CMD_STATE) || (state & (state - 1)) ||
            prc_command_refusal(argc, argv, lens, &name) == NULL ||
            name == NULL) {
            abort();
        }
    }
    if (!(block == -1 || (block >= 0 && !isnan(block)))) {
        fprintf(stderr, "block_seconds %g\n", block);
        abort();
    }
    if (!(flags & PRC_CALL_BLOCKING) && block != -1) {
        abort(); /* a timeout only comes with a blocking command */
    }
    if ((flags & PRC_CALL_BLOCKING) && (flags & PRC_CALL_READONLY)) {
        abort(); /* blocking commands are never replayed */
    }
    /* XREAD and XREADGROUP block only with a BLOCK option among the
     * arguments before STREAMS (and after GROUP g c). */
    if (argc > 0 && (is_option(argv[0], lens[0], "XREAD") ||
                     is_option(argv[0], lens[0], "XREADGROUP"))) {
        int first = is_option(argv[0], lens[0], "XREADGROUP") ? 4 : 1;
        for (i = first; i < argc; i++) {
            if (is_option(argv[i], lens[i], "STREAMS")) {
                break;
            }
            has_block |= is_option(argv[i], lens[i], "BLOCK");
        }
        if ((flags & PRC_CALL_BLOCKING) && !has_block) {
            abort();
        }
    }
}

/* One formatted command: frames as one request, reads back as argv. */
static void
check_roundtrip(const char *cmd, size_t len, int argc, const char **argv,
                const size_t *lens)
{
    prc_framer_t f;
    redisReader *r;
    void *obj = NULL;
    redisReply *reply;
    int i;

    prc_framer_init(&f, SIZE_MAX, INT64_MAX, PRC_FRAMER_MAX_DEPTH);
    if (prc_framer_scan(&f, cmd, len, 0) != 1 || f.pos != len) {
        abort();
    }
    r = redisReaderCreate();
    if (r == NULL || redisReaderFeed(r, cmd, len) != REDIS_OK ||
        redisReaderGetReply(r, &obj) != REDIS_OK || obj == NULL) {
        abort();
    }
    reply = obj;
    if (reply->type != REDIS_REPLY_ARRAY || (int)reply->elements != argc) {
        abort();
    }
    for (i = 0; i < argc; i++) {
        redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len != lens[i] ||
            memcmp(e->str, argv[i], lens[i]) != 0) {
            abort();
        }
    }
    freeReplyObject(reply);
    redisReaderFree(r);
}

/* Differential: the writer's bytes are hiredis's formatter's (both of its
 * formatters), written at once and appended after a prefix to a buffer
 * that starts on small caller storage; then they round-trip. */
static void
check_writer(int argc, const char **argv, const size_t *lens)
{
    char *theirs = NULL, *sds = NULL, *mine, storage[16];
    size_t len = prc_resp_command_len(argc, lens);
    prc_wbuf_t wb;
    long long n;
    int m;

    m = redisFormatCommandArgv(&theirs, argc, argv, lens);
    n = redisFormatSdsCommandArgv(&sds, argc, argv, lens);
    if (m < 0 || theirs == NULL || n != m || sds == NULL ||
        memcmp(sds, theirs, (size_t)m) != 0 || len != (size_t)m) {
        abort();
    }
    mine = malloc(len);
    if (mine == NULL ||
        prc_resp_write_command(mine, argc, argv, lens) != mine + len ||
        memcmp(mine, theirs, len) != 0) {
        abort();
    }
    prc_wbuf_init(&wb, storage, sizeof(storage));
    if (prc_wbuf_append(&wb, "+prefix", 7) != 0 ||
        prc_wbuf_append_command(&wb, argc, argv, lens) != 0 ||
        wb.len != 7 + len || memcmp(wb.buf, "+prefix", 7) != 0 ||
        memcmp(wb.buf + 7, theirs, len) != 0) {
        abort();
    }
    prc_wbuf_consume(&wb, 7);
    if (wb.len != len || memcmp(wb.buf, theirs, len) != 0) {
        abort();
    }
    check_roundtrip(mine, len, argc, argv, lens);
    prc_wbuf_free(&wb);
    free(mine);
    redisFreeSdsCommand(sds);
    redisFreeCommand(theirs);
}

/* A connection config's setup commands, with the arguments as secrets
 * and names. */
static void
check_setup(int argc, const char **argv, const size_t *lens)
{
    char strs[3][256];
    prc_opts_t o;
    prc_conn_cfg_t cfg;
    const char *buf;
    size_t len;
    char err[128];
    int n, i;

    prc_opts_init(&o);
    o.host = "127.0.0.1";
    /* Option strings are C strings: cut each argument at its first NUL. */
    for (i = 0; i < 3 && i < argc; i++) {
        size_t k = lens[i] < 255 ? lens[i] : 255;
        memcpy(strs[i], argv[i], k);
        strs[i][k] = '\0';
    }
    if (argc < 1) {
        return;
    }
    o.password = strs[0];
    o.username = argc > 1 ? strs[1] : NULL;
    o.client_name = argc > 2 ? strs[2] : NULL;
    o.db = argc > 3 ? (int)(lens[3] % 16) : 0;
    if (prc__conn_cfg_init(&cfg, &o, err, sizeof(err)) != 0) {
        abort();
    }
    buf = cfg.handshake;
    len = cfg.handshake_len;
    n = cfg.handshake_n;
    if (n != 1 + (o.db != 0) + (o.client_name != NULL)) {
        abort();
    }
    {
        prc_framer_t f;
        redisReader *r = redisReaderCreate();
        void *obj = NULL;
        redisReply *auth;

        prc_framer_init(&f, SIZE_MAX, INT64_MAX, PRC_FRAMER_MAX_DEPTH);
        if (prc_framer_scan(&f, buf, len, 0) != n || f.pos != len) {
            abort();
        }
        if (r == NULL || redisReaderFeed(r, buf, len) != REDIS_OK ||
            redisReaderGetReply(r, &obj) != REDIS_OK || obj == NULL) {
            abort();
        }
        auth = obj;
        /* AUTH [user] password, each intact. */
        if (auth->elements != (o.username ? 3u : 2u) ||
            strcmp(auth->element[auth->elements - 1]->str, o.password) != 0 ||
            (o.username && strcmp(auth->element[1]->str, o.username) != 0)) {
            abort();
        }
        freeReplyObject(auth);
        redisReaderFree(r);
    }
    prc__conn_cfg_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS], pos = 0;
    int argc = 0;

    while (pos < size && argc < MAX_ARGS) {
        size_t len = data[pos++];
        if (len > size - pos) {
            len = size - pos;
        }
        argv[argc] = (const char *)data + pos;
        lens[argc] = len;
        argc++;
        pos += len;
    }
    check_flags(argc, argv, lens);
    if (argc == 0) {
        return 0;
    }
    check_writer(argc, argv, lens);
    check_setup(argc, argv, lens);
    return 0;
}
