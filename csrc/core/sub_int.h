/* sub_int.h - the subscriber's parts: sub.c's, subset.c's, subparse.c's,
 * and the C tests'. */
#ifndef PRC_SUB_INT_H
#define PRC_SUB_INT_H

#include "prc.h"

/* ---- a set of names (subset.c) ------------------------------------------ */

/* One slot of a name set. */
typedef struct prc_name_slot_s {
    char *name; /* owned; NULL: an empty slot */
    size_t len;
    uint64_t hash;
    uint64_t seq; /* the order names were added in */
} prc_name_slot_t;

/*
 * The channels (or patterns, or shard channels) a subscriber is subscribed
 * to: each name copied, with the order they were added in.  Open
 * addressing with linear probing, at most half full.  All zero is an
 * empty set.  Not thread-safe: the subscriber's mutex guards it.
 */
typedef struct prc_nameset_s {
    prc_name_slot_t *slots; /* owned */
    size_t cap;             /* 0 or a power of two */
    size_t n;
    uint64_t next_seq;
} prc_nameset_t;

/* Add a copy of p[0, len) (any bytes, empty too) unless it is there:
 * 0, or PRC_ENOMEM with the set unchanged. */
int prc__nameset_add(prc_nameset_t *set, const char *p, size_t len);
/* Remove the name if it is there. */
void prc__nameset_remove(prc_nameset_t *set, const char *p, size_t len);
/* Remove every name; the table is kept. */
void prc__nameset_clear(prc_nameset_t *set);
/* Free the names and the table, leaving an empty set. */
void prc__nameset_free(prc_nameset_t *set);
/*
 * Fill names[0, set->n) and lens with the names in the order they were
 * added: pointers into the set (borrowed: valid until it changes).
 * Returns 0, or PRC_ENOMEM (nothing filled).
 */
int prc__nameset_list(const prc_nameset_t *set, const char **names,
                      size_t *lens);

/* ---- pushed replies (subparse.c) ---------------------------------------- */

/*
 * Split a reply b[0, len) that prc_framer_scan framed on a subscribed
 * connection into m (pointers into b): 0, or -1 for anything that is no
 * pub/sub message, confirmation, pong or error line.
 */
int prc__sub_parse_push(const char *b, size_t len, prc_sub_msg_t *m);

#endif
