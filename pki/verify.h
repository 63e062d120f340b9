/*
 * verify.h — checking a certificate against a CA (and CRL) from files, the
 * way the TLS peers will: chain, validity period, revocation, purpose and,
 * for servers, the expected name. Used by 'ringvpn pki verify' and tests.
 * Free of BoringSSL types so cli/ can include it.
 */
#ifndef RV_PKI_VERIFY_H
#define RV_PKI_VERIFY_H

#include "pki/err.h"

enum rv_pki_purpose {
	RV_PKI_PURPOSE_ANY,
	RV_PKI_PURPOSE_SERVER, /* EKU serverAuth */
	RV_PKI_PURPOSE_CLIENT, /* EKU clientAuth */
};

/* rv_pki_verify checks |cert_path| against the CA certificate |ca_crt|. If
 * |crl_path| is not NULL the CRL is loaded and revocation checked. If |host|
 * is not NULL the certificate must carry that DNS name or IP address.
 * Returns 0 if the certificate is acceptable; -EKEYEXPIRED if it is expired
 * or not yet valid, -EKEYREVOKED if revoked, -EKEYREJECTED for any other
 * verification failure (wrong CA, wrong purpose, wrong name, bad or stale
 * CRL, a serial number no peer takes: crypto/x509path.h
 * rv_x509_serial_unfit), each with |err| (class RV_PKI_ERR_CERT) naming the
 * reason; other -errno values if a file cannot be loaded. */
int rv_pki_verify(const char *ca_crt, const char *crl_path, const char *cert_path,
		  enum rv_pki_purpose purpose, const char *host, struct rv_pki_err *err);

#endif /* RV_PKI_VERIFY_H */
