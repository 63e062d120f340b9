/*
 * ctl.h — the control peer: one authenticated TLS connection's control
 * protocol state machine, behind one interface for both roles.
 *
 * A struct rv_ctl_peer is the server's view of one client (ctl_server.c) or
 * the client's view of its server (ctl_client.c). The loop and the
 * connection code (tls/chan.c) drive every peer through the functions below
 * and never ask which role it plays: the role differences live in the two
 * implementations, selected when the peer is created.
 *
 * The state machines do no I/O (STYLE.md rule 4) and read no clock: the
 * caller feeds them frames decoded from TLS and the current time, sends
 * what they leave in their output buffer, arms a timer for
 * rv_ctl_peer_next_ns, and closes the connection when they say so.
 * Data-plane effects (sessions, demux entries, addresses) happen directly on
 * the objects in struct rv_ctl_env, which the control thread alone writes.
 *
 * Control thread only.
 */
#ifndef RV_TLS_CTL_H
#define RV_TLS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ctlmsg.h"
#include "core/session.h"

struct rv_config;
struct rv_demux;
struct rv_ippool;
struct rv_leases;
struct rv_qsbr;
struct rv_ctl_peer;

enum {
	RV_CTL_OUT_CAP = 2 * RV_CTL_MAX_FRAME + 512,
	RV_CTL_PROTO_MAX = 1,
	RV_CTL_PROTO_MIN = 1,
	/* Two epochs are never installed less than this apart: epoch E-1 must
	 * outlive packets in flight under it (core/session.h rollover rule 4).
	 * It is also the least spacing a peer may leave between the key
	 * exchanges it starts. */
	RV_CTL_MIN_REKEY_MS = 900,
	/* A peer may start at most this many key exchanges per minute (a
	 * token bucket refilled evenly); beyond it, or sooner than
	 * RV_CTL_MIN_REKEY_MS after the last exchange, it is disconnected:
	 * each exchange costs an X25519 key pair and two AEAD key schedules
	 * on the single control thread. */
	RV_CTL_PEER_REKEYS_PER_MIN = 20,
	/* What a client allows itself, under the server's limit above (a
	 * rekey asked beyond it, by SIGUSR1 or `ringvpn rekey`, waits instead
	 * of getting the client disconnected). */
	RV_CTL_OWN_REKEYS_PER_MIN = RV_CTL_PEER_REKEYS_PER_MIN - 2,
	/* Every peer is ticked at least this often (its keepalive and
	 * dead-peer deadlines usually come first). Rekey requests raised by
	 * the data plane do not wait for a tick: the loop is woken for them
	 * (rv_dataplane_rekey_fd), so 10,000 idle peers cost no periodic
	 * polling. */
	RV_CTL_MAX_TICK_MS = 60000,
	/* A client whose data-channel keepalive went unanswered asks again
	 * this often until an answer comes or the silence is declared (the
	 * dead-peer timeout): a few answers lost in a row on a lossy path
	 * must not pass for a blocked one. */
	RV_CTL_ECHO_RETRY_MS = 1000,
	/* A peer may send DATA_STATUS back and forth as often as it likes:
	 * its reports are logged while a budget of its own lasts, so that it
	 * cannot use up the shared rate limit of those lines and hide other
	 * sessions'. A flapping path is still said every 10 minutes. The
	 * server keeps a name's budget across its connections (admit.c). */
	RV_CTL_REPORT_LOG_BURST = 4,
	RV_CTL_REPORT_LOG_MS = 600000,
	/* After this process was stopped or without CPU (the loop woke late),
	 * a peer is not given up on for this long: what it sent meanwhile is
	 * read first. Short, so that stalls in a row cannot keep a dead peer:
	 * the process runs between them. */
	RV_CTL_WAKE_GRACE_MS = 500,
	/* A client's timers until the server's CONFIG replaces them. */
	RV_CTL_DEFAULT_KEEPALIVE_MS = 10000,
	RV_CTL_DEFAULT_DEAD_PEER_MS = 30000,
};

struct rv_ctl_env {
	const struct rv_config *cfg; /* borrowed; replaced on reload */
	struct rv_demux *demux;	     /* borrowed; the data plane reads it */
	struct rv_qsbr *qsbr;	     /* borrowed */
	struct rv_ippool *pool;	     /* server: virtual addresses */
	struct rv_leases *leases;    /* server: who held which address */
	uint16_t data_port;	     /* server: bound UDP data port */
	/* The loop's last stall (woken seconds late: this process was stopped
	 * or had no CPU; 0: none), for what a timeout then says. May be NULL. */
	const uint64_t *stall_seen_ns;
	/* The loop's last wake a tenth of a second or more late (0: none): a
	 * peer is given up on only RV_CTL_WAKE_GRACE_MS after it. May be
	 * NULL. */
	const uint64_t *woke_late_ns;
	void *ctx; /* passed to the upcalls */
	/* send_keepalive (client) sends an empty data message to |s| every
	 * keepalive, flagged to be answered if |echo| (RV_DATA_F_ECHO); NULL:
	 * none (the server). */
	void (*send_keepalive)(void *ctx, struct rv_session *s, bool echo);
	/* own_rekeys_per_min (client): how many key exchanges it starts in a
	 * minute at most (a token bucket; RV_CTL_OWN_REKEYS_PER_MIN keeps
	 * under its server's limit); more wait. 0: no limit. */
	unsigned own_rekeys_per_min;
	/* on_config (client): apply a CONFIG (first or update: TUN address,
	 * MTU, routes) to the host. Returns 0 or -errno (the session is then
	 * closed; -EBADMSG: the server assigned an address the host cannot
	 * take, a protocol error). */
	int (*on_config)(void *ctx, const struct rv_ctl_config *cfg, bool update);
	/* on_session (client): the first CONFIG's session |s| is published
	 * (on_config ran before it existed). The callee names the networks
	 * its decrypted packets may come from: what the host routes into the
	 * tunnel (rv_demux_set_prefixes); with none, only the session's own
	 * addresses pass the source check. Returns 0 or -errno (the session
	 * is then closed). May be NULL. */
	int (*on_session)(void *ctx, struct rv_session *s);
	/* on_dns (client): apply pushed DNS servers. Failures are logged by
	 * the callee, never fatal. May be NULL. */
	void (*on_dns)(void *ctx, const struct rv_ctl_dns *dns);
	/* on_hello (server): the peer's HELLO is accepted, and its addresses
	 * are assigned next. The callee ends another connection's session of
	 * the same name, whose addresses this one may ask back (the newer
	 * connection wins once it has shown it can take the session's place:
	 * one that never said HELLO, or whose HELLO was refused, ended a
	 * working session: a hostile tester), and counts the name in. Returns
	 * 0, -ENOSPC when the server is full, or -errno. May be NULL. */
	int (*on_hello)(void *ctx, struct rv_ctl_peer *p);
};

/* struct rv_ctl_out collects encoded frames for the TLS connection. */
struct rv_ctl_out {
	uint8_t buf[RV_CTL_OUT_CAP];
	size_t len;
};

enum rv_ctl_result {
	RV_CTL_CONTINUE = 0,
	RV_CTL_CLOSE, /* send what is in out, then close; the reason says why */
};

/* rv_ctl_peer_on_frame handles one complete frame received from the peer. */
enum rv_ctl_result rv_ctl_peer_on_frame(struct rv_ctl_peer *p, const uint8_t *frame, size_t len,
					uint64_t now_ns);

/* rv_ctl_peer_key_updates tells the peer that its TLS connection has
 * received |key_updates| KeyUpdates and |tickets| NewSessionTickets so
 * far (ringvpn's ends send neither unasked): each takes a token of a
 * budget as large as the key exchanges' (RV_CTL_PEER_REKEYS_PER_MIN a
 * minute), past which the peer is ended (ERROR rate). */
enum rv_ctl_result rv_ctl_peer_key_updates(struct rv_ctl_peer *p, uint64_t key_updates,
					   uint64_t tickets, uint64_t now_ns);

/* rv_ctl_peer_partial tells the peer, after a read that brought bytes,
 * that |bytes| of a frame not whole yet are held after the frames handed
 * over (0: none), for the dead-peer check's words: bytes came, no whole
 * message. */
void rv_ctl_peer_partial(struct rv_ctl_peer *p, size_t bytes, uint64_t now_ns);

/* rv_ctl_peer_tick runs the timers that are due at |now_ns| (keepalives,
 * dead-peer detection, rekeys). Calling it early is harmless. */
enum rv_ctl_result rv_ctl_peer_tick(struct rv_ctl_peer *p, uint64_t now_ns);

/* rv_ctl_peer_next_ns returns when rv_ctl_peer_tick next has work to do
 * (absolute, at most RV_CTL_MAX_TICK_MS after |now_ns|). */
uint64_t rv_ctl_peer_next_ns(const struct rv_ctl_peer *p, uint64_t now_ns);

/* What a request for a new key epoch found (rv_ctl_peer_request_rekey). */
enum rv_ctl_rekey_ask {
	RV_CTL_REKEY_NOW,    /* starts at the peer's next tick */
	RV_CTL_REKEY_BUSY,   /* after the exchange in flight */
	RV_CTL_REKEY_LATER,  /* when the spacing (RV_CTL_MIN_REKEY_MS) or a
			      * client's own budget allows */
	RV_CTL_REKEY_JOINED, /* one asked before still waits: one exchange
			      * answers both */
	RV_CTL_REKEY_KINDS,
};

/* rv_ctl_peer_request_rekey asks for a new key epoch as soon as allowed
 * and says when that is (at |now_ns|). */
enum rv_ctl_rekey_ask rv_ctl_peer_request_rekey(struct rv_ctl_peer *p, uint64_t now_ns);

/* rv_ctl_peer_goodbye queues GOODBYE(|code|) with |reason| for the log; the
 * caller then closes. */
void rv_ctl_peer_goodbye(struct rv_ctl_peer *p, enum rv_ctl_code code, const char *reason);

/* rv_ctl_peer_out returns the output buffer; the caller sends and empties it. */
struct rv_ctl_out *rv_ctl_peer_out(struct rv_ctl_peer *p);

/* rv_ctl_peer_free releases everything the peer holds: its session is
 * unpublished and retired through QSBR (two-phase teardown, see
 * core/qsbr.h), its addresses go back to the pool, its keys are wiped.
 * NULL ok. */
void rv_ctl_peer_free(struct rv_ctl_peer *p);

/* rv_ctl_peer_ended records when the loop ends |p|, before
 * rv_ctl_peer_free: the server's leases of its addresses end then. Without
 * it they end at the last word heard from the peer, which for a dead peer
 * is up to twice dead_peer_timeout earlier, and the address a full pool
 * keeps for a client on its way back (2 minutes) went at once
 * (round-thirteen tester 62). NULL ok. */
void rv_ctl_peer_ended(struct rv_ctl_peer *p, uint64_t now_ns);

/* Accessors for logs and status; the same for both roles. */
bool rv_ctl_peer_running(const struct rv_ctl_peer *p); /* epoch 1 is up */
const char *rv_ctl_peer_state(const struct rv_ctl_peer *p);
const char *rv_ctl_peer_reason(const struct rv_ctl_peer *p);
unsigned rv_ctl_peer_error_code(const struct rv_ctl_peer *p); /* of GOODBYE/ERROR received */
bool rv_ctl_peer_got_goodbye(const struct rv_ctl_peer *p);    /* a GOODBYE was received */
bool rv_ctl_peer_got_error(const struct rv_ctl_peer *p);      /* an ERROR was received */
unsigned rv_ctl_peer_sent_code(const struct rv_ctl_peer *p);  /* of GOODBYE/ERROR we sent */
struct rv_session *rv_ctl_peer_session(const struct rv_ctl_peer *p);
uint64_t rv_ctl_peer_rekeys(const struct rv_ctl_peer *p); /* exchanges done, the first included */
uint64_t rv_ctl_peer_last_rekey_ns(const struct rv_ctl_peer *p); /* newest epoch installed */
/* rv_ctl_peer_data_silent_ns: how long the session's data channel from the
 * client to the server has been silent while its control connection lives,
 * once that is found (after the dead-peer timeout: "UDP to the data port may
 * be blocked"); 0 while it is not. The server finds it itself; a client has
 * it from its server (DATA_STATUS), until the server says it works again or
 * the connection ends. */
uint64_t rv_ctl_peer_data_silent_ns(const struct rv_ctl_peer *p, uint64_t now_ns);
/* rv_ctl_peer_return_silent_ns: the same for the other way, from the server
 * to the client: a client finds it itself when the server stops answering
 * its keepalives (a server that announced RV_CTL_CAP_DATA_ECHO); a server
 * has it from the client's DATA_STATUS. */
uint64_t rv_ctl_peer_return_silent_ns(const struct rv_ctl_peer *p, uint64_t now_ns);
/* rv_ctl_peer_data_failed (client): the session ended because no datagram
 * came from its server for the dead-peer timeout while the control
 * connection lived, and the client has other servers to try. */
bool rv_ctl_peer_data_failed(const struct rv_ctl_peer *p);

#endif /* RV_TLS_CTL_H */
