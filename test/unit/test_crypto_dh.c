/*
 * test_crypto_dh.c — crypto/dh.c: X25519 against RFC 7748 §5.2 and §6.1
 * (test/vectors/x25519.txt), key agreement between fresh pairs, rejection of
 * low-order points, and wiping.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "crypto/dh.h"
#include "test/lib/t_vectors.h"

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i] != 0) {
			return false;
		}
	}
	return true;
}

Test(dh, kat_rfc7748)
{
	struct t_vectors *tv = t_vectors_open(RV_TEST_VECTORS "/x25519.txt");
	enum t_vectors_result r;
	size_t num = 0;

	cr_assert_not_null(tv, "cannot open x25519.txt: %s", strerror(errno));
	while ((r = t_vectors_next(tv)) == T_VECTORS_RECORD) {
		size_t s_len = 0, u_len = 0, o_len = 0;
		const uint8_t *scalar = t_vectors_get(tv, "SCALAR", &s_len);
		const uint8_t *u = t_vectors_get(tv, "U", &u_len);
		const uint8_t *out = t_vectors_get(tv, "OUT", &o_len);
		struct rv_x25519 kp = { 0 };
		uint8_t got[RV_X25519_LEN];

		cr_assert(scalar && u && out, "line %u: incomplete record", t_vectors_line(tv));
		cr_assert(s_len == 32 && u_len == 32 && o_len == 32);
		memcpy(kp.priv, scalar, 32);
		cr_assert_eq(rv_x25519_shared(got, &kp, u), 0);
		cr_assert(memcmp(got, out, 32) == 0, "line %u: X25519 mismatch",
			  t_vectors_line(tv));
		rv_x25519_cleanup(&kp);
		num++;
	}
	cr_assert_eq(r, T_VECTORS_EOF, "%s", t_vectors_error(tv));
	cr_assert_eq(num, 6, "checked %zu", num);
	t_vectors_free(tv);
}

Test(dh, fresh_pairs_agree)
{
	for (int i = 0; i < 16; i++) {
		struct rv_x25519 a = { 0 }, b = { 0 };
		uint8_t sa[32], sb[32], base[32] = { 9 }, pub[32];

		cr_assert_eq(rv_x25519_generate(&a), 0);
		cr_assert_eq(rv_x25519_generate(&b), 0);
		cr_assert(memcmp(a.priv, b.priv, 32) != 0, "two identical private keys");
		/* pub is priv times the base point. */
		cr_assert_eq(rv_x25519_shared(pub, &a, base), 0);
		cr_assert(memcmp(pub, a.pub, 32) == 0, "public key does not match private");
		cr_assert_eq(rv_x25519_shared(sa, &a, b.pub), 0);
		cr_assert_eq(rv_x25519_shared(sb, &b, a.pub), 0);
		cr_assert(memcmp(sa, sb, 32) == 0, "shared secrets differ");
		cr_assert(!all_zero(sa, 32));
		rv_x25519_cleanup(&a);
		rv_x25519_cleanup(&b);
	}
}

/* Points of small order make the shared secret all-zero (RFC 7748 §6.1):
 * they must be refused and the output wiped. The list is the canonical set
 * of low-order u-coordinates (0, 1, the order-8 points, p-1, p, p+1). */
Test(dh, low_order_points_rejected)
{
	static const uint8_t low[][32] = {
		{ 0 },
		{ 1 },
		{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
		{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
		  0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
		  0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	};
	struct rv_x25519 kp = { 0 };

	cr_assert_eq(rv_x25519_generate(&kp), 0);
	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
		uint8_t out[32];

		memset(out, 0xa5, sizeof(out));
		cr_assert_eq(rv_x25519_shared(out, &kp, low[i]), -EINVAL,
			     "low-order point #%zu accepted", i);
		cr_assert(all_zero(out, sizeof(out)), "output not wiped");
	}
	rv_x25519_cleanup(&kp);
}

Test(dh, cleanup_wipes)
{
	struct rv_x25519 kp = { 0 }, zero = { 0 };

	rv_x25519_cleanup(&zero);
	cr_assert(all_zero(&zero, sizeof(zero)));
	cr_assert_eq(rv_x25519_generate(&kp), 0);
	cr_assert(!all_zero(kp.priv, sizeof(kp.priv)));
	rv_x25519_cleanup(&kp);
	cr_assert(all_zero(&kp, sizeof(kp)));
}
