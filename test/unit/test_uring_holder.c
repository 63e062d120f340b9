/*
 * test_uring_holder.c — who holds a port (uring/holder.c): a child process
 * binds UDP and TCP sockets on loopback and the parent asks. The holder is
 * named by PID, command and uid; a socket on the same port of another
 * address is not one that stops a bind there and is not named; a listener is found on IPv6 and dual-stack,
 * from an IPv4 or a wildcard question; a TCP connection's socket alone
 * does not count; a free port has no holder.
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

static pid_t child = -1;

static void stop_child(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
}

TestSuite(holder, .fini = stop_child);

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

/* bound opens a |type| socket bound to |sa| (port 0: the kernel's pick)
 * and listening for TCP; returns it and writes its port into |*port|. */
static int bound(int type, const struct sockaddr *sa, socklen_t len, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, zero = 0, fd = socket(sa->sa_family, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
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

/* hand_over forks a child that keeps every descriptor this process has
 * open and sleeps; this process then closes |fds| (|n| of them), so that
 * the child alone holds them. */
static void hand_over(const int *fds, size_t n)
{
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		for (;;) {
			pause();
		}
	}
	for (size_t i = 0; i < n; i++) {
		close(fds[i]);
	}
}

static void expect_child(int proto, const struct sockaddr *sa)
{
	char out[256], want[96];

	cr_assert(rv_port_holder(proto, sa, out, sizeof(out)), "no holder found");
	snprintf(want, sizeof(want), "process %ld (", (long)child);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "said: %s", out);
	snprintf(want, sizeof(want), "), uid %u", (unsigned)getuid());
	cr_assert(strstr(out, want) != NULL, "said: %s", out);
}

Test(holder, udp_on_loopback)
{
	struct sockaddr_in a = v4("127.0.0.1", 0), other, wild;
	uint16_t port;
	int fd = bound(SOCK_DGRAM, (struct sockaddr *)&a, sizeof(a), &port);
	char out[256];

	a.sin_port = htons(port);
	wild = v4("0.0.0.0", port);
	other = v4("127.0.0.2", port);
	hand_over(&fd, 1);
	expect_child(IPPROTO_UDP, (struct sockaddr *)&a);
	expect_child(IPPROTO_UDP, (struct sockaddr *)&wild);
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
	int fd = bound(SOCK_STREAM, (struct sockaddr *)&any, sizeof(any), &port);

	four = v4("127.0.0.1", port);
	six = v6("::1", port);
	hand_over(&fd, 1);
	expect_child(IPPROTO_TCP, (struct sockaddr *)&four);
	expect_child(IPPROTO_TCP, (struct sockaddr *)&six);
}

Test(holder, tcp_connection_is_no_holder)
{
	struct sockaddr_in a = v4("127.0.0.1", 0);
	uint16_t port, cport;
	int lfd = bound(SOCK_STREAM, (struct sockaddr *)&a, sizeof(a), &port);
	int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), afd;
	struct sockaddr_in ca;
	socklen_t cl = sizeof(ca);
	char out[256];

	a.sin_port = htons(port);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0);
	close(lfd);
	cr_assert_eq(getsockname(cfd, (struct sockaddr *)&ca, &cl), 0);
	cport = ntohs(ca.sin_port);
	{
		int fds[] = { afd, cfd };

		hand_over(fds, 2);
	}
	/* The accepted connection keeps the port's number, not the port. */
	cr_assert_not(rv_port_holder(IPPROTO_TCP, (struct sockaddr *)&a, out, sizeof(out)),
		      "said: %s", out);
	a.sin_port = htons(cport);
	cr_assert_not(rv_port_holder(IPPROTO_TCP, (struct sockaddr *)&a, out, sizeof(out)),
		      "said: %s", out);
}

Test(holder, udp6_specific_address)
{
	struct sockaddr_in6 a = v6("::1", 0), other;
	uint16_t port;
	int fd = bound(SOCK_DGRAM, (struct sockaddr *)&a, sizeof(a), &port);
	char out[256];

	a.sin6_port = htons(port);
	other = v6("fe80::1", port);
	hand_over(&fd, 1);
	expect_child(IPPROTO_UDP, (struct sockaddr *)&a);
	cr_assert_not(rv_port_holder(IPPROTO_UDP, (struct sockaddr *)&other, out, sizeof(out)),
		      "said: %s", out);
}
