/*
 * certname.h — what a certificate's common name must be to serve as an
 * identity: it appears in logs, the status output, the lease file and the
 * configuration (subnet = NAME ...), so only 1..RV_CERT_NAME_MAX printable
 * ASCII characters without spaces. The TLS layer refuses a peer whose name
 * is not (tls/conn.c), and `ringvpn pki verify --purpose client` says so
 * before the server does (pki/verify.c).
 */
#ifndef RV_CORE_CERTNAME_H
#define RV_CORE_CERTNAME_H

#include <stdbool.h>
#include <stddef.h>

enum { RV_CERT_NAME_MAX = 64 };

/* rv_cert_name_ok: may the |len| bytes at |s| (the name as UTF-8) be an
 * identity? */
static inline bool rv_cert_name_ok(const unsigned char *s, size_t len)
{
	if (len == 0 || len > RV_CERT_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			return false;
		}
	}
	return true;
}

#endif /* RV_CORE_CERTNAME_H */
