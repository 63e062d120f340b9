/*
 * test_uring_ring.c — ring setup with SINGLE_ISSUER|DEFER_TASKRUN (or its
 * fallback), rv_ring_get_sqe flushing a full SQ, the UDP socket helpers
 * (dual-stack endpoint canonicalisation, UDP_SEGMENT cmsg, ephemeral ports
 * that no other socket shares, the socket group's steering program with
 * pinned sessions) and user_data packing.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/wire.h"
#include "uring/compat.h"
#include "uring/ring.h"
#include "uring/sock.h"
#include "uring/udata.h"

Test(ring, setup_and_full_sq, .timeout = 10)
{
	struct rv_ring r;
	int ret, done = 0;

	memset(&r, 0, sizeof(r));
	ret = rv_ring_init(&r, 4, true);
	if (ret < 0) {
		cr_skip_test("io_uring unavailable: %s", strerror(-ret));
	}
	cr_assert(r.ready);
	/* 10 NOPs through a 4-entry SQ: get_sqe must flush instead of failing. */
	for (int i = 0; i < 10; i++) {
		struct io_uring_sqe *sqe = rv_ring_get_sqe(&r);
		cr_assert_not_null(sqe, "sqe %d", i);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, rv_udata(RV_OP_WAKE, 3, (uint32_t)i));
	}
	while (done < 10) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		cr_assert(io_uring_submit_and_wait(&r.ring, 1) >= 0);
		io_uring_for_each_cqe(&r.ring, head, cqe)
		{
			cr_assert_eq(rv_udata_op(cqe->user_data), RV_OP_WAKE);
			cr_assert_eq(rv_udata_owner(cqe->user_data), 3);
			n++;
		}
		io_uring_cq_advance(&r.ring, n);
		done += (int)n;
	}
	cr_assert_eq(done, 10);
	rv_ring_cleanup(&r);
	cr_assert_not(r.ready);
	rv_ring_cleanup(&r); /* zero state */
}

Test(udata, packing)
{
	uint64_t ud = rv_udata(RV_OP_TUN_WRITE, 255, 0xfedcba98u);

	cr_assert_eq(rv_udata_op(ud), RV_OP_TUN_WRITE);
	cr_assert_eq(rv_udata_owner(ud), 255);
	cr_assert_eq(rv_udata_idx(ud), 0xfedcba98u);
}

Test(sock, canon_and_dest)
{
	struct sockaddr_in6 m;
	struct rv_endpoint ep;
	struct sockaddr_in6 out;

	memset(&m, 0, sizeof(m));
	m.sin6_family = AF_INET6;
	m.sin6_port = htons(4242);
	inet_pton(AF_INET6, "::ffff:10.77.0.2", &m.sin6_addr);
	cr_assert(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, sizeof(m)));
	cr_assert_eq(ep.sa.sa_family, AF_INET, "v4-mapped folds to AF_INET");
	cr_assert_eq(ep.in4.sin_port, htons(4242));
	cr_assert_eq(ep.in4.sin_addr.s_addr, inet_addr("10.77.0.2"));
	/* Back to a v6 socket: mapped again; to a v4 socket: plain. */
	cr_assert_eq(rv_sock_dest(&out, &ep, true), sizeof(struct sockaddr_in6));
	cr_assert(memcmp(&out.sin6_addr, &m.sin6_addr, 16) == 0);
	cr_assert_eq(rv_sock_dest(&out, &ep, false), sizeof(struct sockaddr_in));
	/* A real IPv6 peer cannot be reached from a v4 socket. */
	inet_pton(AF_INET6, "fd00:77::2", &m.sin6_addr);
	cr_assert(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, sizeof(m)));
	cr_assert_eq(ep.sa.sa_family, AF_INET6);
	cr_assert_eq(rv_sock_dest(&out, &ep, false), 0);
	cr_assert_not(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, 8), "short address");
	/* No answer can go to port 0, nor to an unspecified, multicast or
	 * broadcast source: refused (port 0 was followed: round-eleven
	 * tester 50). */
	m.sin6_port = 0;
	cr_assert_not(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, sizeof(m)), "port 0");
	m.sin6_port = htons(4242);
	inet_pton(AF_INET6, "ff02::1", &m.sin6_addr);
	cr_assert_not(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, sizeof(m)), "multicast");
	inet_pton(AF_INET6, "::", &m.sin6_addr);
	cr_assert_not(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, sizeof(m)), "::");
	for (unsigned i = 0; i < 4; i++) {
		static const char *const bad[] = { "::ffff:0.0.0.0", "::ffff:255.255.255.255",
						   "::ffff:224.0.0.1", "::ffff:10.77.0.2" };

		inet_pton(AF_INET6, bad[i], &m.sin6_addr);
		m.sin6_port = i == 3 ? 0 : htons(4242);
		cr_assert_not(rv_sock_canon_endpoint(&ep, (struct sockaddr *)&m, sizeof(m)), "%s",
			      bad[i]);
	}
	memset(&ep, 0, sizeof(ep));
	cr_assert_eq(rv_sock_dest(&out, &ep, true), 0, "unknown endpoint");
}

/* The send's control data: UDP_SEGMENT, the outer ECN field (IP_TOS to an
 * IPv4 or v4-mapped destination, IPV6_TCLASS to IPv6), both, or none; and
 * rv_cmsg_ecn reads back what it wrote. */
Test(sock, send_cmsg_and_reuseport)
{
	struct sockaddr_in6 v4m = { .sin6_family = AF_INET6 }, v6 = { .sin6_family = AF_INET6 };
	struct msghdr msg;
	struct {
		_Alignas(struct cmsghdr) uint8_t buf[RV_CMSG_SEND_SPACE];
	} cm;
	struct cmsghdr *c;
	uint16_t v;
	int fd1, fd2;

	inet_pton(AF_INET6, "::ffff:10.0.0.1", &v4m.sin6_addr);
	inet_pton(AF_INET6, "fd00:77::2", &v6.sin6_addr);
	memset(&msg, 0, sizeof(msg));
	rv_cmsg_put_send(&msg, cm.buf, 1452, 0, &v4m, NULL);
	c = CMSG_FIRSTHDR(&msg);
	cr_assert_not_null(c);
	cr_assert_eq(c->cmsg_level, SOL_UDP);
	cr_assert_eq(c->cmsg_type, UDP_SEGMENT);
	memcpy(&v, CMSG_DATA(c), sizeof(v));
	cr_assert_eq(v, 1452);
	cr_assert_null(CMSG_NXTHDR(&msg, c));
	cr_assert_eq(rv_cmsg_ecn(c), -1);

	rv_cmsg_put_send(&msg, cm.buf, 1452, 3, &v4m, NULL);
	c = CMSG_NXTHDR(&msg, CMSG_FIRSTHDR(&msg));
	cr_assert_not_null(c);
	cr_assert_eq(c->cmsg_level, SOL_IP);
	cr_assert_eq(c->cmsg_type, IP_TOS);
	cr_assert_eq(rv_cmsg_ecn(c), 3);
	cr_assert_eq(msg.msg_controllen, RV_CMSG_SEGMENT_SPACE + RV_CMSG_TOS_SPACE);

	rv_cmsg_put_send(&msg, cm.buf, 0, 2, &v6, NULL);
	c = CMSG_FIRSTHDR(&msg);
	cr_assert_not_null(c);
	cr_assert_eq(c->cmsg_level, SOL_IPV6);
	cr_assert_eq(c->cmsg_type, IPV6_TCLASS);
	cr_assert_eq(rv_cmsg_ecn(c), 2);
	cr_assert_null(CMSG_NXTHDR(&msg, c));

	rv_cmsg_put_send(&msg, cm.buf, 0, 0, &v6, NULL);
	cr_assert_null(msg.msg_control);
	cr_assert_eq(msg.msg_controllen, 0);

	/* Two sockets on one port (SO_REUSEPORT), dual-stack. */
	cr_assert_eq(rv_udp_open(0, true, &fd1), 0);
	uint16_t port = rv_udp_port(fd1);
	cr_assert_neq(port, 0);
	cr_assert_eq(rv_udp_open(port, true, &fd2), 0);
	cr_assert_eq(rv_udp_port(fd2), port);
	if (rv_udp_gso_supported(fd1)) {
		cr_assert_eq(rv_udp_enable_gro(fd1), 0);
	}
	close(fd1);
	close(fd2);
}

/* A server with several addresses answers from the one its peer sent to
 * (behind a NAT or a stateful firewall nothing else gets through): receives
 * on a dual-stack socket say their local address (v4-mapped for IPv4),
 * rv_cmsg_put_send writes it as the source (IP_PKTINFO for an IPv4
 * destination, IPV6_PKTINFO for IPv6, nothing for the other family or ::),
 * and the kernel sends from it: a reply to a datagram sent to 127.0.0.2
 * comes from 127.0.0.2, though the route to 127.0.0.1 prefers 127.0.0.1. */
Test(sock, reply_from_local_address)
{
	struct sockaddr_in6 v4m = { .sin6_family = AF_INET6 }, v6 = { .sin6_family = AF_INET6 };
	struct in6_addr l4, l6, got;
	struct msghdr msg;
	struct {
		_Alignas(struct cmsghdr) uint8_t buf[RV_CMSG_SEND_SPACE];
	} cm;
	struct cmsghdr *c;
	struct in_pktinfo pi4;
	struct in6_pktinfo pi6;

	inet_pton(AF_INET6, "::ffff:10.0.0.1", &v4m.sin6_addr);
	inet_pton(AF_INET6, "fd00:77::2", &v6.sin6_addr);
	inet_pton(AF_INET6, "::ffff:10.0.0.9", &l4);
	inet_pton(AF_INET6, "fd00:77::9", &l6);
	memset(&msg, 0, sizeof(msg));
	rv_cmsg_put_send(&msg, cm.buf, 0, 0, &v4m, &l4);
	c = CMSG_FIRSTHDR(&msg);
	cr_assert_not_null(c);
	cr_assert_eq(c->cmsg_level, SOL_IP);
	cr_assert_eq(c->cmsg_type, IP_PKTINFO);
	memcpy(&pi4, CMSG_DATA(c), sizeof(pi4));
	cr_assert_eq(pi4.ipi_spec_dst.s_addr, htonl(0x0a000009));
	cr_assert_eq(pi4.ipi_ifindex, 0);
	cr_assert(rv_cmsg_local(c, &got));
	cr_assert_eq(memcmp(&got, &l4, sizeof(got)), 0);
	cr_assert_null(CMSG_NXTHDR(&msg, c));

	rv_cmsg_put_send(&msg, cm.buf, 1200, 1, &v6, &l6);
	c = CMSG_NXTHDR(&msg, CMSG_NXTHDR(&msg, CMSG_FIRSTHDR(&msg)));
	cr_assert_not_null(c);
	cr_assert_eq(c->cmsg_level, SOL_IPV6);
	cr_assert_eq(c->cmsg_type, IPV6_PKTINFO);
	memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
	cr_assert_eq(memcmp(&pi6.ipi6_addr, &l6, sizeof(l6)), 0);
	cr_assert_eq(pi6.ipi6_ifindex, 0);
	cr_assert_eq(msg.msg_controllen, RV_CMSG_SEND_SPACE);
	cr_assert_eq(rv_cmsg_ecn(c), -1);

	/* The other family's local address, or none: no source given. */
	rv_cmsg_put_send(&msg, cm.buf, 0, 0, &v6, &l4);
	cr_assert_null(msg.msg_control);
	rv_cmsg_put_send(&msg, cm.buf, 0, 0, &v4m, &l6);
	cr_assert_null(msg.msg_control);
	rv_cmsg_put_send(&msg, cm.buf, 0, 0, &v4m, &in6addr_any);
	cr_assert_null(msg.msg_control);

	/* The kernel's side, on loopback. */
	int srv, peer;
	struct sockaddr_in to = { .sin_family = AF_INET }, from;
	socklen_t flen = sizeof(from);
	uint8_t rbuf[256], ctl[256];
	struct iovec iov = { .iov_base = rbuf, .iov_len = sizeof(rbuf) };
	struct sockaddr_in6 src6, dst6;
	bool seen = false;

	cr_assert_eq(rv_udp_open(0, true, &srv), 0);
	cr_assert_eq(rv_udp_enable_pktinfo(srv, true), 0);
	peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(peer, 0);
	to.sin_port = htons(rv_udp_port(srv));
	inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
	cr_assert_eq(sendto(peer, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &src6;
	msg.msg_namelen = sizeof(src6);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof(ctl);
	cr_assert_eq(recvmsg(srv, &msg, 0), 2);
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		seen = seen || rv_cmsg_local(c, &got);
	}
	cr_assert(seen, "no IPV6_PKTINFO on a dual-stack receive");
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &l4);
	cr_assert_eq(memcmp(&got, &l4, sizeof(got)), 0);

	dst6 = src6;
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &dst6;
	msg.msg_namelen = sizeof(dst6);
	iov.iov_len = 2;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	rv_cmsg_put_send(&msg, cm.buf, 0, 0, &dst6, &got);
	cr_assert_eq(sendmsg(srv, &msg, 0), 2, "sendmsg from the local address: %s",
		     strerror(errno));
	cr_assert_eq(recvfrom(peer, rbuf, sizeof(rbuf), 0, (struct sockaddr *)&from, &flen), 2);
	cr_assert_eq(from.sin_addr.s_addr, to.sin_addr.s_addr, "the reply came from %08x",
		     ntohl(from.sin_addr.s_addr));
	close(srv);
	close(peer);
}

/* Ephemeral ports are never shared. The kernel, asked for port 0 by a
 * SO_REUSEPORT socket, may hand out a port another SO_REUSEPORT socket of
 * the same user holds; with two clients on one host, the kernel then
 * delivers the datagrams for both to one of them and the other has a live
 * session that receives nothing (1 of 50 clients without traffic in
 * test_control_scale). With a 28,000-port range, 900
 * sockets given ports that way collide about 14 times; rv_udp_open must
 * give 900 distinct ports, and a second socket must still be able to join
 * one of them on purpose (the data plane's other workers). */
Test(sock, ephemeral_ports_are_not_shared, .timeout = 30)
{
	enum { N = 900 };
	static int fds[N];
	static uint16_t ports[N];
	int n = 0, dup = 0, join;

	for (; n < N; n++) {
		int ret = rv_udp_open(0, true, &fds[n]);

		if (ret == -EMFILE || ret == -ENFILE) {
			break;
		}
		cr_assert_eq(ret, 0, "rv_udp_open: %s", strerror(-ret));
		ports[n] = rv_udp_port(fds[n]);
		cr_assert_neq(ports[n], 0);
	}
	cr_assert_gt(n, 400, "only %d sockets (fd limit)", n);
	for (int i = 0; i < n; i++) {
		for (int k = i + 1; k < n; k++) {
			dup += ports[i] == ports[k];
		}
	}
	cr_assert_eq(dup, 0, "%d of %d ephemeral ports shared", dup, n);
	cr_assert_eq(rv_udp_open(ports[0], true, &join), 0, "a worker joins the port");
	close(join);
	for (int i = 0; i < n; i++) {
		close(fds[i]);
	}
}

/* steer_flagged: a datagram of |len| bytes carrying receiver index |index|
 * and header flags |flags| sent to 127.0.0.1:|port| arrives on which of the
 * |n| sockets (-1: none). */
static int steer_flagged(int *fds, int n, uint16_t port, uint32_t index, size_t len, uint8_t flags)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint8_t buf[512] = { 0 }, got[512];
	uint32_t be = htonl(index);
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), hit = -1;

	cr_assert_geq(tx, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(buf + RV_DATA_HDR_INDEX_OFF, &be, sizeof(be));
	buf[RV_DATA_HDR_FLAGS_OFF] = flags;
	cr_assert_eq(sendto(tx, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	close(tx);
	/* Loopback delivers within the sendto; a few tries cover a slow box. */
	for (int tries = 0; tries < 100 && hit < 0; tries++) {
		for (int i = 0; i < n; i++) {
			if (recv(fds[i], got, sizeof(got), MSG_DONTWAIT) == (ssize_t)len) {
				hit = i;
			}
		}
		if (hit < 0) {
			usleep(1000);
		}
	}
	return hit;
}

static int steer_to(int *fds, int n, uint16_t port, uint32_t index, size_t len)
{
	return steer_flagged(fds, n, port, index, len, 0);
}

/* The socket group's steering program: bulk datagrams go to socket
 * index % n, small ones (at most small_max bytes) to small_base + the next;
 * a pinned index goes to its pinned lane instead (and its small datagrams
 * to the lane after it), for as many pins as RV_UDP_MAX_PINS, the last
 * one too (its jumps are the longest); one more pin is refused and the
 * group keeps the program it had. */
Test(sock, steer_by_index_with_pins, .timeout = 30)
{
	struct rv_udp_pin pins[RV_UDP_MAX_PINS + 1];
	int fds[4];
	uint16_t port;

	cr_assert_eq(rv_udp_open(0, false, &fds[0]), 0);
	port = rv_udp_port(fds[0]);
	for (int i = 1; i < 4; i++) {
		cr_assert_eq(rv_udp_open(port, false, &fds[i]), 0);
	}
	/* Two workers (sockets 0, 1), their small sockets 2 and 3. */
	cr_assert_eq(rv_udp_steer_by_index(fds[0], 2, 100, 2, NULL, 0), 0);
	cr_assert_eq(steer_to(fds, 4, port, 7, 200), 1);
	cr_assert_eq(steer_to(fds, 4, port, 8, 200), 0);
	cr_assert_eq(steer_to(fds, 4, port, 7, 60), 2); /* 2 + (7 + 1) % 2 */
	cr_assert_eq(steer_to(fds, 4, port, 8, 60), 3);
	cr_assert_eq(steer_to(fds, 4, port, 7, 2), 0, "too short for an index");
	/* A train of small datagrams, as a sender's GSO send reaches a veth:
	 * long, and flagged small in its first header, it goes with the
	 * flow's single small datagrams (it went to the bulk lane: round-
	 * sixty-nine tester 310). Other flags change nothing. */
	cr_assert_eq(steer_flagged(fds, 4, port, 7, 400, RV_DATA_F_SMALL), 2);
	cr_assert_eq(steer_flagged(fds, 4, port, 8, 400, RV_DATA_F_SMALL), 3);
	cr_assert_eq(steer_flagged(fds, 4, port, 7, 400, RV_DATA_F_CSUM_PARTIAL), 1);
	cr_assert_eq(steer_flagged(fds, 4, port, 8, 60, RV_DATA_F_CSUM_PARTIAL), 3);

	for (unsigned i = 0; i < RV_UDP_MAX_PINS + 1; i++) {
		/* Odd indices, each pinned to lane 0 instead of 1. */
		pins[i] = (struct rv_udp_pin){ .index = 1001 + 2 * i, .lane = 0 };
	}
	cr_assert_eq(rv_udp_steer_by_index(fds[0], 2, 100, 2, pins, RV_UDP_MAX_PINS), 0);
	cr_assert_eq(steer_to(fds, 4, port, 1001, 200), 0);
	cr_assert_eq(steer_to(fds, 4, port, 1001, 60), 3, "small: the lane after the pinned one");
	cr_assert_eq(steer_to(fds, 4, port, pins[RV_UDP_MAX_PINS - 1].index, 200), 0);
	cr_assert_eq(steer_to(fds, 4, port, pins[RV_UDP_MAX_PINS - 1].index, 60), 3);
	cr_assert_eq(steer_to(fds, 4, port, 7, 200), 1, "unpinned: as before");
	cr_assert_eq(steer_to(fds, 4, port, 7, 60), 2);
	cr_assert_eq(steer_flagged(fds, 4, port, 1001, 400, RV_DATA_F_SMALL), 3,
		     "a flagged train: the lane after the pinned one");
	cr_assert_eq(steer_flagged(fds, 4, port, pins[RV_UDP_MAX_PINS - 1].index, 400,
				   RV_DATA_F_SMALL),
		     3);

	cr_assert_eq(rv_udp_steer_by_index(fds[1], 2, 100, 2, pins, RV_UDP_MAX_PINS + 1), -EINVAL);
	cr_assert_eq(steer_to(fds, 4, port, 1001, 200), 0, "the program before stays");
	/* Replaced from any socket of the group: the pins go. */
	cr_assert_eq(rv_udp_steer_by_index(fds[3], 2, 100, 2, NULL, 0), 0);
	cr_assert_eq(steer_to(fds, 4, port, 1001, 200), 1);
	for (int i = 0; i < 4; i++) {
		close(fds[i]);
	}
}

/* A client's group (one peer): by size, and a flagged train of small
 * datagrams goes with the small ones. */
Test(sock, steer_by_size, .timeout = 30)
{
	int fds[3];
	uint16_t port;

	cr_assert_eq(rv_udp_open(0, false, &fds[0]), 0);
	port = rv_udp_port(fds[0]);
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(rv_udp_open(port, false, &fds[i]), 0);
	}
	cr_assert_eq(rv_udp_steer_by_size(fds[0], 2, 100), 0);
	cr_assert_eq(steer_to(fds, 3, port, 7, 200), 0);
	cr_assert_eq(steer_to(fds, 3, port, 7, 100), 2);
	cr_assert_eq(steer_flagged(fds, 3, port, 7, 400, RV_DATA_F_SMALL), 2);
	cr_assert_eq(steer_flagged(fds, 3, port, 7, 400, RV_DATA_F_ECHO), 0);
	cr_assert_eq(steer_to(fds, 3, port, 7, 2), 0, "too short for the flags");
	cr_assert_eq(rv_udp_steer_by_size(fds[0], 0, 100), -EINVAL);
	for (int i = 0; i < 3; i++) {
		close(fds[i]);
	}
}
