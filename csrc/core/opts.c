/* opts.c - the options' defaults, from PRC_OPTIONS_MAP. */
#include <string.h>

#include "prc.h"

void
prc_opts_init(prc_opts_t *o)
{
    memset(o, 0, sizeof(*o));
#define PRC_OPT_DEFAULT(type, field, keyword, dflt) o->field = (dflt);
    PRC_OPTIONS_MAP(PRC_OPT_DEFAULT)
#undef PRC_OPT_DEFAULT
}
