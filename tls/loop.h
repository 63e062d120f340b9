/*
 * loop.h — the control thread: one io_uring (uring/ctlring.h) and one
 * timer wheel (core/timer.h) driving the control connections, the
 * management socket, signals and configuration reloads, for either role.
 *
 * It is the only writer of sessions, demux tables and the address pool.
 * Every event costs O(1): connections are found by slot (completions) or
 * by certificate name (core/nametab.h), timers expire from the wheel, and
 * half-open connections are admitted per source (core/admit.h). Only
 * operator requests that are about every session (status, rekey all,
 * shutdown, reload) walk them all.
 *
 * Files (tls/, all sharing tls/internal.h):
 *   loop.c     the event loop, completion dispatch, timers, signals, stop
 *   chan.c     connection slots and the TLS pump (ciphertext <-> frames)
 *   admit.c    the server role: listen, fair admission, authentication,
 *              one session per name, kick, revocation of live sessions
 *   dial.c     the client role: servers, resolution, connect, backoff
 *   hostcfg.c  the client applying CONFIG and DNS to the host
 *   mgmt.c     the management socket (status, kick, rekey, reload, ...)
 *   http.c     the Prometheus metrics endpoint (metrics_listen)
 *   reload.c   configuration reload and certificate/CRL watching
 *
 * Who owns what: the command (cli/) creates the data plane in both roles
 * and keeps owning it; the loop borrows it. The loop owns the TLS context,
 * the configuration it runs on (reload replaces both) and, on the server,
 * the address pool.
 */
#ifndef RV_TLS_LOOP_H
#define RV_TLS_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rv_config;
struct rv_ip_addr;
struct rv_dataplane;
struct rv_demux;
struct rv_ippool;
struct rv_qsbr;
struct rv_tls_ctx;
struct rv_loop;

/* Service-manager events (sd_notify in cli/): the loop reports them through
 * rv_loop_params.notify. */
enum rv_loop_event {
	RV_LOOP_READY,	   /* running: listening (server) / first attempt made (client) */
	RV_LOOP_STATUS,	   /* |status| is a one-line summary (sessions, state) */
	RV_LOOP_RELOADING, /* a reload started */
	RV_LOOP_RELOADED,  /* a reload finished (applied or refused) */
	RV_LOOP_STOPPING,  /* shutdown began */
	RV_LOOP_WATCHDOG,  /* the loop is alive (sent every few seconds) */
};

/* struct rv_dns_want is the DNS a client wants on its tunnel link. */
struct rv_dns_want {
	unsigned ifindex; /* the TUN's, taken at start (a rename keeps it) */
	const char *ifname;
	const struct rv_ip_addr *servers;
	size_t num;
	const char *domain; /* search domain, "" = none */
	const char *desc;   /* servers and domain as the log says them */
};

struct rv_loop_params {
	const struct rv_config *cfg; /* copied; role selects server or client */
	struct rv_tls_ctx *tls;	     /* ownership taken on success */
	struct rv_demux *demux;	     /* borrowed */
	struct rv_qsbr *qsbr;	     /* borrowed */
	struct rv_ippool *pool;	     /* server: ownership taken on success */
	struct rv_dataplane *dp;     /* borrowed, both roles; must outlive the loop */
	int sigfd;		     /* signalfd for INT, TERM, HUP, USR1; borrowed */
	/* signals_root_only: started as root and dropped to a user that
	 * others may share (nobody): SIGINT, SIGTERM, SIGHUP and SIGUSR1 sent
	 * by a process of another uid than root are ignored (said), so that
	 * those others cannot stop, reload or rekey this one. */
	bool signals_root_only;
	/* service_uid: the user the process runs as once started (its
	 * crl_state may be that user's: tls/crlstate.h). */
	uid_t service_uid;
	gid_t service_gid; /* its group: a directory it may write is no stranger's */
	/* the user is shared with other services (nobody): its directories
	 * are strangers' after all (their processes could swap a socket) */
	bool service_shared;
	unsigned max_attempts; /* client: give up after N failed attempts (0: never) */
	/* load_config (for reload) fills |out| the way the command did at
	 * start (defaults, file, command-line overrides) and validates it.
	 * Returns 0 or -errno with a reason in |err|. NULL: reload refused. */
	int (*load_config)(void *ctx, struct rv_config *out, char *err, size_t err_len);
	/* check_restart (for reload) says what a start with |next| would
	 * refuse of the restart-only settings it changes from |cur|: 0, the
	 * start's exit code with why in |why|, or -1 with a warning in |why|
	 * (what it could not judge). |running| is the running TLS context
	 * (its key and certificate stand in for files this process may no
	 * longer read, as for the reload's own); |own_tun| the running TUN's
	 * interface index (0: none), whose queues are this process's, under
	 * whatever name. NULL: not checked. */
	int (*check_restart)(void *ctx, const struct rv_config *cur, const struct rv_config *next,
			     const struct rv_tls_ctx *running, unsigned own_tun, char *why,
			     size_t why_len);
	/* apply_dns (client) hands |req| to be set on the tunnel link: its
	 * servers and search domain, or, none of either, what was set there
	 * taken back. It must not block: the outcome is its to log. Returns
	 * 0 or -errno with why in |err|. NULL: pushed DNS is only logged.
	 * Called with |dns_ctx|. */
	int (*apply_dns)(void *ctx, const struct rv_dns_want *req, char *err, size_t err_len);
	void *dns_ctx;
	/* notify reports service events (NULL: none). */
	void (*notify)(void *ctx, enum rv_loop_event ev, const char *status);
	void *ctx; /* for load_config and notify */
	/* watchdog_ns: send RV_LOOP_WATCHDOG this often (0: never). */
	uint64_t watchdog_ns;
	/* now_ns is the loop's clock, read once per turn (NULL: rv_now_ns,
	 * the monotonic clock; what the commands use). Tests pass a virtual
	 * clock so that timeouts fire when the test says, not after real
	 * waits; it must never go backwards. Called with |ctx|. */
	uint64_t (*now_ns)(void *ctx);
};

enum rv_loop_exit {
	RV_LOOP_SIGNAL = 0,	  /* SIGINT/SIGTERM: clean shutdown */
	RV_LOOP_GAVE_UP_TLS,	  /* client: max_attempts reached, last failure TLS */
	RV_LOOP_GAVE_UP_NET,	  /* client: max_attempts reached, last failure network */
	RV_LOOP_GAVE_UP_REFUSED,  /* client: max_attempts reached, the server had no room */
	RV_LOOP_GAVE_UP_PROTOCOL, /* client: max_attempts reached, the control protocol failed */
	RV_LOOP_TUN_FAILED,	  /* the TUN device is gone, or (client) could not be configured */
	RV_LOOP_FAILED,		  /* ring failure; client: host out of fds or memory */
};

/* rv_loop_new creates the loop and (server) its listening socket and
 * (both) the management socket and, when configured, the metrics endpoint. Returns 0, or -errno with a reason in |err|
 * (e.g. -EADDRINUSE). Must be called on the thread that will run it. */
int rv_loop_new(struct rv_loop **out, const struct rv_loop_params *p, char *err, size_t err_len);

/* rv_server_listen_socket opens the server's control socket on its listen
 * address at |port|, bound and not listening yet: the descriptor, or
 * -errno with why in |err|. The start listens on it; `-n` binds port 0 to
 * see that the address is one of this host's, beside a running server. */
int rv_server_listen_socket(const struct rv_config *cfg, uint16_t port, char *err, size_t err_len);

/* rv_loop_run runs until a signal or (client) a terminal failure. */
enum rv_loop_exit rv_loop_run(struct rv_loop *l);

/* rv_loop_step runs one turn of rv_loop_run: wait on the ring for
 * completions or the next timer, dispatch them, run the timers that are
 * due (the first call also does rv_loop_run's start-up). Returns true while
 * the loop goes on; false once it is done, with *out_exit what rv_loop_run
 * would return. rv_loop_run is this in a loop; tests call it directly to
 * interleave the loop with a peer played on the same thread. Do not mix
 * with rv_loop_run, nor call again after it returned false. */
bool rv_loop_step(struct rv_loop *l, enum rv_loop_exit *out_exit);

/* rv_loop_free closes every connection, releases every session (retired
 * through QSBR; the caller frees the QSBR domain after stopping the data
 * plane), removes the management socket and frees the loop. NULL ok. */
void rv_loop_free(struct rv_loop *l);

/* rv_server_tun_withdraw takes the server's addresses (those of |pool|)
 * and the routes it installed off its TUN when the device is persistent
 * and so outlives the process: left there (linkdown, still used by the
 * kernel), they black-holed the networks behind clients until the next
 * start (round-seventeen tester 80). One the process made goes with it
 * (srvconf.c). */
void rv_server_tun_withdraw(struct rv_dataplane *dp, const struct rv_ippool *pool);

#endif /* RV_TLS_LOOP_H */
