/* test_cmdstate.c - connection-state commands: their class in the command
 * table, the advice the binding quotes, and QUIT's close after the call. */
#include "pooltest.h"

/* Classify a NULL-terminated argv (prc_command_flags, timeout ignored). */
static int
state_flags(const char *const *argv, const char **advice, const char **name)
{
    size_t lens[8];
    double block;
    int argc = 0;

    while (argv[argc] != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    *advice = prc_command_refusal(argc, argv, lens, name);
    return prc_command_flags(argc, argv, lens, &block);
}

#define STATE(advice, name, ...)                                              \
    state_flags((const char *const[]){__VA_ARGS__, NULL}, advice, name)

/* Every connection-state command has its class, a name as the table spells
 * it and an advice sentence; case does not matter. */
TEST_IMPL(cmdstate_classes)
{
    static const struct {
        const char *argv[3];
        int flags;
        const char *name;
        const char *advice; /* a word the advice must hold */
    } cases[] = {
        {{"SUBSCRIBE", "c"}, PRC_CMD_CONN_STATE, "SUBSCRIBE", "pub/sub"},
        {{"psubscribe", "c*"}, PRC_CMD_CONN_STATE, "PSUBSCRIBE", "pub/sub"},
        {{"SSUBSCRIBE", "c"}, PRC_CMD_CONN_STATE, "SSUBSCRIBE", "pub/sub"},
        {{"UNSUBSCRIBE"}, PRC_CMD_CONN_STATE, "UNSUBSCRIBE", "pub/sub"},
        {{"PUNSUBSCRIBE"}, PRC_CMD_CONN_STATE, "PUNSUBSCRIBE", "pub/sub"},
        {{"SUNSUBSCRIBE"}, PRC_CMD_CONN_STATE, "SUNSUBSCRIBE", "pub/sub"},
        {{"MONITOR"}, PRC_CMD_CONN_STATE, "MONITOR", "redis-cli"},
        {{"SYNC"}, PRC_CMD_CONN_STATE, "SYNC", "replication"},
        {{"PSYNC", "?"}, PRC_CMD_CONN_STATE, "PSYNC", "replication"},
        {{"REPLCONF", "x"}, PRC_CMD_CONN_STATE, "REPLCONF", "replication"},
        {{"select", "1"}, PRC_CMD_CONN_STATE, "SELECT", "db="},
        {{"AUTH", "pw"}, PRC_CMD_CONN_STATE, "AUTH", "password="},
        {{"HELLO", "3"}, PRC_CMD_CONN_STATE, "HELLO", "RESP2"},
        {{"RESET"}, PRC_CMD_CONN_STATE, "RESET", "close()"},
        {{"READONLY"}, PRC_CMD_CONN_STATE, "READONLY", "Cluster"},
        {{"READWRITE"}, PRC_CMD_CONN_STATE, "READWRITE", "Cluster"},
        {{"ASKING"}, PRC_CMD_CONN_STATE, "ASKING", "Cluster"},
        {{"CLIENT", "REPLY", "OFF"},
         PRC_CMD_CONN_STATE,
         "CLIENT REPLY",
         "SKIP"},
        {{"client", "tracking", "on"},
         PRC_CMD_CONN_STATE,
         "CLIENT TRACKING",
         "caching"},
        {{"CLIENT", "CACHING", "yes"},
         PRC_CMD_CONN_STATE,
         "CLIENT CACHING",
         "caching"},
        {{"CLIENT", "NO-EVICT", "on"},
         PRC_CMD_CONN_STATE,
         "CLIENT NO-EVICT",
         "flag"},
        {{"CLIENT", "NO-TOUCH", "on"},
         PRC_CMD_CONN_STATE,
         "CLIENT NO-TOUCH",
         "flag"},
        {{"SCRIPT", "DEBUG", "yes"},
         PRC_CMD_CONN_STATE,
         "SCRIPT DEBUG",
         "ldb"},
        {{"MULTI"}, PRC_CMD_TRANSACTION, "MULTI", "pipeline()"},
        {{"exec"}, PRC_CMD_TRANSACTION, "EXEC", "pipeline()"},
        {{"DISCARD"}, PRC_CMD_TRANSACTION, "DISCARD", "pipeline()"},
        {{"WATCH", "k"}, PRC_CMD_WATCH, "WATCH", "pipe.watch()"},
        {{"UNWATCH"}, PRC_CMD_WATCH, "UNWATCH", "pipe.unwatch()"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *advice, *name;
        size_t lens[3];
        int argc = 0, flags;
        double block;

        while (argc < 3 && cases[i].argv[argc] != NULL) {
            lens[argc] = strlen(cases[i].argv[argc]);
            argc++;
        }
        flags = prc_command_flags(argc, cases[i].argv, lens, &block);
        ASSERT_EQ(flags, cases[i].flags);
        advice = prc_command_refusal(argc, cases[i].argv, lens, &name);
        ASSERT_NOT_NULL(advice);
        ASSERT_STR_EQ(name, cases[i].name);
        ASSERT_STR_CONTAINS(advice, cases[i].advice);
    }
    return TEST_OK;
}

/* Commands without a state class: no advice, no name, no class bits. */
TEST_IMPL(cmdstate_others)
{
    const char *advice, *name = "unset";

    ASSERT_EQ(STATE(&advice, &name, "GET", "k"), PRC_CALL_READONLY);
    ASSERT_NULL(advice);
    ASSERT_NULL(name);
    /* A name labels the connection: allowed (README, Connection state). */
    ASSERT_EQ(STATE(&advice, &name, "CLIENT", "SETNAME", "n"), 0);
    ASSERT_NULL(advice);
    ASSERT_EQ(STATE(&advice, &name, "CLIENT", "SETINFO", "LIB-NAME", "x"), 0);
    ASSERT_EQ(STATE(&advice, &name, "CLIENT", "ID"), PRC_CALL_READONLY);
    ASSERT_NULL(advice);
    ASSERT_EQ(STATE(&advice, &name, "CLIENT"), 0); /* no subcommand */
    ASSERT_NULL(advice);
    ASSERT_EQ(STATE(&advice, &name, "SCRIPT", "LOAD", "return 1"), 0);
    ASSERT_EQ(STATE(&advice, &name, "CONFIG", "DEBUG"), 0); /* not SCRIPT */
    ASSERT_NULL(advice);
    ASSERT_EQ(STATE(&advice, &name, "NOSUCHCOMMAND"), 0);
    ASSERT_NULL(advice);
    ASSERT_EQ(STATE(&advice, &name, "SUBSCRIBEX"), 0);
    ASSERT_NULL(advice);
    /* QUIT is allowed; its call closes the connection. */
    ASSERT_EQ(STATE(&advice, &name, "QUIT"), PRC_CALL_CLOSE);
    ASSERT_NULL(advice);
    ASSERT_NULL(prc_command_refusal(0, NULL, NULL, &name));
    ASSERT_NULL(name);
    return TEST_OK;
}

/* A call flagged PRC_CALL_CLOSE ends with its connection closed, never
 * pooled; the next call opens a new one. */
TEST_IMPL(cmdstate_close_after_call)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    prc_pool_stats_t st;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    ASSERT_NOT_NULL(p = pt_pool(&o));
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, PRC_CALL_CLOSE, 1.0), 0);
    CHECK(pt_replies_are(&call, "+PONG\r\n"));
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_NULL(ST(&call)->conn);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 1);
    ASSERT_EQ(st.closed, 1);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(st.in_use, 0);
    ASSERT_EQ(pt_call(p, &call, PING_REQ, 1, 0, 1.0), 0);
    prc_call_finish(p, &call, PRC_OK);
    prc_pool_stats(p, &st);
    ASSERT_EQ(st.created, 2);
    ASSERT_EQ(st.idle, 1);
    ASSERT_EQ(st.errors, 0);
    ASSERT_EQ(fakesrv_accepted(srv), 2);
    return TEST_OK;
}
