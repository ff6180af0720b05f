/* test_cmdtable.c - read-only and blocking classification by argv. */
#include <ctype.h>

#include "task.h"

#define RO PRC_CALL_READONLY
#define BL PRC_CALL_BLOCKING

/* Classify a NULL-terminated argv; *block receives the timeout. */
static int
flags_of(double *block, const char *const *argv)
{
    size_t lens[32];
    int argc = 0;

    while (argv[argc] != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    return prc_command_flags(argc, argv, lens, block);
}

#define FLAGS(block, ...)                                                     \
    flags_of(block, (const char *const[]){__VA_ARGS__, NULL})

/* Every command of the hand-written table this file once tested (the
 * generated one replaced it), with the flags it gives a bare name: the
 * same, but for OBJECT and XINFO, which alone are containers (arity
 * errors) and are read-only by subcommand; and four read-only 7.4
 * hash-field commands the old table lacked. */
static const struct {
    const char *name;
    int flags;
} table[] = {
    {"BITCOUNT", RO},
    {"BITFIELD_RO", RO},
    {"BITPOS", RO},
    {"BLMOVE", BL},
    {"BLMPOP", BL},
    {"BLPOP", BL},
    {"BRPOP", BL},
    {"BRPOPLPUSH", BL},
    {"BZMPOP", BL},
    {"BZPOPMAX", BL},
    {"BZPOPMIN", BL},
    {"COMMAND", RO},
    {"DBSIZE", RO},
    {"DUMP", RO},
    {"ECHO", RO},
    {"EVALSHA_RO", RO},
    {"EVAL_RO", RO},
    {"EXISTS", RO},
    {"EXPIRETIME", RO},
    {"FCALL_RO", RO},
    {"GEODIST", RO},
    {"GEOHASH", RO},
    {"GEOPOS", RO},
    {"GEORADIUS_RO", RO},
    {"GEORADIUSBYMEMBER_RO", RO},
    {"GEOSEARCH", RO},
    {"GET", RO},
    {"GETBIT", RO},
    {"GETRANGE", RO},
    {"HEXISTS", RO},
    {"HGET", RO},
    {"HGETALL", RO},
    {"HKEYS", RO},
    {"HLEN", RO},
    {"HMGET", RO},
    {"HRANDFIELD", RO},
    {"HSCAN", RO},
    {"HSTRLEN", RO},
    {"HEXPIRETIME", RO},
    {"HPEXPIRETIME", RO},
    {"HPTTL", RO},
    {"HTTL", RO},
    {"HVALS", RO},
    {"INFO", RO},
    {"KEYS", RO},
    {"LASTSAVE", RO},
    {"LCS", RO},
    {"LINDEX", RO},
    {"LLEN", RO},
    {"LPOS", RO},
    {"LRANGE", RO},
    {"MGET", RO},
    {"OBJECT", 0}, /* OBJECT ENCODING k: RO (cmdtable_subcommands) */
    {"PFCOUNT", RO},
    {"PEXPIRETIME", RO},
    {"PING", RO},
    {"PTTL", RO},
    {"RANDOMKEY", RO},
    {"ROLE", RO},
    {"SCAN", RO},
    {"SCARD", RO},
    {"SDIFF", RO},
    {"SINTER", RO},
    {"SINTERCARD", RO},
    {"SISMEMBER", RO},
    {"SMEMBERS", RO},
    {"SMISMEMBER", RO},
    {"SORT_RO", RO},
    {"SRANDMEMBER", RO},
    {"SSCAN", RO},
    {"STRLEN", RO},
    {"SUBSTR", RO},
    {"SUNION", RO},
    {"TIME", RO},
    {"TOUCH", RO},
    {"TTL", RO},
    {"TYPE", RO},
    {"WAIT", BL},
    {"WAITAOF", BL},
    {"XINFO", 0}, /* XINFO STREAM s: RO */
    {"XLEN", RO},
    {"XPENDING", RO},
    {"XRANGE", RO},
    {"XREAD", RO},
    {"XREVRANGE", RO},
    {"ZCARD", RO},
    {"ZCOUNT", RO},
    {"ZDIFF", RO},
    {"ZINTER", RO},
    {"ZINTERCARD", RO},
    {"ZLEXCOUNT", RO},
    {"ZMSCORE", RO},
    {"ZRANDMEMBER", RO},
    {"ZRANGE", RO},
    {"ZRANGEBYLEX", RO},
    {"ZRANGEBYSCORE", RO},
    {"ZRANK", RO},
    {"ZREVRANGE", RO},
    {"ZREVRANGEBYLEX", RO},
    {"ZREVRANGEBYSCORE", RO},
    {"ZREVRANK", RO},
    {"ZSCAN", RO},
    {"ZSCORE", RO},
    {"ZUNION", RO},
};

TEST_IMPL(cmdtable_readonly)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "GET", "k"), RO);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "MGET", "a", "b"), RO);
    ASSERT_EQ(FLAGS(&block, "HGETALL", "h"), RO);
    ASSERT_EQ(FLAGS(&block, "ZSCORE", "z", "m"), RO);
    ASSERT_EQ(FLAGS(&block, "PING"), RO);
    /* Writes and anything with side effects are not. */
    ASSERT_EQ(FLAGS(&block, "SET", "k", "v"), 0);
    ASSERT_EQ(FLAGS(&block, "INCR", "k"), 0);
    ASSERT_EQ(FLAGS(&block, "DEL", "k"), 0);
    ASSERT_EQ(FLAGS(&block, "EVAL", "return 1", "0"), 0);
    ASSERT_EQ(FLAGS(&block, "EVALSHA", "abc", "0"), 0);
    ASSERT_EQ(FLAGS(&block, "MULTI") & RO, 0); /* a state class: cmdstate */
    ASSERT_EQ(FLAGS(&block, "EXEC") & RO, 0);
    ASSERT_EQ(FLAGS(&block, "LPOP", "l"), 0);
    ASSERT_EQ(FLAGS(&block, "GETDEL", "k"), 0);
    ASSERT_EQ(FLAGS(&block, "GETSET", "k", "v"), 0);
    ASSERT_EQ(block, -1);
    return TEST_OK;
}

TEST_IMPL(cmdtable_case_insensitive)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "get", "k"), RO);
    ASSERT_EQ(FLAGS(&block, "GeT", "k"), RO);
    ASSERT_EQ(FLAGS(&block, "zrangebyscore", "z", "0", "1"), RO);
    ASSERT_EQ(FLAGS(&block, "blpop", "k", "2"), BL);
    ASSERT_EQ(block, 2.0);
    ASSERT_EQ(FLAGS(&block, "config", "get", "maxmemory"), RO);
    ASSERT_EQ(FLAGS(&block, "Config", "Get", "maxmemory"), RO);
    ASSERT_EQ(FLAGS(&block, "xread", "block", "10", "streams", "s", "$"), BL);
    ASSERT_EQ(block, 0.01);
    return TEST_OK;
}

/* Every name in the table is found, with its flags, in any case. */
TEST_IMPL(cmdtable_every_entry_found)
{
    char missing[512] = "";
    size_t i, n = 0;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const char *argv[1] = {table[i].name};
        size_t j, len = strlen(table[i].name);
        char lower[64];
        const char *largv[1] = {lower};
        double block;
        int f = prc_command_flags(1, argv, &len, &block);

        ASSERT_LT(len, sizeof(lower));
        for (j = 0; j <= len; j++) {
            lower[j] = (char)tolower((unsigned char)table[i].name[j]);
        }
        if (f != table[i].flags ||
            prc_command_flags(1, largv, &len, &block) != table[i].flags) {
            snprintf(missing + strlen(missing),
                     sizeof(missing) - strlen(missing), " %s", table[i].name);
            n++;
        }
    }
    if (n > 0) {
        test__fail(__FILE__, __LINE__,
                   "cmdtable.c: the lookup misses or misclassifies:%s",
                   missing);
        return TEST_FAILED;
    }
    return TEST_OK;
}

/* prc_command_flags_memo answers as prc_command_flags does, in every
 * order: a remembered name never stands in for a subcommand, a blocking
 * command's timeout or another name at the same address. */
static int
memo_flags(prc_cmd_memo_t *memo, double *block, const char *const *argv)
{
    size_t lens[32];
    int argc = 0;

    while (argv[argc] != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    return prc_command_flags_memo(memo, argc, argv, lens, block);
}

TEST_IMPL(cmdtable_memo)
{
    static const char *const cmds[][6] = {
        {"GET", "k"},
        {"GET", "k"},
        {"get", "k"},
        {"SET", "k", "v"},
        {"CLIENT", "BOGUS"},
        {"CLIENT", "REPLY", "OFF"},
        {"CLIENT", "GETNAME"},
        {"CLIENT", "REPLY", "OFF"},
        {"BLPOP", "k", "5"},
        {"BLPOP", "k", "0"},
        {"BLPOP", "k", "x"},
        {"SELECT", "1"},
        {"SELECT", "1"},
        {"NOSUCHCOMMAND"},
        {"NOSUCHCOMMAND"},
        {"MULTI"},
        {"EXEC"},
        {"QUIT"},
        {"QUIT"},
        {"GET", "k"},
        {"XREAD", "BLOCK", "100", "STREAMS", "s"},
        {"XREAD", "COUNT", "1", "STREAMS", "s"},
        /* Names of the same length with other flags, in each of the
         * comparison's shapes: 3, 4 to 7, 8 to 16, and beyond 16 bytes. */
        {"GET", "k"},
        {"SET", "k", "v"},
        {"HGET", "h", "f"},
        {"HSET", "h", "f", "v"},
        {"GETRANGE", "k", "0", "1"},
        {"SETRANGE", "k", "0", "v"},
        {"ZREMRANGEBYSCORE", "z", "0", "1"},
        {"ZREMRANGEBYSCORE", "z", "0", "1"},
        {"GEORADIUSBYMEMBER_RO", "g", "m", "1", "km"},
        {"GEORADIUSBYMEMBER_RO", "g", "m", "1", "km"},
        {"GEORADIUSBYMEMBER", "g", "m", "1", "km"},
    };
    prc_cmd_memo_t memo;
    char name[8];
    size_t i, len;
    const char *argv[2] = {name, "k"};
    size_t lens[2] = {3, 1};
    double b1, b2;

    memset(&memo, 0, sizeof(memo));
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int want = flags_of(&b1, cmds[i]);
        int got = memo_flags(&memo, &b2, cmds[i]);
        if (got != want || b1 != b2) {
            test__fail(__FILE__, __LINE__, "command %zu (%s): %d, want %d", i,
                       cmds[i][0], got, want);
            return TEST_FAILED;
        }
    }
    ASSERT(prc_command_flags(2, (const char *const[]){"CLIENT", "REPLY"},
                             (const size_t[]){6, 5}, &b1) &
           PRC_CMD_STATE);
    /* The same buffer, rewritten between calls: the bytes decide. */
    memset(&memo, 0, sizeof(memo));
    for (i = 0; i < 4; i++) {
        const char *n = (i % 2) ? "WATCH" : "GET";
        len = strlen(n);
        memcpy(name, n, len + 1);
        lens[0] = len;
        ASSERT_EQ(prc_command_flags_memo(&memo, 2, argv, lens, &b2),
                  prc_command_flags(2, argv, lens, &b1));
    }
    /* No argument at all, and an empty name. */
    ASSERT_EQ(prc_command_flags_memo(&memo, 0, argv, lens, &b2), 0);
    lens[0] = 0;
    ASSERT_EQ(prc_command_flags_memo(&memo, 1, argv, lens, &b2), 0);
    return TEST_OK;
}

TEST_IMPL(cmdtable_subcommands)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "CONFIG", "GET", "maxmemory"), RO);
    ASSERT_EQ(FLAGS(&block, "CONFIG", "SET", "maxmemory", "1"), 0);
    ASSERT_EQ(FLAGS(&block, "CONFIG", "RESETSTAT"), 0);
    ASSERT_EQ(FLAGS(&block, "CONFIG"), 0);
    ASSERT_EQ(FLAGS(&block, "CLIENT", "GETNAME"), RO);
    ASSERT_EQ(FLAGS(&block, "CLIENT", "ID"), RO);
    ASSERT_EQ(FLAGS(&block, "CLIENT", "INFO"), RO);
    ASSERT_EQ(FLAGS(&block, "CLIENT", "LIST"), RO);
    ASSERT_EQ(FLAGS(&block, "client", "list"), RO);
    ASSERT_EQ(FLAGS(&block, "CLIENT", "KILL", "ID", "5"), 0);
    ASSERT_EQ(FLAGS(&block, "CLIENT", "SETNAME", "x"), 0);
    ASSERT_EQ(FLAGS(&block, "MEMORY", "USAGE", "k"), RO);
    ASSERT_EQ(FLAGS(&block, "MEMORY", "STATS"), RO);
    ASSERT_EQ(FLAGS(&block, "MEMORY", "PURGE"), 0);
    ASSERT_EQ(FLAGS(&block, "SCRIPT", "EXISTS", "abc"), RO);
    ASSERT_EQ(FLAGS(&block, "SCRIPT", "FLUSH"), 0);
    ASSERT_EQ(FLAGS(&block, "SCRIPT", "LOAD", "return 1"), 0);
    ASSERT_EQ(FLAGS(&block, "OBJECT", "ENCODING", "k"), RO);
    ASSERT_EQ(FLAGS(&block, "XINFO", "STREAM", "s"), RO);
    /* A subcommand of another command does not match ("CLIENT GET"). */
    ASSERT_EQ(FLAGS(&block, "CLIENT", "GET"), 0);
    ASSERT_EQ(FLAGS(&block, "CONFIG", "GETNAME"), 0);
    ASSERT_EQ(FLAGS(&block, "MEMORY", "GET"), 0);
    ASSERT_EQ(block, -1);
    return TEST_OK;
}

TEST_IMPL(cmdtable_blocking_last_arg)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "BLPOP", "a", "b", "1.5"), BL);
    ASSERT_EQ(block, 1.5);
    ASSERT_EQ(FLAGS(&block, "BRPOP", "a", "0"), BL);
    ASSERT_EQ(block, 0); /* 0: wait forever */
    ASSERT_EQ(FLAGS(&block, "BRPOPLPUSH", "a", "b", "3"), BL);
    ASSERT_EQ(block, 3);
    ASSERT_EQ(FLAGS(&block, "BLMOVE", "a", "b", "LEFT", "RIGHT", "4"), BL);
    ASSERT_EQ(block, 4);
    ASSERT_EQ(FLAGS(&block, "BZPOPMIN", "z", "0.25"), BL);
    ASSERT_EQ(block, 0.25);
    ASSERT_EQ(FLAGS(&block, "BZPOPMAX", "z1", "z2", "7"), BL);
    ASSERT_EQ(block, 7);
    /* Unknown timeouts: still blocking, block < 0. */
    ASSERT_EQ(FLAGS(&block, "BLPOP", "a"), BL);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "BLPOP", "a", "soon"), BL);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "BLPOP", "a", "-1"), BL);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "BLPOP", "a", "1.5x"), BL);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "BLPOP", "a", ""), BL);
    ASSERT_EQ(block, -1);
    return TEST_OK;
}

TEST_IMPL(cmdtable_blocking_first_arg)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "BLMPOP", "2.5", "1", "k", "LEFT"), BL);
    ASSERT_EQ(block, 2.5);
    ASSERT_EQ(FLAGS(&block, "BZMPOP", "0", "2", "a", "b", "MIN"), BL);
    ASSERT_EQ(block, 0);
    /* The last argument of BLMPOP is not its timeout. */
    ASSERT_EQ(FLAGS(&block, "BLMPOP", "1", "1", "k", "LEFT", "COUNT", "9"),
              BL);
    ASSERT_EQ(block, 1);
    ASSERT_EQ(FLAGS(&block, "BLMPOP"), BL);
    ASSERT_EQ(block, -1);
    return TEST_OK;
}

TEST_IMPL(cmdtable_xread_block)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "XREAD", "BLOCK", "1500", "STREAMS", "s", "0"),
              BL);
    ASSERT_EQ(block, 1.5);
    ASSERT_EQ(FLAGS(&block, "XREAD", "COUNT", "10", "BLOCK", "0", "STREAMS",
                    "s", "$"),
              BL);
    ASSERT_EQ(block, 0);
    /* Without BLOCK: an ordinary read-only command. */
    ASSERT_EQ(FLAGS(&block, "XREAD", "COUNT", "10", "STREAMS", "s", "0"), RO);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "XREAD", "STREAMS", "s", "0"), RO);
    /* After STREAMS, "BLOCK" is a key name. */
    ASSERT_EQ(FLAGS(&block, "XREAD", "STREAMS", "BLOCK", "100"), RO);
    ASSERT_EQ(block, -1);
    /* XREADGROUP writes (it moves the group's cursor). */
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "200",
                    "STREAMS", "s", ">"),
              BL);
    ASSERT_EQ(block, 0.2);
    ASSERT_EQ(
        FLAGS(&block, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
        0);
    /* A group and a consumer named like the option are names. */
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "GROUP", "block", "0", "STREAMS",
                    "s", ">"),
              0);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "GROUP", "g", "BLOCK", "COUNT", "5",
                    "STREAMS", "s", ">"),
              0);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "group", "block", "0", "COUNT", "1",
                    "NOACK", "block", "300", "STREAMS", "s", ">"),
              BL);
    ASSERT_EQ(block, 0.3);
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "GROUP", "g", "c", "NOACK", "BLOCK",
                    "0", "STREAMS", "s", ">"),
              BL);
    ASSERT_EQ(block, 0);
    /* Each option takes its argument: a COUNT of "BLOCK" is a count. */
    ASSERT_EQ(FLAGS(&block, "XREAD", "COUNT", "BLOCK", "STREAMS", "s", "0"),
              RO);
    ASSERT_EQ(block, -1);
    /* Not XREADGROUP's syntax, or a bad option: nothing to wait for. */
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "BLOCK", "100", "STREAMS", "s"), 0);
    ASSERT_EQ(FLAGS(&block, "XREADGROUP", "GROUP", "g"), 0);
    ASSERT_EQ(
        FLAGS(&block, "XREAD", "NOACK", "BLOCK", "100", "STREAMS", "s", "0"),
        RO);
    ASSERT_EQ(FLAGS(&block, "XREAD", "BLOCK", "soon", "STREAMS", "s", "0"),
              RO);
    ASSERT_EQ(FLAGS(&block, "XREAD", "BLOCK"), RO);
    ASSERT_EQ(block, -1);
    return TEST_OK;
}

TEST_IMPL(cmdtable_wait)
{
    double block;

    ASSERT_EQ(FLAGS(&block, "WAIT", "1", "250"), BL);
    ASSERT_EQ(block, 0.25);
    ASSERT_EQ(FLAGS(&block, "WAIT", "1", "0"), BL);
    ASSERT_EQ(block, 0);
    ASSERT_EQ(FLAGS(&block, "WAIT", "1"), BL);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "WAITAOF", "1", "0", "100"), BL);
    ASSERT_EQ(block, 0.1);
    return TEST_OK;
}

TEST_IMPL(cmdtable_unknown)
{
    const char *argv[1] = {""};
    size_t len = 0;
    double block = 5;

    ASSERT_EQ(FLAGS(&block, "FOO"), 0);
    ASSERT_EQ(block, -1);
    ASSERT_EQ(FLAGS(&block, "GE", "k"), 0);   /* a prefix of GET */
    ASSERT_EQ(FLAGS(&block, "GETX", "k"), 0); /* GET plus a suffix */
    ASSERT_EQ(FLAGS(&block, "AAAA"), 0);      /* before the first */
    ASSERT_EQ(FLAGS(&block, "ZZZZZZ"), 0);    /* after the last */
    ASSERT_EQ(FLAGS(&block, "GEORADIUSBYMEMBER_RO_LONGER"), 0); /* too long */
    ASSERT_EQ(FLAGS(&block, "ZUNIONSTORE", "d", "1", "z"), 0);
    ASSERT_EQ(prc_command_flags(1, argv, &len, &block), 0);
    block = 5;
    ASSERT_EQ(prc_command_flags(0, NULL, NULL, &block), 0);
    ASSERT_EQ(block, -1);
    return TEST_OK;
}

/* Names are (pointer, length), not NUL-terminated strings. */
TEST_IMPL(cmdtable_argvlen)
{
    const char *argv[3] = {"GETRANGE", "k", "0"};
    size_t lens[3] = {3, 1, 1};
    const char *bl[3] = {"BLPOPX", "k", "2.5junk"};
    size_t bllens[3] = {5, 1, 3};
    const char *nul[2] = {"GET\0", "G\0T"};
    size_t nullens[2] = {4, 3};
    double block;

    ASSERT_EQ(prc_command_flags(3, argv, lens, &block), RO); /* "GET" */
    ASSERT_EQ(prc_command_flags(3, bl, bllens, &block), BL);
    ASSERT_EQ(block, 2.5);
    /* A NUL byte is part of the name, never its end. */
    ASSERT_EQ(prc_command_flags(1, &nul[0], &nullens[0], &block), 0);
    ASSERT_EQ(prc_command_flags(1, &nul[1], &nullens[1], &block), 0);
    return TEST_OK;
}
