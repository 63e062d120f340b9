/*
 * test_crypto_kdf.c — crypto/kdf.c: HKDF-SHA256 against RFC 5869 A.1-A.3
 * (test/vectors/hkdf_sha256.txt), argument checks, and the epoch key
 * schedule's structure (labels, epoch encoding, direction separation).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/errq.h"
#include "crypto/kdf.h"
#include "crypto/rand.h"
#include "test/lib/t_vectors.h"

static const uint8_t *need(struct t_vectors *tv, const char *name, size_t *len)
{
	const uint8_t *v = t_vectors_get(tv, name, len);

	cr_assert_not_null(v, "record at line %u lacks %s", t_vectors_line(tv), name);
	return v;
}

Test(kdf, kat_rfc5869)
{
	struct t_vectors *tv = t_vectors_open(RV_TEST_VECTORS "/hkdf_sha256.txt");
	enum t_vectors_result r;
	size_t num = 0;

	cr_assert_not_null(tv, "cannot open hkdf_sha256.txt: %s", strerror(errno));
	while ((r = t_vectors_next(tv)) == T_VECTORS_RECORD) {
		size_t ikm_len, salt_len, info_len, prk_len, okm_len;
		const uint8_t *ikm = need(tv, "IKM", &ikm_len);
		const uint8_t *salt = need(tv, "SALT", &salt_len);
		const uint8_t *info = need(tv, "INFO", &info_len);
		const uint8_t *prk = need(tv, "PRK", &prk_len);
		const uint8_t *okm = need(tv, "OKM", &okm_len);
		unsigned line = t_vectors_line(tv);
		uint8_t got_prk[RV_HKDF_PRK_LEN];
		uint8_t *got = malloc(okm_len);

		cr_assert_not_null(got);
		cr_assert_eq(prk_len, RV_HKDF_PRK_LEN);
		cr_assert_eq(rv_hkdf_extract(got_prk, salt, salt_len, ikm, ikm_len), 0);
		cr_assert(memcmp(got_prk, prk, prk_len) == 0, "line %u: PRK mismatch", line);

		memset(got, 0, okm_len);
		cr_assert_eq(rv_hkdf_expand(got, okm_len, prk, prk_len, info, info_len), 0);
		cr_assert(memcmp(got, okm, okm_len) == 0, "line %u: expand OKM mismatch", line);

		memset(got, 0, okm_len);
		cr_assert_eq(rv_hkdf(got, okm_len, salt, salt_len, ikm, ikm_len, info, info_len),
			     0);
		cr_assert(memcmp(got, okm, okm_len) == 0, "line %u: rv_hkdf OKM mismatch", line);

		/* A.3 has empty salt and info: NULL must mean the same thing. */
		if (salt_len == 0 && info_len == 0) {
			memset(got, 0, okm_len);
			cr_assert_eq(rv_hkdf(got, okm_len, NULL, 0, ikm, ikm_len, NULL, 0), 0);
			cr_assert(memcmp(got, okm, okm_len) == 0);
			cr_assert_eq(rv_hkdf_extract(got_prk, NULL, 0, ikm, ikm_len), 0);
			cr_assert(memcmp(got_prk, prk, prk_len) == 0);
		}
		/* Expand is a prefix function: a shorter output is a prefix. */
		memset(got, 0, okm_len);
		cr_assert_eq(rv_hkdf_expand(got, 7, prk, prk_len, info, info_len), 0);
		cr_assert(memcmp(got, okm, 7) == 0);
		free(got);
		num++;
	}
	cr_assert_eq(r, T_VECTORS_EOF, "%s", t_vectors_error(tv));
	cr_assert_eq(num, 3, "expected RFC 5869 A.1-A.3, checked %zu", num);
	t_vectors_free(tv);
}

Test(kdf, argument_checks)
{
	uint8_t prk[RV_HKDF_PRK_LEN] = { 1 }, out[64], ikm[8] = { 2 };
	static uint8_t big[255 * 32 + 1];
	char ebuf[256];

	cr_assert_eq(rv_hkdf_extract(NULL, NULL, 0, ikm, sizeof(ikm)), -EINVAL);
	cr_assert_eq(rv_hkdf_extract(prk, NULL, 5, ikm, sizeof(ikm)), -EINVAL);
	cr_assert_eq(rv_hkdf_extract(prk, ikm, 1, NULL, 3), -EINVAL);
	cr_assert_eq(rv_hkdf_expand(out, sizeof(out), NULL, 32, NULL, 0), -EINVAL);
	cr_assert_eq(rv_hkdf_expand(out, sizeof(out), prk, RV_HKDF_PRK_LEN - 1, NULL, 0), -EINVAL,
		     "PRK shorter than HashLen accepted");
	cr_assert_eq(rv_hkdf_expand(out, sizeof(out), prk, sizeof(prk), NULL, 4), -EINVAL);
	cr_assert_eq(rv_hkdf(NULL, 1, NULL, 0, ikm, sizeof(ikm), NULL, 0), -EINVAL);
	cr_assert_eq(rv_hkdf(out, 1, NULL, 1, ikm, sizeof(ikm), NULL, 0), -EINVAL);

	/* RFC 5869 limit L <= 255*HashLen: the edge is accepted, one more byte
	 * is refused by BoringSSL and its reason reaches the error string. */
	cr_assert_eq(rv_hkdf_expand(big, 255 * 32, prk, sizeof(prk), NULL, 0), 0);
	cr_assert_eq(rv_hkdf_expand(big, 255 * 32 + 1, prk, sizeof(prk), NULL, 0), -EINVAL);
	rv_crypto_errors_str(ebuf, sizeof(ebuf));
	cr_assert(strstr(ebuf, "OUTPUT_TOO_LARGE") != NULL, "error string: %s", ebuf);
	cr_assert_eq(rv_hkdf(big, 255 * 32 + 1, NULL, 0, ikm, sizeof(ikm), NULL, 0), -EINVAL);
	rv_crypto_errors_str(ebuf, sizeof(ebuf));
	cr_assert_str_eq(rv_crypto_errors_str(ebuf, sizeof(ebuf)), "unknown error",
			 "queue not drained");
}

static void epoch_ref(uint8_t *out, const char *label, const uint8_t *exporter, const uint8_t *dh,
		      uint32_t epoch)
{
	uint8_t info[64];
	size_t n = strlen(label);

	memcpy(info, label, n);
	info[n] = (uint8_t)(epoch >> 24);
	info[n + 1] = (uint8_t)(epoch >> 16);
	info[n + 2] = (uint8_t)(epoch >> 8);
	info[n + 3] = (uint8_t)epoch;
	cr_assert_eq(rv_hkdf(out, 32, exporter, RV_EXPORTER_LEN, dh, 32, info, n + 4), 0);
}

/* The schedule documented in kdf.h, recomputed from the KAT-verified HKDF. */
Test(kdf, epoch_keys_follow_documented_schedule)
{
	static const uint32_t epochs[] = { 0, 1, 2, 0x01020304, UINT32_MAX };
	uint8_t exporter[RV_EXPORTER_LEN], dh[32], c2s[32], s2c[32], ref[32];

	rv_rand_bytes(exporter, sizeof(exporter));
	rv_rand_bytes(dh, sizeof(dh));
	for (size_t i = 0; i < sizeof(epochs) / sizeof(epochs[0]); i++) {
		cr_assert_eq(rv_kdf_epoch_keys(c2s, s2c, exporter, dh, epochs[i]), 0);
		epoch_ref(ref, RV_KDF_LABEL_C2S, exporter, dh, epochs[i]);
		cr_assert(memcmp(c2s, ref, 32) == 0, "epoch %u: c2s", epochs[i]);
		epoch_ref(ref, RV_KDF_LABEL_S2C, exporter, dh, epochs[i]);
		cr_assert(memcmp(s2c, ref, 32) == 0, "epoch %u: s2c", epochs[i]);
		cr_assert(memcmp(c2s, s2c, 32) != 0, "directions share a key");
	}
}

Test(kdf, epoch_keys_depend_on_every_input)
{
	uint8_t exporter[RV_EXPORTER_LEN], dh[32], base_c[32], base_s[32], c[32], s[32];

	rv_rand_bytes(exporter, sizeof(exporter));
	rv_rand_bytes(dh, sizeof(dh));
	cr_assert_eq(rv_kdf_epoch_keys(base_c, base_s, exporter, dh, 9), 0);

	cr_assert_eq(rv_kdf_epoch_keys(c, s, exporter, dh, 9), 0);
	cr_assert(memcmp(c, base_c, 32) == 0 && memcmp(s, base_s, 32) == 0, "not deterministic");
	cr_assert_eq(rv_kdf_epoch_keys(c, s, exporter, dh, 10), 0);
	cr_assert(memcmp(c, base_c, 32) != 0 && memcmp(s, base_s, 32) != 0, "epoch ignored");
	dh[31] ^= 0x80;
	cr_assert_eq(rv_kdf_epoch_keys(c, s, exporter, dh, 9), 0);
	cr_assert(memcmp(c, base_c, 32) != 0 && memcmp(s, base_s, 32) != 0, "dh ignored");
	dh[31] ^= 0x80;
	exporter[0] ^= 1;
	cr_assert_eq(rv_kdf_epoch_keys(c, s, exporter, dh, 9), 0);
	cr_assert(memcmp(c, base_c, 32) != 0 && memcmp(s, base_s, 32) != 0, "exporter ignored");
}

Test(kdf, epoch_keys_argument_checks)
{
	uint8_t e[RV_EXPORTER_LEN] = { 0 }, d[32] = { 0 }, c[32], s[32];

	cr_assert_eq(rv_kdf_epoch_keys(NULL, s, e, d, 0), -EINVAL);
	cr_assert_eq(rv_kdf_epoch_keys(c, NULL, e, d, 0), -EINVAL);
	cr_assert_eq(rv_kdf_epoch_keys(c, s, NULL, d, 0), -EINVAL);
	cr_assert_eq(rv_kdf_epoch_keys(c, s, e, NULL, 0), -EINVAL);
	cr_assert_eq(rv_kdf_epoch_keys(c, c, e, d, 0), -EINVAL, "aliased outputs accepted");
}
