/*
 * ctlload.h — what the files of perf/ctlload share. ctlload is the control
 * plane's load generator: one process that plays N ringvpn clients against a
 * real server (see ctlload.c for the commands and perf/ctlload.sh for the
 * benchmark built on it). Internal to perf/: nothing else includes this.
 *
 *   ctlload.c        main, options, the command script read from stdin
 *   ctlload_loop.c   the io_uring loop and one simulated client per slot:
 *                    TCP connect from one of several source addresses, TLS
 *                    (tls/conn.h), the client state machine
 *                    (tls/ctl_client.h), the real client's jittered backoff
 *   ctlload_data.c   the UDP data channel: sealed keepalives, opening what
 *                    the server sends, and the probe (ICMP echo through one
 *                    session, to count drops during a rekey)
 *   ctlload_floor.c  the cost of one TLS 1.3 mutual-auth handshake in memory
 *   ctlload_certs.c  issuing the client certificates in bulk (pki/)
 *
 * Everything runs on one thread; nothing here is thread-safe.
 */
#ifndef RV_PERF_CTLLOAD_H
#define RV_PERF_CTLLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/session.h"
#include "core/timer.h"
#include "tls/ctl.h"

struct rv_ctlring;
struct rv_demux;
struct rv_qsbr;
struct rv_tls_conn;
struct rv_tls_ctx;
struct rv_ctl_peer;
struct rv_wheel;
struct ld_script;

enum {
	LD_MAX_SOURCES = 256,
	LD_RBUF_LEN = 4096,
	LD_SBUF_LEN = 4096,
	LD_PBUF_LEN = 2 * RV_CTL_MAX_FRAME,
	LD_UBUF_LEN = 2048,
};

/* What a simulated client is doing. The numbers of each are in
 * struct ld.num_state and in every timeline line. */
enum ld_state {
	LD_IDLE = 0,   /* not started, or stopped */
	LD_BACKOFF,    /* waiting to reconnect */
	LD_CONNECTING, /* TCP connect in flight */
	LD_TLS,	       /* TLS handshake */
	LD_CTL,	       /* authenticated: HELLO, CONFIG, first key exchange */
	LD_RUNNING,    /* epoch 1 confirmed: the tunnel is up */
	LD_CLOSING,    /* released; waiting for its ring operations to complete */
	LD_NUM_STATES,
};

/* What a session does once its connection is closed. */
enum ld_after {
	LD_AFTER_BACKOFF = 0, /* reconnect after the real client's jittered backoff */
	LD_AFTER_NOW,	      /* reconnect at once (churn: a replacement client) */
	LD_AFTER_IDLE,	      /* stay idle (stop) */
};

struct ld;

/* One simulated client. Slots are preallocated and reused across
 * connections; a slot reconnects only once every ring operation of its
 * previous connection has completed, so a completion always belongs to the
 * slot's current connection. */
struct ld_sess {
	struct ld *ld;
	uint32_t id;
	enum ld_state st;
	enum ld_after after;
	int fd;
	unsigned inflight;     /* ring operations in flight on fd */
	bool send_armed;       /* one send in flight at a time */
	bool close_after_send; /* GOODBYE/alert queued: close once sent */
	bool rst;	       /* close with a TCP reset instead of a FIN */
	bool was_running;      /* this connection reached LD_RUNNING */
	bool queued;	       /* waiting in ld.ready for room in the window */
	uint32_t backoff_ms;
	uint64_t t_start_ns; /* connect started */
	/* One timer per slot: LD_BACKOFF: reconnect; LD_CONNECTING/LD_TLS:
	 * handshake timeout; LD_CTL/LD_RUNNING: the peer's next deadline
	 * (rv_ctl_peer_next_ns), or the end of the linger after GOODBYE. */
	struct rv_timer timer;
	struct rv_tls_ctx *ctx;
	struct rv_tls_conn *tls;
	struct rv_ctl_peer *cli;
	struct rv_ctl_env env; /* ctx points back at this slot */
	uint32_t epoch_mark;   /* sending epoch at the last ld_snap_epochs */
	uint8_t addr4[4];      /* from CONFIG */
	uint8_t prefix4;
	size_t plen, soff, slen;
	uint8_t *rbuf, *sbuf, *pbuf; /* LD_RBUF_LEN, LD_SBUF_LEN, LD_PBUF_LEN */
};

struct ld_stats {
	uint64_t connects, connect_fail, tls_ok, tls_fail, hs_timeouts;
	uint64_t running, closed_by_server, closed_by_us, closed_by_ctl;
	uint64_t ka_tx, ka_tx_fail;
	uint64_t udp_rx, udp_ok, udp_bad, udp_unknown, udp_keepalive;
	uint64_t probe_tx, probe_rx, probe_bad;
};

struct ld_opts {
	unsigned count;
	struct sockaddr_storage server;
	socklen_t server_len;
	const char *server_name;
	const char *ca, *cert_dir, *cert_prefix;
	struct sockaddr_storage sources[LD_MAX_SOURCES];
	unsigned num_sources;
	unsigned window; /* most connections not yet running at once (0: no limit) */
	uint32_t reconnect_min_ms, reconnect_max_ms, handshake_timeout_ms;
};

struct ld {
	struct ld_opts o;
	struct rv_config *cfg; /* client defaults; the state machines read it */
	struct rv_ctlring *ring;
	struct rv_demux *demux;
	struct rv_qsbr *qsbr;
	struct rv_wheel *wheel;
	struct ld_sess *sess;
	/* Slots due to connect while the window is full, oldest first. */
	uint32_t *ready;
	size_t ready_head, ready_len;
	unsigned num_state[LD_NUM_STATES];
	struct ld_stats st;
	bool done;
	/* data channel (ctlload_data.c) */
	int udp_fd;
	uint8_t *ubuf;	       /* UBUF_LEN: the datagram the ring receives */
	struct ld_sess *probe; /* NULL: no probe running */
	uint32_t probe_pps;
	uint16_t probe_seq;
	uint64_t probe_next_ns;
	/* command script (ctlload.c) */
	struct ld_script *script;
	uint8_t in[1024]; /* stdin, read through the ring */
};

/* --- ctlload_loop.c --- */

/* ld_init builds the loop: ring, tables, one TLS context per client
 * certificate (loaded now, so a connect storm measures handshakes and not
 * file parsing) and the UDP socket. Returns 0 or -errno with a message
 * printed. */
int ld_init(struct ld *ld);
void ld_cleanup(struct ld *ld);

/* ld_run runs the loop until the command script says quit (or stdin
 * closes). Returns 0 or -errno (ring failure). */
int ld_run(struct ld *ld);

/* ld_start_all moves every idle slot to LD_BACKOFF due now. */
void ld_start_all(struct ld *ld);

/* ld_close_sess closes |s|'s connection: with GOODBYE and close_notify, or
 * with a TCP reset (|rst|), and then does |after|. */
void ld_close_sess(struct ld *ld, struct ld_sess *s, bool rst, enum ld_after after);

/* ld_stop_all closes every connection with GOODBYE and leaves the slots idle. */
void ld_stop_all(struct ld *ld);

/* ld_epochs: the lowest and highest sending epoch over running sessions. */
void ld_epochs(const struct ld *ld, uint32_t *out_min, uint32_t *out_max);

/* ld_snap_epochs records every slot's sending epoch (0 if not running);
 * ld_num_rekeyed counts the running slots whose epoch has moved past it. */
void ld_snap_epochs(struct ld *ld);
unsigned ld_num_rekeyed(const struct ld *ld);

/* --- ctlload.c: the command script, driven by the loop --- */

/* ld_cmd_input hands |len| bytes read from stdin to the script (0: EOF). */
void ld_cmd_input(struct ld *ld, const uint8_t *buf, size_t len);
/* ld_cmd_tick runs the script's timers (waits, churn, timeline) at |now_ns|. */
void ld_cmd_tick(struct ld *ld, uint64_t now_ns);

/* --- ctlload_data.c --- */

int ld_data_init(struct ld *ld);
void ld_data_cleanup(struct ld *ld);
/* ld_data_on_recv handles the datagram of |res| bytes (or -errno) received
 * into ld->ubuf and everything else already queued on the socket. */
void ld_data_on_recv(struct ld *ld, int res);
/* ld_data_keepalive and ld_data_on_config are the upcalls of every state
 * machine (|ctx| is its struct ld_sess): send an empty data message; note the
 * address CONFIG assigned (for the probe). */
void ld_data_keepalive(void *ctx, struct rv_session *s, bool echo);
int ld_data_on_config(void *ctx, const struct rv_ctl_config *cfg, bool update);
/* ld_data_probe_tick sends the probe's echo requests due at |now_ns|. */
void ld_data_probe_tick(struct ld *ld, uint64_t now_ns);

/* --- ctlload_floor.c --- */

/* ld_floor runs |n| TLS 1.3 mutual-auth handshakes between two in-memory
 * engines and prints the server's and both ends' CPU time per handshake.
 * Returns 0 or -errno. */
int ld_floor(const char *ca, const char *server_cert, const char *server_key,
	     const char *client_cert, const char *client_key, const char *server_name, unsigned n);

/* --- ctlload_certs.c --- */

/* ld_certs issues client certificates PREFIX1..PREFIXn into |out_dir| with
 * the CA in |ca_dir|, skipping those already there. Returns 0 or -errno. */
int ld_certs(const char *ca_dir, const char *out_dir, const char *prefix, unsigned n);

#endif /* RV_PERF_CTLLOAD_H */
