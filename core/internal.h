/*
 * internal.h — core/-private declarations: the layout of struct rv_session,
 * shared by session.c (keys, counters, endpoint) and demux.c (lookup keys).
 * No other directory includes this file.
 *
 * Layout is arranged by who writes what, so that workers sealing for one
 * session on several cores do not bounce the lines other workers only read:
 *
 *   line(s)            written by                         read by
 *   keys + config      control thread (create only)       seal/open, demux add
 *   tx state           control thread, rx workers (roll)  every seal
 *   endpoint seqlock   any worker on NAT rebinding        every send
 *   tx/rx counters     workers, one add per batch         status
 *   key slot pointers  control thread (install/drop)      seal/open
 *   struct rv_keys     (separate objects, one per epoch)
 *     send_ctr         sealing workers, one add per batch
 *     replay + lock    opening workers, under the lock
 */
#ifndef RV_CORE_INTERNAL_H
#define RV_CORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/counters.h"
#include "core/ip.h"
#include "core/qsbr.h"
#include "core/replay.h"
#include "core/session.h"
#include "crypto/aead.h"

/* session.c */

enum {
	RV_KEY_SLOTS = 3, /* previous / current / next; epoch E lives in slot E % 3 */
	RV_EP_WORDS = 6,  /* struct rv_endpoint as 64-bit words for the seqlock */
};

_Static_assert(sizeof(struct rv_endpoint) <= RV_EP_WORDS * sizeof(uint64_t),
	       "endpoint fits the seqlock words");

/*
 * struct rv_keys holds one key epoch. It is allocated (from crypto/secmem,
 * outside core dumps) and filled by the control thread while no worker can
 * reach it, then published by a release store of its pointer into a session
 * slot; workers load the pointer with acquire and only then touch the keys,
 * so they see fully initialised AEAD contexts. |epoch|, |created_ns| and
 * the AEAD contexts never change after publication. Replacing or dropping an
 * epoch swaps the slot pointer and retires the old object through QSBR, so
 * the control thread never waits for the workers.
 */
struct rv_keys {
	/* Read-mostly: fixed before publication. */
	uint32_t epoch;
	uint64_t created_ns; /* monotonic, at install (passed in by the caller) */
	struct rv_aead send;
	struct rv_aead recv;
	struct rv_qsbr_node qsbr_node;

	/* Written by every sealing worker (one fetch_add per batch). */
	_Alignas(RV_CACHELINE) _Atomic uint64_t send_ctr; /* next counter to use */
	_Atomic bool rekey_reported;			  /* REKEY_SOON already returned */

	/* Receive side: |replay| is only touched with |lock| held. */
	_Alignas(RV_CACHELINE) atomic_flag lock;
	struct rv_replay replay;
};

struct rv_session {
	/*
	 * Lookup keys, copied by the demux into its own entry (demux.c): a
	 * lookup compares keys there and never touches the session itself.
	 */
	uint32_t local_index;
	uint32_t remote_index;
	uint32_t v4key;	   /* vaddr4 bytes as a native word */
	uint64_t v6key[2]; /* vaddr6 bytes as native words */
	bool has_v4;
	bool has_v6;
	bool any_source;
	bool endpoint_fixed;
	bool csum_partial;  /* the peer takes RV_DATA_F_CSUM_PARTIAL packets */
	uint8_t small_flag; /* RV_DATA_F_SMALL if the peer takes it, else 0 */
	bool published;	    /* in a demux; demux writer only */
	/* Set by rv_demux_remove before it takes anything away: a worker's
	 * packets of |s| found by index earlier in its turn are no spoof when
	 * their source check fails (up to a turn's worth, ~220, were said
	 * so: round-sixty-four tester 260). */
	_Atomic bool removed;
	uint32_t demux_entry; /* its entry there; demux writer only */
	uint16_t lane;	      /* its worker while published; demux writer only */

	/* Configuration: immutable after rv_session_new. */
	struct rv_ip_addr vaddr4;
	struct rv_ip_addr vaddr6;
	enum rv_aead_alg alg;
	_Atomic uint64_t
		rekey_after_messages; /* a reload may change it (rv_session_set_rekey_after) */
	uint64_t rekey_after_ns;
	uint64_t reject_after_ns;
	uint32_t max_epoch; /* highest ever installed; control thread */
	struct rv_qsbr_node qsbr_node;
	/* Written once by rv_session_new, before the session can be published
	 * (rv_demux_add's release stores, the demux default, a worker's
	 * inbox), and never again: a worker that reached the session through
	 * any of those reads it without a lock, and the bytes it sees are
	 * these. Only log lines read it, so it may share the read-mostly
	 * lines above. */
	char peer_name[RV_SESSION_PEER_NAME_MAX];

	/* Sending epoch and key slots: read by every seal and open, written
	 * on rekey only. tx_epoch 0 = none; slot E % 3 holds epoch E or NULL. */
	_Alignas(RV_CACHELINE) _Atomic uint32_t tx_epoch;
	/* The newest epoch the peer has sent an accepted datagram under: one
	 * of an older epoch is late, and moves no endpoint. */
	_Atomic uint32_t rx_epoch;
	_Atomic uint32_t
		rekey_request; /* the epoch it is for (0: none); rv_session_take_rekey_request */
	_Atomic bool rekey_by_peer; /* ... asked by a counter the peer chose */
	struct rv_keys *_Atomic slots[RV_KEY_SLOTS];

	/* Peer endpoint under a seqlock (even = stable); writers hold ep_lock. */
	_Alignas(RV_CACHELINE) _Atomic uint32_t ep_seq;
	atomic_flag ep_lock;
	_Atomic uint64_t ep_words[RV_EP_WORDS];

	/* Counters: inner (plaintext) bytes, one atomic add per batch. */
	_Alignas(RV_CACHELINE) _Atomic uint64_t tx_packets;
	_Atomic uint64_t tx_bytes;
	_Alignas(RV_CACHELINE) _Atomic uint64_t rx_packets;
	_Atomic uint64_t rx_bytes;
	_Atomic uint64_t last_rx_ns;
	_Atomic uint64_t drop[RV_DROP_MAX];
};

#endif /* RV_CORE_INTERNAL_H */
