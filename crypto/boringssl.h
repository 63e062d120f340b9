/*
 * boringssl.h — the single include point for <openssl/…> inside crypto/.
 *
 * Debian ships OpenSSL 3 headers in /usr/include/openssl as well; if the
 * include path ever resolves there instead of /usr/include/android, the
 * #error below stops the build rather than silently mixing two libcryptos.
 */
#ifndef RV_CRYPTO_BORINGSSL_H
#define RV_CRYPTO_BORINGSSL_H

#include <openssl/base.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "ringvpn must be built against BoringSSL (/usr/include/android), not OpenSSL"
#endif

#include <openssl/aead.h>
#include <openssl/crypto.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/hkdf.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/siphash.h>

#endif /* RV_CRYPTO_BORINGSSL_H */
