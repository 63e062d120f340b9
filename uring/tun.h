/*
 * tun.h — TUN queues, ownership of the TUN device, queue selection,
 * interface configuration.
 *
 * A ringvpn process owns its TUN device exclusively, for its whole life:
 *  - rv_tun_claim (at start-up, before anything else touches the device)
 *    takes a lock that tells a live owner from a dead one, and waits briefly
 *    for the device of a dead owner to disappear: after SIGKILL the kernel
 *    keeps the old device (and its addresses) for tens of milliseconds while
 *    it tears down the old process's io_uring;
 *  - rv_tun_open with |create| opens the first queue with IFF_TUN_EXCL, so
 *    the process starts on a device of its own making, never on one another
 *    process still holds; only an idle persistent device (`ip tuntap add`,
 *    no queue attached) is adopted instead;
 *  - rv_tun_set_addrs_routes makes the device carry exactly the addresses
 *    and ringvpn routes it is given, whatever an earlier owner left.
 * The interface helpers use ioctl (MTU, up) and rtnetlink (uring/rtnl.h),
 * never ip(8).
 *
 * All functions return 0 or -errno and log what went wrong (rv_warn*),
 * except the queue-selection ones, which leave the words to the caller.
 * Thread-safe (no shared state); setup-time only, except the set and clear
 * of the lane tables (any time).
 */
#ifndef RV_URING_TUN_H
#define RV_URING_TUN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ip.h"

enum {
	/* How long rv_tun_claim waits for a dead owner's device to go away.
	 * Measured: 30-130 ms after SIGKILL on an idle or busy 2-core machine
	 * (io_uring's exit work polls in 50 ms steps); the bound leaves room
	 * for a heavily loaded host while still failing soon when the holder
	 * is alive after all. */
	RV_TUN_CLAIM_WAIT_MS = 3000,
	/* How long it waits for queues no process holds (a killed owner's
	 * that the kernel has not released: 2.8 s was seen on a busy 2-core
	 * host, round-fifty-seven tester 241), or none this one may look at. */
	RV_TUN_DYING_WAIT_MS = 20000,
	/* Routing protocol number that marks the routes ringvpn installs
	 * (`ip route` shows "proto 82"). Unassigned in <linux/rtnetlink.h> and
	 * iproute2's rt_protos; it lets rv_tun_set_addrs_routes remove the
	 * routes an earlier ringvpn left without touching an administrator's. */
	RV_TUN_RTPROT = 82,
};

/* RV_TUN_LOCK_DIR holds one lock file per claimed device and network
 * namespace: tun-NAME.NETNS-INODE.lock, containing the owner's PID. Every
 * rv_ns_lock first removes the files nobody holds (their namespaces are
 * mostly gone), so that they do not pile up. */
#define RV_TUN_LOCK_DIR "/run/ringvpn"

/* rv_ns_lock takes the lock RV_TUN_LOCK_DIR/KIND-NAME.NETNS-INODE.lock (the
 * owner's PID inside), held while |*out_fd| stays open, for a resource of
 * this network namespace that one process at a time may have (a TUN
 * device: kind "tun"; a fixed UDP port: "udp"). It waits up to
 * RV_TUN_CLAIM_WAIT_MS for a holder that is going away: one killed with -9
 * keeps it until the kernel has closed its files, and one that is stopping
 * (rv_ns_lock_stopping) until it has released what the lock guards. A
 * holder that is neither ends the wait at once: two processes started with
 * one configuration by mistake. Returns 0, -EBUSY when a live process
 * holds it (logged as "WHAT NAME is in use by process PID"), -EINTR when
 * SIGINT or SIGTERM came meanwhile (rv_sleep_ms), or another -errno when
 * the lock directory cannot be used (the caller decides). */
int rv_ns_lock(const char *kind, const char *what, const char *name, int *out_fd);

/* rv_ns_lock_stopping says in lock |fd| (-1: none) that its holder has
 * begun to stop: a process claiming the same resource meanwhile (a restart
 * by a script that did not wait) waits for it instead of failing. */
void rv_ns_lock_stopping(int fd);

/* rv_flock_wait takes |fd|'s exclusive flock, waiting up to |max_ms| for a
 * holder that is going away (a process killed with -9 holds its locks until
 * the kernel has closed its files, one stopping marks its namespace locks
 * so) or cannot be seen; one seen live for half a second ends the wait.
 * Returns 0, -EBUSY when it is still held then (|*holder|: its PID as
 * /proc/locks names it here, 0 if unseen; |*going|: it was seen going away
 * or stopping), -EINTR when SIGINT or SIGTERM came meanwhile, or another
 * -errno. */
int rv_flock_wait(int fd, unsigned max_ms, long *holder, bool *going);

/* rv_tun_claim makes the calling process the owner of TUN device |name| in
 * its network namespace, for as long as |*out_lock_fd| stays open (the
 * caller closes it at exit; the kernel drops the lock when the process dies,
 * before it tears down the process's device). Steps:
 *  1. flock RV_TUN_LOCK_DIR/tun-NAME.INODE.lock (rv_ns_lock): a live owner
 *     holds it, and then the claim fails at once with -EBUSY, logging the
 *     owner's PID, unless the owner is exiting or stopping (then it waits);
 *  2. if a device |name| exists with queues attached, its holder is not a
 *     live ringvpn (that would hold the lock): a dead one whose device the
 *     kernel is still tearing down, or another program. Wait up to
 *     RV_TUN_CLAIM_WAIT_MS for the device to go away (or, if persistent,
 *     for its last queue to detach); then -EBUSY if a live process of this
 *     namespace has a queue open (named), else wait on, up to
 *     RV_TUN_DYING_WAIT_MS, looking again each second.
 *  3. a device |name| that is not a multi-queue TUN device: -EEXIST.
 * Names with '%' (the kernel picks a fresh name) and "" need no claim:
 * returns 0 with *out_lock_fd = -1. If the lock directory cannot be used
 * (no /run, read-only, not root) it logs that and continues without the
 * lock (*out_lock_fd = -1): a live owner is then recognised only after the
 * wait of step 2. Either wait ends with -EINTR when SIGINT or SIGTERM
 * comes. */
int rv_tun_claim(const char *name, int *out_lock_fd);

/* rv_tun_held: has TUN device |name| of this namespace queues attached now
 * (another process's: rv_tun_claim would wait for them, then fail)? 1
 * with what in |why|, else 0. Asks the kernel alone: a reload to a new
 * name asks it as the service user, to whom the lock directory and other
 * users' descriptors are closed (and the sandbox closes kcmp). A device of
 * interface index |own| (this process's; 0: none) is none. */
int rv_tun_held(const char *name, unsigned own, char *why, size_t len);

struct rv_rtnl_link;

/* rv_tun_unfit: can a device that exists as |lk| under |name| never be
 * ringvpn's TUN (not a TUN, a TAP, no multi_queue)? Says why in |why|. The
 * start (rv_tun_claim) and -n (cli/cfgopts.c) judge alike. */
bool rv_tun_unfit(const char *name, const struct rv_rtnl_link *lk, char *why, size_t len);

/* rv_tun_links_around_said: how many routes so far were said to lie inside
 * the network of one of the host's links (a reload's reply says its own). */
unsigned rv_tun_links_around_said(void);

/* rv_tun_foreign_owner: may someone other than root attach a queue to the
 * persistent device |lk| (an owner or group an administrator gave it)?
 * Says who in |why|. Such a queue reads a share of the tunnel's packets in
 * the clear and writes packets the host takes as the tunnel's. */
bool rv_tun_foreign_owner(const char *name, const struct rv_rtnl_link *lk, char *why, size_t len);

/* rv_tun_open opens a queue of multi-queue TUN device |name| ("" or NULL:
 * the kernel picks a name) and writes the interface name into |out_name|
 * (IFNAMSIZ bytes) and the fd into |*out_fd| (O_CLOEXEC; blocking, io_uring
 * arms poll itself). With |create| (the first queue) the device must not
 * exist yet (IFF_TUN_EXCL), except that an idle persistent TUN device is
 * adopted; a device held by anybody else gives -EBUSY. Without |create| the
 * queue attaches to the device this process created. */
int rv_tun_open(const char *name, bool vnet_hdr, bool create, char *out_name, int *out_fd);

/* rv_tun_set_offload issues TUNSETOFFLOAD with |flags| (TUN_F_*). */
int rv_tun_set_offload(int fd, unsigned flags);

/* Queue selection. By default the device sends a packet out through the
 * queue of whoever last wrote a packet of the same flow. rv_tun_steer
 * makes the socket-filter program |prog_fd| pick the queue instead (its
 * result modulo the queue count; -1: back to the default). Returns 0 or
 * -errno. The programs come from the loaders below, which need CAP_BPF (or
 * CAP_SYS_ADMIN) unless the host allows unprivileged eBPF; each returns a
 * program fd, which the caller closes once attached, or -errno. */
int rv_tun_steer(int fd, int prog_fd);

/* rv_tun_prog_by_size, for a device with one peer (a client's): a packet of
 * at most |small_max| bytes goes to the last of the |n| queues (n >= 2), a
 * larger one to one of the others by its flow hash (a TCP socket's txhash).
 * So the worker reading the last queue carries pings, ACKs and other small
 * packets, and never has them wait behind a bulk flow's superframes. */
int rv_tun_prog_by_size(unsigned n, unsigned small_max);

/* rv_tun_prog_by_lane, for a device with many peers (a server's), in step
 * with rv_udp_steer_by_index: a packet goes to queue (lane + small) % |n|,
 * where lane is the one its destination has in the table of the sessions'
 * addresses |hosts_fd| (rv_tun_lanes_new) or else, by longest prefix, in
 * the table of the networks behind them |nets_fd| (rv_tun_nets_new); small
 * is 1 for a packet of at most |small_max| bytes. So a session's bulk
 * leaves through the worker its datagrams reach, its pings and ACKs through
 * the next one, and each flow keeps one queue. A destination in neither
 * table takes the last 32 bits of its address as its lane. With
 * |small_queues| the device has 2n queues and a small packet goes to queue
 * n + (lane + 1) % n instead: the next worker's queue for small packets
 * alone, never one a bulk flow fills. */
int rv_tun_prog_by_lane(unsigned n, unsigned small_max, int hosts_fd, int nets_fd,
			bool small_queues);

/* The two tables (eBPF maps; making them needs the same privilege): their fd
 * or -errno. rv_tun_lanes_new holds up to |max_peers| addresses (a hash),
 * rv_tun_nets_new up to |max_nets| networks (a longest-prefix-match trie).
 * rv_tun_lane_set and rv_tun_net_set put an address or a network in its
 * table at |lane|: 1 if the entry is new, 0 if it was there; the clears
 * take it out: 1 if it was there, 0 if not. These four need no privilege;
 * on failure they return -errno. */
int rv_tun_lanes_new(unsigned max_peers);
int rv_tun_nets_new(unsigned max_nets);
int rv_tun_lane_set(int map_fd, const struct rv_ip_addr *addr, unsigned lane);
int rv_tun_lane_clear(int map_fd, const struct rv_ip_addr *addr);
int rv_tun_net_set(int map_fd, const struct rv_prefix *net, unsigned lane);
int rv_tun_net_clear(int map_fd, const struct rv_prefix *net);

int rv_tun_set_mtu(const char *ifname, unsigned mtu);
/* rv_tun_get_mtu returns |ifname|'s MTU, or -errno. */
int rv_tun_get_mtu(const char *ifname);
/* rv_tun_ipv6_off: can |ifname| carry no IPv6 now? Then |why| says why: IPv6
 * disabled on it or on the host, a kernel without IPv6, or an MTU below 1280
 * (the kernel drops the device's IPv6 state then). An IPv6 address added
 * anyway fails with EACCES or EINVAL, which says none of this. */
bool rv_tun_ipv6_off(const char *ifname, char *why, size_t why_len);
/* rv_host_ipv6_off: does the host give a new device no IPv6 (no IPv6 in the
 * kernel; disable_ipv6 for all or default)? Then |why| says which. */
bool rv_host_ipv6_off(char *why, size_t why_len);
int rv_tun_set_up(const char *ifname);
/* rv_tun_no_router_solicitations stops the kernel's IPv6 Router
 * Solicitations on |ifname| (net.ipv6.conf.IFNAME.router_solicitations =
 * 0; needs CAP_NET_ADMIN, and is made at start): a tunnel has no router to solicit, and the
 * kernel sends them for ever (the gap doubling to an hour), each read by a
 * worker and counted as a link_scope drop on an idle client (round-sixty-
 * four tester 268). 0 (also where the device has no IPv6) or -errno. */
int rv_tun_no_router_solicitations(const char *ifname);

/* rv_tun_set_txqueuelen sets how many packets the kernel queues for our reads
 * before dropping (TUN has no backpressure towards TCP). */
int rv_tun_set_txqueuelen(const char *ifname, unsigned qlen);
/* rv_tun_set_gso_max_segs caps the segments of the superframes we read:
 * the kernel's default (65535) lets a TCP flow with a small MSS hand us
 * 64 KiB in several hundred segments. */
int rv_tun_set_gso_max_segs(const char *ifname, unsigned segs);

/* rv_tun_set_fq_codel puts fq_codel on each of the device's |num_queues|
 * transmit queues (under an mq root when there are several): flow queueing
 * and CoDel for whatever waits in the qdisc. Note: a TUN device that drops at
 * the end of its ring instead of stopping the queue (Linux 6.18) never lets a
 * packet wait there; the qdisc then only acts on a kernel whose TUN applies
 * backpressure. */
int rv_tun_set_fq_codel(const char *ifname, unsigned num_queues);

/* rv_tun_withdraw: on a persistent |ifname| (it outlives its owner:
 * one the process made goes with its last queue, and takes its addresses
 * and routes along) rv_tun_unset_addrs_routes, said in the log as what
 * |who| ("client", "server") installed. Returns true when |ifname| is such
 * a device (what else the owner set on the link, DNS, stays with it). */
bool rv_tun_withdraw(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
		     const char *who);

/* rv_tun_unset_addrs_routes undoes rv_tun_set_addrs_routes on a device
 * that outlives its owner (persistent): deletes |addrs| (|num_addrs|, at
 * most 2; the kernel's connected routes go with them) and every route
 * through |ifname| tagged RV_TUN_RTPROT, leaving any other address or
 * route alone; IPv4 addresses stay (*|kept4|) when the device carries IPv4
 * routes of another's (an administrator's or a routing daemon's: any
 * protocol but ours and the kernel's), which the kernel would take along
 * with the last one. Returns 0, -ENODEV, or the first netlink error (logged). */
int rv_tun_unset_addrs_routes(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
			      bool *kept4);

/* rv_tun_set_addrs_routes makes |addrs| (|num_addrs| IPv4/IPv6 prefixes) the
 * only addresses of |ifname| and |routes| the only routes through it tagged
 * RV_TUN_RTPROT: missing addresses are added, stale ones deleted (in that
 * order, so that the device never loses its last IPv4 address and with it
 * every IPv4 route through it), then stale routes are deleted and missing
 * ones added. Entries already right are left alone, so re-applying the same
 * configuration does not disturb traffic. Sets the device's IPv4
 * promote_secondaries (the new address takes over as primary). Kept: the
 * kernel's IPv6 link-local addresses, and routes of any other origin
 * (kernel prefix routes, an administrator's). A route the host does not
 * send through the device (said: a route of its own at any metric, a rule,
 * a refusal) is not left on it; |*unused| (NULL: not wanted) gets bit i
 * set for each of the first 64 such. Leave them out of the repair
 * (rv_tun_add_missing), which takes no such judgement. |*foreign| (NULL:
 * not wanted) gets bit i
 * set for each of the first 64 routes that a route not ringvpn's through
 * the device (an administrator's) carries: it serves, and is left as it is.
 * Returns 0, -EINVAL for a bad prefix, -ENODEV, or the first netlink error
 * (logged with the entry). */
int rv_tun_set_addrs_routes(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
			    const struct rv_prefix *routes, size_t num_routes, uint64_t *unused,
			    uint64_t *foreign);

/* rv_tun_add_missing adds those of |addrs| and |routes| (tagged
 * RV_TUN_RTPROT) that |ifname| lacks, and nothing else: the repair of what
 * someone removed (tls/tunwatch.c). A route it adds that the host does not
 * send through the device (as rv_tun_set_addrs_routes judges) is taken off
 * again, said, and marked in |*unused| (bit i: routes[i]; NULL: not
 * wanted). Sets |*added| to how many it added and kept, and bit i of |*put|
 * (NULL: not wanted) for each of the first 64 routes among them. Returns
 * 0, -ENODEV or the first netlink error. */
int rv_tun_add_missing(const char *ifname, const struct rv_prefix *addrs, size_t num_addrs,
		       const struct rv_prefix *routes, size_t num_routes, unsigned *added,
		       uint64_t *unused, uint64_t *put);

/* rv_tun_is_up returns 1 when |ifname| is administratively up, 0 when it is
 * down, or -errno. */
int rv_tun_is_up(const char *ifname);

/* rv_tun_route_elsewhere: does the kernel send network |p| through another
 * device than |ifname|, by a route of the main table to exactly it (of
 * several ways, one not through |ifname|)? 1 (the device in |*out_oif|), 0
 * (no, or it cannot tell: every address asked is the host's), or -errno. */
int rv_tun_route_elsewhere(const char *ifname, const struct rv_prefix *p, unsigned *out_oif);

/* rv_tun_add_route routes |p| via |ifname| (tagged RV_TUN_RTPROT), one
 * route at a time for the server's networks behind clients, which a reload
 * changes one by one; an existing identical route is not an error. Returns
 * 0, 1 when the host routes the network elsewhere all the same (a route of
 * its own at any metric: logged, and ours taken off), 2 when a route not
 * ours (an administrator's) sends it through |ifname| already (left as it
 * is: the network is reached), -ENODEV or a netlink error.
 * rv_tun_del_route removes it again: 0, 1 when there was none of ours
 * (its adding failed, or the host routes it itself: not touched), -ENODEV
 * or a netlink error. */
int rv_tun_add_route(const char *ifname, const struct rv_prefix *p);
int rv_tun_del_route(const char *ifname, const struct rv_prefix *p);

#endif /* RV_URING_TUN_H */
