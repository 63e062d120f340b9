/*
 * dh.h — X25519 ephemeral key pairs for per-epoch forward secrecy.
 */
#ifndef RV_CRYPTO_DH_H
#define RV_CRYPTO_DH_H

#include <stdint.h>

enum { RV_X25519_LEN = 32 };

/* struct rv_x25519 is one ephemeral key pair; zero state is safe to clean up. */
struct rv_x25519 {
	uint8_t priv[RV_X25519_LEN];
	uint8_t pub[RV_X25519_LEN];
};

/* rv_x25519_generate fills |kp| with a fresh key pair. Returns 0 or -EIO. */
int rv_x25519_generate(struct rv_x25519 *kp);

/* rv_x25519_shared computes the shared secret with |peer_pub| into |out|.
 * Returns 0, or -EINVAL if the peer's key is a low-order point (all-zero output). */
int rv_x25519_shared(uint8_t *out, const struct rv_x25519 *kp, const uint8_t *peer_pub);

/* rv_x25519_cleanup wipes |kp|. */
void rv_x25519_cleanup(struct rv_x25519 *kp);

#endif /* RV_CRYPTO_DH_H */
