/*
 * kdf.c — HKDF-SHA256 (RFC 5869) over BoringSSL and the per-epoch data-key
 * schedule. See kdf.h for the derivation.
 */
#include "crypto/kdf.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/boringssl.h"
#include "crypto/dh.h"

/* A zero-length salt, ikm or info may be passed as NULL. BoringSSL copes, but
 * handing memcpy/HMAC a NULL pointer is undefined behaviour even for length 0,
 * so substitute a real (empty) object. A NULL pointer with a non-zero length
 * is a caller bug and is rejected. */
static const uint8_t empty[1];

static bool fix_ptr(const uint8_t **p, size_t len)
{
	if (*p == NULL) {
		if (len != 0) {
			return false;
		}
		*p = empty;
	}
	return true;
}

int rv_hkdf_extract(uint8_t *out_prk, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
		    size_t ikm_len)
{
	size_t prk_len;

	if (out_prk == NULL || !fix_ptr(&salt, salt_len) || !fix_ptr(&ikm, ikm_len)) {
		return -EINVAL;
	}
	if (!HKDF_extract(out_prk, &prk_len, EVP_sha256(), ikm, ikm_len, salt, salt_len)) {
		return -EINVAL;
	}
	/* Cannot differ for SHA-256; a mismatch would mean a wrong digest. */
	if (prk_len != RV_HKDF_PRK_LEN) {
		OPENSSL_cleanse(out_prk, prk_len);
		return -EINVAL;
	}
	return 0;
}

int rv_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
		   const uint8_t *info, size_t info_len)
{
	/* RFC 5869 §2.3: PRK is "at least HashLen octets"; a shorter one is a
	 * caller mixing up buffers, not a key. The 255*HashLen output limit is
	 * left to BoringSSL so that its error queue names the reason
	 * (HKDF:OUTPUT_TOO_LARGE) for the caller's log line. */
	if (out == NULL || prk == NULL || prk_len < RV_HKDF_PRK_LEN || !fix_ptr(&info, info_len)) {
		return -EINVAL;
	}
	if (!HKDF_expand(out, out_len, EVP_sha256(), prk, prk_len, info, info_len)) {
		return -EINVAL;
	}
	return 0;
}

int rv_hkdf(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
	    size_t ikm_len, const uint8_t *info, size_t info_len)
{
	if (out == NULL || !fix_ptr(&salt, salt_len) || !fix_ptr(&ikm, ikm_len) ||
	    !fix_ptr(&info, info_len)) {
		return -EINVAL;
	}
	/* BoringSSL's HKDF wipes its own PRK temporary. */
	if (!HKDF(out, out_len, EVP_sha256(), ikm, ikm_len, salt, salt_len, info, info_len)) {
		return -EINVAL;
	}
	return 0;
}

enum {
	EPOCH_KEY_LEN = RV_AEAD_KEY_LEN, /* each output is one data-plane AEAD key */
	LABEL_MAX = 32,
};

/* build_info writes label || epoch (u32 big-endian) to |out| and returns its
 * length. The labels are compile-time constants that fit in LABEL_MAX. */
static size_t build_info(uint8_t out[LABEL_MAX + 4], const char *label, size_t label_len,
			 uint32_t epoch)
{
	memcpy(out, label, label_len);
	out[label_len + 0] = (uint8_t)(epoch >> 24);
	out[label_len + 1] = (uint8_t)(epoch >> 16);
	out[label_len + 2] = (uint8_t)(epoch >> 8);
	out[label_len + 3] = (uint8_t)epoch;
	return label_len + 4;
}

_Static_assert(sizeof(RV_KDF_LABEL_C2S) - 1 <= LABEL_MAX, "c2s label too long");
_Static_assert(sizeof(RV_KDF_LABEL_S2C) - 1 <= LABEL_MAX, "s2c label too long");

int rv_kdf_epoch_keys(uint8_t *out_c2s, uint8_t *out_s2c, const uint8_t *exporter,
		      const uint8_t *dh_secret, uint32_t epoch)
{
	uint8_t prk[RV_HKDF_PRK_LEN];
	uint8_t info[LABEL_MAX + 4];
	size_t info_len;
	int ret;

	if (out_c2s == NULL || out_s2c == NULL || exporter == NULL || dh_secret == NULL ||
	    out_c2s == out_s2c) {
		return -EINVAL;
	}
	/* The exporter authenticates (it is bound to the TLS session and both
	 * certificates); the DH secret gives forward secrecy per epoch. HKDF's
	 * extract step is a PRF keyed by the salt, so the exporter goes there and
	 * the fresh secret is the input keying material. */
	ret = rv_hkdf_extract(prk, exporter, RV_EXPORTER_LEN, dh_secret, RV_X25519_LEN);
	if (ret < 0) {
		goto out;
	}
	info_len = build_info(info, RV_KDF_LABEL_C2S, sizeof(RV_KDF_LABEL_C2S) - 1, epoch);
	ret = rv_hkdf_expand(out_c2s, EPOCH_KEY_LEN, prk, sizeof(prk), info, info_len);
	if (ret < 0) {
		goto out;
	}
	info_len = build_info(info, RV_KDF_LABEL_S2C, sizeof(RV_KDF_LABEL_S2C) - 1, epoch);
	ret = rv_hkdf_expand(out_s2c, EPOCH_KEY_LEN, prk, sizeof(prk), info, info_len);
	if (ret < 0) {
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		/* Never hand back half a key schedule. */
		OPENSSL_cleanse(out_c2s, EPOCH_KEY_LEN);
		OPENSSL_cleanse(out_s2c, EPOCH_KEY_LEN);
	}
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(info, sizeof(info));
	return ret;
}
