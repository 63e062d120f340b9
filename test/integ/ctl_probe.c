/*
 * ctl_probe.c — a raw control-port client for the control-plane tests
 * (built as rvt_ctl_probe).
 *
 *   rvt_ctl_probe hello HOST PORT CA NAME [CERT KEY [HOLD [forge]]]
 *       TLS handshake (with the client certificate, or none), then wait for
 *       the server's first control message. Prints "authenticated" and exits
 *       0 if a HELLO arrives, else prints "refused: <reason>" and exits 1.
 *       With HOLD, stays connected without sending its own HELLO for HOLD
 *       seconds (the server holds it in wait-hello), printing "closed" if
 *       the server closes it first; with "forge", writes a TLS record of 64
 *       bytes of garbage on the socket first.
 *   rvt_ctl_probe cycles HOST PORT CA NAME CERT KEY COUNT [print] [prev4=A]
 *       COUNT times: connect, authenticate, complete the control exchange up
 *       to a running session (HELLO, CONFIG, KEY(1) -> KEY_ACK, KEY_CONFIRM),
 *       then leave: even cycles with GOODBYE, odd ones with a TCP reset.
 *       With "print", each cycle prints "cycle I: v4=A v6=B" (the addresses
 *       CONFIG assigned); with prev4, each HELLO asks for A back (a client
 *       asking for an address not its own walks the pool). Exits 0 if every
 *       cycle reached a running session.
 *   rvt_ctl_probe flood HOST PORT COUNT SECONDS
 *       opens COUNT TCP connections that never finish a TLS handshake (each
 *       sends one byte of a record header), holds them SECONDS, closes them.
 *       Prints how many connections were established.
 *   rvt_ctl_probe flood-rate HOST PORT RATE SECONDS
 *       a sustained flood: RATE plain TCP connects per second (nothing sent)
 *       for SECONDS, each held for 2 s then closed. Prints how many were
 *       established and the rate achieved.
 *   rvt_ctl_probe flood-hold HOST PORT SRC NSRC PER SECONDS [NBYTES]
 *       a distributed flood of silent connections: from each of NSRC IPv4
 *       sources SRC, SRC+1, ... (addresses of this host), PER connections
 *       that send nothing (or the first NBYTES, at most 6, of a whole TLS
 *       handshake record holding the first byte of a ClientHello, which
 *       the server then waits to see the rest of), each opened again at
 *       once when the server closes it, for SECONDS or until SIGTERM (a
 *       test done with it early), then exits 0. Prints how many connects it
 *       made and how many the server closed.
 *   rvt_ctl_probe session HOST PORT CA NAME CERT KEY [OPT=VALUE...]
 *       one session up to RUNNING, printing "assigned v4=A v6=B" when CONFIG
 *       arrives and "running" after epoch 1, then what |then| says:
 *         prev4=ADDR   ask ADDR back in HELLO (the previous address)
 *         hold=SECS    how long the |then| phase lasts (default 0)
 *         wait=SECS    how long the handshake and each setup message may
 *                      take (default 3; a relay held stopped takes longer)
 *         rcvbuf=N     SO_RCVBUF before connecting (a small receive window)
 *         old-dns      announce DNS pushes but not their withdrawal
 *                      (RV_CTL_CAP_DNS without RV_CTL_CAP_DNS_EMPTY: an
 *                      older client)
 *         then=goodbye stay |hold| seconds like a client (keepalives, answer
 *                      server rekeys, take CONFIG updates), then GOODBYE
 *         then=wait    the same, without the GOODBYE at the end
 *         then=rekey-flood  start key exchanges back to back, each one
 *                      completed (KEY, KEY_ACK, KEY_CONFIRM), for |hold|
 *                      seconds or until the server closes; prints
 *                      "rekey-flood: N exchange(s) in T s"
 *         gap=MS       rekey-flood: wait MS between exchanges (0: none)
 *         then=silent  send DATA_STATUS(silent, 4294967295 s: a claim
 *                      no session can back), then as then=wait
 *         then=flap    send DATA_STATUS silent, then not, twice (four
 *                      changes the server may log), then as then=wait
 *         then=badver  send a KEEPALIVE frame of control version 2, then as
 *                      then=wait
 *         then=forge   write a TLS application-data record of 64 bytes of
 *                      garbage on the socket, past TLS (what an attacker
 *                      on the path could inject), then as then=wait
 *         then=stall   never read the socket again; send a KEEPALIVE every
 *                      200 ms (gap=MS: every MS) for |hold| seconds; prints
 *                      "stall: ..." with whether and when the server cut
 *                      the connection
 *         then=unkeyed stop before RUNNING: take CONFIG and the server's
 *                      first KEY, never answer it, and read for |hold|
 *                      seconds (prints "unkeyed" instead of "running",
 *                      then "held" or "closed: ...")
 *       Whenever the server ends the session it prints
 *       "closed: goodbye|error CODE (TEXT) ...". Exits 0 if the session
 *       reached RUNNING, 1 if not, 2 on usage or setup errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/ctlmsg.h"
#include "core/ip.h"
#include "crypto/dh.h"
#include "tls/conn.h"
#include "tls/ctx.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tcp_connect connects to HOST:PORT; |rcvbuf| > 0 sets SO_RCVBUF first (it
 * must precede the connect to shape the advertised window). */
static int tcp_connect_buf(const char *host, const char *port, int rcvbuf)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd;

	if (getaddrinfo(host, port, &hints, &res)) {
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && rcvbuf > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int tcp_connect(const char *host, const char *port)
{
	return tcp_connect_buf(host, port, 0);
}

static int flush_out(struct rv_tls_conn *c, int fd)
{
	uint8_t buf[16384];
	size_t n;

	while ((n = rv_tls_conn_take_out(c, buf, sizeof(buf))) > 0) {
		if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
			return -1;
		}
	}
	return 0;
}

/* hold_unhelloed keeps |fd| open |secs| seconds, reading (and dropping) what
 * comes; says "closed" if the server closes it first. */
static void hold_unhelloed(int fd, int secs)
{
	double end = now_s() + secs;
	uint8_t buf[4096];

	while (now_s() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 200) > 0 && recv(fd, buf, sizeof(buf), 0) <= 0) {
			printf("closed\n");
			return;
		}
	}
}

/* send_forged writes a TLS application-data record of 64 bytes of garbage
 * on |fd|, beneath TLS (what an attacker on the path could inject). */
static void send_forged(int fd)
{
	uint8_t rec[5 + 64] = { 0x17, 0x03, 0x03, 0x00, 64 };

	for (size_t i = 5; i < sizeof(rec); i++) {
		rec[i] = (uint8_t)(i * 37 + 11);
	}
	(void)send(fd, rec, sizeof(rec), MSG_NOSIGNAL);
}

static int do_hello(int argc, char **argv)
{
	struct rv_tls_ctx_params p = {
		.role = RV_TLS_CLIENT,
		.ca_file = argv[4],
		.server_name = argv[5],
		.cert_file = argc > 6 ? argv[6] : NULL,
		.key_file = argc > 7 ? argv[7] : NULL,
	};
	struct rv_tls_ctx *ctx;
	struct rv_tls_conn *c = NULL;
	enum rv_tls_ctx_fail why;
	char err[512];
	uint8_t buf[16384], pt[4096];
	size_t plen = 0;
	int fd, ret = 1;

	if (rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err))) {
		printf("setup: %s\n", err);
		return 2;
	}
	fd = tcp_connect(argv[2], argv[3]);
	if (fd < 0 || rv_tls_conn_new(&c, ctx)) {
		printf("refused: cannot connect: %s\n", strerror(errno));
		goto out;
	}
	for (int rounds = 0; rounds < 100; rounds++) {
		enum rv_tls_status st;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (!rv_tls_conn_handshake_done(c)) {
			st = rv_tls_conn_handshake(c);
		} else {
			size_t got = 0;

			st = rv_tls_conn_read(c, pt + plen, sizeof(pt) - plen, &got);
			plen += got;
			if (st == RV_TLS_OK) {
				struct rv_ctl_msg m;
				size_t flen;

				if (rv_ctl_frame_len(pt, plen, &flen) == RV_CTL_OK &&
				    rv_ctl_decode(&m, pt, flen) == RV_CTL_OK &&
				    m.type == RV_CTL_HELLO) {
					printf("authenticated\n");
					ret = 0;
					if (argc > 9 && !strcmp(argv[9], "forge")) {
						send_forged(fd);
					}
					hold_unhelloed(fd, argc > 8 ? atoi(argv[8]) : 0);
					goto out;
				}
				continue;
			}
		}
		if (st == RV_TLS_ERROR || st == RV_TLS_CLOSED) {
			flush_out(c, fd);
			printf("refused: %s\n", rv_tls_conn_error(c));
			goto out;
		}
		if (flush_out(c, fd)) {
			printf("refused: send failed\n");
			goto out;
		}
		if (poll(&pfd, 1, 3000) <= 0) {
			printf("refused: timeout\n");
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			printf("refused: connection closed (%s)\n",
			       n < 0 ? strerror(errno) : "EOF");
			goto out;
		}
		rv_tls_conn_feed(c, buf, (size_t)n);
	}
	printf("refused: no HELLO\n");
out:
	rv_tls_conn_free(c);
	rv_tls_ctx_free(ctx);
	if (fd >= 0) {
		close(fd);
	}
	return ret;
}

struct probe {
	int fd;
	struct rv_tls_conn *c;
	uint8_t pt[8192];
	size_t plen;
	char why[256];	     /* why probe_next returned -1 */
	uint32_t extra_caps; /* announced in HELLO besides the usual ones */
	int msg_wait_ms;     /* probe_msg's wait (0: 3000) */
};

/* probe_next waits up to |timeout_ms| for the next control message: 0 with
 * |*m| filled, 1 on timeout, -1 when the connection ended (p->why says
 * how). */
static int probe_next(struct probe *p, struct rv_ctl_msg *m, int timeout_ms)
{
	uint8_t buf[16384];
	double deadline = now_s() + timeout_ms / 1000.0;

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		size_t flen, got;
		ssize_t n;
		int left;

		if (rv_ctl_frame_len(p->pt, p->plen, &flen) == RV_CTL_OK) {
			enum rv_ctl_err e = rv_ctl_decode(m, p->pt, flen);

			memmove(p->pt, p->pt + flen, p->plen - flen);
			p->plen -= flen;
			if (e != RV_CTL_OK) {
				snprintf(p->why, sizeof(p->why), "undecodable message: %s",
					 rv_ctl_err_str(e));
				return -1;
			}
			return 0;
		}
		if (rv_tls_conn_handshake_done(p->c)) {
			enum rv_tls_status st = rv_tls_conn_read(p->c, p->pt + p->plen,
								 sizeof(p->pt) - p->plen, &got);
			if (st == RV_TLS_OK) {
				p->plen += got;
				continue;
			}
			if (st != RV_TLS_WANT_READ) {
				snprintf(p->why, sizeof(p->why), "TLS %s: %s",
					 st == RV_TLS_CLOSED ? "close_notify" : "error",
					 rv_tls_conn_error(p->c));
				return -1;
			}
		} else {
			enum rv_tls_status st = rv_tls_conn_handshake(p->c);

			if (st == RV_TLS_ERROR) {
				flush_out(p->c, p->fd);
				snprintf(p->why, sizeof(p->why), "TLS handshake: %s",
					 rv_tls_conn_error(p->c));
				return -1;
			}
			if (flush_out(p->c, p->fd)) {
				snprintf(p->why, sizeof(p->why), "send: %s", strerror(errno));
				return -1;
			}
			if (st == RV_TLS_OK) {
				continue;
			}
		}
		left = (int)((deadline - now_s()) * 1000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0) {
			return 1;
		}
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			snprintf(p->why, sizeof(p->why), "%s",
				 n < 0 ? strerror(errno) : "EOF (TCP closed)");
			return -1;
		}
		rv_tls_conn_feed(p->c, buf, (size_t)n);
	}
}

/* probe_msg waits up to 3 s for the next control message. */
static int probe_msg(struct probe *p, struct rv_ctl_msg *m)
{
	return probe_next(p, m, p->msg_wait_ms ? p->msg_wait_ms : 3000) == 0 ? 0 : -1;
}

static int probe_send(struct probe *p, const struct rv_ctl_msg *m)
{
	uint8_t buf[RV_CTL_MAX_FRAME];
	size_t n;

	if (rv_ctl_encode(buf, sizeof(buf), &n, m) || rv_tls_conn_write(p->c, buf, n)) {
		return -1;
	}
	return flush_out(p->c, p->fd);
}

/* config_addrs formats CONFIG's addresses as "v4=A v6=B" ("-" if absent). */
static void config_addrs(const struct rv_ctl_config *c, char *out, size_t len)
{
	char a4[INET_ADDRSTRLEN] = "-", a6[INET6_ADDRSTRLEN] = "-";

	if (c->flags & RV_CTL_F_HAS_V4) {
		inet_ntop(AF_INET, c->addr4, a4, sizeof(a4));
	}
	if (c->flags & RV_CTL_F_HAS_V6) {
		inet_ntop(AF_INET6, c->addr6, a6, sizeof(a6));
	}
	snprintf(out, len, "v4=%s v6=%s", a4, a6);
}

/* print_end prints how the server ended the session (GOODBYE or ERROR). */
static void print_end(const struct rv_ctl_msg *m)
{
	if (m->type == RV_CTL_GOODBYE) {
		printf("closed: goodbye %u (%s)\n", m->goodbye_code,
		       rv_ctl_code_str(m->goodbye_code));
	} else {
		printf("closed: error %u (%s): %s\n", m->error.code, rv_ctl_code_str(m->error.code),
		       m->error.text);
	}
}

/* probe_msg_but_dns: probe_msg, passing over DNS pushes (sent to a probe
 * that announced RV_CTL_CAP_DNS). */
static int probe_msg_but_dns(struct probe *p, struct rv_ctl_msg *m)
{
	int r;

	while ((r = probe_msg(p, m)) == 0 && m->type == RV_CTL_DNS) {
	}
	return r;
}

/* bring_up runs the control exchange up to a running session: HELLO (with
 * |prev4| if given), CONFIG (its addresses in |addrs|), KEY(1) -> KEY_ACK ->
 * KEY_CONFIRM(1). Returns 0, or -1 after printing why when |verbose|. */
static int bring_up(struct probe *p, const struct rv_ip_addr *prev4, char *addrs, size_t len,
		    bool verbose, bool ack_key)
{
	struct rv_ctl_msg m, out;
	struct rv_x25519 kp = { 0 };
	int ret = -1;

	memset(&out, 0, sizeof(out));
	out.type = RV_CTL_HELLO;
	out.hello.max_ver = out.hello.min_ver = 1;
	out.hello.caps = RV_CTL_CAP_IPV6 | RV_CTL_CAP_CLIENT_REKEY | RV_CTL_CAP_CONFIG_UPDATE |
			 p->extra_caps;
	if (prev4 && prev4->family == AF_INET) {
		out.hello.flags |= RV_CTL_F_HAS_V4;
		memcpy(out.hello.prev4, prev4->a, 4);
	}
	if (probe_msg(p, &m) || m.type != RV_CTL_HELLO || probe_send(p, &out) || probe_msg(p, &m)) {
		if (verbose) {
			printf("not running: no HELLO/CONFIG: %s\n", p->why);
		}
		goto out;
	}
	if (m.type != RV_CTL_CONFIG) {
		if (verbose && (m.type == RV_CTL_ERROR || m.type == RV_CTL_GOODBYE)) {
			print_end(&m);
		}
		goto out;
	}
	config_addrs(&m.config, addrs, len);
	if (probe_msg_but_dns(p, &m) || m.type != RV_CTL_KEY || rv_x25519_generate(&kp)) {
		goto out;
	}
	if (!ack_key) {
		ret = 0;
		goto out;
	}
	out.type = RV_CTL_KEY_ACK;
	out.key.epoch = m.key.epoch;
	memcpy(out.key.pub, kp.pub, sizeof(kp.pub));
	if (probe_send(p, &out) || probe_msg_but_dns(p, &m) || m.type != RV_CTL_KEY_CONFIRM) {
		goto out;
	}
	ret = 0;
out:
	rv_x25519_cleanup(&kp);
	return ret;
}

/* one_cycle runs one connect .. running session .. leave cycle. */
static int one_cycle(struct rv_tls_ctx *ctx, char **argv, int i, bool print,
		     const struct rv_ip_addr *prev4)
{
	struct probe p = { .fd = -1 };
	struct rv_ctl_msg out;
	char addrs[128];
	int ret = -1;

	p.fd = tcp_connect(argv[2], argv[3]);
	if (p.fd < 0 || rv_tls_conn_new(&p.c, ctx)) {
		goto out;
	}
	if (bring_up(&p, prev4, addrs, sizeof(addrs), false, true)) {
		goto out;
	}
	if (print) {
		printf("cycle %d: %s\n", i, addrs);
	}
	if (i % 2 == 0) {
		memset(&out, 0, sizeof(out));
		out.type = RV_CTL_GOODBYE;
		probe_send(&p, &out);
		rv_tls_conn_close(p.c);
		flush_out(p.c, p.fd);
	} else {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(p.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* RST on close */
	}
	ret = 0;
out:
	rv_tls_conn_free(p.c);
	if (p.fd >= 0) {
		close(p.fd);
	}
	return ret;
}

static struct rv_tls_ctx *client_ctx(char **argv)
{
	struct rv_tls_ctx_params p = {
		.role = RV_TLS_CLIENT,
		.ca_file = argv[4],
		.server_name = argv[5],
		.cert_file = argv[6],
		.key_file = argv[7],
	};
	struct rv_tls_ctx *ctx;
	enum rv_tls_ctx_fail why;
	char err[512];

	if (rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err))) {
		printf("setup: %s\n", err);
		return NULL;
	}
	return ctx;
}

static int do_cycles(int argc, char **argv)
{
	struct rv_tls_ctx *ctx = client_ctx(argv);
	struct rv_ip_addr prev4 = { 0 };
	bool print = false;
	int count = atoi(argv[8]), ok = 0;

	for (int i = 9; i < argc; i++) {
		if (!strcmp(argv[i], "print")) {
			print = true;
		} else if (!strncmp(argv[i], "prev4=", 6) &&
			   inet_pton(AF_INET, argv[i] + 6, prev4.a) == 1) {
			prev4.family = AF_INET;
		} else {
			fprintf(stderr, "rvt_ctl_probe cycles: bad option %s\n", argv[i]);
			return 2;
		}
	}
	if (!ctx) {
		return 2;
	}
	for (int i = 0; i < count; i++) {
		if (one_cycle(ctx, argv, i, print, prev4.family ? &prev4 : NULL) == 0) {
			ok++;
		} else {
			fprintf(stderr, "cycle %d failed\n", i);
		}
	}
	rv_tls_ctx_free(ctx);
	printf("cycles: %d of %d reached a running session\n", ok, count);
	return ok == count ? 0 : 1;
}

/* ---- session: one client with a behaviour after RUNNING ---------------- */

struct session_opts {
	struct rv_ip_addr prev4;
	double hold, gap;
	int rcvbuf;
	bool old_dns; /* announce DNS pushes but not their withdrawal (an older client) */
	int wait_ms;  /* how long each message of the setup may take (0: 3 s) */
	const char *then;
};

/* answer handles one server message while the session runs like a client
 * would: server rekeys are answered, CONFIG updates noted. Returns 0, or -1
 * when the server ended the session (printed). */
static int answer(struct probe *p, const struct rv_ctl_msg *m)
{
	struct rv_ctl_msg out;
	struct rv_x25519 kp = { 0 };

	switch (m->type) {
	case RV_CTL_KEY:
		if (rv_x25519_generate(&kp)) {
			return -1;
		}
		memset(&out, 0, sizeof(out));
		out.type = RV_CTL_KEY_ACK;
		out.key.epoch = m->key.epoch;
		memcpy(out.key.pub, kp.pub, sizeof(kp.pub));
		rv_x25519_cleanup(&kp);
		printf("server rekey: epoch %u\n", m->key.epoch);
		return probe_send(p, &out);
	case RV_CTL_CONFIG:
		printf("config update: %u route(s), keepalive %u s\n", m->config.num_routes,
		       m->config.keepalive_s);
		return 0;
	case RV_CTL_GOODBYE:
	case RV_CTL_ERROR:
		print_end(m);
		return -1;
	default:
		return 0;
	}
}

/* hold_session stays like a client for |secs| (keepalive every second).
 * Returns 0 at the end, -1 when the session ended. */
static int hold_session(struct probe *p, double secs)
{
	double end = now_s() + secs, last_ka = 0;

	while (now_s() < end) {
		struct rv_ctl_msg m;
		int r;

		if (now_s() - last_ka >= 1.0) {
			memset(&m, 0, sizeof(m));
			m.type = RV_CTL_KEEPALIVE;
			if (probe_send(p, &m)) {
				printf("closed: send: %s\n", strerror(errno));
				return -1;
			}
			last_ka = now_s();
		}
		r = probe_next(p, &m, 200);
		if (r < 0) {
			printf("closed: %s\n", p->why);
			return -1;
		}
		if (r == 0 && answer(p, &m)) {
			return -1;
		}
	}
	return 0;
}

/* rekey_flood starts key exchanges back to back (each completed, each after
 * |gap| seconds of waiting) for up to |secs| or until the server ends the
 * session. */
static void rekey_flood(struct probe *p, double secs, double gap)
{
	double t0 = now_s();
	uint32_t epoch = 1;
	unsigned done = 0;
	const char *end = "still connected";

	while (now_s() - t0 < secs) {
		struct rv_ctl_msg m, out;
		struct rv_x25519 kp = { 0 };
		int r;

		if (gap > 0 && hold_session(p, gap)) {
			end = "closed";
			break;
		}
		if (rv_x25519_generate(&kp)) {
			break;
		}
		memset(&out, 0, sizeof(out));
		out.type = RV_CTL_KEY;
		out.key.epoch = epoch + 1;
		memcpy(out.key.pub, kp.pub, sizeof(kp.pub));
		rv_x25519_cleanup(&kp);
		if (probe_send(p, &out)) {
			end = "send failed";
			break;
		}
		/* Wait for our KEY_ACK; anything else the server says first is
		 * answered (or ends the flood). */
		for (;;) {
			r = probe_next(p, &m, 3000);
			if (r != 0 || m.type == RV_CTL_KEY_ACK || answer(p, &m)) {
				break;
			}
		}
		if (r < 0) {
			printf("closed: %s\n", p->why);
			end = "closed";
			break;
		}
		if (r == 1) {
			end = "no KEY_ACK within 3 s";
			break;
		}
		if (m.type != RV_CTL_KEY_ACK) {
			end = "closed";
			break;
		}
		memset(&out, 0, sizeof(out));
		out.type = RV_CTL_KEY_CONFIRM;
		out.confirm_epoch = m.key.epoch;
		if (probe_send(p, &out)) {
			end = "send failed";
			break;
		}
		epoch = m.key.epoch;
		done++;
	}
	printf("rekey-flood: %u exchange(s) in %.2f s, %s\n", done, now_s() - t0, end);
}

/* stall never reads again; it writes a KEEPALIVE every |gap| seconds (0:
 * 200 ms, so that the server never finds it silent) until |secs| pass or the
 * server cuts the connection. */
static void stall(struct probe *p, double secs, double gap)
{
	double t0 = now_s();
	unsigned sent = 0;
	int gap_ms = gap > 0 ? (int)(gap * 1000 + 0.5) : 200;

	while (now_s() - t0 < secs) {
		struct pollfd pfd = { .fd = p->fd, .events = 0 };
		struct rv_ctl_msg m = { .type = RV_CTL_KEEPALIVE };

		if (probe_send(p, &m)) {
			printf("stall: server cut the connection after %.2f s (send: %s), %u "
			       "keepalive(s) sent\n",
			       now_s() - t0, strerror(errno), sent);
			return;
		}
		sent++;
		/* POLLERR / POLLHUP are reported whatever the events asked. */
		if (poll(&pfd, 1, gap_ms) > 0 && (pfd.revents & (POLLERR | POLLHUP))) {
			printf("stall: server cut the connection after %.2f s (%s), %u "
			       "keepalive(s) sent\n",
			       now_s() - t0, pfd.revents & POLLERR ? "reset" : "hang-up", sent);
			return;
		}
	}
	printf("stall: still connected after %.2f s\n", now_s() - t0);
}

static int parse_session_opts(struct session_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	o->then = "goodbye";
	for (int i = 8; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *v = eq ? eq + 1 : "";
		size_t kl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (kl == 5 && !strncmp(argv[i], "prev4", kl)) {
			o->prev4.family = AF_INET;
			if (inet_pton(AF_INET, v, o->prev4.a) != 1) {
				return -1;
			}
		} else if (kl == 4 && !strncmp(argv[i], "hold", kl)) {
			o->hold = atof(v);
		} else if (kl == 3 && !strncmp(argv[i], "gap", kl)) {
			o->gap = atof(v) / 1000;
		} else if (kl == 6 && !strncmp(argv[i], "rcvbuf", kl)) {
			o->rcvbuf = atoi(v);
		} else if (kl == 4 && !strncmp(argv[i], "then", kl)) {
			o->then = v;
		} else if (kl == 7 && !strncmp(argv[i], "old-dns", kl)) {
			o->old_dns = true;
		} else if (kl == 4 && !strncmp(argv[i], "wait", kl)) {
			o->wait_ms = (int)(atof(v) * 1000);
		} else {
			return -1;
		}
	}
	if (strcmp(o->then, "goodbye") && strcmp(o->then, "wait") && strcmp(o->then, "silent") &&
	    strcmp(o->then, "rekey-flood") && strcmp(o->then, "stall") &&
	    strcmp(o->then, "unkeyed") && strcmp(o->then, "badver") && strcmp(o->then, "forge") &&
	    strcmp(o->then, "flap")) {
		return -1;
	}
	return 0;
}

/* hold_unkeyed reads, answering nothing, for |secs| after the server's
 * first KEY. Returns 0 if the connection was still open at the end. */
static int hold_unkeyed(struct probe *p, double secs)
{
	double end = now_s() + secs;

	while (now_s() < end) {
		struct rv_ctl_msg m;
		int r = probe_next(p, &m, 200);

		if (r < 0) {
			printf("closed: %s\n", p->why);
			return 1;
		}
		if (r == 0 && (m.type == RV_CTL_GOODBYE || m.type == RV_CTL_ERROR)) {
			print_end(&m);
			return 1;
		}
	}
	printf("held %.1f s\n", secs);
	return 0;
}

static int do_session(int argc, char **argv)
{
	struct session_opts o;
	struct rv_tls_ctx *ctx;
	struct probe p = { .fd = -1 };
	char addrs[128];
	int ret = 1;

	if (parse_session_opts(&o, argc, argv)) {
		fprintf(stderr, "rvt_ctl_probe session: bad option\n");
		return 2;
	}
	ctx = client_ctx(argv);
	if (!ctx) {
		return 2;
	}
	p.extra_caps = o.old_dns ? RV_CTL_CAP_DNS : 0;
	p.msg_wait_ms = o.wait_ms;
	p.fd = tcp_connect_buf(argv[2], argv[3], o.rcvbuf);
	if (p.fd < 0 || rv_tls_conn_new(&p.c, ctx)) {
		printf("not running: cannot connect: %s\n", strerror(errno));
		goto out;
	}
	if (bring_up(&p, &o.prev4, addrs, sizeof(addrs), true, strcmp(o.then, "unkeyed") != 0)) {
		goto out;
	}
	if (!strcmp(o.then, "unkeyed")) {
		printf("assigned %s\nunkeyed\n", addrs);
		ret = hold_unkeyed(&p, o.hold);
		goto out;
	}
	printf("assigned %s\nrunning\n", addrs);
	ret = 0;
	if (!strcmp(o.then, "rekey-flood")) {
		rekey_flood(&p, o.hold, o.gap);
	} else if (!strcmp(o.then, "stall")) {
		stall(&p, o.hold, o.gap);
	} else {
		if (!strcmp(o.then, "silent")) {
			struct rv_ctl_msg m = { .type = RV_CTL_DATA_STATUS };

			m.data_status.silent = 1;
			m.data_status.seconds = UINT32_MAX;
			probe_send(&p, &m);
		}
		if (!strcmp(o.then, "flap")) {
			for (int i = 0; i < 4; i++) {
				struct rv_ctl_msg m = { .type = RV_CTL_DATA_STATUS };

				m.data_status.silent = i % 2 == 0;
				m.data_status.seconds = i % 2 == 0;
				probe_send(&p, &m);
			}
		}
		if (!strcmp(o.then, "forge")) {
			send_forged(p.fd);
		}
		if (!strcmp(o.then, "badver")) {
			static const uint8_t frame[RV_CTL_HDR_LEN] = { 2, RV_CTL_KEEPALIVE, 0, 0 };

			if (rv_tls_conn_write(p.c, frame, sizeof(frame)) == 0) {
				flush_out(p.c, p.fd);
			}
		}
		if (hold_session(&p, o.hold) != 0) {
			goto out;
		}
		if (!strcmp(o.then, "goodbye")) {
			struct rv_ctl_msg m = { .type = RV_CTL_GOODBYE };

			probe_send(&p, &m);
			rv_tls_conn_close(p.c);
			flush_out(p.c, p.fd);
			printf("left with GOODBYE\n");
		} else {
			printf("held %.1f s\n", o.hold);
		}
	}
out:
	rv_tls_conn_free(p.c);
	rv_tls_ctx_free(ctx);
	if (p.fd >= 0) {
		close(p.fd);
	}
	return ret;
}

/* ---- floods ------------------------------------------------------------- */

static int do_flood(char **argv)
{
	int count = atoi(argv[4]), secs = atoi(argv[5]), ok = 0;
	struct rlimit rl = { .rlim_cur = (rlim_t)count + 64, .rlim_max = (rlim_t)count + 64 };
	int *fds = calloc((size_t)count, sizeof(int));

	setrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 0; i < count && fds; i++) {
		fds[i] = tcp_connect(argv[2], argv[3]);
		if (fds[i] >= 0) {
			/* First byte of a TLS record header: a handshake that never
			 * completes. */
			send(fds[i], "\x16", 1, MSG_NOSIGNAL);
			ok++;
		}
	}
	printf("flood: %d of %d connections established\n", ok, count);
	fflush(stdout);
	sleep((unsigned)secs);
	for (int i = 0; i < count && fds; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	free(fds);
	return ok > 0 ? 0 : 1;
}

/* do_flood_rate opens |rate| connections per second, in 10 ms steps, and
 * closes each 2 s after it opened (a ring of fds). */
static int do_flood_rate(char **argv)
{
	enum { HOLD_S = 2 };
	int rate = atoi(argv[4]), secs = atoi(argv[5]);
	size_t cap = (size_t)rate * HOLD_S + 2 * (size_t)rate / 100 + 16, head = 0, n = 0;
	struct rlimit rl = { .rlim_cur = (rlim_t)cap + 64, .rlim_max = (rlim_t)cap + 64 };
	int *fds = calloc(cap, sizeof(int));
	double t0 = now_s(), end = t0 + secs;
	long tried = 0, ok = 0;

	if (!fds || rate <= 0 || secs <= 0) {
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	while (now_s() < end) {
		double step = now_s();
		long due = (long)((step - t0) * rate) + 1;

		for (; tried < due; tried++) {
			int fd = tcp_connect(argv[2], argv[3]);

			if (n == cap) { /* the oldest goes */
				close(fds[head]);
				head = (head + 1) % cap;
				n--;
			}
			if (fd >= 0) {
				fds[(head + n++) % cap] = fd;
				ok++;
			}
		}
		while (n > (size_t)rate * HOLD_S) {
			close(fds[head]);
			head = (head + 1) % cap;
			n--;
		}
		usleep(10000);
	}
	for (; n > 0; n--, head = (head + 1) % cap) {
		close(fds[head]);
	}
	free(fds);
	printf("flood-rate: %ld of %ld connections established in %.1f s (%.0f/s)\n", ok, tried,
	       now_s() - t0, ok / (now_s() - t0));
	return ok > 0 ? 0 : 1;
}

/* hold_open opens one non-blocking connection from |src| to |dst| and
 * watches it for its end: the fd, or -1. */
static int hold_open(int ep, const struct sockaddr_in *src, const struct sockaddr_in *dst,
		     uint32_t tag, bool say)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* EPOLLOUT once: connected, the bytes go (then EPOLLIN alone). */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (say ? EPOLLOUT : 0) };

	if (fd < 0) {
		return -1;
	}
	ev.data.u64 = (uint64_t)tag << 32 | (uint32_t)fd;
	if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) != 0 ||
	    (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) != 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static volatile sig_atomic_t hold_stop;

static void on_hold_term(int sig)
{
	(void)sig;
	hold_stop = 1;
}

/* do_flood_hold keeps |per| silent connections open from each of |nsrc|
 * sources, reopening each one the server closes (a distributed slowloris:
 * every source within max_handshaking_per_source, together far over
 * max_handshaking). */
static int do_flood_hold(char **argv)
{
	/* No SA_RESTART: epoll_wait returns at once. */
	struct sigaction sa = { .sa_handler = on_hold_term };
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	int nsrc = atoi(argv[5]), per = atoi(argv[6]), secs = atoi(argv[7]), ep;
	int nbytes = argv[8] ? atoi(argv[8]) : 0;
	/* a handshake record of 1 byte: a ClientHello's type */
	static const uint8_t header[6] = { 0x16, 0x03, 0x01, 0x00, 0x01, 0x01 };
	struct rlimit rl = { .rlim_cur = 65536, .rlim_max = 65536 };
	struct epoll_event evs[256];
	uint32_t first;
	int *open_per;
	long connects = 0, closed = 0;
	double t0 = now_s(), end = t0 + secs;

	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[4], &src.sin_addr) != 1 || nsrc <= 0 || per <= 0 || secs <= 0 ||
	    nbytes < 0 || nbytes > 6) {
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[3]));
	first = ntohl(src.sin_addr.s_addr);
	setrlimit(RLIMIT_NOFILE, &rl);
	ep = epoll_create1(EPOLL_CLOEXEC);
	open_per = calloc((size_t)nsrc, sizeof(int));
	if (ep < 0 || !open_per || sigaction(SIGTERM, &sa, NULL) != 0) {
		return 2;
	}
	while (now_s() < end && !hold_stop) {
		int n;

		for (int i = 0; i < nsrc; i++) {
			src.sin_addr.s_addr = htonl(first + (uint32_t)i);
			while (open_per[i] < per &&
			       hold_open(ep, &src, &dst, (uint32_t)i, nbytes > 0) >= 0) {
				open_per[i]++;
				connects++;
			}
		}
		n = epoll_wait(ep, evs, 256, 10);
		for (int k = 0; k < n; k++) {
			int fd = (int)(uint32_t)evs[k].data.u64;
			uint32_t i = (uint32_t)(evs[k].data.u64 >> 32);
			char b[64];

			if ((evs[k].events & EPOLLOUT) &&
			    !(evs[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
							  .data = evs[k].data };

				(void)send(fd, header, (size_t)nbytes, MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
				continue;
			}

			if (!(evs[k].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
			    recv(fd, b, sizeof(b), MSG_DONTWAIT) != 0) {
				continue; /* the server said something: still open */
			}
			close(fd);
			open_per[i]--;
			closed++;
		}
	}
	t0 = now_s() - t0; /* now the seconds it held */
	printf("flood-hold: %ld connects in %.1f s (%.0f/s), %ld closed by the server%s\n",
	       connects, t0, connects / t0, closed, hold_stop ? " (ended by SIGTERM)" : "");
	free(open_per);
	close(ep);
	return connects > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	/* Tests read the output while the probe runs. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 6 && !strcmp(argv[1], "hello")) {
		return do_hello(argc, argv);
	}
	if (argc >= 9 && argc <= 11 && !strcmp(argv[1], "cycles")) {
		return do_cycles(argc, argv);
	}
	if (argc == 6 && !strcmp(argv[1], "flood")) {
		return do_flood(argv);
	}
	if (argc == 6 && !strcmp(argv[1], "flood-rate")) {
		return do_flood_rate(argv);
	}
	if ((argc == 8 || argc == 9) && !strcmp(argv[1], "flood-hold")) {
		return do_flood_hold(argv);
	}
	if (argc >= 8 && !strcmp(argv[1], "session")) {
		return do_session(argc, argv);
	}
	fprintf(stderr, "usage: rvt_ctl_probe hello HOST PORT CA NAME [CERT KEY [HOLD]]\n"
			"       rvt_ctl_probe cycles HOST PORT CA NAME CERT KEY COUNT [print] "
			"[prev4=A]\n"
			"       rvt_ctl_probe flood HOST PORT COUNT SECONDS\n"
			"       rvt_ctl_probe flood-rate HOST PORT RATE SECONDS\n"
			"       rvt_ctl_probe flood-hold HOST PORT SRC NSRC PER SECONDS [NBYTES]\n"
			"       rvt_ctl_probe session HOST PORT CA NAME CERT KEY [prev4=A] "
			"[hold=S] [gap=MS] [rcvbuf=N] [wait=S]\n"
			"                     [then=goodbye|wait|rekey-flood|stall]\n");
	return 2;
}
