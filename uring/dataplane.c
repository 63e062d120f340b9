/*
 * dataplane.c — starting and stopping the workers (see dataplane.h).
 *
 * Start: open one TUN queue and one UDP socket per worker here (so errors
 * are reported with their resource), set the TUN offloads once for the
 * device, then start the threads; each builds its own ring and buffers (a
 * SINGLE_ISSUER ring belongs to the thread that creates it) and reports
 * back. Any failure stops the workers already running and frees everything.
 *
 * Stop: set each worker's stop flag, poke its eventfd, join; the worker
 * tears down its ring before its buffers. Then the fds are closed.
 */
#include "uring/dataplane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/gso.h"
#include "core/log.h"
#include "uring/compat.h"
#include "uring/holder.h"
#include "uring/internal.h"
#include "uring/rtnl.h"
#include "uring/sock.h"
#include "uring/tun.h"

static void worker_free(struct rv_worker *w)
{
	if (w == NULL) {
		return;
	}
	if (w->wake_fd >= 0) {
		close(w->wake_fd);
	}
	if (w->udp_small_fd >= 0) {
		close(w->udp_small_fd);
	}
	if (w->udp_fd >= 0) {
		close(w->udp_fd);
	}
	if (w->tun_small_fd >= 0) {
		close(w->tun_small_fd);
	}
	if (w->tun_fd >= 0) {
		close(w->tun_fd);
	}
	free(w);
}

static void stop_workers(struct rv_dataplane *dp)
{
	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w = dp->workers[i];
		uint64_t one = 1;

		if (w == NULL || !w->thread_started) {
			continue;
		}
		atomic_store_explicit(&w->stop, true, memory_order_release);
		if (write(w->wake_fd, &one, sizeof(one)) < 0) {
			rv_warn(-errno, "worker %u: wake", i);
		}
	}
	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w = dp->workers[i];
		if (w != NULL && w->thread_started) {
			pthread_join(w->thread, NULL);
			w->thread_started = false;
		}
	}
}

static void dp_free(struct rv_dataplane *dp)
{
	if (dp->workers != NULL) {
		for (unsigned i = 0; i < dp->num_workers; i++) {
			worker_free(dp->workers[i]);
		}
		free(dp->workers);
	}
	if (dp->rekey_fd >= 0) {
		close(dp->rekey_fd);
	}
	if (dp->lane_map_fd >= 0) {
		close(dp->lane_map_fd);
	}
	if (dp->net_map_fd >= 0) {
		close(dp->net_map_fd);
	}
	if (dp->port_lock_fd >= 0) {
		close(dp->port_lock_fd);
	}
	/* No worker runs: the current pools need no grace period (retired
	 * ones are the QSBR domain's to free). */
	free(atomic_load(&dp->pools));
	free(atomic_load(&dp->host_nets));
	pthread_cond_destroy(&dp->cond);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
}

void rv_dataplane_note_rekey(struct rv_dataplane *dp)
{
	uint64_t one = 1;

	/* Non-blocking: a counter already at its limit has a wake-up pending. */
	if (dp->rekey_fd >= 0 && write(dp->rekey_fd, &one, sizeof(one)) < 0) {
		return;
	}
}

void rv_dataplane_note_tun_gone(struct rv_dataplane *dp, int err)
{
	int none = 0;

	if (atomic_compare_exchange_strong(&dp->tun_err, &none, err)) {
		rv_dataplane_note_rekey(dp);
	}
}

int rv_dataplane_failed(const struct rv_dataplane *dp)
{
	return dp ? atomic_load(&dp->tun_err) : 0;
}

void rv_dataplane_note_ring_failed(struct rv_dataplane *dp, unsigned id, int err)
{
	int none = 0;

	atomic_store(&dp->ring_worker, id);
	if (atomic_compare_exchange_strong(&dp->ring_err, &none, err)) {
		rv_dataplane_note_rekey(dp);
	}
}

int rv_dataplane_ring_failed(const struct rv_dataplane *dp, unsigned *worker)
{
	if (dp == NULL) {
		return 0;
	}
	*worker = atomic_load(&dp->ring_worker);
	return atomic_load(&dp->ring_err);
}

int rv_dataplane_rekey_fd(const struct rv_dataplane *dp)
{
	return dp ? dp->rekey_fd : -1;
}

void rv_dataplane_stopping(struct rv_dataplane *dp)
{
	if (dp != NULL) {
		rv_ns_lock_stopping(dp->port_lock_fd);
	}
}

void rv_dataplane_stop(struct rv_dataplane *dp)
{
	if (dp == NULL) {
		return;
	}
	stop_workers(dp);
	dp_free(dp);
}

/* set_tun_offload asks for TSO/checksum offload (and USO where the kernel has
 * it), falling back step by step; returns the flags accepted (0: none). */
static unsigned set_tun_offload(int fd)
{
	static const unsigned tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		ret = rv_tun_set_offload(fd, tries[i]);
		if (ret == 0) {
			return tries[i];
		}
	}
	rv_warn(ret, "TUNSETOFFLOAD refused; TUN segmentation offload off");
	return 0;
}

/* say_udp_held says who holds UDP |port| ("UDP port N |what| [after W
 * ms]: process ..."; |waited| < 0: no wait), as far as /proc tells. */
static void say_udp_held(uint16_t port, const char *what, long waited)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	char who[256], after[32] = "";

	if (waited >= 0) {
		snprintf(after, sizeof(after), " after %ld ms", waited);
	}
	if (rv_port_holder(IPPROTO_UDP, (struct sockaddr *)&any, who, sizeof(who))) {
		rv_warnx("UDP port %u %s%s: %s", port, what, after, who);
	} else {
		rv_warnx("UDP port %u %s%s (another ringvpn, or another program?)", port, what,
			 after);
	}
}

static int open_worker_io(struct rv_dataplane *dp, struct rv_worker *w, bool vnet)
{
	const struct rv_dataplane_config *cfg = &dp->cfg;
	char name[IFNAMSIZ];
	int ret;

	/* Queue 0 creates the device afresh (or adopts an idle persistent
	 * one), never joining a device somebody else holds (uring/tun.h). */
	ret = rv_tun_open(dp->tun_name[0] ? dp->tun_name : cfg->tun_name, vnet, w->id == 0, name,
			  &w->tun_fd);
	if (ret < 0) {
		rv_warn(ret, "TUN %s queue %u", cfg->tun_name ? cfg->tun_name : "", w->id);
		return ret;
	}
	if (dp->tun_name[0] == '\0') {
		memcpy(dp->tun_name, name, IFNAMSIZ);
		dp->tun_ifindex = if_nametoindex(name);
	}
	if (w->id == 0 && cfg->udp_port != 0) {
		unsigned waited;
		char port[8];

		/* Two ringvpn processes given one port (two clients with one
		 * local_port) could both pass the check below, each between
		 * the other's check and bind, and share the port: a lock of
		 * the port's, taken first, lets one through. */
		snprintf(port, sizeof(port), "%u", (unsigned)cfg->udp_port);
		ret = rv_ns_lock("udp", "UDP port", port, &dp->port_lock_fd);
		if (ret == -EBUSY) {
			/* Another ringvpn's: named as another program's is
			 * (it was "Address already in use" alone: round-sixty-
			 * seven tester 291). */
			say_udp_held(cfg->udp_port, "is taken by another ringvpn", -1);
			return -EADDRINUSE;
		}
		if (ret == -EINTR) {
			return ret; /* stopped while waiting */
		}
		/* Said, as the TUN's is: the bind below goes on without it
		 * (it went unsaid: round-sixty-eight tester 303). */
		if (ret) {
			rv_warn(ret,
				"UDP port %u: no ownership lock in %s (continuing; two ringvpn "
				"processes given this port may then both pass the check for a "
				"free port)",
				(unsigned)cfg->udp_port, RV_TUN_LOCK_DIR);
		}
		ret = rv_udp_wait_free(cfg->udp_port, cfg->udp_v6, RV_UDP_CLAIM_WAIT_MS, &waited);
		if (ret == -EADDRINUSE) {
			say_udp_held(cfg->udp_port, "is still held by another socket",
				     (long)waited);
			return ret;
		}
		if (ret == -EINTR) {
			return ret;
		}
		if (ret == 0 && waited > 0) {
			rv_info("UDP port %u: waited %u ms for the previous owner's sockets to "
				"go away",
				cfg->udp_port, waited);
		}
	}
	ret = rv_udp_open(w->id == 0 ? cfg->udp_port : dp->port, cfg->udp_v6, &w->udp_fd);
	if (ret < 0) {
		/* No IPv6 on this kernel: the caller starts again on IPv4,
		 * and says so (it was a warning before an IPv4 start). */
		if (ret != -EAFNOSUPPORT || !cfg->udp_v6) {
			rv_warn(ret, "UDP socket port %u (worker %u)",
				(unsigned)(w->id == 0 ? cfg->udp_port : dp->port), w->id);
		}
		return ret;
	}
	if (w->id == 0) {
		dp->port = rv_udp_port(w->udp_fd);
	}
	w->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (w->wake_fd < 0) {
		ret = -errno;
		rv_warn(ret, "eventfd");
		return ret;
	}
	w->vnet = vnet;
	w->udp_v6 = cfg->udp_v6;
	w->mtu = cfg->mtu ? cfg->mtu : RV_DEFAULT_MTU;
	w->rx_mtu = cfg->rx_mtu > w->mtu ? cfg->rx_mtu : w->mtu;
	w->gso = cfg->offload_gso;
	if (w->gso && !rv_udp_gso_supported(w->udp_fd)) {
		if (w->id == 0) {
			rv_warnx("UDP_SEGMENT not supported; UDP GSO off");
		}
		w->gso = false;
	}
	ret = rv_udp_set_rcvbuf(w->udp_fd,
				(int)(cfg->udp_rcvbuf ? cfg->udp_rcvbuf : RV_UDP_RCVBUF_DEFAULT));
	if (ret < 0 && w->id == 0) {
		rv_warn(ret, "UDP receive buffer (continuing)");
	}
	w->c2c = cfg->client_to_client;
	w->offline_at_ingress = cfg->offline_at_ingress;
	w->ecn = !cfg->ecn_off;
	w->aqm = !cfg->aqm_off && rv_udp_enable_rx_timestamps(w->udp_fd) == 0;
	w->pktinfo = cfg->reply_from_local;
	if (w->pktinfo) {
		ret = rv_udp_enable_pktinfo(w->udp_fd, cfg->udp_v6);
		if (ret < 0) {
			/* Not fatal: replies then leave from the route's
			 * source, right on a host with one address. */
			if (w->id == 0) {
				rv_warn(ret, "IP_PKTINFO refused: replies leave from the route's "
					     "source address");
			}
			w->pktinfo = false;
		}
	}
	if (!cfg->aqm_off && !w->aqm && w->id == 0) {
		rv_warnx("SO_TIMESTAMPNS refused: no AQM on the UDP receive queues");
	}
	w->gro = cfg->offload_gro;
	if (w->gro) {
		ret = rv_udp_enable_gro(w->udp_fd);
		if (ret < 0) {
			if (w->id == 0) {
				rv_warn(ret, "UDP_GRO refused; UDP GRO off");
			}
			w->gro = false;
		}
	}
	return 0;
}

/* bpf_hint completes the warning for a program the kernel would not load. */
static const char *bpf_hint(int err)
{
	return err == -EPERM ? "; loading the program needs CAP_BPF" : "";
}

/* steer_tun attaches the program |prog_fd| as the TUN device's queue
 * selector and closes it; if |prog_fd| is -errno instead (the program could
 * not be loaded), it returns that and restores the kernel's own choice.
 * Returns 0 or -errno. */
static int steer_tun(struct rv_dataplane *dp, int prog_fd)
{
	int ret;

	if (prog_fd < 0) {
		(void)rv_tun_steer(dp->workers[0]->tun_fd, -1);
		return prog_fd;
	}
	ret = rv_tun_steer(dp->workers[0]->tun_fd, prog_fd);
	close(prog_fd);
	return ret;
}

/* set_small_lane gives a client's small packets (pings, ACKs, DNS: the
 * small class of the workers' queues) a worker of their own, the last, in
 * both directions; bulk flows keep the others. The kernel's own choice puts
 * everything of one session on one worker (the one its peer's address hashes
 * to, and on the TUN side the one that last wrote a flow's packet), where a
 * ping waits behind the superframes of a transfer. Only when the TUN side
 * steers does the socket side follow: steering received datagrams by size
 * alone would move a bulk flow's transmit queue back and forth with the
 * size of the ACKs last written for it. */
static void set_small_lane(struct rv_dataplane *dp)
{
	unsigned n = dp->num_workers, small_max = RV_PRIO_MAX_LEN;
	int ret;

	ret = steer_tun(dp, rv_tun_prog_by_size(n, small_max));
	if (ret < 0) {
		rv_warn(ret,
			"%s: steering small packets to a worker of their own (continuing "
			"without: they may wait behind bulk traffic%s)",
			dp->tun_name, bpf_hint(ret));
		return;
	}
	ret = rv_udp_steer_by_size(dp->workers[0]->udp_fd, n - 1, small_max + RV_DATA_OVERHEAD);
	if (ret < 0) {
		rv_warn(ret,
			"steering small received datagrams to worker %u (continuing: only "
			"sent packets are steered)",
			n - 1);
		return;
	}
	rv_info("packets of at most %u bytes go through worker %u, both ways; bulk through "
		"the other%s",
		small_max, n - 1, n > 2 ? "s" : "");
}

/* open_small_tun_queues gives a server's every worker a second TUN queue,
 * for small packets alone, attached after all the workers' own, so that
 * worker i's is queue num_workers + i. The kernel's TUN queue drops at its
 * end rather than hold a sender back, and a TCP sender on the server (a
 * download to one client) fills its queue to that end: the small packets
 * sharing it, other clients' ping replies and ACKs, were dropped with it
 * (11-25 % of another client's pings: round-sixteen tester 77). All or
 * none: false (none left) when one cannot be opened. */
static bool open_small_tun_queues(struct rv_dataplane *dp, bool vnet)
{
	/* The kernel's limit (MAX_TAP_QUEUES): past it the attach fails with
	 * E2BIG at one worker, and the line named that worker alone while
	 * every worker went without (round-twenty-four tester 106). */
	enum { TUN_MAX_QUEUES = 256 };

	if (dp->num_workers > TUN_MAX_QUEUES / 2) {
		rv_warnx("%s: %u workers, and a TUN device has at most %d queues: no worker has "
			 "a small-packet queue (a small packet may be dropped with bulk at a TUN "
			 "queue's end)",
			 dp->tun_name, dp->num_workers, TUN_MAX_QUEUES);
		return false;
	}
	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w = dp->workers[i];
		char name[IFNAMSIZ];
		int ret = rv_tun_open(dp->tun_name, vnet, false, name, &w->tun_small_fd);

		if (ret < 0) {
			rv_warn(ret,
				"%s: small-packet queue of worker %u: no worker has one (a small "
				"packet may be dropped with bulk at a TUN queue's end)",
				dp->tun_name, i);
			for (unsigned j = 0; j < i; j++) {
				close(dp->workers[j]->tun_small_fd);
				dp->workers[j]->tun_small_fd = -1;
			}
			return false;
		}
	}
	return true;
}

/* close_small_sockets closes every worker's small socket. The workers' own
 * keep their numbers in the group: the kernel fills a closed socket's place
 * with the group's last, and the small ones were bound last. */
static void close_small_sockets(struct rv_dataplane *dp)
{
	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w = dp->workers[i];

		if (w->udp_small_fd >= 0) {
			close(w->udp_small_fd);
			w->udp_small_fd = -1;
		}
	}
}

/* open_small_sockets gives every worker a small socket (rv_udp_open_small),
 * bound after all the workers' own sockets, so worker i's is number
 * num_workers + i of the group. Without them a small datagram steered to a
 * busy worker waits in that worker's socket queue behind whatever bulk the
 * kernel queued there while the worker was off the CPU: with eight clients
 * sending to a two-CPU server that queue stood at 3-9 MB and 10-50 ms. All
 * or none: returns false (and has closed them) when one cannot be opened. */
static bool open_small_sockets(struct rv_dataplane *dp)
{
	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w = dp->workers[i];
		int ret = rv_udp_open_small(w->udp_fd, dp->cfg.udp_v6, w->gro, &w->udp_small_fd);

		/* Its receives share the worker's recvmsg template. */
		if (ret == 0 && w->pktinfo) {
			ret = rv_udp_enable_pktinfo(w->udp_small_fd, dp->cfg.udp_v6);
			if (ret < 0) {
				close(w->udp_small_fd);
				w->udp_small_fd = -1;
			}
		}
		if (ret < 0) {
			rv_warn(ret,
				"small-datagram socket of worker %u (continuing without: a "
				"small packet may wait behind bulk in the socket queue)",
				i);
			close_small_sockets(dp);
			return false;
		}
	}
	return true;
}

/* set_tun_lanes makes a server's TUN side pick the worker its receive side
 * does (rv_udp_steer_by_index): a session's bulk through its lane, its small
 * packets through the next (its small queue, with dp->tun_small). Left to
 * itself, the kernel sends a flow out through the queue of whichever worker
 * last wrote one of its packets: a download's flow then moves between two
 * workers with the size of the ACKs last received (small ones reach the
 * next worker, trains of them the session's own) and arrives reordered. */
static void set_tun_lanes(struct rv_dataplane *dp)
{
	int hosts_fd, nets_fd, ret;

	/* Room for a v4 and a v6 address per allowed client, and for every
	 * network the configuration can name twice over (a reload hands a
	 * network over by adding it to its new owner first). */
	hosts_fd = rv_tun_lanes_new(dp->cfg.max_peers ? 2 * dp->cfg.max_peers : 1024);
	nets_fd = hosts_fd < 0 ? hosts_fd : rv_tun_nets_new(2 * RV_CONFIG_MAX_SUBNETS);
	ret = steer_tun(dp, nets_fd < 0 ? nets_fd
					: rv_tun_prog_by_lane(dp->num_workers, RV_PRIO_MAX_LEN,
							      hosts_fd, nets_fd, dp->tun_small));
	if (ret < 0) {
		rv_warn(ret,
			"%s: steering sent packets to their session's worker (continuing "
			"without: a flow may move between workers and arrive reordered%s)",
			dp->tun_name, bpf_hint(ret));
		if (hosts_fd >= 0) {
			close(hosts_fd);
		}
		if (nets_fd >= 0) {
			close(nets_fd);
		}
		return;
	}
	dp->lane_map_fd = hosts_fd;
	dp->net_map_fd = nets_fd;
}

void rv_dataplane_lane_changed(struct rv_dataplane *dp, const struct rv_prefix *key, bool own,
			       const struct rv_session *owner)
{
	int ret;

	if (dp == NULL || dp->lane_map_fd < 0) {
		return;
	}
	if (owner != NULL) {
		unsigned lane = rv_demux_lane_of(owner);

		ret = own ? rv_tun_lane_set(dp->lane_map_fd, &key->addr, lane)
			  : rv_tun_net_set(dp->net_map_fd, key, lane);
		dp->lane_entries += ret > 0;
	} else {
		ret = own ? rv_tun_lane_clear(dp->lane_map_fd, &key->addr)
			  : rv_tun_net_clear(dp->net_map_fd, key);
		dp->lane_entries -= ret > 0;
	}
	if (ret < 0 && !dp->lane_map_warned) {
		/* The tables have room for two addresses per allowed client
		 * and every network twice, so this is the kernel's memory
		 * running out: that peer's packets take the fallback lane,
		 * the one their address picks. */
		dp->lane_map_warned = true;
		rv_warn(ret,
			"%s: TUN lane table (continuing: some sessions send through the "
			"worker their address picks)",
			dp->tun_name);
	}
}

/* commit_pins gives the socket group the program for the pins |next| (made
 * aside: the kernel may refuse it, and then the group keeps the program of
 * the pins as they were) and keeps them when it takes it. */
static int commit_pins(struct rv_dataplane *dp, const struct rv_udp_pin *next, unsigned n)
{
	int ret =
		rv_udp_steer_by_index(dp->workers[0]->udp_fd, dp->num_workers,
				      RV_PRIO_MAX_LEN + RV_DATA_OVERHEAD, dp->small_base, next, n);

	if (ret == 0) {
		memcpy(dp->pins, next, n * sizeof(next[0]));
		dp->npins = n;
	}
	return ret;
}

int rv_dataplane_pin(struct rv_dataplane *dp, uint32_t index, unsigned lane)
{
	struct rv_udp_pin next[RV_UDP_MAX_PINS];
	unsigned i, n = dp->npins;

	if (dp->lanes <= 1 || lane >= dp->lanes) {
		return -EINVAL;
	}
	memcpy(next, dp->pins, n * sizeof(next[0]));
	for (i = 0; i < n && next[i].index != index; i++) {
	}
	if (lane == index % dp->lanes) {
		if (i == n) {
			return 0;
		}
		next[i] = next[--n];
	} else if (i < n) {
		next[i].lane = lane;
	} else if (n == RV_UDP_MAX_PINS) {
		return -ENOSPC;
	} else {
		next[n++] = (struct rv_udp_pin){ .index = index, .lane = lane };
	}
	return commit_pins(dp, next, n);
}

unsigned rv_dataplane_prune_pins(struct rv_dataplane *dp)
{
	struct rv_udp_pin keep[RV_UDP_MAX_PINS];
	unsigned n = 0;

	for (unsigned i = 0; i < dp->npins; i++) {
		const struct rv_session *s = rv_demux_by_index(dp->cfg.demux, dp->pins[i].index);

		/* Gone, or a new session under a reused index: back home. */
		if (s != NULL && rv_demux_lane_of(s) == dp->pins[i].lane) {
			keep[n++] = dp->pins[i];
		}
	}
	/* One new program for all that went (a refused one is tried again
	 * at the next prune). */
	if (n != dp->npins) {
		(void)commit_pins(dp, keep, n);
	}
	return dp->npins;
}

unsigned rv_dataplane_pins(const struct rv_dataplane *dp)
{
	return dp->npins;
}

long rv_dataplane_lane_entries(const struct rv_dataplane *dp)
{
	return dp != NULL && dp->lane_map_fd >= 0 ? (long)dp->lane_entries : -1;
}

/* allowed_cpus lists, in order, the CPUs this process may run on (a cpuset
 * or systemd's CPUAffinity= may leave out some of the online ones), at most
 * |max| of them. Returns how many, 0 when the mask cannot be read. */
static unsigned allowed_cpus(int *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		return 0;
	}
	for (int c = 0; c < CPU_SETSIZE && n < max; c++) {
		if (CPU_ISSET(c, &set)) {
			cpus[n++] = c;
		}
	}
	return n;
}

int rv_dataplane_start(struct rv_dataplane **out, const struct rv_dataplane_config *cfg)
{
	struct rv_dataplane *dp;
	unsigned mtu = cfg->mtu ? cfg->mtu : RV_DEFAULT_MTU;
	bool vnet = cfg->offload_tun, pin, small;
	char coalesce[16];
	int cpus[RV_MAX_WORKERS];
	unsigned ncpus;
	int ret;

	*out = NULL;
	if (cfg->demux == NULL || cfg->qsbr == NULL || mtu < RV_MIN_MTU || mtu > RV_MAX_MTU) {
		return -EINVAL;
	}
	dp = calloc(1, sizeof(*dp));
	if (dp == NULL) {
		return -ENOMEM;
	}
	dp->cfg = *cfg;
	dp->cfg.mtu = mtu;
	/* Without it the control thread still notices at the session's next
	 * keepalive tick. */
	dp->rekey_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dp->lane_map_fd = -1;
	dp->net_map_fd = -1;
	dp->port_lock_fd = -1;
	pthread_mutex_init(&dp->lock, NULL);
	pthread_cond_init(&dp->cond, NULL);
	ncpus = allowed_cpus(cpus, ARRAY_SIZE(cpus));
	dp->num_workers = cfg->num_workers;
	if (dp->num_workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		dp->num_workers = ncpus ? ncpus : n > 0 ? (unsigned)n : 1;
	}
	if (dp->num_workers > RV_MAX_WORKERS) {
		dp->num_workers = RV_MAX_WORKERS;
	}
	pin = ncpus > 0 && (cfg->pin_workers == RV_CONFIG_PIN_YES ||
			    (cfg->pin_workers == RV_CONFIG_PIN_AUTO && dp->num_workers == ncpus));
	if (ncpus > 0 && dp->num_workers > ncpus) {
		/* Said: they take turns on the CPUs (round-seventeen tester 80). */
		rv_warnx("%u workers share the %u CPU(s) this process may use%s: they take turns "
			 "(workers = %u, or fewer, runs each on a CPU of its own)",
			 dp->num_workers, ncpus, pin ? ", pinned" : "", ncpus);
	}
	dp->workers = calloc(dp->num_workers, sizeof(*dp->workers));
	if (dp->workers == NULL) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w =
			aligned_alloc(RV_CACHELINE, (sizeof(*w) + RV_CACHELINE - 1) / RV_CACHELINE *
							    RV_CACHELINE);
		if (w == NULL) {
			ret = -ENOMEM;
			goto err_free;
		}
		memset(w, 0, sizeof(*w));
		w->dp = dp;
		w->id = i;
		w->cpu = pin ? cpus[i % ncpus] : -1;
		w->tun_fd = w->tun_small_fd = w->udp_fd = w->udp_small_fd = w->wake_fd = -1;
		rv_refusals_init(&w->refusals, rv_worker_say_refusal, w);
		dp->workers[i] = w;
		ret = open_worker_io(dp, w, vnet);
		if (ret < 0) {
			goto err_free;
		}
		if (i == 0 && vnet) {
			dp->tun_offload_flags = set_tun_offload(w->tun_fd);
		}
		/* A kernel that takes TUN_F_USO* (6.2) also takes GSO_UDP_L4
		 * superframes written to the TUN; an older one refuses them. */
		if (vnet && (dp->tun_offload_flags & (TUN_F_USO4 | TUN_F_USO6)) ==
				    (TUN_F_USO4 | TUN_F_USO6)) {
			w->uso_max = cfg->udp_coalesce == RV_CONFIG_COALESCE_YES ? RV_GRO_MAX_LEN
				     : cfg->udp_coalesce == RV_CONFIG_COALESCE_AUTO
					     ? RV_GRO_UDP_AUTO_MAX
					     : 0;
		}
	}
	dp->lanes = 1;
	dp->tun_small = cfg->steer_by_index && open_small_tun_queues(dp, vnet);
	/* A server's workers each read small datagrams through a socket of
	 * their own (open_small_sockets). A client's do not: in the
	 * many-client benchmark the second socket took nearly all of an
	 * upload's ACKs and gained nothing, since a client's socket queue did
	 * not stand (README, "Many clients"); a client with two workers or
	 * more gives its small packets a worker of their own instead. */
	small = cfg->steer_by_index && open_small_sockets(dp);
	if (cfg->steer_by_index && dp->num_workers > 1) {
		/* Every socket of the group is bound, worker i's as number i:
		 * from here on a session's datagrams reach the worker its
		 * receiver index names, not the one its address hashes to, so
		 * the control thread can spread sessions evenly. Its small
		 * ones (the small class of the workers' queues) go to the next
		 * worker's small socket, so a ping or an ACK waits neither for
		 * its own session's bulk turn nor behind other sessions' bulk
		 * in a socket queue. */
		dp->small_base = small ? dp->num_workers : 0;
		ret = rv_udp_steer_by_index(dp->workers[0]->udp_fd, dp->num_workers,
					    RV_PRIO_MAX_LEN + RV_DATA_OVERHEAD, dp->small_base,
					    NULL, 0);
		if (ret == 0) {
			dp->lanes = dp->num_workers;
			set_tun_lanes(dp);
		} else {
			rv_warn(ret, "steering datagrams to workers by session (continuing: "
				     "spread by address hash)");
			small = false;
		}
	} else if (small) {
		/* One worker: its small socket takes the small datagrams. */
		ret = rv_udp_steer_by_size(dp->workers[0]->udp_fd, 1,
					   RV_PRIO_MAX_LEN + RV_DATA_OVERHEAD);
		if (ret < 0) {
			rv_warn(ret, "steering small datagrams to a socket of their own "
				     "(continuing without)");
			small = false;
		}
	}
	if (small) {
		rv_info("datagrams of at most %u bytes have a socket of their own in each worker",
			RV_PRIO_MAX_LEN + RV_DATA_OVERHEAD);
	} else {
		/* Unsteered, the group would hash bulk onto them too. */
		close_small_sockets(dp);
	}
	if (cfg->small_lane && dp->num_workers > 1) {
		set_small_lane(dp);
	} else if (dp->tun_small && dp->num_workers == 1) {
		/* One worker: its small queue (1) takes the small packets. */
		ret = steer_tun(dp, rv_tun_prog_by_size(2, RV_PRIO_MAX_LEN));
		if (ret < 0) {
			rv_warn(ret,
				"%s: steering small packets to a queue of their own "
				"(continuing without%s)",
				dp->tun_name, bpf_hint(ret));
		}
	} else if (dp->lane_map_fd < 0) {
		/* The kernel's choice, whatever an earlier holder of an adopted
		 * device left there. */
		(void)rv_tun_steer(dp->workers[0]->tun_fd, -1);
	}
	ret = rv_tun_set_mtu(dp->tun_name, mtu);
	if (ret < 0) {
		rv_warn(ret, "%s: set MTU %u", dp->tun_name, mtu);
		goto err_free;
	}
	/* The TUN queue holds what TCP sent and we have not read yet; the
	 * kernel (6.18) drops at its end rather than stopping the queue, so
	 * its length bounds the wait in it. With offloads an entry can be a
	 * 64 KiB superframe. */
	ret = rv_tun_set_txqueuelen(dp->tun_name, dp->tun_offload_flags ? RV_TUN_TXQUEUELEN_OFFLOAD
									: RV_TUN_TXQUEUELEN_PLAIN);
	if (ret < 0) {
		rv_warn(ret, "%s: txqueuelen (continuing)", dp->tun_name);
	}
	/* A superframe of more segments than a worker cuts is dropped as
	 * malformed; the kernel cuts such ones itself once told. */
	if (dp->tun_offload_flags) {
		ret = rv_tun_set_gso_max_segs(dp->tun_name, RV_GSO_MAX_SEGS);
		if (ret < 0) {
			rv_warn(ret,
				"%s: gso_max_segs %u (continuing; a TCP flow with an MSS "
				"below about %u bytes will lose its larger superframes)",
				dp->tun_name, RV_GSO_MAX_SEGS, 65535 / RV_GSO_MAX_SEGS);
		}
	}
	ret = rv_tun_set_fq_codel(dp->tun_name, dp->num_workers);
	if (ret == -ENOENT) {
		rv_info("%s: this kernel has no fq_codel qdisc; the TUN queues keep the default",
			dp->tun_name);
	} else if (ret < 0) {
		rv_warn(ret, "%s: fq_codel qdisc (continuing with the default)", dp->tun_name);
	}
	ret = rv_tun_no_router_solicitations(dp->tun_name);
	if (ret < 0) {
		rv_debug("%s: router_solicitations = 0: %s (continuing)", dp->tun_name,
			 strerror(-ret));
	}
	ret = rv_tun_set_up(dp->tun_name);
	if (ret < 0) {
		rv_warn(ret, "%s: set up", dp->tun_name);
		goto err_free;
	}

	for (unsigned i = 0; i < dp->num_workers; i++) {
		struct rv_worker *w = dp->workers[i];
		ret = pthread_create(&w->thread, NULL, rv_worker_main, w);
		if (ret != 0) {
			ret = -ret;
			/* EAGAIN is the host's task limit, or memory for the
			 * stack: named (it was said as a TUN failure, exit 14). */
			rv_warnx("worker %u: cannot start its thread: %s%s", i, strerror(-ret),
				 ret == -EAGAIN ? " (the task limit: pids.max, TasksMax= in the "
						  "unit, RLIMIT_NPROC; or RLIMIT_AS)"
						: "");
			stop_workers(dp);
			goto err_free;
		}
		w->thread_started = true;
	}
	pthread_mutex_lock(&dp->lock);
	while (dp->num_ready < dp->num_workers) {
		pthread_cond_wait(&dp->cond, &dp->lock);
	}
	ret = dp->start_err;
	pthread_mutex_unlock(&dp->lock);
	if (ret < 0) {
		stop_workers(dp);
		goto err_free;
	}
	if (dp->workers[0]->uso_max == RV_GRO_MAX_LEN) {
		snprintf(coalesce, sizeof(coalesce), "on");
	} else if (dp->workers[0]->uso_max != 0) {
		snprintf(coalesce, sizeof(coalesce), "auto(<=%u)", dp->workers[0]->uso_max);
	} else {
		snprintf(coalesce, sizeof(coalesce), "off");
	}
	rv_info("data plane: %u workers%s on %s, UDP port %u, MTU %u, offloads tun=%s(0x%x) "
		"gso=%s gro=%s udp-coalesce=%s, zero-copy sends %s%s%s%s",
		dp->num_workers,
		!pin			   ? ""
		: dp->num_workers == ncpus ? " (pinned, one per CPU)"
					   : " (pinned)",
		dp->tun_name, dp->port, mtu, vnet ? "on" : "off", dp->tun_offload_flags,
		dp->started_gso ? "on" : "off", dp->started_gro ? "on" : "off", coalesce,
		!dp->started_zc			     ? "off"
		: cfg->zerocopy == RV_CONFIG_ZC_AUTO ? "auto"
						     : "on",
		dp->started_zc_fixed ? " (registered buffers)" : "",
		/* A server's setting: a client said the default's "kernel"
		 * whatever its server did (round-thirty tester 153). */
		cfg->steer_by_index ? ", client_to_client " : "",
		!cfg->steer_by_index				  ? ""
		: cfg->client_to_client == RV_CONFIG_C2C_INTERNAL ? "internal"
		: cfg->client_to_client == RV_CONFIG_C2C_OFF	  ? "off"
								  : "kernel");
	*out = dp;
	return 0;

err_free:
	dp_free(dp);
	return ret;
}

uint16_t rv_dataplane_port(const struct rv_dataplane *dp)
{
	return dp->port;
}

int rv_dataplane_cpu_wait(const struct rv_dataplane *dp, unsigned i, uint64_t *wait_ns, int *cpu)
{
	char path[64];
	unsigned long long run, wait;
	FILE *f;
	int tid, n;

	if (i >= dp->num_workers) {
		return -EINVAL;
	}
	tid = atomic_load_explicit(&dp->workers[i]->tid, memory_order_relaxed);
	if (tid == 0) {
		return -EAGAIN;
	}
	*cpu = dp->workers[i]->cpu;
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "re");
	if (f == NULL) {
		return -errno;
	}
	n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	if (n != 2) {
		return -EIO;
	}
	*wait_ns = wait;
	return 0;
}

unsigned rv_dataplane_num_workers(const struct rv_dataplane *dp)
{
	return dp->num_workers;
}

unsigned rv_dataplane_mtu(const struct rv_dataplane *dp)
{
	return dp->cfg.mtu;
}

unsigned rv_dataplane_lanes(const struct rv_dataplane *dp)
{
	return dp->lanes;
}

const char *rv_dataplane_tun_name(const struct rv_dataplane *dp)
{
	return dp->tun_name;
}

unsigned rv_dataplane_tun_queues(const struct rv_dataplane *dp)
{
	return dp->num_workers * (dp->tun_small ? 2u : 1u);
}

/* struct rv_dp_pools is what rv_dataplane_set_pools publishes: immutable,
 * replaced whole, the old one retired through QSBR. */
struct rv_dp_pools {
	struct rv_qsbr_node node;
	size_t n;
	struct rv_prefix own[2]; /* the server's addresses, with their pool's length */
};

static void pools_free(struct rv_qsbr_node *node)
{
	free(container_of(node, struct rv_dp_pools, node));
}

void rv_dataplane_set_pools(struct rv_dataplane *dp, const struct rv_prefix *addrs, size_t n)
{
	struct rv_dp_pools *np = calloc(1, sizeof(*np)), *old;

	if (np == NULL) {
		rv_warnx("out of memory: the data plane keeps the pools it had");
		return;
	}
	for (size_t i = 0; i < n && np->n < 2; i++) {
		if (addrs[i].addr.family == AF_INET || addrs[i].addr.family == AF_INET6) {
			np->own[np->n++] = addrs[i];
		}
	}
	old = atomic_exchange_explicit(&dp->pools, np, memory_order_acq_rel);
	if (old != NULL) {
		rv_qsbr_retire(dp->cfg.qsbr, &old->node, pools_free);
	}
}

void rv_dataplane_set_no_ipv6(struct rv_dataplane *dp, bool off)
{
	atomic_store_explicit(&dp->no_ipv6, off, memory_order_relaxed);
}

/* struct rv_dp_host_nets is what rv_dataplane_set_host_nets publishes, as
 * the pools are. */
struct rv_dp_host_nets {
	struct rv_qsbr_node node;
	bool all; /* more than the table holds: take every address for the host's */
	size_t n;
	struct rv_prefix nets[RV_DP_HOST_NETS_MAX];
};

static void host_nets_free(struct rv_qsbr_node *node)
{
	free(container_of(node, struct rv_dp_host_nets, node));
}

void rv_dataplane_set_host_nets(struct rv_dataplane *dp, const struct rv_prefix *nets, size_t n,
				bool all)
{
	struct rv_dp_host_nets *nh = calloc(1, sizeof(*nh)), *old;

	if (nh == NULL) {
		rv_warnx("out of memory: the data plane keeps the host's networks it had");
		return;
	}
	nh->all = all || n > RV_DP_HOST_NETS_MAX;
	nh->n = n < RV_DP_HOST_NETS_MAX ? n : RV_DP_HOST_NETS_MAX;
	memcpy(nh->nets, nets, nh->n * sizeof(nets[0]));
	old = atomic_exchange_explicit(&dp->host_nets, nh, memory_order_acq_rel);
	if (old != NULL) {
		rv_qsbr_retire(dp->cfg.qsbr, &old->node, host_nets_free);
	}
}

bool rv_dataplane_host_has(const struct rv_dataplane *dp, const struct rv_ip_addr *a, bool unknown)
{
	const struct rv_dp_host_nets *nh =
		atomic_load_explicit(&dp->host_nets, memory_order_acquire);

	if (nh == NULL) {
		return false;
	}
	for (size_t i = 0; i < nh->n; i++) {
		if (rv_prefix_contains(&nh->nets[i], a)) {
			return true;
		}
	}
	return nh->all && unknown;
}

bool rv_dataplane_pool_self(const struct rv_dataplane *dp, int family, struct rv_ip_addr *out)
{
	const struct rv_dp_pools *pp = atomic_load_explicit(&dp->pools, memory_order_acquire);

	for (size_t i = 0; pp != NULL && i < pp->n; i++) {
		if (pp->own[i].addr.family == family) {
			*out = pp->own[i].addr;
			return true;
		}
	}
	return false;
}

enum rv_pool_place rv_dataplane_pool_place(const struct rv_dataplane *dp,
					   const struct rv_ip_addr *a)
{
	const struct rv_dp_pools *pp = atomic_load_explicit(&dp->pools, memory_order_acquire);

	for (size_t i = 0; pp != NULL && i < pp->n; i++) {
		const struct rv_prefix *p = &pp->own[i];

		if (!rv_prefix_contains(p, a)) {
			continue;
		}
		if (rv_ip_addr_equal(&p->addr, a)) {
			return RV_POOL_SELF;
		}
		if (a->family == AF_INET && p->len < 31) {
			uint32_t h, mask = ~0u << (32 - p->len);

			memcpy(&h, a->a, 4);
			h = ntohl(h) & ~mask;
			if (h == 0) {
				return RV_POOL_NET;
			}
			if (h == ~mask) {
				return RV_POOL_BCAST;
			}
		}
		return RV_POOL_CLIENT;
	}
	return RV_POOL_OUTSIDE;
}

/* udp_meminfo returns field |which| (SK_MEMINFO_*) of what the kernel keeps
 * for |w|'s UDP sockets (its own and its small one), summed; 0 for a socket
 * it cannot say. The worker never writes these: a snapshot reads them. */
static uint64_t udp_meminfo(const struct rv_worker *w, unsigned which)
{
	const int fds[2] = { w->udp_fd, w->udp_small_fd };
	uint64_t sum = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		uint32_t mem[SK_MEMINFO_VARS];
		socklen_t len = sizeof(mem);

		if (fds[i] >= 0 && getsockopt(fds[i], SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
		    len > which * sizeof(uint32_t)) {
			sum += mem[which];
		}
	}
	return sum;
}

void rv_dataplane_counters(const struct rv_dataplane *dp, unsigned idx, struct rv_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->num_workers; i++) {
		const struct rv_counters *c = &dp->workers[i]->ctr;
		if (idx != UINT32_MAX && idx != i) {
			continue;
		}
		for (int k = 0; k < RV_CTR_MAX; k++) {
			rv_ctr_add(out, (enum rv_counter)k, rv_ctr_get(c, (enum rv_counter)k));
		}
		for (int k = 0; k < RV_DROP_MAX; k++) {
			rv_drop_add(out, (enum rv_drop_reason)k,
				    rv_drop_get(c, (enum rv_drop_reason)k));
		}
		/* Datagrams dropped at the socket: its buffer full, or a bad checksum. */
		rv_ctr_add(out, RV_CTR_UDP_SOCK_DROPS,
			   udp_meminfo(dp->workers[i], SK_MEMINFO_DROPS));
		/* The control thread's keepalives go out on worker 0's socket
		 * (an idle client's udp_sends stayed 0: round-fourteen
		 * tester 66). */
		if (i == 0) {
			rv_ctr_add(out, RV_CTR_UDP_SENDS,
				   atomic_load_explicit(&dp->keepalive_sends,
							memory_order_relaxed));
		}
	}
}

int rv_dataplane_tun_drops(const struct rv_dataplane *dp, uint64_t *out)
{
	struct rv_rtnl_link lk;
	int ret;

	if (dp->tun_ifindex == 0) {
		return -ENODEV;
	}
	ret = rv_rtnl_get_link_index(&lk, dp->tun_ifindex);
	if (ret < 0) {
		return ret;
	}
	if (!lk.have_stats) {
		return -EOPNOTSUPP;
	}
	*out = lk.tx_dropped;
	return 0;
}

void rv_dataplane_gauges(const struct rv_dataplane *dp, unsigned idx, struct rv_gauges *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->num_workers; i++) {
		const struct rv_worker *w = dp->workers[i];

		if (idx != UINT32_MAX && idx != i) {
			continue;
		}
		for (int k = 0; k < RV_GAUGE_MAX; k++) {
			enum rv_gauge g = (enum rv_gauge)k;
			rv_gauge_set(out, g, rv_gauge_get(out, g) + rv_gauge_get(&w->gauges, g));
		}
		rv_gauge_set(out, RV_GAUGE_UDP_RCVQ_BYTES,
			     rv_gauge_get(out, RV_GAUGE_UDP_RCVQ_BYTES) +
				     udp_meminfo(w, SK_MEMINFO_RMEM_ALLOC));
	}
}

int rv_dataplane_send_keepalive(struct rv_dataplane *dp, struct rv_session *s, bool echo)
{
	uint8_t buf[RV_DATA_OVERHEAD];
	struct rv_pkt pkt = { .buf = buf, .len = 0, .flags = echo ? RV_DATA_F_ECHO : 0 };
	enum rv_session_result r;
	struct rv_endpoint ep;
	struct sockaddr_in6 dst;
	socklen_t dst_len;

	/* Sealed on the caller's thread (seal is thread-safe) and sent on
	 * worker 0's socket without blocking: a keepalive that finds the
	 * socket buffer full is simply not needed. */
	r = rv_session_seal_batch(s, &pkt, 1, rv_coarse_now_ns());
	if (r != RV_SESSION_OK && r != RV_SESSION_REKEY_SOON) {
		return r == RV_SESSION_EXPIRED ? -EKEYEXPIRED : -ENOKEY;
	}
	if (r == RV_SESSION_REKEY_SOON) {
		rv_dataplane_note_rekey(dp);
	}
	rv_session_get_endpoint(s, &ep);
	dst_len = rv_sock_dest(&dst, &ep, dp->cfg.udp_v6);
	if (dst_len == 0) {
		return -EDESTADDRREQ;
	}
	struct iovec iov = { .iov_base = buf, .iov_len = pkt.len };
	struct msghdr msg = {
		.msg_name = &dst,
		.msg_namelen = dst_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	_Alignas(struct cmsghdr) uint8_t cbuf[RV_CMSG_SEND_SPACE];
	int ret;

	rv_cmsg_put_send(&msg, cbuf, 0, 0, &dst, &ep.local);
	ret = sendmsg(dp->workers[0]->udp_fd, &msg, MSG_DONTWAIT) < 0 ? -errno : 0;
	/* The peer's local address may be ours no longer: from the route's. */
	if (ret != 0 && msg.msg_controllen != 0 &&
	    (ret == -EINVAL || ret == -EADDRNOTAVAIL || ret == -ENETUNREACH)) {
		rv_cmsg_put_send(&msg, cbuf, 0, 0, &dst, NULL);
		ret = sendmsg(dp->workers[0]->udp_fd, &msg, MSG_DONTWAIT) < 0 ? -errno : 0;
	}
	/* Counted as worker 0's udp_sends, as a worker counts its sends once
	 * the kernel took them (a server's echoes among them). */
	if (ret == 0) {
		atomic_fetch_add_explicit(&dp->keepalive_sends, 1, memory_order_relaxed);
	}
	return ret;
}
