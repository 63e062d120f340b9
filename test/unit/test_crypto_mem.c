/*
 * test_crypto_mem.c — crypto/mem.c: wiping and constant-time comparison.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "crypto/mem.h"

Test(mem, memzero_wipes_exact_range)
{
	uint8_t buf[64];

	memset(buf, 0xa5, sizeof(buf));
	rv_memzero(buf + 8, 40);
	for (size_t i = 0; i < sizeof(buf); i++) {
		cr_assert_eq(buf[i], (i >= 8 && i < 48) ? 0 : 0xa5, "byte %zu", i);
	}
	rv_memzero(buf, 0);
	cr_assert_eq(buf[0], 0xa5);
}

Test(mem, ct_equal)
{
	uint8_t a[33], b[33];

	for (size_t i = 0; i < sizeof(a); i++) {
		a[i] = b[i] = (uint8_t)(i * 7);
	}
	cr_assert(rv_ct_equal(a, b, sizeof(a)));
	cr_assert(rv_ct_equal(a, b, 0));
	for (size_t i = 0; i < sizeof(a); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			cr_assert(!rv_ct_equal(a, b, sizeof(a)), "byte %zu bit %d", i, bit);
			cr_assert(rv_ct_equal(a, b, i), "prefix before the difference");
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
}
