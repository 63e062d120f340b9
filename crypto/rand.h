/*
 * rand.h — cryptographically secure random bytes (BoringSSL RAND_bytes).
 * Thread-safe.
 */
#ifndef RV_CRYPTO_RAND_H
#define RV_CRYPTO_RAND_H

#include <stddef.h>
#include <stdint.h>

/* rv_rand_bytes fills |out| with |len| random bytes. It cannot fail
 * (BoringSSL aborts if the kernel RNG is unusable). */
void rv_rand_bytes(uint8_t *out, size_t len);

/* rv_rand_u32 returns a uniformly random 32-bit value. */
uint32_t rv_rand_u32(void);

#endif /* RV_CRYPTO_RAND_H */
