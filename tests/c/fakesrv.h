/* fakesrv.h - a tiny scripted RESP server on loopback for the C tests. */
#ifndef PRC_TEST_FAKESRV_H
#define PRC_TEST_FAKESRV_H

#include <stddef.h>

/*
 * One listening thread plus one thread per accepted connection.  Each
 * connection reads RESP multi-bulk commands and answers them according to
 * its mode:
 *
 *   FS_NORMAL          answer each command (see below)
 *   FS_HANG            read commands, never answer
 *   FS_NOREAD          never read, never answer (fills the client's
 *                      socket buffers: write timeouts)
 *   FS_CLOSE_ON_ACCEPT close the connection at once
 *   FS_CLOSE_ON_COMMAND read one command, close without answering
 *   FS_RAW             on the first bytes, send `raw_reply` and close
 *
 * Answers in FS_NORMAL: AUTH -> auth_reply, SELECT -> select_reply,
 * CLIENT -> +OK, PING -> ping_reply, ECHO x -> $x, "BIG n" -> a bulk of n
 * 'x', "ARR n m" -> an array of n bulks of m bytes, anything else ->
 * reply.  Defaults: +OK / +PONG.  Modifiers: delay_ms before each answer,
 * drip_ms to send answers one byte at a time, `extra` appended to each
 * answer in the same write, `stray` sent stray_ms after each answer,
 * close_after_reply to close after the first answer, batch to answer all
 * the commands that came in one read with one write, `greeting` sent on
 * accept before anything is read (a server that speaks first).
 * With sub_setup (a subscriber's server), a bare UNSUBSCRIBE before any
 * command but AUTH, SELECT and CLIENT (the subscriber's connect) gets
 * sub_setup_reply (default: Redis's answer, unsubscribe nil 0) at once,
 * and is counted by fakesrv_sub_setups, not logged.
 *
 * The first `first_n` connections use `first_mode` instead of `mode`.
 * Strings are borrowed for the server's lifetime (use literals).
 */
enum {
    FS_NORMAL = 0,
    FS_HANG,
    FS_NOREAD,
    FS_CLOSE_ON_ACCEPT,
    FS_CLOSE_ON_COMMAND,
    FS_RAW
};

typedef struct fakesrv_opts_s {
    int mode;
    int first_mode;
    int first_n;
    int port;              /* 0: any free port */
    const char *unix_path; /* listen on a unix socket instead */
    const char *reply;
    const char *ping_reply;
    int sub_setup;
    const char *sub_setup_reply;
    const char *auth_reply;
    const char *select_reply;
    const char *raw_reply;
    const char *extra;
    const char *stray;
    const char *greeting;
    int stray_ms;
    int delay_ms;
    int drip_ms;
    int close_after_reply;
    int batch;            /* answer the commands of one read in one write */
    const char *tls_cert; /* PEM files: speak TLS (FS_NORMAL and */
    const char *tls_key;  /* FS_CLOSE_ON_COMMAND connections) */
} fakesrv_opts_t;

typedef struct fakesrv_s fakesrv_t;

/* Start a server; NULL on failure.  Its stop and free are registered
 * with test_defer, so a failing test never leaks it. */
fakesrv_t *fakesrv_start(const fakesrv_opts_t *opts);
/* Stop accepting and close every connection (joins the threads).
 * Idempotent; the memory stays valid until the deferred free. */
void fakesrv_stop(fakesrv_t *s);
int fakesrv_port(const fakesrv_t *s);
/* Change the mode for connections accepted from now on. */
void fakesrv_set_mode(fakesrv_t *s, int mode);
/* Counters. */
int fakesrv_accepted(fakesrv_t *s);
int fakesrv_commands(fakesrv_t *s);
int fakesrv_sub_setups(fakesrv_t *s);
int fakesrv_closed(fakesrv_t *s);   /* connections the server has closed */
int fakesrv_max_open(fakesrv_t *s); /* peak of simultaneous connections */
/* Copy the i-th command received ("ARG0 ARG1 ...") into buf; 0 or -1. */
int fakesrv_log(fakesrv_t *s, int i, char *buf, size_t len);
/* Wait up to ms for fakesrv_closed(s) >= n; 0 when reached. */
int fakesrv_wait_closed(fakesrv_t *s, int n, int ms);

#endif /* PRC_TEST_FAKESRV_H */
