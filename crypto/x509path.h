/*
 * x509path.h — what the certificate verifier leaves to its caller when
 * every CA of a chain is a trust anchor.
 *
 * ringvpn builds a peer's chain from its CA file alone (tls/ctx.c), so each
 * CA there, intermediates too, is a trust anchor, and BoringSSL's verifier
 * checks the path length constraints of the untrusted part of a chain only.
 * The handshake (tls/), the re-verification of live sessions and `pki
 * verify` (pki/) check them here, the same way.
 */
#ifndef RV_CRYPTO_X509PATH_H
#define RV_CRYPTO_X509PATH_H

#include <stdbool.h>

#include <openssl/x509.h>

/* rv_x509_chain_pathlen_ok: has no CA of |chain| (leaf first, as
 * X509_STORE_CTX_get0_chain gives it) more CAs below it than its
 * basicConstraints pathLenConstraint allows? NULL is true. */
bool rv_x509_chain_pathlen_ok(STACK_OF(X509) * chain);

#endif /* RV_CRYPTO_X509PATH_H */
