/*
 * sock.h — UDP sockets for the data plane and their cmsg helpers.
 *
 * Each worker owns one UDP socket; all of them bind the same port with
 * SO_REUSEPORT so the kernel spreads peers over workers by flow hash. A
 * socket bound to [::] is dual-stack (IPV6_V6ONLY off): IPv4 peers then
 * appear as v4-mapped addresses, which rv_sock_canon_endpoint folds back to
 * AF_INET so a session's endpoint has one canonical form.
 *
 * Functions return 0 or -errno. Thread-safe (no shared state).
 */
#ifndef RV_URING_SOCK_H
#define RV_URING_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/session.h"

/* rv_udp_open opens a UDP socket bound to |port| on 0.0.0.0, or on [::]
 * dual-stack when |v6|, with SO_REUSEPORT and large buffers. |port| 0 picks
 * an ephemeral port no other socket holds (the kernel alone would let a
 * SO_REUSEPORT socket share one with another process of the same user);
 * the data plane's other workers then bind that port. */
int rv_udp_open(uint16_t port, bool v6, int *out_fd);

/* rv_udp_wait_free waits, for at most |max_ms| (polling every 10 ms), until
 * no socket holds UDP |port|, and returns 0, or -EADDRINUSE (another -errno
 * at once, -EINTR when SIGINT or SIGTERM came meanwhile); *|waited_ms| says how long it waited, 0 when the port was free
 * at once. A process killed with -9 leaves its sockets bound until the
 * kernel has torn down its io_uring (they are registered files), which may
 * be after the process was reaped: a socket bound meanwhile would join
 * their SO_REUSEPORT group, behind them, and once they are gone the kernel
 * renumbers the group, which the steering programs rely on. A live process
 * holding the port is an error of configuration the caller reports, not a
 * group to join. */
int rv_udp_wait_free(uint16_t port, bool v6, unsigned max_ms, unsigned *waited_ms);

/* How long a start waits for a killed predecessor's listening port
 * (rv_bind_wait), as for its TUN (RV_TUN_CLAIM_WAIT_MS) and UDP port. */
#define RV_BIND_WAIT_MS 3000

/* rv_bind_wait binds |fd| to |sa|, retrying every 10 ms for at most
 * |max_ms| while the address is in use: a process killed with -9 keeps its
 * listening sockets until the kernel has torn down the io_uring that holds
 * them, which may come after its TUN device and UDP sockets went. A wait
 * is logged as "|what|: waited N ms ...". Returns 0, -EADDRINUSE after the
 * wait, -EINTR when SIGINT or SIGTERM came meanwhile, or another -errno at
 * once. */
int rv_bind_wait(int fd, const struct sockaddr *sa, socklen_t sa_len, unsigned max_ms,
		 const char *what);

/* rv_udp_port returns the bound port of |fd| (host order), 0 on error. */
uint16_t rv_udp_port(int fd);

/* rv_udp_enable_gro turns on UDP_GRO; rv_udp_gso_supported probes UDP_SEGMENT. */
int rv_udp_enable_gro(int fd);
bool rv_udp_gso_supported(int fd);

/* A session steered to a worker other than its receiver index names. */
struct rv_udp_pin {
	uint32_t index;
	uint32_t lane;
};

enum { RV_UDP_MAX_PINS = 60 };

/* rv_udp_steer_by_index makes the SO_REUSEPORT group of |fd| deliver each
 * datagram to its socket number receiver_index % |n| (a classic BPF program
 * on the group, reading the data header), instead of a hash of the
 * addresses. A datagram of at most |small_max| bytes (0: none), or flagged
 * RV_DATA_F_SMALL (core/wire.h), goes to the
 * next worker, to socket |small_base| + (receiver_index + 1) % |n|: with
 * |small_base| 0 that worker's own socket, with |small_base| |n| its small
 * socket (rv_udp_open_small), so that a session's interactive packets wait
 * neither behind its own bulk in one worker nor behind the bulk of others
 * in a socket's queue. The group's sockets are numbered in the order they
 * were bound; a datagram too short to hold an index goes to socket 0, one
 * steered to a number the group does not have to the socket its addresses
 * hash to. A session in |pins| (at most RV_UDP_MAX_PINS) goes to its pinned
 * lane instead of receiver_index % |n|, its small datagrams to the lane
 * after that: so a session can move to another worker without a new index.
 * Called again, it replaces the group's program at once. Returns 0 or
 * -errno (the group keeps its program, or hashing if it had none). */
int rv_udp_steer_by_index(int fd, unsigned n, unsigned small_max, unsigned small_base,
			  const struct rv_udp_pin *pins, size_t npins);

/* rv_udp_steer_by_size is the same for a group with one peer (a client's):
 * a datagram of at most |small_max| bytes goes to socket |small_idx| (the
 * last worker's, or a small socket), a larger one to socket 0. With
 * rv_tun_steer_by_size on the TUN side, the last worker carries the small
 * packets both ways. A UDP_GRO or GSO train of small datagrams counts as
 * large unless its first is flagged RV_DATA_F_SMALL (core/wire.h), as a
 * ringvpn peer flags its small class. Returns 0 or -errno. */
int rv_udp_steer_by_size(int fd, unsigned small_idx, unsigned small_max);

/* rv_udp_open_small opens a worker's small socket: bound to the port of
 * |fd|'s group after the workers' own sockets (so numbered from the number
 * of workers on), with UDP_GRO when |gro| (as the others: a train of small
 * datagrams the kernel merges is then steered as bulk, unless the sender
 * flagged them RV_DATA_F_SMALL), and a short receive
 * queue (RV_UDP_SMALL_RCVBUF): only datagrams the steering program picks as
 * small reach it. It is its own queue in the kernel, read by the same
 * worker, so a ping is not queued behind megabytes of bulk when the worker
 * is behind. No receive timestamps: CoDel watches the bulk queue, and the
 * small one's short waits would tell it the standing queue was gone each
 * time a ping came through. */
int rv_udp_open_small(int fd, bool v6, bool gro, int *out_fd);

/* Asked of the kernel, which doubles it for its bookkeeping: room for about
 * a thousand small datagrams. */
enum { RV_UDP_SMALL_RCVBUF = 256 << 10 };

/* rv_udp_set_rcvbuf sizes the receive queue to |bytes| (SO_RCVBUFFORCE, else
 * SO_RCVBUF capped by rmem_max). The queue is where datagrams wait when the
 * worker is behind: its size bounds that wait. */
int rv_udp_set_rcvbuf(int fd, int bytes);

/* rv_udp_enable_rx_timestamps asks for SO_TIMESTAMPNS: each receive carries
 * the CLOCK_REALTIME time the kernel queued the datagram (rv_cmsg_rx_time). */
int rv_udp_enable_rx_timestamps(int fd);

/* rv_udp_enable_pktinfo asks for each datagram's local (destination)
 * address (IPV6_RECVPKTINFO, or IP_PKTINFO on an IPv4 socket): read with
 * rv_cmsg_local, sent from with rv_cmsg_put_send. */
int rv_udp_enable_pktinfo(int fd, bool v6);

/* rv_sock_canon_endpoint converts a received source address (|sa|, |len|)
 * into |out|, folding v4-mapped IPv6 into AF_INET. Returns false for an
 * unsupported family, a short address, and a source no datagram can be
 * sent back to: port 0, an unspecified, multicast or (IPv4) broadcast
 * address (a session followed port 0, and its refused sends turned the
 * worker's UDP GSO off for every session: round-eleven tester 50). */
bool rv_sock_canon_endpoint(struct rv_endpoint *out, const struct sockaddr *sa, socklen_t len);

/* rv_sock_dest converts |ep| into a destination for a socket of family
 * |v6 ? AF_INET6 : AF_INET| in |out| (v4-mapped on a v6 socket). Returns the
 * address length, or 0 if |ep| cannot be reached from such a socket. */
socklen_t rv_sock_dest(struct sockaddr_in6 *out, const struct rv_endpoint *ep, bool v6);

/* Control-message sizes: CMSG_SPACE(sizeof(uint16_t)), CMSG_SPACE(sizeof(int))
 * and CMSG_SPACE(sizeof(struct timespec)) written out, because clang does not
 * treat CMSG_SPACE as a constant expression in array bounds (checked against
 * CMSG_SPACE in sock.c). An IP_TOS cmsg (one byte) and an IPV6_TCLASS cmsg
 * (an int) take RV_CMSG_TOS_SPACE. */
#define RV_CMSG_SEGMENT_SPACE (sizeof(struct cmsghdr) + sizeof(size_t))
#define RV_CMSG_GRO_SPACE (sizeof(struct cmsghdr) + sizeof(size_t))
#define RV_CMSG_TS_SPACE (sizeof(struct cmsghdr) + 2 * sizeof(long))
#define RV_CMSG_TOS_SPACE (sizeof(struct cmsghdr) + sizeof(size_t))
/* IPV6_PKTINFO (struct in6_pktinfo, 20 bytes); IP_PKTINFO (12) fits. */
#define RV_CMSG_PKTINFO_SPACE (sizeof(struct cmsghdr) + 24)
#define RV_CMSG_SEND_SPACE (RV_CMSG_SEGMENT_SPACE + RV_CMSG_TOS_SPACE + RV_CMSG_PKTINFO_SPACE)

/* rv_cmsg_put_send gives |msg| its control data, written into |buf|
 * (RV_CMSG_SEND_SPACE bytes): a UDP_SEGMENT cmsg for |gso_size| unless 0,
 * the outer header's ECN field |ecn| unless 0 (IP_TOS; IPV6_TCLASS when
 * |dst| is a native IPv6 address), and the source address |src| (an
 * endpoint's local; NULL or :: for none, ignored when its family is not
 * |dst|'s); none at all when there is nothing to say. */
void rv_cmsg_put_send(struct msghdr *msg, void *buf, uint16_t gso_size, uint8_t ecn,
		      const struct sockaddr_in6 *dst, const struct in6_addr *src);

/* rv_cmsg_local reads a received datagram's local address from its
 * IPV6_PKTINFO or IP_PKTINFO cmsg |cm| into |out| (IPv4 v4-mapped); false
 * when |cm| is neither, or names no address a reply could leave from
 * (multicast, broadcast, 0.0.0.0). */
bool rv_cmsg_local(const struct cmsghdr *cm, struct in6_addr *out);
/* rv_cmsg_ifindex: the interface a datagram came in by, from the same
 * IP_PKTINFO/IPV6_PKTINFO cmsg |cm| (0: |cm| is none). */
unsigned rv_cmsg_ifindex(const struct cmsghdr *cm);

/* rv_cmsg_ecn returns the ECN field a received datagram's IP header had,
 * from its IP_TOS or IPV6_TCLASS cmsg |cm| (every data socket asks for
 * them), or -1 when |cm| is neither. */
int rv_cmsg_ecn(const struct cmsghdr *cm);

#endif /* RV_URING_SOCK_H */
