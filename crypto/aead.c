/*
 * aead.c — in-place AEAD seal/open for data packets over BoringSSL EVP_AEAD.
 *
 * This is the per-packet hot path: a call costs one 12-byte nonce build plus
 * one EVP_AEAD_CTX_seal_scatter/open_gather. No allocation, no lock, no
 * branch beyond the "initialised?" check. perf/bench_aead.c measures it
 * against bare EVP_AEAD_CTX_seal/open in the same run.
 *
 * Concurrency: EVP_AEAD_CTX_seal_scatter and EVP_AEAD_CTX_open_gather take a
 * const context and keep all per-call state (counter blocks, GHASH
 * accumulator) on the stack, so any number of workers may seal and open with
 * one struct rv_aead at once. Nonce uniqueness is the caller's job (one
 * atomic counter per key and direction, see core/session).
 */
#include "crypto/aead.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto/boringssl.h"

#define unlikely(x) __builtin_expect(!!(x), 0)

/* struct rv_aead's storage must hold an EVP_AEAD_CTX at its alignment. If a
 * BoringSSL update grows the context, this fails the build instead of
 * corrupting memory; raise RV_AEAD_CTX_STORAGE in aead.h then. */
_Static_assert(sizeof(EVP_AEAD_CTX) <= RV_AEAD_CTX_STORAGE,
	       "EVP_AEAD_CTX does not fit in struct rv_aead storage");
_Static_assert(_Alignof(EVP_AEAD_CTX) <= _Alignof(struct rv_aead),
	       "struct rv_aead storage is under-aligned for EVP_AEAD_CTX");
_Static_assert(RV_AEAD_KEY_LEN == 32 && RV_AEAD_TAG_LEN == 16 && RV_AEAD_NONCE_LEN == 12,
	       "aead.h constants disagree with AES-256-GCM / ChaCha20-Poly1305");

/* The storage is only ever touched through BoringSSL (which owns the layout)
 * and through OPENSSL_cleanse, never read as bytes by our code. */
static inline EVP_AEAD_CTX *ctx_of(struct rv_aead *aead)
{
	return (EVP_AEAD_CTX *)(void *)aead->storage;
}

static inline const EVP_AEAD_CTX *cctx_of(const struct rv_aead *aead)
{
	return (const EVP_AEAD_CTX *)(const void *)aead->storage;
}

static const EVP_AEAD *evp_aead_of(enum rv_aead_alg alg)
{
	switch (alg) {
	case RV_AEAD_AES256GCM:
		return EVP_aead_aes_256_gcm();
	case RV_AEAD_CHACHA20POLY1305:
		return EVP_aead_chacha20_poly1305();
	case RV_AEAD_NONE:
		break;
	}
	return NULL;
}

int rv_aead_init(struct rv_aead *aead, enum rv_aead_alg alg, const uint8_t *key)
{
	const EVP_AEAD *evp = evp_aead_of(alg);

	/* Re-keying an object in place must not leave the old schedule behind,
	 * and a failed init leaves the zero state whatever was there before. */
	rv_aead_cleanup(aead);
	if (evp == NULL || key == NULL) {
		return -EINVAL;
	}
	if (!EVP_AEAD_CTX_init(ctx_of(aead), evp, key, RV_AEAD_KEY_LEN, RV_AEAD_TAG_LEN, NULL)) {
		/* Only an allocation failure inside BoringSSL can get here (key
		 * and tag lengths are fixed above). The error queue is left for
		 * the caller's rv_crypto_errors_str. */
		OPENSSL_cleanse(aead->storage, sizeof(aead->storage));
		return -ENOMEM;
	}
	aead->alg = (uint8_t)alg;
	return 0;
}

void rv_aead_cleanup(struct rv_aead *aead)
{
	/* The all-zero storage is EVP_AEAD_CTX's zero state (EVP_AEAD_CTX_zero is
	 * a memset), so cleanup is also safe on a never-initialised object. */
	if (aead->alg != RV_AEAD_NONE) {
		EVP_AEAD_CTX_cleanup(ctx_of(aead));
	}
	OPENSSL_cleanse(aead->storage, sizeof(aead->storage));
	aead->alg = RV_AEAD_NONE;
}

bool rv_aead_ready(const struct rv_aead *aead)
{
	return aead->alg != RV_AEAD_NONE;
}

/* nonce = 0^32 || counter (u64 big-endian); the same layout WireGuard and
 * TLS 1.3 use, with the fixed prefix zero because every key is used in one
 * direction only. */
static inline void nonce_build(uint8_t nonce[RV_AEAD_NONCE_LEN], uint64_t counter)
{
	uint64_t be = htobe64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &be, sizeof(be));
}

static inline int seal_nonce(const struct rv_aead *aead, const uint8_t *nonce, uint8_t *buf,
			     size_t len, const uint8_t *ad, size_t ad_len)
{
	size_t tag_len;

	if (unlikely(aead->alg == RV_AEAD_NONE)) {
		return -EINVAL;
	}
	/* out == in (allowed by seal_scatter: buffers equal or disjoint), and the
	 * tag lands right after the payload, so header | payload | tag stays one
	 * contiguous buffer ready for sendmsg. */
	if (unlikely(!EVP_AEAD_CTX_seal_scatter(cctx_of(aead), buf, buf + len, &tag_len,
						RV_AEAD_TAG_LEN, nonce, RV_AEAD_NONCE_LEN, buf, len,
						NULL, 0, ad, ad_len))) {
		/* Only lengths beyond GCM's 2^36-byte limit get here; the queue
		 * keeps BoringSSL's reason for the caller. */
		return -EINVAL;
	}
	return 0;
}

static inline int open_nonce(const struct rv_aead *aead, const uint8_t *nonce, uint8_t *buf,
			     size_t len, const uint8_t *ad, size_t ad_len)
{
	size_t ct_len;

	if (unlikely(aead->alg == RV_AEAD_NONE || len < RV_AEAD_TAG_LEN)) {
		return -EINVAL;
	}
	ct_len = len - RV_AEAD_TAG_LEN;
	/* open_gather authenticates before it reports success, and on failure
	 * BoringSSL has already wiped the output (here: the buffer). */
	if (unlikely(!EVP_AEAD_CTX_open_gather(cctx_of(aead), buf, nonce, RV_AEAD_NONCE_LEN, buf,
					       ct_len, buf + ct_len, RV_AEAD_TAG_LEN, ad,
					       ad_len))) {
		/* A forged or corrupted packet is an expected outcome that the
		 * caller counts, not an error to log: drop BoringSSL's
		 * CIPHER:BAD_DECRYPT so it cannot pile up in this worker
		 * thread's queue and surface in an unrelated message. */
		ERR_clear_error();
		return -EBADMSG;
	}
	return 0;
}

int rv_aead_seal(const struct rv_aead *aead, uint64_t counter, uint8_t *buf, size_t len,
		 const uint8_t *ad, size_t ad_len)
{
	uint8_t nonce[RV_AEAD_NONCE_LEN];

	nonce_build(nonce, counter);
	return seal_nonce(aead, nonce, buf, len, ad, ad_len);
}

int rv_aead_seal_ext(const struct rv_aead *aead, uint64_t counter, uint8_t *buf, size_t len,
		     const uint8_t *extra, size_t extra_len, const uint8_t *ad, size_t ad_len)
{
	uint8_t nonce[RV_AEAD_NONCE_LEN];
	size_t tag_len;

	if (unlikely(aead->alg == RV_AEAD_NONE)) {
		return -EINVAL;
	}
	nonce_build(nonce, counter);
	/* seal_scatter's extra_in: |extra| is encrypted after |buf| in one
	 * GCM/Poly1305 stream and its ciphertext is written to out_tag ahead of
	 * the tag, so header | payload | tag comes out contiguous at |buf|. Both
	 * AES-GCM and ChaCha20-Poly1305 support extra_in in BoringSSL. */
	if (unlikely(!EVP_AEAD_CTX_seal_scatter(cctx_of(aead), buf, buf + len, &tag_len,
						extra_len + RV_AEAD_TAG_LEN, nonce,
						RV_AEAD_NONCE_LEN, buf, len, extra, extra_len, ad,
						ad_len))) {
		return -EINVAL;
	}
	return 0;
}

int rv_aead_open(const struct rv_aead *aead, uint64_t counter, uint8_t *buf, size_t len,
		 const uint8_t *ad, size_t ad_len)
{
	uint8_t nonce[RV_AEAD_NONCE_LEN];

	nonce_build(nonce, counter);
	return open_nonce(aead, nonce, buf, len, ad, ad_len);
}

int rv_aead_seal_iv(const struct rv_aead *aead, const uint8_t *nonce, uint8_t *buf, size_t len,
		    const uint8_t *ad, size_t ad_len)
{
	return seal_nonce(aead, nonce, buf, len, ad, ad_len);
}

int rv_aead_open_iv(const struct rv_aead *aead, const uint8_t *nonce, uint8_t *buf, size_t len,
		    const uint8_t *ad, size_t ad_len)
{
	return open_nonce(aead, nonce, buf, len, ad, ad_len);
}

static const struct {
	enum rv_aead_alg alg;
	const char *name;
} alg_names[] = {
	{ RV_AEAD_AES256GCM, "aes-256-gcm" },
	{ RV_AEAD_CHACHA20POLY1305, "chacha20-poly1305" },
};

const char *rv_aead_alg_name(enum rv_aead_alg alg)
{
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
		if (alg_names[i].alg == alg) {
			return alg_names[i].name;
		}
	}
	return "none";
}

enum rv_aead_alg rv_aead_alg_parse(const char *name)
{
	if (name == NULL) {
		return RV_AEAD_NONE;
	}
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
		if (strcmp(alg_names[i].name, name) == 0) {
			return alg_names[i].alg;
		}
	}
	return RV_AEAD_NONE;
}
