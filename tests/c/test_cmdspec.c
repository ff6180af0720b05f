/* test_cmdspec.c - the generated command table: lookup and key positions. */
#include <ctype.h>

#include "task.h"

#define MAX_ARGS 32

/* Look a NULL-terminated argv up. */
static const prc_cmd_t *
lookup_of(const char *const *argv)
{
    size_t lens[MAX_ARGS];
    int argc = 0;

    while (argv[argc] != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    return prc_cmd_lookup(argc, argv, lens);
}

#define LOOKUP(...) lookup_of((const char *const[]){__VA_ARGS__, NULL})

/* The key positions of a NULL-terminated argv, as "1 3 5", or "EINVAL:
 * why", or "unknown" when the lookup fails.  The result is static. */
static const char *
keys_of(int options, const char *const *argv)
{
    static char out[256];
    prc_cmd_key_t keys[MAX_ARGS];
    size_t lens[MAX_ARGS];
    const char *why = NULL;
    const prc_cmd_t *cmd;
    int argc = 0, n, i;

    while (argv[argc] != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    cmd = prc_cmd_lookup(argc, argv, lens);
    if (cmd == NULL) {
        return "unknown";
    }
    n = prc_cmd_keys(cmd, argc, argv, lens, options, keys, MAX_ARGS, &why);
    if (n < 0) {
        snprintf(out, sizeof(out), "%s: %s", prc_err_name(n),
                 why ? why : "(no reason)");
        return out;
    }
    out[0] = '\0';
    for (i = 0; i < n && i < MAX_ARGS; i++) {
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d",
                 i ? " " : "", keys[i].pos);
    }
    return out;
}

#define KEYS(...) keys_of(0, (const char *const[]){__VA_ARGS__, NULL})
#define KEYS_OPT(opt, ...)                                                    \
    keys_of(opt, (const char *const[]){__VA_ARGS__, NULL})

TEST_IMPL(cmdspec_lookup)
{
    const prc_cmd_t *get = LOOKUP("GET", "k");
    const char *nul[1] = {"GET\0"};
    size_t nul_len = 4;
    const char *prefix[1] = {"GETRANGE"};
    size_t prefix_len = 3;

    ASSERT_NOT_NULL(get);
    ASSERT_STR_EQ(get->name, "GET");
    ASSERT_EQ(get->arity, 2);
    ASSERT_EQ(get->flags, PRC_CMD_READONLY | PRC_CMD_FAST);
    ASSERT_EQ(get->acl, PRC_ACL_READ | PRC_ACL_STRING | PRC_ACL_FAST);
    ASSERT_EQ(get->parent, -1);
    ASSERT_EQ(get->nsubs, 0);
    ASSERT_STR_EQ(get->group, "string");
    ASSERT_STR_EQ(get->since, "1.0.0");
    ASSERT_PTR_EQ(LOOKUP("get"), get);
    ASSERT_PTR_EQ(LOOKUP("gEt", "k", "extra"), get); /* argc is not arity */
    ASSERT(LOOKUP("SET", "k", "v")->flags & PRC_CMD_WRITE);
    ASSERT_STR_EQ(LOOKUP("restore-asking")->name, "RESTORE-ASKING");
    ASSERT_STR_EQ(LOOKUP("georadiusbymember_ro")->name,
                  "GEORADIUSBYMEMBER_RO");
    /* Unknown names, prefixes, suffixes, empty and over-long names. */
    ASSERT_NULL(LOOKUP("FOO"));
    ASSERT_NULL(LOOKUP("GE"));
    ASSERT_NULL(LOOKUP("GETX"));
    ASSERT_NULL(LOOKUP(""));
    ASSERT_NULL(LOOKUP("GEORADIUSBYMEMBER_RO_LONGER_THAN_ANY"));
    ASSERT_NULL(prc_cmd_lookup(0, NULL, NULL));
    /* Names are (pointer, length): a NUL is a byte of the name. */
    ASSERT_NULL(prc_cmd_lookup(1, nul, &nul_len));
    ASSERT_PTR_EQ(prc_cmd_lookup(1, prefix, &prefix_len), get);
    return TEST_OK;
}

TEST_IMPL(cmdspec_subcommands)
{
    const prc_cmd_t *kill = LOOKUP("CLIENT", "KILL", "ID", "5");
    const prc_cmd_t *client = LOOKUP("CLIENT");
    char big[300];

    ASSERT_NOT_NULL(kill);
    ASSERT_NOT_NULL(client);
    ASSERT_STR_EQ(kill->name, "CLIENT KILL");
    ASSERT_STR_EQ(kill->name + kill->sub_off, "KILL");
    ASSERT_EQ(kill->arity, -3);
    ASSERT(kill->flags & PRC_CMD_ADMIN);
    ASSERT_PTR_EQ(prc_cmd_at(kill->parent), client);
    ASSERT_PTR_EQ(LOOKUP("client", "kill"), kill);
    ASSERT_PTR_EQ(LOOKUP("Client", "Kill"), kill);
    /* The container alone is the container (the server answers with an
     * arity error); an unknown subcommand is unknown. */
    ASSERT_STR_EQ(client->name, "CLIENT");
    ASSERT_GT(client->nsubs, 10);
    ASSERT_EQ(prc_cmd_at(client->first_sub)->parent, kill->parent);
    ASSERT_NULL(LOOKUP("CLIENT", "FOO"));
    ASSERT_NULL(LOOKUP("CLIENT", ""));
    ASSERT_NULL(LOOKUP("CLIENT", "ENCODING")); /* OBJECT's, not CLIENT's */
    ASSERT_NULL(LOOKUP("CONFIG", "KILL"));
    memset(big, 'K', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_NULL(LOOKUP("CLIENT", big));
    ASSERT_STR_EQ(LOOKUP("OBJECT", "ENCODING", "k")->name, "OBJECT ENCODING");
    ASSERT_STR_EQ(LOOKUP("config", "get", "x")->name, "CONFIG GET");
    ASSERT_STR_EQ(LOOKUP("CLIENT", "NO-EVICT", "ON")->name, "CLIENT NO-EVICT");
    /* A supplement subcommand (7.2) sits among the server's. */
    ASSERT_STR_EQ(LOOKUP("CLIENT", "SETINFO", "LIB-NAME", "x")->name,
                  "CLIENT SETINFO");
    ASSERT(LOOKUP("CLIENT", "SETINFO")->classes & PRC_CLASS_SUPPLEMENT);
    return TEST_OK;
}

/* Every entry is found by its own name in upper and lower case, names are
 * unique, and each container lists exactly the entries naming it. */
TEST_IMPL(cmdspec_every_entry_found)
{
    int i, j, n = prc_cmd_count();

    ASSERT_GT(n, 350);
    ASSERT_NULL(prc_cmd_at(-1));
    ASSERT_NULL(prc_cmd_at(n));
    for (i = 0; i < n; i++) {
        const prc_cmd_t *c = prc_cmd_at(i);
        char lower[64];
        const char *argv[2];
        size_t lens[2];
        int argc = 1;

        ASSERT_EQ(strlen(c->name), c->name_len);
        ASSERT_LT(c->name_len, sizeof(lower));
        for (j = 0; j <= c->name_len; j++) {
            lower[j] = (char)tolower((unsigned char)c->name[j]);
        }
        argv[0] = lower;
        lens[0] = c->name_len;
        if (c->parent >= 0) {
            const prc_cmd_t *p = prc_cmd_at(c->parent);

            ASSERT_EQ(c->sub_off, p->name_len + 1);
            ASSERT(i >= p->first_sub && i < p->first_sub + p->nsubs);
            lens[0] = p->name_len;
            argv[1] = lower + c->sub_off;
            lens[1] = (size_t)(c->name_len - c->sub_off);
            argc = 2;
        }
        if (prc_cmd_lookup(argc, argv, lens) != c) {
            test__fail(__FILE__, __LINE__, "entry %d (%s) not found", i,
                       c->name);
            return TEST_FAILED;
        }
        for (j = 0; j < c->nsubs; j++) {
            ASSERT_EQ(prc_cmd_at(c->first_sub + j)->parent, i);
        }
        for (j = 0; j < i; j++) {
            ASSERT(strcmp(prc_cmd_at(j)->name, c->name) != 0);
        }
    }
    return TEST_OK;
}

TEST_IMPL(cmdspec_classes)
{
    static const char *const conn_state[] = {
        "SUBSCRIBE",    "PSUBSCRIBE",   "SSUBSCRIBE", "UNSUBSCRIBE",
        "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR",    "SELECT",
        "HELLO",        "RESET",        "AUTH",       "QUIT",
        "READONLY",     "READWRITE",    "ASKING",     "WATCH",
        "MULTI",        "EXEC",         "DISCARD",    "UNWATCH",
    };
    size_t i;

    ASSERT_EQ(LOOKUP("GET")->classes, PRC_CLASS_REPLAY_SAFE);
    ASSERT_EQ(LOOKUP("SET")->classes, 0);
    ASSERT_EQ(LOOKUP("PING")->classes, PRC_CLASS_REPLAY_SAFE);
    ASSERT_EQ(LOOKUP("LOLWUT")->classes, 0); /* readonly, not replayed */
    ASSERT_EQ(LOOKUP("CONFIG", "GET")->classes, PRC_CLASS_REPLAY_SAFE);
    ASSERT_EQ(LOOKUP("CONFIG", "SET")->classes, 0);
    ASSERT_EQ(LOOKUP("BLPOP")->classes, PRC_CLASS_BLOCKING);
    ASSERT_EQ(LOOKUP("BLPOP")->block_tmo, PRC_TMO_LAST_SECONDS);
    ASSERT_EQ(LOOKUP("BZMPOP")->block_tmo, PRC_TMO_ARG1_SECONDS);
    ASSERT_EQ(LOOKUP("XREAD")->classes, PRC_CLASS_REPLAY_SAFE |
                                            PRC_CLASS_BLOCKING |
                                            PRC_CLASS_BLOCKS_WITH_ARG);
    ASSERT_EQ(LOOKUP("XREADGROUP")->classes,
              PRC_CLASS_BLOCKING | PRC_CLASS_BLOCKS_WITH_ARG);
    ASSERT_EQ(LOOKUP("XREADGROUP")->block_tmo, PRC_TMO_BLOCK_MS);
    ASSERT_EQ(LOOKUP("WAIT")->classes, PRC_CLASS_BLOCKING);
    ASSERT_EQ(LOOKUP("WAIT")->block_tmo, PRC_TMO_ARG2_MS);
    ASSERT_EQ(LOOKUP("WAITAOF")->classes,
              PRC_CLASS_BLOCKING | PRC_CLASS_SUPPLEMENT);
    ASSERT_EQ(LOOKUP("WAITAOF")->block_tmo, PRC_TMO_ARG3_MS);
    ASSERT_EQ(LOOKUP("GET")->block_tmo, PRC_TMO_NONE);
    for (i = 0; i < sizeof(conn_state) / sizeof(conn_state[0]); i++) {
        const prc_cmd_t *c = LOOKUP(conn_state[i]);

        ASSERT_NOT_NULL(c);
        if (!(c->classes & PRC_CLASS_CONN_STATE)) {
            test__fail(__FILE__, __LINE__, "%s is not connection_state",
                       conn_state[i]);
            return TEST_FAILED;
        }
    }
    ASSERT(LOOKUP("CLIENT", "REPLY")->classes & PRC_CLASS_CONN_STATE);
    ASSERT(LOOKUP("CLIENT", "TRACKING")->classes & PRC_CLASS_CONN_STATE);
    ASSERT_EQ(LOOKUP("CLIENT", "REPLY")->refusal, PRC_REFUSE_CLIENT_REPLY);
    ASSERT_EQ(LOOKUP("SUBSCRIBE")->refusal, PRC_REFUSE_PUBSUB);
    ASSERT_EQ(LOOKUP("EXEC")->refusal, PRC_REFUSE_TRANSACTION);
    ASSERT_EQ(LOOKUP("UNWATCH")->refusal, PRC_REFUSE_WATCH);
    /* A name is a label: allowed (README, Connection state). */
    ASSERT_EQ(LOOKUP("CLIENT", "SETNAME")->classes, 0);
    ASSERT_EQ(LOOKUP("CLIENT", "SETNAME")->refusal, PRC_REFUSE_NONE);
    ASSERT_EQ(LOOKUP("CLIENT", "SETINFO")->classes, PRC_CLASS_SUPPLEMENT);
    /* QUIT ends its connection: allowed, then closed. */
    ASSERT_EQ(LOOKUP("QUIT")->classes,
              PRC_CLASS_CONN_STATE | PRC_CLASS_CLOSES);
    ASSERT_EQ(LOOKUP("QUIT")->refusal, PRC_REFUSE_NONE);
    ASSERT_EQ(LOOKUP("GET")->refusal, PRC_REFUSE_NONE);
    ASSERT_EQ(LOOKUP("CLIENT", "LIST")->classes, PRC_CLASS_REPLAY_SAFE);
    ASSERT_EQ(LOOKUP("PUBLISH")->classes, 0);
    ASSERT_EQ(LOOKUP("PUBSUB", "CHANNELS")->classes, 0);
    ASSERT_EQ(LOOKUP("SPUBLISH")->classes, 0);
    ASSERT_EQ(LOOKUP("HEXPIRE")->classes, PRC_CLASS_SUPPLEMENT);
    ASSERT_EQ(LOOKUP("HTTL")->classes,
              PRC_CLASS_REPLAY_SAFE | PRC_CLASS_SUPPLEMENT);
    ASSERT_EQ(LOOKUP("GEORADIUS")->classes, PRC_CLASS_DEPRECATED);
    ASSERT(LOOKUP("KEYS")->tips & PRC_TIP_REQUEST_ALL_SHARDS);
    ASSERT(LOOKUP("DBSIZE")->tips & PRC_TIP_RESPONSE_AGG_SUM);
    return TEST_OK;
}

/* The call rules (prc_command_flags, cmdtable.c) follow the table's
 * classes for every entry, looked up by argv as callers send it: the
 * replay and blocking flags, QUIT's close, and the state class that goes
 * with each refusal; every connection-state command is refused or closes
 * its connection, and nothing else is. */
TEST_IMPL(cmdspec_drives_the_call_rules)
{
    char found[512] = "";
    int i, n = prc_cmd_count();

    for (i = 0; i < n; i++) {
        const prc_cmd_t *c = prc_cmd_at(i);
        char name[64];
        const char *argv[3];
        size_t lens[3];
        int argc = 0, flags, expect = 0, state;
        double block;

        memcpy(name, c->name, (size_t)c->name_len + 1);
        if (c->parent >= 0) {
            name[c->sub_off - 1] = '\0';
            argv[argc] = name;
            lens[argc++] = (size_t)c->sub_off - 1;
            argv[argc] = name + c->sub_off;
            lens[argc++] = (size_t)(c->name_len - c->sub_off);
        } else {
            argv[argc] = name;
            lens[argc++] = c->name_len;
        }
        if (c->nsubs == 0) {
            argv[argc] = "k";
            lens[argc++] = 1;
        }
        flags = prc_command_flags(argc, argv, lens, &block);
        if (c->classes & PRC_CLASS_REPLAY_SAFE) {
            expect |= PRC_CALL_READONLY;
        }
        if ((c->classes & PRC_CLASS_BLOCKING) &&
            !(c->classes & PRC_CLASS_BLOCKS_WITH_ARG)) {
            expect |= PRC_CALL_BLOCKING;
        }
        if (c->classes & PRC_CLASS_CLOSES) {
            expect |= PRC_CALL_CLOSE;
        }
        state = c->refusal == PRC_REFUSE_TRANSACTION ? PRC_CMD_TRANSACTION
                : c->refusal == PRC_REFUSE_WATCH     ? PRC_CMD_WATCH
                : c->refusal != PRC_REFUSE_NONE      ? PRC_CMD_CONN_STATE
                                                     : 0;
        expect |= state;
        if (flags != expect || !(c->classes & PRC_CLASS_CONN_STATE) !=
                                   !((c->refusal != PRC_REFUSE_NONE) ^
                                     !!(c->classes & PRC_CLASS_CLOSES))) {
            snprintf(found + strlen(found), sizeof(found) - strlen(found),
                     " %s", c->name);
        }
    }
    ASSERT_STR_EQ(found, "");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_index_range)
{
    ASSERT_STR_EQ(KEYS("GET", "k"), "1");
    ASSERT_STR_EQ(KEYS("get", "k"), "1");
    ASSERT_STR_EQ(KEYS("SET", "k", "v", "GET"), "1");
    ASSERT_STR_EQ(KEYS("MSET", "a", "1", "b", "2", "c", "3"), "1 3 5");
    ASSERT_STR_EQ(KEYS("MSET", "a", "1", "b"), "1 3"); /* as the server */
    ASSERT_STR_EQ(KEYS("DEL", "a", "b", "c"), "1 2 3");
    ASSERT_STR_EQ(KEYS("BLPOP", "a", "b", "0"), "1 2");
    ASSERT_STR_EQ(KEYS("BITOP", "AND", "d", "a", "b"), "2 3 4");
    ASSERT_STR_EQ(KEYS("RENAME", "a", "b"), "1 2");
    ASSERT_STR_EQ(KEYS("LMOVE", "a", "b", "LEFT", "RIGHT"), "1 2");
    ASSERT_STR_EQ(KEYS("PING"), "");
    ASSERT_STR_EQ(KEYS("PUBLISH", "ch", "m"), "");
    ASSERT_STR_EQ(KEYS("HEXPIRE", "h", "10", "FIELDS", "1", "f"), "1");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_keynum)
{
    ASSERT_STR_EQ(KEYS("EVAL", "s", "2", "a", "b", "x"), "3 4");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "0"), "");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "0", "x", "y"), "");
    ASSERT_STR_EQ(KEYS("EVALSHA_RO", "sha", "1", "a"), "3");
    ASSERT_STR_EQ(KEYS("FCALL", "f", "1", "k", "arg"), "3");
    ASSERT_STR_EQ(KEYS("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
                  "1 3 4");
    ASSERT_STR_EQ(KEYS("ZINTERSTORE", "d", "1", "a"), "1 3");
    ASSERT_STR_EQ(KEYS("ZUNION", "2", "a", "b", "WITHSCORES"), "2 3");
    ASSERT_STR_EQ(KEYS("SINTERCARD", "2", "a", "b", "LIMIT", "1"), "2 3");
    ASSERT_STR_EQ(KEYS("LMPOP", "2", "a", "b", "LEFT", "COUNT", "3"), "2 3");
    ASSERT_STR_EQ(KEYS("BLMPOP", "0", "2", "a", "b", "LEFT"), "3 4");
    ASSERT_STR_EQ(KEYS("ZMPOP", "1", "z", "MIN"), "2");
    ASSERT_STR_EQ(KEYS("BZMPOP", "1.5", "1", "z", "MAX"), "3");
    /* numkeys 0: the destination only (the server then refuses the
     * command; COMMAND GETKEYS calls the form invalid). */
    ASSERT_STR_EQ(KEYS("ZUNIONSTORE", "d", "0", "x"), "1");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_keyword)
{
    ASSERT_STR_EQ(KEYS("XREAD", "STREAMS", "a", "0"), "2");
    ASSERT_STR_EQ(KEYS("XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "a",
                       "b", "0", "0"),
                  "6 7");
    ASSERT_STR_EQ(KEYS("xread", "streams", "STREAMS", "0"), "2");
    ASSERT_STR_EQ(KEYS("XREAD", "STREAMS", "a", "b", "c"), "2"); /* odd */
    ASSERT_STR_EQ(KEYS("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"),
                  "5");
    /* A consumer named STREAMS: the search starts after it. */
    ASSERT_STR_EQ(KEYS("XREADGROUP", "GROUP", "g", "STREAMS", "STREAMS", "a",
                       "b", ">", ">"),
                  "5 6");
    ASSERT_STR_EQ(KEYS("GEORADIUS", "k", "0", "0", "1", "km"), "1");
    ASSERT_STR_EQ(KEYS("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d"),
                  "1 7");
    ASSERT_STR_EQ(KEYS("GEORADIUS", "k", "0", "0", "1", "km", "COUNT", "5",
                       "STOREDIST", "d"),
                  "1 9");
    ASSERT_STR_EQ(KEYS("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d",
                       "STOREDIST", "e"),
                  "1 7 9");
    /* A keyword as the last argument names no key. */
    ASSERT_STR_EQ(KEYS("GEORADIUS", "k", "0", "0", "1", "km", "STORE"), "1");
    ASSERT_STR_EQ(KEYS("GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "d"),
                  "1 6");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_sort_migrate)
{
    prc_cmd_key_t keys[4];
    const char *argv[4] = {"SORT", "k", "STORE", "d"};
    size_t lens[4] = {4, 1, 5, 1};

    ASSERT_STR_EQ(KEYS("SORT", "k"), "1");
    ASSERT_STR_EQ(KEYS("SORT", "k", "STORE", "d"), "1 3");
    ASSERT_STR_EQ(KEYS("SORT", "k", "BY", "w_*", "LIMIT", "0", "10", "GET",
                       "#", "GET", "o_*", "ALPHA", "STORE", "d"),
                  "1 13");
    ASSERT_STR_EQ(KEYS("SORT", "k", "STORE", "a", "STORE", "b"), "1 5");
    ASSERT_STR_EQ(KEYS("SORT", "k", "GET", "STORE"), "1"); /* a pattern */
    ASSERT_STR_EQ(KEYS("SORT", "k", "STORE"), "1");
    ASSERT_STR_EQ(KEYS("SORT_RO", "k", "BY", "x", "GET", "y"), "1");
    ASSERT_EQ(prc_cmd_keys(prc_cmd_lookup(4, argv, lens), 4, argv, lens, 0,
                           keys, 4, NULL),
              2);
    ASSERT_EQ(keys[0].flags, PRC_KS_RO | PRC_KS_ACCESS);
    ASSERT_EQ(keys[1].flags, PRC_KS_OW | PRC_KS_UPDATE);
    /* MIGRATE: the key, or with an empty key the keys after KEYS. */
    ASSERT_STR_EQ(KEYS("MIGRATE", "h", "6379", "k", "0", "5000"), "3");
    ASSERT_STR_EQ(
        KEYS("MIGRATE", "h", "6379", "", "0", "5000", "KEYS", "a", "b"),
        "7 8");
    ASSERT_STR_EQ(KEYS("MIGRATE", "h", "6379", "", "0", "5000", "COPY",
                       "REPLACE", "AUTH", "pw", "KEYS", "a"),
                  "11");
    /* AUTH's password is skipped, even when it reads KEYS. */
    ASSERT_STR_EQ(KEYS("MIGRATE", "h", "6379", "", "0", "5000", "AUTH", "KEYS",
                       "KEYS", "a"),
                  "9");
    ASSERT_STR_EQ(KEYS("MIGRATE", "h", "6379", "", "0", "5000", "AUTH2", "u",
                       "pw", "KEYS", "a", "b"),
                  "10 11");
    /* A key and KEYS together: a syntax error, no keys. */
    ASSERT_STR_EQ(KEYS("MIGRATE", "h", "6379", "k", "0", "5000", "KEYS", "a"),
                  "");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_subcommands)
{
    ASSERT_STR_EQ(KEYS("OBJECT", "ENCODING", "k"), "2");
    ASSERT_STR_EQ(KEYS("object", "freq", "k"), "2");
    ASSERT_STR_EQ(KEYS("MEMORY", "USAGE", "k", "SAMPLES", "5"), "2");
    ASSERT_STR_EQ(KEYS("XINFO", "STREAM", "s", "FULL"), "2");
    ASSERT_STR_EQ(KEYS("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), "2");
    ASSERT_STR_EQ(KEYS("CLIENT", "KILL", "ID", "5"), "");
    ASSERT_STR_EQ(KEYS("OBJECT", "NOPE", "k"), "unknown");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_not_keys)
{
    ASSERT_STR_EQ(KEYS("SPUBLISH", "ch", "m"), "");
    ASSERT_STR_EQ(KEYS_OPT(PRC_KEYS_NOT_KEYS, "SPUBLISH", "ch", "m"), "1");
    ASSERT_STR_EQ(KEYS_OPT(PRC_KEYS_NOT_KEYS, "SSUBSCRIBE", "a", "b"), "1 2");
    ASSERT_STR_EQ(KEYS_OPT(PRC_KEYS_NOT_KEYS, "GET", "k"), "1");
    return TEST_OK;
}

TEST_IMPL(cmdspec_keys_bad_argv)
{
    const char *nul[4] = {"EVAL", "s", "1\0", "k"};
    size_t nul_lens[4] = {4, 1, 2, 1};
    const prc_cmd_t *eval = LOOKUP("EVAL");
    const char *why = "unset";

    ASSERT_STR_EQ(KEYS("GET"), "EINVAL: wrong number of arguments");
    ASSERT_STR_EQ(KEYS("GET", "a", "b"), "EINVAL: wrong number of arguments");
    ASSERT_STR_EQ(KEYS("EVAL", "s"), "EINVAL: wrong number of arguments");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "abc"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", ""), "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "1x", "k"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "+1", "k"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "01", "k"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "-0"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "-", "k"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "99999999999999999999", "k"),
                  "EINVAL: numkeys is not an integer");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "-1"), "EINVAL: numkeys is negative");
    ASSERT_STR_EQ(KEYS("EVAL", "s", "-9223372036854775808"),
                  "EINVAL: numkeys is negative");
    ASSERT_STR_EQ(
        KEYS("EVAL", "s", "3", "a"),
        "EINVAL: numkeys is larger than the arguments that follow it");
    ASSERT_STR_EQ(
        KEYS("EVAL", "s", "2147483648", "a"),
        "EINVAL: numkeys is larger than the arguments that follow it");
    ASSERT_STR_EQ(
        KEYS("EVAL", "s", "9223372036854775807", "a"),
        "EINVAL: numkeys is larger than the arguments that follow it");
    ASSERT_STR_EQ(
        KEYS("ZUNIONSTORE", "d", "5", "a", "b"),
        "EINVAL: numkeys is larger than the arguments that follow it");
    ASSERT_STR_EQ(KEYS("XREAD", "COUNT", "1", "STREAMS", "a"),
                  "EINVAL: the key arguments run past the end of the command");
    /* A keyword that ends argv starts no keys (the server looks no
     * further than the second-to-last argument). */
    ASSERT_STR_EQ(KEYS("XREAD", "COUNT", "1", "STREAMS"), "");
    ASSERT_STR_EQ(KEYS("XREAD", "STREAMS", "a"), /* too short for arity */
                  "EINVAL: wrong number of arguments");
    /* A NUL inside numkeys is not a digit. */
    ASSERT_EQ(prc_cmd_keys(eval, 4, nul, nul_lens, 0, NULL, 0, &why),
              PRC_EINVAL);
    ASSERT_STR_EQ(why, "numkeys is not an integer");
    /* No command, or keys but no room pointer. */
    ASSERT_EQ(prc_cmd_keys(NULL, 1, nul, nul_lens, 0, NULL, 0, &why),
              PRC_EINVAL);
    ASSERT_STR_EQ(why, "no command");
    ASSERT_EQ(prc_cmd_keys(eval, 4, nul, nul_lens, 0, NULL, 3, NULL),
              PRC_EINVAL);
    return TEST_OK;
}

/* Fewer slots than keys: the count comes back, only cap keys are written. */
TEST_IMPL(cmdspec_keys_cap)
{
    const char *argv[] = {"DEL", "a", "b", "c", "d", "e"};
    size_t lens[] = {3, 1, 1, 1, 1, 1};
    prc_cmd_key_t keys[4];
    const prc_cmd_t *del = prc_cmd_lookup(6, argv, lens);

    memset(keys, 0x5a, sizeof(keys));
    ASSERT_EQ(prc_cmd_keys(del, 6, argv, lens, 0, keys, 2, NULL), 5);
    ASSERT_EQ(keys[0].pos, 1);
    ASSERT_EQ(keys[1].pos, 2);
    ASSERT_EQ(keys[2].pos, 0x5a5a5a5a); /* untouched */
    ASSERT_EQ(prc_cmd_keys(del, 6, argv, lens, 0, NULL, 0, NULL), 5);
    ASSERT_EQ(prc_cmd_keys(del, 6, argv, lens, 0, keys, -1, NULL), 5);
    return TEST_OK;
}

/* Specs the table does not hold today: incomplete or unknown without a
 * rule, and a keynum spec with a step. */
TEST_IMPL(cmdspec_keys_synthetic)
{
    const prc_keyspec_t incomplete[1] = {{
        .flags = PRC_KS_RW | PRC_KS_INCOMPLETE,
        .begin = PRC_KS_BEGIN_INDEX,
        .find = PRC_KS_FIND_RANGE,
        .index = 1,
        .keystep = 1,
    }};
    const prc_keyspec_t unknown[2] = {
        {.flags = PRC_KS_RO, .begin = PRC_KS_BEGIN_UNKNOWN},
        {.flags = PRC_KS_RO,
         .begin = PRC_KS_BEGIN_INDEX,
         .find = PRC_KS_FIND_UNKNOWN,
         .index = 1},
    };
    const prc_keyspec_t stepped[1] = {{
        .flags = PRC_KS_RO,
        .begin = PRC_KS_BEGIN_INDEX,
        .find = PRC_KS_FIND_KEYNUM,
        .index = 1,
        .keynumidx = 0,
        .firstkey = 1,
        .keystep = 2,
    }};
    prc_cmd_t cmd = {.name = "X", .name_len = 1, .arity = -2, .parent = -1};
    const char *argv[] = {"X", "2", "a", "1", "b", "2"};
    size_t lens[] = {1, 1, 1, 1, 1, 1};
    prc_cmd_key_t keys[8];
    const char *why = NULL;

    cmd.keyspecs = incomplete;
    cmd.nkeyspecs = 1;
    ASSERT_EQ(prc_cmd_keys(&cmd, 2, argv, lens, 0, keys, 8, &why), PRC_EINVAL);
    ASSERT_STR_EQ(why, "the key specs are incomplete for this form");
    ASSERT_EQ(
        prc_cmd_keys(&cmd, 2, argv, lens, PRC_KEYS_PARTIAL, keys, 8, NULL), 1);
    ASSERT_EQ(keys[0].pos, 1);
    cmd.keyspecs = unknown;
    cmd.nkeyspecs = 2;
    ASSERT_EQ(prc_cmd_keys(&cmd, 2, argv, lens, 0, keys, 8, &why), PRC_EINVAL);
    ASSERT_EQ(
        prc_cmd_keys(&cmd, 2, argv, lens, PRC_KEYS_PARTIAL, keys, 8, NULL), 0);
    /* keynum with keystep 2: numkeys keys, two apart (key value key
     * value), as the docs read it. */
    cmd.keyspecs = stepped;
    cmd.nkeyspecs = 1;
    ASSERT_EQ(prc_cmd_keys(&cmd, 6, argv, lens, 0, keys, 8, NULL), 2);
    ASSERT_EQ(keys[0].pos, 2);
    ASSERT_EQ(keys[1].pos, 4);
    ASSERT_EQ(prc_cmd_keys(&cmd, 4, argv, lens, 0, keys, 8, &why), PRC_EINVAL);
    /* No room for numkeys itself (a command whose arity allows that). */
    cmd.arity = -1;
    ASSERT_EQ(prc_cmd_keys(&cmd, 1, argv, lens, 0, keys, 8, &why), PRC_EINVAL);
    ASSERT_STR_EQ(why, "numkeys is missing");
    return TEST_OK;
}

TEST_IMPL(cmdspec_vocabularies)
{
    int i;

    ASSERT_STR_EQ(prc_cmd_table_version(), "7.0.15");
    ASSERT_STR_EQ(prc_cmd_vocab_name(PRC_VOCAB_FLAG, PRC_CMD_BIT_READONLY),
                  "readonly");
    ASSERT_STR_EQ(prc_cmd_vocab_name(PRC_VOCAB_ACL, PRC_ACL_BIT_READ),
                  "@read");
    ASSERT_STR_EQ(
        prc_cmd_vocab_name(PRC_VOCAB_TIP, PRC_TIP_BIT_REQUEST_ALL_SHARDS),
        "request_policy:all_shards");
    ASSERT_STR_EQ(prc_cmd_vocab_name(PRC_VOCAB_KEYSPEC, PRC_KS_BIT_OW), "OW");
    ASSERT_STR_EQ(
        prc_cmd_vocab_name(PRC_VOCAB_CLASS, PRC_CLASS_BIT_CONN_STATE),
        "connection_state");
    for (i = 0; i < PRC_CMD_FLAG_COUNT; i++) {
        ASSERT_NOT_NULL(prc_cmd_vocab_name(PRC_VOCAB_FLAG, i));
    }
    ASSERT_NULL(prc_cmd_vocab_name(PRC_VOCAB_FLAG, PRC_CMD_FLAG_COUNT));
    ASSERT_NULL(prc_cmd_vocab_name(PRC_VOCAB_CLASS, -1));
    ASSERT_NULL(prc_cmd_vocab_name(99, 0));
    ASSERT_NULL(prc_cmd_tmo_name(PRC_TMO_NONE));
    ASSERT_STR_EQ(prc_cmd_tmo_name(PRC_TMO_BLOCK_MS), "block_ms");
    ASSERT_STR_EQ(prc_cmd_tmo_name(PRC_TMO_ARG3_MS), "arg3_ms");
    ASSERT_NULL(prc_cmd_tmo_name(PRC_TMO_ARG3_MS + 1));
    return TEST_OK;
}
