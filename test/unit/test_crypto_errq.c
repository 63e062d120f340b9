/*
 * test_crypto_errq.c — crypto/errq.c: BoringSSL's error queue drained into
 * one "lib:reason; lib:reason" string, truncation, and the empty queue.
 * Errors are provoked through our own API (HKDF output over 255*HashLen),
 * so the test needs no <openssl/…> include.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/errq.h"
#include "crypto/kdf.h"

static uint8_t big[255 * 32 + 1];

static void provoke(void)
{
	static const uint8_t prk[RV_HKDF_PRK_LEN] = { 1 };

	cr_assert_eq(rv_hkdf_expand(big, sizeof(big), prk, sizeof(prk), NULL, 0), -EINVAL);
}

Test(errq, empty_queue)
{
	char buf[64];

	cr_assert_str_eq(rv_crypto_errors_str(buf, sizeof(buf)), "unknown error");
	cr_assert_str_eq(buf, "unknown error");
}

Test(errq, joins_reasons_oldest_first_and_drains)
{
	char one[128], two[300], want[300];

	provoke();
	rv_crypto_errors_str(one, sizeof(one));
	/* "<library>:OUTPUT_TOO_LARGE", with a non-empty library name. */
	cr_assert(strstr(one, ":OUTPUT_TOO_LARGE") != NULL && one[0] != ':', "got '%s'", one);
	cr_assert(strchr(one, ';') == NULL, "one error, one entry: '%s'", one);

	provoke();
	provoke();
	rv_crypto_errors_str(two, sizeof(two));
	snprintf(want, sizeof(want), "%s; %s", one, one);
	cr_assert_str_eq(two, want);
	cr_assert_str_eq(rv_crypto_errors_str(two, sizeof(two)), "unknown error",
			 "queue not drained");
}

Test(errq, truncates_and_still_drains)
{
	char small[10], buf[64];

	memset(small, 'x', sizeof(small));
	provoke();
	provoke();
	cr_assert_eq(rv_crypto_errors_str(small, sizeof(small)), small);
	cr_assert_eq(strlen(small), sizeof(small) - 1, "'%s' not truncated to fit", small);
	cr_assert_str_eq(rv_crypto_errors_str(buf, sizeof(buf)), "unknown error");

	/* Degenerate buffers: no write, queue still cleared. */
	provoke();
	cr_assert_str_eq(rv_crypto_errors_str(NULL, 0), "unknown error");
	cr_assert_str_eq(rv_crypto_errors_str(buf, sizeof(buf)), "unknown error");
	provoke();
	small[0] = 'x';
	rv_crypto_errors_str(small, 1);
	cr_assert_eq(small[0], '\0');
	cr_assert_str_eq(rv_crypto_errors_str(buf, sizeof(buf)), "unknown error");
}
