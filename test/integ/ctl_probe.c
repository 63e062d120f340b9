/*
 * ctl_probe.c — a raw control-port client for the control-plane tests
 * (built as rvt_ctl_probe).
 *
 *   rvt_ctl_probe hello HOST PORT CA NAME [CERT KEY]
 *       TLS handshake (with the client certificate, or none), then wait for
 *       the server's first control message. Prints "authenticated" and exits
 *       0 if a HELLO arrives, else prints "refused: <reason>" and exits 1.
 *   rvt_ctl_probe cycles HOST PORT CA NAME CERT KEY COUNT
 *       COUNT times: connect, authenticate, complete the control exchange up
 *       to a running session (HELLO, CONFIG, KEY(1) -> KEY_ACK, KEY_CONFIRM),
 *       then leave: even cycles with GOODBYE, odd ones with a TCP reset.
 *       Exits 0 if every cycle reached a running session.
 *   rvt_ctl_probe flood HOST PORT COUNT SECONDS
 *       opens COUNT TCP connections that never finish a TLS handshake (each
 *       sends one byte of a record header), holds them SECONDS, closes them.
 *       Prints how many connections were established.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/ctlmsg.h"
#include "crypto/dh.h"
#include "tls/conn.h"
#include "tls/ctx.h"

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd;

	if (getaddrinfo(host, port, &hints, &res)) {
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
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
};

/* probe_msg waits up to 3 s for the next control message. */
static int probe_msg(struct probe *p, struct rv_ctl_msg *m)
{
	uint8_t buf[16384];

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		size_t flen, got;
		ssize_t n;

		if (rv_ctl_frame_len(p->pt, p->plen, &flen) == RV_CTL_OK) {
			int ok = rv_ctl_decode(m, p->pt, flen) == RV_CTL_OK;

			memmove(p->pt, p->pt + flen, p->plen - flen);
			p->plen -= flen;
			return ok ? 0 : -1;
		}
		if (rv_tls_conn_handshake_done(p->c)) {
			enum rv_tls_status st = rv_tls_conn_read(p->c, p->pt + p->plen,
								 sizeof(p->pt) - p->plen, &got);
			if (st == RV_TLS_OK) {
				p->plen += got;
				continue;
			}
			if (st != RV_TLS_WANT_READ) {
				return -1;
			}
		} else {
			enum rv_tls_status st = rv_tls_conn_handshake(p->c);

			if (st == RV_TLS_ERROR) {
				flush_out(p->c, p->fd);
				return -1;
			}
			if (flush_out(p->c, p->fd)) {
				return -1;
			}
			if (st == RV_TLS_OK) {
				continue;
			}
		}
		if (poll(&pfd, 1, 3000) <= 0) {
			return -1;
		}
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			return -1;
		}
		rv_tls_conn_feed(p->c, buf, (size_t)n);
	}
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

/* one_cycle runs one connect .. running session .. leave cycle. */
static int one_cycle(struct rv_tls_ctx *ctx, char **argv, int i)
{
	struct probe p = { .fd = -1 };
	struct rv_ctl_msg m, out;
	struct rv_x25519 kp = { 0 };
	int ret = -1;

	p.fd = tcp_connect(argv[2], argv[3]);
	if (p.fd < 0 || rv_tls_conn_new(&p.c, ctx)) {
		goto out;
	}
	memset(&out, 0, sizeof(out));
	out.type = RV_CTL_HELLO;
	out.hello.max_ver = out.hello.min_ver = 1;
	out.hello.caps = RV_CTL_CAP_IPV6;
	if (probe_msg(&p, &m) || m.type != RV_CTL_HELLO || probe_send(&p, &out) ||
	    probe_msg(&p, &m) || m.type != RV_CTL_CONFIG || probe_msg(&p, &m) ||
	    m.type != RV_CTL_KEY || rv_x25519_generate(&kp)) {
		goto out;
	}
	out.type = RV_CTL_KEY_ACK;
	out.key.epoch = m.key.epoch;
	memcpy(out.key.pub, kp.pub, sizeof(kp.pub));
	if (probe_send(&p, &out) || probe_msg(&p, &m) || m.type != RV_CTL_KEY_CONFIRM) {
		goto out;
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
	rv_x25519_cleanup(&kp);
	rv_tls_conn_free(p.c);
	if (p.fd >= 0) {
		close(p.fd);
	}
	return ret;
}

static int do_cycles(char **argv)
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
	int count = atoi(argv[8]), ok = 0;

	if (rv_tls_ctx_new(&ctx, &p, &why, err, sizeof(err))) {
		printf("setup: %s\n", err);
		return 2;
	}
	for (int i = 0; i < count; i++) {
		if (one_cycle(ctx, argv, i) == 0) {
			ok++;
		} else {
			fprintf(stderr, "cycle %d failed\n", i);
		}
	}
	rv_tls_ctx_free(ctx);
	printf("cycles: %d of %d reached a running session\n", ok, count);
	return ok == count ? 0 : 1;
}

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

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "hello")) {
		return do_hello(argc, argv);
	}
	if (argc == 9 && !strcmp(argv[1], "cycles")) {
		return do_cycles(argv);
	}
	if (argc == 6 && !strcmp(argv[1], "flood")) {
		return do_flood(argv);
	}
	fprintf(stderr, "usage: rvt_ctl_probe hello HOST PORT CA NAME [CERT KEY]\n"
			"       rvt_ctl_probe cycles HOST PORT CA NAME CERT KEY COUNT\n"
			"       rvt_ctl_probe flood HOST PORT COUNT SECONDS\n");
	return 2;
}
