/*
 * pem.h — loading and storing certificates, CRLs and private keys as PEM.
 *
 * This header exposes BoringSSL types, so it is for pki/ and test code only;
 * cli/ uses the path-level API of ca.h, issue.h, crl.h, verify.h and show.h.
 *
 * Private keys are written PKCS#8 with mode 0600 through a temporary file
 * that is never readable by others (see pki_write_file), and every buffer
 * that held key bytes is wiped before it is freed.
 */
#ifndef RV_PKI_PEM_H
#define RV_PKI_PEM_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/base.h>
#include <openssl/x509.h>

#include "pki/err.h"

/* rv_pem_label_is: does the BEGIN line's label at |label| (what follows
 * "-----BEGIN ", up to the end |end| of the text) end in |type| before
 * its "-----"? ("CERTIFICATE" takes X509 and TRUSTED CERTIFICATE too, as
 * the server's loader counts them.) rv_pem_next_label finds the next
 * label from |*p| and moves |*p| past its BEGIN; NULL when none is left. */
bool rv_pem_label_is(const uint8_t *label, const uint8_t *end, const char *type);
const uint8_t *rv_pem_next_label(const uint8_t **p, const uint8_t *end);

/* rv_pem_read_cert loads the first certificate in the PEM file |path| into
 * |*out| (caller frees with X509_free). Returns 0 or -errno with |err| set
 * (class RV_PKI_ERR_CERT). */
int rv_pem_read_cert(X509 **out, const char *path, struct rv_pki_err *err);

/* rv_pem_read_key loads a PEM private key (PKCS#8 or "EC PRIVATE KEY") into
 * |*out| (caller frees with EVP_PKEY_free). The file buffer is wiped. Returns
 * 0 or -errno with |err| set (class RV_PKI_ERR_KEY). */
int rv_pem_read_key(EVP_PKEY **out, const char *path, struct rv_pki_err *err);

/* rv_pem_read_crl loads a PEM CRL into |*out| (caller frees with
 * X509_CRL_free). Returns 0 or -errno (class RV_PKI_ERR_CERT). */
int rv_pem_read_crl(X509_CRL **out, const char *path, struct rv_pki_err *err);

/* rv_pem_read_certs and rv_pem_read_crls load every certificate or CRL of
 * the PEM file |path|, in order, into a new stack (caller frees with
 * sk_X509_pop_free / sk_X509_CRL_pop_free); a file of none is an error.
 * Returns 0 or -errno (class RV_PKI_ERR_CERT). */
int rv_pem_read_certs(STACK_OF(X509) * *out, const char *path, struct rv_pki_err *err);
int rv_pem_read_crls(STACK_OF(X509_CRL) * *out, const char *path, struct rv_pki_err *err);

/* rv_pem_write_cert writes |cert| to |path| with mode 0644. Unless
 * |overwrite|, an existing |path| is left alone and -EEXIST returned. */
int rv_pem_write_cert(const char *path, X509 *cert, bool overwrite, struct rv_pki_err *err);

/* rv_pem_write_key writes |key| (borrowed) to |path| with mode 0600 and wipes
 * the encoded copy. Unless |overwrite|, an existing |path| is left alone and
 * -EEXIST returned. */
int rv_pem_write_key(const char *path, EVP_PKEY *key, bool overwrite, struct rv_pki_err *err);

struct pki_staged;

/* rv_pem_stage_cert and rv_pem_stage_key write what rv_pem_write_cert and
 * rv_pem_write_key would, into a staged file (pki/internal.h) that
 * pki_publish_file then puts in place. */
int rv_pem_stage_cert(struct pki_staged *st, const char *path, X509 *cert, struct rv_pki_err *err);
int rv_pem_stage_key(struct pki_staged *st, const char *path, EVP_PKEY *key,
		     struct rv_pki_err *err);

/* rv_pem_write_crl atomically replaces |path| with |crl| (mode 0644). */
int rv_pem_write_crl(const char *path, X509_CRL *crl, struct rv_pki_err *err);

#endif /* RV_PKI_PEM_H */
