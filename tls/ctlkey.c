/*
 * ctlkey.c — per-epoch key exchange (see ctlkey.h).
 *
 * Every secret lives on the stack only for the duration of one derivation
 * and is wiped before the function returns, on every path.
 */
#include "tls/ctlkey.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/session.h"
#include "crypto/aead.h"
#include "crypto/mem.h"

void rv_ctlkey_init(struct rv_ctlkey *k, bool is_server, const uint8_t *exporter)
{
	memset(k, 0, sizeof(*k));
	k->is_server = is_server;
	memcpy(k->exporter, exporter, RV_EXPORTER_LEN);
}

void rv_ctlkey_cleanup(struct rv_ctlkey *k)
{
	rv_x25519_cleanup(&k->kp);
	rv_memzero(k, sizeof(*k));
}

bool rv_ctlkey_busy(const struct rv_ctlkey *k)
{
	return k->initiated != 0 || k->responded != 0;
}

uint32_t rv_ctlkey_pending(const struct rv_ctlkey *k)
{
	return k->initiated ? k->initiated : k->responded;
}

/* reject says why a KEY or KEY_ACK is refused (the log said "Protocol
 * error" for each: round-thirty-six tester 181) and returns -EPROTO. */
static int __attribute__((format(printf, 2, 3))) reject(struct rv_ctlkey *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->why, sizeof(k->why), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

const char *rv_ctlkey_why(const struct rv_ctlkey *k, int err)
{
	return err == -EPROTO && k->why[0] ? k->why : strerror(-err);
}

/* derive_install computes epoch |epoch|'s keys from our pair |kp| and
 * |peer_pub| and installs them in |s| with our direction as sender. */
static int derive_install(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q,
			  const struct rv_x25519 *kp, const uint8_t *peer_pub, uint32_t epoch,
			  uint64_t now_ns)
{
	uint8_t shared[RV_X25519_LEN];
	uint8_t c2s[RV_AEAD_KEY_LEN], s2c[RV_AEAD_KEY_LEN];
	int ret;

	ret = rv_x25519_shared(shared, kp, peer_pub);
	if (ret) {
		/* a broken or hostile peer */
		ret = reject(k, "its public key is a low-order point (no shared secret)");
		goto out;
	}
	ret = rv_kdf_epoch_keys(c2s, s2c, k->exporter, shared, epoch);
	if (ret) {
		goto out;
	}
	if (k->is_server) {
		ret = rv_session_install_epoch(s, q, epoch, s2c, c2s, now_ns);
	} else {
		ret = rv_session_install_epoch(s, q, epoch, c2s, s2c, now_ns);
	}
	if (ret == -EINVAL) {
		ret = reject(k, "epoch %u cannot be installed in the session", epoch);
	}
out:
	rv_memzero(shared, sizeof(shared));
	rv_memzero(c2s, sizeof(c2s));
	rv_memzero(s2c, sizeof(s2c));
	return ret;
}

int rv_ctlkey_initiate(struct rv_ctlkey *k, struct rv_ctl_msg *out, uint64_t now_ns)
{
	if (rv_ctlkey_busy(k)) {
		return -EBUSY;
	}
	if (rv_x25519_generate(&k->kp)) {
		return -EIO;
	}
	k->initiated = k->installed + 1;
	k->busy_since_ns = now_ns;
	memset(out, 0, sizeof(*out));
	out->type = RV_CTL_KEY;
	out->key.epoch = k->initiated;
	memcpy(out->key.pub, k->kp.pub, RV_CTL_PUB_LEN);
	return 0;
}

int rv_ctlkey_respond(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q,
		      const struct rv_ctl_key *in, struct rv_ctl_msg *out, uint64_t now_ns)
{
	struct rv_x25519 kp;
	int ret;

	if (k->initiated) {
		/* Both sides started the same epoch at once: the server's KEY
		 * wins, so the server ignores the client's and the client drops
		 * its own and answers the server's. */
		if (in->epoch != k->initiated) {
			return reject(k, "epoch %u while this end's exchange for epoch %u is in flight",
				      in->epoch, k->initiated);
		}
		if (k->is_server) {
			return -EALREADY;
		}
		rv_x25519_cleanup(&k->kp);
		k->initiated = 0;
	}
	if (k->responded) {
		return reject(k, "an exchange for epoch %u waits for its KEY_CONFIRM",
			      k->responded);
	}
	if (in->epoch != k->installed + 1) {
		return reject(k, "expected epoch %u", k->installed + 1);
	}
	memset(&kp, 0, sizeof(kp));
	if (rv_x25519_generate(&kp)) {
		ret = -EIO;
		goto out;
	}
	ret = derive_install(k, s, q, &kp, in->pub, in->epoch, now_ns);
	if (ret) {
		goto out;
	}
	k->installed = in->epoch;
	k->responded = in->epoch;
	k->last_change_ns = now_ns;
	k->last_began_ns = now_ns;
	k->busy_since_ns = now_ns;
	memset(out, 0, sizeof(*out));
	out->type = RV_CTL_KEY_ACK;
	out->key.epoch = in->epoch;
	memcpy(out->key.pub, kp.pub, RV_CTL_PUB_LEN);
	ret = 0;
out:
	rv_x25519_cleanup(&kp);
	return ret;
}

int rv_ctlkey_complete(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q,
		       const struct rv_ctl_key *ack, struct rv_ctl_msg *out, uint64_t now_ns)
{
	int ret;

	if (!k->initiated) {
		return reject(k, "this end started no exchange");
	}
	if (ack->epoch != k->initiated) {
		return reject(k, "this end's exchange is for epoch %u", k->initiated);
	}
	ret = derive_install(k, s, q, &k->kp, ack->pub, ack->epoch, now_ns);
	rv_x25519_cleanup(&k->kp);
	k->initiated = 0;
	if (ret) {
		return ret;
	}
	/* The peer installed the epoch for receiving before it sent KEY_ACK,
	 * so we may send under it at once. */
	if (rv_session_activate_epoch(s, ack->epoch)) {
		return reject(k, "epoch %u cannot be activated in the session", ack->epoch);
	}
	k->installed = ack->epoch;
	k->active = ack->epoch;
	k->last_change_ns = now_ns;
	k->last_began_ns = k->busy_since_ns;
	k->num_rekeys++;
	memset(out, 0, sizeof(*out));
	out->type = RV_CTL_KEY_CONFIRM;
	out->confirm_epoch = ack->epoch;
	return 0;
}

void rv_ctlkey_retire(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q, uint64_t now_ns)
{
	if (rv_ctlkey_busy(k) || k->active < 3 || k->retired >= k->active - 2 ||
	    now_ns < k->last_change_ns + (uint64_t)RV_CTLKEY_RETIRE_S * RV_NSEC_PER_SEC) {
		return;
	}
	/* Three slots: active - 2 is the only older epoch one can hold. */
	(void)rv_session_drop_epoch(s, q, k->active - 2);
	k->retired = k->active - 2;
}

int rv_ctlkey_confirmed(struct rv_ctlkey *k, struct rv_session *s, uint32_t epoch)
{
	if (!k->responded || epoch != k->responded) {
		return -EPROTO;
	}
	k->responded = 0;
	/* The data plane may already have switched on the first packet under
	 * this epoch (KEY_ROLLED); activating again is then a no-op. */
	if (rv_session_tx_epoch(s) < epoch && rv_session_activate_epoch(s, epoch)) {
		return -EPROTO;
	}
	k->active = epoch;
	k->num_rekeys++;
	return 0;
}
