/*
 * pem.h — reading the PEM files of the trust (CA, CRL) and of this end's
 * identity (certificate, key), for tls/ only.
 */
#ifndef RV_TLS_PEM_H
#define RV_TLS_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The largest CA, CRL, certificate or key file read: `pki verify`'s limit
 * (PKI_MAX_LIST). */
#define RV_TLS_PEM_MAX (64 << 20)

/* rv_tls_pem_open opens |path| (the |what| file: "CA certificate", "CRL",
 * ...) for reading: a regular file of at most RV_TLS_PEM_MAX bytes. NULL
 * with -errno in *out_errno and why in |err| otherwise. */
FILE *rv_tls_pem_open(const char *what, const char *path, char *err, size_t err_len,
		      int *out_errno);

/* rv_tls_pem_trust_refused: is the trust file |f| (|what| at |path|)
 * writable by every user? Then true, with why in |err|. One that another
 * user owns or may change, or may swap on the way to it, is said (a
 * warning) and taken. */
bool rv_tls_pem_trust_refused(FILE *f, const char *what, const char *path, char *err,
			      size_t err_len);

/* rv_tls_pem_scan counts the BEGIN lines of |f| whose type ends in |type|
 * wherever they stand, and sets *key if any block is a private key. Leaves
 * |f| at its start. */
unsigned rv_tls_pem_scan(FILE *f, const char *type, bool *key);

/* rv_tls_pem_read_all: after the PEM reader took |n| blocks of |kind| from
 * |path| whose scan counted |begins|, 0 if it read them all, or -EINVAL
 * with why in |err| (a damaged block it stopped at, or blocks it passed
 * over). Clears BoringSSL's error queue. */
int rv_tls_pem_read_all(const char *what, const char *kind, const char *path, unsigned n,
			unsigned begins, char *err, size_t err_len);

#endif /* RV_TLS_PEM_H */
