/*
 * server_side.h — the server role's own state, shared by the files that
 * make up the role: admit.c (listening, admission, authentication, one
 * session per name, operator actions) and srvconf.c (applying a reloaded
 * configuration). Private to tls/.
 */
#ifndef RV_TLS_SERVER_SIDE_H
#define RV_TLS_SERVER_SIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/admit.h"
#include "core/balance.h"
#include "core/status.h"
#include "crypto/siphash.h"
#include "tls/internal.h"

struct rv_config;
struct rv_ippool;
struct rv_leasefile;
struct rv_leases;
struct rv_nametab;

struct rv_server_side {
	int listen_fd;
	bool accept_armed;
	struct rv_ltimer accept_retry;
	uint64_t accept_fails; /* in a row, until one succeeds */
	int accept_err;	       /* the last one's errno */
	uint64_t accept_fail_since_ns, accept_fail_logged_ns;
	struct rv_admit *admit;
	struct rv_nametab *names;
	/* Authenticated connections whose HELLO is not taken yet, one per
	 * name (the newest): they hold no session, and were counted nowhere:
	 * one certificate filled every connection slot with them (a hostile
	 * tester). */
	struct rv_nametab *waiting;
	/* Of those waiting, the ones whose name holds a session too: such a
	 * one takes that session's place at its HELLO, not another (counted
	 * twice, a name kept other clients off a full server: round-twenty-
	 * nine tester 142). Kept by admit.c's wait_add/wait_del/name_del. */
	size_t waiting_named;
	struct rv_leases *leases;
	struct rv_leasefile *lease_file; /* NULL: leases kept in memory only */
	struct rv_ltimer lease_timer;
	/* counters for status */
	uint64_t accepted, hs_ok, hs_failed, hs_aborted, evicted, replaced;
	/* Of hs_failed, those whose certificate this end refused, by why. */
	uint64_t hs_refused[RV_TLS_REFUSED_KINDS]; /* by enum rv_tls_refusal (NONE unused) */
	uint64_t refused_full; /* authenticated clients refused: max_clients sessions */
	/* and for what they sent before their session (a HELLO it cannot serve) */
	uint64_t refused_protocol;
	/* authenticated connections closed for no HELLO within
	 * handshake_timeout (no session, and in no count before: round-
	 * thirty-six tester 177) */
	uint64_t refused_no_hello;
	/* Sessions the server ended, by the code it sent (status groups them). */
	uint64_t ended[RV_CTL_CODE_MAX];
	/* Sessions the client ended: its GOODBYE, its ERROR, or its
	 * connection closed or broken without either (counted nowhere:
	 * round-twenty-five tester 113). */
	uint64_t left_goodbye, left_error, left_closed;
	uint64_t tls_broken; /* sessions ended by a TLS record that failed: in protocol_errors */
	uint64_t expired;    /* ended because the certificate expired (sent as REVOKED) */
	/* ended because the CA set no longer verifies the certificate, neither
	 * revoked nor expired: a reload to another CA (sent as REVOKED; it was
	 * counted as revoked: round-fourteen tester 66) */
	uint64_t untrusted;
	uint64_t hs_buckets[RV_STATUS_HS_BUCKETS];
	double hs_sum;
	uint64_t hs_count;
	/* balance.c: moving busy sessions between workers */
	struct rv_ltimer balance_timer;
	struct rv_balance_item *bal_items; /* scratch, bal_cap of each */
	struct rv_chan **bal_chans;
	size_t bal_cap;
	uint64_t bal_total; /* all workers' bytes at the last look */
	bool bal_fresh;	    /* the sessions' counts were taken at the last look */
	uint64_t moves;
	/* admit.c: each name's connection lines, rate-limited (name_may_log),
	 * in a table of quiet_slots (a power of two) probed from a keyed hash
	 * of the name; names that find no slot share quiet_spill. */
	struct rv_siphash_key quiet_key;
	struct rv_name_quiet {
		uint64_t key, due_ns;
		uint32_t missed;
		bool noted; /* "connects and leaves often" said, since it was full */
		/* The lines about its DATA_STATUS reports its name may log,
		 * taken by each of its connections in turn (report_log_shared:
		 * a name that reconnected started a fresh budget each time,
		 * and used up the shared limit that other clients' reports are
		 * said within: round-sixty-nine tester 309; copies kept per
		 * connection were undone by a second connection's: tester
		 * 313). The names that found no slot share quiet_spill's. A
		 * slot with connections (|held|) is not handed to another
		 * name: its budget was reset under a live session, and another
		 * name's reports spent it (tester 315). */
		struct rv_ctl_bucket report_log;
		uint32_t held;
	} * quiet, quiet_spill;
	size_t quiet_slots;
};

/* rv_server_side_of returns the server role's state of |l| (the server role
 * must be running). */
static inline struct rv_server_side *rv_server_side_of(const struct rv_loop *l)
{
	return l->role_state;
}

/* rv_server_balance_start starts the once-a-second look at the workers'
 * busy sessions (balance.c) when the data plane steers by session; each
 * look moves one only while balance_workers is on (a reload may change
 * it). rv_server_balance_free stops it. Returns 0 or -ENOMEM. */
int rv_server_balance_start(struct rv_loop *l);
void rv_server_balance_free(struct rv_loop *l);

/* rv_server_admit_limits derives the admission limits from |cfg|. */
struct rv_admit_limits rv_server_admit_limits(const struct rv_config *cfg);

#endif /* RV_TLS_SERVER_SIDE_H */
