/* test_slot.c - cluster hash slots: CRC16, hash tags, a command's slot. */
#include <stdio.h>

#include "task.h"

#define SLOT(s) prc_key_slot((s), strlen(s))

TEST_IMPL(slot_crc16_and_tags)
{
    /* The check value of CRC16/XMODEM, and the cluster spec's examples. */
    ASSERT_EQ(prc_crc16("123456789", 9), 0x31c3);
    ASSERT_EQ(prc_crc16("", 0), 0);
    ASSERT_EQ(SLOT(""), 0);
    ASSERT_EQ(SLOT("foo"), 12182);
    ASSERT_EQ(SLOT("bar"), 5061);
    ASSERT_EQ(SLOT("{user1000}.following"), SLOT("user1000"));
    ASSERT_EQ(SLOT("{user1000}.followers"), SLOT("user1000"));
    ASSERT_EQ(SLOT("foo{bar}{zap}"), SLOT("bar"));
    ASSERT_EQ(SLOT("foo{{bar}}zap"), SLOT("{bar"));
    /* An empty tag, or no closing brace: the whole key. */
    ASSERT_EQ(SLOT("foo{}{bar}"), prc_crc16("foo{}{bar}", 10) & 16383);
    ASSERT_EQ(SLOT("foo{bar"), prc_crc16("foo{bar", 7) & 16383);
    ASSERT_EQ(SLOT("}{x}"), SLOT("x"));
    /* Binary keys: NUL bytes and high bytes count like any other. */
    ASSERT_EQ(prc_key_slot("a\0b", 3), prc_crc16("a\0b", 3) & 16383);
    ASSERT_NE(prc_key_slot("a\0b", 3), SLOT("a"));
    ASSERT_EQ(prc_key_slot("{\xff}z", 4), prc_key_slot("\xff", 1));
    return TEST_OK;
}

/* The slot of a NULL-terminated argv. */
static int
cmd_slot_of(const char *const *argv, const char **why)
{
    size_t lens[64];
    int argc = 0;
    const prc_cmd_t *cmd;

    while (argv[argc] != NULL) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    cmd = prc_cmd_lookup(argc, argv, lens);
    if (cmd == NULL) {
        return -999;
    }
    return prc_cmd_slot(cmd, argc, argv, lens, why);
}

#define CMD_SLOT(...)                                                         \
    cmd_slot_of((const char *const[]){__VA_ARGS__, NULL}, &why)

TEST_IMPL(slot_of_commands)
{
    const char *why = NULL;
    const char *many[40];
    char names[36][16];
    int i;

    ASSERT_EQ(CMD_SLOT("GET", "foo"), 12182);
    ASSERT_EQ(CMD_SLOT("PING"), PRC_SLOT_NONE);
    ASSERT_EQ(CMD_SLOT("MGET", "{t}a", "{t}b", "t"), SLOT("t"));
    ASSERT_EQ(CMD_SLOT("MGET", "foo", "bar"), PRC_SLOT_CROSS);
    ASSERT_EQ(CMD_SLOT("MSET", "{t}a", "1", "{t}b", "2"), SLOT("t"));
    ASSERT_EQ(CMD_SLOT("EVAL", "return 1", "0"), PRC_SLOT_NONE);
    ASSERT_EQ(CMD_SLOT("EVAL", "s", "2", "{u}1", "{u}2", "arg"), SLOT("u"));
    /* A shard channel is a not_key spec, and routes too. */
    ASSERT_EQ(CMD_SLOT("SPUBLISH", "chan", "msg"), SLOT("chan"));
    ASSERT_EQ(CMD_SLOT("EVAL", "s", "x"), PRC_EINVAL);
    ASSERT_NOT_NULL(why);
    /* More keys than the stack holds: the allocated path. */
    many[0] = "DEL";
    for (i = 0; i < 36; i++) {
        snprintf(names[i], sizeof(names[i]), "{k}%d", i);
        many[i + 1] = names[i];
    }
    many[37] = NULL;
    ASSERT_EQ(cmd_slot_of(many, &why), SLOT("k"));
    many[36] = "other";
    ASSERT_EQ(cmd_slot_of(many, &why), PRC_SLOT_CROSS);
    if (failalloc_available()) {
        failalloc_arm(1);
        ASSERT_EQ(cmd_slot_of(many, &why), PRC_ENOMEM);
        ASSERT(failalloc_fired());
        failalloc_arm(0);
    }
    return TEST_OK;
}
