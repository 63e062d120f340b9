/*
 * tunwatch.c — keeps what ringvpn configured on its TUN device there.
 *
 * An operator's `ip link set dev down` and `up` again makes the kernel drop
 * the device's IPv6 addresses and every route through it, `ip addr flush`
 * its addresses, an MTU below 1280 its IPv6 addresses: traffic then stops,
 * or on a client takes the host's other routes, outside the tunnel. Every
 * TUNWATCH_NS the loop adds back what is missing (the role says what it
 * wants: the server its pool addresses and the networks behind clients, a
 * client what its server's CONFIG gave it) and says so. A device that is
 * down is left alone, said once: someone took it down on purpose.
 * Nothing is removed here (that is rv_tun_set_addrs_routes' job, when the
 * configuration changes). The cost: a flags ioctl and one netlink request
 * per address and route, answered EEXIST, every few seconds.
 *
 * The loop follows the device too: an rtnetlink socket subscribed to link,
 * address and route changes, read on the control ring. A change of the
 * device's link (down, up), the loss of one of its addresses or of a route
 * through it brings the next check forward to TUNWATCH_SOON_NS from then,
 * and no sooner than TUNWATCH_GAP_NS after the last (a flush removes many
 * things at once: one check follows, not one per message). Messages about
 * other devices are read and let go, but for a server's new route inside
 * a network behind a client, which is said (new_part), and a new route to
 * exactly a network of ours, which brings the check forward (each check
 * asks the kernel which route it takes for each network: taken_over): on
 * a host with a large routing table that churns (a BGP router) each costs
 * a few header compares, and a new route of the main table a walk of the
 * subnets. A client's check follows any route change (its way to its
 * server: loop_to_server). The socket is connected to the kernel: no other
 * process's socket can send it anything but to the groups. When the
 * socket overflows (ENOBUFS: messages were lost) a check follows too, and
 * without the socket (it cannot be had) the periodic check is all there is.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/ip.h"
#include "core/ippool.h"
#include "core/log.h"
#include "tls/internal.h"
#include "tls/subnets.h"
#include "uring/dataplane.h"
#include "uring/rtnl.h"
#include "uring/tun.h"

#define TUNWATCH_NS (5 * RV_NSEC_PER_SEC)
#define TUNWATCH_SOON_NS (50 * RV_NSEC_PER_MSEC)
#define TUNWATCH_GAP_NS (200 * RV_NSEC_PER_MSEC)

/* server_wanted: the server's pool addresses and its networks behind
 * clients (routed via its TUN); their IPv6 part only while the device can
 * carry IPv6 (an MTU set below 1280 by hand takes it: the repair failed
 * with a bare EINVAL, every time). */
static void server_wanted(struct rv_loop *l, const char *ifname, struct rv_prefix *addrs,
			  size_t *num_addrs, struct rv_prefix *routes, size_t *num_routes,
			  size_t max_routes)
{
	size_t n = rv_subnets_routed(l->cfg, routes, max_routes), n4, r4, v6;
	char why[160];

	*num_addrs = l->env.pool ? rv_ippool_server_prefixes(l->env.pool, addrs) : 0;
	*num_routes = n < max_routes ? n : max_routes;
	if (!rv_tun_ipv6_off(ifname, why, sizeof(why))) {
		if (l->tun_v6_off_said) {
			rv_info("TUN %s carries IPv6 again", ifname);
			l->tun_v6_off_said = false;
		}
		return;
	}
	n4 = rv_prefixes_keep_v4(addrs, *num_addrs);
	r4 = rv_prefixes_keep_v4(routes, *num_routes);
	v6 = *num_addrs - n4 + *num_routes - r4;
	*num_addrs = n4;
	*num_routes = r4;
	if (v6 && !l->tun_v6_off_said) {
		rv_warnx("TUN %s: %s: its IPv6 address and routes (%zu) are put back when it can "
			 "carry IPv6 again",
			 ifname, why, v6);
		l->tun_v6_off_said = true;
	}
}

/* mtu_back puts the TUN's MTU back when someone raised it above what the
 * tunnel carries: the packets between the two sizes were dropped as too
 * big, without a word and without an ICMP error to the sender (a hostile
 * tester's `ip link set mtu 1500`). A lower MTU stays: packets fit, and
 * an operator may lower it for a path of their own. */
static void mtu_back(struct rv_loop *l, const char *ifname)
{
	unsigned want = l->role == &rv_server_role ? 0 : rv_hostcfg_mtu(l);
	int have = rv_tun_get_mtu(ifname), ret;

	if (want == 0) {
		want = rv_dataplane_mtu(l->dp);
	}
	if (have < 0 || (unsigned)have <= want) {
		return;
	}
	ret = rv_tun_set_mtu(ifname, want);
	if (ret) {
		if (!l->tun_mtu_failed) {
			rv_warn(ret,
				"TUN %s: its MTU was raised to %d, above the %u the tunnel "
				"carries, "
				"and cannot be put back",
				ifname, have, want);
			l->tun_mtu_failed = true;
		}
		return;
	}
	l->tun_mtu_failed = false;
	rv_warnx("TUN %s: its MTU was raised to %d, above the %u the tunnel carries: put "
		 "back (packets above %u were dropped meanwhile)",
		 ifname, have, want, want);
}

/* taken_over finds, of |routes| (|n|), those the host now sends through
 * another device by a route to exactly them: `ip route replace` of ours
 * (the kernel says nothing of ours going), ours deleted and the host's
 * added at its place (the repair's add met EEXIST and took ours for
 * there), `ip route prepend`, an IPv6 route at a lower metric (ours stayed
 * in the table, behind it). Traffic for the network then left the host
 * outside the tunnel, unsaid, and the next reload said "changed: nothing"
 * (round-twenty-five testers 112 and 114). Asked of the kernel (the route
 * it matches one of the network's addresses with), at every check, so that
 * a message lost in an overflow misses nothing. Each is said, ours taken
 * off (behind the host's it would take the network back when the host's
 * goes, as the install of ours judges: uring/tun.c route_used), and its
 * bit returned: remembered as not used until the server's next reload (a
 * client's next CONFIG or reload) asks again. A route of the host's behind
 * ours (a higher metric) changes nothing here: ours keeps the network. */
static uint64_t taken_over(struct rv_loop *l, const char *ifname, const struct rv_prefix *routes,
			   size_t n)
{
	uint64_t bits = 0;

	for (size_t i = 0; i < n && i < 64; i++) {
		char net[64], dev[32];
		unsigned oif = 0;

		if (rv_tun_route_elsewhere(ifname, &routes[i], &oif) != 1) {
			continue;
		}
		rv_warnx("%s: route %s/%u not used: the host now routes that network through %s (a "
			 "route of its own, in front of ours or in its place); %s",
			 ifname, rv_ip_addr_str(&routes[i].addr, net, sizeof(net)), routes[i].len,
			 rv_rtnl_dev_name(oif, dev, sizeof(dev)),
			 l->role == &rv_server_role ? "the next reload asks again"
						    : "the next reload or CONFIG asks again");
		(void)rv_tun_del_route(ifname, &routes[i]);
		bits |= 1ull << i;
	}
	return bits;
}

/* loop_to_server says, at each check of a client's, when the host sends
 * its server's address into the client's own TUN: the tunnel's datagrams
 * would go into the tunnel, and nothing passes until that route goes (the
 * client blamed the path MTU, then a silent server: round-twenty-five
 * tester 110). A pushed route does not for long: hostcfg.c leaves such
 * routes out, and takes one off that does once a narrower route of the
 * host's is gone (rv_hostcfg_recheck, just before); an operator's can,
 * added, or uncovered by the deletion of a longer one (tester 114). The kernel is asked the way out (not fibmatch: a route
 * through a nexthop object names its device so). Said once, and its end. */
static void loop_to_server(struct rv_loop *l, const char *ifname)
{
	struct rv_ip_addr server;
	bool in;
	char a[64];

	if (!rv_hostcfg_server_addr(l, &server)) {
		return;
	}
	/* The tunnel's own flows, as a rule may pin them by protocol, port
	 * or source: a plain lookup took a full tunnel so pinned for a loop
	 * (round-forty-two tester 205). */
	in = rv_hostcfg_server_in_tun(l, l->tunwatch_ifindex);
	rv_ip_addr_str(&server, a, sizeof(a));
	if (in && !l->loop_said) {
		rv_warnx("%s: the host now routes the server's address %s into the tunnel itself: "
			 "the tunnel's own packets cannot pass until that route goes",
			 ifname, a);
		l->loop_said = true;
	} else if (!in && l->loop_said) {
		rv_info("%s: the server's address %s is routed outside the tunnel again", ifname,
			a);
		l->loop_said = false;
	}
}

/* note_unused remembers those of |routes| (|n|) that |bits| names as
 * routed elsewhere by the host, with the role that asks for them again. */
static void note_unused(struct rv_loop *l, const struct rv_prefix *routes, size_t n, uint64_t bits)
{
	if (l->role == &rv_server_role) {
		rv_subnets_note_unused(routes, n, bits);
	} else {
		rv_hostcfg_note_unused(l, routes, n, bits);
	}
}

/* foreign_queues says a queue another process attached to the TUN device:
 * it reads a share of the tunnel's packets in the clear, and what it writes
 * the host takes as the tunnel's. Attaching takes root or the device's
 * owner or group (-n says those of an adopted device), and it went unsaid
 * (a Left item since round forty). Said once per count, and its end. */
static void foreign_queues(struct rv_loop *l, const char *ifname)
{
	struct rv_rtnl_link lk;
	unsigned mine;

	if (l->dp == NULL) {
		return;
	}
	mine = rv_dataplane_tun_queues(l->dp);
	if (rv_rtnl_get_link(&lk, ifname) != 0 || !lk.tun_info) {
		return;
	}
	if (lk.num_queues > mine && lk.num_queues != l->tun_foreign_said) {
		rv_warnx("TUN %s has %u queues, %u of them this process's: another process "
			 "attached %u, which reads a share of the tunnel's packets in the clear "
			 "and may write packets the host takes as the tunnel's (root or the "
			 "device's owner or group can: find it with `fuser -v /dev/net/tun`)",
			 ifname, lk.num_queues, mine, lk.num_queues - mine);
		l->tun_foreign_said = lk.num_queues;
	} else if (lk.num_queues <= mine && l->tun_foreign_said != 0) {
		rv_info("TUN %s: the queue(s) another process attached are gone", ifname);
		l->tun_foreign_said = 0;
	}
}

/* foreign_gone says the routes the repair added (bit i of |put|: routes[i])
 * where an administrator's route through the TUN carried a server's subnet
 * until it was removed: ours were never there to be put back (they were
 * said so: round-sixty-three tester 257's nit). Returns how many. */
static unsigned foreign_gone(struct rv_loop *l, const char *ifname, const struct rv_prefix *routes,
			     size_t n, uint64_t put)
{
	bool server = l->role == &rv_server_role;
	unsigned said = 0;
	char a[64];

	for (size_t i = 0; i < n && i < 64; i++) {
		if ((put & (1ull << i)) && (server ? rv_subnets_foreign_gone(&routes[i])
						   : rv_hostcfg_foreign_gone(l, &routes[i]))) {
			rv_info("TUN %s: route to %s/%u added: the route not ringvpn's that "
				"carried it through the TUN was removed",
				ifname, rv_ip_addr_str(&routes[i].addr, a, sizeof(a)),
				routes[i].len);
			said++;
		}
	}
	return said;
}

static void on_tunwatch(struct rv_loop *l, struct rv_ltimer *lt)
{
	/* RV_CTL_MAX_ROUTES bounds both: a client's pushed routes and the
	 * server's subnets, which are pushed too. */
	struct rv_prefix addrs[2], routes[RV_CTL_MAX_ROUTES];
	const char *ifname = rv_dataplane_tun_name(l->dp);
	size_t num_addrs = 0, num_routes = 0;
	unsigned added;
	uint64_t unused = 0, put = 0, taken;
	int up, ret;

	rv_loop_arm(l, lt, on_tunwatch, l->now_ns + TUNWATCH_NS);
	l->tunwatch_last_ns = l->now_ns;
	if (rv_dataplane_failed(l->dp) != 0) {
		return; /* the device is gone: the loop is ending */
	}
	/* The name is the device's only as long as nobody renames it: what
	 * goes back on a link now called so would go to someone else's. */
	if (rv_tunwatch_renamed(l)) {
		if (!l->tun_renamed_said) {
			char now[IF_NAMESIZE];

			bool known = if_indextoname(l->tunwatch_ifindex, now) != NULL;

			rv_warnx("TUN %s was renamed (it is %s now): its addresses and routes are "
				 "no longer looked after; give it its name back",
				 ifname, known ? now : "gone");
			snprintf(l->tun_renamed_to, sizeof(l->tun_renamed_to), "%s",
				 known ? now : "");
			l->tun_renamed_said = true;
		}
		return;
	}
	if (l->tun_renamed_said) {
		rv_info("TUN %s has its name back", ifname);
		l->tun_renamed_said = false;
		if (l->role != &rv_server_role) {
			rv_hostcfg_name_back(l); /* what the server sent meanwhile */
		} else {
			rv_server_tun_name_back(l); /* what reloads changed meanwhile */
		}
	}
	up = rv_tun_is_up(ifname);
	if (up <= 0) {
		if (up == 0 && !l->tun_down_said) {
			rv_warnx("TUN %s is down: no traffic passes until it is up again", ifname);
			l->tun_down_said = true;
		}
		return;
	}
	if (l->tun_down_said) {
		rv_info("TUN %s is up again", ifname);
		l->tun_down_said = false;
	}
	foreign_queues(l, ifname);
	mtu_back(l, ifname);
	if (l->role != &rv_server_role) {
		rv_hostcfg_recheck(l);	   /* a pushed route that takes the server now */
		loop_to_server(l, ifname); /* before a CONFIG too: at a reconnect */
	}
	if (l->role == &rv_server_role) {
		server_wanted(l, ifname, addrs, &num_addrs, routes, &num_routes,
			      sizeof(routes) / sizeof(routes[0]));
	} else if (!rv_hostcfg_wanted(l, addrs, &num_addrs, routes, &num_routes)) {
		return; /* no CONFIG applied yet */
	}
	taken = taken_over(l, ifname, routes, num_routes);
	if (taken) {
		note_unused(l, routes, num_routes, taken);
	}
	for (size_t i = 0, k = 0, n = num_routes; i < n; i++) {
		if (i >= 64 || !(taken & (1ull << i))) {
			routes[k++] = routes[i];
		} else {
			num_routes--;
		}
	}
	ret = rv_tun_add_missing(ifname, addrs, num_addrs, routes, num_routes, &added, &unused,
				 &put);
	/* Remembered, so that the next repair leaves them out too. */
	if (unused) {
		note_unused(l, routes, num_routes, unused);
	}
	added -= foreign_gone(l, ifname, routes, num_routes, put);
	if (l->role == &rv_server_role) {
		rv_server_host_nets(l); /* an address the host took meanwhile */
	}
	if (ret) {
		if (!l->tun_repair_failed) {
			rv_warn(ret, "TUN %s: cannot put back its addresses and routes", ifname);
			l->tun_repair_failed = true;
		}
		return;
	}
	l->tun_repair_failed = false;
	if (added != 0) {
		rv_warnx("TUN %s: put back %u address(es) and route(s) that were removed from it",
			 ifname, added);
	}
}

/* ---- following the device (rtnetlink) ---------------------------------- */

static void arm_netlink(struct rv_loop *l)
{
	if (l->io.read(l->io.ctx, l->tunwatch_fd, l->tunwatch_buf, sizeof(l->tunwatch_buf),
		       rv_udata(RV_OP_CTL_NETLINK, 0, 0))) {
		rv_warnx("cannot read TUN changes from the kernel: checked every %u s",
			 (unsigned)(TUNWATCH_NS / RV_NSEC_PER_SEC));
		close(l->tunwatch_fd);
		l->tunwatch_fd = -1;
	}
}

/* check_soon brings the next check forward (never back). */
static void check_soon(struct rv_loop *l)
{
	uint64_t when = l->now_ns + TUNWATCH_SOON_NS;

	if (when < l->tunwatch_last_ns + TUNWATCH_GAP_NS) {
		when = l->tunwatch_last_ns + TUNWATCH_GAP_NS;
	}
	if (!l->tunwatch_timer.t.armed || when < l->tunwatch_timer.t.expires_ns) {
		rv_loop_arm(l, &l->tunwatch_timer, on_tunwatch, when);
	}
}

/* route_oif: the output device of a route message (0: none given). */
static unsigned route_oif(const struct nlmsghdr *h)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)RTM_PAYLOAD(h);

	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			uint32_t oif;

			memcpy(&oif, RTA_DATA(a), sizeof(oif));
			return oif;
		}
	}
	return 0;
}

/* about_us: does message |h| say the device changed, or lost something
 * ringvpn may have to put back? What it gains needs nothing. */
static bool about_us(const struct nlmsghdr *h, unsigned ifindex)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)) &&
		       (unsigned)((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == ifindex;
	case RTM_DELADDR:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg)) &&
		       ((const struct ifaddrmsg *)NLMSG_DATA(h))->ifa_index == ifindex;
	case RTM_DELROUTE:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)) &&
		       route_oif(h) == ifindex;
	default:
		return false;
	}
}

/* new_part says a route the server's host gained through another device
 * inside a network the server routes through its TUN (a client's subnet),
 * as the install of ours says those there then (uring/tun.c note_parts):
 * one added later (a LAN link up after ringvpn at boot) took that part
 * away, and while the client was away its addresses were answered
 * "unreachable", without a word (round-twenty-four tester 106). A link's
 * own fe80::/64 or 169.254.0.0/16 is none (rv_prefix_link_local). Of
 * several ways, the first through another device names it (such a route
 * went unsaid: tester 107). */
static void new_part(struct rv_loop *l, const struct nlmsghdr *h)
{
	struct rv_prefix dst, routes[RV_CTL_MAX_ROUTES];
	size_t max = sizeof(routes) / sizeof(routes[0]), n;
	unsigned oif;

	/* A way through the TUN is skipped; a nexthop object's route names
	 * no device (its compatibility messages off: such a route went
	 * unsaid, round-twenty-four tester 108). */
	if (!rv_rtnl_route_msg(h, l->tunwatch_ifindex, &dst, &oif) || dst.len == 0 || oif == 0 ||
	    oif == l->tunwatch_ifindex || rv_prefix_link_local(&dst)) {
		return;
	}
	n = rv_subnets_routed(l->cfg, routes, max);
	n = n < max ? n : max;
	for (size_t i = 0; i < n; i++) {
		char net[64], part[64], dev[32];

		if (routes[i].addr.family != dst.addr.family || dst.len <= routes[i].len ||
		    !rv_prefix_contains(&routes[i], &dst.addr)) {
			continue;
		}
		rv_warnx_rl("%s: route %s/%u: a part of it (%s/%u) the host now routes through %s",
			    rv_dataplane_tun_name(l->dp),
			    rv_ip_addr_str(&routes[i].addr, net, sizeof(net)), routes[i].len,
			    rv_ip_addr_str(&dst.addr, part, sizeof(part)), dst.len,
			    rv_rtnl_dev_name(oif, dev, sizeof(dev)));
		/* The data plane leaves it to the host from the next check on
		 * (rv_tunwatch_on_cqe marked the parts stale): one dump of the
		 * table a check at most, not one a route (a flap storm on a
		 * full table took a core: round-twenty-six tester 125). */
		return;
	}
}

/* wanted_exact: is |h| a new route to exactly a network the device
 * carries (a server's network behind a client, a client's pushed route)
 * through another device? Such a route may take the network from ours
 * (taken_over judges it at the check it brings forward). No request. */
static bool wanted_exact(struct rv_loop *l, const struct nlmsghdr *h)
{
	struct rv_prefix dst, addrs[2], routes[RV_CTL_MAX_ROUTES];
	size_t max = sizeof(routes) / sizeof(routes[0]), n = 0, num_addrs = 0;
	unsigned oif;

	if (!rv_rtnl_route_msg(h, l->tunwatch_ifindex, &dst, &oif) || oif == 0 ||
	    oif == l->tunwatch_ifindex) {
		return false;
	}
	if (l->role == &rv_server_role) {
		n = rv_subnets_routed(l->cfg, routes, max);
	} else if (!rv_hostcfg_wanted(l, addrs, &num_addrs, routes, &n)) {
		return false;
	}
	for (size_t i = 0; i < n && i < max; i++) {
		if (rv_prefix_equal(&routes[i], &dst)) {
			return true;
		}
	}
	return false;
}

/* listen_addr says the address the server listens on (`listen`) leaving
 * the host and coming back: meanwhile no client can connect, and the
 * sessions' ends blamed the clients ("silent"), while `status` went on
 * showing it as listened on (round-twenty-five tester 110). */
static void listen_addr(struct rv_loop *l, const struct nlmsghdr *h)
{
	struct rv_rtnl_addr a;
	struct rv_ip_addr mine;
	unsigned scope = 0;
	char s[64];
	bool gone = h->nlmsg_type == RTM_DELADDR;

	if (!rv_rtnl_addr_msg(h, &a) || gone == l->listen_gone_said ||
	    !rv_server_listen_addr(l, &mine, &scope) || !rv_ip_addr_equal(&mine, &a.local.addr)) {
		return;
	}
	/* A link-local listener is bound to its interface: the address on
	 * another one (the same link made anew, a re-plugged NIC, a veth
	 * recreated: another index) is no way to it, and it was said to be
	 * back while every connection was refused (round-sixty-seven tester
	 * 294). Said, and kept as gone: the listener is not opened anew. */
	if (scope != 0 && a.ifindex != scope) {
		if (!gone && l->listen_gone_said) {
			char name[IF_NAMESIZE] = "?", own[IF_NAMESIZE + 24];
			bool stays = if_indextoname(scope, own) != NULL;

			/* Its own interface may stay, the address moved away
			 * (it was said to be gone: tester 295). */
			if (!stays) {
				snprintf(own, sizeof(own), "index %u, gone", scope);
			}
			rv_ip_addr_str(&mine, s, sizeof(s));
			(void)if_indextoname(a.ifindex, name);
			rv_warnx_rl("the address %s the server listens on is on this host again, "
				    "but on %s (index %u), not the interface the listener is "
				    "bound to (%s): %s",
				    s, name, a.ifindex, own,
				    stays ? "put the address back there, or restart the server "
					    "to listen on the other"
					  : "restart the server to listen there");
		}
		return;
	}
	/* Another copy of it may stay (on another link): only its last
	 * going counts, of an address of every link. */
	if (gone && scope == 0) {
		unsigned oif = 0, len = 0;
		bool host = false;

		if (rv_rtnl_route_oif(&mine, &oif, &len, &host) == 0 && host) {
			return;
		}
	}
	l->listen_gone_said = gone;
	rv_ip_addr_str(&mine, s, sizeof(s));
	if (gone) {
		rv_warnx("the address %s the server listens on (`listen`) is gone from this host: "
			 "no client can connect until it is back",
			 s);
	} else {
		rv_info("the address %s the server listens on is back on this host", s);
	}
}

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* <linux/if.h>, which clashes with <net/if.h> */
#endif

/* net_gained: does |h| say the host gained a way somewhere (a route, an
 * address, a link up with its carrier) on a device other than our TUN
 * (|ifindex|), whose own are ours to make? */
static bool net_gained(const struct nlmsghdr *h, unsigned ifindex)
{
	switch (h->nlmsg_type) {
	case RTM_NEWROUTE:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)) &&
		       route_oif(h) != ifindex;
	case RTM_NEWADDR:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg)) &&
		       ((const struct ifaddrmsg *)NLMSG_DATA(h))->ifa_index != ifindex;
	case RTM_NEWLINK: {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);

		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) &&
		       (unsigned)ifi->ifi_index != ifindex &&
		       (ifi->ifi_flags & (IFF_UP | IFF_LOWER_UP)) == (IFF_UP | IFF_LOWER_UP);
	}
	default:
		return false;
	}
}

void rv_tunwatch_on_cqe(struct rv_loop *l, int res)
{
	bool hit = false;

	if (l->tunwatch_fd < 0 || res == -ECANCELED) {
		return;
	}
	if (res == -ENOBUFS) {
		hit = true; /* messages were lost: look */
	} else if (res < 0) {
		rv_warnx("reading TUN changes from the kernel: %s: checked every %u s from now",
			 strerror(-res), (unsigned)(TUNWATCH_NS / RV_NSEC_PER_SEC));
		close(l->tunwatch_fd);
		l->tunwatch_fd = -1;
		return;
	}
	for (const struct nlmsghdr *h = (const void *)l->tunwatch_buf; res > 0 && NLMSG_OK(h, res);
	     h = NLMSG_NEXT(h, res)) {
		hit = hit || about_us(h, l->tunwatch_ifindex) ||
		      (h->nlmsg_type == RTM_NEWROUTE && wanted_exact(l, h)) ||
		      /* a client's way to its server may have changed: a
		       * route, or a rule (one that sent the server's address
		       * to a table of its own went unseen until the periodic
		       * check, the pushed route looping meanwhile:
		       * round-thirty tester 158) */
		      (l->role != &rv_server_role &&
		       (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE ||
			h->nlmsg_type == RTM_NEWRULE || h->nlmsg_type == RTM_DELRULE ||
			/* any link, and nexthop objects: a link set down
			 * takes its IPv4 routes without a route message, and
			 * a nexthop object its routes (tester 159) */
			h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK ||
			h->nlmsg_type == RTM_NEWNEXTHOP || h->nlmsg_type == RTM_DELNEXTHOP));
		/* A client's: the parts of the tunnel's networks its host
		 * routes itself are asked again at the next check (a link set
		 * down, an address gone, take routes without a route
		 * message). */
		if (l->role != &rv_server_role &&
		    (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE ||
		     h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK ||
		     h->nlmsg_type == RTM_DELADDR || h->nlmsg_type == RTM_NEWNEXTHOP ||
		     h->nlmsg_type == RTM_DELNEXTHOP)) {
			rv_hostcfg_parts_changed();
		}
		if (l->role == &rv_server_role) {
			/* A route of the host's came or went: its parts of the
			 * networks behind clients are asked again at the next
			 * check. */
			if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) {
				rv_server_host_parts_changed();
			}
			new_part(l, h);
			listen_addr(l, h);
		} else if (h->nlmsg_type == RTM_DELADDR) {
			struct rv_rtnl_addr a;

			if (rv_rtnl_addr_msg(h, &a)) {
				rv_client_addr_gone(l, &a.local.addr, a.ifindex);
			}
		} else if (net_gained(h, l->tunwatch_ifindex)) {
			rv_client_net_changed(l); /* the way to the server may be back */
		}
	}
	if (hit && !l->stopping) {
		check_soon(l);
	}
	arm_netlink(l);
}

/* open_netlink subscribes to the kernel's link, address, route and rule
 * messages. Returns the socket or -1 (the reason logged). */
static int open_netlink(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			     RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE |
			     (1u << (RTNLGRP_IPV6_RULE - 1)),
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	int nexthop = RTNLGRP_NEXTHOP;

	/* Connected to the kernel (port 0): another process's socket can
	 * send this one nothing then (a forged route message was said as the
	 * host's: round-twenty-five tester 112). */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    connect(fd, (struct sockaddr *)&kernel, sizeof(kernel)) != 0) {
		rv_warn(errno, "cannot follow the TUN device's changes: checked every %u s",
			(unsigned)(TUNWATCH_NS / RV_NSEC_PER_SEC));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	/* Nexthop objects too: a route to the server through one that is
	 * deleted goes with it, unsaid as a route (round-thirty-one tester
	 * 159). A kernel without them has no such routes either. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &nexthop, sizeof(nexthop));
	return fd;
}

bool rv_tunwatch_renamed(const struct rv_loop *l)
{
	unsigned now;

	if (l->tunwatch_ifindex == 0) {
		return false;
	}
	errno = 0;
	now = if_nametoindex(rv_dataplane_tun_name(l->dp));
	/* 0 also when the lookup itself failed (it needs a socket: a process
	 * out of descriptors): only "no such device" says the name is free,
	 * and otherwise the last view stands (a TUN renamed, said so, was
	 * taken for one with its name back: round-forty tester 195). */
	return now != 0 ? now != l->tunwatch_ifindex : errno == ENODEV || l->tun_renamed_said;
}

void rv_tunwatch_say_around(struct rv_strbuf *log, const char *what, unsigned since)
{
	unsigned n = rv_tun_links_around_said() - since;

	if (n) {
		rv_strbuf_printf(log,
				 "warning: %u %s route(s) lie inside the network of one of this "
				 "host's links: the link's hosts with addresses in them are "
				 "reached "
				 "through the tunnel and cannot reach this host (see the log)\n",
				 n, what);
	}
}

enum rv_status_tun rv_tunwatch_state(const struct rv_loop *l, char *now, size_t len)
{
	char name[IF_NAMESIZE];
	int up;

	if (!l->dp) {
		return RV_STATUS_TUN_NONE;
	}
	/* Each lookup needs a socket: out of descriptors, only "no such
	 * device" says gone, and otherwise the watch's last view stands (a
	 * server out of descriptors said its TUN was GONE, ringvpn_tun_up 0,
	 * while it carried traffic: round-thirty-nine tester 193). */
	if (rv_tunwatch_renamed(l)) {
		errno = 0;
		if (if_indextoname(l->tunwatch_ifindex, name)) {
			/* printable ASCII: the kernel takes any byte but '/', ':' and
			 * blanks, and a right-to-left override reached the
			 * operator's terminal (round-forty-two tester 206) */
			rv_shown_ascii(now, len, name);
		} else if (errno == ENXIO || errno == ENODEV) {
			return RV_STATUS_TUN_GONE;
		} else {
			/* The name it was said to have ("? (No such file or
			 * directory)" read as gone: round-forty tester 199). */
			rv_shown_ascii(now, len, l->tun_renamed_to[0] ? l->tun_renamed_to : "?");
		}
		return RV_STATUS_TUN_RENAMED;
	}
	up = rv_tun_is_up(rv_dataplane_tun_name(l->dp));
	if (up < 0 && up != -ENODEV) {
		up = !l->tun_down_said;
	}
	return up > 0 ? RV_STATUS_TUN_UP : up == 0 ? RV_STATUS_TUN_DOWN : RV_STATUS_TUN_GONE;
}

void rv_tunwatch_start(struct rv_loop *l)
{
	if (!l->dp) {
		return;
	}
	rv_loop_arm(l, &l->tunwatch_timer, on_tunwatch, l->now_ns + TUNWATCH_NS);
	if (l->role == &rv_server_role) {
		rv_server_host_nets(l);
	}
	l->tunwatch_ifindex = if_nametoindex(rv_dataplane_tun_name(l->dp));
	if (l->tunwatch_ifindex == 0) {
		return; /* gone already: the data plane says so */
	}
	l->tunwatch_fd = open_netlink();
	if (l->tunwatch_fd >= 0) {
		arm_netlink(l);
	}
}

void rv_tunwatch_free(struct rv_loop *l)
{
	if (l->tunwatch_fd >= 0) {
		close(l->tunwatch_fd);
		l->tunwatch_fd = -1;
	}
}
