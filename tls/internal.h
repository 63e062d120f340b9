/*
 * internal.h — declarations shared by the files of tls/ only.
 */
#ifndef RV_TLS_INTERNAL_H
#define RV_TLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <sys/signalfd.h>
#include <sys/socket.h>

#include "core/admit.h"
#include "core/busyrun.h"
#include "core/compiler.h"
#include "core/ip.h"
#include "core/nametab.h"
#include "core/session.h"
#include "core/status.h"
#include "core/timer.h"
#include "tls/conn.h"
#include "tls/ctl.h"
#include "tls/ctlkey.h"
#include "tls/ctx.h"
#include "tls/loop.h"
#include "uring/dataplane.h"
#include "uring/udata.h"

struct rv_config;
struct rv_crlstate;
struct rv_ctlring;
struct rv_ctlring_cqe;
struct rv_http;
struct rv_leases;
struct rv_mgmt;
struct rv_status;
struct rv_status_peer;
struct rv_strbuf;
struct rv_tls_conn;
struct rv_tls_crls;

/* ctx.c */
SSL_CTX *rv_tls_ctx_ssl(struct rv_tls_ctx *ctx);
/* rv_tls_ctx_crls: the CRLs of |ctx| and what it remembers of each signer's
 * newest (tls/crl.h). */
struct rv_tls_crls *rv_tls_ctx_crls(struct rv_tls_ctx *ctx);
/* rv_tls_ctx_crl_left_out: does |ctx|, which checks CRLs, hold none of a
 * CA of its CA file whose CRL |before| remembers (tls/crl.h)? */
bool rv_tls_ctx_crl_left_out(const struct rv_tls_ctx *ctx, const struct rv_tls_crls *before,
			     char *who, size_t who_len);

/* rv_tls_conn_note_refused keeps, for the connection whose verification
 * |xs| is, the name and serial of the certificate it refused (the log line
 * of the failed handshake says whose it was): |ca|, a CA of the chain
 * (revoked, expired), named as the leaf's CA, or NULL: the one |xs| is
 * at. conn.c. */
void rv_tls_conn_note_refused(X509_STORE_CTX *xs, X509 *ca);

/* rv_tls_conn_note_why keeps, for the connection whose verification |xs|
 * is, why this side's own check refused the peer's certificate (with
 * X509_V_ERR_APPLICATION_VERIFICATION), when the reason is not its common
 * name: |why| follows "certificate verification failed: ". conn.c. */
void rv_tls_conn_note_why(X509_STORE_CTX *xs, const char *why);

/* rv_tls_conn_note_sent_cas records, from inside the handshake's
 * verification, that the peer sent |n| certificates besides its own (not
 * taken as CAs: tls/ctx.c verify_from_ca_file), so that a refusal for a
 * missing issuer can say where the intermediate belongs. */
void rv_tls_conn_note_sent_cas(X509_STORE_CTX *xs, size_t n);

/* rv_tls_conn_note_no_issuer keeps the issuer's name of the certificate
 * whose issuer |xs| could not find in the CA file, for the refusal's
 * message. */
void rv_tls_conn_note_no_issuer(X509_STORE_CTX *xs);

/* rv_tls_ctx_revokes: does the newest CRL of |ctx| from |x|'s issuer list
 * |x|, or a CRL a CA between |x| and its root (an intermediate of the CA
 * file)? 1 yes, 0 no (or |ctx| checks no CRL); -ENOENT when no CRL is from
 * |x|'s issuer, -E2BIG when |ctx| holds more CRLs than it keeps at hand:
 * then only X509_verify_cert gives the handshake's verdict. */
int rv_tls_ctx_revokes(const struct rv_tls_ctx *ctx, X509 *x);

const char *rv_tls_ctx_server_name(const struct rv_tls_ctx *ctx);
/* rv_tls_ctx_server_name_ip: is the server name an IP address? */
bool rv_tls_ctx_server_name_ip(const struct rv_tls_ctx *ctx);

/* The longest server name looked for in a certificate, with its NUL. */
#define RV_TLS_NAME_MAX 256

/* rv_tls_name_undotted returns |name| without the final dot of a fully
 * qualified name (written into |buf| of |len| bytes), or |name| as it is. */
const char *rv_tls_name_undotted(const char *name, char *buf, size_t len);

/* rv_tls_expect_name makes |vp| check a server's certificate against
 * |name| (without a final dot: rv_tls_name_undotted): its IP addresses for
 * an IP literal (an IPv6 one's %scope left out; *|is_ip| set), else its
 * DNS names. Returns 1, or 0 (out of memory). */
int rv_tls_expect_name(X509_VERIFY_PARAM *vp, const char *name, bool *is_ip);

/* ctl.c */

/* struct rv_ctl_peer_ops is what differs between the server's and the
 * client's control state machines (ctl_server.c, ctl_client.c). The shared
 * part of every peer (struct rv_ctl_peer) and the functions of ctl.h call
 * through it; nothing outside those three files sees it. */
struct rv_ctl_peer_ops {
	const char *peer_role; /* what the other end is: "client" or "server" */
	/* on_msg handles a decoded message the shared code does not (HELLO,
	 * CONFIG, keys, DNS). */
	enum rv_ctl_result (*on_msg)(struct rv_ctl_peer *p, const struct rv_ctl_msg *m,
				     uint64_t now_ns);
	/* tick runs the role's own timers after the shared ones; next_ns
	 * returns when it next has work (UINT64_MAX: none). */
	enum rv_ctl_result (*tick)(struct rv_ctl_peer *p, uint64_t now_ns);
	uint64_t (*next_ns)(const struct rv_ctl_peer *p);
	bool (*running)(const struct rv_ctl_peer *p);
	const char *(*state)(const struct rv_ctl_peer *p);
	/* destroy releases what only the role holds (addresses) and frees
	 * the object; the shared part is cleaned up before. */
	void (*destroy)(struct rv_ctl_peer *p);
};

/* struct rv_ctl_peer is the part both roles share: the key exchange, the
 * session, the timers, the output buffer and why the connection closed.
 * Each role's object embeds one first. Peer objects live in crypto/secmem
 * memory (the exporter and ephemeral keys stay out of core dumps).
 * Control thread only. */
/* rv_conn_info logs a routine line of one connection: at info level, or at
 * debug level when |quiet| (its name connects and leaves too often for a
 * line each: tls/admit.c, name_may_log). */
#define rv_conn_info(quiet, ...)               \
	do {                                   \
		if (quiet) {                   \
			rv_debug(__VA_ARGS__); \
		} else {                       \
			rv_info(__VA_ARGS__);  \
		}                              \
	} while (0)

/* rv_tls_unix_time converts an ASN.1 time to seconds since the epoch
 * (tls/ctx.c). */
bool rv_tls_unix_time(const ASN1_TIME *t, int64_t *out);

/* rv_tls_keep_earliest lowers |*cur| (0: unset) to the time of |t|
 * (tls/ctx.c). */
void rv_tls_keep_earliest(int64_t *cur, const ASN1_TIME *t);

/* rv_tls_fmt_utc writes |t| (seconds since the epoch) as "YYYY-MM-DD
 * HH:MM:SS UTC" into |buf|, or leaves |buf| as it is if it cannot
 * (tls/ctx.c). */
void rv_tls_fmt_utc(int64_t t, char *buf, size_t len);

/* rv_tls_self_group writes the name of this process's effective group (its
 * service's group once privileges are dropped), or its number, into |buf|,
 * for advice that names it (tls/ctx.c). */
void rv_tls_self_group(char *buf, size_t len);

/* rv_tls_trust_add chains the DER of a CA certificate (|x|) or a CRL
 * (|crl|) into the SHA-256 |trust| (tls/ctx.c): equal chains, equal trust. */
void rv_tls_trust_add(uint8_t *trust, X509 *x, X509_CRL *crl);

/* rv_tls_same_key: do |a| and |b| carry the same public key (tls/ctx.c)? */
bool rv_tls_same_key(X509 *a, X509 *b);

/* rv_tls_x509_cn copies |x|'s common name to |out| if it can be an identity
 * (exactly one, core/certname.h's rules). Returns 0 or -EINVAL (|out| ""). */
int rv_tls_x509_cn(const X509 *x, char out[RV_TLS_CN_MAX + 1]);

struct rv_ctl_peer {
	const struct rv_ctl_peer_ops *ops;
	const struct rv_ctl_env *env;
	void *owner;	  /* the loop's connection this peer speaks on (env->on_hello) */
	const char *name; /* the peer's certificate name, or "" */
	bool closed;
	struct rv_ctlkey key;
	struct rv_session *session; /* published in env->demux while non-NULL */
	uint32_t peer_caps;
	uint64_t keepalive_ns, dead_peer_ns;
	uint64_t last_rx_ns, last_tx_ns, last_data_ka_ns;
	/* The bytes of a frame not whole yet (rv_ctl_peer_partial), and when
	 * the last of them came: a peer sending one a byte a second was said
	 * to be silent (round-sixty-two tester 254). */
	size_t partial_bytes;
	uint64_t partial_last_ns;
	uint64_t ended_ns; /* when the loop ended it (rv_ctl_peer_ended); 0: not said */
	/* The late wake whose grace the current silence had (ctl.c
	 * rx_dead_line): given once, for the silence since grace_rx_ns. */
	bool grace_used;
	uint64_t grace_rx_ns, grace_late_ns;
	uint64_t running_since_ns; /* when epoch 1 came up (0: not yet) */
	/* when this end found the peer's data channel silent (data_watch: a
	 * server watches every client, a client a server that answers its
	 * keepalives); 0: it is not */
	uint64_t data_silent_ns;
	/* client: the session was ended for that silence, its server being
	 * one of several (data_watch): a failed attempt, not a stable one */
	bool data_failed;
	/* since when (our clock) the peer has had no data-channel datagram
	 * from us, as its DATA_STATUS says; 0: it has them */
	uint64_t told_silent_ns;
	bool rekey_wanted;
	/* The data plane asked for new keys for a counter the peer chose: the
	 * exchange waits for a token of counter_rekeys. */
	bool rekey_for_peer;
	bool rekey_for_peer_said;
	/* Key exchanges the peer starts (RV_CTL_PEER_REKEYS_PER_MIN), those
	 * its counters ask for (as many, apart: the peer's own budget cannot
	 * see them) and, on a client, those it starts itself
	 * (env->own_rekeys_per_min): token buckets refilled evenly (ctl.c). */
	struct rv_ctl_bucket {
		uint32_t tokens;
		uint64_t refill_ns;
	} peer_rekeys, counter_rekeys, own_rekeys, tls_key_updates;
	/* The TLS KeyUpdates and tickets taken from the budget so far. */
	uint64_t key_updates_seen, tickets_seen;
	/* When a frame came after a silence longer than a keepalive and a
	 * half (the connection came back): a key exchange in flight has a
	 * timeout from then to finish (key_dead_line). */
	uint64_t rx_resumed_ns;
	/* Lines about the peer's DATA_STATUS reports it may have logged
	 * (RV_CTL_REPORT_LOG_BURST, one more every RV_CTL_REPORT_LOG_MS). */
	struct rv_ctl_bucket report_log;
	/* Server: its name's budget in admit.c's table, taken instead of
	 * report_log (NULL: report_log). The table outlives the peers'
	 * reports: it is freed with the server side, after the loop; the
	 * slot is not handed to another name while a connection holds it
	 * (rv_chan.quiet_slot). */
	struct rv_ctl_bucket *report_log_shared;
	unsigned error_code;	     /* of a GOODBYE or ERROR received (0: none) */
	bool got_goodbye, got_error; /* a GOODBYE, an ERROR received (its code may be 0) */
	unsigned sent_code;	     /* of the GOODBYE or ERROR we sent (0: none) */
	bool quiet;		     /* server: this connection's routine lines go to debug */
	struct rv_ctl_out out;
	/* Room for the longest dead-peer close: a 64-character name, the
	 * pieces of a frame and both hints (cut at 256: round-sixty-three
	 * tester 258). */
	char reason[384];
};

/* rv_ctl_peer_init sets up |c| (zeroed by the caller) for a connection whose
 * TLS session exports |exporter| (copied) and queues our HELLO, announcing
 * |caps| and asking back |prev4|/|prev6| (family 0 or NULL: none). |name|
 * must outlive |c|. */
void rv_ctl_peer_init(struct rv_ctl_peer *c, const struct rv_ctl_peer_ops *ops,
		      const struct rv_ctl_env *env, bool is_server, const char *name,
		      const uint8_t *exporter, uint32_t caps, const struct rv_ip_addr *prev4,
		      const struct rv_ip_addr *prev6, uint64_t now_ns);

/* rv_ctl_emit appends |m| to the output buffer. */
void rv_ctl_emit(struct rv_ctl_peer *c, const struct rv_ctl_msg *m);

/* rv_ctl_error_msg fills |m| with ERROR(|code|, |text|), the text cut to
 * RV_CTL_MAX_TEXT and non-printable characters replaced by '?'. */
void rv_ctl_error_msg(struct rv_ctl_msg *m, enum rv_ctl_code code, const char *text);

/* rv_ctl_close_with records the reason, queues ERROR(code, reason) and
 * closes. Returns RV_CTL_CLOSE. */
enum rv_ctl_result rv_ctl_close_with(struct rv_ctl_peer *c, enum rv_ctl_code code, const char *fmt,
				     ...) RV_PRINTF(3, 4);

/* rv_ctl_check_hello checks the peer's HELLO versions and records its caps. */
enum rv_ctl_result rv_ctl_check_hello(struct rv_ctl_peer *c, const struct rv_ctl_hello *h);

/* rv_ctl_rekey_due: a wanted rekey may start now (none in flight, and the
 * newest epoch is at least RV_CTL_MIN_REKEY_MS old). */
bool rv_ctl_rekey_due(const struct rv_ctl_peer *c, uint64_t now_ns);

/* rv_ctl_start_rekey sends KEY for the next epoch (nothing if one is in flight). */
enum rv_ctl_result rv_ctl_start_rekey(struct rv_ctl_peer *c, uint64_t now_ns);

/* rv_ctl_peer_rekey_allowed charges one peer-started key exchange against
 * the peer's budget: false (and the reason recorded) when it comes sooner
 * than half of RV_CTL_MIN_REKEY_MS after the newest epoch, or the budget of
 * RV_CTL_PEER_REKEYS_PER_MIN per minute is spent. */
bool rv_ctl_peer_rekey_allowed(struct rv_ctl_peer *c, uint64_t now_ns);

/* rv_ctl_peer_data_keepalive sends a data-channel keepalive now (asking
 * for an answer where the peer gives one) and restarts its interval; nothing
 * without env->send_keepalive (the server). */
void rv_ctl_peer_data_keepalive(struct rv_ctl_peer *c, uint64_t now_ns);

/* rv_ctl_peer_told_data_status takes the peer's DATA_STATUS (the caller
 * checked that it may come now): whether our data-channel datagrams reach
 * it, which it alone can know. Said once per change; status shows it
 * meanwhile. */
void rv_ctl_peer_told_data_status(struct rv_ctl_peer *c, const struct rv_ctl_data_status *d,
				  uint64_t now_ns);

/* ---- the control loop (loop.c, chan.c, admit.c, dial.c, hostcfg.c,
 *      mgmt.c, reload.c) ------------------------------------------------ */

/* struct rv_ctl_io is how the loop's pieces queue ring operations: the
 * control ring in production, a recording fake in tests. Each returns 0 or
 * -EBUSY (no submission slot even after submitting). */
struct rv_ctl_io {
	void *ctx;
	int (*accept)(void *ctx, int fd, uint64_t ud);
	int (*recv)(void *ctx, int fd, void *buf, size_t len, uint64_t ud);
	int (*send)(void *ctx, int fd, const void *buf, size_t len, uint64_t ud);
	int (*connect)(void *ctx, int fd, const struct sockaddr *sa, socklen_t len, uint64_t ud);
	int (*read)(void *ctx, int fd, void *buf, size_t len, uint64_t ud);
	int (*cancel_fd)(void *ctx, int fd, uint64_t ud);
};

/* struct rv_ltimer is a wheel timer with the function that handles it. */
struct rv_ltimer {
	struct rv_timer t;
	void (*fn)(struct rv_loop *l, struct rv_ltimer *lt);
};

enum {
	/* Ciphertext read and sent per ring operation. A live peer's records
	 * are one frame each (at most RV_CTL_MAX_FRAME and TLS's overhead);
	 * only the handshake's flights take a few operations more. Every
	 * connection holds both for its life: at 10,000 sessions 4 KiB each
	 * were 80 MB, a fifth of the server's memory (round-eighteen
	 * tester 83). */
	RV_CHAN_RBUF = 1024,
	RV_CHAN_SBUF = 1024,
	RV_CHAN_PBUF = 2 * RV_CTL_MAX_FRAME,
	/* Ciphertext a peer may leave unread before it is disconnected: far
	 * above anything the protocol produces for a live peer (a few
	 * hundred bytes per message), far below memory trouble. */
	RV_CHAN_MAX_OUT = 64 * 1024,
};

/* struct rv_chan is one control connection (TCP + TLS + control peer).
 * Owned by the slot table (chan.c). Closing it (rv_chan_close) releases the
 * peer's state machine at once (session unpublished and retired, address
 * returned, keys wiped), frees the TLS engine and shuts the socket down; the
 * struct itself, whose buffers the kernel may still be writing into, is
 * freed only when its last in-flight ring operation has completed
 * (inflight == 0). Completions carry the slot id and a generation, so one
 * for a slot that has since been reused is recognised and ignored. */
struct rv_chan {
	uint32_t id, gen;
	int fd;
	unsigned inflight;
	bool closing;		/* released; waiting for in-flight ops */
	bool close_after_send;	/* close once the send queue is empty */
	bool authed;		/* TLS handshake completed and verified */
	bool hello;		/* the handshake got past the ClientHello */
	bool was_running;	/* the peer reached RUNNING */
	bool tls_failed;	/* the handshake failed (client: for the exit code) */
	bool connect_failed;	/* client: its TCP connect failed (said then) */
	bool connect_timed_out; /* client: its TCP connect did not finish in time */
	bool ended_here;	/* closed by this end before its control peer (a stop, a
				 * reload, an address gone), not by the far end */
	bool hs_counted;	/* server: its handshake counted as timed out or evicted */
	bool send_armed;
	bool released; /* its peer was released before the close (replaced) */
	bool quiet;    /* server: its name connects too often to log each */
	/* Server: its name's slot of admit.c's table, held (not handed to
	 * another name) while this connection may take from its budget of
	 * report lines; NULL once let go. */
	struct rv_name_quiet *quiet_slot;
	bool cert_expired;	       /* ended because the peer's certificate expired */
	bool cert_untrusted;	       /* ended because the CA set no longer verifies it */
	bool closed_here;	       /* closed by this end without a word to the peer */
	bool tls_broken;	       /* a TLS record failed after the handshake (forged?) */
	uint8_t refusal;	       /* enum rv_tls_refusal of a failed handshake */
	bool peer_expiry_said;	       /* client: the server certificate's expiry was said */
	int64_t peer_not_after;	       /* the peer certificate's expiry (0: none) */
	uint64_t tls_gen;	       /* the loop's tls_gen when its handshake began */
	struct rv_chan *zprev, *znext; /* on the zombie list while closing */
	struct rv_ltimer timer;	       /* handshake timeout, then the peer's timers */
	struct rv_admit_entry admit;   /* server: while half-open */
	struct rv_name_node name_node; /* server: in the name table once its HELLO is taken */
	struct rv_name_node wait_node; /* server: authenticated, its HELLO not yet taken */
	bool wait_named;	       /* server: waiting while its name holds a session */
	char name[RV_TLS_CN_MAX + 1];  /* the peer's certificate name */
	uint64_t start_ns, up_ns;
	struct rv_endpoint peer;
	char peer_str[64];
	char reason[384]; /* as rv_ctl_peer's */
	struct rv_tls_conn *tls;
	struct rv_ctl_peer *ctl;
	/* server, balance.c: the session's bytes at the last look */
	const struct rv_session *bal_session;
	uint64_t bal_bytes, moved_ns;
	size_t plen, soff, slen;
	/* This end's handshake output still unsent when the handshake was
	 * done (a client's certificate chain: 70 KB of it was taken for a
	 * server that stopped reading, tester 261): let through above
	 * RV_CHAN_MAX_OUT until the output is under it again. */
	size_t hs_out;
	uint8_t pbuf[RV_CHAN_PBUF];
	uint8_t sbuf[RV_CHAN_SBUF];
	uint8_t rbuf[RV_CHAN_RBUF];
};

/* struct rv_role is what the loop asks of the role it plays (admit.c for
 * the server, dial.c for the client). The loop and chan.c never test which
 * role they run; they call these. */
struct rv_role {
	const char *name;
	/* start opens what the role listens on or makes its first attempt. */
	int (*start)(struct rv_loop *l, char *err, size_t err_len);
	/* stop: shutdown began (stop accepting / stop reconnecting). */
	void (*stop)(struct rv_loop *l);
	void (*free)(struct rv_loop *l);
	/* hello: a half-open connection's handshake got past its ClientHello
	 * (the server has answered it). */
	void (*hello)(struct rv_loop *l, struct rv_chan *c);
	/* authenticated: the TLS handshake of |c| completed and verified; set
	 * c->ctl (or close |c|). */
	void (*authenticated)(struct rv_loop *l, struct rv_chan *c);
	/* progressed: the peer of |c| handled frames or a tick (the client
	 * notices its tunnel coming up here). */
	void (*progressed)(struct rv_loop *l, struct rv_chan *c);
	/* closing: |c| is being closed (before its peer is freed). */
	void (*closing)(struct rv_loop *l, struct rv_chan *c);
	/* report fills the role's part of a status snapshot. */
	int (*report)(struct rv_loop *l, struct rv_status *st);
	/* linger_ns (NULL: never) says how long the loop, when it was
	 * mostly idle, may gather completions before it wakes (see
	 * rv_ctlring_wait). timer_slack_ns: timers may fire that much late,
	 * so that those due close together fire in one turn. */
	uint64_t (*linger_ns)(struct rv_loop *l);
	uint64_t timer_slack_ns;
};

extern const struct rv_role rv_server_role;
extern const struct rv_role rv_client_role;

/* struct rv_render is one rendering of the status snapshot (render.c),
 * shared by every reply that sends it: counted references, freed with the
 * last. Its text is the rendering alone; a reply's own words ("ok", a cut
 * note, the end mark, an HTTP head) are the reply's. */
struct rv_render {
	unsigned refs;
	int format;	  /* enum rv_mgmt_format */
	size_t max;	  /* the text's bound (text.truncated: cut at it) */
	uint64_t made_ns; /* the loop's time it was rendered at */
	int err;	  /* 0, or -ENOMEM: no snapshot (the text is empty) */
	struct rv_strbuf text;
};

/* struct rv_render_ask is a request for a rendering, embedded in the
 * connection that waits for it (render.c). Zero state: not waiting. */
struct rv_render_ask {
	struct rv_render_ask *prev, *next; /* in the waiting list; NULL: not in it */
	int format;			   /* enum rv_mgmt_format */
	size_t max;
	/* done gets the rendering, borrowed: rv_render_get to keep it (not
	 * one with err set, which may be on the stack). */
	void (*done)(struct rv_loop *l, struct rv_render_ask *a, struct rv_render *r);
};

/* struct rv_renders is the loop's render budget and its waiting list
 * (render.c). */
struct rv_renders {
	int64_t tokens_ns;	      /* render time that may be spent now (< 0: owed) */
	uint64_t tokens_at_ns;	      /* when they were counted */
	bool started;		      /* set up (the zero state: a full bucket, nobody waiting) */
	struct rv_render_ask waiting; /* the list's head: oldest first */
	struct rv_ltimer timer;	      /* the waiting are served then */
	uint64_t made, deferred;      /* counters for status */
};

struct rv_loop {
	struct rv_config *cfg; /* owned; reload replaces it */
	struct rv_loop_params p;
	const struct rv_role *role;
	void *role_state; /* struct rv_server_side / rv_client_side */
	struct rv_tls_ctx *tls;
	uint64_t tls_gen;	       /* bumped by each swap of |tls| (reload.c) */
	struct rv_crlstate *crl_state; /* NULL without crl_state (crlstate.h) */
	struct rv_dataplane *dp;
	struct rv_ctl_env env;
	struct rv_ctlring *ring; /* NULL when driven through a custom io */
	struct rv_ctl_io io;
	struct rv_wheel *wheel;
	uint64_t now_ns;  /* time of the current loop turn */
	uint64_t idle_ns; /* how long the last wait slept */
	uint64_t turn_ns; /* from the wake before the last to the last: its work and its wait */
	/* The last time the loop woke long after its timers were due, or was
	 * continued after a stop (loop.c). */
	uint64_t stall_seen_ns;
	int64_t ca_lapse_seen; /* reload.c: the CA lapse whose sessions were checked */
	int64_t lapse_ended;   /* reload.c: the CA or CRL end whose sessions were ended */
	/* reload.c: up to when the live sessions were checked against the
	 * CRLs in force that were dated ahead (0: not yet looked at). */
	int64_t crl_born_checked;
	uint64_t woke_late_ns; /* the last wake LATE_NS or more late (loop.c) */
	/* starve.c: each worker's run-queue wait at the last look, and when */
	struct rv_ltimer starve_timer;
	uint64_t starve_at_ns;
	uint64_t starve_wait_ns[RV_MAX_WORKERS];
	/* The ring's wait refused for now (EAGAIN, EBUSY: loop.c ring_busy):
	 * the run of them, and the spells of a failing ring. */
	struct rv_busy_run ring_busy;
	struct rv_ring_spells ring_spells;
	uint64_t started_ns;
	/* connection slots (chan.c) */
	struct rv_chan **chans;
	uint32_t *free_ids;
	uint32_t max_chans, num_chans, num_free, next_gen;
	uint32_t chans_peak; /* most connections since the heap was last trimmed */
	bool trim_at_idle;   /* trim once more when the last connection is gone */
	struct rv_chan *zombies;
	/* management socket (mgmt.c) and certificate watch (reload.c) */
	struct rv_mgmt *mgmt;
	struct rv_http *http; /* metrics endpoint (http.c); NULL: off */
	int spare_fd;	      /* /dev/null held in reserve for them (slots.c) */
	struct rv_ltimer reclaim_timer, watchdog_timer, expiry_timer, stop_timer, watch_timer;
	struct rv_ltimer watch_retry_timer; /* reload.c: inotify could not be had yet */
	struct rv_ltimer logflush_timer;
	struct rv_ltimer tunwatch_timer;  /* tunwatch.c */
	struct rv_ltimer dns_retry_timer; /* hostcfg.c: the DNS thread refused */
	bool tun_down_said, tun_repair_failed;
	bool tun_v6_off_said;	   /* the server's TUN can carry no IPv6 now: said */
	bool tun_mtu_failed;	   /* a raised MTU could not be put back: said */
	bool tun_renamed_said;	   /* tunwatch.c: the TUN's name is another link's now */
	unsigned tun_foreign_said; /* tunwatch.c: queues counted when others' were said */
	char tun_renamed_to[16];   /* tunwatch.c: the TUN's name then ("" unknown) */
	bool listen_gone_said;	   /* tunwatch.c: the listen address left the host */
	bool loop_said;		   /* tunwatch.c: a client's server routed into its TUN */
	int tunwatch_fd;	   /* rtnetlink, subscribed to link/address/route changes */
	unsigned tunwatch_ifindex;
	uint64_t tunwatch_last_ns; /* the last check */
	uint8_t tunwatch_buf[8192];
	int watch_fd;
	uint8_t watch_buf[4096];
	/* What the CA, CRL, certificate and key paths resolved to when last
	 * loaded (reload.c): a watch event reloads only when one changed. */
	struct rv_file_id {
		uint64_t dev, ino, size;
		int64_t mtime_ns, ctime_ns; /* ctime: its owner or mode changed */
	} watch_ids[4];
	/* When a file dated ahead (a staged certificate, a CRL) is looked at
	 * again, unchanged as it is (0: none due): other events meanwhile
	 * reload nothing. */
	uint64_t watch_due_ns;
	/* The last look at them failed for a lack of this process's own
	 * (descriptors, memory): looked at again (reload.c). */
	bool watch_transient;
	/* An inotify_add_watch failed (ENOSPC: the user's watches used up;
	 * ENOMEM): its errno, 0 when the watch is whole (reload.c). */
	int watch_short;
	/* signals */
	int sigfd;
	struct signalfd_siginfo siginfo;
	uint64_t rekey_val; /* read buffer of the data plane's rekey eventfd */
	bool started, stopping, done;
	enum rv_loop_exit exit;
	/* counters for status */
	/* reloads: applied; reload_partial: of those, applied with a part
	 * that failed (a "failed:" line, the reply exits 1) */
	uint64_t reloads, reload_partial, reload_failures, handshake_timeouts, slow_readers;
	/* renderings of the status snapshot: their budget (render.c) */
	struct rv_renders render;
	/* The loop does not linger before then: a reply of the management
	 * socket or of the metrics endpoint goes out to a caller that takes
	 * it briskly (slots.h rv_slots_progress). */
	uint64_t brisk_until_ns;
};

/* loop.c */
/* rv_loop_stalled_recently: within the last few seconds, was the process
 * continued after a stop (SIGCONT), or did the loop wake two seconds or
 * more after its next timer was due (stopped, or starved of CPU)? */
bool rv_loop_stalled_recently(const struct rv_loop *l);
/* rv_loop_arm (re)arms |lt| to run |fn| at |when_ns|; rv_loop_disarm
 * cancels it. */
void rv_loop_arm(struct rv_loop *l, struct rv_ltimer *lt,
		 void (*fn)(struct rv_loop *l, struct rv_ltimer *lt), uint64_t when_ns);
void rv_loop_disarm(struct rv_loop *l, struct rv_ltimer *lt);
void rv_loop_begin_stop(struct rv_loop *l);
void rv_loop_notify(struct rv_loop *l, enum rv_loop_event ev, const char *fmt, ...) RV_PRINTF(3, 4);
/* rv_loop_handshake_room: how many connections in their handshake the
 * connection table, sized at the start, has room for beside max_clients
 * sessions. */
unsigned rv_loop_handshake_room(const struct rv_loop *l);
/* rv_loop_clock reads the loop's clock now (the test's, if one was
 * given): for a cost measured within a turn, whose l->now_ns stands
 * still. */
uint64_t rv_loop_clock(const struct rv_loop *l);
/* rv_loop_rekey asks every session (or |name|'s) for a new epoch; returns
 * how many were asked, and in |asked|[RV_CTL_REKEY_*] how many found what
 * (rv_ctl_peer_request_rekey). */
unsigned rv_loop_rekey(struct rv_loop *l, const char *name, unsigned asked[RV_CTL_REKEY_KINDS]);

/* chan.c */
int rv_chans_init(struct rv_loop *l, uint32_t max_chans);
void rv_chans_free(struct rv_loop *l);
/* rv_chan_new takes a slot for socket |fd| (ownership taken even on
 * failure: closed then). Returns NULL when every slot is in use. */
struct rv_chan *rv_chan_new(struct rv_loop *l, int fd, const struct rv_endpoint *peer);
/* rv_chan_start creates the TLS engine and arms the first receive and the
 * handshake timeout; the client side also produces its ClientHello, and
 * verifies the server against |expect_name| when not NULL (else the TLS
 * context's server name). */
void rv_chan_start(struct rv_loop *l, struct rv_chan *c, const char *expect_name);
/* rv_chan_arm_deadline arms |c|'s handshake_timeout from its start (a
 * client arms it at its connect already; rv_chan_start again). */
void rv_chan_arm_deadline(struct rv_loop *l, struct rv_chan *c);
/* rv_chan_by_ud finds the live connection a completion belongs to. */
struct rv_chan *rv_chan_by_ud(struct rv_loop *l, uint64_t ud);
void rv_chan_on_cqe(struct rv_loop *l, struct rv_chan *c, enum rv_op op, int res);
void rv_chan_on_timer(struct rv_loop *l, struct rv_chan *c);
/* rv_chan_set_reason records why |c| closes (the first reason wins). */
void rv_chan_set_reason(struct rv_chan *c, const char *fmt, ...) RV_PRINTF(2, 3);
/* rv_chan_close releases |c| now (see struct rv_chan). Idempotent. */
void rv_chan_close(struct rv_loop *l, struct rv_chan *c);
/* rv_chan_goodbye sends GOODBYE(|code|) (authenticated peers) and closes
 * once it is out; |reason| is logged. */
void rv_chan_goodbye(struct rv_loop *l, struct rv_chan *c, enum rv_ctl_code code,
		     const char *reason);
/* rv_chan_send_error sends ERROR(|code|, |text|) to a connection without a
 * control peer, then closes it. */
void rv_chan_send_error(struct rv_loop *l, struct rv_chan *c, enum rv_ctl_code code,
			const char *text);
/* rv_chan_kick pumps what the peer's state machine queued and re-arms its
 * timer (after an operator action changed its state). */
void rv_chan_kick(struct rv_loop *l, struct rv_chan *c);
void rv_chans_reap(struct rv_loop *l);
/* rv_chan_fill_status fills a status row for the authenticated |c|. */
void rv_chan_fill_status(const struct rv_loop *l, const struct rv_chan *c,
			 struct rv_status_peer *p);
#define rv_chans_foreach(l, i, c)                                    \
	for (uint32_t i = 0; i < (l)->max_chans; i++)                \
		if (((c) = (l)->chans[i]) == NULL || (c)->closing) { \
		} else

/* starve.c: rv_starve_start has the control thread look, twice a second,
 * whether a data-plane worker went without a CPU, and say it. */
void rv_starve_start(struct rv_loop *l);

/* admit.c (server role) */
/* rv_server_end sends GOODBYE(|code|) to |c| and releases its session, keys
 * and addresses at once (the connection lingers only to send the GOODBYE). */
void rv_server_end(struct rv_loop *l, struct rv_chan *c, enum rv_ctl_code code, const char *reason);
struct rv_chan *rv_server_find(struct rv_loop *l, const char *name);

/* rv_server_find_waiting: the connection of |name| that is authenticated
 * and has not said HELLO yet (no session), or NULL. admit.c. */
struct rv_chan *rv_server_find_waiting(struct rv_loop *l, const char *name);
size_t rv_server_sessions(const struct rv_loop *l);
/* rv_server_listen_addr: the one address the server's control socket is
 * bound to (false: all of them, or none), and the interface a link-local
 * one is bound to (0: none). admit.c. */
bool rv_server_listen_addr(const struct rv_loop *l, struct rv_ip_addr *out, unsigned *ifindex);
/* rv_server_apply_config applies a reloaded configuration to the server
 * role (pools, fixed addresses, admission limits, pushed routes and timers).
 * Appends what it did to |log|. Returns 0 or -errno (nothing changed). */
int rv_server_apply_config(struct rv_loop *l, struct rv_config *next, struct rv_strbuf *log);
/* rv_server_say_cipher appends to |log| what a change of `cipher` from
 * |old_cipher| to l->cfg's does to the running sessions; nothing if it did
 * not change. Called after the reload's other parts, so that sessions the
 * reload ends (revoked by a new CRL) are not counted (round-fourteen tester
 * 68). srvconf.c. */
void rv_server_say_cipher(struct rv_loop *l, unsigned old_cipher, struct rv_strbuf *log);
void rv_server_on_accept(struct rv_loop *l, int res);

/* dial.c (client role) */
void rv_client_on_connect(struct rv_loop *l, struct rv_chan *c, int res);
/* rv_client_order_changed: a reload changed server_order or the server
 * list: the next connection starts the list as a start with it would. */
void rv_client_order_changed(struct rv_loop *l);

/* rv_client_net_changed: the host gained a route, an address or a link
 * with its carrier. A client waiting out its backoff after an attempt that
 * found no way to its server tries again in half a second, at most once
 * per reconnect_max: it waited up to 1.5 reconnect_max after the network
 * came back (45 s at the defaults: round-fifty-four tester 230). */
void rv_client_net_changed(struct rv_loop *l);

/* rv_client_addr_gone: the host's address |gone| left it (an address
 * message): a control connection made from it is ended at once, and made
 * again from an address the host still has. */
void rv_client_addr_gone(struct rv_loop *l, const struct rv_ip_addr *gone, unsigned ifindex);
void rv_client_on_resolved(struct rv_loop *l, int res);

/* rv_client_session returns the client's published session (that of the
 * current connection's first CONFIG), or NULL. Control thread only. */
struct rv_session *rv_client_session(struct rv_loop *l);

/* hostcfg.c (client) */
int rv_hostcfg_apply(void *loop, const struct rv_ctl_config *c, bool update);
/* rv_hostcfg_session gives the newly published session |s| the networks the
 * host routes into the tunnel as the sources it may send from (the env's
 * on_session; apply keeps them current afterwards). Returns 0 or -errno. */
int rv_hostcfg_session(void *loop, struct rv_session *s);
/* rv_client_local_failure ends the client when |err| (±errno) says the host
 * is out of file descriptors or memory (exit 1) or its TUN device is gone
 * (exit 14): reconnecting cannot change that, and each attempt that gets as far as the server costs it a
 * handshake and an address, for ever. Other errors (a pushed route the host
 * refuses) end only the connection, which is tried again. Returns |err|. */
int rv_client_local_failure(struct rv_loop *l, int err);
/* rv_hostcfg_wanted fills what the last CONFIG put on the client's TUN: its
 * addresses and the routes accept_routes let in and the host sends
 * through it (at most RV_CTL_MAX_ROUTES). False before the first CONFIG. */
bool rv_hostcfg_wanted(struct rv_loop *l, struct rv_prefix *addrs, size_t *num_addrs,
		       struct rv_prefix *routes, size_t *num_routes);
/* rv_hostcfg_no_ipv6: the TUN carries no IPv6 (its MTU is below 1280, or
 * IPv6 is disabled on it), so the IPv6 address the server gave is not set. */
bool rv_hostcfg_no_ipv6(struct rv_loop *l);
/* rv_hostcfg_foreign_gone: was pushed route |p| carried by a route not
 * ringvpn's through the TUN (said so), which the repair has now found gone
 * and replaced with ringvpn's? Forgets it. */
bool rv_hostcfg_foreign_gone(struct rv_loop *l, const struct rv_prefix *p);
/* rv_hostcfg_server_addr: the address of the server the client talks to
 * (false: none yet, or a link-local one, which no route carries). */
bool rv_hostcfg_server_addr(struct rv_loop *l, struct rv_ip_addr *out);
/* rv_hostcfg_server_in_tun: does the host route either of the tunnel's own
 * flows to the server (its datagrams, its control connection, as a rule
 * may tell them apart) into TUN |tun|? */
bool rv_hostcfg_server_in_tun(struct rv_loop *l, unsigned tun);
/* rv_hostcfg_note_unused marks those of |routes| (|n|) that bit i of |bits|
 * names as routed elsewhere by the host (the TUN's repair found so): left
 * out of the next repair and of the tunnel's sources, until the next
 * CONFIG judges them again. */
void rv_hostcfg_note_unused(struct rv_loop *l, const struct rv_prefix *routes, size_t n,
			    uint64_t bits);
/* rv_hostcfg_mtu: the MTU the last CONFIG set on the client's TUN (0:
 * none yet). */
unsigned rv_hostcfg_mtu(struct rv_loop *l);
/* rv_client_servers_changed applies a reload that changed the client's
 * server list (l->cfg is the new one): the list starts over at its first
 * server, and a connection to a server no longer in it is ended (GOODBYE,
 * then a reconnect). What it did goes to |log|. */
void rv_client_servers_changed(struct rv_loop *l, struct rv_strbuf *log);

/* rv_client_cert_changed, after a reload or the watch put in a context
 * with another own certificate: the session made with the old one
 * reconnects with the new one a minute before the old one ends (at once
 * when less is left), said in |log|. */
void rv_client_cert_changed(struct rv_loop *l, struct rv_strbuf *log);
/* rv_tunwatch_say_around says in a reload's reply |log| the |what| routes
 * ("subnet", "pushed") said to lie inside the network of one of the
 * host's links since |since| (rv_tun_links_around_said): only the log said
 * them (round-forty-three tester 208). */
void rv_tunwatch_say_around(struct rv_strbuf *log, const char *what, unsigned since);
/* rv_tunwatch_start arms the loop's watch of its TUN device (tunwatch.c):
 * what someone removed from it is put back as soon as the kernel says so
 * (rtnetlink), and every few seconds whatever it says. rv_tunwatch_on_cqe
 * takes the rtnetlink reads; rv_tunwatch_free closes the socket (after the
 * ring is gone). */
void rv_tunwatch_start(struct rv_loop *l);
/* rv_tunwatch_renamed: has the TUN been renamed, its name now another
 * link's or no one's? Then nothing is to be set by that name. */
bool rv_tunwatch_renamed(const struct rv_loop *l);
/* rv_tunwatch_state: the TUN device as the kernel has it now (the watch's
 * last look may be 5 s old, and a status is when an operator looks), its
 * name now into |now| (|len| bytes) when renamed. */
enum rv_status_tun rv_tunwatch_state(const struct rv_loop *l, char *now, size_t len);
/* rv_server_tun_name_back sets the server's TUN as the configuration now
 * says (its addresses, the routes to the subnets: what reloads changed
 * while it was renamed), judging every route anew (srvconf.c). */
void rv_server_tun_name_back(struct rv_loop *l);
/* rv_server_host_nets tells the data plane what of the pools and the
 * networks behind clients the host holds or routes itself
 * (rv_dataplane_set_host_nets), when that changed: at start, at a reload
 * and at every check of the TUN (srvconf.c). */
void rv_server_host_nets(struct rv_loop *l);
/* rv_server_host_parts_changed: a route through another device came or
 * went: the next rv_server_host_nets asks the kernel again for the host's
 * routes inside the networks behind clients (a dump of its whole table,
 * so not at every check: at start, at a reload, and after such a
 * change). */
void rv_server_host_parts_changed(void);

/* rv_route_part: is the route to |dst| through device |oif| a part of one
 * of |nets| (strictly inside it) that the host routes itself? Not a
 * link-local one (each device's fe80::/64), nor one through a nexthop
 * object, which names no device and may go through the TUN itself (taken
 * so, a site's addresses behind one went unreachable: round-twenty-six
 * tester 125). The server's parts of the networks behind clients and a
 * client's of the networks it routes into the tunnel. */
bool rv_route_part(const struct rv_prefix *dst, unsigned oif, const struct rv_prefix *nets,
		   size_t n);
void rv_tunwatch_on_cqe(struct rv_loop *l, int res);
void rv_tunwatch_free(struct rv_loop *l);
void rv_hostcfg_dns(void *loop, const struct rv_ctl_dns *dns);
/* rv_hostcfg_server tells what the client is about to connect to (the
 * server's address): pushed routes that cover it are not installed,
 * and those installed are taken off now (tls/hostcfg.c). */
void rv_hostcfg_server(struct rv_loop *l, const struct rv_endpoint *server);
/* rv_hostcfg_reapply filters the last CONFIG's routes again after a reload
 * changed accept_routes (|accept_changed|), or after one that did not
 * while some are not used (the host routed them elsewhere: asked again, as
 * a server's reload does; only a reconnect did: round-twenty-five tester
 * 114), installing and removing routes to match, and says what it did in
 * |log|. */
void rv_hostcfg_reapply(struct rv_loop *l, bool accept_changed, struct rv_strbuf *log);
/* rv_hostcfg_dns_reapply applies a reload that changed accept_dns (l->cfg
 * is the new one): to yes, the server's last DNS push is set on the link;
 * to no, what this client set there is taken back. What it did goes to
 * |log| ("applied: accept_dns (...)", or "failed: ..."). */
void rv_hostcfg_dns_reapply(struct rv_loop *l, struct rv_strbuf *log);
/* rv_hostcfg_withdraw takes the addresses and routes the client set off
 * its TUN when the device is persistent (it outlives the process); called
 * once the loop no longer runs (its TUN watch would put them back). */
void rv_hostcfg_withdraw(struct rv_loop *l);
/* rv_hostcfg_recheck judges again, after a change of the host's routes
 * (the tunnel watch) or at a reload, the pushed routes that cover the
 * server's address: one that would now take the tunnel's own packets into
 * the tunnel is taken off, one left out that a narrower route of the
 * host's now keeps the server out of is installed; each said. */
void rv_hostcfg_recheck(struct rv_loop *l);
/* rv_hostcfg_parts_changed: a route or link of the host's came or went:
 * the parts of the tunnel's networks it routes itself are asked again at
 * the next rv_hostcfg_recheck. */
void rv_hostcfg_parts_changed(void);

/* rv_hostcfg_ctl_source notes the source address of the control
 * connection |fd| once it is connected: the server's way is judged for
 * its segments too (a `from` rule may choose by it). */
void rv_hostcfg_ctl_source(struct rv_loop *l, int fd);

/* rv_hostcfg_name_back applies the last CONFIG once a renamed TUN has its
 * name back (none was set on a link of that name meanwhile). */
void rv_hostcfg_name_back(struct rv_loop *l);

/* mgmt.c */
int rv_mgmt_open(struct rv_loop *l, char *err, size_t err_len);
void rv_mgmt_start(struct rv_loop *l);
void rv_mgmt_free(struct rv_loop *l);
void rv_mgmt_on_cqe(struct rv_loop *l, enum rv_op op, uint64_t ud, int res);
/* rv_mgmt_fill_status takes a status snapshot: what the loop knows, then
 * the role's part. Returns 0 or -ENOMEM; rv_status_free |st| either way. */
int rv_mgmt_fill_status(struct rv_loop *l, struct rv_status *st);

/* http.c */
/* rv_http_open opens the metrics endpoint when metrics_listen is set and
 * arms its first accept; returns 0 (also when off) or -errno with a reason
 * in |err|. rv_http_free closes it and every connection: only once the
 * ring is gone (no operation in flight). NULL-safe. */
int rv_http_open(struct rv_loop *l, char *err, size_t err_len);
void rv_http_free(struct rv_loop *l);
void rv_http_on_cqe(struct rv_loop *l, enum rv_op op, uint64_t ud, int res);
/* rv_http_fill puts the endpoint's counters into a status snapshot. */
void rv_http_fill(const struct rv_loop *l, struct rv_status *st);

/* render.c */
/* rv_render_request asks for a rendering of the status snapshot in |a|'s
 * format, within |a|->max bytes. Within the budget, with nobody waiting
 * before it, it is rendered now and a->done called before this returns;
 * else |a| waits, in order, and is served when the budget returns, with
 * the others of its format and bound that wait then (one rendering for
 * them all). Counted as deferred then. |a| must not be waiting already. */
void rv_render_request(struct rv_loop *l, struct rv_render_ask *a);
/* rv_render_cancel takes |a| out of the waiting list, if it is in it (a
 * connection closed while it waits). No loop needed: safe in a slot's
 * release. */
void rv_render_cancel(struct rv_render_ask *a);
/* rv_render_get takes a reference to |r| and returns it; rv_render_put
 * drops one (NULL-safe), freeing |r| with the last. */
struct rv_render *rv_render_get(struct rv_render *r);
void rv_render_put(struct rv_render *r);
/* rv_render_fill puts the render counters into a status snapshot. */
void rv_render_fill(const struct rv_loop *l, struct rv_status *st);

/* reload.c */
/* rv_reload re-reads the configuration and applies what it can; appends a
 * summary (changed / applied / needs a restart / refused) to |out|.
 * Returns 0 or -errno (refused whole: nothing changed). */
int rv_reload(struct rv_loop *l, struct rv_strbuf *out);
int rv_watch_open(struct rv_loop *l);
void rv_watch_on_cqe(struct rv_loop *l, int res);
/* rv_watch_expiry_at brings the expiry check forward to |when| (seconds
 * since the epoch; a client certificate's end) if it is due later. */
void rv_watch_expiry_at(struct rv_loop *l, int64_t when);
void rv_watch_expiry(struct rv_loop *l);
/* rv_watch_fill puts certificate and CRL expiry into a status snapshot. */
void rv_watch_fill(struct rv_loop *l, struct rv_status *st);

/* subnets.c */
/* rv_subnets_changed: do |a| and |b| assign networks differently? */
bool rv_subnets_changed(const struct rv_config *a, const struct rv_config *b);
/* rv_subnets_apply moves the live sessions from l->cfg's subnets to
 * |next|'s without a moment when a network has no owner, and sets the
 * server's kernel routes to match; appends what it did to |log|. The
 * caller pushes the new routes to the clients. Server, control thread. */
void rv_subnets_apply(struct rv_loop *l, const struct rv_config *next, struct rv_strbuf *log);

#endif /* RV_TLS_INTERNAL_H */
