/*
 * status.h — a snapshot of a running server or client, and its three
 * renderings: the human table of `ringvpn status`, the versioned JSON of
 * `ringvpn status --json` (schema below) and the Prometheus text exposition
 * of `ringvpn status --prometheus` and the metrics endpoint.
 *
 * The control thread fills a struct rv_status (tls/mgmt.c) and renders it;
 * rendering is pure (no I/O, no clock: ages are computed by the filler), so
 * it is unit-tested and fuzz-free.
 *
 * JSON schema, version 1 (`"version": 1`; fields are only ever added, a
 * change of meaning bumps the version):
 *   { "version": 1, "role": "server"|"client", "state": STR, "uptime_s": N,
 *     "tun": STR, "tun_state": "up"|"down"|"renamed"|"gone"|null,
 *     "tun_now": STR|null,  (the TUN's name now, when it was renamed)
 *     "listen": STR, "data_port": N,
 *     "listen_gone": BOOL,  (server: its one listen address left the host)
 *     "sessions": N, "handshaking": N, "connections": N,
 *     "awaiting_hello": N (server),
 *     "handshakes": { "ok": N, "failed": N, "aborted": N, "timeouts": N,
 *                     "evicted": N,
 *                     "refused": { "revoked": N, "expired": N,
 *                                  "untrusted": N } },    (server)
 *     "events": { "replaced": N, "kicked": N, "revoked": N, "rate_limited": N,
 *                 "reconfigured": N, "timed_out": N, "protocol_errors": N,
 *                 "slow_readers": N, "reloads": N, "reload_partial": N,
 *                 "reload_failures": N,
 *                 "refused_full": N, "refused_no_address": N,
 *                 "refused_protocol": N, "refused_no_hello": N, "expired": N,
 *                 "untrusted": N, "left_goodbye": N, "left_error": N,
 *                 "left_closed": N },
 *                 (replaced, kicked, revoked, rate_limited, reconfigured,
 *                 timed_out, protocol_errors, expired and untrusted count
 *                 sessions the server ended, left_* those the client did (its
 *                 GOODBYE, its ERROR, its connection closed without either):
 *                 a connection ended before it had one, waiting for its
 *                 HELLO, is in none; refused_* count refusals, which have
 *                 none: refused_protocol those for what the client sent
 *                 before its session, refused_no_hello the connections
 *                 closed for no HELLO within handshake_timeout)
 *     "accepted": N,  (server: TCP connections accepted)
 *     "metrics_requests": { CODE: N, ... }|null,  (the metrics endpoint,
 *                 when on: requests by response status code)
 *     "renders": { "made": N, "deferred": N },  (snapshots rendered on the
 *                 control thread, this one included; the requests for one
 *                 that waited for the render budget)
 *     "pools": { "v4_in_use": N, "v4_size": N, "v6_in_use": N, "v6_size": N },  (server)
 *     "qsbr_pending": N, "demux_entries": N,
 *     "tun_lanes": N|null,                                 (server)
 *     "balance": { "moves": N, "away": N },                (server)
 *     "tun_drops": N|null,   (the TUN device's drops before a worker read them)
 *     "server": STR, "failed_attempts": N,               (client)
 *     "tunnels_up": N, "attempts_failed": N,  (client: since the start)
 *     "last_end": STR|null, "last_end_s": N|null,  (client: why the last
 *                 connection ended, how long ago)
 *     "last_failure": STR|null, "last_failure_s": N|null,  (client: why the
 *                 last attempt failed, while attempts fail in a row)
 *     "certificates": { "cert_expires_s": N, "ca_expires_s": N,
 *                       "server_cert_expires_s": N|null,   (client)
 *                       "crl_next_update_s": N|null, "crl_expired": BOOL,
 *                       "crl_first_ca": STR|null,  (several CAs' CRLs: whose ends first)
 *                       "crl_lapsed": N,  (CAs whose CRL has lapsed: their peers refused)
 *                       "crl_not_yet_valid": N, "crl_valid_in_s": N|null,  (CAs none of
 *                                        whose CRLs is valid yet: their peers refused
 *                                        until the last is)
 *                       "renewal_waits": BOOL },  (the running certificate is the
 *                                        previous one: its files cannot be used yet)
 *     "state_files": { "lease_file": FILE|null,  (server; null: none configured)
 *                      "crl_state": FILE|null },
 *                 FILE = { "saved": BOOL, "unsaved_s": N|null, "why": STR|null }:
 *                 whether the file holds what the process does now; if not,
 *                 for how long and why (it could not be opened for writing,
 *                 or its last write failed: retried, and said in the log)
 *     "accept_failing": { "failures": N, "for_s": N, "error": STR }|null,
 *                 (server: accepts failing in a row, out of descriptors or
 *                 memory; new connections wait in the kernel's queue)
 *     "handshake_latency_s": { "buckets": [[LE, COUNT]...], "sum": F, "count": N },
 *                                                          (server)
 *     "peers": [ { "name": STR, "state": STR, "v4": STR|null, "v6": STR|null,
 *                  "endpoint": STR|null, "connected_s": N, "epoch": N,
 *                  "rekeys": N,  (key exchanges, the first included: 1 before any rekey)
 *                  "last_handshake_s": N, "index": "xxxxxxxx",
 *                  "worker": N|null, "data_silent_s": N|null,
 *                  "return_silent_s": N|null,
 *                  "cipher": STR|null,  (the session's AEAD, "aes-256-gcm" or
 *                                "chacha20-poly1305", kept for its life: a
 *                                reload's `cipher` is for sessions started
 *                                after it; null before the session exists)
 *                  "peer_caps": STR|null,  (what its HELLO announced,
 *                                rv_ctl_caps_str: "ipv6,chacha20,..."; null
 *                                before its HELLO)
 *                  "tx_packets": N, "tx_bytes": N, "rx_packets": N,
 *                  "rx_bytes": N, "drops": { REASON: N, ... } } ... ],
 *     "subnets": [ { "prefix": STR, "name": STR, "live": BOOL, "routed": BOOL,
 *                    "override": BOOL } ... ],  (server: the networks behind
 *                    clients; live: its client's session holds it now)
 *     "workers": [ { "id": N, COUNTER: N, ..., "drops": { REASON: N ... },
 *                    "queues": { GAUGE: N, ... } } ... ],
 *     "workers_total": { COUNTER: N, ..., "drops": { ... }, "queues": { ... } } }
 * Ages and expiries are seconds relative to the snapshot ("expires_s"
 * negative: already expired). "data_silent_s" is null while the data
 * channel from the client to the server works, else how long no datagram of
 * it arrived while the control connection lived (found after the dead-peer
 * timeout; a client has it from its server: DATA_STATUS); "return_silent_s"
 * the same for the way from the server to the client (found by the client,
 * whose keepalives the server answers; a server has it from the client).
 * COUNTER and REASON names are those of core/counters.h. Every key is in
 * both roles' objects (one shape for a parser); one marked (server) or
 * (client) is 0, null or "" in the other role's, where it means nothing
 * (round-eleven tester 51 read a client's "handshakes" 0 as a fault).
 */
#ifndef RV_CORE_STATUS_H
#define RV_CORE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/counters.h"
#include "core/http.h"
#include "core/ip.h"
#include "core/session.h"
#include "core/strbuf.h"

enum {
	RV_STATUS_VERSION = 1,
	RV_STATUS_HS_BUCKETS = 10,  /* handshake latency histogram buckets (+Inf implied) */
	RV_STATUS_TEXT_MAX = 400,   /* host names (256) with an address and port */
	RV_STATUS_MAX_SUBNETS = 32, /* RV_CONFIG_MAX_SUBNETS */
};

/* Upper bounds (seconds) of the handshake latency buckets. */
extern const double rv_status_hs_bounds[RV_STATUS_HS_BUCKETS];

/* A state file (lease_file, crl_state) of the process. */
struct rv_status_file {
	bool configured;
	bool unsaved;	    /* it lacks what the process holds now (it could not be
			    * opened for writing, or the last write failed) */
	uint64_t unsaved_s; /* for how long */
	char why[RV_STATUS_TEXT_MAX];
};

struct rv_status_peer {
	char name[65];
	char state[16];
	struct rv_ip_addr v4, v6; /* family 0: none */
	struct rv_endpoint endpoint;
	uint64_t connected_s;	   /* since the session came up */
	uint64_t last_handshake_s; /* age of the newest key epoch */
	uint32_t epoch, index;
	/* its AEAD's name (crypto/aead.h), fixed when the session was made:
	 * a reload's cipher is for sessions started after it; "": no session */
	char cipher[24];
	/* it has a session (a connection waiting for its HELLO has none): the
	 * per-session Prometheus families export only these, so a name with a
	 * session and a newer connection waiting is one series (round-fourteen
	 * tester 68) */
	bool has_session;
	/* the RV_CTL_CAP_* bits its HELLO announced (0: no HELLO yet): what an
	 * older peer lacks shows (round-eighteen tester 86) */
	uint32_t peer_caps;
	int worker; /* server: the worker that receives its bulk; -1: one worker */
	/* key exchanges completed, the first (which brought the session up)
	 * included: 1 before any rekey (JSON rekeys, kv key_exchanges) */
	uint64_t rekeys;
	/* its data channel from the client to the server silent while the
	 * control connection lives (UDP blocked on the way), for data_silent_s
	 * seconds; a client has it from its server */
	bool data_silent;
	uint64_t data_silent_s;
	/* the same from the server to the client; a server has it from the
	 * client */
	bool return_silent;
	uint64_t return_silent_s;
	struct rv_session_stats stats;
};

/* server: a network behind a client (`subnet`), as the running
 * configuration gives it: whether a live session of its name holds it now
 * (else it is held for it, its packets dropped as no_route until it is
 * back), and whether the server's TUN routes it (not where the host routes
 * it elsewhere). Only the log and `ip route` said which network was whose
 * (round-seventy-one tester 330). */
struct rv_status_subnet {
	char name[65];
	struct rv_prefix p;
	bool override, live, routed;
};

struct rv_status_worker {
	uint64_t ctr[RV_CTR_MAX];
	uint64_t drop[RV_DROP_MAX];
	uint64_t gauge[RV_GAUGE_MAX]; /* queue depths (core/counters.h RV_GAUGES) */
};

/* The TUN device as the kernel has it: up, down (set down by hand: nothing
 * passes), renamed (its addresses and routes not looked after), gone;
 * NONE without a data plane. rv_status_tun_name gives "up", "down", ... */
enum rv_status_tun {
	RV_STATUS_TUN_NONE,
	RV_STATUS_TUN_UP,
	RV_STATUS_TUN_DOWN,
	RV_STATUS_TUN_RENAMED,
	RV_STATUS_TUN_GONE,
};
const char *rv_status_tun_name(enum rv_status_tun t);

struct rv_status {
	const char *role; /* "server" / "client" */
	char state[32];
	uint64_t uptime_s;
	char tun[32];
	/* The TUN device now (only the log said it: round-twenty-five
	 * tester 110); tun_now is its name when renamed. */
	enum rv_status_tun tun_state;
	char tun_now[32];
	char listen[RV_STATUS_TEXT_MAX];
	/* server: the one address it listens on has left the host (no client
	 * can connect; only the log said it: round-twenty-five tester 114) */
	bool listen_gone;
	uint16_t data_port;
	size_t sessions, handshaking, connections;
	/* server: authenticated connections whose HELLO is not taken yet (they
	 * count against max_clients with the sessions; not in handshaking) */
	size_t awaiting_hello;
	uint64_t accepted; /* server: connections accepted */
	/* server: accepts failing in a row (0: they work), for how long, and
	 * why (out of descriptors: new connections wait in the kernel's queue;
	 * only the log said it: round-sixty-five tester 275) */
	uint64_t accept_failures, accept_failing_s;
	char accept_error[64];
	uint64_t hs_ok, hs_failed, hs_aborted, hs_timeouts, hs_evicted;
	/* Of hs_failed: the peer's certificate refused as revoked, as expired
	 * (or not valid yet), for any other reason (no issuer here, ...). */
	uint64_t hs_revoked, hs_expired, hs_untrusted;
	/* server: authenticated clients refused for want of room: max_clients
	 * sessions (full), or no address left in the pool (no_address) */
	uint64_t refused_full, refused_no_address, refused_protocol, refused_no_hello;
	/* server: sessions ended, by cause, with expired and untrusted: only
	 * connections that had a session (round-fourteen tester 68) */
	uint64_t replaced, kicked, revoked, rate_limited, reconfigured, timed_out, protocol_errors;
	uint64_t expired; /* server: sessions ended because the client certificate expired */
	/* server: sessions ended because the client certificate no longer
	 * verifies against the CA set (a reload to another CA), neither revoked
	 * nor expired */
	uint64_t untrusted;
	/* server: sessions the client ended: its GOODBYE, its ERROR (it found
	 * the server silent, say), its connection closed or broken without
	 * either */
	uint64_t left_goodbye, left_error, left_closed;
	uint64_t slow_readers;
	/* reloads applied, of those with a part that failed, refused */
	uint64_t reloads, reload_partial, reload_failures;
	size_t pool4_in_use, pool4_size, pool6_in_use, pool6_size;
	size_t qsbr_pending, demux_entries;
	long tun_lanes; /* server: addresses and networks in the TUN lane tables; -1: none */
	uint64_t moves; /* server: sessions moved to another worker (balance_workers) */
	unsigned away;	/* server: sessions on another worker than their index names */
	/* The kernel's count of packets the TUN device dropped before a worker
	 * read them (a queue full), since the device was made; if known. */
	bool have_tun_drops;
	uint64_t tun_drops;
	char server[RV_STATUS_TEXT_MAX]; /* client: the server it talks to */
	unsigned failed_attempts;
	/* client: tunnels brought up and attempts failed since the start
	 * (failed_attempts goes back to 0 once a session holds: a client that
	 * lost its session ten times showed none of it: round-twenty-five
	 * tester 116), and why the last connection ended (age_s -1: none
	 * yet) */
	uint64_t tunnels_up, attempts_failed;
	char last_end[RV_STATUS_TEXT_MAX];
	int64_t last_end_age_s;
	/* client: why the last attempt failed, while attempts fail in a row
	 * (age_s -1: they do not) */
	char last_failure[RV_STATUS_TEXT_MAX];
	int64_t last_failure_age_s;
	bool have_cert_expiry;
	/* The running certificate is kept while a renewal in its files cannot
	 * be used (not valid yet, or its key unreadable): its expiry is not
	 * the operator's to act on by renewing again. */
	bool cert_renewal_waits;
	int64_t cert_expires_s, ca_expires_s;
	bool have_server_cert_expiry; /* client, connected: the server's certificate */
	int64_t server_cert_expires_s;
	bool have_crl;
	int64_t crl_next_update_s;
	char crl_first_ca[128];		  /* of a file with several CAs' CRLs: the CA whose
				 * CRL ends first; "" otherwise */
	unsigned crl_lapsed;		  /* CAs whose CRL has lapsed */
	unsigned crl_unborn;		  /* CAs none of whose CRLs is valid yet */
	int64_t crl_valid_in_s;		  /* until the last of those is (0: none) */
	char crl_unborn_ca[128];	  /* several CAs' CRLs: the first such CA; "" otherwise */
	struct rv_status_file lease_file; /* server */
	struct rv_status_file crl_state;
	uint64_t hs_buckets[RV_STATUS_HS_BUCKETS]; /* cumulative counts, Prometheus style */
	double hs_sum;
	uint64_t hs_count;
	bool have_metrics; /* the metrics endpoint is on (its requests: JSON, Prometheus) */
	uint64_t metrics_responses[RV_HTTP_NUM_CODES]; /* by rv_http_code_at() */
	/* Snapshots rendered on the control thread (this one included: status
	 * requests, and scrapes not served from the metrics endpoint's last
	 * second's), and the requests for one that waited for the render
	 * budget (round-seventy tester 321) */
	uint64_t renders, renders_deferred;
	size_t num_subnets; /* server */
	struct rv_status_subnet subnets[RV_STATUS_MAX_SUBNETS];
	size_t num_peers, cap_peers;
	struct rv_status_peer *peers; /* owned */
	size_t num_workers;
	struct rv_status_worker *workers; /* owned */
	struct rv_status_worker total;
};

/* rv_status_add_peer appends a zeroed peer and returns it, or NULL (-ENOMEM). */
struct rv_status_peer *rv_status_add_peer(struct rv_status *st);

/* rv_status_free frees the arrays (back to a reusable empty state). */
void rv_status_free(struct rv_status *st);

/* rv_status_hs_observe records one handshake that took |seconds|. */
void rv_status_hs_observe(uint64_t *buckets, double *sum, uint64_t *count, double seconds);

/* Renderers append to |out|. */
void rv_status_render_human(struct rv_strbuf *out, const struct rv_status *st);
void rv_status_render_json(struct rv_strbuf *out, const struct rv_status *st);
void rv_status_render_prometheus(struct rv_strbuf *out, const struct rv_status *st);
/* rv_status_render_kv writes `key=value` lines: a header line ("server ..."
 * or "client ..."), one "session name=..." line per peer, one "worker
 * id=..." line per worker and "workers total ...": the stable format for
 * scripts. */
void rv_status_render_kv(struct rv_strbuf *out, const struct rv_status *st);

/* rv_fmt_bytes formats |n| bytes with binary units ("1.5 MiB") into |buf|. */
const char *rv_fmt_bytes(uint64_t n, char *buf, size_t len);
/* rv_fmt_age formats a duration in seconds ("3d4h", "5m12s") into |buf|. */
const char *rv_fmt_age(uint64_t s, char *buf, size_t len);

#endif /* RV_CORE_STATUS_H */
