/*
 * counters.h — named counters and drop reasons for the data plane.
 *
 * Every rejection on the packet path has its own enum rv_drop_reason value,
 * its own slot in a per-worker struct rv_counters, and a name for `status`.
 *
 * Per-worker counters have exactly one writer (the worker), so they are
 * updated with a relaxed load + store rather than a locked add; readers
 * (the control thread) see each value atomically and at most slightly stale.
 * udp_sock_drops is the exception: the kernel keeps it for the worker's
 * socket, and a snapshot reads it (rv_dataplane_counters).
 */
#ifndef RV_CORE_COUNTERS_H
#define RV_CORE_COUNTERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

#define RV_DROP_REASONS(X)                                                                    \
	X(RV_DROP_SHORT, "short")		  /* datagram shorter than header+tag */      \
	X(RV_DROP_BAD_RECV, "bad_recv")		  /* receive result unparsable */             \
	X(RV_DROP_BAD_SRC, "bad_src")		  /* source address family unknown */         \
	X(RV_DROP_BAD_TYPE, "bad_type")		  /* unknown message type */                  \
	X(RV_DROP_RESERVED, "reserved")		  /* unknown flag or reserved bits set */     \
	X(RV_DROP_UNKNOWN_INDEX, "unknown_index") /* no session has this index */             \
	X(RV_DROP_NO_KEY, "no_key")		  /* key id names no installed epoch */       \
	X(RV_DROP_AUTH, "auth")			  /* AEAD open failed */                      \
	X(RV_DROP_REPLAY, "replay")		  /* counter already seen */                  \
	X(RV_DROP_TOO_OLD, "too_old")		  /* counter left of the window */            \
	X(RV_DROP_KEY_EXPIRED, "key_expired")	  /* reject-after limit reached */            \
	X(RV_DROP_SPOOF, "spoof")		  /* source outside the peer's networks */    \
	X(RV_DROP_BAD_INNER, "bad_inner")	  /* inner packet not valid IPv4/IPv6 */      \
	X(RV_DROP_NO_ROUTE, "no_route")		  /* TUN packet for no session */             \
	X(RV_DROP_LINK_SCOPE, "link_scope")	  /* multicast/link-local destination */      \
	X(RV_DROP_NO_BUF, "no_buf")		  /* every buffer in flight */                \
	X(RV_DROP_TOO_BIG, "too_big")		  /* larger than the tunnel MTU */            \
	X(RV_DROP_BAD_VNET, "bad_vnet")		  /* malformed virtio_net_hdr/GSO */          \
	X(RV_DROP_TUN_WRITE, "tun_write")	  /* TUN write failed */                      \
	X(RV_DROP_UDP_SEND, "udp_send")		  /* UDP send failed */                       \
	X(RV_DROP_NO_ENDPOINT, "no_endpoint")	  /* peer endpoint unknown */                 \
	X(RV_DROP_AQM, "aqm")			  /* CoDel: receive queue stood too long */   \
	X(RV_DROP_C2C_OFF, "c2c_off")		  /* client-to-client, which is off */        \
	X(RV_DROP_TTL, "ttl_expired")		  /* forwarded with a TTL / hop limit of 1 */ \
	X(RV_DROP_ECN, "ecn")			  /* CE outside, Not-ECT inside (RFC 6040) */ \
	X(RV_DROP_NO_IPV6, "no_ipv6")		  /* IPv6 to a client whose TUN has none */   \
	X(RV_DROP_LOOP, "loop")			  /* our own datagram back from the TUN */    \
	X(RV_DROP_TX_NO_KEY, "tx_no_key")	  /* to send before the session's key */

#define RV_COUNTERS(X)                                     \
	X(RV_CTR_TX_PACKETS, "tx_packets")                 \
	X(RV_CTR_TX_BYTES, "tx_bytes")                     \
	X(RV_CTR_RX_PACKETS, "rx_packets")                 \
	X(RV_CTR_RX_BYTES, "rx_bytes")                     \
	X(RV_CTR_TUN_READS, "tun_reads")                   \
	X(RV_CTR_TUN_SMALL, "tun_small_reads")             \
	X(RV_CTR_TUN_WRITES, "tun_writes")                 \
	X(RV_CTR_TUN_GRO_TCP, "tun_gro_tcp")               \
	X(RV_CTR_TUN_GRO_UDP, "tun_gro_udp")               \
	X(RV_CTR_UDP_RECVS, "udp_recvs")                   \
	X(RV_CTR_UDP_SMALL, "udp_small_recvs")             \
	X(RV_CTR_UDP_SENDS, "udp_sends")                   \
	X(RV_CTR_KEEPALIVES, "keepalives_rx")              \
	X(RV_CTR_KEEPALIVE_ECHOES, "keepalive_echoes")     \
	X(RV_CTR_C2C_FORWARDED, "c2c_forwarded")           \
	X(RV_CTR_ENDPOINT_MOVES, "endpoint_moves")         \
	X(RV_CTR_ZC_SENDS, "zc_sends")                     \
	X(RV_CTR_ZC_COPIED, "zc_copied")                   \
	X(RV_CTR_ZC_RESENT, "zc_resent")                   \
	X(RV_CTR_GSO_SPLIT, "gso_split")                   \
	X(RV_CTR_ICMP_UNREACH, "icmp_unreach")             \
	X(RV_CTR_ICMP_TIME_EXCEEDED, "icmp_time_exceeded") \
	X(RV_CTR_ICMP_PARAM_PROBLEM, "icmp_param_problem") \
	X(RV_CTR_ECN_CE, "ecn_ce")                         \
	X(RV_CTR_AQM_CE, "aqm_ce")                         \
	X(RV_CTR_UDP_SOCK_DROPS, "udp_sock_drops") /* kept by the kernel: read at a snapshot */

/* Gauges: how deep each queue of the data plane is (the places a packet can
 * wait), set by the worker that owns the queue (q_udp_rcvq_bytes is read from
 * the kernel when a snapshot is taken). *_max are high-water marks since
 * start. */
#define RV_GAUGES(X)                                                                              \
	X(RV_GAUGE_TUN_BUFS_KERNEL, "q_tun_bufs_kernel")    /* TUN buffers the kernel may fill */ \
	X(RV_GAUGE_TUN_BUFS_HELD, "q_tun_bufs_held")	    /* read, not yet sealed/sent */       \
	X(RV_GAUGE_SEND_INFLIGHT, "q_udp_sends_inflight")   /* sendmsg not yet completed */       \
	X(RV_GAUGE_TX_BATCH_MAX, "q_tx_batch_bytes_max")    /* most bytes sealed in one turn */   \
	X(RV_GAUGE_UDP_BUFS_KERNEL, "q_udp_bufs_kernel")    /* UDP buffers the kernel may fill */ \
	X(RV_GAUGE_UDP_BUFS_HELD, "q_udp_bufs_held")	    /* received, TUN write pending */     \
	X(RV_GAUGE_WRITE_INFLIGHT, "q_tun_writes_inflight") /* TUN writes not yet completed */    \
	X(RV_GAUGE_RX_BATCH_MAX, "q_rx_batch_bytes_max")    /* most bytes opened in one turn */   \
	X(RV_GAUGE_UDP_SOJOURN_US, "q_udp_sojourn_us")	    /* last wait in the socket queue */   \
	X(RV_GAUGE_UDP_SOJOURN_MAX_US, "q_udp_sojourn_max_us") /* longest such wait */            \
	X(RV_GAUGE_UDP_RCVQ_BYTES, "q_udp_rcvq_bytes")	       /* socket receive queue now */

#define RV_ENUM_ENTRY(name, str) name,

enum rv_drop_reason { RV_DROP_REASONS(RV_ENUM_ENTRY) RV_DROP_MAX };
enum rv_counter { RV_COUNTERS(RV_ENUM_ENTRY) RV_CTR_MAX };
enum rv_gauge { RV_GAUGES(RV_ENUM_ENTRY) RV_GAUGE_MAX };

/* rv_drop_name / rv_counter_name return a static snake_case name. */
const char *rv_drop_name(enum rv_drop_reason r);
const char *rv_counter_name(enum rv_counter c);
const char *rv_gauge_name(enum rv_gauge g);

/* struct rv_counters: one per worker, one writer. */
struct rv_counters {
	_Atomic uint64_t ctr[RV_CTR_MAX];
	_Atomic uint64_t drop[RV_DROP_MAX];
} RV_CACHE_ALIGNED;

static inline void rv_ctr_add(struct rv_counters *c, enum rv_counter which, uint64_t n)
{
	uint64_t v = atomic_load_explicit(&c->ctr[which], memory_order_relaxed);
	atomic_store_explicit(&c->ctr[which], v + n, memory_order_relaxed);
}

static inline void rv_drop_add(struct rv_counters *c, enum rv_drop_reason why, uint64_t n)
{
	uint64_t v = atomic_load_explicit(&c->drop[why], memory_order_relaxed);
	atomic_store_explicit(&c->drop[why], v + n, memory_order_relaxed);
}

static inline uint64_t rv_ctr_get(const struct rv_counters *c, enum rv_counter which)
{
	return atomic_load_explicit(&c->ctr[which], memory_order_relaxed);
}

static inline uint64_t rv_drop_get(const struct rv_counters *c, enum rv_drop_reason why)
{
	return atomic_load_explicit(&c->drop[why], memory_order_relaxed);
}

/* struct rv_gauges: one per worker, one writer (the worker), any reader. */
struct rv_gauges {
	_Atomic uint64_t g[RV_GAUGE_MAX];
} RV_CACHE_ALIGNED;

static inline void rv_gauge_set(struct rv_gauges *g, enum rv_gauge which, uint64_t v)
{
	atomic_store_explicit(&g->g[which], v, memory_order_relaxed);
}

/* rv_gauge_max raises a high-water mark to |v| if it is larger. */
static inline void rv_gauge_max(struct rv_gauges *g, enum rv_gauge which, uint64_t v)
{
	if (v > atomic_load_explicit(&g->g[which], memory_order_relaxed)) {
		atomic_store_explicit(&g->g[which], v, memory_order_relaxed);
	}
}

static inline uint64_t rv_gauge_get(const struct rv_gauges *g, enum rv_gauge which)
{
	return atomic_load_explicit(&g->g[which], memory_order_relaxed);
}

/* rv_gauge_peak: is |g| a worker's high-water mark or last wait, whose
 * total over workers is the largest? Summed, two workers' turns of 300 KB
 * each made one of 600 KB, over the budget, and two waits one longer than
 * either (round-sixty-six tester 282). */
static inline bool rv_gauge_peak(enum rv_gauge g)
{
	return g == RV_GAUGE_TX_BATCH_MAX || g == RV_GAUGE_RX_BATCH_MAX ||
	       g == RV_GAUGE_UDP_SOJOURN_US || g == RV_GAUGE_UDP_SOJOURN_MAX_US;
}

#endif /* RV_CORE_COUNTERS_H */
