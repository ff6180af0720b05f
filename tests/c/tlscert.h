/* tlscert.h - make a self-signed certificate and key for TLS tests. */
#ifndef PRC_TEST_TLSCERT_H
#define PRC_TEST_TLSCERT_H

typedef struct {
    char cert[128]; /* PEM file paths under /tmp */
    char key[128];
} tlscert_t;

/* Write a fresh P-256 key and a self-signed CA:TRUE certificate for `cn`
 * with subjectAltName `san` (e.g. "DNS:localhost,IP:127.0.0.1");
 * `tag` keeps files of one test apart.  0 or -1. */
int tlscert_make(tlscert_t *out, const char *tag, const char *cn,
                 const char *san);
void tlscert_remove(tlscert_t *c);

#endif /* PRC_TEST_TLSCERT_H */
