/* cmdtable.c - which commands are read-only, blocking or change the
 * connection's state, by argv. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prc.h"

/* How a blocking command names its timeout. */
enum {
    TMO_NONE = 0,
    TMO_LAST_SECONDS, /* BLPOP key... timeout */
    TMO_ARG1_SECONDS, /* BLMPOP timeout numkeys ... */
    TMO_BLOCK_MS,     /* XREAD [COUNT n] [BLOCK ms] STREAMS ... */
    TMO_ARG2_MS,      /* WAIT numreplicas timeout */
    TMO_ARG3_MS,      /* WAITAOF numlocal numreplicas timeout */
    TMO_SUBCOMMAND,   /* read-only or not depends on argv[1] */
    TMO_STATE         /* none; a connection-state entry (ADV_* in flags) */
};

/* Why a connection-state command may not run on a pooled connection, and
 * what to use instead (prc_command_refusal). */
enum {
    ADV_NONE = 0,
    ADV_PUBSUB,
    ADV_MONITOR,
    ADV_REPLICATION,
    ADV_SELECT,
    ADV_AUTH,
    ADV_HELLO,
    ADV_RESET,
    ADV_TRANSACTION,
    ADV_WATCH,
    ADV_CLIENT_REPLY,
    ADV_TRACKING,
    ADV_CLIENT_FLAG,
    ADV_CLUSTER,
    ADV_SCRIPT_DEBUG
};

static const char *const advice_text[] = {
    [ADV_NONE] = "",
    [ADV_PUBSUB] = "pub/sub is not supported by this client yet: a subscribed "
                   "connection serves no other command, so subscribers need "
                   "a dedicated connection",
    [ADV_MONITOR] = "MONITOR turns the connection into a stream of every "
                    "client's commands; run it from redis-cli",
    [ADV_REPLICATION] = "it belongs to the replication protocol between "
                        "servers",
    [ADV_SELECT] = "it would switch the database for whoever uses the "
                   "connection next; set db= in the configuration (one "
                   "client per database)",
    [ADV_AUTH] = "it would change the user for whoever uses the connection "
                 "next; set username= and password= in the configuration, "
                 "which every connection authenticates with",
    [ADV_HELLO] = "it would change the protocol, user or name of the "
                  "connection; this client speaks RESP2 and sets username=, "
                  "password= and client_name= from its configuration on "
                  "every connection",
    [ADV_RESET] = "it would return the connection to database 0 and the "
                  "default user; close() the client to drop its connections",
    [ADV_TRANSACTION] = "use client.pipeline() (MULTI/EXEC around the queued "
                        "commands, pipe.multi() after pipe.watch()) or "
                        "client.transaction()",
    [ADV_WATCH] = "use pipe.watch() and pipe.unwatch() on client.pipeline(), "
                  "or client.transaction(func, *keys)",
    [ADV_CLIENT_REPLY] = "CLIENT REPLY OFF or SKIP would drop replies the "
                         "client waits for",
    [ADV_TRACKING] = "client-side caching is not supported by this client "
                     "yet (tracking is per connection)",
    [ADV_CLIENT_FLAG] = "it sets a flag on one connection only, which later "
                        "calls would inherit by chance",
    [ADV_CLUSTER] = "RedisClusterClient sends it itself (ASK redirections, "
                    "read_from_replicas=True)",
    [ADV_SCRIPT_DEBUG] = "the Lua debugger takes the connection over; use "
                         "redis-cli --ldb",
};

typedef struct {
    const char *name;
    int flags; /* PRC_CALL_* and PRC_CMD_* bits, and an ADV_* above them */
    int timeout;
} cmd_entry;

/* A connection-state entry's flags (timeout TMO_STATE): its PRC_CMD_*
 * class and its advice, kept in the bits above every flag
 * (prc_command_flags masks them off). */
#define ADV_SHIFT 16
#define ADV_OF(flags) ((flags) >> ADV_SHIFT)
#define FLAG_BITS ((1 << ADV_SHIFT) - 1)
#define CONN(adv) (PRC_CMD_CONN_STATE | ((adv) << ADV_SHIFT))
#define TXN(adv) (PRC_CMD_TRANSACTION | ((adv) << ADV_SHIFT))
#define WATCH(adv) (PRC_CMD_WATCH | ((adv) << ADV_SHIFT))

/* A hand-written table, kept sorted by name for the reader (lookups hash,
 * below); the C tests check every entry is found, and a pytest compares it
 * with the server's COMMAND flags.  Read-only commands may be replayed after
 * a connection error; blocking commands get their own deadline; commands
 * with a state class (CONN, TXN, WATCH) change the connection for the
 * commands after them, so the binding refuses them where the connection
 * goes back to the pool (tests/test_connection_state.py walks the list
 * against the server's COMMAND groups); QUIT closes its connection. */
static const cmd_entry commands[] = {
    {"ASKING", CONN(ADV_CLUSTER), TMO_STATE},
    {"AUTH", CONN(ADV_AUTH), TMO_STATE},
    {"BITCOUNT", PRC_CALL_READONLY, TMO_NONE},
    {"BITFIELD_RO", PRC_CALL_READONLY, TMO_NONE},
    {"BITPOS", PRC_CALL_READONLY, TMO_NONE},
    {"BLMOVE", PRC_CALL_BLOCKING, TMO_LAST_SECONDS},
    {"BLMPOP", PRC_CALL_BLOCKING, TMO_ARG1_SECONDS},
    {"BLPOP", PRC_CALL_BLOCKING, TMO_LAST_SECONDS},
    {"BRPOP", PRC_CALL_BLOCKING, TMO_LAST_SECONDS},
    {"BRPOPLPUSH", PRC_CALL_BLOCKING, TMO_LAST_SECONDS},
    {"BZMPOP", PRC_CALL_BLOCKING, TMO_ARG1_SECONDS},
    {"BZPOPMAX", PRC_CALL_BLOCKING, TMO_LAST_SECONDS},
    {"BZPOPMIN", PRC_CALL_BLOCKING, TMO_LAST_SECONDS},
    {"CLIENT", 0, TMO_SUBCOMMAND},
    {"COMMAND", PRC_CALL_READONLY, TMO_NONE},
    {"CONFIG", 0, TMO_SUBCOMMAND},
    {"DBSIZE", PRC_CALL_READONLY, TMO_NONE},
    {"DISCARD", TXN(ADV_TRANSACTION), TMO_STATE},
    {"DUMP", PRC_CALL_READONLY, TMO_NONE},
    {"ECHO", PRC_CALL_READONLY, TMO_NONE},
    {"EVAL_RO", PRC_CALL_READONLY, TMO_NONE},
    {"EVALSHA_RO", PRC_CALL_READONLY, TMO_NONE},
    {"EXEC", TXN(ADV_TRANSACTION), TMO_STATE},
    {"EXISTS", PRC_CALL_READONLY, TMO_NONE},
    {"EXPIRETIME", PRC_CALL_READONLY, TMO_NONE},
    {"FCALL_RO", PRC_CALL_READONLY, TMO_NONE},
    {"GEODIST", PRC_CALL_READONLY, TMO_NONE},
    {"GEOHASH", PRC_CALL_READONLY, TMO_NONE},
    {"GEOPOS", PRC_CALL_READONLY, TMO_NONE},
    {"GEORADIUS_RO", PRC_CALL_READONLY, TMO_NONE},
    {"GEORADIUSBYMEMBER_RO", PRC_CALL_READONLY, TMO_NONE},
    {"GEOSEARCH", PRC_CALL_READONLY, TMO_NONE},
    {"GET", PRC_CALL_READONLY, TMO_NONE},
    {"GETBIT", PRC_CALL_READONLY, TMO_NONE},
    {"GETRANGE", PRC_CALL_READONLY, TMO_NONE},
    {"HELLO", CONN(ADV_HELLO), TMO_STATE},
    {"HEXISTS", PRC_CALL_READONLY, TMO_NONE},
    {"HGET", PRC_CALL_READONLY, TMO_NONE},
    {"HGETALL", PRC_CALL_READONLY, TMO_NONE},
    {"HKEYS", PRC_CALL_READONLY, TMO_NONE},
    {"HLEN", PRC_CALL_READONLY, TMO_NONE},
    {"HMGET", PRC_CALL_READONLY, TMO_NONE},
    {"HRANDFIELD", PRC_CALL_READONLY, TMO_NONE},
    {"HSCAN", PRC_CALL_READONLY, TMO_NONE},
    {"HSTRLEN", PRC_CALL_READONLY, TMO_NONE},
    {"HVALS", PRC_CALL_READONLY, TMO_NONE},
    {"INFO", PRC_CALL_READONLY, TMO_NONE},
    {"KEYS", PRC_CALL_READONLY, TMO_NONE},
    {"LASTSAVE", PRC_CALL_READONLY, TMO_NONE},
    {"LCS", PRC_CALL_READONLY, TMO_NONE},
    {"LINDEX", PRC_CALL_READONLY, TMO_NONE},
    {"LLEN", PRC_CALL_READONLY, TMO_NONE},
    {"LPOS", PRC_CALL_READONLY, TMO_NONE},
    {"LRANGE", PRC_CALL_READONLY, TMO_NONE},
    {"MEMORY", 0, TMO_SUBCOMMAND},
    {"MGET", PRC_CALL_READONLY, TMO_NONE},
    {"MONITOR", CONN(ADV_MONITOR), TMO_STATE},
    {"MULTI", TXN(ADV_TRANSACTION), TMO_STATE},
    {"OBJECT", PRC_CALL_READONLY, TMO_NONE},
    {"PEXPIRETIME", PRC_CALL_READONLY, TMO_NONE},
    {"PFCOUNT", PRC_CALL_READONLY, TMO_NONE},
    {"PING", PRC_CALL_READONLY, TMO_NONE},
    {"PSUBSCRIBE", CONN(ADV_PUBSUB), TMO_STATE},
    {"PSYNC", CONN(ADV_REPLICATION), TMO_STATE},
    {"PTTL", PRC_CALL_READONLY, TMO_NONE},
    {"PUNSUBSCRIBE", CONN(ADV_PUBSUB), TMO_STATE},
    {"QUIT", PRC_CALL_CLOSE, TMO_NONE},
    {"RANDOMKEY", PRC_CALL_READONLY, TMO_NONE},
    {"READONLY", CONN(ADV_CLUSTER), TMO_STATE},
    {"READWRITE", CONN(ADV_CLUSTER), TMO_STATE},
    {"REPLCONF", CONN(ADV_REPLICATION), TMO_STATE},
    {"RESET", CONN(ADV_RESET), TMO_STATE},
    {"ROLE", PRC_CALL_READONLY, TMO_NONE},
    {"SCAN", PRC_CALL_READONLY, TMO_NONE},
    {"SCARD", PRC_CALL_READONLY, TMO_NONE},
    {"SCRIPT", 0, TMO_SUBCOMMAND},
    {"SDIFF", PRC_CALL_READONLY, TMO_NONE},
    {"SELECT", CONN(ADV_SELECT), TMO_STATE},
    {"SINTER", PRC_CALL_READONLY, TMO_NONE},
    {"SINTERCARD", PRC_CALL_READONLY, TMO_NONE},
    {"SISMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"SMEMBERS", PRC_CALL_READONLY, TMO_NONE},
    {"SMISMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"SORT_RO", PRC_CALL_READONLY, TMO_NONE},
    {"SRANDMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"SSCAN", PRC_CALL_READONLY, TMO_NONE},
    {"SSUBSCRIBE", CONN(ADV_PUBSUB), TMO_STATE},
    {"STRLEN", PRC_CALL_READONLY, TMO_NONE},
    {"SUBSCRIBE", CONN(ADV_PUBSUB), TMO_STATE},
    {"SUBSTR", PRC_CALL_READONLY, TMO_NONE},
    {"SUNION", PRC_CALL_READONLY, TMO_NONE},
    {"SUNSUBSCRIBE", CONN(ADV_PUBSUB), TMO_STATE},
    {"SYNC", CONN(ADV_REPLICATION), TMO_STATE},
    {"TIME", PRC_CALL_READONLY, TMO_NONE},
    {"TOUCH", PRC_CALL_READONLY, TMO_NONE},
    {"TTL", PRC_CALL_READONLY, TMO_NONE},
    {"TYPE", PRC_CALL_READONLY, TMO_NONE},
    {"UNSUBSCRIBE", CONN(ADV_PUBSUB), TMO_STATE},
    {"UNWATCH", WATCH(ADV_WATCH), TMO_STATE},
    {"WAIT", PRC_CALL_BLOCKING, TMO_ARG2_MS},
    {"WAITAOF", PRC_CALL_BLOCKING, TMO_ARG3_MS},
    {"WATCH", WATCH(ADV_WATCH), TMO_STATE},
    {"XINFO", PRC_CALL_READONLY, TMO_NONE},
    {"XLEN", PRC_CALL_READONLY, TMO_NONE},
    {"XPENDING", PRC_CALL_READONLY, TMO_NONE},
    {"XRANGE", PRC_CALL_READONLY, TMO_NONE},
    {"XREAD", PRC_CALL_READONLY, TMO_BLOCK_MS},
    {"XREADGROUP", 0, TMO_BLOCK_MS},
    {"XREVRANGE", PRC_CALL_READONLY, TMO_NONE},
    {"ZCARD", PRC_CALL_READONLY, TMO_NONE},
    {"ZCOUNT", PRC_CALL_READONLY, TMO_NONE},
    {"ZDIFF", PRC_CALL_READONLY, TMO_NONE},
    {"ZINTER", PRC_CALL_READONLY, TMO_NONE},
    {"ZINTERCARD", PRC_CALL_READONLY, TMO_NONE},
    {"ZLEXCOUNT", PRC_CALL_READONLY, TMO_NONE},
    {"ZMSCORE", PRC_CALL_READONLY, TMO_NONE},
    {"ZRANDMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"ZRANGE", PRC_CALL_READONLY, TMO_NONE},
    {"ZRANGEBYLEX", PRC_CALL_READONLY, TMO_NONE},
    {"ZRANGEBYSCORE", PRC_CALL_READONLY, TMO_NONE},
    {"ZRANK", PRC_CALL_READONLY, TMO_NONE},
    {"ZREVRANGE", PRC_CALL_READONLY, TMO_NONE},
    {"ZREVRANGEBYLEX", PRC_CALL_READONLY, TMO_NONE},
    {"ZREVRANGEBYSCORE", PRC_CALL_READONLY, TMO_NONE},
    {"ZREVRANK", PRC_CALL_READONLY, TMO_NONE},
    {"ZSCAN", PRC_CALL_READONLY, TMO_NONE},
    {"ZSCORE", PRC_CALL_READONLY, TMO_NONE},
    {"ZUNION", PRC_CALL_READONLY, TMO_NONE},
};

/* Read-only subcommands, as "COMMAND SUBCOMMAND". */
static const char *const readonly_subcommands[] = {
    "CLIENT GETNAME", "CLIENT ID",    "CLIENT INFO",  "CLIENT LIST",
    "CONFIG GET",     "MEMORY STATS", "MEMORY USAGE", "SCRIPT EXISTS",
};

/* Subcommands that change the connection's state (PRC_CMD_CONN_STATE).
 * CLIENT SETNAME and SETINFO are not among them: a name is a label that
 * changes no later command's meaning (README, "Connection state"). */
static const struct {
    const char *name;
    int advice;
} state_subcommands[] = {
    {"CLIENT CACHING", ADV_TRACKING},     {"CLIENT NO-EVICT", ADV_CLIENT_FLAG},
    {"CLIENT NO-TOUCH", ADV_CLIENT_FLAG}, {"CLIENT REPLY", ADV_CLIENT_REPLY},
    {"CLIENT TRACKING", ADV_TRACKING},    {"SCRIPT DEBUG", ADV_SCRIPT_DEBUG},
};

static int
name_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* Is argv "COMMAND SUBCOMMAND" `full` (argc >= 2)? */
static int
is_subcommand(const char *full, const char *const *argv, const size_t *argvlen)
{
    const char *sp = strchr(full, ' ');

    return (size_t)(sp - full) == argvlen[0] &&
           strncasecmp(full, argv[0], argvlen[0]) == 0 &&
           name_eq(argv[1], argvlen[1], sp + 1);
}

/* The state_subcommands entry argv names, or -1. */
static int
state_subcommand(int argc, const char *const *argv, const size_t *argvlen)
{
    size_t i;

    if (argc < 2) {
        return -1;
    }
    for (i = 0; i < sizeof(state_subcommands) / sizeof(state_subcommands[0]);
         i++) {
        if (is_subcommand(state_subcommands[i].name, argv, argvlen)) {
            return (int)i;
        }
    }
    return -1;
}

/* ASCII lower case, as strcasecmp compares (locale-independent here). */
static inline int
fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* The lookup: an open-addressing hash of the folded names, built once on
 * first use.  Every call looks its command up, so this is on the hot path;
 * a binary search's cost depended on where a name happened to fall in the
 * table (GET cost from ~100 to ~350 instructions as entries were added). */
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
#define HASH_SLOTS 512 /* a power of two, over 4x the table */

static const cmd_entry *hash_slots[HASH_SLOTS];
static size_t longest_name;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

/* FNV-1a over the ASCII-lower-cased bytes. */
static inline uint32_t
name_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (uint32_t)fold((unsigned char)name[i])) * 16777619u;
    }
    return h;
}

static void
build_hash(void)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++) {
        size_t len = strlen(commands[i].name);
        uint32_t slot = name_hash(commands[i].name, len) & (HASH_SLOTS - 1);

        while (hash_slots[slot] != NULL) {
            slot = (slot + 1) & (HASH_SLOTS - 1);
        }
        hash_slots[slot] = &commands[i];
        if (len > longest_name) {
            longest_name = len;
        }
    }
}

/* Is argv's name (len bytes, any bytes, NUL included) a table name? */
static inline int
name_matches(const char *name, size_t len, const char *cand)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (cand[i] == '\0' ||
            fold((unsigned char)name[i]) != fold((unsigned char)cand[i])) {
            return 0;
        }
    }
    return cand[len] == '\0';
}

/* Inlined into prc_command_flags (the hot path) though
 * prc_command_refusal calls it too. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline const cmd_entry *
lookup(const char *name, size_t len)
{
    uint32_t slot;

    pthread_once(&hash_once, build_hash);
    if (len == 0 || len > longest_name) {
        return NULL;
    }
    slot = name_hash(name, len) & (HASH_SLOTS - 1);
    while (hash_slots[slot] != NULL) {
        if (name_matches(name, len, hash_slots[slot]->name)) {
            return hash_slots[slot];
        }
        slot = (slot + 1) & (HASH_SLOTS - 1);
    }
    return NULL;
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
block_option(const cmd_entry *e, int argc, const char *const *argv,
             const size_t *argvlen, double *block_seconds)
{
    int i = 1, group = strcmp(e->name, "XREADGROUP") == 0;
    double v;

    if (group) {
        if (argc < 4 || !name_eq(argv[1], argvlen[1], "GROUP")) {
            return e->flags;
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
                return (e->flags & ~PRC_CALL_READONLY) | PRC_CALL_BLOCKING;
            }
            return e->flags;
        } else {
            break; /* STREAMS, or a syntax error */
        }
    }
    return e->flags;
}

int
prc_command_flags(int argc, const char *const *argv, const size_t *argvlen,
                  double *block_seconds)
{
    const cmd_entry *e;
    double v;
    int i;

    *block_seconds = -1;
    if (argc < 1) {
        return 0;
    }
    e = lookup(argv[0], argvlen[0]);
    if (e == NULL) {
        return 0;
    }
    switch (e->timeout) {
    case TMO_SUBCOMMAND:
        if (argc < 2) {
            return 0;
        }
        for (i = 0; i < (int)(sizeof(readonly_subcommands) /
                              sizeof(readonly_subcommands[0]));
             i++) {
            if (is_subcommand(readonly_subcommands[i], argv, argvlen)) {
                return PRC_CALL_READONLY;
            }
        }
        return state_subcommand(argc, argv, argvlen) >= 0 ? PRC_CMD_CONN_STATE
                                                          : 0;
    case TMO_LAST_SECONDS:
        if (argc >= 3 &&
            parse_number(argv[argc - 1], argvlen[argc - 1], &v) == 0) {
            *block_seconds = v;
        }
        return e->flags;
    case TMO_ARG1_SECONDS:
        if (argc >= 2 && parse_number(argv[1], argvlen[1], &v) == 0) {
            *block_seconds = v;
        }
        return e->flags;
    case TMO_ARG2_MS:
    case TMO_ARG3_MS: {
        int idx = e->timeout == TMO_ARG2_MS ? 2 : 3;
        if (argc > idx && parse_number(argv[idx], argvlen[idx], &v) == 0) {
            *block_seconds = v / 1000.0;
        }
        return e->flags;
    }
    case TMO_BLOCK_MS:
        return block_option(e, argc, argv, argvlen, block_seconds);
    case TMO_STATE:
        return e->flags & FLAG_BITS;
    default:
        return e->flags;
    }
}

const char *
prc_command_refusal(int argc, const char *const *argv, const size_t *argvlen,
                    const char **name)
{
    const cmd_entry *e;
    int sub;

    *name = NULL;
    if (argc < 1 || (e = lookup(argv[0], argvlen[0])) == NULL) {
        return NULL;
    }
    if (e->timeout == TMO_STATE) {
        *name = e->name;
        return advice_text[ADV_OF(e->flags)];
    }
    if (e->timeout == TMO_SUBCOMMAND &&
        (sub = state_subcommand(argc, argv, argvlen)) >= 0) {
        *name = state_subcommands[sub].name;
        return advice_text[state_subcommands[sub].advice];
    }
    return NULL;
}
