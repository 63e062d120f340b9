/*
 * test_crypto_rand.c — crypto/rand.c: random bytes reach every position and
 * differ between calls.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "crypto/rand.h"

/* Not a statistical test: it catches a rand that returns nothing, a constant,
 * or leaves part of the buffer untouched. */
Test(rand, fills_and_varies)
{
	uint8_t a[256], b[256], seen_or[64] = { 0 };
	uint32_t u[8];
	bool differ = false;

	for (int round = 0; round < 64; round++) {
		memset(a, 0, sizeof(seen_or));
		rv_rand_bytes(a, sizeof(seen_or));
		for (size_t i = 0; i < sizeof(seen_or); i++) {
			seen_or[i] |= a[i];
		}
	}
	for (size_t i = 0; i < sizeof(seen_or); i++) {
		cr_assert_neq(seen_or[i], 0, "byte %zu never written", i);
	}
	rv_rand_bytes(a, sizeof(a));
	rv_rand_bytes(b, sizeof(b));
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
	rv_rand_bytes(a, 0);
	for (size_t i = 0; i < 8; i++) {
		u[i] = rv_rand_u32();
		differ |= i > 0 && u[i] != u[0];
	}
	cr_assert(differ, "rv_rand_u32 returned one value 8 times");
}
