/*
 * siphash.h — SipHash-2-4, a keyed 64-bit hash (BoringSSL SIPHASH_24), for
 * hash tables whose keys an outsider may choose: certificate names, peer
 * addresses. With a random per-table key, an attacker who cannot see the
 * table cannot pick keys that collide. Pure; thread-safe.
 */
#ifndef RV_CRYPTO_SIPHASH_H
#define RV_CRYPTO_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* struct rv_siphash_key is a 128-bit SipHash key; fill it with rv_rand_bytes
 * (crypto/rand.h) or rv_siphash_key_init. */
struct rv_siphash_key {
	uint64_t k[2];
};

/* rv_siphash_key_init sets |key| to 16 fresh random bytes. */
void rv_siphash_key_init(struct rv_siphash_key *key);

/* rv_siphash returns SipHash-2-4 of |len| bytes at |in| under |key|. |in| may
 * be NULL when |len| is 0. */
uint64_t rv_siphash(const struct rv_siphash_key *key, const void *in, size_t len);

#endif /* RV_CRYPTO_SIPHASH_H */
