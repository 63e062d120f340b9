/*
 * ctlloop.c — the control thread (see ctlloop.h).
 *
 * Connection lifetime. A struct conn is owned by the slot table. Closing it
 * (conn_close) releases the peer's state machine at once (session
 * unpublished and retired, address returned, keys wiped), frees the TLS
 * engine and shuts the socket down; the struct itself, whose buffers the
 * kernel may still be writing into, is freed only when its last in-flight
 * ring operation has completed (inflight == 0). Completions carry the slot
 * id and a generation number, so a completion for a slot that has since been
 * reused is recognised and ignored.
 */
#include "tls/ctlloop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/counters.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "crypto/kdf.h"
#include "crypto/mem.h"
#include "crypto/rand.h"
#include "tls/conn.h"
#include "tls/ctl_client.h"
#include "tls/ctl_server.h"
#include "tls/ctx.h"
#include "tls/internal.h"
#include "uring/ctlring.h"
#include "uring/dataplane.h"
#include "uring/tun.h"

enum op {
	OP_ACCEPT = 1,
	OP_RECV,
	OP_SEND,
	OP_CONNECT,
	OP_CANCEL,
	OP_TICK,
	OP_SIGNAL,
	OP_STATUS_ACCEPT,
};

enum {
	TICK_NS = 100 * RV_NSEC_PER_MSEC,
	RBUF_LEN = 16384,
	SBUF_LEN = 16384,
	PBUF_LEN = 2 * RV_CTL_MAX_FRAME,
	RING_ENTRIES = 256,
	CQE_BATCH = 64,
	SHUTDOWN_GRACE_MS = 1000,
};

static inline uint64_t ud_pack(enum op op, uint32_t id, uint32_t gen)
{
	return (uint64_t)op << 56 | (uint64_t)(id & 0xffffff) << 32 | gen;
}

static inline enum op ud_op(uint64_t ud)
{
	return (enum op)(ud >> 56);
}

static inline uint32_t ud_id(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & 0xffffff;
}

static inline uint32_t ud_gen(uint64_t ud)
{
	return (uint32_t)ud;
}

struct conn {
	uint32_t id, gen;
	int fd;
	bool closing;	       /* released; waiting for in-flight ops */
	bool close_after_send; /* close once the send queue is empty */
	bool authed;	       /* TLS handshake completed and verified */
	bool connecting;       /* client: TCP connect in flight */
	bool was_running;      /* client: reached RUNNING */
	bool tls_failed;       /* the handshake failed (client: for the exit code) */
	bool send_armed;
	unsigned inflight;
	struct conn *zprev, *znext; /* on the loop's zombie list while closing */
	uint64_t start_ns;
	struct rv_endpoint peer;
	char peer_str[80];
	char reason[320];
	struct rv_tls_conn *tls;
	struct rv_ctl_server *srv;
	struct rv_ctl_client *cli;
	size_t plen;
	size_t soff, slen;
	uint8_t pbuf[PBUF_LEN];
	uint8_t sbuf[SBUF_LEN];
	uint8_t rbuf[RBUF_LEN];
};

struct rv_ctlloop {
	const struct rv_config *cfg;
	bool is_server;
	struct rv_tls_ctx *tls;
	struct rv_dataplane *dp; /* server: borrowed; client: owned */
	struct rv_ctl_env env;
	struct rv_ctlring *ring;
	int listen_fd, status_fd, sigfd;
	struct conn **conns;
	struct conn *zombies; /* closed, struct not yet freed */
	uint32_t max_conns, num_conns, next_gen;
	unsigned num_handshaking;
	bool accept_paused;
	bool status_paused;
	bool stopping;
	uint64_t stop_deadline_ns;
	enum rv_ctlloop_exit exit;
	bool done;
	struct signalfd_siginfo siginfo;
	/* client */
	struct conn *cconn;
	unsigned max_attempts, failed_attempts;
	uint32_t backoff_ms;
	uint64_t next_attempt_ns;
	bool last_fail_tls;
	struct sockaddr_storage server_sa;
	socklen_t server_sa_len;
	struct rv_ip_addr last4, last6; /* addresses of the last CONFIG */
	char server_str[RV_CONFIG_HOST_MAX + 96];
	/* counters for status */
	uint64_t accepted, refused_handshake, evicted, handshake_timeouts, replaced;
};

/* --- helpers ------------------------------------------------------------ */

static void set_reason(struct conn *c, const char *fmt, ...) RV_PRINTF(2, 3);

static void set_reason(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->reason[0]) {
		return; /* keep the first (root) cause */
	}
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

static struct conn *conn_new(struct rv_ctlloop *l, int fd)
{
	struct conn *c;
	uint32_t id;

	if (l->num_conns >= l->max_conns) {
		return NULL;
	}
	for (id = 0; id < l->max_conns; id++) {
		if (!l->conns[id]) {
			break;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		return NULL;
	}
	c->id = id;
	c->gen = ++l->next_gen;
	c->fd = fd;
	c->start_ns = rv_now_ns();
	l->conns[id] = c;
	l->num_conns++;
	return c;
}

static void conn_destroy(struct rv_ctlloop *l, struct conn *c)
{
	if (c->closing) {
		if (c->zprev) {
			c->zprev->znext = c->znext;
		} else {
			l->zombies = c->znext;
		}
		if (c->znext) {
			c->znext->zprev = c->zprev;
		}
	}
	l->conns[c->id] = NULL;
	l->num_conns--;
	if (c->fd >= 0) {
		close(c->fd);
	}
	/* The buffers held TLS plaintext (control messages, no data keys) and
	 * ciphertext; wipe them anyway, they are cheap to clear. */
	rv_memzero(c, sizeof(*c));
	free(c);
}

static void client_schedule_retry(struct rv_ctlloop *l, bool reached_running, bool tls_fail);

/* conn_close releases everything the connection holds except the struct
 * itself (see the top of this file) and puts it on the zombie list; callers
 * up the stack may still look at it, so it is freed only by reap_zombies
 * (after the current completion is handled) or by the completion of its
 * last in-flight operation. Idempotent. */
static void conn_close(struct rv_ctlloop *l, struct conn *c)
{
	bool was_client_conn = (c == l->cconn);
	bool reached_running = c->was_running;

	if (c->closing) {
		return;
	}
	c->closing = true;
	c->zprev = NULL;
	c->znext = l->zombies;
	if (l->zombies) {
		l->zombies->zprev = c;
	}
	l->zombies = c;
	if (l->is_server) {
		if (c->srv) {
			rv_info("client %s (%s): disconnected: %s; session, keys and address "
				"released",
				rv_ctl_server_cn(c->srv), c->peer_str,
				c->reason[0] ? c->reason : "connection closed");
		} else if (c->reason[0]) {
			rv_info("connection from %s closed: %s", c->peer_str, c->reason);
		}
	} else if (c->reason[0]) {
		rv_info("disconnected from server %s: %s", l->server_str, c->reason);
	}
	if (l->is_server && !c->authed && c->tls && l->num_handshaking > 0) {
		l->num_handshaking--; /* counted when accepted, until authenticated */
	}
	rv_ctl_server_free(c->srv);
	c->srv = NULL;
	rv_ctl_client_free(c->cli);
	c->cli = NULL;
	rv_tls_conn_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0) {
		/* shutdown completes a pending recv with 0 and a pending send
		 * with an error; cancel covers a pending connect. */
		shutdown(c->fd, SHUT_RDWR);
		if (c->inflight &&
		    rv_ctlring_cancel_fd(l->ring, c->fd, ud_pack(OP_CANCEL, c->id, c->gen)) == 0) {
			c->inflight++;
		}
	}
	if (was_client_conn) {
		l->cconn = NULL;
		client_schedule_retry(l, reached_running, c->tls_failed);
	}
}

/* reap_zombies frees closed connections with nothing left in flight. */
static void reap_zombies(struct rv_ctlloop *l)
{
	struct conn *c = l->zombies, *next;

	for (; c; c = next) {
		next = c->znext;
		if (c->inflight == 0) {
			conn_destroy(l, c);
		}
	}
}

static void arm_recv(struct rv_ctlloop *l, struct conn *c)
{
	if (rv_ctlring_recv(l->ring, c->fd, c->rbuf, sizeof(c->rbuf),
			    ud_pack(OP_RECV, c->id, c->gen))) {
		set_reason(c, "control ring full");
		conn_close(l, c);
		return;
	}
	c->inflight++;
}

/* flush sends pending ciphertext, one send in flight at a time. */
static void flush(struct rv_ctlloop *l, struct conn *c)
{
	if (c->closing || c->send_armed) {
		return;
	}
	if (c->soff == c->slen) {
		c->soff = 0;
		c->slen = c->tls ? rv_tls_conn_take_out(c->tls, c->sbuf, sizeof(c->sbuf)) : 0;
	}
	if (c->slen == 0) {
		if (c->close_after_send) {
			conn_close(l, c);
		}
		return;
	}
	if (rv_ctlring_send(l->ring, c->fd, c->sbuf + c->soff, c->slen - c->soff,
			    ud_pack(OP_SEND, c->id, c->gen))) {
		set_reason(c, "control ring full");
		conn_close(l, c);
		return;
	}
	c->inflight++;
	c->send_armed = true;
}

/* drain_out moves the state machine's frames into the TLS engine. */
static void drain_out(struct rv_ctlloop *l, struct conn *c)
{
	struct rv_ctl_out *out = NULL;

	(void)l;
	if (c->srv) {
		out = rv_ctl_server_out(c->srv);
	} else if (c->cli) {
		out = rv_ctl_client_out(c->cli);
	}
	if (!out || out->len == 0 || !c->tls) {
		return;
	}
	if (rv_tls_conn_write(c->tls, out->buf, out->len) != RV_TLS_OK) {
		set_reason(c, "TLS write failed: %s", rv_tls_conn_error(c->tls));
		c->close_after_send = true;
	}
	out->len = 0;
}

/* close_soon: the state machine said CLOSE; send what it queued, then close. */
static void close_soon(struct rv_ctlloop *l, struct conn *c)
{
	if (c->srv) {
		set_reason(c, "%s", rv_ctl_server_reason(c->srv));
	} else if (c->cli) {
		set_reason(c, "%s", rv_ctl_client_reason(c->cli));
		if (rv_ctl_client_error_code(c->cli) != 0 &&
		    rv_ctl_client_error_code(c->cli) != RV_CTL_CODE_SHUTDOWN) {
			c->tls_failed = !c->was_running;
		}
	}
	drain_out(l, c);
	if (c->tls) {
		rv_tls_conn_close(c->tls);
	}
	c->close_after_send = true;
	flush(l, c);
}

/* send_error_frame queues ERROR(code, text) for a peer without a state machine. */
static void send_error_frame(struct conn *c, enum rv_ctl_code code, const char *text)
{
	struct rv_ctl_msg m;
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n;

	rv_ctl_error_msg(&m, code, text);
	if (rv_ctl_encode(buf, sizeof(buf), &n, &m) == 0) {
		(void)rv_tls_conn_write(c->tls, buf, n);
	}
}

/* --- upcalls ------------------------------------------------------------ */

static void up_send_keepalive(void *ctx, struct rv_session *s)
{
	struct rv_ctlloop *l = ctx;

	if (l->dp && s) {
		(void)rv_dataplane_send_keepalive(l->dp, s);
	}
}

static int up_on_config(void *ctx, const struct rv_ctl_config *cc)
{
	struct rv_ctlloop *l = ctx;
	const struct rv_config *cfg = l->cfg;
	const char *ifname;
	char a[64], b[64];
	int ret;

	if (!l->dp) {
		struct rv_dataplane_config dc;

		memset(&dc, 0, sizeof(dc));
		dc.tun_name = cfg->tun;
		dc.num_workers = cfg->workers;
		dc.pin_workers = cfg->pin_workers;
		dc.mtu = cc->mtu;
		dc.udp_port = 0;
		dc.udp_v6 = l->server_sa.ss_family == AF_INET6;
		dc.offload_tun = cfg->offload_tun;
		dc.offload_gso = cfg->offload_gso;
		dc.offload_gro = cfg->offload_gro;
		dc.zerocopy = (enum rv_config_zc)cfg->zerocopy;
		dc.demux = l->env.demux;
		dc.qsbr = l->env.qsbr;
		ret = rv_dataplane_start(&l->dp, &dc);
		if (ret) {
			rv_warn(ret, "cannot start the data plane on TUN %s", cfg->tun);
			l->exit = RV_CTLLOOP_TUN_FAILED;
			l->done = true;
			return ret;
		}
	} else {
		ret = rv_tun_set_mtu(rv_dataplane_tun_name(l->dp), cc->mtu);
		if (ret) {
			rv_warn(ret, "cannot set MTU %u", cc->mtu);
		}
	}
	ifname = rv_dataplane_tun_name(l->dp);
	if (cc->flags & RV_CTL_F_HAS_V4) {
		struct rv_ip_addr v4 = { .family = AF_INET };

		memcpy(v4.a, cc->addr4, 4);
		if (l->last4.family && !rv_ip_addr_equal(&l->last4, &v4)) {
			rv_warnx("server assigned %s instead of the previous %s, which stays on %s "
				 "until the interface is reset",
				 rv_ip_addr_str(&v4, a, sizeof(a)),
				 rv_ip_addr_str(&l->last4, b, sizeof(b)), ifname);
		}
		l->last4 = v4;
		ret = rv_tun_add_addr(ifname, &v4, cc->prefix4);
		if (ret) {
			rv_warn(ret, "cannot add %s/%u to %s", rv_ip_addr_str(&v4, a, sizeof(a)),
				cc->prefix4, ifname);
			return ret;
		}
		rv_info("tunnel %s: address %s/%u, mtu %u", ifname,
			rv_ip_addr_str(&v4, a, sizeof(a)), cc->prefix4, cc->mtu);
	}
	if (cc->flags & RV_CTL_F_HAS_V6) {
		struct rv_ip_addr v6 = { .family = AF_INET6 };

		memcpy(v6.a, cc->addr6, 16);
		l->last6 = v6;
		ret = rv_tun_add_addr(ifname, &v6, cc->prefix6);
		if (ret) {
			rv_warn(ret, "cannot add %s/%u to %s", rv_ip_addr_str(&v6, a, sizeof(a)),
				cc->prefix6, ifname);
			return ret;
		}
		rv_info("tunnel %s: address %s/%u", ifname, rv_ip_addr_str(&v6, a, sizeof(a)),
			cc->prefix6);
	}
	for (unsigned i = 0; i < cc->num_routes; i++) {
		struct rv_ip_addr dst = { .family =
						  cc->routes[i].family == 4 ? AF_INET : AF_INET6 };

		memcpy(dst.a, cc->routes[i].addr, 16);
		ret = rv_tun_add_route(ifname, &dst, cc->routes[i].prefix);
		if (ret) {
			rv_warn(ret, "cannot add route %s/%u via %s",
				rv_ip_addr_str(&dst, a, sizeof(a)), cc->routes[i].prefix, ifname);
			return ret;
		}
	}
	return 0;
}

/* --- server side -------------------------------------------------------- */

static struct conn *oldest_handshaking(struct rv_ctlloop *l)
{
	struct conn *best = NULL;

	for (uint32_t i = 0; i < l->max_conns; i++) {
		struct conn *c = l->conns[i];

		if (c && !c->closing && !c->authed && (!best || c->start_ns < best->start_ns)) {
			best = c;
		}
	}
	return best;
}

static unsigned count_sessions(const struct rv_ctlloop *l)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < l->max_conns; i++) {
		if (l->conns[i] && !l->conns[i]->closing && l->conns[i]->srv) {
			n++;
		}
	}
	return n;
}

static void server_authenticated(struct rv_ctlloop *l, struct conn *c, uint64_t now)
{
	const char *cn = rv_tls_conn_peer_cn(c->tls);
	uint8_t exp[RV_EXPORTER_LEN];

	if (l->num_handshaking > 0) {
		l->num_handshaking--;
	}
	c->authed = true;
	/* One session per certificate name: the newer connection wins, so a
	 * client that lost its old connection (crash, NAT timeout) is never
	 * locked out by a stale session. */
	for (uint32_t i = 0; i < l->max_conns; i++) {
		struct conn *o = l->conns[i];

		if (!o || o == c || o->closing || !o->srv ||
		    strcmp(rv_ctl_server_cn(o->srv), cn) != 0) {
			continue;
		}
		rv_info("client %s: new connection from %s replaces the one from %s", cn,
			c->peer_str, o->peer_str);
		l->replaced++;
		rv_ctl_server_goodbye(o->srv, RV_CTL_CODE_REPLACED);
		set_reason(o, "replaced by a newer connection with the same name");
		drain_out(l, o);
		/* Release the old session and addresses now, before the new
		 * connection asks for them; the GOODBYE still goes out. */
		rv_info("client %s (%s): disconnected: %s; session, keys and address released", cn,
			o->peer_str, o->reason);
		rv_ctl_server_free(o->srv);
		o->srv = NULL;
		o->reason[0] = '\0';
		if (o->tls) {
			rv_tls_conn_close(o->tls);
		}
		o->close_after_send = true;
		flush(l, o);
	}
	if (count_sessions(l) >= l->cfg->max_clients) {
		rv_warnx("client %s (%s) refused: server full (%u sessions)", cn, c->peer_str,
			 l->cfg->max_clients);
		send_error_frame(c, RV_CTL_CODE_FULL, "server full");
		set_reason(c, "server full");
		c->close_after_send = true;
		return;
	}
	if (rv_tls_conn_export(c->tls, exp, sizeof(exp))) {
		set_reason(c, "TLS exporter unavailable");
		c->close_after_send = true;
		return;
	}
	c->srv = rv_ctl_server_new(&l->env, cn, exp, now);
	rv_memzero(exp, sizeof(exp));
	if (!c->srv) {
		set_reason(c, "out of memory");
		c->close_after_send = true;
		return;
	}
	rv_info("client %s authenticated from %s", cn, c->peer_str);
}

/* --- client side -------------------------------------------------------- */

static void client_authenticated(struct rv_ctlloop *l, struct conn *c, uint64_t now)
{
	uint8_t exp[RV_EXPORTER_LEN];
	struct rv_endpoint ep;

	c->authed = true;
	if (rv_tls_conn_export(c->tls, exp, sizeof(exp))) {
		set_reason(c, "TLS exporter unavailable");
		c->close_after_send = true;
		return;
	}
	memset(&ep, 0, sizeof(ep));
	memcpy(&ep.sa, &l->server_sa, l->server_sa_len);
	ep.len = l->server_sa_len;
	c->cli = rv_ctl_client_new(&l->env, exp, &ep, &l->last4, &l->last6, now);
	rv_memzero(exp, sizeof(exp));
	if (!c->cli) {
		set_reason(c, "out of memory");
		c->close_after_send = true;
		return;
	}
	rv_info("connected to %s; server certificate verified (%s)", l->server_str,
		rv_tls_conn_peer_cn(c->tls));
}

static void client_schedule_retry(struct rv_ctlloop *l, bool reached_running, bool tls_fail)
{
	uint32_t delay;

	if (l->stopping) {
		return;
	}
	if (reached_running) {
		l->failed_attempts = 0;
		l->backoff_ms = l->cfg->reconnect_min_ms;
	} else {
		l->failed_attempts++;
		l->last_fail_tls = tls_fail;
	}
	if (l->max_attempts && l->failed_attempts >= l->max_attempts) {
		rv_warnx("giving up after %u failed attempts", l->failed_attempts);
		l->exit = l->last_fail_tls ? RV_CTLLOOP_GAVE_UP_TLS : RV_CTLLOOP_GAVE_UP_NET;
		l->done = true;
		return;
	}
	delay = l->backoff_ms;
	/* Up to 25% jitter so that many clients of a restarted server do not
	 * reconnect in lockstep. */
	delay += rv_rand_u32() % (delay / 4 + 1);
	l->next_attempt_ns = rv_now_ns() + (uint64_t)delay * RV_NSEC_PER_MSEC;
	rv_info("reconnecting in %u ms", delay);
	l->backoff_ms = l->backoff_ms * 2 > l->cfg->reconnect_max_ms ? l->cfg->reconnect_max_ms
								     : l->backoff_ms * 2;
}

static void client_connect(struct rv_ctlloop *l)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	struct conn *c;
	int fd, ret, one = 1;

	l->next_attempt_ns = UINT64_MAX;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", l->cfg->server_port);
	/* getaddrinfo blocks; the client's control thread has nothing else to
	 * do while it is not connected. */
	ret = getaddrinfo(l->cfg->server_host, port, &hints, &res);
	if (ret || !res) {
		rv_warnx("cannot resolve server %s: %s", l->cfg->server_host, gai_strerror(ret));
		client_schedule_retry(l, false, false);
		return;
	}
	memcpy(&l->server_sa, res->ai_addr, res->ai_addrlen);
	l->server_sa_len = res->ai_addrlen;
	freeaddrinfo(res);
	fd = socket(l->server_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rv_warn(errno, "socket");
		client_schedule_retry(l, false, false);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(l, fd);
	if (!c) {
		close(fd);
		client_schedule_retry(l, false, false);
		return;
	}
	memcpy(&c->peer.sa, &l->server_sa, l->server_sa_len);
	c->peer.len = l->server_sa_len;
	rv_endpoint_str(&c->peer, c->peer_str, sizeof(c->peer_str));
	snprintf(l->server_str, sizeof(l->server_str), "%s (%s)", l->cfg->server_host, c->peer_str);
	c->connecting = true;
	l->cconn = c;
	if (rv_ctlring_connect(l->ring, fd, (const struct sockaddr *)&l->server_sa,
			       l->server_sa_len, ud_pack(OP_CONNECT, c->id, c->gen))) {
		set_reason(c, "control ring full");
		conn_close(l, c);
		return;
	}
	c->inflight++;
}

/* --- per-connection processing ------------------------------------------ */

static void handle_result(struct rv_ctlloop *l, struct conn *c, enum rv_ctl_result r)
{
	if (r == RV_CTL_CLOSE) {
		close_soon(l, c);
	}
}

/* dispatch_frames hands every complete frame in pbuf to the state machine.
 * Returns false once the connection is closing. */
static bool dispatch_frames(struct rv_ctlloop *l, struct conn *c, uint64_t now)
{
	size_t off = 0;
	bool ok = true;

	while (off < c->plen && ok) {
		size_t flen;
		enum rv_ctl_err err = rv_ctl_frame_len(c->pbuf + off, c->plen - off, &flen);
		enum rv_ctl_result r;

		if (err == RV_CTL_E_NEED_MORE) {
			break;
		}
		if (err != RV_CTL_OK) {
			/* Let the decoder name the framing error and close. */
			flen = c->plen - off;
		}
		if (c->srv) {
			r = rv_ctl_server_on_frame(c->srv, c->pbuf + off, flen, now);
		} else if (c->cli) {
			bool was = rv_ctl_client_running(c->cli);

			r = rv_ctl_client_on_frame(c->cli, c->pbuf + off, flen, now);
			if (!was && rv_ctl_client_running(c->cli)) {
				c->was_running = true;
				l->failed_attempts = 0;
				l->backoff_ms = l->cfg->reconnect_min_ms;
				rv_info("tunnel up");
			}
		} else {
			r = RV_CTL_CLOSE;
		}
		off += flen;
		if (r == RV_CTL_CLOSE) {
			handle_result(l, c, r);
			ok = false;
		}
		if (l->done) {
			ok = false;
		}
	}
	if (off > 0 && !c->closing) {
		memmove(c->pbuf, c->pbuf + off, c->plen - off);
		c->plen -= off;
	}
	return ok && !c->closing;
}

static void conn_process(struct rv_ctlloop *l, struct conn *c)
{
	uint64_t now = rv_now_ns();
	enum rv_tls_status st;

	if (!rv_tls_conn_handshake_done(c->tls)) {
		st = rv_tls_conn_handshake(c->tls);
		if (st == RV_TLS_WANT_READ) {
			flush(l, c);
			return;
		}
		if (st != RV_TLS_OK) {
			c->tls_failed = true;
			if (l->is_server) {
				l->refused_handshake++;
				rv_warnx("TLS handshake with %s failed: %s", c->peer_str,
					 rv_tls_conn_error(c->tls));
			} else {
				rv_warnx("TLS handshake with server %s failed: %s", l->server_str,
					 rv_tls_conn_error(c->tls));
			}
			set_reason(c, "TLS handshake failed: %s", rv_tls_conn_error(c->tls));
			c->close_after_send = true; /* the alert is pending out */
			flush(l, c);
			return;
		}
		if (l->is_server) {
			server_authenticated(l, c, now);
		} else {
			client_authenticated(l, c, now);
		}
		if (c->close_after_send) {
			flush(l, c);
			return;
		}
	}
	for (;;) {
		size_t n;

		if (c->plen == sizeof(c->pbuf)) {
			set_reason(c, "control message buffer overflow");
			conn_close(l, c);
			return;
		}
		st = rv_tls_conn_read(c->tls, c->pbuf + c->plen, sizeof(c->pbuf) - c->plen, &n);
		if (st == RV_TLS_OK) {
			c->plen += n;
			if (!dispatch_frames(l, c, now)) {
				return;
			}
			/* Hand over the replies of this batch before reading the
			 * next, so the state machine's output buffer never has to
			 * hold the answers to more than one batch of frames. */
			drain_out(l, c);
			continue;
		}
		if (st == RV_TLS_WANT_READ) {
			break;
		}
		if (st == RV_TLS_CLOSED) {
			set_reason(c, "peer closed the TLS session");
		} else {
			const char *e = rv_tls_conn_error(c->tls);

			/* TLS 1.3: a client learns that the server rejected its
			 * certificate only here, on its first read. */
			if (!l->is_server && !c->was_running) {
				c->tls_failed = true;
				rv_warnx("server %s rejected the connection: %s", l->server_str, e);
			}
			set_reason(c, "TLS error: %s", e);
		}
		conn_close(l, c);
		return;
	}
	drain_out(l, c);
	flush(l, c);
}

static void on_recv(struct rv_ctlloop *l, struct conn *c, int res)
{
	if (res <= 0) {
		set_reason(c, "%s", res == 0 ? "TCP connection closed by peer" : strerror(-res));
		conn_close(l, c);
		return;
	}
	if (rv_tls_conn_feed(c->tls, c->rbuf, (size_t)res)) {
		set_reason(c, "out of memory");
		conn_close(l, c);
		return;
	}
	conn_process(l, c);
	if (!c->closing) {
		arm_recv(l, c);
	}
}

static void on_send(struct rv_ctlloop *l, struct conn *c, int res)
{
	c->send_armed = false;
	if (res < 0) {
		set_reason(c, "send: %s", strerror(-res));
		conn_close(l, c);
		return;
	}
	c->soff += (size_t)res;
	flush(l, c);
}

static void on_connect(struct rv_ctlloop *l, struct conn *c, int res)
{
	c->connecting = false;
	if (res < 0) {
		rv_warnx("cannot connect to server %s: %s", l->server_str, strerror(-res));
		set_reason(c, "connect: %s", strerror(-res));
		conn_close(l, c);
		return;
	}
	if (rv_tls_conn_new(&c->tls, l->tls)) {
		set_reason(c, "out of memory");
		conn_close(l, c);
		return;
	}
	conn_process(l, c); /* produces the ClientHello */
	if (!c->closing) {
		arm_recv(l, c);
	}
}

static void arm_accept(struct rv_ctlloop *l)
{
	if (rv_ctlring_accept(l->ring, l->listen_fd, ud_pack(OP_ACCEPT, 0, 0))) {
		l->accept_paused = true;
	}
}

static void on_accept(struct rv_ctlloop *l, int res)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn *c;
	int one = 1;

	if (res < 0) {
		if (res != -ECANCELED) {
			rv_warnx_rl("accept: %s", strerror(-res));
		}
		/* Out of fds or memory: retry on the next tick, not in a spin. */
		l->accept_paused = !l->stopping;
		return;
	}
	if (l->stopping) {
		close(res);
		return;
	}
	arm_accept(l);
	if (l->num_handshaking >= l->cfg->max_handshaking) {
		struct conn *old = oldest_handshaking(l);

		if (old) {
			/* No reason is set, so conn_close logs nothing: during a
			 * flood one line per evicted connection would be a flood of
			 * its own. The counter shows in `ringvpn status`. */
			l->evicted++;
			rv_warnx_rl("%u connections still handshaking: closing the oldest (%s)",
				    l->num_handshaking, old->peer_str);
			conn_close(l, old);
		}
	}
	c = conn_new(l, res);
	if (!c) {
		rv_warnx_rl("refusing connection: %u connections open", l->num_conns);
		close(res);
		return;
	}
	l->accepted++;
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(res, (struct sockaddr *)&ss, &sl) == 0 && sl <= sizeof(c->peer.in6)) {
		memcpy(&c->peer.sa, &ss, sl);
		c->peer.len = sl;
	}
	rv_endpoint_str(&c->peer, c->peer_str, sizeof(c->peer_str));
	if (rv_tls_conn_new(&c->tls, l->tls)) {
		set_reason(c, "out of memory");
		conn_close(l, c);
		return;
	}
	l->num_handshaking++;
	arm_recv(l, c);
}

/* --- status socket ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) RV_PRINTF(2, 3);

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *np = realloc(b->p, ncap);

		if (!np) {
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static void status_session(struct sbuf *b, const char *name, const char *state,
			   struct rv_session *s, uint64_t rekeys)
{
	struct rv_session_stats st;
	struct rv_endpoint ep;
	char a4[64] = "-", a6[64] = "-", e[80] = "-";

	sb_printf(b, "session name=%s state=%s", name, state);
	if (!s) {
		sb_printf(b, "\n");
		return;
	}
	if (rv_session_vaddr4(s)->family) {
		rv_ip_addr_str(rv_session_vaddr4(s), a4, sizeof(a4));
	}
	if (rv_session_vaddr6(s)->family) {
		rv_ip_addr_str(rv_session_vaddr6(s), a6, sizeof(a6));
	}
	rv_session_get_endpoint(s, &ep);
	if (ep.len) {
		rv_endpoint_str(&ep, e, sizeof(e));
	}
	rv_session_get_stats(s, &st);
	sb_printf(b,
		  " v4=%s v6=%s endpoint=%s index=%08x epoch=%u key_exchanges=%llu tx_packets=%llu "
		  "tx_bytes=%llu rx_packets=%llu rx_bytes=%llu",
		  a4, a6, e, rv_session_local_index(s), st.tx_epoch, (unsigned long long)rekeys,
		  (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
		  (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes);
	for (int d = 0; d < RV_DROP_MAX; d++) {
		sb_printf(b, " drop_%s=%llu", rv_drop_name((enum rv_drop_reason)d),
			  (unsigned long long)st.drop[d]);
	}
	sb_printf(b, "\n");
}

static void status_workers(struct sbuf *b, const struct rv_dataplane *dp)
{
	unsigned n = dp ? rv_dataplane_num_workers(dp) : 0;

	for (unsigned w = 0; w <= n && dp; w++) {
		struct rv_counters ctr;
		unsigned idx = w == n ? UINT32_MAX : w;

		rv_dataplane_counters(dp, idx, &ctr);
		if (idx == UINT32_MAX) {
			sb_printf(b, "workers total");
		} else {
			sb_printf(b, "worker id=%u", w);
		}
		for (int i = 0; i < RV_CTR_MAX; i++) {
			sb_printf(b, " %s=%llu", rv_counter_name((enum rv_counter)i),
				  (unsigned long long)rv_ctr_get(&ctr, (enum rv_counter)i));
		}
		for (int d = 0; d < RV_DROP_MAX; d++) {
			sb_printf(b, " drop_%s=%llu", rv_drop_name((enum rv_drop_reason)d),
				  (unsigned long long)rv_drop_get(&ctr, (enum rv_drop_reason)d));
		}
		{
			struct rv_gauges g;

			rv_dataplane_gauges(dp, idx, &g);
			for (int q = 0; q < RV_GAUGE_MAX; q++) {
				sb_printf(b, " %s=%llu", rv_gauge_name((enum rv_gauge)q),
					  (unsigned long long)rv_gauge_get(&g, (enum rv_gauge)q));
			}
		}
		sb_printf(b, "\n");
	}
}

static void status_report(struct rv_ctlloop *l, struct sbuf *b)
{
	if (l->is_server) {
		sb_printf(b,
			  "server sessions=%u handshaking=%u conns=%u accepted=%llu "
			  "handshake_failures=%llu evicted=%llu replaced=%llu "
			  "pool4_in_use=%zu pool6_in_use=%zu demux=%zu qsbr_pending=%zu "
			  "data_port=%u\n",
			  count_sessions(l), l->num_handshaking, l->num_conns,
			  (unsigned long long)l->accepted, (unsigned long long)l->refused_handshake,
			  (unsigned long long)l->evicted, (unsigned long long)l->replaced,
			  rv_ippool_in_use(l->env.pool, AF_INET),
			  rv_ippool_in_use(l->env.pool, AF_INET6), rv_demux_count(l->env.demux),
			  rv_qsbr_pending(l->env.qsbr), l->env.data_port);
		for (uint32_t i = 0; i < l->max_conns; i++) {
			struct conn *c = l->conns[i];

			if (c && !c->closing && c->srv) {
				status_session(b, rv_ctl_server_cn(c->srv),
					       rv_ctl_server_state(c->srv),
					       rv_ctl_server_session(c->srv),
					       rv_ctl_server_rekeys(c->srv));
			}
		}
	} else {
		struct conn *c = l->cconn;
		const char *state = !c	      ? "backoff"
				    : !c->cli ? "connecting"
					      : rv_ctl_client_state(c->cli);

		sb_printf(b, "client server=%s state=%s tun=%s failed_attempts=%u\n",
			  l->server_str[0] ? l->server_str : l->cfg->server_host, state,
			  l->dp ? rv_dataplane_tun_name(l->dp) : "-", l->failed_attempts);
		if (c && c->cli) {
			status_session(b, "server", state, rv_ctl_client_session(c->cli),
				       rv_ctl_client_rekeys(c->cli));
		}
	}
	status_workers(b, l->dp);
}

static unsigned rekey_all(struct rv_ctlloop *l, const char *name)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < l->max_conns; i++) {
		struct conn *c = l->conns[i];

		if (!c || c->closing) {
			continue;
		}
		if (c->srv && (!name || !strcmp(name, rv_ctl_server_cn(c->srv)))) {
			rv_ctl_server_request_rekey(c->srv);
			n++;
		} else if (c->cli) {
			rv_ctl_client_request_rekey(c->cli);
			n++;
		}
	}
	return n;
}

/* handle_status serves one request synchronously: the socket is local and
 * root-only, and both directions have a 200 ms timeout, so a stuck client
 * costs the control thread at most that long. */
static void handle_status(struct rv_ctlloop *l, int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct sbuf b = { 0 };
	char req[256];
	ssize_t n;
	size_t off = 0;
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n <= 0) {
		close(fd);
		return;
	}
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	if (!strcmp(req, "status")) {
		status_report(l, &b);
	} else if (!strncmp(req, "rekey", 5) && (req[5] == '\0' || req[5] == ' ')) {
		const char *name = req[5] ? req + 6 : NULL;
		unsigned k = rekey_all(l, name);

		sb_printf(&b, "rekey requested for %u session(s)\n", k);
		if (k == 0) {
			sb_printf(&b, "error: no matching session\n");
		}
	} else {
		sb_printf(&b, "error: unknown request '%.64s' (status, rekey [NAME])\n", req);
	}
	while (b.p && off < b.len) {
		n = send(fd, b.p + off, b.len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			break;
		}
		off += (size_t)n;
	}
	free(b.p);
	close(fd);
}

static void arm_status(struct rv_ctlloop *l)
{
	if (rv_ctlring_accept(l->ring, l->status_fd, ud_pack(OP_STATUS_ACCEPT, 0, 0))) {
		rv_warnx("cannot re-arm the status socket");
	}
}

/* --- signals, ticks, shutdown ------------------------------------------- */

static void begin_stop(struct rv_ctlloop *l)
{
	if (l->stopping) {
		return;
	}
	l->stopping = true;
	l->stop_deadline_ns = rv_now_ns() + SHUTDOWN_GRACE_MS * RV_NSEC_PER_MSEC;
	for (uint32_t i = 0; i < l->max_conns; i++) {
		struct conn *c = l->conns[i];

		if (!c || c->closing) {
			continue;
		}
		set_reason(c, "shutting down");
		if (c->srv) {
			rv_ctl_server_goodbye(c->srv, RV_CTL_CODE_SHUTDOWN);
		} else if (c->cli) {
			rv_ctl_client_goodbye(c->cli, RV_CTL_CODE_SHUTDOWN);
		}
		if (c->tls && c->authed) {
			drain_out(l, c);
			rv_tls_conn_close(c->tls);
			c->close_after_send = true;
			flush(l, c);
		} else {
			conn_close(l, c);
		}
	}
}

static void on_signal(struct rv_ctlloop *l, int res)
{
	if (res == (int)sizeof(l->siginfo)) {
		switch (l->siginfo.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			rv_info("signal %u: shutting down", l->siginfo.ssi_signo);
			begin_stop(l);
			break;
		case SIGUSR1:
			rv_info("SIGUSR1: rekeying %u session(s)", rekey_all(l, NULL));
			break;
		case SIGHUP:
			if (l->is_server) {
				struct rv_tls_ctx_params tp = {
					.role = RV_TLS_SERVER,
					.ca_file = l->cfg->ca,
					.cert_file = l->cfg->cert,
					.key_file = l->cfg->key,
					.crl_file = l->cfg->crl,
				};
				struct rv_tls_ctx *n;
				enum rv_tls_ctx_fail why;
				char err[512];

				if (rv_tls_ctx_new(&n, &tp, &why, err, sizeof(err))) {
					rv_warnx("SIGHUP: reload failed, keeping the old "
						 "certificates: %s",
						 err);
				} else {
					rv_tls_ctx_free(
						l->tls); /* connections keep their own ref */
					l->tls = n;
					rv_info("SIGHUP: reloaded CA, CRL, certificate and key for "
						"new connections");
				}
			}
			break;
		default:
			break;
		}
	}
	if (rv_ctlring_read(l->ring, l->sigfd, &l->siginfo, sizeof(l->siginfo),
			    ud_pack(OP_SIGNAL, 0, 0))) {
		rv_warnx("cannot re-arm the signal read");
	}
}

static void on_tick(struct rv_ctlloop *l)
{
	uint64_t now = rv_now_ns();
	uint64_t hs_ns = (uint64_t)l->cfg->handshake_timeout_ms * RV_NSEC_PER_MSEC;

	for (uint32_t i = 0; i < l->max_conns; i++) {
		struct conn *c = l->conns[i];
		enum rv_ctl_result r = RV_CTL_CONTINUE;

		if (!c || c->closing) {
			continue;
		}
		if (!c->authed && now - c->start_ns > hs_ns) {
			l->handshake_timeouts++;
			set_reason(c, "no completed TLS handshake within %u ms",
				   l->cfg->handshake_timeout_ms);
			if (!l->is_server) {
				rv_warnx("server %s: %s", l->server_str, c->reason);
			}
			conn_close(l, c);
			continue;
		}
		if (c->srv) {
			r = rv_ctl_server_tick(c->srv, now);
		} else if (c->cli) {
			r = rv_ctl_client_tick(c->cli, now);
		}
		if (r == RV_CTL_CLOSE) {
			handle_result(l, c, r);
			continue;
		}
		drain_out(l, c);
		flush(l, c);
	}
	rv_qsbr_reclaim(l->env.qsbr);
	if (l->is_server && l->accept_paused && !l->stopping) {
		l->accept_paused = false;
		arm_accept(l);
	}
	if (l->status_paused) {
		l->status_paused = false;
		arm_status(l);
	}
	if (!l->is_server && !l->stopping && !l->cconn && now >= l->next_attempt_ns) {
		client_connect(l);
	}
	if (l->stopping && (l->num_conns == 0 || now >= l->stop_deadline_ns)) {
		l->done = true;
	}
	if (rv_ctlring_timeout(l->ring, TICK_NS, ud_pack(OP_TICK, 0, 0))) {
		rv_warnx("cannot arm the control timer");
		l->exit = RV_CTLLOOP_FAILED;
		l->done = true;
	}
}

static void on_cqe(struct rv_ctlloop *l, const struct rv_ctlring_cqe *cqe)
{
	enum op op = ud_op(cqe->user_data);
	struct conn *c;

	switch (op) {
	case OP_TICK:
		on_tick(l);
		return;
	case OP_SIGNAL:
		on_signal(l, cqe->res);
		return;
	case OP_ACCEPT:
		on_accept(l, cqe->res);
		return;
	case OP_STATUS_ACCEPT:
		if (cqe->res < 0) {
			/* Out of fds or memory: a connection waits in the backlog,
			 * so re-arming now would fail again at once. Retry on the
			 * next tick, not in a spin. */
			l->status_paused = true;
			return;
		}
		handle_status(l, cqe->res);
		arm_status(l);
		return;
	case OP_RECV:
	case OP_SEND:
	case OP_CONNECT:
	case OP_CANCEL:
		break;
	default:
		rv_warnx("control ring: unexpected completion op %d (res %d)", (int)op, cqe->res);
		return;
	}
	if (ud_id(cqe->user_data) >= l->max_conns) {
		return;
	}
	c = l->conns[ud_id(cqe->user_data)];
	if (!c || c->gen != ud_gen(cqe->user_data)) {
		rv_warnx("control ring: completion for a freed connection (op %d)", (int)op);
		return;
	}
	c->inflight--;
	if (c->closing) {
		if (op == OP_SEND) {
			c->send_armed = false;
		}
		if (c->inflight == 0) {
			conn_destroy(l, c);
		}
		return;
	}
	switch (op) {
	case OP_RECV:
		on_recv(l, c, cqe->res);
		break;
	case OP_SEND:
		on_send(l, c, cqe->res);
		break;
	case OP_CONNECT:
		on_connect(l, c, cqe->res);
		break;
	default:
		break;
	}
}

/* --- setup -------------------------------------------------------------- */

static int open_listener(struct rv_ctlloop *l, char *err, size_t err_len)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int fd = -1, ret, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", l->cfg->listen_port);
	ret = getaddrinfo(l->cfg->listen_host[0] ? l->cfg->listen_host : NULL, port, &hints, &res);
	if (ret) {
		snprintf(err, err_len, "listen address '%s': %s", l->cfg->listen_host,
			 gai_strerror(ret));
		return -EINVAL;
	}
	/* Prefer IPv6 (dual-stack) when listening on all addresses. */
	for (ai = res; ai; ai = ai->ai_next) {
		if (!l->cfg->listen_host[0] && ai->ai_family != AF_INET6 && ai->ai_next) {
			continue;
		}
		break;
	}
	if (!ai) {
		ai = res;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) {
		int zero = 0;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
		ret = -errno;
		snprintf(err, err_len, "cannot listen on %s:%u: %s",
			 l->cfg->listen_host[0] ? l->cfg->listen_host : "*", l->cfg->listen_port,
			 strerror(errno));
		close(fd);
		goto out;
	}
	l->listen_fd = fd;
	ret = 0;
out:
	freeaddrinfo(res);
	return ret;
}

static int open_status(struct rv_ctlloop *l, char *err, size_t err_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = l->cfg->status_socket;
	mode_t old;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, err_len, "status socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "status socket: %s", strerror(errno));
		return ret;
	}
	/* A stale socket of a crashed instance would block the bind; one of a
	 * running instance answers connect(), so only remove a dead one. */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0) {
			if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
				close(probe);
				close(fd);
				snprintf(err, err_len,
					 "status socket %s is in use by a running "
					 "instance (set status_socket to another path)",
					 path);
				return -EADDRINUSE;
			}
			close(probe);
		}
		unlink(path);
	}
	old = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret || listen(fd, 16)) {
		ret = -errno;
		snprintf(err, err_len, "cannot bind status socket %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	l->status_fd = fd;
	return 0;
}

int rv_ctlloop_new(struct rv_ctlloop **out, const struct rv_ctlloop_params *p, char *err,
		   size_t err_len)
{
	struct rv_ctlloop *l;
	int ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	l->cfg = p->cfg;
	l->is_server = p->cfg->role == RV_CONFIG_SERVER;
	l->dp = p->dp;
	l->sigfd = p->sigfd;
	l->listen_fd = -1;
	l->status_fd = -1;
	l->max_attempts = p->max_attempts;
	l->backoff_ms = p->cfg->reconnect_min_ms;
	l->max_conns = l->is_server ? p->cfg->max_clients + p->cfg->max_handshaking + 64 : 4;
	l->conns = calloc(l->max_conns, sizeof(*l->conns));
	if (!l->conns) {
		ret = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto err_free;
	}
	l->env.cfg = p->cfg;
	l->env.demux = p->demux;
	l->env.qsbr = p->qsbr;
	l->env.pool = p->pool;
	l->env.data_port = p->dp ? rv_dataplane_port(p->dp) : 0;
	l->env.ctx = l;
	l->env.send_keepalive = up_send_keepalive;
	l->env.on_config = l->is_server ? NULL : up_on_config;
	ret = rv_ctlring_new(&l->ring, RING_ENTRIES);
	if (ret) {
		snprintf(err, err_len, "control io_uring: %s", strerror(-ret));
		goto err_free;
	}
	if (l->is_server) {
		ret = open_listener(l, err, err_len);
		if (ret) {
			goto err_free;
		}
	}
	if (l->cfg->status_socket[0]) {
		ret = open_status(l, err, err_len);
		if (ret) {
			goto err_free;
		}
	}
	l->tls = p->tls;
	*out = l;
	return 0;

err_free:
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
	}
	rv_ctlring_free(l->ring);
	free(l->conns);
	free(l);
	return ret;
}

enum rv_ctlloop_exit rv_ctlloop_run(struct rv_ctlloop *l)
{
	struct rv_ctlring_cqe cqes[CQE_BATCH];

	l->exit = RV_CTLLOOP_SIGNAL;
	if (l->is_server) {
		arm_accept(l);
	}
	if (l->status_fd >= 0 &&
	    rv_ctlring_accept(l->ring, l->status_fd, ud_pack(OP_STATUS_ACCEPT, 0, 0))) {
		return RV_CTLLOOP_FAILED;
	}
	if (l->sigfd >= 0 && rv_ctlring_read(l->ring, l->sigfd, &l->siginfo, sizeof(l->siginfo),
					     ud_pack(OP_SIGNAL, 0, 0))) {
		return RV_CTLLOOP_FAILED;
	}
	if (!l->is_server) {
		client_connect(l);
	}
	if (rv_ctlring_timeout(l->ring, TICK_NS, ud_pack(OP_TICK, 0, 0))) {
		return RV_CTLLOOP_FAILED;
	}
	while (!l->done) {
		int n = rv_ctlring_wait(l->ring, cqes, CQE_BATCH);

		if (n == -EINTR) {
			continue;
		}
		if (n < 0) {
			rv_warn(n, "control ring wait");
			l->exit = RV_CTLLOOP_FAILED;
			break;
		}
		for (int i = 0; i < n && !l->done; i++) {
			on_cqe(l, &cqes[i]);
			if (l->zombies) {
				reap_zombies(l);
			}
		}
	}
	return l->exit;
}

void rv_ctlloop_free(struct rv_ctlloop *l)
{
	if (!l) {
		return;
	}
	l->stopping = true;
	for (uint32_t i = 0; i < l->max_conns; i++) {
		struct conn *c = l->conns[i];

		if (c) {
			conn_close(l, c);
		}
	}
	/* Freeing the ring cancels and reaps every operation still in flight,
	 * after which no kernel reference to a connection buffer remains. */
	rv_ctlring_free(l->ring);
	for (uint32_t i = 0; i < l->max_conns; i++) {
		if (l->conns[i]) {
			conn_destroy(l, l->conns[i]);
		}
	}
	if (!l->is_server) {
		rv_dataplane_stop(l->dp);
	}
	/* Sessions retired above are freed once the workers are gone (client)
	 * or by the caller's rv_qsbr_free after stopping the data plane. */
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
	}
	if (l->status_fd >= 0) {
		close(l->status_fd);
		unlink(l->cfg->status_socket);
	}
	rv_tls_ctx_free(l->tls);
	free(l->conns);
	free(l);
}
