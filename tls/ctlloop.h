/*
 * ctlloop.h — the control thread: one io_uring (uring/ctlring.h) driving TCP
 * accept/connect/recv/send, the TLS engines (tls/conn.h), the per-peer
 * control state machines (tls/ctl_server.h, tls/ctl_client.h), a 100 ms
 * tick for every timer, signals (signalfd) and the local status socket.
 *
 * It is the only writer of sessions, demux tables and the address pool.
 *
 * Server: listens on cfg->listen_host:listen_port. Connections still in the
 * TLS handshake are capped at cfg->max_handshaking: when the cap is reached,
 * the oldest half-open connection is closed to make room, and every
 * connection that has not finished its handshake within
 * cfg->handshake_timeout is closed, so a flood of half-open connections
 * cannot keep a real client out. A second connection with the same
 * certificate name replaces the first (the first is sent GOODBYE(REPLACED)
 * and released before the new one gets its addresses).
 *
 * Client: connects to cfg->server_host:server_port, reconnecting with
 * exponential backoff (reconnect_min doubling up to reconnect_max, with
 * jitter) whenever the session ends; the data plane and its TUN device are
 * started on the first CONFIG and kept across reconnects.
 *
 * Signals (the caller blocks them in every thread and passes a signalfd):
 * SIGINT/SIGTERM: GOODBYE to every peer, then return; SIGHUP (server):
 * reload CA, CRL, certificate and key for new connections; SIGUSR1: rekey
 * every session now.
 *
 * Status socket (unix stream, mode 0600): one request line per connection:
 * "status" prints sessions and counters as `key=value` lines; "rekey [NAME]"
 * starts a rekey of every session (or of NAME's).
 */
#ifndef RV_TLS_CTLLOOP_H
#define RV_TLS_CTLLOOP_H

#include <stddef.h>
#include <stdint.h>

struct rv_config;
struct rv_dataplane;
struct rv_demux;
struct rv_ippool;
struct rv_qsbr;
struct rv_tls_ctx;
struct rv_ctlloop;

/* enum rv_ctl_event: what the loop tells its caller through
 * rv_ctlloop_params.notify (service-manager notification and privilege
 * handling live in cli/, not here). */
enum rv_ctl_event {
	RV_CTL_EV_TICK,		/* every tick (100 ms): the loop is alive */
	RV_CTL_EV_RELOADING,	/* SIGHUP received, reload starts */
	RV_CTL_EV_RELOADED,	/* reload done; |status| says how it went */
	RV_CTL_EV_STOPPING,	/* SIGINT/SIGTERM: shutdown begins */
	RV_CTL_EV_DATAPLANE_UP, /* client: data plane and TUN started (workers exist) */
};

struct rv_ctlloop_params {
	const struct rv_config *cfg; /* borrowed; role selects server or client */
	struct rv_tls_ctx *tls;	     /* ownership taken on success */
	struct rv_demux *demux;	     /* borrowed */
	struct rv_qsbr *qsbr;	     /* borrowed */
	struct rv_ippool *pool;	     /* server: borrowed */
	struct rv_dataplane *dp;     /* server: running data plane, borrowed */
	int sigfd;		     /* signalfd for INT, TERM, HUP, USR1; borrowed */
	unsigned max_attempts;	     /* client: give up after N failed attempts (0: never) */
	/* Called on the loop's thread for each enum rv_ctl_event, with a
	 * human-readable |status| or NULL; may be NULL. Must not block. */
	void (*notify)(void *ctx, enum rv_ctl_event ev, const char *status);
	void *notify_ctx;
};

enum rv_ctlloop_exit {
	RV_CTLLOOP_SIGNAL = 0,	/* SIGINT/SIGTERM: clean shutdown */
	RV_CTLLOOP_GAVE_UP_TLS, /* client: max_attempts reached, last failure TLS */
	RV_CTLLOOP_GAVE_UP_NET, /* client: max_attempts reached, last failure network */
	RV_CTLLOOP_TUN_FAILED,	/* client: the data plane / TUN could not be set up */
	RV_CTLLOOP_FAILED,	/* ring failure */
};

/* rv_ctlloop_new creates the loop and (server) its listening socket and
 * (both) the status socket. Returns 0, or -errno with a reason in |err|
 * (e.g. -EADDRINUSE). Must be called on the thread that will run it. */
int rv_ctlloop_new(struct rv_ctlloop **out, const struct rv_ctlloop_params *p, char *err,
		   size_t err_len);

/* rv_ctlloop_run runs until a signal or (client) a terminal failure. */
enum rv_ctlloop_exit rv_ctlloop_run(struct rv_ctlloop *l);

/* rv_ctlloop_free closes every connection, releases every session (waiting
 * for the QSBR grace periods), stops a data plane the loop started, removes
 * the status socket and frees the loop. NULL ok. */
void rv_ctlloop_free(struct rv_ctlloop *l);

#endif /* RV_TLS_CTLLOOP_H */
