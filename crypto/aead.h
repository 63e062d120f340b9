/*
 * aead.h — in-place AEAD seal/open for data packets (BoringSSL EVP_AEAD).
 *
 * A packet buffer is laid out as  header (AAD) | payload | tag  and sealed or
 * opened in place: the payload is encrypted where it lies and the 16-byte tag
 * is written right after it (so the buffer needs RV_AEAD_TAG_LEN of tailroom).
 * The 96-bit nonce is 4 zero bytes followed by the 64-bit counter, big-endian.
 *
 * Thread safety: after rv_aead_init returns, rv_aead_seal and rv_aead_open may
 * be called concurrently from any number of threads on one struct rv_aead
 * (BoringSSL's seal/open do not modify the context). init and cleanup must not
 * race with any other call on the same object.
 */
#ifndef RV_CRYPTO_AEAD_H
#define RV_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rv_aead_alg {
	RV_AEAD_NONE = 0,
	RV_AEAD_AES256GCM = 1,	      /* default: AES-NI */
	RV_AEAD_CHACHA20POLY1305 = 2, /* for CPUs without AES instructions */
};

enum {
	RV_AEAD_KEY_LEN = 32,
	RV_AEAD_TAG_LEN = 16,
	RV_AEAD_NONCE_LEN = 12,
	RV_AEAD_CTX_STORAGE = 640,
};

/* struct rv_aead embeds BoringSSL's EVP_AEAD_CTX in opaque storage so that
 * modules outside crypto/ never include <openssl/…>. The zero state is valid
 * and safe to clean up. */
struct rv_aead {
	_Alignas(16) uint8_t storage[RV_AEAD_CTX_STORAGE];
	uint8_t alg; /* enum rv_aead_alg; RV_AEAD_NONE when not initialised */
};

/* rv_aead_init sets up |aead| with |alg| and a RV_AEAD_KEY_LEN-byte |key|
 * (copied; the caller wipes its own copy). |aead| must be in the zero state or
 * initialised; an initialised object is re-keyed and its old key wiped.
 * Returns 0 or -EINVAL/-ENOMEM; on failure |aead| is in the zero state. */
int rv_aead_init(struct rv_aead *aead, enum rv_aead_alg alg, const uint8_t *key);

/* rv_aead_cleanup wipes the key schedule and returns |aead| to the zero state.
 * Safe on a zero-state object. */
void rv_aead_cleanup(struct rv_aead *aead);

/* rv_aead_ready reports whether |aead| holds a key. */
bool rv_aead_ready(const struct rv_aead *aead);

/* rv_aead_seal encrypts |len| bytes at |buf| in place under |counter| with
 * |ad_len| bytes of additional data at |ad| and writes the tag to |buf + len|.
 * Returns 0, or -EINVAL if not initialised or if BoringSSL refuses. */
int rv_aead_seal(const struct rv_aead *aead, uint64_t counter, uint8_t *buf, size_t len,
		 const uint8_t *ad, size_t ad_len);

/* rv_aead_open authenticates and decrypts in place |len| bytes at |buf| that
 * end with the tag; on success the plaintext is the first len - RV_AEAD_TAG_LEN
 * bytes. Returns 0, -EBADMSG on authentication failure (buffer contents then
 * unspecified), or -EINVAL for len < tag or an uninitialised context.
 * -EBADMSG is an expected outcome for forged packets: it leaves nothing in the
 * calling thread's BoringSSL error queue. */
int rv_aead_open(const struct rv_aead *aead, uint64_t counter, uint8_t *buf, size_t len,
		 const uint8_t *ad, size_t ad_len);

/* rv_aead_seal_ext is rv_aead_seal with the plaintext in two pieces: |len|
 * bytes at |buf|, encrypted in place, followed by |extra_len| bytes at
 * |extra|, which is only read; its ciphertext is written to buf + len and the
 * tag to buf + len + extra_len. So one call seals a packet whose headers were
 * built in the send buffer and whose payload still lies elsewhere (a slice of
 * a TUN superframe) without copying the payload first. |extra| must not
 * overlap buf[0, len + extra_len + RV_AEAD_TAG_LEN); extra_len 0 is
 * rv_aead_seal. Same nonce, return values and thread safety as rv_aead_seal
 * (added by uring's data plane; backward compatible). */
int rv_aead_seal_ext(const struct rv_aead *aead, uint64_t counter, uint8_t *buf, size_t len,
		     const uint8_t *extra, size_t extra_len, const uint8_t *ad, size_t ad_len);

/*
 * For known-answer tests only (added by crypto/, backward compatible).
 * rv_aead_seal_iv and rv_aead_open_iv behave exactly like rv_aead_seal and
 * rv_aead_open (same in-place layout, same return values, same code path)
 * but take a whole RV_AEAD_NONCE_LEN-byte |nonce| instead of a counter, so
 * that published vectors with arbitrary IVs can be checked. The data path must
 * not call them: ringvpn's nonce is always 4 zero bytes || counter.
 */
int rv_aead_seal_iv(const struct rv_aead *aead, const uint8_t *nonce, uint8_t *buf, size_t len,
		    const uint8_t *ad, size_t ad_len);
int rv_aead_open_iv(const struct rv_aead *aead, const uint8_t *nonce, uint8_t *buf, size_t len,
		    const uint8_t *ad, size_t ad_len);

/* rv_aead_alg_name / rv_aead_alg_parse map to and from "aes-256-gcm" and
 * "chacha20-poly1305". parse returns RV_AEAD_NONE for an unknown name. */
const char *rv_aead_alg_name(enum rv_aead_alg alg);
enum rv_aead_alg rv_aead_alg_parse(const char *name);

#endif /* RV_CRYPTO_AEAD_H */
