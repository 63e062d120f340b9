/*
 * rtnl.h — the few rtnetlink requests ringvpn makes: read a link's TUN
 * properties, list, add and delete an interface's addresses and routes.
 *
 * Setup-time only (never on the packet path): every call opens its own
 * NETLINK_ROUTE socket in the caller's network namespace and closes it
 * before returning, so the functions are thread-safe and may nest (a list
 * callback may add or delete). All return 0 or -errno; an error the kernel
 * reports in NLMSG_ERROR is passed up as is (-EEXIST, -EADDRNOTAVAIL, ...).
 */
#ifndef RV_URING_RTNL_H
#define RV_URING_RTNL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ip.h"

/* struct rv_rtnl_link is what rv_rtnl_get_link reports about a device. */
struct rv_rtnl_link {
	unsigned ifindex;
	bool is_tun;	  /* link kind "tun" (a TUN or a TAP device) */
	bool tun_info;	  /* the kernel reported the fields below (Linux >= 4.15) */
	bool is_tap;	  /* is_tun and IFF_TAP */
	bool persist;	  /* IFF_PERSIST: outlives its last queue */
	bool multi_queue; /* IFF_MULTI_QUEUE */
	bool restricted;  /* an owner or a group set: only they (or CAP_NET_ADMIN)
				may attach a queue */
	bool have_owner, have_group;
	uint32_t owner, group; /* the owner's uid and the group's gid, where set */
	uint32_t num_queues;   /* queues attached by open files, enabled or not */
	bool have_stats;       /* the kernel reported IFLA_STATS64 */
	uint64_t tx_dropped;   /* packets dropped on their way out of this device (for
				a TUN: towards its readers, e.g. a queue full) */
};

/* rv_rtnl_get_link looks |ifname| up. Returns 0, -ENODEV when there is no
 * such device, or another -errno. */
int rv_rtnl_get_link(struct rv_rtnl_link *out, const char *ifname);

/* rv_rtnl_get_link_index is rv_rtnl_get_link by interface index, which a
 * rename does not change. */
int rv_rtnl_get_link_index(struct rv_rtnl_link *out, unsigned ifindex);

/* rv_rtnl_set_ipv4_conf sets IPv4 setting |id| (IPV4_DEVCONF_*, as in
 * /proc/sys/net/ipv4/conf/DEV/) of interface |ifindex| to |value|. */
int rv_rtnl_set_ipv4_conf(unsigned ifindex, int id, uint32_t value);

/* rv_rtnl_set_gso_max_segs caps the segments of a superframe the kernel
 * hands interface |ifindex| (IFLA_GSO_MAX_SEGS); a larger one it cuts
 * itself before the device sees it. */
int rv_rtnl_set_gso_max_segs(unsigned ifindex, uint32_t segs);

/* struct rv_rtnl_addr is one address as the kernel lists it. |local| is the
 * address itself (IFA_LOCAL, or IFA_ADDRESS where there is no IFA_LOCAL);
 * |peer| is IFA_ADDRESS, kept so that deleting names it exactly. */
struct rv_rtnl_addr {
	struct rv_prefix local;
	struct rv_ip_addr peer;
	uint8_t scope;	  /* RT_SCOPE_* */
	unsigned ifindex; /* the interface it is on */
};

/* rv_rtnl_addr_msg reads an address message |nh| (RTM_NEWADDR or
 * RTM_DELADDR, IPv4 or IPv6) into |out|; false for any other. */
struct nlmsghdr;
bool rv_rtnl_addr_msg(const struct nlmsghdr *nh, struct rv_rtnl_addr *out);

/* rv_rtnl_addr_fn is called once per listed entry; a negative return stops
 * the listing and is returned by it. */
typedef int (*rv_rtnl_addr_fn)(void *ctx, const struct rv_rtnl_addr *a);
typedef int (*rv_rtnl_route_fn)(void *ctx, const struct rv_prefix *dst);

/* rv_rtnl_list_addrs calls |fn| for every IPv4 and IPv6 address of interface
 * |ifindex| (0: of every interface). */
int rv_rtnl_list_addrs(unsigned ifindex, rv_rtnl_addr_fn fn, void *ctx);

/* rv_rtnl_add_addr assigns |p| to |ifindex| (IPv6 without duplicate address
 * detection: a tunnel has no neighbours). -EEXIST when already there. */
int rv_rtnl_add_addr(unsigned ifindex, const struct rv_prefix *p);

/* rv_rtnl_del_addr removes |a| (as listed) from |ifindex|. */
int rv_rtnl_del_addr(unsigned ifindex, const struct rv_rtnl_addr *a);

/* rv_rtnl_list_routes calls |fn| for every unicast route of the main table
 * that leaves through |ifindex| and was installed with protocol |proto|. */
int rv_rtnl_list_routes(unsigned ifindex, uint8_t proto, rv_rtnl_route_fn fn, void *ctx);
/* rv_rtnl_list_routes_but: the same for the routes of every protocol but
 * |proto| and the kernel's own (those an administrator or a routing daemon
 * added: boot, static, bird, dhcp, ...). */
int rv_rtnl_list_routes_but(unsigned ifindex, uint8_t proto, rv_rtnl_route_fn fn, void *ctx);

/* rv_rtnl_list_other_routes calls |fn| for every unicast route of the main
 * table, of any origin, that leaves through a device other than |ifindex|
 * (given as |oif|: of a multipath route, its first next hop's;
 * RV_RTNL_OIF_UNKNOWN for one through a nexthop object, whose device the
 * route does not name). */
enum { RV_RTNL_OIF_UNKNOWN = 0x7fffffff };
typedef int (*rv_rtnl_route_dev_fn)(void *ctx, const struct rv_prefix *dst, unsigned oif);
int rv_rtnl_list_other_routes(unsigned ifindex, rv_rtnl_route_dev_fn fn, void *ctx);
/* rv_rtnl_list_other_links: the same for the networks the host's links are
 * on (IPv4 routes of scope link, IPv6 ones the kernel made for an
 * address's prefix). */
int rv_rtnl_list_other_links(unsigned ifindex, rv_rtnl_route_dev_fn fn, void *ctx);

/* rv_rtnl_dev_name: the name of device |oif| into |dev| (IF_NAMESIZE bytes,
 * or more), "a nexthop object" for RV_RTNL_OIF_UNKNOWN, "?" for one gone. */
const char *rv_rtnl_dev_name(unsigned oif, char *dev, size_t len);

/* rv_rtnl_route_msg reads a route message |nh| (one of a walk, or one the
 * kernel sends to a listener of its route groups) into |dst| and its device
 * |*oif|, as rv_rtnl_list_other_routes gives it (of a multipath route, its
 * first next hop not through |skip|). False for any other than a new
 * unicast IPv4 or IPv6 route of the main table (a cloned one too). */
bool rv_rtnl_route_msg(const struct nlmsghdr *nh, unsigned skip, struct rv_prefix *dst,
		       unsigned *oif);

/* rv_rtnl_route_oif asks the kernel, as `ip route get ... fibmatch` does,
 * which route it sends |a| by: the device's index in |*out_ifindex| (of a
 * multipath route its first next hop's; RV_RTNL_OIF_UNKNOWN through a
 * nexthop object that names none; 0 for a route with no device:
 * unreachable, blackhole), that route's prefix
 * length in |*out_len| and, when |out_host| is not NULL, whether it is one
 * of the host's own addresses (a local, anycast or broadcast route: what
 * is sent there stays on the host). Returns 0 or -errno (-ENETUNREACH: no
 * route at all). */
int rv_rtnl_route_oif(const struct rv_ip_addr *a, unsigned *out_ifindex, unsigned *out_len,
		      bool *out_host);

/* struct rv_rtnl_match is what rv_rtnl_route_match found: the matched
 * route's device (of several ways, the first not through the |skip| it
 * was given), its prefix length, its table, and whether |a| is one of the
 * host's own addresses. Every lookup here is for root, the owner of the
 * data plane's sockets (and of forwarded packets' lookups);
 * rv_rtnl_route_match_for asks for the flow |f| (struct rv_rtnl_flow). */
struct rv_rtnl_match {
	unsigned oif, len, table;
	bool host;
};
int rv_rtnl_route_match(const struct rv_ip_addr *a, unsigned skip, struct rv_rtnl_match *out);
/* struct rv_rtnl_flow: the packets a lookup is for, as a rule may choose
 * by them: their user, protocol (0: not said), ports (0: not said) and
 * source (family 0: not said). */
struct rv_rtnl_flow {
	uint32_t uid;
	uint8_t proto;
	uint16_t sport, dport; /* 0: not said */
	struct rv_ip_addr src;
};
int rv_rtnl_route_match_for(const struct rv_ip_addr *a, unsigned skip, const struct rv_rtnl_flow *f,
			    struct rv_rtnl_match *out);

/* rv_rtnl_route_out: the device the kernel sends |a| out of (`ip route
 * get`, not fibmatch: a route through a nexthop object names its device
 * here). Returns 0 or -errno. */
int rv_rtnl_route_out(const struct rv_ip_addr *a, unsigned *out_ifindex);

/* rv_rtnl_add_route adds |dst| via |ifindex| to the main table, scope link,
 * tagged with |proto|. -EEXIST when a route to |dst| is already there. */
int rv_rtnl_add_route(unsigned ifindex, const struct rv_prefix *dst, uint8_t proto);
/* rv_rtnl_add_prefix_route adds the route to the network of address |addr|
 * (addr/len) through the device as the kernel makes it with the address,
 * for when someone deleted it and left the address. -EEXIST when there. */
int rv_rtnl_add_prefix_route(unsigned ifindex, const struct rv_prefix *addr);

/* rv_rtnl_del_route deletes the route to |dst| via |ifindex| with |proto|. */
int rv_rtnl_del_route(unsigned ifindex, const struct rv_prefix *dst, uint8_t proto);

/* rv_rtnl_replace_qdisc installs qdisc |kind| ("mq", "fq_codel") at
 * |parent| of |ifindex| with |handle| (0: the kernel picks), replacing what
 * is there. -ENOENT when the kernel has no such qdisc. */
int rv_rtnl_replace_qdisc(unsigned ifindex, uint32_t parent, uint32_t handle, const char *kind);

#endif /* RV_URING_RTNL_H */
