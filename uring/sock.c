/*
 * sock.c — UDP sockets (see sock.h).
 */
#include "uring/sock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/filter.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/wire.h"
#include "uring/compat.h"

/* How often rv_udp_wait_free tries the port again. */
enum { WAIT_POLL_MS = 10 };

static void set_bufsize(int fd, int opt_force, int opt, int bytes)
{
	/* SO_*BUFFORCE needs CAP_NET_ADMIN; fall back to the capped option. */
	if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof(bytes)) < 0) {
		(void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
	}
}

/* udp_bind opens a UDP socket bound to |port| on the wildcard address (IPv4,
 * or dual-stack IPv6 when |v6|), with SO_REUSEPORT when |reuseport|. */
static int udp_bind(uint16_t port, bool v6, bool reuseport, int *out_fd)
{
	int one = 1, zero = 0, pmtu_omit = IP_PMTUDISC_OMIT, fd, ret;
	struct sockaddr_storage ss;
	socklen_t len;

	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		goto err;
	}
	/* Every receive tells the outer header's ECN field (RFC 6040
	 * decapsulation): IP_TOS for IPv4 (v4-mapped on a dual-stack socket
	 * too), IPV6_TCLASS for IPv6. */
	if (setsockopt(fd, SOL_IP, IP_RECVTOS, &one, sizeof(one)) < 0 ||
	    (v6 && setsockopt(fd, SOL_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) < 0)) {
		goto err;
	}
	/* IPv4: the interface's MTU, DF clear, and no path MTU taken from
	 * ICMP. An unconnected socket took one from any forged
	 * "fragmentation needed" that quoted its port and a peer's address,
	 * from anywhere: 552 bytes for ten minutes cut that peer's
	 * throughput by 75-90 % (a hostile tester). A router on a narrower
	 * path fragments instead, as for WireGuard's. IPv6 keeps following
	 * "packet too big" (no router fragments there; the kernel's floor is
	 * 1280): README, Limitations. */
	if (setsockopt(fd, SOL_IP, IP_MTU_DISCOVER, &pmtu_omit, sizeof(pmtu_omit)) < 0) {
		goto err;
	}
	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
			goto err;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons(port);
		len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		a4->sin_port = htons(port);
		len = sizeof(*a4);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		goto err;
	}
	*out_fd = fd;
	return 0;
err:
	ret = -errno;
	close(fd);
	return ret;
}

int rv_udp_open(uint16_t port, bool v6, int *out_fd)
{
	int fd, ret;

	if (port == 0) {
		/* The kernel may give a SO_REUSEPORT socket asking for port 0
		 * a port that other SO_REUSEPORT sockets of the same user
		 * already hold: two clients started as root could share one,
		 * and the kernel would deliver the datagrams for both to one
		 * of them (a socket of the group is picked by a hash of the
		 * addresses): the other has a live session that receives
		 * nothing. A socket without SO_REUSEPORT only gets a port
		 * nobody holds: take that port, let it go, and bind the real
		 * socket to it at once. */
		ret = udp_bind(0, v6, false, &fd);
		if (ret) {
			return ret;
		}
		port = rv_udp_port(fd);
		close(fd);
		if (port == 0) {
			return -EADDRNOTAVAIL;
		}
	}
	ret = udp_bind(port, v6, true, &fd);
	if (ret) {
		return ret;
	}
	set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, 8 << 20);
	set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, 8 << 20);
	*out_fd = fd;
	return 0;
}

int rv_bind_wait(int fd, const struct sockaddr *sa, socklen_t sa_len, unsigned max_ms,
		 const char *what)
{
	uint64_t t0 = rv_now_ns();
	unsigned waited = 0;

	while (bind(fd, sa, sa_len) != 0) {
		if (errno != EADDRINUSE || waited >= max_ms) {
			return -errno;
		}
		if (rv_sleep_ms(10)) {
			return -EINTR;
		}
		waited = (unsigned)((rv_now_ns() - t0) / RV_NSEC_PER_MSEC);
	}
	if (waited > 0) {
		rv_info("%s: waited %u ms for the previous owner's listening socket to go away",
			what, waited);
	}
	return 0;
}

int rv_udp_wait_free(uint16_t port, bool v6, unsigned max_ms, unsigned *waited_ms)
{
	uint64_t t0 = rv_now_ns();
	int fd, ret;

	*waited_ms = 0;
	for (;;) {
		/* Without SO_REUSEPORT the bind fails while any socket holds
		 * the port, a dying process's included. */
		ret = udp_bind(port, v6, false, &fd);
		if (ret == 0) {
			close(fd);
			return 0;
		}
		if (ret != -EADDRINUSE || *waited_ms >= max_ms) {
			return ret;
		}
		if (rv_sleep_ms(WAIT_POLL_MS)) {
			return -EINTR;
		}
		*waited_ms = (unsigned)((rv_now_ns() - t0) / RV_NSEC_PER_MSEC);
	}
}

uint16_t rv_udp_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int rv_udp_set_rcvbuf(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0) {
		return 0;
	}
	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0 ? -errno : 0;
}

int rv_udp_enable_rx_timestamps(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ? -errno : 0;
}

int rv_udp_enable_pktinfo(int fd, bool v6)
{
	int one = 1;

	/* IP_PKTINFO on a dual-stack socket too: an IPv4 datagram's
	 * IPV6_PKTINFO holds its header's destination, which may be a
	 * broadcast; IP_PKTINFO's ipi_spec_dst is the local address a reply
	 * leaves from (it comes after, and wins: rv_cmsg_local). */
	if (v6 && setsockopt(fd, SOL_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) {
		return -errno;
	}
	return setsockopt(fd, SOL_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ? -errno : 0;
}

unsigned rv_cmsg_ifindex(const struct cmsghdr *cm)
{
	if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
		struct in6_pktinfo pi;

		memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		return pi.ipi6_ifindex;
	}
	if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
		struct in_pktinfo pi;

		memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		return (unsigned)pi.ipi_ifindex;
	}
	return 0;
}

bool rv_cmsg_local(const struct cmsghdr *cm, struct in6_addr *out)
{
	if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
		struct in6_pktinfo pi;

		memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		/* Never a reply's source: a multicast or broadcast destination
		 * (an on-path box can rewrite it; the datagram still opens). */
		if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr) &&
		     (pi.ipi6_addr.s6_addr[12] >= 224 ||
		      memcmp(&pi.ipi6_addr.s6_addr[12], "\0\0\0\0", 4) == 0))) {
			return false;
		}
		*out = pi.ipi6_addr;
		return true;
	}
	if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_PKTINFO &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
		struct in_pktinfo pi;

		memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		/* The local address a reply would come from (the header's
		 * destination unless that was a broadcast). */
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &pi.ipi_spec_dst, 4);
		return true;
	}
	return false;
}

/* attach_group_prog makes |code| the socket picker of |fd|'s SO_REUSEPORT
 * group. */
static int attach_group_prog(int fd, struct sock_filter *code, size_t len)
{
	struct sock_fprog prog = { .len = (unsigned short)len, .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0
		       ? -errno
		       : 0;
}

/* STEER_HEAD instructions open both steering programs (put_steer_head): a
 * datagram flagged RV_DATA_F_SMALL (core/wire.h) jumps to the small path,
 * which follows them; the last, a jump past the small path for a datagram
 * longer than the small class, is the caller's to write, once it knows the
 * small path's length. */
#define STEER_HEAD 4

static void put_steer_head(struct sock_filter *c)
{
	c[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, RV_DATA_HDR_FLAGS_OFF);
	c[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, RV_DATA_F_SMALL,
					    STEER_HEAD - 2, 0);
	c[2] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0);
}

/* put_lane_path writes the part of the steering program that picks the
 * socket of a datagram's lane: base + (lane + shift) % n, where the lane is
 * a pinned one or else receiver_index % n. Returns the end. */
static struct sock_filter *put_lane_path(struct sock_filter *c, const struct rv_udp_pin *pins,
					 size_t npins, unsigned n, unsigned shift, unsigned base)
{
	*c++ = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, RV_DATA_HDR_INDEX_OFF);
	for (size_t i = 0; i < npins; i++) {
		*c++ = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pins[i].index, 0, 1);
		*c++ = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						    base + (pins[i].lane + shift) % n);
	}
	if (shift != 0) {
		*c++ = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, shift);
	}
	*c++ = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
	if (base != 0) {
		*c++ = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, base);
	}
	*c++ = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	return c;
}

int rv_udp_steer_by_index(int fd, unsigned n, unsigned small_max, unsigned small_base,
			  const struct rv_udp_pin *pins, size_t npins)
{
	/* The program sees the UDP payload: len is the datagram's length.
	 * Classic BPF loads are big-endian, as the index is on the wire; a
	 * load past the end ends the program with 0. A UDP_GRO or GSO train
	 * is steered as one, by its first datagram's flags and else by its
	 * merged length: a small datagram that GRO appended to a bulk train
	 * stays with the bulk, and a train of small datagrams the sender
	 * flagged (RV_DATA_F_SMALL) goes with the flow's single ones. A pinned
	 * index is compared before the modulo: two instructions per pin and
	 * path, so the pins are few (RV_UDP_MAX_PINS) and the jump over the
	 * small path fits its 8-bit offset. */
	struct sock_filter code[STEER_HEAD + 2 * (6 + 2 * RV_UDP_MAX_PINS)], *c;

	if (n == 0 || npins > RV_UDP_MAX_PINS) {
		return -EINVAL;
	}
	put_steer_head(code);
	/* small: the next worker's socket, from small_base on */
	c = put_lane_path(code + STEER_HEAD, pins, npins, n, 1, small_base);
	/* bulk (past the small path): the session's worker */
	code[STEER_HEAD - 1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, small_max,
							    (uint8_t)(c - (code + STEER_HEAD)), 0);
	c = put_lane_path(c, pins, npins, n, 0, 0);
	return attach_group_prog(fd, code, (size_t)(c - code));
}

int rv_udp_steer_by_size(int fd, unsigned small_idx, unsigned small_max)
{
	struct sock_filter code[STEER_HEAD + 2];

	if (small_idx == 0) {
		return -EINVAL;
	}
	put_steer_head(code);
	code[STEER_HEAD - 1] =
		(struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, small_max, 1, 0);
	code[STEER_HEAD] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, small_idx);
	code[STEER_HEAD + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	return attach_group_prog(fd, code, sizeof(code) / sizeof(code[0]));
}

int rv_udp_open_small(int fd, bool v6, bool gro, int *out_fd)
{
	int sfd, ret;

	ret = udp_bind(rv_udp_port(fd), v6, true, &sfd);
	if (ret) {
		return ret;
	}
	ret = rv_udp_set_rcvbuf(sfd, RV_UDP_SMALL_RCVBUF);
	if (ret == 0 && gro) {
		ret = rv_udp_enable_gro(sfd);
	}
	if (ret) {
		close(sfd);
		return ret;
	}
	*out_fd = sfd;
	return 0;
}

int rv_udp_enable_gro(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 ? -errno : 0;
}

bool rv_udp_gso_supported(int fd)
{
	int val = 0;
	socklen_t len = sizeof(val);

	return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &val, &len) == 0;
}

/* v4_answerable: can a datagram be sent back to |a|:|port| (network
 * order)? */
static bool v4_answerable(const struct in_addr *a, in_port_t port)
{
	uint32_t h = ntohl(a->s_addr);

	return port != 0 && h != 0 && h != 0xffffffffu && !IN_MULTICAST(h);
}

bool rv_sock_canon_endpoint(struct rv_endpoint *out, const struct sockaddr *sa, socklen_t len)
{
	memset(out, 0, sizeof(*out));
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		memcpy(&out->in4, sa, sizeof(out->in4));
		out->len = sizeof(out->in4);
		return v4_answerable(&out->in4.sin_addr, out->in4.sin_port);
	}
	if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
		struct sockaddr_in6 a6;
		memcpy(&a6, sa, sizeof(a6));
		if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
			out->in4.sin_family = AF_INET;
			out->in4.sin_port = a6.sin6_port;
			memcpy(&out->in4.sin_addr, &a6.sin6_addr.s6_addr[12], 4);
			out->len = sizeof(out->in4);
			return v4_answerable(&out->in4.sin_addr, out->in4.sin_port);
		}
		a6.sin6_flowinfo = 0;
		out->in6 = a6;
		out->len = sizeof(out->in6);
		return a6.sin6_port != 0 && !IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr) &&
		       !IN6_IS_ADDR_MULTICAST(&a6.sin6_addr);
	}
	return false;
}

socklen_t rv_sock_dest(struct sockaddr_in6 *out, const struct rv_endpoint *ep, bool v6)
{
	memset(out, 0, sizeof(*out));
	if (ep->len == 0) {
		return 0;
	}
	if (ep->sa.sa_family == AF_INET) {
		if (!v6) {
			memcpy(out, &ep->in4, sizeof(ep->in4));
			return sizeof(struct sockaddr_in);
		}
		out->sin6_family = AF_INET6;
		out->sin6_port = ep->in4.sin_port;
		out->sin6_addr.s6_addr[10] = 0xff;
		out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &ep->in4.sin_addr, 4);
		return sizeof(*out);
	}
	if (ep->sa.sa_family == AF_INET6 && v6) {
		*out = ep->in6;
		return sizeof(*out);
	}
	return 0;
}

static struct cmsghdr *put_cmsg(struct cmsghdr *cm, int level, int type, const void *data,
				size_t len)
{
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	return (struct cmsghdr *)((uint8_t *)cm + CMSG_SPACE(len));
}

void rv_cmsg_put_send(struct msghdr *msg, void *buf, uint16_t gso_size, uint8_t ecn,
		      const struct sockaddr_in6 *dst, const struct in6_addr *src)
{
	struct cmsghdr *cm = buf;
	bool dst4 = dst->sin6_family != AF_INET6 || IN6_IS_ADDR_V4MAPPED(&dst->sin6_addr);
	bool has_src =
		src != NULL && !IN6_IS_ADDR_UNSPECIFIED(src) && IN6_IS_ADDR_V4MAPPED(src) == dst4;

	_Static_assert(sizeof(struct cmsghdr) % sizeof(size_t) == 0, "cmsghdr alignment");

	if (gso_size == 0 && ecn == 0 && !has_src) {
		msg->msg_control = NULL;
		msg->msg_controllen = 0;
		return;
	}
	memset(buf, 0, RV_CMSG_SEND_SPACE);
	if (gso_size != 0) {
		cm = put_cmsg(cm, SOL_UDP, UDP_SEGMENT, &gso_size, sizeof(gso_size));
	}
	if (ecn != 0) {
		int tos = ecn;

		/* A v4-mapped destination goes out as IPv4: IP_TOS, which a
		 * dual-stack socket takes too. */
		if (!dst4) {
			cm = put_cmsg(cm, SOL_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
		} else {
			cm = put_cmsg(cm, SOL_IP, IP_TOS, &tos, sizeof(tos));
		}
	}
	/* The source the peer sent to; interface 0: the route picks it. A
	 * dual-stack socket takes IP_PKTINFO for a v4-mapped destination. */
	if (has_src && !dst4) {
		struct in6_pktinfo pi = { .ipi6_addr = *src };

		cm = put_cmsg(cm, SOL_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else if (has_src) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, &src->s6_addr[12], 4);
		cm = put_cmsg(cm, SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	msg->msg_control = buf;
	msg->msg_controllen = (size_t)((uint8_t *)cm - (uint8_t *)buf);
}

int rv_cmsg_ecn(const struct cmsghdr *cm)
{
	if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_TOS &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(uint8_t))) {
		return *CMSG_DATA(cm) & 3;
	}
	if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
		int tclass;

		memcpy(&tclass, CMSG_DATA(cm), sizeof(tclass));
		return tclass & 3;
	}
	return -1;
}

/* The hand-written sizes in sock.h must match the libc macros. */
__attribute__((constructor)) static void check_cmsg_sizes(void)
{
	if (RV_CMSG_SEGMENT_SPACE != CMSG_SPACE(sizeof(uint16_t)) ||
	    RV_CMSG_GRO_SPACE != CMSG_SPACE(sizeof(int)) ||
	    RV_CMSG_TS_SPACE != CMSG_SPACE(sizeof(struct timespec)) ||
	    RV_CMSG_TOS_SPACE != CMSG_SPACE(sizeof(int)) ||
	    RV_CMSG_TOS_SPACE != CMSG_SPACE(sizeof(uint8_t)) ||
	    RV_CMSG_PKTINFO_SPACE != CMSG_SPACE(sizeof(struct in6_pktinfo)) ||
	    RV_CMSG_PKTINFO_SPACE < CMSG_SPACE(sizeof(struct in_pktinfo))) {
		abort();
	}
}
