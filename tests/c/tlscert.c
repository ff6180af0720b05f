/* tlscert.c - make a self-signed certificate and key for TLS tests. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <unistd.h>

#include "tlscert.h"

static int
add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return 0;
}

int
tlscert_make(tlscert_t *out, const char *tag, const char *cn, const char *san)
{
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    X509_NAME *name;
    FILE *f;
    int rc = -1;

    snprintf(out->cert, sizeof(out->cert), "/tmp/prc-test-%d-%s-cert.pem",
             (int)getpid(), tag);
    snprintf(out->key, sizeof(out->key), "/tmp/prc-test-%d-%s-key.pem",
             (int)getpid(), tag);
    pkey = EVP_EC_gen("P-256");
    x = X509_new();
    if (pkey == NULL || x == NULL) {
        goto done;
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (add_ext(x, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
        add_ext(x, NID_subject_alt_name, san) != 0 ||
        add_ext(x, NID_subject_key_identifier, "hash") != 0) {
        goto done;
    }
    if (X509_sign(x, pkey, EVP_sha256()) == 0) {
        goto done;
    }
    f = fopen(out->cert, "w");
    if (f == NULL) {
        goto done;
    }
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(out->key, "w");
    if (f == NULL) {
        goto done;
    }
    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    rc = 0;
done:
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

void
tlscert_remove(tlscert_t *c)
{
    unlink(c->cert);
    unlink(c->key);
}
