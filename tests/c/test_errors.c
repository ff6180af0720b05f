/* test_errors.c - error codes: every code has a name and a message. */
#include <limits.h>

#include "task.h"

typedef struct {
    int code;
    const char *name;
    const char *msg;
} err_row;

static const err_row rows[] = {
#define ROW(name, code, msg, ...) {code, #name, msg},
    PRC_ERRNO_MAP(ROW)
#undef ROW
};
#define NROWS ((int)(sizeof(rows) / sizeof(rows[0])))

TEST_IMPL(errors_names_and_messages)
{
    int i, j;

    ASSERT_GE(NROWS, 17);
    for (i = 0; i < NROWS; i++) {
        const char *name = prc_err_name(rows[i].code);
        const char *msg = prc_strerror(rows[i].code);

        /* Codes are negative, distinct and dense from -1. */
        ASSERT_EQ(rows[i].code, -(i + 1));
        ASSERT_NOT_NULL(name);
        ASSERT_NOT_NULL(msg);
        ASSERT_STR_EQ(name, rows[i].name);
        ASSERT_STR_EQ(msg, rows[i].msg);
        ASSERT(strcmp(name, "EUNKNOWN") != 0);
        ASSERT(strcmp(msg, "unknown error") != 0);
        ASSERT_GT(strlen(msg), 3);
        ASSERT(name[0] == 'E');
        for (j = 0; j < i; j++) {
            ASSERT(strcmp(name, prc_err_name(rows[j].code)) != 0);
            ASSERT(strcmp(msg, prc_strerror(rows[j].code)) != 0);
        }
    }
    /* The enum names match the table. */
    ASSERT_STR_EQ(prc_err_name(PRC_ETIMEDOUT), "ETIMEDOUT");
    ASSERT_STR_EQ(prc_err_name(PRC_EPOOLTIMEOUT), "EPOOLTIMEOUT");
    ASSERT_STR_EQ(prc_err_name(PRC_ETOOBIG), "ETOOBIG");
    ASSERT_STR_EQ(prc_strerror(PRC_ECIRCUIT), "circuit breaker is open");
    return TEST_OK;
}

TEST_IMPL(errors_ok_and_unknown_codes)
{
    /* One past the last code, then values nowhere near the table. */
    const int unknown[] = {-(NROWS + 1), 1,     6379,    -100,
                           -1000,        -1001, INT_MAX, INT_MIN};
    size_t i;

    ASSERT_STR_EQ(prc_err_name(PRC_OK), "OK");
    ASSERT_STR_EQ(prc_strerror(PRC_OK), "success");
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        ASSERT_STR_EQ(prc_err_name(unknown[i]), "EUNKNOWN");
        ASSERT_STR_EQ(prc_strerror(unknown[i]), "unknown error");
    }
    ASSERT_EQ(PRC_ERRSTR_LEN, 128);
    return TEST_OK;
}

/* The error classes: a tree in table order, each class's code raising
 * that class, and server error replies classed by their prefix. */
TEST_IMPL(errors_classes)
{
    static const struct {
        const char *msg;
        int cls;
        size_t skip;
    } replies[] = {
        {"ERR unknown command 'FOO'", PRC_EXC_RESPONSE, 4},
        {"ERR max number of clients reached", PRC_EXC_MAXCLIENTS, 4},
        {"ERR AUTH <password> called without any password", PRC_EXC_AUTH, 4},
        {"WRONGPASS invalid username-password pair", PRC_EXC_AUTH, 0},
        {"NOAUTH Authentication required.", PRC_EXC_AUTH, 0},
        {"NOPERM this user has no permissions", PRC_EXC_NOPERM, 0},
        {"NOSCRIPT No matching script.", PRC_EXC_NOSCRIPT, 9},
        {"READONLY You can't write", PRC_EXC_READONLY, 9},
        {"OOM command not allowed", PRC_EXC_OOM, 4},
        {"EXECABORT Transaction discarded", PRC_EXC_EXECABORT, 10},
        {"LOADING Redis is loading", PRC_EXC_LOADING, 8},
        {"MASTERDOWN Link with MASTER is down", PRC_EXC_MASTERDOWN, 0},
        {"MOVED 3999 127.0.0.1:6381", PRC_EXC_MOVED, 0},
        {"ASK 3999 127.0.0.1:6381", PRC_EXC_ASK, 0},
        {"TRYAGAIN Multiple keys request during rehashing of slot",
         PRC_EXC_TRYAGAIN, 0},
        {"ERR Error loading the extension. Please check the server logs.",
         PRC_EXC_MODULE, 4},
        {"ERR Error unloading module: no such module with that name",
         PRC_EXC_MODULE, 4},
        {"MOVEDX 1 a:1", PRC_EXC_RESPONSE, 0},
        {"MASTERDOWN", PRC_EXC_RESPONSE, 0}, /* no prefix with its space */
        {"WRONGTYPE Operation against a key", PRC_EXC_RESPONSE, 0},
        {"", PRC_EXC_RESPONSE, 0},
    };
    size_t i, skip;
    int id, n = 0;

    for (id = 0; id < PRC_EXC_COUNT; id++) {
        const prc_exc_t *c = prc_exc_class(id);

        ASSERT_NOT_NULL(c);
        ASSERT_NOT_NULL(c->name);
        ASSERT_NOT_NULL(c->doc);
        /* Parents first; only the root has none. */
        ASSERT(id == PRC_EXC_REDIS ? c->parent == PRC_EXC_NONE
                                   : c->parent >= 0 && c->parent < id);
        /* A code raises its class, or the class's parent: MasterDownError
         * stands for a lost link (ECONNLOST), which raises ConnectionError. */
        if (c->code != 0) {
            ASSERT(prc_err_class(c->code) == id ||
                   prc_err_class(c->code) == c->parent);
            n += prc_err_class(c->code) == id;
        }
    }
    ASSERT_GE(n, 10);
    ASSERT_NULL(prc_exc_class(PRC_EXC_COUNT));
    ASSERT_NULL(prc_exc_class(PRC_EXC_NONE));
    ASSERT_STR_EQ(prc_exc_class(PRC_EXC_DATA)->builtin, "TypeError");
    /* Every code raises a class, but ENOMEM and EINTR. */
    for (i = 0; i < (size_t)NROWS; i++) {
        int cls = prc_err_class(rows[i].code);
        int none = rows[i].code == PRC_ENOMEM || rows[i].code == PRC_EINTR;
        ASSERT(none ? cls == PRC_EXC_NONE : cls >= 0 && cls < PRC_EXC_COUNT);
    }
    ASSERT_EQ(prc_err_class(PRC_ECERT), PRC_EXC_CONNECTION);
    ASSERT_EQ(prc_err_class(PRC_OK), PRC_EXC_NONE);
    ASSERT_EQ(prc_err_class(-1000), PRC_EXC_NONE);
    for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        const char *m = replies[i].msg;
        ASSERT_EQ(prc_error_reply_class(m, strlen(m), &skip), replies[i].cls);
        ASSERT_EQ(skip, replies[i].skip);
        ASSERT_EQ(prc_error_reply_class(m, strlen(m), NULL), replies[i].cls);
    }
    return TEST_OK;
}
