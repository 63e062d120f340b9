/*
 * internal.h — private to uring/: the worker and the data plane that owns it.
 *
 * Buffers. Every packet buffer a worker touches is named by a 32-bit handle
 * (pool << 24 | id) so one release path returns it to where it came from:
 *   POOL_TUNRD  TUN read buffer ring (bgid 0). Data is read at base +
 *               tunrd_off so the packet starts at base + RV_DATA_HDR_LEN
 *               (with IFF_VNET_HDR the 10-byte virtio header sits just
 *               before it) and RV_TAG_LEN of tailroom follows: a packet is
 *               sealed and sent from the buffer it was read into.
 *   POOL_UDPRX  UDP recv buffer ring (bgid 1). One buffer may hold many
 *               datagrams (UDP GRO); it carries a reference count of the TUN
 *               writes still reading from it and is recycled when that drops
 *               to zero.
 *   POOL_TX     chunks (LIFO free list, so the hottest chunk is reused) that
 *               segmentation of a TUN superframe writes into: segment i's
 *               data header and inner headers are built there and its
 *               payload is sealed straight out of the superframe behind
 *               them (rv_session_seal_batch_ext), so the segments of one
 *               superframe lie back to back and a UDP_SEGMENT run is one
 *               iovec. A chunk counts the segments still in flight and is
 *               freed when that drops to zero; the TUN buffer it was cut
 *               from is held until the turn's seal (tx_holds).
 * A handle is released exactly once, by the completion of the operation
 * that last used the buffer (or at once when the packet is dropped).
 *
 * Two classes. A turn's packets are queued in two classes and the small
 * class goes first: small packets (at most RV_PRIO_MAX_LEN bytes of inner
 * packet: pings, ACKs, DNS, keystrokes) are sealed or opened, and their
 * sends and writes submitted to the kernel, before any bulk packet of the
 * turn is touched, so they never wait behind 64 KiB superframes inside a
 * batch. On TX a small packet stays in the bulk class when its flow already
 * has a bulk packet in the turn (w->bulk_flows), so no flow is reordered; on
 * RX only the size of the ciphertext is known before opening, so a small
 * datagram of a bulk flow may overtake that flow's larger ones of the same
 * turn (TCP tolerates this: at most a duplicate ACK).
 *
 * Slots. Each in-flight UDP sendmsg and TUN write owns a preallocated slot
 * (msghdr/iovecs/cmsg/handles), found again from the CQE's user_data. No
 * slot free: the packets are dropped and counted (RV_DROP_NO_BUF).
 */
#ifndef RV_URING_INTERNAL_H
#define RV_URING_INTERNAL_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/clock.h"
#include "core/codel.h"
#include "core/counters.h"
#include "core/gso.h"
#include "core/icmp.h"
#include "core/ip.h"
#include "core/refusals.h"
#include "core/session.h"
#include "core/wire.h"
#include "uring/bufring.h"
#include "uring/dataplane.h"
#include "uring/ring.h"
#include "uring/sock.h"

enum {
	POOL_TUNRD = 0,
	POOL_UDPRX = 1,
	POOL_TX = 2,

	BGID_TUNRD = 0,
	BGID_UDPRX = 1,

	RV_SEND_MAX_SEGS = 64,	   /* datagrams per UDP_SEGMENT sendmsg */
	RV_SEND_MAX_BYTES = 65507, /* UDP payload bytes per sendmsg (IPv4 total length limit) */
	RV_ZC_MAX_PAGES = 16,	   /* pages one zero-copy sendmsg may span */
	RV_TX_BATCH = 1024,	   /* packets sealed per flush */
	RV_RX_BATCH = 1024,	   /* datagrams opened per flush */
	RV_RX_SRCS = 256,	   /* recv completions per flush */
	RV_TUN_READS_SINGLE = 64,  /* plain reads in flight without multishot */
	RV_TX_CHUNKS = 128,	   /* POOL_TX chunks (one per superframe in flight) */
	RV_RING_ENTRIES = 1024,
	RV_TURN_MIN_BUFS = 4,  /* buffers the kernel may always fill per turn */
	RV_PRIO_MAX_LEN = 256, /* inner bytes of a packet in the small class */
	RV_PRIO_BATCH = 256,   /* small-class packets per flush */
	Q_PRIO = 0,	       /* class index: small packets first */
	Q_BULK = 1,
	RV_NUM_CLASSES = 2,
};

static inline uint32_t rv_handle(unsigned pool, unsigned id)
{
	return (uint32_t)pool << 24 | id;
}

struct rv_send_slot {
	struct msghdr msg;
	struct sockaddr_in6 dst;
	struct in6_addr src; /* the endpoint's local address (:: = the route's) */
	struct {
		/* not a union with struct cmsghdr: glibc gives it a flexible
		 * array member, which clang rejects inside a struct */
		_Alignas(struct cmsghdr) uint8_t buf[RV_CMSG_SEND_SPACE];
	} cmsg;
	struct iovec iov[RV_SEND_MAX_SEGS];
	uint32_t handles[RV_SEND_MAX_SEGS];
	uint32_t inner_bytes;
	/* The session's index: its datagrams' drops are counted to it (a
	 * completion comes in a later loop turn, when the session may be
	 * gone: it is looked up again, never kept). */
	uint32_t sess_index;
	uint16_t num;
	uint16_t pkts; /* of num, those with an inner packet (not a keepalive's answer) */
	uint16_t seg;  /* bytes of each datagram but the last (the GSO size) */
	uint8_t ecn;   /* the datagrams' outer ECN field (their inner packets') */
	bool gso;
	bool zc;	 /* sent with SENDMSG_ZC: buffers wait for the notification */
	bool zc_fixed;	 /* ... from a registered buffer */
	bool wait_notif; /* result seen, notification still to come */
	bool resend;	 /* refused zero-copy: send plain once the kernel lets go */
	/* What the result of a plain resend of this slot judges (0: none):
	 * a zero-copy refusal (zero copy is at fault only if the plain send
	 * passes), a refused source address (said only if the route's
	 * source passes: where the way is refused from any source, the
	 * refusal's spell says it). */
	int16_t zc_err, src_err;
	bool zc_err_fixed; /* the refused zero-copy send was from registered buffers */
	bool zc_failed;	   /* this zero-copy send failed: its notification is no copy */
	struct in6_addr src_refused;
};

struct rv_write_slot {
	struct iovec iov[RV_GRO_MAX_SEGS + 1];
	uint32_t handles[RV_GRO_MAX_SEGS];
	uint8_t hdr[RV_GRO_HDR_MAX];
	uint16_t num; /* handles (= inner packets) */
	uint16_t niov;
	/* The session whose packets these are (one run is one session's;
	 * 0, no session's index: the worker's own answer), and their inner
	 * bytes: a write the TUN refuses is theirs to count. */
	uint32_t sess_index;
	uint32_t bytes;
};

struct rv_tx_item {
	uint8_t *buf; /* header room; the packet follows at +RV_DATA_HDR_LEN */
	uint32_t len; /* inner length in buf, then datagram length after sealing */
	uint32_t handle;
	struct rv_session *s;
	const uint8_t *extra; /* rest of the inner packet (superframe slice) or NULL */
	uint32_t extra_len;
	uint8_t flags; /* RV_DATA_F_* for the sealed header */
	uint8_t ecn;   /* the inner packet's ECN field, copied to the outer header */
};

struct rv_rx_item {
	uint8_t *buf; /* start of the datagram */
	uint32_t len;
	uint32_t handle;
	uint16_t src;  /* index into rv_worker.rx_srcs */
	uint8_t ecn;   /* the ECN field of the outer header it arrived with */
	bool aqm_mark; /* CoDel's pick: CE if ECN-capable, else dropped */
	/* A packet the peer left partial (RV_DATA_F_CSUM_PARTIAL), once
	 * opened: where its L4 checksum starts and lies; csum_start 0: the
	 * checksum is whole. */
	uint16_t csum_start, csum_offset;
	struct rv_session *s;
	struct rv_data_hdr hdr;
};

/* One class of a turn's packets (see "Two classes" above). */
struct rv_txq {
	struct rv_tx_item *it;
	unsigned n, cap;
};

struct rv_rxq {
	struct rv_rx_item *it;
	unsigned n, cap;
};

enum { RV_ICMP_SOURCES = 16 };

struct rv_worker {
	struct rv_counters ctr;	 /* first: cache-aligned, read by the control thread */
	struct rv_gauges gauges; /* queue depths, read by the control thread */

	struct rv_dataplane *dp;
	unsigned id;
	int cpu;	 /* the one it is pinned to; -1: the kernel's choice */
	_Atomic int tid; /* its thread's, once it runs (0 before): cpu_wait */
	pthread_t thread;
	bool thread_started;
	int tun_fd;
	int tun_small_fd; /* a server's: TUN packets steered as small; -1: none */
	int udp_fd;
	int udp_small_fd; /* a server's: datagrams steered as small; -1: none */
	/* What SQEs name: the registered-file indices with IOSQE_FIXED_FILE
	 * in sqe_fd_flags (saves an fget/fput per operation), or the plain
	 * fds when registration was refused. */
	int sqe_tun;
	int sqe_tun_small;
	int sqe_udp;
	int sqe_udp_small;
	uint8_t sqe_fd_flags;
	int wake_fd;
	uint64_t wake_buf;
	unsigned qsbr_id;
	bool qsbr_registered;
	atomic_bool stop;

	/* Feature state (a kernel refusal turns one off, logged once). */
	bool vnet;	  /* TUN reads/writes carry a virtio_net_hdr */
	uint16_t uso_max; /* the largest UDP datagram (IP length) coalesced on the
			   * TUN write, as a USO superframe; 0: none */
	bool gso;	  /* UDP_SEGMENT on send */
	bool gro;	  /* UDP_GRO on receive */
	bool ecn;	  /* ECN through the tunnel (RFC 6040) */
	bool pktinfo;	  /* server: receives say their local address, sends leave from it */
	bool udp_v6;
	unsigned mtu;
	unsigned rx_mtu; /* cfg.rx_mtu: sizes the UDP receive buffers without GRO */

	struct rv_ring ring;
	struct rv_bufring tunrd;
	struct rv_bufring udprx;
	uint16_t *udprx_refs;

	uint8_t *tx_base;   /* POOL_TX chunks */
	size_t tx_buf_size; /* bytes per chunk */
	size_t tx_base_bytes;
	uint16_t *tx_free;
	uint16_t *tx_refs; /* segments of the chunk still in flight */
	unsigned tx_num, tx_nfree;

	/* Slots: enough for every buffer that can be in flight, so a slot
	 * shortage never drops what a buffer shortage would not. */
	struct rv_send_slot *send_slots;
	uint16_t *send_free;
	unsigned num_send_slots, send_nfree;
	struct rv_write_slot *write_slots;
	uint16_t *write_free;
	unsigned num_write_slots, write_nfree;

	uint64_t tun_dry, udp_dry; /* -ENOBUFS: buffer ring empty (logged at exit) */
	unsigned tun_inflight[2];  /* read SQEs that may still complete: tun_fd, tun_small_fd */
	bool tun_mshot;
	bool tun_gone;			     /* its TUN read failed for good: not re-armed */
	bool gso_split_warned;		     /* said once that GSO sends are split (send_each) */
	struct rv_gso_refusals gso_refusals; /* paths that refused GSO sends */
	/* Spells of refused UDP sends (no route to a session's peer), said
	 * at their start and end (core/refusals.h, rv_worker_say_refusal). */
	struct rv_refusals refusals;
	bool recv_armed[2]; /* multishot recvmsg on udp_fd, udp_small_fd */
	bool wake_armed;
	struct msghdr recv_msg; /* template for multishot recvmsg */

	/* Per-turn batches, one queue per class. */
	struct rv_txq txq[RV_NUM_CLASSES];
	uint64_t bulk_flows; /* TX: bit per flow hash with a bulk packet this turn */
	/* TX: each flow hash's (rv_flow_bit's bit number) small packets, as
	 * the time their rate has used up, and until when each floods
	 * (worker_tx.c small_flag; CLOCK_MONOTONIC_COARSE). */
	uint64_t small_tat[64];
	uint64_t small_flood_until[64];
	uint32_t *tx_holds; /* TUN buffers released after the next seal */
	unsigned ntx_holds;
	struct rv_pkt_extra *exts; /* scratch for seal */
	struct rv_rxq rxq[RV_NUM_CLASSES];
	struct rv_endpoint *rx_srcs;
	unsigned *rx_src_ifs; /* the interface each came in by (0: not known) */
	unsigned nsrcs;
	struct rv_pkt *pkts; /* scratch for seal */
	/* ... and for open, apart: forwarding an opened packet (client to
	 * client, an echo, time exceeded) may flush the TX queue, whose seal
	 * rewrote the lengths of the run's packets still to be read (honest
	 * ones were dropped as malformed) */
	struct rv_pkt *rx_pkts;
	struct rv_data_hdr *hdrs;
	enum rv_session_result *results;
	uint64_t tx_turn_bytes, rx_turn_bytes; /* for the batch gauges */
	/* Per-turn read budget (see worker.c "Turn budget"). */
	uint32_t turn_budget;
	uint64_t tun_turn_bytes, udp_turn_bytes;
	unsigned tun_turn_bufs, udp_turn_bufs;
	unsigned sends_inflight, writes_inflight, udprx_held;

	enum rv_config_c2c c2c;
	bool offline_at_ingress; /* cfg.offline_at_ingress */

	/* Zero-copy sends (see worker_tx.c "Zero copy"). */
	enum rv_config_zc zc_mode;
	bool zc;		/* SENDMSG_ZC in use */
	bool zc_fixed;		/* the pools below are registered buffers */
	unsigned zc_copied_run; /* consecutive notifications that say "copied" */
	struct iovec zc_regions[3];
	unsigned zc_nregions;

	/* AQM on the UDP receive queue (see worker_rx.c). */
	bool aqm;
	struct rv_codel codel;
	unsigned cq_next;    /* the CQ position after the completion being handled */
	unsigned turn_recvs; /* receives of the bulk socket handled in this turn so far */
	struct rv_codel_pick aqm_pick;
	bool rx_small_sock;   /* the receive being handled is of the small socket, which
			      * CoDel does not watch (else it is the turn's
			      * turn_recvs-th of the bulk one) */
	uint64_t rt_now_ns;   /* CLOCK_REALTIME at the start of the turn */
	uint64_t mono_now_ns; /* CLOCK_MONOTONIC_COARSE then: what a step of
			       * the realtime clock must not move */
	uint64_t rt_end_ns;   /* ... and at the end of the last receiving turn's
			      * (UINT64_MAX: a turn was cut, the queue stands) */
	uint64_t icmp_at_ns;  /* ICMP answers: when tokens were last added */
	unsigned icmp_tokens;
	/* ... and the shares of the last sources answered (icmp_token) */
	struct {
		uint32_t index; /* its session's (0: none; then by addr) */
		struct rv_ip_addr addr;
		uint64_t at_ns;
		unsigned tokens;
	} icmp_src[RV_ICMP_SOURCES];
};

struct rv_dataplane {
	struct rv_dataplane_config cfg;
	char tun_name[IFNAMSIZ];
	unsigned tun_ifindex; /* 0: unknown (rv_dataplane_tun_drops) */
	uint16_t port;
	unsigned num_workers;
	unsigned lanes;	     /* rv_dataplane_lanes */
	unsigned small_base; /* the steering program's (rv_udp_steer_by_index) */
	bool tun_small;	     /* every worker reads a small TUN queue too (queue n + id) */
	struct rv_udp_pin pins[RV_UDP_MAX_PINS]; /* sessions moved off their lane */
	unsigned npins;				 /* control thread */
	int lane_map_fd;			 /* TUN side's lane table of addresses; -1: none */
	int port_lock_fd;			 /* a fixed UDP port's rv_ns_lock; -1: none */
	int net_map_fd;				 /* and of networks; -1 when lane_map_fd is */
	bool lane_map_warned;			 /* said once that an update failed */
	unsigned lane_entries;			 /* entries in both (control thread) */
	unsigned tun_offload_flags;		 /* accepted by TUNSETOFFLOAD, 0 if none */
	struct rv_worker **workers;

	pthread_mutex_t lock; /* startup handshake only */
	pthread_cond_t cond;
	unsigned num_ready;
	int start_err;
	/* What worker 0 started with, copied under lock for the start-up log
	 * line: its own flags change later (auto zero-copy, GSO refused). */
	bool started_gso, started_gro, started_zc, started_zc_fixed;
	_Atomic bool zc_refusal_said; /* a worker said its send buffers were refused */
	int rekey_fd;	      /* eventfd: a session wants new keys (rv_dataplane_rekey_fd) */
	_Atomic int tun_err;  /* -errno: the TUN device is gone (rv_dataplane_failed) */
	_Atomic int ring_err; /* -errno: a worker's ring fails (rv_dataplane_ring_failed) */
	_Atomic unsigned ring_worker; /* which worker's */
	/* Keepalives the control thread sent on worker 0's socket
	 * (rv_dataplane_send_keepalive): counted here, not in worker 0's
	 * counters, whose one writer is worker 0; rv_dataplane_counters adds
	 * them to its udp_sends. */
	_Atomic uint64_t keepalive_sends;
	/* The server's pools (rv_dataplane_set_pools), replaced whole by the
	 * control thread and read by workers between quiescent points; NULL:
	 * none (a client). */
	struct rv_dp_pools *_Atomic pools;
	struct rv_dp_host_nets *_Atomic host_nets; /* rv_dataplane_set_host_nets */
	_Atomic bool no_ipv6; /* a client's TUN carries no IPv6 (rv_dataplane_set_no_ipv6) */
};

/* Where an address lies in the server's pools. */
enum rv_pool_place {
	RV_POOL_OUTSIDE, /* in no pool (or no pools: a client) */
	RV_POOL_SELF,	 /* the server's own address in its pool */
	RV_POOL_NET,	 /* the IPv4 pool's network address */
	RV_POOL_BCAST,	 /* the IPv4 pool's broadcast address */
	RV_POOL_CLIENT,	 /* any other: a client's, online or not */
};

/* rv_dataplane_host_has: does the server's host hold or route |a| itself
 * (rv_dataplane_set_host_nets)? When the table overflowed, |unknown| is the
 * answer for an address it does not list: true where a wrong "no" costs
 * (an offline client's drop), false where a wrong "yes" does (every
 * client's source, every internal forward). Worker, between quiescent
 * points. */
bool rv_dataplane_host_has(const struct rv_dataplane *dp, const struct rv_ip_addr *a, bool unknown);

/* rv_dataplane_pool_place tells where |a| lies (worker, between quiescent
 * points, or the control thread). */
enum rv_pool_place rv_dataplane_pool_place(const struct rv_dataplane *dp,
					   const struct rv_ip_addr *a);
/* rv_dataplane_pool_self writes the server's own address of |family| (its
 * pool's) to |out|. Returns false when it has none. */
bool rv_dataplane_pool_self(const struct rv_dataplane *dp, int family, struct rv_ip_addr *out);

/* rv_dataplane_note_rekey tells the control thread that a session's
 * sending epoch neared a limit (RV_SESSION_REKEY_SOON, reported once per
 * epoch, so this is not a per-packet cost). */
void rv_dataplane_note_rekey(struct rv_dataplane *dp);

/* rv_dataplane_note_tun_gone records that a worker's TUN queue failed for
 * good (|err|: -EBADFD once the device is deleted) and wakes the control
 * thread through the same eventfd (rv_dataplane_failed). */
void rv_dataplane_note_tun_gone(struct rv_dataplane *dp, int err);

/* rv_dataplane_note_ring_failed records that worker |id|'s io_uring_enter
 * has failed (|err|) on every call for a long time, and wakes the control
 * thread through the same eventfd (rv_dataplane_ring_failed). */
void rv_dataplane_note_ring_failed(struct rv_dataplane *dp, unsigned id, int err);

/* rv_flow_bit maps an inner packet's flow (addresses, protocol, ports) to
 * one bit of a 64-bit set: a cheap, conservative "may this flow have a bulk
 * packet queued" test (a collision only costs a small packet its priority). */
static inline uint64_t rv_flow_bit(const uint8_t *pkt, uint32_t len, const struct rv_ip_info *ip)
{
	uint32_t h = ip->proto * 0x9e3779b1u, w;

	for (unsigned i = 0; i < 16; i += 4) {
		memcpy(&w, ip->src.a + i, 4);
		h = (h ^ w) * 0x85ebca6bu;
		memcpy(&w, ip->dst.a + i, 4);
		h = (h ^ w) * 0xc2b2ae35u;
	}
	if ((ip->proto == 1 || ip->proto == 58) && len >= (uint32_t)ip->hdr_len + 8u) {
		/* ICMP: type, code and an echo's identifier, not the checksum
		 * and sequence, which spread one `ping -f` over every bit, each
		 * under the flood rate (round-seventy-one tester 332). */
		const uint8_t *l4 = pkt + ip->hdr_len;

		w = (uint32_t)l4[0] << 24 | (uint32_t)l4[1] << 16 | (uint32_t)l4[4] << 8 | l4[5];
		h = (h ^ w) * 0x9e3779b1u;
	} else if (len >= (uint32_t)ip->hdr_len + 4u) {
		memcpy(&w, pkt + ip->hdr_len, 4); /* ports of TCP/UDP */
		h = (h ^ w) * 0x9e3779b1u;
	}
	return 1ull << (h >> 26);
}

/* RV_RUN_END(q, i) returns the end of the run of class queue |q|'s items
 * (struct rv_txq/rv_rxq *) from |i| on that share one session: runs are
 * sealed and opened with one call each. */
static inline unsigned rv_run_end_(unsigned n, unsigned i, const void *first_s, size_t stride)
{
	const uint8_t *base = first_s;
	struct rv_session *s, *t;
	unsigned j = i + 1;

	memcpy(&s, base + (size_t)i * stride, sizeof(s));
	for (; j < n; j++) {
		memcpy(&t, base + (size_t)j * stride, sizeof(t));
		if (t != s) {
			break;
		}
	}
	return j;
}
#define RV_RUN_END(q, i) rv_run_end_((q)->n, (i), &(q)->it[0].s, sizeof((q)->it[0]))

/* worker.c */
void *rv_worker_main(void *arg);
void rv_worker_release(struct rv_worker *w, uint32_t handle);

/* worker_tx.c */
void rv_worker_tun_read(struct rv_worker *w, unsigned bid, uint32_t len);
/* rv_worker_lookup_dst finds the session for an inner destination (NULL:
 * none). */
struct rv_session *rv_worker_lookup_dst(const struct rv_worker *w, const struct rv_ip_info *ip);
/* rv_worker_tx_class picks the class of an inner packet of *|len| bytes at
 * |pkt| (parsed: |ip|) to be sent to session |s|: a small one of a flow with
 * no bulk queued goes first (and gets RV_DATA_F_SMALL in *|flags| unless
 * its flow floods: worker_tx.c small_flag); a fragment never does, and a
 * small fragment is padded (*|len| grows) when the |room| bytes at |pkt|
 * allow it. */
unsigned rv_worker_tx_class(struct rv_worker *w, uint8_t *pkt, uint32_t *len, uint32_t room,
			    const struct rv_ip_info *ip, const struct rv_session *s,
			    uint8_t *flags);
/* rv_worker_lookup_addr: the same for address |a|. */
struct rv_session *rv_worker_lookup_addr(const struct rv_worker *w, const struct rv_ip_addr *a);
/* rv_worker_addr_inside: is |a| a host inside the tunnel (a session
 * carries it, and the host neither holds nor routes it itself: a server
 * whose links lie inside a site's network reaches them by its longer
 * routes)? |unknown|: the host's answer for an address its overflowed table
 * does not list (rv_dataplane_host_has). */
bool rv_worker_addr_inside(const struct rv_worker *w, const struct rv_ip_addr *a, bool unknown);
/* rv_worker_forward queues an authenticated inner packet of |len| bytes at
 * |pkt| (RV_DATA_HDR_LEN of room in front, RV_TAG_LEN behind) to be sealed
 * for session |to| and sent: client-to-client forwarding inside the data
 * plane, with header flags |flags| (RV_DATA_F_*). |handle| moves to the
 * send. */
void rv_worker_forward(struct rv_worker *w, unsigned cls, uint8_t *pkt, uint32_t len,
		       uint32_t handle, struct rv_session *to, uint8_t flags);
/* rv_worker_link_local6: |a| is an IPv6 link-local address (fe80::/10). */
static inline bool rv_worker_link_local6(const struct rv_ip_addr *a)
{
	return a->family == AF_INET6 && a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80;
}
/* rv_worker_link_scope: multicast, broadcast and link-local destinations (router
 * solicitations, MLD reports, mDNS the kernel sends on any interface with an
 * address) belong to the local link and are never carried: on the client the
 * default session would otherwise ship them to the server, which can only
 * reject their link-local sources as spoofed. Dropped on receipt too, from a
 * peer that carries them (an older ringvpn). */
static inline bool rv_worker_link_scope(const struct rv_ip_addr *dst)
{
	if (dst->family == AF_INET) {
		static const uint8_t bcast[4] = { 0xff, 0xff, 0xff, 0xff };

		return (dst->a[0] & 0xf0) == 0xe0 || memcmp(dst->a, bcast, 4) == 0;
	}
	return dst->a[0] == 0xff || rv_worker_link_local6(dst);
}
/* rv_worker_not_carried: why a packet (|len| bytes, parsed into |ip|) is
 * kept from the tunnel whatever session it is for, RV_DROP_MAX when it is
 * not. Asked where a packet is read from the TUN and where it comes out of
 * the tunnel from a peer that carries it (an older ringvpn), one order for
 * both (one packet was counted apart at the two ends: round-sixty-six
 * tester 283):
 * - link_scope: a multicast, broadcast or link-local destination
 *   (rv_worker_link_scope); an IPv6 packet from a link-local source, which
 *   the peer can neither answer nor pass on (a site's gateway answered each
 *   such redirect with "beyond scope"); a redirect (ICMP type 5, ICMPv6
 *   type 137), which the kernel sends when it routes a packet back out of
 *   the TUN it came in by (site to site through a server in kernel mode, an
 *   offline address in internal mode): it names a next hop on a link the
 *   peer is not on.
 * - bad_inner: an IPv6 packet whose extension headers cannot be looked
 *   through (more than RV_IP6_MAX_EXT, or cut short: 9 headers carried a
 *   redirect, round-thirty-two tester 167), as one may hide a redirect
 *   (it was link_scope, which sent an operator looking for link traffic:
 *   round-sixty-six tester 279).
 * The chain is looked at within the IP length, as the packet is sent (a
 * jumbogram's payload length 0 passed on the TUN's buffer length, was cut
 * to 40 bytes, sealed and sent, and dropped by the peer: tester 279). */
static inline enum rv_drop_reason rv_worker_not_carried(const uint8_t *pkt, uint32_t len,
							const struct rv_ip_info *ip)
{
	if (rv_worker_link_scope(&ip->dst)) {
		return RV_DROP_LINK_SCOPE;
	}
	if (len > ip->total_len) {
		len = ip->total_len;
	}
	if (ip->src.family == AF_INET6) {
		size_t off;
		int up;

		if (rv_worker_link_local6(&ip->src)) {
			return RV_DROP_LINK_SCOPE;
		}
		if (ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP) {
			return RV_DROP_MAX;
		}
		/* Behind extension headers too (a destination options or
		 * fragment header carried one: round-thirty-two tester 163). */
		up = rv_ip6_upper(pkt, len, &off);
		if (up == RV_IP6_UNTOLD) {
			return RV_DROP_BAD_INNER;
		}
		return up == IPPROTO_ICMPV6 && len > off && pkt[off] == 137 ? RV_DROP_LINK_SCOPE
									    : RV_DROP_MAX;
	}
	/* A first fragment carries the type too (a redirect cut in two went
	 * through: round-nineteen tester 88); a later one cannot be told. */
	return ip->proto == IPPROTO_ICMP && len > ip->hdr_len && !rv_ip_v4_later_fragment(pkt) &&
			       pkt[ip->hdr_len] == 5
		       ? RV_DROP_LINK_SCOPE
		       : RV_DROP_MAX;
}
/* rv_worker_no_route drops packet |pkt| (|len| bytes, parsed into |ip|)
 * that no session takes, counted as no_route, and on a server answers it
 * with ICMP "destination unreachable" written to the TUN (within the ICMP
 * rate); |handle| goes with the answer, or is released. */
void rv_worker_no_route(struct rv_worker *w, uint8_t *pkt, uint32_t len, uint32_t handle,
			const struct rv_ip_info *ip);
/* rv_worker_icmp_error answers a packet from client |from| to another
 * client (|pkt|, parsed into |ip|) with an ICMP error of |kind| sealed for
 * |from|: "time exceeded" from the server's own address (its TTL or hop
 * limit ran out where it was forwarded, the hop traceroute shows),
 * "parameter problem" from it too (IPv4 options a router refuses; |ptr|
 * names the byte), or "destination unreachable" from the destination
 * itself (an offline client's address, as a TUN packet for no session is
 * answered). Built in a send chunk (the packet's buffer is the caller's to
 * release), within the worker's ICMP rate, and counted by kind. Returns
 * whether it was sent. */
bool rv_worker_icmp_error(struct rv_worker *w, const uint8_t *pkt, const struct rv_ip_info *ip,
			  struct rv_session *from, enum rv_icmp_kind kind, uint32_t ptr);
/* rv_worker_flush_tx seals and queues the sends of class |cls| (Q_BULK also
 * releases the superframes held for this turn). */
void rv_worker_flush_tx(struct rv_worker *w, unsigned cls);
void rv_worker_send_done(struct rv_worker *w, unsigned slot, int res, unsigned cqe_flags);
/* rv_worker_say_refusal says a line of the worker's refused sends; |arg|
 * is the worker (rv_refusals_init). */
void rv_worker_say_refusal(void *arg, const struct rv_refusal_line *line);

/* worker_rx.c */
void rv_worker_udp_recv(struct rv_worker *w, unsigned bid, uint32_t len);
/* rv_worker_recv_behind: does a receive of the bulk socket wait in the
 * ring's completions after w->cq_next? */
bool rv_worker_recv_behind(const struct rv_worker *w);
/* rv_worker_flush_rx opens and queues the TUN writes of class |cls|. */
void rv_worker_flush_rx(struct rv_worker *w, unsigned cls);
void rv_worker_write_done(struct rv_worker *w, unsigned slot, int res);

#endif /* RV_URING_INTERNAL_H */
