/*
 * siphash.c — SipHash-2-4 through BoringSSL (see siphash.h).
 */
#include "crypto/siphash.h"

#include "crypto/boringssl.h"
#include "crypto/rand.h"

void rv_siphash_key_init(struct rv_siphash_key *key)
{
	rv_rand_bytes((uint8_t *)key->k, sizeof(key->k));
}

uint64_t rv_siphash(const struct rv_siphash_key *key, const void *in, size_t len)
{
	static const uint8_t empty[1];

	/* Callers may hash an empty key as (NULL, 0); hand BoringSSL a real
	 * pointer so that nothing inside does arithmetic on NULL (UBSan). */
	return SIPHASH_24(key->k, len ? in : empty, len);
}
