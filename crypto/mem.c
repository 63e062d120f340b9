/*
 * mem.c — wiping and constant-time comparison of secrets (BoringSSL).
 */
#include "crypto/mem.h"

#include "crypto/boringssl.h"

void rv_memzero(void *p, size_t len)
{
	/* OPENSSL_cleanse zeroes through an asm barrier, so the store cannot be
	 * removed as dead even when |p| is about to go out of scope. */
	OPENSSL_cleanse(p, len);
}

bool rv_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
