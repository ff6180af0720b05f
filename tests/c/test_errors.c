/* test_errors.c - error codes: every code has a name and a message. */
#include <limits.h>

#include "task.h"

typedef struct {
    int code;
    const char *name;
    const char *msg;
} err_row;

static const err_row rows[] = {
#define ROW(name, code, msg) {code, #name, msg},
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
