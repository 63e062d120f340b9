/*
 * test_uring_holder.c — who holds a port (uring/holder.c): child processes
 * keep UDP and TCP sockets on loopback and the parent asks, as a start
 * whose bind failed would. The holder is named by PID, command and its
 * own uid; a socket on the same port of another address is not one that
 * stops a bind there and is not named; a listener is found on IPv6 and
 * dual-stack, from an IPv4 or a wildcard question; of two sockets the one
 * on the very address is named before an IPv6 wildcard that may be
 * IPV6_V6ONLY, and a listener before a TCP connection, which is named
 * when it is alone; a socket of this process is said as its own; a free
 * port has no holder.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uring/holder.h"

enum { KIDS_MAX = 4 };

static pid_t kids[KIDS_MAX];
static unsigned nkids;

static void stop_kids(void)
{
	for (unsigned i = 0; i < nkids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	nkids = 0;
}

TestSuite(holder, .fini = stop_kids);

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	cr_assert_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return sa;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	cr_assert_eq(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	return sa;
}

/* bound opens a |type| socket bound to |sa| (port 0: the kernel's pick),
 * IPv6 ones IPV6_V6ONLY as |v6only| says, listening for TCP; returns it
 * and writes its port into |*port|. */
static int bound(int type, const struct sockaddr *sa, socklen_t len, bool v6only, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, only = v6only, fd = socket(sa->sa_family, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
	}
	cr_assert_eq(bind(fd, sa, len), 0, "bind: %s", strerror(errno));
	if (type == SOCK_STREAM) {
		cr_assert_eq(listen(fd, 1), 0);
	}
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* hand_over forks a child that keeps descriptor |fd| alone of those this
 * process has open and sleeps; this process then closes |fd|, once the
 * child has closed the others (a copy of another socket there, not yet
 * closed, made it that socket's holder too). Returns the child. */
static pid_t hand_over(int fd)
{
	int ready[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (int i = 3; i < 1024; i++) {
			if (i != fd && i != ready[1]) {
				close(i);
			}
		}
		(void)!write(ready[1], "x", 1);
		close(ready[1]);
		for (;;) {
			pause();
		}
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(fd);
	cr_assert_lt(nkids, KIDS_MAX);
	kids[nkids++] = pid;
	return pid;
}

static void expect_named(pid_t who, int proto, const struct sockaddr *sa)
{
	char out[256], want[96];

	cr_assert(rv_port_holder(proto, sa, out, sizeof(out)), "no holder found");
	snprintf(want, sizeof(want), "process %ld (", (long)who);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "said: %s", out);
	snprintf(want, sizeof(want), ") of uid %u", (unsigned)geteuid());
	cr_assert(strstr(out, want) != NULL, "said: %s", out);
}

Test(holder, udp_on_loopback)
{
	struct sockaddr_in a = v4("127.0.0.1", 0), other, wild;
	uint16_t port;
	pid_t kid = hand_over(bound(SOCK_DGRAM, (struct sockaddr *)&a, sizeof(a), false, &port));
	char out[256];

	a.sin_port = htons(port);
	wild = v4("0.0.0.0", port);
	other = v4("127.0.0.2", port);
	expect_named(kid, IPPROTO_UDP, (struct sockaddr *)&a);
	expect_named(kid, IPPROTO_UDP, (struct sockaddr *)&wild);
	cr_assert_not(rv_port_holder(IPPROTO_UDP, (struct sockaddr *)&other, out, sizeof(out)),
		      "said: %s", out);
	cr_assert_eq(out[0], '\0');
	/* Another protocol's port of that number is free. */
	cr_assert_not(rv_port_holder(IPPROTO_TCP, (struct sockaddr *)&a, out, sizeof(out)),
		      "said: %s", out);
}

Test(holder, tcp_dual_stack_listener)
{
	struct sockaddr_in6 any = v6("::", 0), six;
	struct sockaddr_in four;
	uint16_t port;
	pid_t kid =
		hand_over(bound(SOCK_STREAM, (struct sockaddr *)&any, sizeof(any), false, &port));

	four = v4("127.0.0.1", port);
	six = v6("::1", port);
	expect_named(kid, IPPROTO_TCP, (struct sockaddr *)&four);
	expect_named(kid, IPPROTO_TCP, (struct sockaddr *)&six);
}

/* An IPV6_V6ONLY [::] listener (which does not stop a bind to 127.0.0.1)
 * beside the real holder on 127.0.0.1: the real one is named, whichever
 * /proc lists first; so is ::1's beside 0.0.0.0's for a bind to ::1. */
Test(holder, exact_address_before_a_wildcard)
{
	struct sockaddr_in6 any = v6("::", 0), one6;
	struct sockaddr_in lo, any4;
	uint16_t port, p2;
	pid_t wild, real;

	wild = hand_over(bound(SOCK_STREAM, (struct sockaddr *)&any, sizeof(any), true, &port));
	lo = v4("127.0.0.1", port);
	real = hand_over(bound(SOCK_STREAM, (struct sockaddr *)&lo, sizeof(lo), false, &port));
	cr_assert_neq(wild, real);
	expect_named(real, IPPROTO_TCP, (struct sockaddr *)&lo);

	any4 = v4("0.0.0.0", 0);
	wild = hand_over(bound(SOCK_STREAM, (struct sockaddr *)&any4, sizeof(any4), false, &p2));
	one6 = v6("::1", p2);
	real = hand_over(bound(SOCK_STREAM, (struct sockaddr *)&one6, sizeof(one6), true, &p2));
	expect_named(real, IPPROTO_TCP, (struct sockaddr *)&one6);
}

/* A connection keeps the port's number: named only when no listener has
 * the port (a connection without SO_REUSEADDR keeps a bind from it). */
Test(holder, tcp_connection_after_a_listener)
{
	struct sockaddr_in a = v4("127.0.0.1", 0);
	uint16_t port;
	int lfd = bound(SOCK_STREAM, (struct sockaddr *)&a, sizeof(a), false, &port);
	int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), afd;
	pid_t conn, listener;

	a.sin_port = htons(port);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0);
	conn = hand_over(afd);
	listener = hand_over(lfd);
	expect_named(listener, IPPROTO_TCP, (struct sockaddr *)&a);
	kill(listener, SIGKILL);
	waitpid(listener, NULL, 0);
	nkids--;
	expect_named(conn, IPPROTO_TCP, (struct sockaddr *)&a);
	close(cfd);
}

Test(holder, udp6_specific_address)
{
	struct sockaddr_in6 a = v6("::1", 0), other;
	uint16_t port;
	pid_t kid = hand_over(bound(SOCK_DGRAM, (struct sockaddr *)&a, sizeof(a), true, &port));
	char out[256];

	a.sin6_port = htons(port);
	other = v6("fe80::1", port);
	expect_named(kid, IPPROTO_UDP, (struct sockaddr *)&a);
	cr_assert_not(rv_port_holder(IPPROTO_UDP, (struct sockaddr *)&other, out, sizeof(out)),
		      "said: %s", out);
}

/* This process's own socket (metrics_listen on the control port): said
 * as its own, not as a hidden process's. */
Test(holder, own_socket)
{
	struct sockaddr_in a = v4("127.0.0.1", 0);
	uint16_t port;
	int fd = bound(SOCK_STREAM, (struct sockaddr *)&a, sizeof(a), false, &port);
	char out[256];

	a.sin_port = htons(port);
	cr_assert(rv_port_holder(IPPROTO_TCP, (struct sockaddr *)&a, out, sizeof(out)));
	cr_assert_eq(strncmp(out, "this process itself", 19), 0, "said: %s", out);
	close(fd);
}

/* An IPV6_V6ONLY [::] listener, which the kernel's socket diagnostics say
 * is one, is no holder of an IPv4 address: a connection bound to that
 * address and port is named (the listener was: round-sixty-six tester
 * 284). */
Test(holder, v6only_wildcard_is_no_holder_of_ipv4)
{
	struct sockaddr_in6 any = v6("::", 0);
	struct sockaddr_in lo, peer = v4("127.0.0.1", 0);
	uint16_t port, pport;
	int cfd, lfd;
	pid_t wild, conn;

	/* The IPv6 port the kernel chose may be another program's on
	 * 127.0.0.1 (a busy machine's): another is taken then. */
	for (int tries = 0;; tries++) {
		int wfd = bound(SOCK_STREAM, (struct sockaddr *)&any, sizeof(any), true, &port);

		lo = v4("127.0.0.1", port);
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(cfd, 0);
		if (bind(cfd, (struct sockaddr *)&lo, sizeof(lo)) == 0) {
			wild = hand_over(wfd);
			break;
		}
		cr_assert(errno == EADDRINUSE && tries < 20, "bind: %s", strerror(errno));
		close(cfd);
		close(wfd);
	}
	lfd = bound(SOCK_STREAM, (struct sockaddr *)&peer, sizeof(peer), false, &pport);
	peer.sin_port = htons(pport);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&peer, sizeof(peer)), 0);
	conn = hand_over(cfd);
	cr_assert_neq(wild, conn);
	expect_named(conn, IPPROTO_TCP, (struct sockaddr *)&lo);
	close(lfd);
}

/* A port kept by a closed connection in TIME_WAIT (no process holds it):
 * said as that, not left unnamed (round-sixty-six tester 286). */
Test(holder, time_wait)
{
	struct sockaddr_in lo = v4("127.0.0.1", 0), peer = v4("127.0.0.1", 0);
	uint16_t pport;
	int lfd = bound(SOCK_STREAM, (struct sockaddr *)&peer, sizeof(peer), false, &pport);
	int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), afd;
	struct sockaddr_in mine;
	socklen_t ml = sizeof(mine);
	char out[256], buf[8];

	peer.sin_port = htons(pport);
	cr_assert_geq(cfd, 0);
	cr_assert_eq(bind(cfd, (struct sockaddr *)&lo, sizeof(lo)), 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&peer, sizeof(peer)), 0);
	cr_assert_eq(getsockname(cfd, (struct sockaddr *)&mine, &ml), 0);
	afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0);
	close(cfd); /* the first to close keeps TIME_WAIT */
	cr_assert_eq(read(afd, buf, sizeof(buf)), 0);
	close(afd);
	close(lfd);
	usleep(100 * 1000);
	cr_assert(rv_port_holder(IPPROTO_TCP, (struct sockaddr *)&mine, out, sizeof(out)));
	cr_assert(strstr(out, "TIME_WAIT") != NULL, "said: %s", out);
}
