/* cmdtable.c - which commands are read-only or blocking, by argv. */
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
    TMO_SUBCOMMAND    /* read-only or not depends on argv[1] */
};

typedef struct {
    const char *name;
    int flags;
    int timeout;
} cmd_entry;

/* A hand-written table, kept sorted by name for the reader (lookups hash,
 * below); the C tests check every entry is found, and a pytest compares it
 * with the server's COMMAND flags.  Read-only commands may be replayed after
 * a connection error; blocking commands get their own deadline. */
static const cmd_entry commands[] = {
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
    {"DUMP", PRC_CALL_READONLY, TMO_NONE},
    {"ECHO", PRC_CALL_READONLY, TMO_NONE},
    {"EVAL_RO", PRC_CALL_READONLY, TMO_NONE},
    {"EVALSHA_RO", PRC_CALL_READONLY, TMO_NONE},
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
    {"OBJECT", PRC_CALL_READONLY, TMO_NONE},
    {"PEXPIRETIME", PRC_CALL_READONLY, TMO_NONE},
    {"PFCOUNT", PRC_CALL_READONLY, TMO_NONE},
    {"PING", PRC_CALL_READONLY, TMO_NONE},
    {"PTTL", PRC_CALL_READONLY, TMO_NONE},
    {"RANDOMKEY", PRC_CALL_READONLY, TMO_NONE},
    {"ROLE", PRC_CALL_READONLY, TMO_NONE},
    {"SCAN", PRC_CALL_READONLY, TMO_NONE},
    {"SCARD", PRC_CALL_READONLY, TMO_NONE},
    {"SCRIPT", 0, TMO_SUBCOMMAND},
    {"SDIFF", PRC_CALL_READONLY, TMO_NONE},
    {"SINTER", PRC_CALL_READONLY, TMO_NONE},
    {"SINTERCARD", PRC_CALL_READONLY, TMO_NONE},
    {"SISMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"SMEMBERS", PRC_CALL_READONLY, TMO_NONE},
    {"SMISMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"SORT_RO", PRC_CALL_READONLY, TMO_NONE},
    {"SRANDMEMBER", PRC_CALL_READONLY, TMO_NONE},
    {"SSCAN", PRC_CALL_READONLY, TMO_NONE},
    {"STRLEN", PRC_CALL_READONLY, TMO_NONE},
    {"SUBSTR", PRC_CALL_READONLY, TMO_NONE},
    {"SUNION", PRC_CALL_READONLY, TMO_NONE},
    {"TIME", PRC_CALL_READONLY, TMO_NONE},
    {"TOUCH", PRC_CALL_READONLY, TMO_NONE},
    {"TTL", PRC_CALL_READONLY, TMO_NONE},
    {"TYPE", PRC_CALL_READONLY, TMO_NONE},
    {"WAIT", PRC_CALL_BLOCKING, TMO_ARG2_MS},
    {"WAITAOF", PRC_CALL_BLOCKING, TMO_ARG3_MS},
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

static int
name_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
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

static const cmd_entry *
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
            const char *rs = readonly_subcommands[i];
            const char *sp = strchr(rs, ' ');
            if ((size_t)(sp - rs) != argvlen[0] ||
                strncasecmp(rs, argv[0], argvlen[0]) != 0) {
                continue;
            }
            if (name_eq(argv[1], argvlen[1], sp + 1)) {
                return PRC_CALL_READONLY;
            }
        }
        return 0;
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
    default:
        return e->flags;
    }
}
