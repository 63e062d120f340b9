/*
 * kdf.h — HKDF-SHA256 (RFC 5869) and the per-epoch data-key schedule.
 */
#ifndef RV_CRYPTO_KDF_H
#define RV_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

enum {
	RV_HKDF_PRK_LEN = 32,
	RV_EXPORTER_LEN = 32, /* TLS exporter secret length used by tls/ */
};

/* Labels (info strings) of the key schedule; see rv_kdf_epoch_keys. */
#define RV_KDF_LABEL_C2S "ringvpn 1 data c2s"
#define RV_KDF_LABEL_S2C "ringvpn 1 data s2c"
#define RV_TLS_EXPORTER_LABEL "EXPORTER-ringvpn-data-v1"

/* rv_hkdf_extract computes PRK = HMAC-SHA256(salt, ikm) into |out_prk|
 * (RV_HKDF_PRK_LEN bytes). Returns 0 or -EINVAL. */
int rv_hkdf_extract(uint8_t *out_prk, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
		    size_t ikm_len);

/* rv_hkdf_expand writes |out_len| bytes (at most 255*32) of HKDF-Expand(prk,
 * info) to |out|. Returns 0 or -EINVAL. */
int rv_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
		   const uint8_t *info, size_t info_len);

/* rv_hkdf is extract-then-expand. Returns 0 or -EINVAL. */
int rv_hkdf(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
	    size_t ikm_len, const uint8_t *info, size_t info_len);

/* rv_kdf_epoch_keys derives the two 32-byte directional data keys of one key
 * epoch:
 *   salt = exporter secret of the authenticated TLS session (32 bytes)
 *   ikm  = X25519 shared secret of this epoch's ephemeral exchange (32 bytes)
 *   info = label || epoch (u32 BE)
 * |out_c2s| protects client→server packets, |out_s2c| server→client.
 * Because every epoch mixes a fresh ephemeral secret, a past epoch's keys cannot
 * be computed from a later epoch's keys. All temporaries are wiped.
 * Returns 0 or -EINVAL. */
int rv_kdf_epoch_keys(uint8_t *out_c2s, uint8_t *out_s2c, const uint8_t *exporter,
		      const uint8_t *dh_secret, uint32_t epoch);

#endif /* RV_CRYPTO_KDF_H */
