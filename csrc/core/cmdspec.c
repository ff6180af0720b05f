/* cmdspec.c - the generated command table: lookup by argv, key positions. */
#include <stdint.h>
#include <string.h>

#include "prc.h"

/*
 * The server's own argument rules for the commands whose key specs are
 * incomplete or unknown (COMMAND GETKEYS falls back on the same rules);
 * scripts/gen_commands.py names them in its KEYS_RULES and refuses a
 * snapshot with such a spec and no rule.
 */
enum { RULE_NONE = 0, RULE_SORT, RULE_SORT_RO, RULE_MIGRATE };

/* gen_keyspecs, gen_commands, gen_slots and their sizes. */
#include "commands_gen.h"

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

/* FNV-1a over upper-cased bytes, continuing from h (the generator computes
 * the same hashes for the table). */
static inline uint32_t
name_hash(uint32_t h, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ gen_upper[(unsigned char)s[i]]) * FNV_PRIME;
    }
    return h;
}

/* Are len bytes of arg (any bytes) the upper-case name, in any case? */
static inline int
same_name(const char *arg, size_t len, const char *name, size_t nlen)
{
    size_t i;

    if (len != nlen) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (gen_upper[(unsigned char)arg[i]] != (unsigned char)name[i]) {
            return 0;
        }
    }
    return 1;
}

/* The entry named arg under `parent` (-1: a command) whose hash is h: a
 * slot's tag (the hash's top bits) is checked before its entry is read. */
static inline const prc_cmd_t *
probe(uint32_t h, const char *arg, size_t len, int parent)
{
    uint32_t slot = h & (GEN_NSLOTS - 1), v;

    while ((v = gen_slots[slot]) != 0) {
        if ((v >> 16) == (h >> 16)) {
            const prc_cmd_t *c = &gen_commands[(v & 0xffff) - 1];

            if (c->parent == parent &&
                same_name(arg, len, c->name + c->sub_off,
                          (size_t)(c->name_len - c->sub_off))) {
                return c;
            }
        }
        slot = (slot + 1) & (GEN_NSLOTS - 1);
    }
    return NULL;
}

const prc_cmd_t *
prc_cmd_lookup(int argc, const char *const *argv, const size_t *argvlen)
{
    const prc_cmd_t *c;
    uint32_t h;

    if (argc < 1 || argvlen[0] == 0 || argvlen[0] > GEN_LONGEST_NAME) {
        return NULL;
    }
    h = name_hash(FNV_BASIS, argv[0], argvlen[0]);
    c = probe(h, argv[0], argvlen[0], -1);
    if (c == NULL || c->nsubs == 0 || argc < 2) {
        return c;
    }
    if (argvlen[1] == 0 || argvlen[1] > GEN_LONGEST_SUBNAME) {
        return NULL;
    }
    h = name_hash(h, "|", 1);
    h = name_hash(h, argv[1], argvlen[1]);
    return probe(h, argv[1], argvlen[1], (int)(c - gen_commands));
}

int
prc_cmd_count(void)
{
    return GEN_NCOMMANDS;
}

const prc_cmd_t *
prc_cmd_at(int i)
{
    return (i >= 0 && i < GEN_NCOMMANDS) ? &gen_commands[i] : NULL;
}

const char *
prc_cmd_table_version(void)
{
    return GEN_SERVER_VERSION;
}

#define VOCAB_NAME(name, str) str,
static const char *const flag_names[] = {PRC_CMD_FLAG_MAP(VOCAB_NAME)};
static const char *const acl_names[] = {PRC_CMD_ACL_MAP(VOCAB_NAME)};
static const char *const tip_names[] = {PRC_CMD_TIP_MAP(VOCAB_NAME)};
static const char *const ks_names[] = {PRC_KS_FLAG_MAP(VOCAB_NAME)};
static const char *const class_names[] = {PRC_CMD_CLASS_MAP(VOCAB_NAME)};
#undef VOCAB_NAME

const char *
prc_cmd_vocab_name(int vocab, int bit)
{
    const char *const *names;
    int n;

    switch (vocab) {
    case PRC_VOCAB_FLAG:
        names = flag_names, n = PRC_CMD_FLAG_COUNT;
        break;
    case PRC_VOCAB_ACL:
        names = acl_names, n = PRC_ACL_COUNT;
        break;
    case PRC_VOCAB_TIP:
        names = tip_names, n = PRC_TIP_COUNT;
        break;
    case PRC_VOCAB_KEYSPEC:
        names = ks_names, n = PRC_KS_COUNT;
        break;
    case PRC_VOCAB_CLASS:
        names = class_names, n = PRC_CLASS_COUNT;
        break;
    default:
        return NULL;
    }
    return (bit >= 0 && bit < n) ? names[bit] : NULL;
}

const char *
prc_cmd_tmo_name(int tmo)
{
#define TMO_NAME(name, str) str,
    static const char *const names[] = {NULL, PRC_CMD_TMO_MAP(TMO_NAME)};
#undef TMO_NAME

    return (tmo >= 0 && tmo < PRC_TMO_END) ? names[tmo] : NULL;
}

const char *
prc_cmd_refusal_name(int refusal)
{
#define REFUSAL_NAME(name, str) str,
    static const char *const names[] = {NULL,
                                        PRC_CMD_REFUSAL_MAP(REFUSAL_NAME)};
#undef REFUSAL_NAME

    return (refusal >= 0 && refusal < PRC_REFUSE_END) ? names[refusal] : NULL;
}

/* ---- key positions ------------------------------------------------------ */

/* What following one key spec gave. */
enum { SPEC_OK, SPEC_INVALID, SPEC_SHAKY };

typedef struct {
    int argc;
    const char *const *argv;
    const size_t *argvlen;
    prc_cmd_key_t *keys;
    int cap;
    int n; /* keys found so far (may pass cap) */
    const char *why;
} keys_ctx;

static void
add_key(keys_ctx *k, long long pos, uint16_t flags)
{
    if (k->n < k->cap) {
        k->keys[k->n].pos = (int)pos;
        k->keys[k->n].flags = flags;
    }
    k->n++;
}

static int
arg_is(const keys_ctx *k, int i, const char *word)
{
    return same_name(k->argv[i], k->argvlen[i], word, strlen(word));
}

/*
 * A canonical decimal integer, as the server's string2ll reads numkeys:
 * an optional '-', no '+', no spaces, no leading zeros.  0 or -1.
 */
static int
parse_ll(const char *s, size_t len, long long *out)
{
    unsigned long long v = 0, limit;
    size_t i = 0;
    int neg = 0;

    if (len == 0 || len > 20) {
        return -1;
    }
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (len == 1) {
            return -1;
        }
    }
    if (s[i] == '0' && len > i + 1) {
        return -1; /* "007", "-0..." */
    }
    limit = neg ? (unsigned long long)INT64_MAX + 1
                : (unsigned long long)INT64_MAX;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';

        if (d > 9 || v > (limit - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (neg && v == 0) {
        return -1; /* "-0" */
    }
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

/* Where a keyword search finds its keyword (the position after it), or 0.
 * As the server does: forwards from startfrom to the second-to-last
 * argument, or backwards from argc + startfrom down to argument 2. */
static long long
keyword_search(const keys_ctx *k, const prc_keyspec_t *ks)
{
    int i;

    if (ks->startfrom > 0) {
        for (i = ks->startfrom; i < k->argc - 1; i++) {
            if (arg_is(k, i, ks->keyword)) {
                return i + 1;
            }
        }
    } else {
        for (i = k->argc + ks->startfrom; i >= 2; i--) {
            if (i < k->argc && arg_is(k, i, ks->keyword)) {
                return i + 1;
            }
        }
    }
    return 0;
}

/* Follow one key spec, adding its keys. */
static int
follow_spec(keys_ctx *k, const prc_keyspec_t *ks)
{
    long long first, last, i, numkeys;
    int step;

    switch (ks->begin) {
    case PRC_KS_BEGIN_INDEX:
        first = ks->index;
        break;
    case PRC_KS_BEGIN_KEYWORD:
        first = keyword_search(k, ks);
        if (first == 0) {
            return SPEC_OK; /* no keyword: no keys from this spec */
        }
        break;
    default:
        return SPEC_SHAKY;
    }
    switch (ks->find) {
    case PRC_KS_FIND_RANGE:
        step = ks->keystep;
        if (ks->lastkey >= 0) {
            last = first + ks->lastkey;
        } else if (ks->limit == 0) {
            last = k->argc + ks->lastkey;
        } else {
            last = first + ((k->argc - first) / ks->limit + ks->lastkey);
        }
        break;
    case PRC_KS_FIND_KEYNUM: {
        long long idx = first + ks->keynumidx;

        step = ks->keystep;
        if (idx >= k->argc) {
            k->why = "numkeys is missing";
            return SPEC_INVALID;
        }
        if (parse_ll(k->argv[idx], k->argvlen[idx], &numkeys) < 0) {
            k->why = "numkeys is not an integer";
            return SPEC_INVALID;
        }
        if (numkeys < 0) {
            k->why = "numkeys is negative";
            return SPEC_INVALID;
        }
        first += ks->firstkey;
        if (numkeys == 0) {
            return SPEC_OK; /* EVAL script 0: no keys */
        }
        if (numkeys > k->argc) {
            k->why = "numkeys is larger than the arguments that follow it";
            return SPEC_INVALID;
        }
        /* The docs' reading: numkeys keys, keystep apart (the server
         * stops at first + numkeys - 1; every keynum spec has step 1). */
        last = first + (numkeys - 1) * step;
        if (last >= k->argc) {
            k->why = "numkeys is larger than the arguments that follow it";
            return SPEC_INVALID;
        }
        break;
    }
    default:
        return SPEC_SHAKY;
    }
    if (first >= k->argc || last >= k->argc || last < first) {
        k->why = "the key arguments run past the end of the command";
        return SPEC_INVALID;
    }
    for (i = first; i <= last; i += step) {
        add_key(k, i, ks->flags);
    }
    if (ks->flags & PRC_KS_INCOMPLETE) {
        return SPEC_SHAKY; /* its keys are in, but maybe not all */
    }
    return SPEC_OK;
}

/* SORT key [BY p] [LIMIT o c] [GET p ...] [ASC|DESC] [ALPHA] [STORE dst]:
 * the key, and the last STORE's destination; options that take arguments
 * skip them (the server's sortGetKeys). */
static void
rule_sort(keys_ctx *k, int store)
{
    long long dest = 0;
    int i;

    add_key(k, 1, PRC_KS_RO | PRC_KS_ACCESS);
    for (i = 2; store && i < k->argc; i++) {
        if (arg_is(k, i, "LIMIT")) {
            i += 2;
        } else if (arg_is(k, i, "GET") || arg_is(k, i, "BY")) {
            i += 1;
        } else if (arg_is(k, i, "STORE") && i + 1 < k->argc) {
            dest = i + 1;
        }
    }
    if (dest != 0) {
        add_key(k, dest, PRC_KS_OW | PRC_KS_UPDATE);
    }
}

/* MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
 * [AUTH2 user pw] [KEYS key ...]: argument 3, or the keys after KEYS when
 * argument 3 is empty (none when it is not: a syntax error). */
static void
rule_migrate(keys_ctx *k)
{
    const uint16_t flags = PRC_KS_RW | PRC_KS_ACCESS | PRC_KS_DELETE;
    long long first = 3, num = 1, i;

    for (i = 6; i < k->argc; i++) {
        if (arg_is(k, (int)i, "KEYS")) {
            if (k->argvlen[3] > 0) {
                num = 0;
            } else {
                first = i + 1;
                num = k->argc - first;
            }
            break;
        }
        if (arg_is(k, (int)i, "AUTH")) {
            i += 1;
        } else if (arg_is(k, (int)i, "AUTH2")) {
            i += 2;
        }
    }
    for (i = 0; i < num; i++) {
        add_key(k, first + i, flags);
    }
}

int
prc_cmd_keys(const prc_cmd_t *cmd, int argc, const char *const *argv,
             const size_t *argvlen, int options, prc_cmd_key_t *keys, int cap,
             const char **why)
{
    keys_ctx k = {argc, argv, argvlen, keys, cap < 0 ? 0 : cap, 0, NULL};
    int j;

    if (cmd == NULL || argc < 1 || (k.cap > 0 && keys == NULL)) {
        k.why = "no command";
        goto invalid;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
        k.why = "wrong number of arguments";
        goto invalid;
    }
    for (j = 0; j < cmd->nkeyspecs; j++) {
        const prc_keyspec_t *ks = &cmd->keyspecs[j];
        int rc;

        if ((ks->flags & PRC_KS_NOT_KEY) && !(options & PRC_KEYS_NOT_KEYS)) {
            continue;
        }
        rc = follow_spec(&k, ks);
        if (rc == SPEC_SHAKY && cmd->keys_rule != RULE_NONE) {
            /* The rule finds every key itself, as the server's does. */
            k.n = 0;
            if (cmd->keys_rule == RULE_MIGRATE) {
                rule_migrate(&k);
            } else {
                rule_sort(&k, cmd->keys_rule == RULE_SORT);
            }
            return k.n;
        }
        if (rc != SPEC_OK && !(options & PRC_KEYS_PARTIAL)) {
            if (rc == SPEC_SHAKY) {
                k.why = "the key specs are incomplete for this form";
            }
            goto invalid;
        }
    }
    return k.n;

invalid:
    if (why != NULL) {
        *why = k.why;
    }
    return PRC_EINVAL;
}
