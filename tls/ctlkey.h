/*
 * ctlkey.h — the key-epoch exchange shared by ctl_server and ctl_client.
 *
 * One struct rv_ctlkey per control session holds the TLS exporter secret
 * (salt of every epoch) and the state of at most one exchange in flight:
 *
 *   initiator: rv_ctlkey_initiate -> KEY(E, pub) ... KEY_ACK(E, peer) ->
 *              rv_ctlkey_complete (derive, install E, activate E) -> KEY_CONFIRM(E)
 *   responder: KEY(E, peer) -> rv_ctlkey_respond (derive, install E for
 *              receiving) -> KEY_ACK(E, pub) ... KEY_CONFIRM(E) ->
 *              rv_ctlkey_confirmed (activate E)
 *
 * Epoch keys come from crypto/kdf.h (salt = exporter, ikm = X25519 shared
 * secret of this epoch), so each epoch's keys are independent: the ephemeral
 * private keys are wiped as soon as the epoch is derived. Control thread only.
 */
#ifndef RV_TLS_CTLKEY_H
#define RV_TLS_CTLKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ctlmsg.h"
#include "crypto/dh.h"
#include "crypto/kdf.h"

struct rv_session;
struct rv_qsbr;

struct rv_ctlkey {
	uint8_t exporter[RV_EXPORTER_LEN];
	bool is_server;
	uint32_t installed;	 /* newest epoch installed in the session (0: none) */
	uint32_t active;	 /* newest epoch we activated for sending */
	uint32_t initiated;	 /* epoch of our KEY in flight (0: none) */
	uint32_t responded;	 /* epoch we acknowledged, awaiting KEY_CONFIRM (0: none) */
	struct rv_x25519 kp;	 /* our ephemeral pair while |initiated| != 0 */
	uint64_t last_change_ns; /* when the newest epoch was installed */
	uint64_t last_began_ns;	 /* when its exchange began here: our KEY sent, or theirs in */
	uint64_t busy_since_ns;	 /* when the exchange in flight began */
	uint64_t num_rekeys;	 /* exchanges completed, the first included */
	uint32_t retired;	 /* epochs up to this one dropped (rv_ctlkey_retire) */
	char why[96];		 /* why the last KEY or KEY_ACK was rejected */
};

enum {
	/* How long an epoch two behind the sending one is kept after the
	 * newest epoch came (rv_ctlkey_retire): for datagrams on their way. */
	RV_CTLKEY_RETIRE_S = 30,
};

/* rv_ctlkey_init sets up |k| with the 32-byte |exporter| (copied; the caller
 * wipes its copy). */
void rv_ctlkey_init(struct rv_ctlkey *k, bool is_server, const uint8_t *exporter);

/* rv_ctlkey_cleanup wipes every secret in |k|. Safe on a zero state. */
void rv_ctlkey_cleanup(struct rv_ctlkey *k);

/* rv_ctlkey_busy: an exchange is in flight. rv_ctlkey_pending is its epoch
 * (0: none). */
bool rv_ctlkey_busy(const struct rv_ctlkey *k);
uint32_t rv_ctlkey_pending(const struct rv_ctlkey *k);

/* rv_ctlkey_why: why rv_ctlkey_respond or rv_ctlkey_complete last
 * returned -EPROTO, or strerror's words for |err| otherwise. */
const char *rv_ctlkey_why(const struct rv_ctlkey *k, int err);

/* rv_ctlkey_initiate starts epoch installed+1: fills |out| with KEY. Returns
 * 0, -EBUSY (exchange in flight) or -EIO. */
int rv_ctlkey_initiate(struct rv_ctlkey *k, struct rv_ctl_msg *out, uint64_t now_ns);

/* rv_ctlkey_respond handles the peer's KEY: derives and installs the epoch for
 * receiving and fills |out| with KEY_ACK. Returns 0; -EALREADY when the KEY
 * lost a simultaneous-start race and must be ignored; -EPROTO (wrong epoch,
 * bad public key) or -ENOMEM. */
int rv_ctlkey_respond(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q,
		      const struct rv_ctl_key *in, struct rv_ctl_msg *out, uint64_t now_ns);

/* rv_ctlkey_complete handles KEY_ACK for our KEY: derives, installs and
 * activates the epoch, fills |out| with KEY_CONFIRM. Returns 0, -EPROTO or
 * -ENOMEM. */
int rv_ctlkey_complete(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q,
		       const struct rv_ctl_key *ack, struct rv_ctl_msg *out, uint64_t now_ns);

/* rv_ctlkey_retire drops from |s| the epochs two or more behind the active
 * one once the newest epoch is RV_CTLKEY_RETIRE_S old, their keys wiped
 * after a grace period of |q|. Nothing can come under them any more: the
 * peer reached the active epoch's exchange only after the one before it
 * was confirmed on both sides (in order, on one TCP stream). The slot would
 * otherwise keep them (and their keys in memory) until the next rekey but
 * one. Control thread; a no-op while an exchange is in flight. */
void rv_ctlkey_retire(struct rv_ctlkey *k, struct rv_session *s, struct rv_qsbr *q,
		      uint64_t now_ns);

/* rv_ctlkey_confirmed handles KEY_CONFIRM: activates the epoch for sending.
 * Returns 0 or -EPROTO. */
int rv_ctlkey_confirmed(struct rv_ctlkey *k, struct rv_session *s, uint32_t epoch);

#endif /* RV_TLS_CTLKEY_H */
