/* opts.c - the options' defaults, from PRC_OPTIONS_MAP, and what the core
 * cannot run with. */
#include <math.h>
#include <string.h>

#include "prc_int.h"

void
prc_opts_init(prc_opts_t *o)
{
    memset(o, 0, sizeof(*o));
#define PRC_OPT_DEFAULT(type, field, keyword, dflt) o->field = (dflt);
    PRC_OPTIONS_MAP(PRC_OPT_DEFAULT)
#undef PRC_OPT_DEFAULT
}

/* The longest time or interval the core computes with: deadlines are
 * int64 nanoseconds, far from overflow at this. */
#define PRC_MAX_SECONDS 1e9

/* Numbers the core cannot compute with: NaN, infinities, beyond
 * PRC_MAX_SECONDS (a negative time means "no limit" or "never"). */
#define CHECK_NUMBER(field, keyword)                                          \
    if (!(fabs(o->field) <= PRC_MAX_SECONDS)) {                               \
        return keyword ": not a finite number within 1e9";                    \
    }
#define CHECK_STR(field, keyword)
#define CHECK_INT(field, keyword)
#define CHECK_BOOL(field, keyword)
#define CHECK_DOUBLE(field, keyword) CHECK_NUMBER(field, keyword)
#define CHECK_SECONDS(field, keyword) CHECK_NUMBER(field, keyword)
#define CHECK_SIZE(field, keyword)
#define CHECK_TLS_VERIFY(field, keyword)                                      \
    if (o->field < PRC_TLS_VERIFY_REQUIRED ||                                 \
        o->field > PRC_TLS_VERIFY_NONE) {                                     \
        return keyword ": not a prc_tls_verify_t";                            \
    }
#define CHECK_OPTION(type, field, keyword, dflt) CHECK_##type(field, keyword)

/* Why the core cannot run with these options (a static "keyword: why"),
 * or NULL.  Only what would break the core: RedisConfig validates what
 * the options mean, with messages for people. */
const char *
prc__opts_bad(const prc_opts_t *o)
{
    PRC_OPTIONS_MAP(CHECK_OPTION)
    if (!(fabs(o->wait_slice) <= PRC_MAX_SECONDS)) {
        return "wait_slice: not a finite number within 1e9";
    }
    if (o->host == NULL && o->unix_path == NULL) {
        return "host: no host and no unix_socket_path";
    }
    if (o->port < 0 || o->port > 65535) {
        return "port: not 0-65535";
    }
    if (o->db < 0) {
        return "db: negative";
    }
    if (o->max_connections < 1) {
        return "max_connections: below 1";
    }
    if (o->max_reply_bytes < 64) {
        return "max_reply_bytes: below 64";
    }
    return NULL;
}
