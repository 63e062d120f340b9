/*
 * ctlload_loop.c — the load generator's io_uring loop and its simulated
 * clients (see ctlload.h).
 *
 * Each slot is one ringvpn client, built from the same pieces as the real
 * one: a TCP connection from one of the namespace's source addresses, the
 * TLS engine over memory buffers (tls/conn.h) with the slot's own
 * certificate, and the client's control peer (tls/ctl_client.h), which
 * installs its session into the one demux all slots share. What the real
 * client's loop does (tls/chan.c, tls/dial.c) — the pump between socket, TLS
 * and peer, backoff, the handshake timeout — is done here the same way for N
 * clients at once; the TUN device and the data-plane workers are left out
 * (ctlload_data.c seals and opens the few packets itself).
 *
 * Per event the loop does O(1) work, like the server it loads: every slot
 * has one timer on a wheel (core/timer.h), and slots due to connect while
 * the window of unfinished handshakes is full wait in a FIFO.
 *
 * Slot lifetime: a closed connection releases its TLS engine and peer at
 * once (the session is unpublished and retired through QSBR), shuts the
 * socket down and cancels its ring operations; the socket and the buffers
 * stay until the last of them has completed (LD_CLOSING), and only then may
 * the slot connect again. So every completion belongs to the slot's current
 * connection, and user_data carries no generation (its index is 0).
 */
#include "perf/ctlload.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/qsbr.h"
#include "crypto/kdf.h"
#include "crypto/mem.h"
#include "crypto/rand.h"
#include "tls/conn.h"
#include "tls/ctl_client.h"
#include "tls/ctx.h"
#include "uring/ctlring.h"
#include "uring/udata.h"

enum {
	RING_ENTRIES = 4096,
	CQE_BATCH = 256,
	/* The command script's timers (timeline, probe, waits). */
	TICK_NS = 10 * RV_NSEC_PER_MSEC,
	WHEEL_TICK_NS = 10 * RV_NSEC_PER_MSEC,
	WHEEL_SLOTS = 4096, /* 41 s a rotation: keepalive, dead peer, backoff */
	/* How long a closing connection may take to send its last words. */
	LINGER_NS = 2 * RV_NSEC_PER_SEC,
};

static uint64_t ud(const struct ld_sess *s, enum rv_op op)
{
	return rv_udata(op, s->id, 0);
}

static void set_state(struct ld *ld, struct ld_sess *s, enum ld_state st)
{
	ld->num_state[s->st]--;
	ld->num_state[st]++;
	s->st = st;
}

static unsigned pending(const struct ld *ld)
{
	return ld->num_state[LD_CONNECTING] + ld->num_state[LD_TLS] + ld->num_state[LD_CTL];
}

static void sess_connect(struct ld *ld, struct ld_sess *s, uint64_t now);

/* refill starts queued connections while the window has room. */
static void refill(struct ld *ld, uint64_t now)
{
	while (ld->ready_len && (!ld->o.window || pending(ld) < ld->o.window)) {
		struct ld_sess *s = &ld->sess[ld->ready[ld->ready_head]];

		ld->ready_head = (ld->ready_head + 1) % ld->o.count;
		ld->ready_len--;
		s->queued = false;
		if (s->st == LD_BACKOFF) {
			sess_connect(ld, s, now);
		}
	}
}

/* due: |s|'s reconnect time has come; connect now or wait for the window. */
static void due(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	if (!ld->o.window || pending(ld) < ld->o.window) {
		sess_connect(ld, s, now);
	} else if (!s->queued) {
		s->queued = true;
		ld->ready[(ld->ready_head + ld->ready_len) % ld->o.count] = s->id;
		ld->ready_len++;
	}
}

/* backoff_schedule mirrors the real client's reconnect rule (tls/dial.c):
 * after a session that reached running, start again from reconnect_min;
 * otherwise keep doubling up to reconnect_max; add up to 25 % jitter so
 * that a restarted server is not hit in lockstep. */
static void backoff_schedule(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	uint32_t delay;

	if (s->was_running || s->backoff_ms == 0) {
		s->backoff_ms = ld->o.reconnect_min_ms;
	}
	delay = s->backoff_ms;
	delay += rv_rand_u32() % (delay / 4 + 1);
	rv_wheel_arm(ld->wheel, &s->timer, now + (uint64_t)delay * RV_NSEC_PER_MSEC);
	s->backoff_ms = s->backoff_ms * 2 > ld->o.reconnect_max_ms ? ld->o.reconnect_max_ms
								   : s->backoff_ms * 2;
}

/* closed: the last ring operation of a released connection has completed. */
static void closed(struct ld *ld, struct ld_sess *s)
{
	uint64_t now = rv_now_ns();

	if (s->fd >= 0) {
		if (s->rst) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(s->fd);
		s->fd = -1;
	}
	s->send_armed = false;
	s->close_after_send = false;
	s->plen = s->soff = s->slen = 0;
	switch (s->after) {
	case LD_AFTER_BACKOFF:
		set_state(ld, s, LD_BACKOFF);
		backoff_schedule(ld, s, now);
		break;
	case LD_AFTER_NOW:
		s->backoff_ms = 0;
		set_state(ld, s, LD_BACKOFF);
		due(ld, s, now);
		break;
	case LD_AFTER_IDLE:
		set_state(ld, s, LD_IDLE);
		break;
	}
	s->after = LD_AFTER_BACKOFF;
	s->rst = false;
	refill(ld, now);
}

/* release drops the connection's TLS engine and peer (unpublishing its
 * session) and shuts the socket down; the slot waits in LD_CLOSING for its
 * ring operations. Idempotent. */
static void release(struct ld *ld, struct ld_sess *s)
{
	if (s->st == LD_CLOSING) {
		return;
	}
	rv_wheel_cancel(ld->wheel, &s->timer);
	rv_ctl_peer_free(s->cli);
	s->cli = NULL;
	rv_tls_conn_free(s->tls);
	s->tls = NULL;
	set_state(ld, s, LD_CLOSING);
	if (s->fd >= 0) {
		/* shutdown completes a pending recv with 0 and a pending send
		 * with an error (a reset must not send a FIN first); the
		 * cancel covers a pending connect. */
		if (!s->rst) {
			shutdown(s->fd, SHUT_RDWR);
		}
		if (s->inflight &&
		    rv_ctlring_cancel_fd(ld->ring, s->fd, ud(s, RV_OP_CTL_CANCEL)) == 0) {
			s->inflight++;
		}
	}
	if (s->inflight == 0) {
		closed(ld, s);
	}
}

static void arm_recv(struct ld *ld, struct ld_sess *s)
{
	if (rv_ctlring_recv(ld->ring, s->fd, s->rbuf, LD_RBUF_LEN, ud(s, RV_OP_CTL_RECV))) {
		release(ld, s);
		return;
	}
	s->inflight++;
}

/* linger: send what is queued, then close; never longer than LINGER_NS. */
static void linger(struct ld *ld, struct ld_sess *s)
{
	if (!s->close_after_send) {
		s->close_after_send = true;
		rv_wheel_arm(ld->wheel, &s->timer, rv_now_ns() + LINGER_NS);
	}
}

/* flush sends pending ciphertext, one send in flight at a time. */
static void flush(struct ld *ld, struct ld_sess *s)
{
	if (s->st == LD_CLOSING || s->send_armed) {
		return;
	}
	if (s->soff == s->slen) {
		s->soff = 0;
		s->slen = s->tls ? rv_tls_conn_take_out(s->tls, s->sbuf, LD_SBUF_LEN) : 0;
	}
	if (s->slen == 0) {
		if (s->close_after_send) {
			release(ld, s);
		}
		return;
	}
	if (rv_ctlring_send(ld->ring, s->fd, s->sbuf + s->soff, s->slen - s->soff,
			    ud(s, RV_OP_CTL_SEND))) {
		release(ld, s);
		return;
	}
	s->inflight++;
	s->send_armed = true;
}

/* drain_out moves the peer's frames into the TLS engine. */
static void drain_out(struct ld *ld, struct ld_sess *s)
{
	struct rv_ctl_out *out;

	if (!s->cli || !s->tls) {
		return;
	}
	out = rv_ctl_peer_out(s->cli);
	if (out->len == 0) {
		return;
	}
	if (rv_tls_conn_write(s->tls, out->buf, out->len) != RV_TLS_OK) {
		linger(ld, s);
	}
	out->len = 0;
}

/* rearm sets the timer of a connection with a peer to the peer's next
 * deadline (at least 1 ms ahead, so a deadline still due right after a tick
 * cannot make the loop spin). */
static void rearm(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	uint64_t next;

	if (s->st == LD_CLOSING || !s->cli || s->close_after_send) {
		return;
	}
	next = rv_ctl_peer_next_ns(s->cli, now);
	rv_wheel_arm(ld->wheel, &s->timer, next > now ? next : now + RV_NSEC_PER_MSEC);
}

/* close_soon: send what is queued (GOODBYE, ERROR, close_notify), then close. */
static void close_soon(struct ld *ld, struct ld_sess *s)
{
	drain_out(ld, s);
	if (s->tls) {
		rv_tls_conn_close(s->tls);
	}
	linger(ld, s);
	flush(ld, s);
}

static void authenticated(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	uint8_t exp[RV_EXPORTER_LEN];
	struct rv_endpoint ep;

	ld->st.tls_ok++;
	if (rv_tls_conn_export(s->tls, exp, sizeof(exp))) {
		linger(ld, s);
		return;
	}
	memset(&ep, 0, sizeof(ep));
	memcpy(&ep.sa, &ld->o.server, ld->o.server_len);
	ep.len = ld->o.server_len;
	s->cli = rv_ctl_client_new(&s->env, exp, &ep, NULL, NULL, now);
	rv_memzero(exp, sizeof(exp));
	if (!s->cli) {
		linger(ld, s);
		return;
	}
	set_state(ld, s, LD_CTL);
}

/* dispatch hands every complete frame in pbuf to the peer. Returns false
 * once the connection is closing. */
static bool dispatch(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	size_t off = 0;

	while (off < s->plen) {
		size_t flen;
		enum rv_ctl_err err = rv_ctl_frame_len(s->pbuf + off, s->plen - off, &flen);
		enum rv_ctl_result r;

		if (err == RV_CTL_E_NEED_MORE) {
			break;
		}
		if (err != RV_CTL_OK) {
			flen = s->plen - off; /* the decoder names the error and closes */
		}
		r = rv_ctl_peer_on_frame(s->cli, s->pbuf + off, flen, now);
		off += flen;
		if (s->st == LD_CTL && rv_ctl_peer_running(s->cli)) {
			set_state(ld, s, LD_RUNNING);
			s->was_running = true;
			ld->st.running++;
			refill(ld, now);
		}
		if (r == RV_CTL_CLOSE) {
			ld->st.closed_by_ctl++;
			close_soon(ld, s);
			return false;
		}
	}
	memmove(s->pbuf, s->pbuf + off, s->plen - off);
	s->plen -= off;
	return true;
}

/* pump advances the TLS handshake, then reads and dispatches every control
 * frame the engine holds, and sends the replies. */
static void pump(struct ld *ld, struct ld_sess *s)
{
	uint64_t now = rv_now_ns();
	enum rv_tls_status st;

	if (!rv_tls_conn_handshake_done(s->tls)) {
		st = rv_tls_conn_handshake(s->tls);
		if (st == RV_TLS_WANT_READ) {
			flush(ld, s);
			return;
		}
		if (st != RV_TLS_OK) {
			ld->st.tls_fail++;
			linger(ld, s); /* the alert is pending out */
			flush(ld, s);
			return;
		}
		authenticated(ld, s, now);
		if (s->close_after_send) {
			flush(ld, s);
			return;
		}
	}
	for (;;) {
		size_t n;

		if (s->plen == LD_PBUF_LEN) {
			release(ld, s);
			return;
		}
		st = rv_tls_conn_read(s->tls, s->pbuf + s->plen, LD_PBUF_LEN - s->plen, &n);
		if (st == RV_TLS_OK) {
			s->plen += n;
			if (!dispatch(ld, s, now)) {
				return;
			}
			drain_out(ld, s);
			continue;
		}
		if (st == RV_TLS_WANT_READ) {
			break;
		}
		/* close_notify, or an error: a client learns that the server
		 * refused its certificate here, on its first read. */
		if (st == RV_TLS_ERROR && s->st == LD_CTL) {
			ld->st.tls_fail++;
		}
		ld->st.closed_by_server++;
		release(ld, s);
		return;
	}
	drain_out(ld, s);
	flush(ld, s);
	rearm(ld, s, now);
}

static int open_socket(struct ld *ld, struct ld_sess *s)
{
	const struct sockaddr_storage *src = &ld->o.sources[s->id % ld->o.num_sources];
	int one = 1, fd;

	fd = socket(ld->o.server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Choose the port at connect time, per (source, destination) pair:
	 * binding it now would cap each source address at one ephemeral
	 * range over all destinations and make the bind itself O(ports). */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)src,
		 src->ss_family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static void sess_connect(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	int fd;

	s->was_running = false;
	s->t_start_ns = now;
	ld->st.connects++;
	fd = open_socket(ld, s);
	if (fd < 0) {
		ld->st.connect_fail++;
		backoff_schedule(ld, s, now);
		return;
	}
	s->fd = fd;
	set_state(ld, s, LD_CONNECTING);
	rv_wheel_arm(ld->wheel, &s->timer,
		     now + (uint64_t)ld->o.handshake_timeout_ms * RV_NSEC_PER_MSEC);
	if (rv_ctlring_connect(ld->ring, fd, (const struct sockaddr *)&ld->o.server,
			       ld->o.server_len, ud(s, RV_OP_CTL_CONNECT))) {
		release(ld, s);
		return;
	}
	s->inflight++;
}

static void on_connect(struct ld *ld, struct ld_sess *s, int res)
{
	if (res < 0 || rv_tls_conn_new(&s->tls, s->ctx)) {
		ld->st.connect_fail++;
		release(ld, s);
		return;
	}
	set_state(ld, s, LD_TLS);
	pump(ld, s); /* produces the ClientHello */
	if (s->st != LD_CLOSING) {
		arm_recv(ld, s);
	}
}

static void on_recv(struct ld *ld, struct ld_sess *s, int res)
{
	if (res <= 0 || rv_tls_conn_feed(s->tls, s->rbuf, (size_t)res)) {
		ld->st.closed_by_server++;
		release(ld, s);
		return;
	}
	pump(ld, s);
	if (s->st != LD_CLOSING) {
		arm_recv(ld, s);
	}
}

static void on_send(struct ld *ld, struct ld_sess *s, int res)
{
	s->send_armed = false;
	if (res < 0) {
		release(ld, s);
		return;
	}
	s->soff += (size_t)res;
	flush(ld, s);
}

/* on_timer: |s|'s one timer expired; what it meant depends on the state. */
static void on_timer(struct ld *ld, struct ld_sess *s, uint64_t now)
{
	switch (s->st) {
	case LD_BACKOFF:
		due(ld, s, now);
		break;
	case LD_CONNECTING:
	case LD_TLS:
		if (!s->close_after_send) {
			ld->st.hs_timeouts++;
		}
		release(ld, s);
		break;
	case LD_CTL:
	case LD_RUNNING:
		if (s->close_after_send) {
			release(ld, s); /* the linger ran out */
			break;
		}
		if (rv_ctl_peer_tick(s->cli, now) == RV_CTL_CLOSE) {
			ld->st.closed_by_ctl++;
			close_soon(ld, s);
			break;
		}
		drain_out(ld, s);
		flush(ld, s);
		rearm(ld, s, now);
		break;
	default:
		break;
	}
}

void ld_close_sess(struct ld *ld, struct ld_sess *s, bool rst, enum ld_after after)
{
	switch (s->st) {
	case LD_IDLE:
		return;
	case LD_BACKOFF:
		if (after == LD_AFTER_IDLE) {
			rv_wheel_cancel(ld->wheel, &s->timer);
			set_state(ld, s, LD_IDLE); /* a queued slot is skipped by refill */
		}
		return;
	case LD_CLOSING:
		s->after = after;
		return;
	default:
		break;
	}
	s->after = after;
	ld->st.closed_by_us++;
	if (rst || !s->cli) {
		s->rst = rst;
		release(ld, s);
		return;
	}
	rv_ctl_peer_goodbye(s->cli, RV_CTL_CODE_SHUTDOWN, "load generator: client leaves");
	close_soon(ld, s);
}

void ld_stop_all(struct ld *ld)
{
	for (unsigned i = 0; i < ld->o.count; i++) {
		ld_close_sess(ld, &ld->sess[i], false, LD_AFTER_IDLE);
	}
}

void ld_start_all(struct ld *ld)
{
	uint64_t now = rv_now_ns();

	for (unsigned i = 0; i < ld->o.count; i++) {
		struct ld_sess *s = &ld->sess[i];

		if (s->st == LD_IDLE) {
			s->backoff_ms = 0;
			set_state(ld, s, LD_BACKOFF);
			due(ld, s, now);
		}
	}
}

static uint32_t tx_epoch(const struct ld_sess *s)
{
	return s->st == LD_RUNNING ? rv_session_tx_epoch(rv_ctl_peer_session(s->cli)) : 0;
}

void ld_epochs(const struct ld *ld, uint32_t *out_min, uint32_t *out_max)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (unsigned i = 0; i < ld->o.count; i++) {
		const struct ld_sess *s = &ld->sess[i];
		uint32_t e = tx_epoch(s);

		if (s->st != LD_RUNNING) {
			continue;
		}
		lo = e < lo ? e : lo;
		hi = e > hi ? e : hi;
	}
	*out_min = lo == UINT32_MAX ? 0 : lo;
	*out_max = hi;
}

void ld_snap_epochs(struct ld *ld)
{
	for (unsigned i = 0; i < ld->o.count; i++) {
		ld->sess[i].epoch_mark = tx_epoch(&ld->sess[i]);
	}
}

unsigned ld_num_rekeyed(const struct ld *ld)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ld->o.count; i++) {
		const struct ld_sess *s = &ld->sess[i];

		n += s->st == LD_RUNNING && tx_epoch(s) > s->epoch_mark;
	}
	return n;
}

static int arm_udp(struct ld *ld)
{
	return rv_ctlring_recv(ld->ring, ld->udp_fd, ld->ubuf, LD_UBUF_LEN,
			       rv_udata(RV_OP_UDP_RECV, 0, 0));
}

/* arm_stdin: the command script is the generator's management channel. */
static int arm_stdin(struct ld *ld)
{
	return rv_ctlring_read(ld->ring, 0, ld->in, sizeof(ld->in),
			       rv_udata(RV_OP_MGMT_RECV, 0, 0));
}

static void on_cqe(struct ld *ld, const struct rv_ctlring_cqe *cqe)
{
	enum rv_op op = rv_udata_op(cqe->user_data);
	struct ld_sess *s;

	switch (op) {
	case RV_OP_MGMT_RECV:
		ld_cmd_input(ld, ld->in, cqe->res > 0 ? (size_t)cqe->res : 0);
		if (cqe->res > 0 && arm_stdin(ld)) {
			ld->done = true;
		}
		return;
	case RV_OP_UDP_RECV:
		ld_data_on_recv(ld, cqe->res);
		if (arm_udp(ld)) {
			fprintf(stderr, "ctlload: cannot arm the UDP receive\n");
			ld->done = true;
		}
		return;
	case RV_OP_CTL_CONNECT:
	case RV_OP_CTL_RECV:
	case RV_OP_CTL_SEND:
	case RV_OP_CTL_CANCEL:
		break;
	default:
		fprintf(stderr, "ctlload: unexpected completion op %d (res %d)\n", (int)op,
			cqe->res);
		return;
	}
	if (rv_udata_owner(cqe->user_data) >= ld->o.count) {
		return;
	}
	s = &ld->sess[rv_udata_owner(cqe->user_data)];
	s->inflight--;
	if (s->st == LD_CLOSING) {
		if (s->inflight == 0) {
			closed(ld, s);
		}
		return;
	}
	switch (op) {
	case RV_OP_CTL_CONNECT:
		on_connect(ld, s, cqe->res);
		break;
	case RV_OP_CTL_RECV:
		on_recv(ld, s, cqe->res);
		break;
	case RV_OP_CTL_SEND:
		on_send(ld, s, cqe->res);
		break;
	default:
		break;
	}
}

int ld_run(struct ld *ld)
{
	static struct rv_ctlring_cqe cqes[CQE_BATCH];
	uint64_t next_tick = 0;

	if (arm_stdin(ld) || arm_udp(ld)) {
		return -EBUSY;
	}
	while (!ld->done) {
		uint64_t now = rv_now_ns(), wake;
		struct rv_timer *t;
		int n;

		while ((t = rv_wheel_expire(ld->wheel, now)) != NULL) {
			on_timer(ld,
				 (struct ld_sess *)((char *)t - offsetof(struct ld_sess, timer)),
				 now);
		}
		if (now >= next_tick) {
			rv_qsbr_reclaim(ld->qsbr);
			ld_data_probe_tick(ld, now);
			ld_cmd_tick(ld, now);
			next_tick = now + TICK_NS;
		}
		wake = rv_wheel_next_ns(ld->wheel, now);
		wake = wake < next_tick ? wake : next_tick;
		n = rv_ctlring_wait(ld->ring, cqes, CQE_BATCH, wake > now ? wake - now : 0, 0);
		if (n == -EINTR) {
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "ctlload: ring wait: %s\n", strerror(-n));
			return n;
		}
		for (int i = 0; i < n && !ld->done; i++) {
			on_cqe(ld, &cqes[i]);
		}
	}
	return 0;
}

/* load_ctx builds slot |i|'s TLS context from CERT_DIR/PREFIX<i+1>.{crt,key}. */
static int load_ctx(struct ld *ld, unsigned i, struct rv_tls_ctx **out)
{
	char crt[4096], key[4096], err[512];
	struct rv_tls_ctx_params p = {
		.role = RV_TLS_CLIENT,
		.ca_file = ld->o.ca,
		.cert_file = crt,
		.key_file = key,
		.server_name = ld->o.server_name,
	};
	enum rv_tls_ctx_fail why;
	int ret;

	snprintf(crt, sizeof(crt), "%s/%s%u.crt", ld->o.cert_dir, ld->o.cert_prefix, i + 1);
	snprintf(key, sizeof(key), "%s/%s%u.key", ld->o.cert_dir, ld->o.cert_prefix, i + 1);
	ret = rv_tls_ctx_new(out, &p, &why, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ctlload: client %u: %s\n", i + 1, err);
	}
	return ret;
}

int ld_init(struct ld *ld)
{
	int ret;

	ld->udp_fd = -1;
	ld->cfg = calloc(1, sizeof(*ld->cfg));
	ld->sess = calloc(ld->o.count, sizeof(*ld->sess));
	ld->ready = calloc(ld->o.count, sizeof(*ld->ready));
	ld->demux = rv_demux_new(ld->o.count, NULL); /* one thread: no reader to wait for */
	ld->qsbr = rv_qsbr_new(1);
	ld->wheel = rv_wheel_new(WHEEL_TICK_NS, WHEEL_SLOTS, rv_now_ns());
	if (!ld->cfg || !ld->sess || !ld->ready || !ld->demux || !ld->qsbr || !ld->wheel) {
		fprintf(stderr, "ctlload: out of memory\n");
		return -ENOMEM;
	}
	rv_config_defaults(ld->cfg, RV_CONFIG_CLIENT);
	ret = rv_ctlring_new(&ld->ring, RING_ENTRIES);
	if (ret) {
		fprintf(stderr, "ctlload: io_uring: %s\n", strerror(-ret));
		return ret;
	}
	ld->num_state[LD_IDLE] = ld->o.count;
	for (unsigned i = 0; i < ld->o.count; i++) {
		struct ld_sess *s = &ld->sess[i];

		s->ld = ld;
		s->id = i;
		s->fd = -1;
		s->env.cfg = ld->cfg;
		s->env.demux = ld->demux;
		s->env.qsbr = ld->qsbr;
		s->env.ctx = s;
		s->env.send_keepalive = ld_data_keepalive;
		s->env.on_config = ld_data_on_config;
		s->rbuf = malloc(LD_RBUF_LEN + LD_SBUF_LEN + LD_PBUF_LEN);
		if (!s->rbuf) {
			fprintf(stderr, "ctlload: out of memory\n");
			return -ENOMEM;
		}
		s->sbuf = s->rbuf + LD_RBUF_LEN;
		s->pbuf = s->sbuf + LD_SBUF_LEN;
		ret = load_ctx(ld, i, &s->ctx);
		if (ret) {
			return ret;
		}
	}
	return ld_data_init(ld);
}

void ld_cleanup(struct ld *ld)
{
	if (ld->sess) {
		for (unsigned i = 0; i < ld->o.count; i++) {
			struct ld_sess *s = &ld->sess[i];

			rv_ctl_peer_free(s->cli);
			rv_tls_conn_free(s->tls);
			rv_tls_ctx_free(s->ctx);
		}
	}
	/* Freeing the ring cancels and reaps what is in flight; only then may
	 * the sockets and buffers go. */
	rv_ctlring_free(ld->ring);
	if (ld->sess) {
		for (unsigned i = 0; i < ld->o.count; i++) {
			if (ld->sess[i].fd >= 0) {
				close(ld->sess[i].fd);
			}
			free(ld->sess[i].rbuf);
		}
	}
	ld_data_cleanup(ld);
	rv_qsbr_free(ld->qsbr);
	rv_wheel_free(ld->wheel);
	rv_demux_free(ld->demux);
	free(ld->ready);
	free(ld->sess);
	free(ld->cfg);
}
