/* test_framer.c - the incremental RESP2 scanner: types, splits, limits. */
#include <stdlib.h>

#include "task.h"

#define BIG ((size_t)1 << 30)

/* One reply per entry; each is complete and exactly one reply. */
static const char *const corpus[] = {
    "+OK\r\n",
    "+\r\n",
    "-ERR wrong type\r\n",
    "-\r\n",
    ":0\r\n",
    ":-42\r\n",
    ":1000\r\n",
    "$0\r\n\r\n",
    "$5\r\nhello\r\n",
    "$4\r\na\r\nb\r\n", /* CRLF inside a payload is payload */
    "$-1\r\n",
    "*-1\r\n",
    "*0\r\n",
    "*3\r\n$3\r\nfoo\r\n:7\r\n*2\r\n+a\r\n$-1\r\n",
    "*2\r\n*0\r\n*-1\r\n",
    "*1\r\n*1\r\n*1\r\n:1\r\n",
    "*2\r\n$2\r\n\r\n\r\n-ERR x\r\n",
    /* Runs of bulk strings (MGET's shape), broken by a nil and an empty
     * one, and nested: the framer skips such runs in a tighter loop. */
    "*6\r\n$1\r\na\r\n$2\r\nbc\r\n$-1\r\n$0\r\n\r\n$10\r\n0123456789\r\n"
    "$3\r\ndef\r\n",
    "*2\r\n*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nw\r\n",
};
#define NCORPUS ((int)(sizeof(corpus) / sizeof(corpus[0])))

/* Scan a private, exactly sized copy so that ASan sees any over-read. */
static int
scan_copy(prc_framer_t *f, const char *buf, size_t len, int limit)
{
    char *tmp = malloc(len ? len : 1);
    int rc;

    memcpy(tmp, buf, len);
    rc = prc_framer_scan(f, tmp, len, limit);
    free(tmp);
    return rc;
}

static void
init_default(prc_framer_t *f)
{
    prc_framer_init(f, BIG, INT32_MAX, PRC_FRAMER_MAX_DEPTH);
}

TEST_IMPL(framer_each_type)
{
    prc_framer_t f;
    int i;

    for (i = 0; i < NCORPUS; i++) {
        size_t len = strlen(corpus[i]);
        init_default(&f);
        ASSERT(prc_framer_idle(&f));
        ASSERT_EQ(scan_copy(&f, corpus[i], len, 0), 1);
        ASSERT_EQ(f.pos, len);
        ASSERT(prc_framer_idle(&f));
        ASSERT_EQ(f.depth, 0);
        /* Nothing more to find. */
        ASSERT_EQ(scan_copy(&f, corpus[i], len, 0), 0);
        ASSERT_EQ(f.pos, len);
    }
    return TEST_OK;
}

/* The whole corpus as one stream, fed as a growing buffer one byte at a
 * time: after every byte the count of completed replies and the position
 * must be exactly right. */
TEST_IMPL(framer_byte_boundaries)
{
    char stream[1024];
    size_t ends[NCORPUS], len = 0, L;
    int i, total = 0;
    prc_framer_t f;

    for (i = 0; i < NCORPUS; i++) {
        size_t n = strlen(corpus[i]);
        memcpy(stream + len, corpus[i], n);
        len += n;
        ends[i] = len;
    }
    init_default(&f);
    for (L = 0; L <= len; L++) {
        int k = scan_copy(&f, stream, L, 0), expect = 0;

        ASSERT_GE(k, 0);
        total += k;
        for (i = 0; i < NCORPUS; i++) {
            expect += ends[i] <= L;
        }
        ASSERT_EQ(total, expect);
        ASSERT_LE(f.pos, L);
        if (total > 0) {
            ASSERT_GE(f.pos, ends[total - 1]);
        }
        if (total > 0 && ends[total - 1] == L) {
            /* A reply ends exactly here: everything is consumed. */
            ASSERT_EQ(f.pos, L);
            ASSERT(prc_framer_idle(&f));
        }
    }
    ASSERT_EQ(total, NCORPUS);
    ASSERT_EQ(f.pos, len);
    return TEST_OK;
}

/* The same stream split once at every offset. */
TEST_IMPL(framer_two_chunks)
{
    char stream[1024];
    size_t len = 0, k;
    int i;

    for (i = 0; i < NCORPUS; i++) {
        size_t n = strlen(corpus[i]);
        memcpy(stream + len, corpus[i], n);
        len += n;
    }
    for (k = 0; k <= len; k++) {
        prc_framer_t f;
        int a, b;

        init_default(&f);
        a = scan_copy(&f, stream, k, 0);
        ASSERT_GE(a, 0);
        b = scan_copy(&f, stream, len, 0);
        ASSERT_GE(b, 0);
        ASSERT_EQ(a + b, NCORPUS);
        ASSERT_EQ(f.pos, len);
        ASSERT(prc_framer_idle(&f));
    }
    return TEST_OK;
}

TEST_IMPL(framer_nested)
{
    static const char r[] = "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n+a\r\n";
    prc_framer_t f;

    init_default(&f);
    /* Stop inside the second level: two aggregates open. */
    ASSERT_EQ(scan_copy(&f, r, 12, 0), 0);
    ASSERT_EQ(f.depth, 2);
    ASSERT_EQ(f.left[0], 2);
    ASSERT_EQ(f.left[1], 1);
    ASSERT(!prc_framer_idle(&f));
    ASSERT_EQ(scan_copy(&f, r, 21, 0), 0);
    ASSERT_EQ(f.depth, 2);
    ASSERT_EQ(f.left[0], 1);
    ASSERT_EQ(f.left[1], 1);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 0), 1);
    ASSERT(prc_framer_idle(&f));
    ASSERT_EQ(f.pos, sizeof(r) - 1);
    return TEST_OK;
}

TEST_IMPL(framer_nil_and_empty)
{
    static const char r[] = "$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
                            "*4\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n";
    prc_framer_t f;

    init_default(&f);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 0), 5);
    ASSERT_EQ(f.pos, sizeof(r) - 1);
    ASSERT(prc_framer_idle(&f));
    return TEST_OK;
}

TEST_IMPL(framer_idle)
{
    prc_framer_t f;

    init_default(&f);
    ASSERT(prc_framer_idle(&f));
    ASSERT_EQ(scan_copy(&f, "*2\r\n", 4, 0), 0);
    ASSERT(!prc_framer_idle(&f));
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, "$5\r\nab", 6, 0), 0);
    ASSERT(!prc_framer_idle(&f));
    ASSERT_EQ(f.bulk_left, 3); /* the payload is skipped as it arrives */
    ASSERT_EQ(f.pos, 6);
    ASSERT_EQ(scan_copy(&f, "$5\r\nabcde\r", 10, 0), 0);
    ASSERT_EQ(f.bulk_left, 0);
    ASSERT_EQ(scan_copy(&f, "$5\r\nabcde\r\n", 11, 0), 1);
    ASSERT(prc_framer_idle(&f));
    /* A partial line is not consumed. */
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, "+PON", 4, 0), 0);
    ASSERT_EQ(f.pos, 0);
    ASSERT(prc_framer_idle(&f));
    return TEST_OK;
}

TEST_IMPL(framer_bulk_limit)
{
    prc_framer_t f;

    prc_framer_init(&f, 10, 100, 8);
    /* Exactly the limit: accepted. */
    ASSERT_EQ(scan_copy(&f, "$10\r\n", 5, 0), 0);
    ASSERT_EQ(scan_copy(&f, "$10\r\n0123456789\r\n", 17, 0), 1);
    /* One byte over: refused on the header, before any payload. */
    prc_framer_init(&f, 10, 100, 8);
    ASSERT_CODE(scan_copy(&f, "$11\r\n", 5, 0), PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "11 bytes");
    ASSERT_STR_CONTAINS(f.errstr, "max_reply_bytes");
    /* Inside an array too. */
    prc_framer_init(&f, 10, 100, 8);
    ASSERT_CODE(scan_copy(&f, "*2\r\n$1\r\na\r\n$11\r\n", 16, 0),
                PRC_EREPLYLIMIT);
    /* And in the middle of a run of bulk strings. */
    prc_framer_init(&f, 10, 100, 8);
    ASSERT_CODE(scan_copy(&f, "*3\r\n$1\r\na\r\n$11\r\n", 16, 0),
                PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "11 bytes");
    return TEST_OK;
}

TEST_IMPL(framer_bulk_limit_huge)
{
    prc_framer_t f;

    prc_framer_init(&f, 1024, 100, 8);
    ASSERT_CODE(scan_copy(&f, "$2147483648\r\n", 13, 0), PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "2147483648");
    prc_framer_init(&f, 1024, 100, 8);
    ASSERT_CODE(scan_copy(&f, "$4294967296\r\n", 13, 0), PRC_EREPLYLIMIT);
    prc_framer_init(&f, 1024, 100, 8);
    ASSERT_CODE(scan_copy(&f, "$999999999999999999\r\n", 21, 0),
                PRC_EREPLYLIMIT);
    /* Longer than int64 can hold: refused one way or the other. */
    prc_framer_init(&f, 1024, 100, 8);
    ASSERT_LT(scan_copy(&f, "$99999999999999999999999\r\n", 26, 0), 0);
    return TEST_OK;
}

TEST_IMPL(framer_array_limit)
{
    prc_framer_t f;

    prc_framer_init(&f, 1024, 4, 8);
    ASSERT_EQ(scan_copy(&f, "*4\r\n", 4, 0), 0);
    prc_framer_init(&f, 1024, 4, 8);
    ASSERT_CODE(scan_copy(&f, "*5\r\n", 4, 0), PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "5 elements");
    prc_framer_init(&f, 1024, 4, 8);
    ASSERT_CODE(scan_copy(&f, "*2\r\n*5\r\n", 8, 0), PRC_EREPLYLIMIT);
    prc_framer_init(&f, 1024, 4, 8);
    ASSERT_CODE(scan_copy(&f, "*2147483648\r\n", 13, 0), PRC_EREPLYLIMIT);
    /* Nil and empty arrays are always fine. */
    prc_framer_init(&f, 1024, 0, 8);
    ASSERT_EQ(scan_copy(&f, "*-1\r\n*0\r\n", 9, 0), 2);
    return TEST_OK;
}

TEST_IMPL(framer_depth_limit)
{
    prc_framer_t f;

    prc_framer_init(&f, 1024, 100, 3);
    ASSERT_EQ(f.max_depth, 3);
    ASSERT_EQ(scan_copy(&f, "*1\r\n*1\r\n*1\r\n:1\r\n", 16, 0), 1);
    /* An empty array at the limit opens nothing. */
    prc_framer_init(&f, 1024, 100, 3);
    ASSERT_EQ(scan_copy(&f, "*1\r\n*1\r\n*1\r\n*0\r\n", 16, 0), 1);
    prc_framer_init(&f, 1024, 100, 3);
    ASSERT_CODE(scan_copy(&f, "*1\r\n*1\r\n*1\r\n*1\r\n", 16, 0),
                PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "deeper than 3 levels");
    /* Out-of-range depth limits fall back to the framer's maximum. */
    prc_framer_init(&f, 1024, 100, 0);
    ASSERT_EQ(f.max_depth, PRC_FRAMER_MAX_DEPTH);
    prc_framer_init(&f, 1024, 100, -5);
    ASSERT_EQ(f.max_depth, PRC_FRAMER_MAX_DEPTH);
    prc_framer_init(&f, 1024, 100, PRC_FRAMER_MAX_DEPTH + 1);
    ASSERT_EQ(f.max_depth, PRC_FRAMER_MAX_DEPTH);
    return TEST_OK;
}

static char *
deep_reply(int depth, size_t *len)
{
    char *buf = malloc((size_t)depth * 4 + 5);
    int i;

    for (i = 0; i < depth; i++) {
        memcpy(buf + (size_t)i * 4, "*1\r\n", 4);
    }
    memcpy(buf + (size_t)depth * 4, ":1\r\n", 4);
    *len = (size_t)depth * 4 + 4;
    return buf;
}

TEST_IMPL(framer_deep_10000)
{
    prc_framer_t f;
    size_t len;
    char *buf;
    int rc;

    /* The maximum depth itself is accepted... */
    buf = deep_reply(PRC_FRAMER_MAX_DEPTH, &len);
    init_default(&f);
    rc = prc_framer_scan(&f, buf, len, 0);
    free(buf);
    ASSERT_EQ(rc, 1);
    /* ...one more is not... */
    buf = deep_reply(PRC_FRAMER_MAX_DEPTH + 1, &len);
    init_default(&f);
    rc = prc_framer_scan(&f, buf, len, 0);
    free(buf);
    ASSERT_CODE(rc, PRC_EREPLYLIMIT);
    /* ...and 10,000 levels end in a limit error, not a stack overflow. */
    buf = deep_reply(10000, &len);
    init_default(&f);
    rc = prc_framer_scan(&f, buf, len, 0);
    free(buf);
    ASSERT_CODE(rc, PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "nested deeper than 64 levels");
    ASSERT_LE(f.depth, PRC_FRAMER_MAX_DEPTH);
    return TEST_OK;
}

TEST_IMPL(framer_invalid_type)
{
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"?foo\r\n", "0x3f"}, {"\r\n", "0x0d"},     {"!x\r\n", "0x21"},
        {"%1\r\n", "0x25"}, /* RESP3 map: never requested, never valid */
        {"_\r\n", "0x5f"},    {"PONG\r\n", "0x50"}, {"*1\r\n#t\r\n", "0x23"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        prc_framer_t f;
        init_default(&f);
        ASSERT_CODE(scan_copy(&f, bad[i].in, strlen(bad[i].in), 0),
                    PRC_EPROTO);
        ASSERT_STR_CONTAINS(f.errstr, "invalid reply type byte");
        ASSERT_STR_CONTAINS(f.errstr, bad[i].msg);
    }
    return TEST_OK;
}

TEST_IMPL(framer_missing_crlf)
{
    prc_framer_t f;

    init_default(&f);
    ASSERT_CODE(scan_copy(&f, "+OK\n", 4, 0), PRC_EPROTO);
    ASSERT_STR_CONTAINS(f.errstr, "CRLF");
    init_default(&f);
    ASSERT_CODE(scan_copy(&f, "\n", 1, 0), PRC_EPROTO);
    init_default(&f);
    ASSERT_CODE(scan_copy(&f, ":1\n", 3, 0), PRC_EPROTO);
    init_default(&f);
    ASSERT_CODE(scan_copy(&f, "$3\r\nfooXY", 9, 0), PRC_EPROTO);
    ASSERT_STR_CONTAINS(f.errstr, "bulk string not followed by CRLF");
    init_default(&f);
    ASSERT_CODE(scan_copy(&f, "$3\r\nfoo\rX", 9, 0), PRC_EPROTO);
    init_default(&f);
    ASSERT_CODE(scan_copy(&f, "$3\r\nfoo\n\r", 9, 0), PRC_EPROTO);
    /* In the middle of a run of bulk strings inside an array. */
    init_default(&f);
    ASSERT_CODE(scan_copy(&f, "*3\r\n$1\r\naXY$1\r\nb\r\n$1\r\nc\r\n", 25, 0),
                PRC_EPROTO);
    ASSERT_STR_CONTAINS(f.errstr, "bulk string not followed by CRLF");
    /* A CR alone may still be followed by its LF: wait. */
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, "$3\r\nfoo\r", 8, 0), 0);
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, "+OK\r", 4, 0), 0);
    return TEST_OK;
}

TEST_IMPL(framer_bad_integers)
{
    static const char *const bad[] = {
        ":abc\r\n", ":\r\n",     ":-\r\n",  ":1.5\r\n", ": 1\r\n",  ":1 \r\n",
        ":+1\r\n",  ":0x10\r\n", "$-2\r\n", "$abc\r\n", "$\r\n",    "$-\r\n",
        "$1a\r\n",  "*-2\r\n",   "*x\r\n",  "*\r\n",    "*1.0\r\n", "$ 3\r\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        prc_framer_t f;
        int rc;

        init_default(&f);
        rc = scan_copy(&f, bad[i], strlen(bad[i]), 0);
        if (rc != PRC_EPROTO) {
            test__fail(__FILE__, __LINE__, "input %zu: \"%s\"", i, bad[i]);
        }
        ASSERT_CODE(rc, PRC_EPROTO);
        ASSERT_STR_CONTAINS(f.errstr, "invalid");
    }
    return TEST_OK;
}

/* A bad bulk header or body in the middle of a run of bulk strings (the
 * run's own fast path) is refused as it is alone, and a good one of any
 * length shape in the same place is skipped. */
TEST_IMPL(framer_bad_in_run)
{
    static const char *const bad[] = {
        "$-2\r\n",
        "$abc\r\n",
        "$\r\n",
        "$-\r\n",
        "$1a\r\n",
        "$ 3\r\n",
        "$-10\r\n",
        "$-1\n\r\n",
        "$1\r\nxY",
        "$2\r\nxyZ",
        "$12\r\n0123456789ab\n\r",
        "$1\n\r\nx\r\n",
        "$12\rx0123456789ab\r\n",
    };
    static const char *const good[] = {
        "$0\r\n\r\n",
        "$-1\r\n",
        "$1\r\n\r\r\n",
        "$07\r\n0123456\r\n",
        "$12\r\n0123456789ab\r\n",
        "$123\r\n",
    };
    char buf[512];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        prc_framer_t f;
        int n = snprintf(buf, sizeof(buf), "*3\r\n$1\r\na\r\n%s$1\r\nc\r\n",
                         bad[i]);
        int rc;

        init_default(&f);
        rc = scan_copy(&f, buf, (size_t)n, 0);
        if (rc != PRC_EPROTO) {
            test__fail(__FILE__, __LINE__, "input %zu: \"%s\"", i, bad[i]);
        }
        ASSERT_CODE(rc, PRC_EPROTO);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        prc_framer_t f;
        int n;

        if (strcmp(good[i], "$123\r\n") == 0) {
            char body[124];
            memset(body, 'x', 123);
            body[123] = '\0';
            n = snprintf(buf, sizeof(buf),
                         "*3\r\n$1\r\na\r\n$123\r\n%s\r\n$1\r\nc\r\n", body);
        } else {
            n = snprintf(buf, sizeof(buf), "*3\r\n$1\r\na\r\n%s$1\r\nc\r\n",
                         good[i]);
        }
        init_default(&f);
        if (scan_copy(&f, buf, (size_t)n, 0) != 1) {
            test__fail(__FILE__, __LINE__, "input %zu: \"%s\"", i, good[i]);
            return TEST_FAILED;
        }
        ASSERT_EQ((int)f.pos, n);
        ASSERT(prc_framer_idle(&f));
    }
    return TEST_OK;
}

TEST_IMPL(framer_int64_extremes)
{
    static const char *const good[] = {
        ":999999999999999999\r\n", /* 18 digits */
        ":-999999999999999999\r\n",
        ":1234567890123456789\r\n",  /* 19 digits: INCR can reach these */
        ":9223372036854775807\r\n",  /* INT64_MAX */
        ":-9223372036854775808\r\n", /* INT64_MIN */
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        prc_framer_t f;
        int rc;

        init_default(&f);
        rc = scan_copy(&f, good[i], strlen(good[i]), 0);
        ASSERT_EQ(rc, 1);
    }
    return TEST_OK;
}

TEST_IMPL(framer_int_beyond_64_bits)
{
    static const char *const big[] = {
        ":9223372036854775808\r\n",  /* INT64_MAX + 1 */
        ":-9223372036854775809\r\n", /* INT64_MIN - 1 */
        ":9999999999999999999\r\n",  /* 19 digits */
        ":99999999999999999999\r\n", /* 20 digits */
        ":-123456789012345678901234567890\r\n",
        "*2\r\n:1\r\n:18446744073709551616\r\n", /* 2**64, nested */
    };
    size_t i;

    for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        prc_framer_t f;
        int rc;

        init_default(&f);
        rc = scan_copy(&f, big[i], strlen(big[i]), 0);
        if (rc != PRC_EPROTO) {
            test__fail(__FILE__, __LINE__, "input %zu: \"%s\"", i, big[i]);
        }
        ASSERT_CODE(rc, PRC_EPROTO);
        ASSERT_STR_EQ(f.errstr, "integer reply beyond 64 bits");
    }
    return TEST_OK;
}

TEST_IMPL(framer_long_line)
{
    size_t n = 64 * 1024 + 2;
    char *buf = malloc(n + 2);
    prc_framer_t f;
    int rc1, rc2, rc3, rc4, rc5;

    memset(buf, 'a', n + 2);
    buf[0] = '+';
    /* 64 KiB pending without a newline: still waiting... */
    init_default(&f);
    rc1 = prc_framer_scan(&f, buf, 64 * 1024, 0);
    /* ...beyond that: refused, so a server cannot make us buffer
     * without bound. */
    init_default(&f);
    rc2 = prc_framer_scan(&f, buf, n, 0);
    if (rc2 != PRC_EPROTO || strstr(f.errstr, "longer than") == NULL) {
        free(buf);
        ASSERT_CODE(rc2, PRC_EPROTO);
        ASSERT_STR_CONTAINS(f.errstr, "longer than");
    }
    /* A long line that does end is fine. */
    buf[n] = '\r';
    buf[n + 1] = '\n';
    init_default(&f);
    rc3 = prc_framer_scan(&f, buf, n + 2, 0);
    /* An owner that raised max_line (a monitoring subscriber) waits past
     * 64 KiB, and is refused past its own limit. */
    init_default(&f);
    f.max_line = n + 10;
    rc4 = prc_framer_scan(&f, buf, n, 0);
    f.max_line = n - 10;
    rc5 = prc_framer_scan(&f, buf, n, 0);
    free(buf);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc3, 1);
    ASSERT_EQ(rc4, 0);
    ASSERT_CODE(rc5, PRC_EPROTO);
    return TEST_OK;
}

TEST_IMPL(framer_limit_argument)
{
    static const char r[] = "+A\r\n+B\r\n*2\r\n:1\r\n:2\r\n";
    prc_framer_t f;

    init_default(&f);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 2), 2);
    ASSERT_EQ(f.pos, 8); /* stops right after the second reply */
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 1), 1);
    ASSERT_EQ(f.pos, sizeof(r) - 1);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 1), 0);
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 1), 1);
    ASSERT_EQ(f.pos, 4);
    /* limit <= 0: no limit. */
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, 0), 3);
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, r, sizeof(r) - 1, -1), 3);
    /* A limit above what is there returns what is there. */
    init_default(&f);
    ASSERT_EQ(scan_copy(&f, r, 10, 5), 2);
    ASSERT_EQ(f.pos, 8);
    return TEST_OK;
}

TEST_IMPL(framer_max_reply_per_reply)
{
    /* Two 13-byte replies: each is held to max_reply, their total is not. */
    static const char two[] = "*1\r\n$3\r\nabc\r\n*1\r\n$3\r\nxyz\r\n";
    static const char big[] = "*3\r\n$3\r\nabc\r\n$3\r\ndef\r\n";
    prc_framer_t f;

    init_default(&f);
    f.max_reply = 13;
    ASSERT_EQ(scan_copy(&f, two, sizeof(two) - 1, 0), 2);
    init_default(&f);
    f.max_reply = 12;
    ASSERT_CODE(scan_copy(&f, two, sizeof(two) - 1, 0), PRC_EREPLYLIMIT);
    ASSERT_STR_CONTAINS(f.errstr, "max_reply_bytes");
    /* A reply still arriving (22 of its bytes here) is refused as soon as
     * it is too large. */
    init_default(&f);
    f.max_reply = 20;
    ASSERT_CODE(scan_copy(&f, big, sizeof(big) - 1, 0), PRC_EREPLYLIMIT);
    init_default(&f);
    f.max_reply = 0; /* no limit */
    ASSERT_EQ(scan_copy(&f, big, 18, 0), 0);
    ASSERT(!prc_framer_idle(&f));
    return TEST_OK;
}

/* prc_reply_at: one framed reply, read: its type, its text or payload,
 * an array's first element, where it ends; incomplete or bad bytes. */
TEST_IMPL(framer_reply_at)
{
    static const char buf[] = "+OK\r\n-ERR no\r\n:-7\r\n$3\r\na\rb\r\n$-1\r\n"
                              "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*-1\r\n+a\rb\r\n";
    const size_t len = sizeof(buf) - 1;
    prc_reply_t r, e;
    size_t pos = 0;

    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, '+');
    ASSERT_MEM_EQ(r.text, r.len, "OK");
    ASSERT_EQ(r.end, 5);
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, '-');
    ASSERT_MEM_EQ(r.text, r.len, "ERR no");
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, ':');
    ASSERT_MEM_EQ(r.text, r.len, "-7");
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, '$');
    ASSERT_EQ(r.n, 3);
    ASSERT_MEM_EQ(r.text, r.len, "a\rb"); /* a payload may hold a CR */
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, '$');
    ASSERT_EQ(r.n, -1);
    ASSERT_NULL(r.text);
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, '*');
    ASSERT_EQ(r.n, 2);
    ASSERT_NULL(r.text);
    ASSERT_EQ(prc_reply_at(buf, r.end, r.body, &e), 1);
    ASSERT_MEM_EQ(e.text, e.len, "GET");
    ASSERT_EQ(prc_reply_at(buf, r.end, e.end, &e), 1);
    ASSERT_MEM_EQ(e.text, e.len, "k");
    ASSERT_EQ(e.end, r.end);
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_EQ(r.type, '*');
    ASSERT_EQ(r.n, -1);
    pos = r.end;
    ASSERT_EQ(prc_reply_at(buf, len, pos, &r), 1);
    ASSERT_MEM_EQ(r.text, r.len, "a\rb"); /* so may a simple string */
    ASSERT_EQ(r.end, len);
    /* Incomplete, nothing left, not RESP. */
    ASSERT_EQ(prc_reply_at(buf, 3, 0, &r), 0);
    ASSERT_EQ(prc_reply_at(buf, len, len, &r), 0);
    ASSERT_EQ(prc_reply_at("*2\r\n$1\r\nx\r\n", 11, 0, &r), 0);
    ASSERT_CODE(prc_reply_at("?x\r\n", 4, 0, &r), PRC_EPROTO);
    ASSERT_CODE(prc_reply_at("+OK\n", 4, 0, &r), PRC_EPROTO);
    return TEST_OK;
}
