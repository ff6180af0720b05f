/* opts.c - the options' documented defaults. */
#include <string.h>

#include "prc.h"

void
prc_opts_init(prc_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "localhost";
    o->port = 6379;
    o->connect_timeout = 5.0;
    o->socket_timeout = 5.0;
    o->pool_timeout = 5.0;
    o->health_check_interval = 30.0;
    o->keepalive = 1;
    o->max_connections = 50;
    o->max_reply_bytes = 512u * 1024 * 1024;
    o->retry_attempts = 3;
    o->retry_base = 0.05;
    o->retry_cap = 1.0;
    o->breaker_enabled = 1;
    o->failure_threshold = 5;
    o->failure_rate = 0.5;
    o->failure_window = 10.0;
    o->minimum_calls = 10;
    o->min_recovery_timeout = 1.0;
    o->recovery_timeout = 30.0;
    o->success_threshold = 3;
    o->metrics = 1;
    o->tls_verify = PRC_TLS_VERIFY_REQUIRED;
    o->tls_check_hostname = 1;
}
