/* errors.c - the core's error codes and error classes (one table each). */
#include <string.h>

#include "prc.h"

const char *
prc_strerror(int code)
{
    switch (code) {
    case PRC_OK:
        return "success";
#define PRC_ERR_MSG(name, num, msg, cls)                                      \
    case PRC_##name:                                                          \
        return msg;
        PRC_ERRNO_MAP(PRC_ERR_MSG)
#undef PRC_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *
prc_err_name(int code)
{
    switch (code) {
    case PRC_OK:
        return "OK";
#define PRC_ERR_NAME(name, num, msg, cls)                                     \
    case PRC_##name:                                                          \
        return #name;
        PRC_ERRNO_MAP(PRC_ERR_NAME)
#undef PRC_ERR_NAME
    default:
        return "EUNKNOWN";
    }
}

int
prc_err_class(int code)
{
    switch (code) {
#define PRC_ERR_CLASS(name, num, msg, cls)                                    \
    case PRC_##name:                                                          \
        return PRC_EXC_##cls;
        PRC_ERRNO_MAP(PRC_ERR_CLASS)
#undef PRC_ERR_CLASS
    default:
        return PRC_EXC_NONE;
    }
}

static const prc_exc_t classes[PRC_EXC_COUNT] = {
#define PRC_EXC_ROW(id, name, parent, builtin, code, doc)                     \
    {name, PRC_EXC_##parent, builtin, code, doc},
    PRC_EXC_MAP(PRC_EXC_ROW)
#undef PRC_EXC_ROW
};

const prc_exc_t *
prc_exc_class(int id)
{
    return (id >= 0 && id < PRC_EXC_COUNT) ? &classes[id] : NULL;
}

static const struct {
    const char *prefix;
    size_t len;
    int cls;
    int strip;
} reply_errors[] = {
#define PRC_REPLY_ROW(prefix, id, strip)                                      \
    {prefix, sizeof(prefix) - 1, PRC_EXC_##id, strip},
    PRC_REPLY_ERROR_MAP(PRC_REPLY_ROW)
#undef PRC_REPLY_ROW
};

int
prc_error_reply_class(const char *msg, size_t len, size_t *skip)
{
    size_t i;

    if (skip != NULL) {
        *skip = 0;
    }
    for (i = 0; i < sizeof(reply_errors) / sizeof(reply_errors[0]); i++) {
        if (len >= reply_errors[i].len &&
            memcmp(msg, reply_errors[i].prefix, reply_errors[i].len) == 0) {
            if (reply_errors[i].strip && skip != NULL) {
                const char *sp = memchr(msg, ' ', len);
                *skip = sp ? (size_t)(sp - msg) + 1 : 0;
            }
            return reply_errors[i].cls;
        }
    }
    return PRC_EXC_RESPONSE;
}
