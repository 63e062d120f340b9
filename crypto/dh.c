/*
 * dh.c — X25519 ephemeral key pairs (BoringSSL curve25519).
 */
#include "crypto/dh.h"

#include <errno.h>

#include "crypto/boringssl.h"

int rv_x25519_generate(struct rv_x25519 *kp)
{
	/* X25519_keypair draws from RAND_bytes, which aborts rather than fail, and
	 * clamps the scalar itself; there is no error path to report. */
	X25519_keypair(kp->pub, kp->priv);
	return 0;
}

int rv_x25519_shared(uint8_t *out, const struct rv_x25519 *kp, const uint8_t *peer_pub)
{
	/* X25519 returns 0 when the result is all zero, i.e. the peer sent a
	 * low-order point and the "secret" would be known to anyone. Such a value
	 * must never reach the key schedule, so it is an input error. */
	if (!X25519(out, kp->priv, peer_pub)) {
		OPENSSL_cleanse(out, RV_X25519_LEN);
		return -EINVAL;
	}
	return 0;
}

void rv_x25519_cleanup(struct rv_x25519 *kp)
{
	OPENSSL_cleanse(kp, sizeof(*kp));
}
