/* errors.c - the core's error codes, names and messages (one table). */
#include "prc.h"

const char *
prc_strerror(int code)
{
    switch (code) {
    case PRC_OK:
        return "success";
#define PRC_ERR_MSG(name, num, msg)                                           \
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
#define PRC_ERR_NAME(name, num, msg)                                          \
    case PRC_##name:                                                          \
        return #name;
        PRC_ERRNO_MAP(PRC_ERR_NAME)
#undef PRC_ERR_NAME
    default:
        return "EUNKNOWN";
    }
}
