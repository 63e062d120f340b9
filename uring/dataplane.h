/*
 * dataplane.h — the io_uring data plane: N worker threads, each with its own
 * ring, TUN queue, UDP socket (SO_REUSEPORT, one port) and buffers.
 *
 * The data plane finds sessions only through the struct rv_demux it is given
 * and registers each worker as a reader of the given struct rv_qsbr; the
 * control thread installs and removes sessions there (see core/demux.h,
 * core/session.h). Nothing here allocates, locks or blocks per packet.
 *
 * Threads: rv_dataplane_start/stop from one thread (the control/main thread);
 * the getters are safe from any thread while the data plane runs.
 */
#ifndef RV_URING_DATAPLANE_H
#define RV_URING_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/counters.h"
#include "core/session.h"

struct rv_demux;
struct rv_qsbr;
struct rv_dataplane;

struct rv_dataplane_config {
	const char *tun_name;		/* interface name (created if absent), e.g. "rv0" */
	unsigned num_workers;		/* 0: one per CPU the process may use */
	enum rv_config_pin pin_workers; /* auto (0): when one per such CPU; yes; no */
	int worker_nice;		/* 0: leave the workers' priority alone */
	unsigned worker_rtprio;		/* > 0: SCHED_FIFO at this priority */
	unsigned worker_slice_us;	/* > 0: EEVDF slice to request, in us */
	bool steer_by_index;		/* server: worker = receiver index % workers */
	bool small_lane;		/* client: small packets on the last worker */
	bool icmp_unreach;		/* server: answer packets no session takes (core/icmp.h) */
	bool offline_at_ingress;	/* server: a client's packet to an offline client's
					 * address dropped (and answered) as it arrives */
	bool reply_from_local;		/* server: send to each peer from the address it sent to */
	unsigned max_peers;		/* server: sessions at most (the TUN lane table) */
	unsigned mtu;			/* tunnel MTU; 0: RV_DEFAULT_MTU */
	unsigned rx_mtu;		/* largest inner packet a peer sends; 0: mtu */
	uint16_t udp_port;		/* 0: ephemeral (shared by all workers) */
	bool udp_v6;			/* bind [::] dual-stack instead of 0.0.0.0 */
	bool offload_tun;		/* IFF_VNET_HDR + TUNSETOFFLOAD (TSO/csum) */
	bool offload_gso;		/* UDP_SEGMENT on send */
	bool offload_gro;		/* UDP_GRO on receive */
	enum rv_config_coalesce udp_coalesce; /* UDP runs written to the TUN as USO superframes */
	unsigned bufs_per_worker;	      /* 0: default */
	/* Queue bounds (0: the defaults below). */
	unsigned udp_rcvbuf;		     /* bytes of socket receive queue per worker */
	bool aqm_off;			     /* no CoDel on the UDP receive queues */
	bool ecn_off;			     /* outer ECN field 0, arriving ones ignored */
	unsigned aqm_target_us;		     /* CoDel target sojourn */
	unsigned aqm_interval_us;	     /* CoDel interval */
	uint32_t turn_budget;		     /* bytes read per loop turn; UINT32_MAX: no limit */
	enum rv_config_c2c client_to_client; /* server: kernel (0), internal, off */
	enum rv_config_zc zerocopy;	     /* auto (0), on, off */
	struct rv_demux *demux;		     /* borrowed; must outlive the data plane */
	struct rv_qsbr *qsbr;		     /* borrowed; must outlive the data plane */
};

/* Workers at most; the config's limit (core/config.c set_workers) too. */
enum { RV_MAX_WORKERS = 255 };

/* Defaults of the queue bounds (see README "Latency under load"). */
enum {
	RV_UDP_RCVBUF_DEFAULT = 4 << 20,
	RV_TUN_TXQUEUELEN_OFFLOAD = 256, /* TSO superframes: up to 64 KiB each */
	RV_TUN_TXQUEUELEN_PLAIN = 1024,	 /* MTU-sized packets */
	RV_TURN_BUDGET_DEFAULT = 256 << 10,
	RV_AQM_TARGET_US = 500,
	RV_AQM_INTERVAL_US = 10000,
	/* How long a start waits for a killed predecessor's data port. */
	RV_UDP_CLAIM_WAIT_MS = 3000,
};

/* rv_dataplane_start opens the TUN queues and sockets and starts the workers.
 * On success *out owns everything. Returns 0 or -errno (the log says which
 * resource failed). */
int rv_dataplane_start(struct rv_dataplane **out, const struct rv_dataplane_config *cfg);

/* rv_dataplane_stopping says in the lock of a fixed UDP port that this
 * process has begun to stop (rv_ns_lock_stopping). |dp| may be NULL. */
void rv_dataplane_stopping(struct rv_dataplane *dp);

/* rv_dataplane_stop stops and joins the workers and frees rings, buffers,
 * sockets and TUN queues. NULL ok. */
void rv_dataplane_stop(struct rv_dataplane *dp);

/* rv_dataplane_port returns the bound UDP port (host order). */
uint16_t rv_dataplane_port(const struct rv_dataplane *dp);
unsigned rv_dataplane_num_workers(const struct rv_dataplane *dp);

/* rv_dataplane_cpu_wait gives worker |i|'s thread's time spent runnable
 * without a CPU so far (the kernel's schedstat: run-queue wait, ns) and
 * the CPU it is pinned to (-1: none). 0, or -errno (not started yet, no
 * schedstat). Read by the control thread once a second (tls/starve.c). */
int rv_dataplane_cpu_wait(const struct rv_dataplane *dp, unsigned i, uint64_t *wait_ns, int *cpu);

/* rv_dataplane_lanes returns how many workers the receive side steers to by
 * receiver index (cfg.steer_by_index: rv_udp_steer_by_index), or 1 when it
 * does not steer (one worker, not asked, or the kernel refused). Give it to
 * rv_demux_set_lanes so that new sessions fill the workers evenly. */
unsigned rv_dataplane_lanes(const struct rv_dataplane *dp);
/* rv_dataplane_mtu: the tunnel MTU the workers carry (cfg.mtu). */
unsigned rv_dataplane_mtu(const struct rv_dataplane *dp);
const char *rv_dataplane_tun_name(const struct rv_dataplane *dp);
/* rv_dataplane_tun_queues: how many queues of the TUN device this data
 * plane holds (each worker's, and its small-packet one). */
unsigned rv_dataplane_tun_queues(const struct rv_dataplane *dp);

/* rv_dataplane_set_pools tells the workers the server's pools (|n|
 * prefixes, as rv_ippool_server_prefixes gives them; again after a reload
 * that changes them): the IPv4 pool's network and broadcast addresses are
 * the TUN link's own, and a packet to them is never answered with ICMP
 * (cfg.icmp_unreach); with client_to_client = off, a client's packet to a
 * pool address other than the server's is dropped even when no session
 * has it. Control thread. */
void rv_dataplane_set_pools(struct rv_dataplane *dp, const struct rv_prefix *addrs, size_t n);

/* rv_dataplane_set_no_ipv6 tells a client's workers that its TUN carries no
 * IPv6 (its MTU is below 1280, or IPv6 is disabled on it): an IPv6 packet
 * from the server is then dropped as no_ipv6 and answered with ICMPv6
 * "address unreachable" from the client's address, not taken for a spoof
 * (its source lies in no network the client routes into the tunnel) nor
 * written where the kernel drops it unsaid. Control thread. */
void rv_dataplane_set_no_ipv6(struct rv_dataplane *dp, bool off);

/* Most networks rv_dataplane_set_host_nets keeps. */
enum { RV_DP_HOST_NETS_MAX = 64 };

/* rv_dataplane_set_host_nets tells the workers what of the pools and the
 * networks behind clients the server's host holds or routes itself (its
 * own further addresses there, the IPv6 pool's subnet-router anycast, a
 * network behind a client whose route the host's own one beat): a
 * client's packet there goes to the server's kernel even when no session
 * has the address, never dropped as an offline client's (worker_rx.c
 * to_offline). |n| at most RV_DP_HOST_NETS_MAX; |all|: there are more,
 * and the workers cannot tell: every such packet goes to the kernel, as
 * without the drop. Control thread. */
void rv_dataplane_set_host_nets(struct rv_dataplane *dp, const struct rv_prefix *nets, size_t n,
				bool all);

/* rv_dataplane_lane_changed brings the TUN side's lane tables in step with
 * the demux for |key|, a session's own address (|own|) or a network behind
 * it: |owner|, the session that owns it now, gets its packets sent through
 * its lane's worker; with no owner the entry goes. Its arguments are those
 * of a demux watcher (rv_demux_watch), which is what calls it. A no-op
 * without lanes or without the tables (the kernel refused them). Control
 * thread. */
void rv_dataplane_lane_changed(struct rv_dataplane *dp, const struct rv_prefix *key, bool own,
			       const struct rv_session *owner);

/* rv_dataplane_pin steers the datagrams of the session with receiver index
 * |index| to worker |lane| (and its small ones to the next), whatever lane
 * its index names; |lane| == index % lanes undoes it. With rv_demux_move
 * for the TUN side, this moves a session to another worker. Returns 0,
 * -EINVAL (no lanes, |lane| out of range), -ENOSPC (RV_UDP_MAX_PINS
 * sessions pinned already) or the kernel's error (nothing changed).
 *
 * rv_dataplane_prune_pins drops the pins of sessions that left (or whose
 * index a new session took), and returns how many pins are left.
 * Control thread. */
int rv_dataplane_pin(struct rv_dataplane *dp, uint32_t index, unsigned lane);
unsigned rv_dataplane_prune_pins(struct rv_dataplane *dp);
/* rv_dataplane_pins returns how many sessions are pinned. Control thread. */
unsigned rv_dataplane_pins(const struct rv_dataplane *dp);

/* rv_dataplane_lane_entries returns how many entries (addresses and
 * networks) the TUN lane tables hold, -1 without the tables. Control
 * thread. */
long rv_dataplane_lane_entries(const struct rv_dataplane *dp);

/* rv_dataplane_counters snapshots worker |idx|'s counters into |out| (or the
 * sum of all workers when idx == UINT32_MAX). udp_sock_drops is read from the
 * kernel (one getsockopt per worker); worker 0's udp_sends include the
 * keepalives rv_dataplane_send_keepalive sent on its socket. Any thread. */
void rv_dataplane_counters(const struct rv_dataplane *dp, unsigned idx, struct rv_counters *out);

/* rv_dataplane_tun_drops reads from the kernel how many packets the TUN
 * device dropped on their way to the workers (its tx_dropped: a queue was
 * full because its worker did not read in time, or no queue was attached)
 * since it was created. One rtnetlink request; control thread. Returns 0
 * or -errno. */
int rv_dataplane_tun_drops(const struct rv_dataplane *dp, uint64_t *out);

/* rv_dataplane_gauges snapshots worker |idx|'s queue depths into |out| (or
 * the sum over all workers when idx == UINT32_MAX; high-water marks are
 * summed too, as an upper bound). Reads each UDP socket's receive queue from
 * the kernel (one getsockopt per worker). Any thread. */
void rv_dataplane_gauges(const struct rv_dataplane *dp, unsigned idx, struct rv_gauges *out);

/* rv_dataplane_rekey_fd returns an eventfd (non-blocking, owned by |dp|)
 * that becomes readable when a worker finds a session's sending epoch near
 * a limit (RV_SESSION_REKEY_SOON): the control loop reads it and asks those
 * sessions (rv_session_rekey_requested) instead of polling every session;
 * also when the TUN device is gone (rv_dataplane_failed).
 * -1 when |dp| is NULL or the eventfd could not be made. */
int rv_dataplane_rekey_fd(const struct rv_dataplane *dp);

/* rv_dataplane_failed returns 0, or -errno once a worker found the TUN
 * device gone (deleted by someone else: its queues fail every read). The
 * same eventfd as above becomes readable then. Any thread. */
int rv_dataplane_failed(const struct rv_dataplane *dp);

/* rv_dataplane_ring_failed returns 0, or -errno once a worker's
 * io_uring_enter has failed on every call for 10 s (a filter that refuses
 * it, memory that does not come back), with the worker in |*worker|. The
 * same eventfd becomes readable then. Any thread. */
int rv_dataplane_ring_failed(const struct rv_dataplane *dp, unsigned *worker);

/* rv_dataplane_send_keepalive sends an empty data message to |s|'s endpoint,
 * flagged RV_DATA_F_ECHO if |echo| (the peer answers with one):
 * sealed on the calling thread (sealing is thread-safe) and sent without
 * blocking on worker 0's socket, where a sent one is counted in udp_sends
 * (rv_dataplane_counters). Control thread. Returns 0, -ENOKEY or
 * -EKEYEXPIRED (no usable sending epoch), -EDESTADDRREQ (endpoint unknown)
 * or the sendto error. */
int rv_dataplane_send_keepalive(struct rv_dataplane *dp, struct rv_session *s, bool echo);

#endif /* RV_URING_DATAPLANE_H */
