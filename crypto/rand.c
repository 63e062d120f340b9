/*
 * rand.c — cryptographically secure random bytes (BoringSSL RAND_bytes).
 */
#include "crypto/rand.h"

#include "crypto/boringssl.h"

void rv_rand_bytes(uint8_t *out, size_t len)
{
	/* BoringSSL's RAND_bytes always returns 1: it aborts the process rather
	 * than hand out weak bytes if getrandom() is unusable. */
	RAND_bytes(out, len);
}

uint32_t rv_rand_u32(void)
{
	uint8_t b[4];

	rv_rand_bytes(b, sizeof(b));
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
