/* test_writer.c - the RESP writer (writer.c): commands, sizes, buffers. */
#include <hiredis.h>
#include <stdlib.h>

#include "prc_int.h"
#include "task.h"

/* Encode argv with the writer into a fresh heap buffer; *len its size. */
static char *
encode(int argc, const char *const *argv, const size_t *lens, size_t *len)
{
    size_t n = prc_resp_command_len(argc, lens);
    char *buf = malloc(n + 1), *end;

    if (buf == NULL) {
        return NULL;
    }
    end = prc_resp_write_command(buf, argc, argv, lens);
    *len = (size_t)(end - buf);
    return buf;
}

/* The writer's bytes for argv equal `want`, and its size is exact. */
static int
check_encoding(int argc, const char *const *argv, const size_t *lens,
               const char *want)
{
    size_t len = 0;
    char *got = encode(argc, argv, lens, &len);
    int rc = TEST_FAILED;

    ASSERT_NOT_NULL(got);
    if (len == prc_resp_command_len(argc, lens) && len == strlen(want) &&
        memcmp(got, want, len) == 0) {
        rc = TEST_OK;
    } else {
        char esc[256];
        test__fail(__FILE__, __LINE__, "encoded \"%s\" [%zu]",
                   test__escape(got, len, esc, sizeof(esc)), len);
    }
    free(got);
    return rc;
}

TEST_IMPL(writer_integers)
{
    static const int64_t values[] = {0,
                                     1,
                                     9,
                                     10,
                                     99,
                                     100,
                                     101,
                                     999,
                                     1000,
                                     9999,
                                     10000,
                                     12345,
                                     99999,
                                     100000,
                                     2147483647,
                                     2147483648LL,
                                     -1,
                                     -10,
                                     -99,
                                     -100,
                                     INT64_MAX,
                                     INT64_MIN,
                                     INT64_MAX - 1,
                                     INT64_MIN + 1};
    char got[32], want[32];
    size_t i, n;
    uint64_t u;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        n = prc_fmt_i64(got, values[i]);
        got[n] = '\0';
        snprintf(want, sizeof(want), "%" PRId64, values[i]);
        ASSERT_STR_EQ(got, want);
    }
    /* Every power of ten and its neighbours, unsigned, up to the top. */
    for (u = 1;; u *= 10) {
        uint64_t probe[3] = {u - 1, u, u + 1};
        for (i = 0; i < 3; i++) {
            n = prc_fmt_u64(got, probe[i]);
            got[n] = '\0';
            snprintf(want, sizeof(want), "%" PRIu64, probe[i]);
            ASSERT_STR_EQ(got, want);
        }
        if (u > UINT64_MAX / 10) {
            break;
        }
    }
    n = prc_fmt_u64(got, UINT64_MAX);
    ASSERT_MEM_EQ(got, n, "18446744073709551615");
    return TEST_OK;
}

TEST_IMPL(writer_commands)
{
    const char *get[] = {"GET", "k"};
    size_t get_len[] = {3, 1};
    const char *empty[] = {"SET", "", ""};
    size_t empty_len[] = {3, 0, 0};
    const char *nulls[] = {"SET", NULL};
    size_t nulls_len[] = {3, 0};
    const char *bin[] = {"SET", "a\r\nb", "\0\r\0"};
    size_t bin_len[] = {3, 4, 3};
    const char *one[] = {"PING"};
    size_t one_len[] = {4};
    const char *many[100];
    size_t many_len[100];
    char want[4096], *p = want;
    int i;

    CHECK(check_encoding(2, get, get_len, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"));
    CHECK(check_encoding(1, one, one_len, "*1\r\n$4\r\nPING\r\n"));
    /* Empty arguments, and an empty one given as NULL. */
    CHECK(check_encoding(3, empty, empty_len,
                         "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n"));
    CHECK(
        check_encoding(2, nulls, nulls_len, "*2\r\n$3\r\nSET\r\n$0\r\n\r\n"));
    /* No argument at all: an empty array (the binding never sends one). */
    CHECK(check_encoding(0, NULL, NULL, "*0\r\n"));
    /* Binary: CRLF and NUL bytes inside arguments are copied as they are;
     * compared by hand, since strlen stops at the NUL. */
    {
        static const char want_bin[] = "*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n"
                                       "$3\r\n\0\r\0\r\n";
        size_t len = 0;
        char *got = encode(3, bin, bin_len, &len);
        ASSERT_NOT_NULL(got);
        ASSERT_EQ(len, sizeof(want_bin) - 1);
        ASSERT(memcmp(got, want_bin, len) == 0);
        free(got);
    }
    /* Three-digit argument counts and two-digit lengths. */
    p += sprintf(p, "*100\r\n");
    for (i = 0; i < 100; i++) {
        many[i] = "0123456789abcdef";
        many_len[i] = (size_t)(i % 17);
        p += sprintf(p, "$%d\r\n%.*s\r\n", i % 17, i % 17, many[i]);
    }
    CHECK(check_encoding(100, many, many_len, want));
    return TEST_OK;
}

/* Sizes at and beyond the 2 GiB limit, computed from lengths alone: no
 * argument is read, so none needs to exist. */
TEST_IMPL(writer_huge_lengths)
{
    size_t lens[4];
    prc_wbuf_t wb;
    const char *argv[4] = {"SET", "k", "", ""};
    size_t fixed;

    /* "*3\r\n" "$3\r\nSET\r\n" "$1\r\nk\r\n": the fixed part of a SET. */
    fixed = 4 + 9 + 7;
    lens[0] = 3;
    lens[1] = 1;
    /* The largest value that fits: header "$<10 digits>\r\n" + CRLF. */
    lens[2] = PRC_MAX_COMMAND - 1 - fixed - 15;
    ASSERT_UINT64_EQ(prc_resp_command_len(3, lens), PRC_MAX_COMMAND - 1);
    lens[2]++;
    ASSERT_UINT64_EQ(prc_resp_command_len(3, lens), PRC_MAX_COMMAND);
    lens[2] = SIZE_MAX;
    ASSERT_UINT64_EQ(prc_resp_command_len(3, lens), PRC_MAX_COMMAND);
    lens[2] = PRC_MAX_COMMAND;
    ASSERT_UINT64_EQ(prc_resp_command_len(3, lens), PRC_MAX_COMMAND);
    /* Many arguments that reach the limit only together (no overflow). */
    lens[2] = (size_t)1 << 30;
    lens[3] = (size_t)1 << 30;
    ASSERT_UINT64_EQ(prc_resp_command_len(4, lens), PRC_MAX_COMMAND);
    lens[3] = SIZE_MAX - 1;
    ASSERT_UINT64_EQ(prc_resp_command_len(4, lens), PRC_MAX_COMMAND);
    /* Refused before anything is allocated or read. */
    prc_wbuf_init(&wb, NULL, 0);
    if (failalloc_available()) {
        failalloc_arm(1000000);
    }
    ASSERT_CODE(prc_wbuf_append_command(&wb, 4, argv, lens), PRC_ETOOBIG);
    if (failalloc_available()) {
        ASSERT_EQ(failalloc_count(), 0);
        failalloc_arm(0);
    }
    ASSERT_NULL(wb.buf);
    ASSERT_EQ(wb.len, 0);
    ASSERT_CODE(prc_wbuf_append_command(&wb, 0, argv, lens), PRC_EINVAL);
    /* A reservation whose size overflows. */
    ASSERT_CODE(prc_wbuf_append(&wb, "x", 1), 0);
    ASSERT_CODE(prc_wbuf_reserve(&wb, SIZE_MAX), PRC_ETOOBIG);
    ASSERT_EQ(wb.len, 1);
    prc_wbuf_free(&wb);
    return TEST_OK;
}

/* xorshift64*: the same commands on every run. */
static uint64_t
next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/*
 * Differential: random commands (argument counts 1-40, lengths mostly
 * small, an eighth empty, one in 32 of up to 70,000 bytes, random bytes
 * including CR, LF and NUL) encode to exactly the bytes of hiredis's
 * formatter, alone and appended one after another into one buffer.
 */
TEST_IMPL(writer_matches_hiredis)
{
    enum { COMMANDS = 2000, MAX_ARGS = 40, POOL = 1 << 17 };
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char *pool = malloc(POOL), *all = NULL;
    size_t all_len = 0, all_cap = 0;
    prc_wbuf_t wb;
    int c, i;

    ASSERT_NOT_NULL(pool);
    for (i = 0; i < POOL; i++) {
        uint64_t r = next_random(&seed);
        /* Half the bytes from "\r\n\0$*", to probe framing characters. */
        pool[i] = (r & 1) ? "\r\n\0$*"[(r >> 8) % 5] : (char)(r >> 16);
    }
    prc_wbuf_init(&wb, NULL, 0);
    for (c = 0; c < COMMANDS; c++) {
        const char *argv[MAX_ARGS];
        size_t lens[MAX_ARGS], mine_len = 0;
        int argc = 1 + (int)(next_random(&seed) % MAX_ARGS);
        char *theirs = NULL, *mine, *grown;
        int n;

        for (i = 0; i < argc; i++) {
            uint64_t r = next_random(&seed);
            size_t len;
            switch (r % 32) {
            case 0:
            case 1:
            case 2:
            case 3:
                len = 0;
                break;
            case 4:
                len = (size_t)((r >> 8) % 70000); /* multi-digit lengths */
                break;
            default:
                len = (size_t)((r >> 8) % 40);
            }
            lens[i] = len;
            argv[i] = pool + (size_t)((r >> 32) % (uint64_t)(POOL - len));
        }
        n = redisFormatCommandArgv(&theirs, argc, argv, lens);
        ASSERT_GT(n, 0);
        mine = encode(argc, argv, lens, &mine_len);
        ASSERT_NOT_NULL(mine);
        ASSERT_UINT64_EQ(mine_len, (size_t)n);
        ASSERT(memcmp(mine, theirs, mine_len) == 0);
        ASSERT_CODE(prc_wbuf_append_command(&wb, argc, argv, lens), 0);
        if (all_len + (size_t)n > all_cap) {
            all_cap = 2 * (all_len + (size_t)n);
            grown = realloc(all, all_cap);
            ASSERT_NOT_NULL(grown);
            all = grown;
        }
        memcpy(all + all_len, theirs, (size_t)n);
        all_len += (size_t)n;
        free(mine);
        redisFreeCommand(theirs);
    }
    ASSERT_UINT64_EQ(wb.len, all_len);
    ASSERT(memcmp(wb.buf, all, all_len) == 0);
    prc_wbuf_free(&wb);
    free(all);
    free(pool);
    return TEST_OK;
}

/* SET key value, the command the buffer tests append, and its bytes. */
static const char *const set_argv[] = {"SET", "key", "value"};
static const size_t set_lens[] = {3, 3, 5};
static const char set_cmd[] =
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";

/* A buffer that starts on the caller's storage, outgrows it into the
 * heap, drops a sent prefix, shrinks and is freed. */
TEST_IMPL(writer_buffer_growth)
{
    const size_t n1 = sizeof(set_cmd) - 1;
    char storage[64];
    prc_wbuf_t wb;
    size_t i;

    prc_wbuf_init(&wb, storage, sizeof(storage));
    ASSERT_PTR_EQ(wb.buf, storage);
    ASSERT_EQ(wb.cap, sizeof(storage));
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    ASSERT_PTR_EQ(wb.buf, storage); /* fits: no allocation */
    ASSERT(!wb.owned);
    ASSERT_MEM_EQ(wb.buf, wb.len, set_cmd);
    /* The second command does not fit: both move to the heap. */
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    ASSERT(wb.owned);
    ASSERT_PTR_NE(wb.buf, storage);
    ASSERT_EQ(wb.len, 2 * n1);
    ASSERT(memcmp(wb.buf, set_cmd, n1) == 0 &&
           memcmp(wb.buf + n1, set_cmd, n1) == 0);
    /* Many more: capacity doubles, so it grows O(log n) times. */
    for (i = 0; i < 1000; i++) {
        ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    }
    ASSERT_EQ(wb.len, 1002 * n1);
    ASSERT_LT(wb.cap, 4 * wb.len);
    for (i = 0; i < 1002; i++) {
        ASSERT(memcmp(wb.buf + i * n1, set_cmd, n1) == 0);
    }
    /* A writer that sent 1.5 commands drops them; the rest moves up. */
    prc_wbuf_consume(&wb, n1 + n1 / 2);
    ASSERT_EQ(wb.len, 1000 * n1 + (n1 - n1 / 2));
    ASSERT(memcmp(wb.buf, set_cmd + n1 / 2, n1 - n1 / 2) == 0);
    ASSERT(memcmp(wb.buf + (n1 - n1 / 2), set_cmd, n1) == 0);
    prc_wbuf_consume(&wb, SIZE_MAX);
    ASSERT_EQ(wb.len, 0);
    /* Raw appends, including nothing. */
    ASSERT_CODE(prc_wbuf_append(&wb, "", 0), 0);
    ASSERT_CODE(prc_wbuf_append(&wb, set_cmd, n1), 0);
    ASSERT_MEM_EQ(wb.buf, wb.len, set_cmd);
    /* shrink keeps a block up to `keep` for reuse, frees a larger set_cmd. */
    prc_wbuf_shrink(&wb, wb.cap);
    ASSERT_EQ(wb.len, 0);
    ASSERT_NOT_NULL(wb.buf);
    prc_wbuf_shrink(&wb, wb.cap - 1);
    ASSERT_NULL(wb.buf);
    ASSERT_EQ(wb.cap, 0);
    ASSERT(!wb.owned);
    /* Starting with no storage at all; free twice. */
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    ASSERT_MEM_EQ(wb.buf, wb.len, set_cmd);
    prc_wbuf_free(&wb);
    prc_wbuf_free(&wb);
    ASSERT_NULL(wb.buf);
    /* A caller's buffer is never freed, and shrink keeps it. */
    prc_wbuf_init(&wb, storage, sizeof(storage));
    ASSERT_CODE(prc_wbuf_append(&wb, "abc", 3), 0);
    prc_wbuf_shrink(&wb, 0);
    ASSERT_PTR_EQ(wb.buf, storage);
    ASSERT_EQ(wb.len, 0);
    prc_wbuf_free(&wb); /* would crash under ASan if it freed storage */
    return TEST_OK;
}

/* Every allocation the buffer makes can fail: PRC_ENOMEM, and what was
 * written before is intact. */
TEST_IMPL(writer_alloc_failure)
{
    const size_t n1 = sizeof(set_cmd) - 1;
    char storage[48];
    prc_wbuf_t wb;
    size_t i, before;

    if (!failalloc_available()) {
        SKIP("built without -Wl,--wrap=malloc (see tests/c/Makefile)");
    }
    /* The first allocation, from no storage. */
    prc_wbuf_init(&wb, NULL, 0);
    failalloc_arm(1);
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens),
                PRC_ENOMEM);
    ASSERT(failalloc_fired());
    failalloc_arm(0);
    ASSERT_NULL(wb.buf);
    ASSERT_EQ(wb.len, 0);
    /* Leaving the caller's storage. */
    prc_wbuf_init(&wb, storage, sizeof(storage));
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    failalloc_arm(1);
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens),
                PRC_ENOMEM);
    ASSERT(failalloc_fired());
    failalloc_arm(0);
    ASSERT_PTR_EQ(wb.buf, storage);
    ASSERT_MEM_EQ(wb.buf, wb.len, set_cmd);
    ASSERT_CODE(prc_wbuf_append(&wb, "x", 1), 0); /* still room: no alloc */
    /* Growing a heap block (realloc), at each of the next few growths. */
    ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    ASSERT(wb.owned);
    for (i = 0; i < 8; i++) {
        before = wb.len;
        while (wb.len + n1 <= wb.cap) {
            ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens),
                        0);
        }
        failalloc_arm(1);
        ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens),
                    PRC_ENOMEM);
        ASSERT(failalloc_fired());
        failalloc_arm(1);
        ASSERT_CODE(prc_wbuf_reserve(&wb, wb.cap - wb.len + 1), PRC_ENOMEM);
        ASSERT(failalloc_fired());
        failalloc_arm(0);
        ASSERT_GE(wb.len, before);
        ASSERT(memcmp(wb.buf, set_cmd, n1) == 0);
        ASSERT_CODE(prc_wbuf_append_command(&wb, 3, set_argv, set_lens), 0);
    }
    ASSERT(memcmp(wb.buf + wb.len - n1, set_cmd, n1) == 0);
    prc_wbuf_free(&wb);
    return TEST_OK;
}

/* The setup commands a connection config sends first are the writer's:
 * AUTH user password, SELECT db, CLIENT SETNAME, back to back, each
 * equal to hiredis's encoding. */
TEST_IMPL(writer_handshake)
{
    static const char want[] =
        "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$6\r\nse\r\nt!\r\n"
        "*2\r\n$6\r\nSELECT\r\n$2\r\n15\r\n"
        "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\napp\r\n";
    prc_opts_t o;
    prc_conn_cfg_t cfg;
    char err[128];

    prc_opts_init(&o);
    o.username = "user";
    o.password = "se\r\nt!";
    o.db = 15;
    o.client_name = "app";
    ASSERT_CODE(prc__conn_cfg_init(&cfg, &o, err, sizeof(err)), 0);
    ASSERT_EQ(cfg.handshake_n, 3);
    ASSERT_MEM_EQ(cfg.handshake, cfg.handshake_len, want);
    prc__conn_cfg_free(&cfg);
    /* Password only, negative db never happens (validated above): the
     * smallest handshake, and none at all. */
    prc_opts_init(&o);
    o.password = "p";
    ASSERT_CODE(prc__conn_cfg_init(&cfg, &o, err, sizeof(err)), 0);
    ASSERT_EQ(cfg.handshake_n, 1);
    ASSERT_MEM_EQ(cfg.handshake, cfg.handshake_len,
                  "*2\r\n$4\r\nAUTH\r\n$1\r\np\r\n");
    prc__conn_cfg_free(&cfg);
    prc_opts_init(&o);
    ASSERT_CODE(prc__conn_cfg_init(&cfg, &o, err, sizeof(err)), 0);
    ASSERT_EQ(cfg.handshake_n, 0);
    ASSERT_NULL(cfg.handshake);
    prc__conn_cfg_free(&cfg);
    return TEST_OK;
}
