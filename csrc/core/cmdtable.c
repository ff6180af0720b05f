/* cmdtable.c - how a call treats a command, read from the generated
 * command table (cmdspec.c): replayed, blocking with its own timeout,
 * refused as connection state, or closing its connection. */
#include <stdlib.h>
#include <string.h>

#include "prc.h"

/* Why a connection-state command may not run on a pooled connection, and
 * what to use instead (prc_command_refusal), by PRC_REFUSE_*. */
static const char *const refusal_text[PRC_REFUSE_END] = {
    [PRC_REFUSE_NONE] = "",
    [PRC_REFUSE_PUBSUB] = "a subscribed connection serves no other command; "
                          "subscribe with client.pubsub(), which owns a "
                          "connection of its own and restores it after a loss",
    [PRC_REFUSE_MONITOR] = "MONITOR turns the connection into a stream of "
                           "every client's commands; run it from redis-cli",
    [PRC_REFUSE_REPLICATION] = "it belongs to the replication protocol "
                               "between servers",
    [PRC_REFUSE_SELECT] = "it would switch the database for whoever uses the "
                          "connection next; set db= in the configuration "
                          "(one client per database)",
    [PRC_REFUSE_AUTH] = "it would change the user for whoever uses the "
                        "connection next; set username= and password= in "
                        "the configuration, which every connection "
                        "authenticates with",
    [PRC_REFUSE_HELLO] = "it would change the protocol, user or name of the "
                         "connection; this client speaks RESP2 and sets "
                         "username=, password= and client_name= from its "
                         "configuration on every connection",
    [PRC_REFUSE_RESET] = "it would return the connection to database 0 and "
                         "the default user; close() the client to drop its "
                         "connections",
    [PRC_REFUSE_TRANSACTION] = "use client.pipeline() (MULTI/EXEC around the "
                               "queued commands, pipe.multi() after "
                               "pipe.watch()) or client.transaction()",
    [PRC_REFUSE_WATCH] = "use pipe.watch() and pipe.unwatch() on "
                         "client.pipeline(), or client.transaction(func, "
                         "*keys)",
    [PRC_REFUSE_CLIENT_REPLY] = "CLIENT REPLY OFF or SKIP would drop replies "
                                "the client waits for",
    [PRC_REFUSE_TRACKING] = "client-side caching is not supported by this "
                            "client yet (tracking is per connection)",
    [PRC_REFUSE_CLIENT_FLAG] = "it sets a flag on one connection only, which "
                               "later calls would inherit by chance",
    [PRC_REFUSE_CLUSTER] = "RedisClusterClient sends it itself (ASK "
                           "redirections, read_from_replicas=True)",
    [PRC_REFUSE_SCRIPT_DEBUG] = "the Lua debugger takes the connection over; "
                                "use redis-cli --ldb",
};

/* The PRC_CMD_* state class of a command by its refusal: the pipeline
 * sends MULTI/EXEC/DISCARD itself, and WATCH/UNWATCH on its pinned
 * connection; every other refusal is plain connection state. */
static inline int
state_class(int refusal)
{
    switch (refusal) {
    case PRC_REFUSE_NONE:
        return 0;
    case PRC_REFUSE_TRANSACTION:
        return PRC_CMD_TRANSACTION;
    case PRC_REFUSE_WATCH:
        return PRC_CMD_WATCH;
    default:
        return PRC_CMD_CONN_STATE;
    }
}

static int
name_eq(const char *a, size_t alen, const char *b)
{
    size_t i;

    if (strlen(b) != alen) {
        return 0;
    }
    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i];
        if ((x >= 'a' && x <= 'z' ? x - ('a' - 'A') : x) !=
            (unsigned char)b[i]) {
            return 0;
        }
    }
    return 1;
}

/* Parse a decimal number argument (seconds may be fractional). */
static int
parse_number(const char *s, size_t len, double *out)
{
    char buf[64];
    char *end;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, &end);
    return (*end == '\0' && *out >= 0) ? 0 : -1;
}

/*
 * XREAD [COUNT n] [BLOCK ms] STREAMS key... id...
 * XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS ...
 * The options are read by this syntax, each with its own argument, so that
 * a group or consumer named "block", or a COUNT of "BLOCK", is never taken
 * for the option.  Anything else ends the options: the server will refuse
 * the command, and it waits for nothing.
 */
static int
block_option(const prc_cmd_t *c, int flags, int argc, const char *const *argv,
             const size_t *argvlen, double *block_seconds)
{
    int i = 1, group = strcmp(c->name, "XREADGROUP") == 0;
    double v;

    if (group) {
        if (argc < 4 || !name_eq(argv[1], argvlen[1], "GROUP")) {
            return flags;
        }
        i = 4;
    }
    while (i < argc) {
        if (i + 1 < argc && name_eq(argv[i], argvlen[i], "COUNT")) {
            i += 2;
        } else if (group && name_eq(argv[i], argvlen[i], "NOACK")) {
            i += 1;
        } else if (i + 1 < argc && name_eq(argv[i], argvlen[i], "BLOCK")) {
            if (parse_number(argv[i + 1], argvlen[i + 1], &v) == 0) {
                *block_seconds = v / 1000.0;
                return (flags & ~PRC_CALL_READONLY) | PRC_CALL_BLOCKING;
            }
            return flags;
        } else {
            break; /* STREAMS, or a syntax error */
        }
    }
    return flags;
}

/* A blocking command's own timeout, where the table says it is: *block
 * receives it (seconds; left at -1 when absent or not a number).  Kept out
 * of prc_command_flags, which every call runs, so that its fast path
 * stays small.  Returns the flags with PRC_CALL_BLOCKING as it applies. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int
blocking_flags(const prc_cmd_t *c, int flags, int argc,
               const char *const *argv, const size_t *argvlen,
               double *block_seconds)
{
    double v;

    switch (c->block_tmo) {
    case PRC_TMO_LAST_SECONDS:
        if (argc >= 3 &&
            parse_number(argv[argc - 1], argvlen[argc - 1], &v) == 0) {
            *block_seconds = v;
        }
        break;
    case PRC_TMO_ARG1_SECONDS:
        if (argc >= 2 && parse_number(argv[1], argvlen[1], &v) == 0) {
            *block_seconds = v;
        }
        break;
    case PRC_TMO_ARG2_MS:
    case PRC_TMO_ARG3_MS: {
        int idx = c->block_tmo == PRC_TMO_ARG2_MS ? 2 : 3;
        if (argc > idx && parse_number(argv[idx], argvlen[idx], &v) == 0) {
            *block_seconds = v / 1000.0;
        }
        break;
    }
    case PRC_TMO_BLOCK_MS:
        return block_option(c, flags, argc, argv, argvlen, block_seconds);
    default:
        break;
    }
    if (!(c->classes & PRC_CLASS_BLOCKS_WITH_ARG)) {
        flags |= PRC_CALL_BLOCKING;
    }
    return flags;
}

/* The flags of c (prc_cmd_lookup's answer for argv, or NULL). */
static inline int
flags_of(const prc_cmd_t *c, int argc, const char *const *argv,
         const size_t *argvlen, double *block_seconds)
{
    int flags;

    *block_seconds = -1;
    if (c == NULL) {
        return 0;
    }
    flags = (c->classes & PRC_CLASS_REPLAY_SAFE) ? PRC_CALL_READONLY : 0;
    if (c->classes & (PRC_CLASS_CLOSES | PRC_CLASS_CONN_STATE)) {
        if (c->classes & PRC_CLASS_CLOSES) {
            flags |= PRC_CALL_CLOSE;
        }
        flags |= state_class(c->refusal);
    }
    if (c->classes & PRC_CLASS_BLOCKING) {
        return blocking_flags(c, flags, argc, argv, argvlen, block_seconds);
    }
    return flags;
}

int
prc_command_flags(int argc, const char *const *argv, const size_t *argvlen,
                  double *block_seconds)
{
    return flags_of(prc_cmd_lookup(argc, argv, argvlen), argc, argv, argvlen,
                    block_seconds);
}

/* Are n bytes (1 to 16) at a and b the same?  As two overlapping words
 * inside both, without a call into memcmp. */
static inline int
same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&a1, a + n - 8, 8);
        memcpy(&b0, b, 8);
        memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4);
        memcpy(&a1, a + n - 4, 4);
        memcpy(&b0, b, 4);
        memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    /* First, middle and last byte (some the same). */
    return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}

/* prc_command_flags_memo when the memo does not answer: out of line, so
 * that the answered call stays a few instructions. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int
memo_miss(prc_cmd_memo_t *memo, int argc, const char *const *argv,
          const size_t *argvlen, double *block_seconds)
{
    const prc_cmd_t *c = prc_cmd_lookup(argc, argv, argvlen);
    int flags = flags_of(c, argc, argv, argvlen, block_seconds);
    size_t len = argc >= 1 ? argvlen[0] : 0;

    /* A plain command's flags depend on its name alone; a subcommand's
     * (or a container's whose subcommand is unknown: c is NULL) and a
     * blocking command's timeout do not. */
    if (c != NULL && c->parent < 0 && c->nsubs == 0 &&
        !(c->classes & PRC_CLASS_BLOCKING) && len <= sizeof(memo->name)) {
        memcpy(memo->name, argv[0], len);
        memo->len = (uint8_t)len;
        memo->flags = flags;
    }
    return flags;
}

int
prc_command_flags_memo(prc_cmd_memo_t *memo, int argc, const char *const *argv,
                       const size_t *argvlen, double *block_seconds)
{
    /* The bytes themselves are compared, never the pointer: a buffer may
     * hold another name at the same address by the next call. */
    if (argc >= 1 && argvlen[0] != 0 && argvlen[0] == memo->len &&
        same_bytes(argv[0], memo->name, memo->len)) {
        *block_seconds = -1;
        return memo->flags;
    }
    return memo_miss(memo, argc, argv, argvlen, block_seconds);
}

const char *
prc_command_refusal(int argc, const char *const *argv, const size_t *argvlen,
                    const char **name)
{
    const prc_cmd_t *c = prc_cmd_lookup(argc, argv, argvlen);

    *name = NULL;
    if (c == NULL || c->refusal == PRC_REFUSE_NONE ||
        c->refusal >= PRC_REFUSE_END) {
        return NULL;
    }
    *name = c->name;
    return refusal_text[c->refusal];
}
