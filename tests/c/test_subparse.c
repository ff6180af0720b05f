/* test_subparse.c - replies pushed on a subscribed connection split into
 * messages (subparse.c), without a connection. */
#include <stdio.h>

#include "sub_int.h"
#include "task.h"

/* Parse the reply s (as a monitoring connection's with `monitor`): its
 * kind's name and elements, or "-1". */
static void
parsed_as(const char *s, int monitor, char *out, size_t cap)
{
    prc_sub_msg_t m;
    size_t n;
    int i;

    if ((monitor ? prc__sub_parse_monitor : prc__sub_parse_push)(s, strlen(s),
                                                                 &m) != 0) {
        snprintf(out, cap, "-1");
        return;
    }
    n = (size_t)snprintf(out, cap, "%s", prc_sub_kind_name(m.kind));
    for (i = 0; i < m.n && n < cap; i++) {
        int k = m.el[i].type == ':' ? snprintf(out + n, cap - n, " %lld",
                                               (long long)m.el[i].num)
                : m.el[i].p == NULL ? snprintf(out + n, cap - n, " (nil)")
                                    : snprintf(out + n, cap - n, " %.*s",
                                               (int)m.el[i].len, m.el[i].p);
        n += k > 0 ? (size_t)k : 0;
    }
}

static void
parsed(const char *s, char *out, size_t cap)
{
    parsed_as(s, 0, out, cap);
}

TEST_IMPL(subparse_push)
{
    static const char *const cases[][2] = {
        {"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n", "message a hi"},
        {"*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npa\r\n$0\r\n\r\n",
         "pmessage p* pa "},
        {"*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\ny\r\n", "smessage s y"},
        {"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n", "subscribe a 1"},
        {"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:-2\r\n", "unsubscribe (nil) -2"},
        {"*2\r\n$4\r\npong\r\n$1\r\nx\r\n", "pong x"},
        {"+PONG\r\n", "pong "},
        {"$2\r\nhi\r\n", "pong hi"},
        {"-NOPERM no\r\n", "error NOPERM no"},
        /* No pub/sub reply. */
        {"+OK\r\n", "-1"},
        {"+PANG\r\n", "-1"},
        {":1\r\n", "-1"},
        {"$-1\r\n", "-1"},
        {"x\r\n", "-1"},
        {"*0\r\n", "-1"},
        {"*5\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
         "-1"},
        {"*2\r\n:1\r\n$1\r\na\r\n", "-1"},
        {"*2\r\n$-1\r\n$1\r\na\r\n", "-1"},
        {"*3\r\n$7\r\nmessage\r\n*0\r\n$1\r\nb\r\n", "-1"},
        {"*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nb\r\n", "-1"},
        {"*2\r\n$7\r\nmessage\r\n$1\r\na\r\n", "-1"},
        {"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$1\r\n1\r\n", "-1"},
        {"*2\r\n$5\r\nerror\r\n$1\r\nb\r\n", "-1"},
        {"*3\r\n$5\r\nhello\r\n$1\r\na\r\n$1\r\nb\r\n", "-1"},
    };
    char t[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parsed(cases[i][0], t, sizeof(t));
        ASSERT_STR_EQ(t, cases[i][1]);
    }
    return TEST_OK;
}

TEST_IMPL(subparse_monitor)
{
    static const char *const cases[][2] = {
        {"+OK\r\n", "monitor OK"},
        {"+1.5 [0 127.0.0.1:5] \"GET\" \"k\"\r\n",
         "command 1.5 [0 127.0.0.1:5] \"GET\" \"k\""},
        {"+OKAY\r\n", "command OKAY"},
        /* What a subscribed connection parses stays the same. */
        {"+PONG\r\n", "pong "},
        {"-NOPERM no\r\n", "error NOPERM no"},
        {"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n", "message a hi"},
        {":1\r\n", "-1"},
        {"+\r\n", "command "},
    };
    char t[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parsed_as(cases[i][0], 1, t, sizeof(t));
        ASSERT_STR_EQ(t, cases[i][1]);
    }
    return TEST_OK;
}
