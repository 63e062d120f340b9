/*
 * show.h — human-readable summary of a certificate or CRL file.
 * Free of BoringSSL types so cli/ can include it.
 */
#ifndef RV_PKI_SHOW_H
#define RV_PKI_SHOW_H

#include <stdio.h>

#include "pki/err.h"

/* rv_pki_show prints to |out| what the PEM file |path| holds:
 * for a certificate: subject, issuer, serial, validity (and whether it is
 *   current), whether it is a CA, subjectAltNames, key usage, extended key
 *   usage, key type;
 * for a CRL: issuer, lastUpdate, nextUpdate, CRL number, revoked serials.
 * One "key: value" per line. Returns 0 or -errno with |err| filled. */
int rv_pki_show(FILE *out, const char *path, struct rv_pki_err *err);

#endif /* RV_PKI_SHOW_H */
