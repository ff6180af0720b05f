/* slot.c - Redis Cluster hash slots: CRC16 of a key or its hash tag. */
#include <stdlib.h>
#include <string.h>

#include "prc.h"

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the
 * cluster specification defines the key slot, four bits at a time: entry
 * i is the CRC of the nibble i in the top four bits of the register. */
static const uint16_t crc16_nibble[16] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
};

uint16_t
prc_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char b = (unsigned char)buf[i];

        crc = (uint16_t)((crc << 4) ^ crc16_nibble[(crc >> 12) ^ (b >> 4)]);
        crc = (uint16_t)((crc << 4) ^ crc16_nibble[(crc >> 12) ^ (b & 0xf)]);
    }
    return crc;
}

int
prc_key_slot(const char *key, size_t len)
{
    const char *open = len ? memchr(key, '{', len) : NULL;

    if (open != NULL) {
        size_t start = (size_t)(open - key) + 1;
        const char *close = memchr(key + start, '}', len - start);

        /* A tag is the text between the first '{' and the first '}'
         * after it, when that text is not empty. */
        if (close != NULL && close > key + start) {
            return prc_crc16(key + start, (size_t)(close - (key + start))) &
                   (PRC_CLUSTER_SLOTS - 1);
        }
    }
    return prc_crc16(key, len) & (PRC_CLUSTER_SLOTS - 1);
}

int
prc_cmd_slot(const prc_cmd_t *cmd, int argc, const char *const *argv,
             const size_t *argvlen, const char **why)
{
    prc_cmd_key_t small[16], *keys = small;
    int n, i, slot = PRC_SLOT_NONE;

    n = prc_cmd_keys(cmd, argc, argv, argvlen, PRC_KEYS_NOT_KEYS, keys, 16,
                     why);
    if (n > 16) {
        /* Owned here, freed below. */
        keys = malloc(sizeof(*keys) * (size_t)n);
        if (keys == NULL) {
            return PRC_ENOMEM;
        }
        n = prc_cmd_keys(cmd, argc, argv, argvlen, PRC_KEYS_NOT_KEYS, keys, n,
                         why);
    }
    for (i = 0; i < n; i++) {
        int pos = keys[i].pos;
        int s = prc_key_slot(argv[pos], argvlen[pos]);

        if (slot == PRC_SLOT_NONE) {
            slot = s;
        } else if (s != slot) {
            slot = PRC_SLOT_CROSS;
            break;
        }
    }
    if (keys != small) {
        free(keys);
    }
    return n < 0 ? n : slot;
}
