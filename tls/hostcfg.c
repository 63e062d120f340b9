/*
 * hostcfg.c — the client applying what its server sends to the host: the
 * TUN device's MTU and addresses, the pushed routes and, when pushed, DNS
 * servers. Addresses and routes go through rv_tun_set_addrs_routes, which
 * leaves the device with exactly this CONFIG's set: an address from an
 * earlier session that the server did not give back is removed (the kernel
 * would keep sourcing from it), and so is a route a CONFIG update after a
 * server reload no longer pushes.
 *
 * The TUN device and the data plane exist from start-up (cli/client.c);
 * only their configuration follows the server.
 *
 * A pushed route that covers the address of the server itself (0.0.0.0/1
 * and 128.0.0.0/1, the usual full tunnel, cover every address) is not
 * installed: the client's own TCP and UDP packets to the server would then
 * go into the tunnel, the session would die and no reconnection could get
 * out. The client says so. When it connects to a server whose address an
 * installed route covers (a failover, a server that moved), that route is
 * taken off first.
 *
 * What the host routes into the tunnel is also all that may come out of
 * it: the session's networks in the demux (rv_demux_set_prefixes) are the
 * networks of its addresses and the routes installed, and the workers drop
 * a decrypted packet from any other source as spoofed (the server's check
 * of its clients, turned around; WireGuard's AllowedIPs). A route left out
 * (accept_routes, the server's address, no IPv6) lets nothing in, and an
 * installed default (or its two halves) lets everything of its family in.
 * The set follows every change of the routes: a CONFIG, an update, a
 * reload's accept_routes, a route dropped for covering the server.
 *
 * At exit the addresses and routes are taken off a persistent device
 * (rv_hostcfg_withdraw), which outlives the process; one the process made
 * takes them along when it goes.
 *
 * DNS: handed to the command's apply_dns (cli/: systemd-resolved over
 * D-Bus, as resolvectl does, scoped to the tunnel's link — it works under
 * the privilege drop and the seccomp filter, unlike running a program).
 * Without systemd-resolved /etc/resolv.conf is left alone and the push is
 * logged: rewriting a file other software owns is worse than not applying
 * the push. The last push is kept, so that a reload that changes
 * accept_dns sets it, or takes back what was set, at once (as one that
 * changes accept_routes filters the last CONFIG's routes again).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/status.h"
#include "core/strbuf.h"
#include "core/wire.h"
#include "tls/internal.h"
#include "uring/dataplane.h"
#include "uring/rtnl.h"
#include "uring/tun.h"

/* What this client applied: the addresses of the last full CONFIG (an
 * update after a server reload carries none of its own) and the MTU. */
struct hostcfg {
	struct rv_ip_addr v4, v6;
	uint8_t prefix4, prefix6;
	unsigned mtu;
	bool no_v6;	  /* no IPv6 on the TUN: mtu below 1280, or IPv6 disabled */
	bool dns_set;	  /* DNS handed over for the link since the last withdrawal */
	bool dns_touched; /* DNS ever handed over (accept_dns = no reverts it) */
	bool applied;	  /* and the routes it let in (tunwatch.c puts them back) */
	struct rv_prefix routes[RV_CTL_MAX_ROUTES];
	size_t num_routes;
	uint64_t unused;	  /* bit i: routes[i] is not used by the host (not a source) */
	uint64_t foreign;	  /* bit i: routes[i] is carried by a route not ringvpn's */
	struct rv_ip_addr server; /* the address connected to (family 0: none yet) */
	uint64_t taken_off_ns;	  /* when rv_hostcfg_recheck last took a route off */
	/* The control connection's server port and source, and the data
	 * channel's server port, for the lookups of the server's way
	 * (captures_server): a rule may choose by them. */
	uint16_t ctl_port, data_port, ctl_sport, data_sport;
	struct rv_ip_addr ctl_src;
	/* Pushed routes that covered the server, judged to keep out of its
	 * way, which the host then sent the server's address into once
	 * installed (its rules decide past what a lookup can foresee: a
	 * `suppress_prefixlength` rule ahead of another table's). Left out
	 * until the next session's CONFIG, a reload that changes accept_routes
	 * or REFUSED_NS (verify_cover). */
	struct rv_prefix refused[RV_CTL_MAX_ROUTES];
	size_t num_refused;
	uint64_t refused_ns;
	struct rv_ctl_config pushed; /* the last CONFIG's routes and MTU, for a reload */
	struct rv_ctl_dns dns;	     /* the last DNS push, whole (empty: none) */
	struct rv_ctl_dns dns_used;  /* of it, what this client could use then */
	unsigned dns_retry_s;	     /* the DNS thread refused: seconds to the next try */
};

static struct hostcfg *state(struct rv_loop *l)
{
	static struct hostcfg one; /* one client per process */

	(void)l;
	return &one;
}

/* ctl_addr converts an address of the control protocol (|family| 4 or 6,
 * 16 bytes: a route's, a DNS server's) into |a|. */
static void ctl_addr(uint8_t family, const uint8_t addr[16], struct rv_ip_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = family == 4 ? AF_INET : AF_INET6;
	memcpy(a->a, addr, 16);
}

/* take_addr records the address a full CONFIG assigns for one family
 * (family 0 in |a| when it assigns none), saying so when the server did not
 * give the previous one back. */
static void take_addr(struct rv_ip_addr *cur, uint8_t *cur_prefix, const struct rv_ip_addr *a,
		      uint8_t prefix)
{
	char s[64], o[64];

	if (cur->family && a->family && !rv_ip_addr_equal(cur, a)) {
		rv_warnx("server assigned %s instead of the previous %s, which is removed",
			 rv_ip_addr_str(a, s, sizeof(s)), rv_ip_addr_str(cur, o, sizeof(o)));
	}
	*cur = *a;
	*cur_prefix = prefix;
}

/* addrs_of fills |addrs| (two) with the client's addresses; returns how many. */
static size_t addrs_of(const struct hostcfg *h, struct rv_prefix *addrs)
{
	size_t n = 0;

	if (h->v4.family) {
		addrs[n++] = (struct rv_prefix){ .addr = h->v4, .len = h->prefix4 };
	}
	/* Below IPv6's least MTU, or with IPv6 disabled, the kernel refuses
	 * an IPv6 address. */
	if (h->v6.family && !h->no_v6) {
		addrs[n++] = (struct rv_prefix){ .addr = h->v6, .len = h->prefix6 };
	}
	return n;
}

/* used_routes fills |out| with the routes installed that the host sends
 * through the tunnel (not those said "not used"): how many. */
static size_t used_routes(const struct hostcfg *h, struct rv_prefix *out)
{
	size_t n = 0;

	for (size_t i = 0; i < h->num_routes; i++) {
		if (i >= 64 || !(h->unused & (1ull << i))) {
			out[n++] = h->routes[i];
		}
	}
	return n;
}

/* sources_of fills |out| (2 + RV_CTL_MAX_ROUTES) with the networks this
 * client routes into the tunnel: those of its addresses as on the TUN (the
 * kernel's connected routes) and the routes installed. Returns how many. */
static size_t sources_of(const struct hostcfg *h, struct rv_prefix *out)
{
	size_t n = addrs_of(h, out);

	for (size_t i = 0; i < n; i++) {
		rv_prefix_clear_host(&out[i]);
	}
	/* Not the routes the host does not send through the tunnel: it said
	 * "not used" of its own LAN's network a server pushed, and took
	 * packets from the tunnel posing as that LAN's hosts (round-eleven
	 * tester 50). */
	return n + used_routes(h, out + n);
}

/* struct part_walk gathers the host's routes through other devices inside
 * the networks this client routes into the tunnel (publish_parts). */
struct part_walk {
	const struct rv_prefix *nets;
	size_t num_nets;
	struct rv_prefix out[RV_DP_HOST_NETS_MAX];
	size_t n;
	bool over;
};

static int note_part(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	struct part_walk *pw = ctx;

	if (!rv_route_part(dst, oif, pw->nets, pw->num_nets)) {
		return 0;
	}
	/* One that holds a network of the tunnel's, longer and so the
	 * host's way to it (the pool's inside a LAN's 10.0.0.0/8 beside a
	 * full tunnel): left out whole, or the server's own packets were
	 * dropped as spoof (round-sixty-eight tester 304). Its other
	 * addresses stay sources (README Limitations). */
	for (size_t i = 0; i < pw->num_nets; i++) {
		if (pw->nets[i].len > dst->len && rv_prefix_contains(dst, &pw->nets[i].addr)) {
			return 0;
		}
	}
	if (pw->n == RV_DP_HOST_NETS_MAX) {
		pw->over = true;
	} else {
		pw->out[pw->n++] = *dst;
	}
	return 0;
}

/* The host's parts, as last published; whether a route may have changed
 * since (rv_hostcfg_parts_changed). */
static struct part_walk parts_last;
static const struct rv_dataplane *parts_dp;
static bool parts_stale = true;

void rv_hostcfg_parts_changed(void)
{
	parts_stale = true;
}

/* publish_parts tells the workers the parts of the networks |nets| (the
 * session's sources) that the host routes through another device: its
 * own, not the server's to send from. The whole of a pushed route or of
 * the pool's network was a source while the host sent a part of it to its
 * own LAN, and the server could pose as that LAN's hosts (a carve-out
 * `subnet ... override`, a pool wider than the LAN: round-sixty-eight
 * tester 298). The worker's source check drops them as spoof
 * (rv_dataplane_host_has). Asked of the kernel only when the sources or
 * the host's routes changed: a dump of the whole table. */
static void publish_parts(struct rv_loop *l, const struct rv_prefix *nets, size_t n, bool changed)
{
	struct part_walk pw = { .nets = nets, .num_nets = n };
	unsigned tun;
	bool same;

	if (!l->dp || (!changed && !parts_stale)) {
		return;
	}
	parts_stale = false;
	tun = if_nametoindex(rv_dataplane_tun_name(l->dp));
	if (tun != 0 && n != 0 && rv_rtnl_list_other_routes(tun, note_part, &pw) < 0) {
		parts_stale = true; /* asked again at the next check */
		return;
	}
	same = l->dp == parts_dp && pw.n == parts_last.n && pw.over == parts_last.over;
	for (size_t i = 0; same && i < pw.n; i++) {
		same = rv_prefix_equal(&pw.out[i], &parts_last.out[i]);
	}
	if (same) {
		return;
	}
	if (pw.over && !parts_last.over) {
		rv_warnx("more than %u of this host's routes lie inside the networks it routes "
			 "into the tunnel: the server may send from the addresses of those past "
			 "the first %u",
			 (unsigned)RV_DP_HOST_NETS_MAX, (unsigned)RV_DP_HOST_NETS_MAX);
	}
	parts_dp = l->dp;
	parts_last.n = pw.n;
	parts_last.over = pw.over;
	memcpy(parts_last.out, pw.out, pw.n * sizeof(pw.out[0]));
	rv_dataplane_set_host_nets(l->dp, pw.out, pw.n, false);
}

/* publish_sources makes the tunnel's networks what session |s| (NULL: the
 * current one, if any) may send from. The workers see each network added
 * before any that goes is removed (rv_demux_set_prefixes), so a change
 * drops nothing both sets carry. Returns 0 or -errno (-ENOMEM: the session
 * owns the networks it had plus some of the new ones). */
static int publish_sources(struct rv_loop *l, struct hostcfg *h, struct rv_session *s)
{
	struct rv_prefix nets[2 + RV_CTL_MAX_ROUTES];
	size_t n;
	int ret;

	if (!s) {
		s = rv_client_session(l);
		if (!s) {
			return 0; /* the first CONFIG's session: on_session does it */
		}
	}
	n = sources_of(h, nets);
	ret = rv_demux_set_prefixes(l->env.demux, s, nets, n);
	if (ret) {
		rv_warn(ret, "cannot publish the tunnel's networks to the data plane");
	}
	publish_parts(l, nets, n, true);
	return ret;
}

int rv_hostcfg_session(void *loop, struct rv_session *s)
{
	struct rv_loop *l = loop;

	return publish_sources(l, state(l), s);
}

/* route_accepted: does accept_routes let this client install |r|? */
static bool route_accepted(const struct rv_config *cfg, const struct rv_ctl_route *r)
{
	struct rv_ip_addr a;

	switch (cfg->accept_routes) {
	case RV_CONFIG_ACCEPT_NONE:
		return false;
	case RV_CONFIG_ACCEPT_LIST:
		ctl_addr(r->family, r->addr, &a);
		for (size_t i = 0; i < cfg->num_accept; i++) {
			if (cfg->accept[i].addr.family == a.family &&
			    r->prefix >= cfg->accept[i].len &&
			    rv_prefix_contains(&cfg->accept[i], &a)) {
				return true;
			}
		}
		return false;
	default:
		return true;
	}
}

/* covers_server: would route |p| carry the packets to the server? Never
 * for a link-local server address: its packets go out by the interface its
 * scope names, whatever the routes (a full tunnel's 8000::/1 was left out
 * for a server at fe80::X%eth0: round-sixteen tester 76). */
static bool covers_server(const struct hostcfg *h, const struct rv_prefix *p)
{
	if (h->server.family == AF_INET6 && h->server.a[0] == 0xfe &&
	    (h->server.a[1] & 0xc0) == 0x80) {
		return false;
	}
	return h->server.family && p->addr.family == h->server.family &&
	       rv_prefix_contains(p, &h->server);
}

/* tun_index: the TUN's interface index, as the tunnel watch follows it. */
static unsigned tun_index(const struct rv_loop *l, const char *ifname)
{
	return l->tunwatch_ifindex ? l->tunwatch_ifindex : if_nametoindex(ifname);
}

/* A server's updates are said within a limit (the first CONFIG's lines
 * always): a server that sent them back to back, alternating, wrote three
 * lines each, without end (round-twenty-eight tester 139). */
#define say_upd_info(update, fmt, ...) \
	rv_log_rl_or(RV_LOG_INFO, rv_info, !(update), fmt, fmt, ##__VA_ARGS__)
#define say_upd_warn(update, ...) rv_warnx_rl_or(!(update), __VA_ARGS__)

/* main_covers: is |ctx|'s address in a route of the main table's (listed
 * by rv_rtnl_list_other_routes, ours left out)? Stops the walk at one. */
static int main_covers(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	const struct rv_ip_addr *a = ctx;

	(void)oif;
	return a->family == dst->addr.family && rv_prefix_contains(dst, a) ? -EEXIST : 0;
}

/* captures_server: would route |p| on the TUN |tun| take the packets to
 * the server from the way the host sends them now? Not when a longer
 * route of the host's keeps the server's address out of it, as one does
 * for a pool's network (check_addr): a full tunnel's halves hold every
 * global address, and an IPv6 full tunnel (::/1, 8000::/1) was never
 * installed whole even with the server on the client's own link or
 * pinned by a host route (round-thirty tester 153). */
/* captures_as: captures_server for the packets of flow |f|. */
static bool captures_as(const struct hostcfg *h, unsigned tun, const struct rv_prefix *p,
			const struct rv_rtnl_flow *f)
{
	struct rv_rtnl_match m;

	if (rv_rtnl_route_match_for(&h->server, 0, f, &m) != 0 || m.oif == tun) {
		return true;
	}
	if (m.host || m.table == RT_TABLE_LOCAL) {
		return false; /* this host's own address: the table local comes first */
	}
	/* A rule that sends the server's address to a table of its own
	 * keeps it out of the main table, where the pushed routes go (a
	 * default route there was judged by its length, 0, and the half left
	 * out: round-thirty tester 157), if it comes before main's: as it
	 * must where main has a route to the server too, which it passed
	 * over. Where main has none, the rule may come after main's, which
	 * the pushed route would then take the server from: installed, it
	 * was taken off at the next check and installed again at the one
	 * after, without end (round-thirty tester 158); so is the table
	 * `default`, looked up after main's (tester 159). */
	if (m.table != 0 && m.table != RT_TABLE_MAIN) {
		struct rv_ip_addr a = h->server;

		return rv_rtnl_list_other_routes(tun, main_covers, &a) != -EEXIST;
	}
	return m.len <= p->len;
}

/* server_flows fills the tunnel's own two flows to the server: the data
 * plane's datagrams (UDP, root's: its sockets were made before the drop,
 * unbound) and the control connection's segments (TCP, this thread's user,
 * from the source it was given). A rule may send one and not the other the
 * other way, by user (`uidrange`), by protocol (`ipproto udp`), by source
 * (`from`) or by port (`sport`), and a lookup of neither was wrong (round-
 * thirty-one testers 159, 161, 162). */
static void server_flows(const struct hostcfg *h, struct rv_rtnl_flow *data,
			 struct rv_rtnl_flow *ctl)
{
	*data = (struct rv_rtnl_flow){
		.uid = 0, .proto = IPPROTO_UDP, .sport = h->data_sport, .dport = h->data_port
	};
	*ctl = (struct rv_rtnl_flow){ .uid = (uint32_t)geteuid(),
				      .proto = IPPROTO_TCP,
				      .sport = h->ctl_sport,
				      .dport = h->ctl_port,
				      .src = h->ctl_src };
}

static bool captures_server(const struct hostcfg *h, unsigned tun, const struct rv_prefix *p)
{
	struct rv_rtnl_flow data, ctl;

	server_flows(h, &data, &ctl);
	return covers_server(h, p) &&
	       (captures_as(h, tun, p, &data) || captures_as(h, tun, p, &ctl));
}

static void say_covers_server(const struct hostcfg *h, const struct rv_prefix *p, const char *what,
			      bool update)
{
	char s[64], a[64], full[8];

	snprintf(full, sizeof(full), "/%u", h->server.family == AF_INET ? 32 : 128);
	say_upd_warn(update,
		     "route %s/%u pushed by the server: %s: it covers the server's own address "
		     "%s, which the host routes no narrower, so the tunnel's packets would go "
		     "into the tunnel (route the server's address on this host, e.g. a %s route "
		     "by its present way, or push narrower routes that leave it out)",
		     rv_ip_addr_str(&p->addr, s, sizeof(s)), p->len, what,
		     rv_ip_addr_str(&h->server, a, sizeof(a)), full);
}

/* How long a route the host sent the server into stays left out. */
#define REFUSED_NS (300 * RV_NSEC_PER_SEC)

static bool is_refused(const struct hostcfg *h, const struct rv_prefix *p)
{
	for (size_t i = 0; i < h->num_refused; i++) {
		if (rv_prefix_equal(&h->refused[i], p)) {
			return true;
		}
	}
	return false;
}

/* accepted_routes collects the pushed routes accept_routes lets in, but
 * never one that covers the server's address. */
/* special_route: why a route to |p| leads nowhere a tunnel can: a network
 * inside a special-purpose block (core/config.c's table, which a server's
 * `route` and a client's `accept_routes` are checked against too), or one
 * narrower than /8 that holds such a block (169.254.0.0/15). Installed,
 * 169.254.169.254 (a cloud's metadata) and mDNS went into the tunnel, and
 * their sources became the server's to send as (round-twenty-eight
 * testers 139, 140). A /8 or wider is taken: a full tunnel's halves
 * (0.0.0.0/1, 128.0.0.0/1) hold such blocks by nature. */
static const char *special_route(const struct rv_prefix *p)
{
	return rv_config_special_range(p, p->len > 8);
}

static size_t accepted_routes(struct rv_prefix *out, const struct hostcfg *h, unsigned tun,
			      const struct rv_config *cfg, const struct rv_ctl_config *c,
			      bool update)
{
	size_t n = 0;
	char s[64];

	for (size_t i = 0; i < c->num_routes; i++) {
		struct rv_prefix p = { .len = c->routes[i].prefix };
		const char *special;

		ctl_addr(c->routes[i].family, c->routes[i].addr, &p.addr);
		if (!route_accepted(cfg, &c->routes[i])) {
			say_upd_info(update,
				     "route %s/%u pushed by the server: not installed "
				     "(accept_routes)",
				     rv_ip_addr_str(&p.addr, s, sizeof(s)), p.len);
			continue;
		}
		if (captures_server(h, tun, &p)) {
			say_covers_server(h, &p, "not installed", update);
			continue;
		}
		if (is_refused(h, &p)) {
			continue; /* said when it was (verify_cover) */
		}
		special = special_route(&p);
		if (special) {
			say_upd_warn(update,
				     "route %s/%u pushed by the server: not installed (it is or "
				     "holds %s space: no tunnel leads there)",
				     rv_ip_addr_str(&p.addr, s, sizeof(s)), p.len, special);
			continue;
		}
		out[n++] = p;
	}
	return n;
}

void rv_hostcfg_server(struct rv_loop *l, const struct rv_endpoint *server)
{
	struct hostcfg *h = state(l);
	struct rv_prefix addrs[2], kept[RV_CTL_MAX_ROUTES];
	uint64_t unused = 0, foreign = 0;
	unsigned tun;
	size_t n = 0;
	int ret;

	rv_endpoint_addr(server, &h->server);
	h->ctl_port = server->sa.sa_family == AF_INET6 ? ntohs(server->in6.sin6_port)
						       : ntohs(server->in4.sin_port);
	memset(&h->ctl_src, 0, sizeof(h->ctl_src)); /* known once connected */
	h->ctl_sport = 0;
	tun = l->dp ? tun_index(l, rv_dataplane_tun_name(l->dp)) : 0;
	for (size_t i = 0; i < h->num_routes; i++) {
		if (l->dp && captures_server(h, tun, &h->routes[i])) {
			say_covers_server(h, &h->routes[i], "left out from now on", false);
		} else {
			kept[n++] = h->routes[i];
		}
	}
	if (n == h->num_routes || !h->applied || !l->dp) {
		return;
	}
	ret = rv_tun_set_addrs_routes(rv_dataplane_tun_name(l->dp), addrs, addrs_of(h, addrs), kept,
				      n, &unused, &foreign);
	if (ret) {
		rv_warn(ret, "cannot take the routes covering the server off %s",
			rv_dataplane_tun_name(l->dp));
		return;
	}
	memcpy(h->routes, kept, n * sizeof(kept[0]));
	h->num_routes = n;
	h->unused = unused;
	h->foreign = foreign;
	(void)publish_sources(l, h, NULL); /* only removes: cannot fail */
}

/* The widest network an assigned address may bring with it (the kernel
 * routes an address's network through its device). A pool is a network of
 * clients; wider than this it is a route into the tunnel for a large part
 * of the address space, past accept_routes (a server that assigned
 * 100.64.0.2/1 took half of IPv4 from a client with accept_routes = no). */
enum { ADDR_NET_MIN4 = 8, ADDR_NET_MIN6 = 16 };

/* unusable: why no host could take |a|, with network length |len|, as its
 * tunnel address; NULL when it can. */
static const char *unusable(const struct rv_ip_addr *a, unsigned len)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[15];
	const uint8_t *b = a->a;

	if (a->family == AF_INET) {
		uint32_t v =
			(uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		uint32_t host = len >= 32 ? 0 : v & (UINT32_MAX >> len);

		if (b[0] == 0 || b[0] == 127) {
			return b[0] ? "a loopback address" : "inside 0.0.0.0/8";
		}
		if (b[0] == 169 && b[1] == 254) {
			return "a link-local address";
		}
		if (b[0] >= 224) {
			return b[0] < 240 ? "a multicast address"
					  : "a reserved or broadcast address";
		}
		/* /31 and /32 have no network or broadcast address. */
		if (len <= 30 && (host == 0 || host == UINT32_MAX >> len)) {
			return host ? "its network's broadcast address"
				    : "its network's own address";
		}
		return NULL;
	}
	if (b[0] == 0xff) {
		return "a multicast address";
	}
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
		return "a link-local address";
	}
	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		return "an IPv4-mapped address";
	}
	if (memcmp(b, zero, sizeof(zero)) == 0 && b[15] <= 1) {
		return b[15] ? "the loopback address" : "the unspecified address";
	}
	return NULL;
}

/* check_addr judges the address |a| the server assigned with network length
 * |len|: -EBADMSG (said) when this host cannot take it as its tunnel
 * address (see unusable), or it is the server's (the client's own packets
 * to the server then stayed on the host: every reconnection failed,
 * blaming the server). Otherwise |*use_len| is the length to put on the
 * TUN: |len|, or the address alone (no route to its network) when that
 * network is too wide or covers the way to the server. A network inside
 * one the host is on is taken as it comes (the longer route wins): a pool
 * of 10.99.0.0/24 beside a 10.0.0.0/8 LAN is an ordinary deployment, and
 * whether the LAN uses that part is not known here. */
static int check_addr(const struct hostcfg *h, unsigned tun, const struct rv_ip_addr *a,
		      unsigned len, uint8_t *use_len)
{
	const unsigned full = a->family == AF_INET ? 32 : 128;
	struct rv_prefix want = { .addr = *a, .len = (uint8_t)len };
	const char *why = unusable(a, len);
	char s[64], o[64], why_alone[96] = "";

	rv_ip_addr_str(a, s, sizeof(s));
	if (!why && h->server.family && rv_ip_addr_equal(a, &h->server)) {
		why = "the address this client reaches the server at";
	}
	if (why) {
		rv_warnx("server assigned %s/%u: %s: not taken (the session ends)", s, len, why);
		return -EBADMSG;
	}
	*use_len = (uint8_t)len;
	if (len < (a->family == AF_INET ? ADDR_NET_MIN4 : ADDR_NET_MIN6)) {
		snprintf(why_alone, sizeof(why_alone), "a network wider than /%u is no pool",
			 a->family == AF_INET ? ADDR_NET_MIN4 : ADDR_NET_MIN6);
	} else if (captures_server(h, tun, &want)) {
		/* Unless the host keeps the server out of it, as of a pushed
		 * route. */
		snprintf(why_alone, sizeof(why_alone),
			 "its network covers the server's own address %s",
			 rv_ip_addr_str(&h->server, o, sizeof(o)));
	}
	if (why_alone[0] && len < full) {
		rv_warnx("server assigned %s/%u: %s: the address is set alone (/%u), with no route "
			 "to its network",
			 s, len, why_alone, full);
		*use_len = (uint8_t)full;
	}
	return 0;
}

/* v6_off: no IPv6 on the TUN |ifname| now, and why (|why|): an mtu below
 * 1280 from the server, or the device or host (rv_tun_ipv6_off). Adding an
 * IPv6 address then fails, and the session with it: the client reconnected
 * for ever. */
static bool v6_off(const struct hostcfg *h, const char *ifname, char *why, size_t why_len)
{
	if (h->mtu < RV_IPV6_MIN_MTU) {
		snprintf(why, why_len, "mtu %u is below %u, the least IPv6 runs on", h->mtu,
			 (unsigned)RV_IPV6_MIN_MTU);
		return true;
	}
	return rv_tun_ipv6_off(ifname, why, why_len);
}

static bool dns_empty(const struct rv_ctl_dns *dns)
{
	return dns->num_servers == 0 && dns->domain_len == 0;
}

static void dns_judge(struct rv_loop *l, bool pushed_now);

/* apply puts CONFIG |c| on the host; |update| (no addresses in it), |again|
 * (the last one filtered anew after a reload: not the server's news). */
/* new_network: an update (a reload that grew or shrank the pool) gives
 * the address held, |cur|, a network of |len|: judged as at connect
 * (check_addr), kept in |*cur_prefix|. The clients kept the old network,
 * and the hosts of a grown pool's new half were unreachable from them
 * (round-thirteen tester 61). An update never moves the address itself. */
static int new_network(struct hostcfg *h, unsigned tun, const struct rv_ip_addr *cur,
		       uint8_t *cur_prefix, const struct rv_ip_addr *a, uint8_t len)
{
	uint8_t use = len;
	char s[64];
	int ret;

	if (!cur->family || !rv_ip_addr_equal(cur, a)) {
		return 0;
	}
	ret = check_addr(h, tun, a, len, &use);
	if (ret == 0 && use != *cur_prefix) {
		rv_info_rl("server changed the network of %s: /%u, was /%u",
			   rv_ip_addr_str(a, s, sizeof(s)), use, *cur_prefix);
		*cur_prefix = use;
	}
	return ret;
}

/* take_addrs takes the addresses |v4| and |v6| of a first CONFIG |c| (a
 * family 0: none), each with its network as check_addr judges it. */
static int take_addrs(struct hostcfg *h, unsigned tun, const struct rv_ctl_config *c,
		      const struct rv_ip_addr *v4, const struct rv_ip_addr *v6)
{
	uint8_t len4 = c->prefix4, len6 = c->prefix6;
	int ret;

	if ((v4->family && (ret = check_addr(h, tun, v4, c->prefix4, &len4)) != 0) ||
	    (v6->family && (ret = check_addr(h, tun, v6, c->prefix6, &len6)) != 0)) {
		return ret;
	}
	take_addr(&h->v4, &h->prefix4, v4, len4);
	take_addr(&h->v6, &h->prefix6, v6, len6);
	return 0;
}

/* verify_cover asks again, once |routes| are installed on |ifname|, where
 * the server's address goes: a covering route judged to keep out of its
 * way may take it all the same, as the host's rules decide past what a
 * lookup without the route can foresee (wg-quick's `suppress_prefixlength
 * 0` rule ahead of its own table's: the route was installed, taken off at
 * the next check and installed again 10 s later, the tunnel looping its
 * own packets each time: round-thirty-one tester 160). Such a route is
 * taken off at once, within the same check, and left out (refused) for
 * REFUSED_NS or until the next session's CONFIG or a change of
 * accept_routes. Returns the routes kept. */
static size_t verify_cover(struct rv_loop *l, struct hostcfg *h, const char *ifname,
			   const struct rv_prefix *addrs, size_t num_addrs,
			   struct rv_prefix *routes, size_t num_routes, uint64_t *unused,
			   uint64_t *foreign)
{
	unsigned tun = tun_index(l, ifname);
	size_t n = 0, before = num_routes;
	char s[64], a[64];
	int ret;

	for (size_t i = 0; i < num_routes; i++) {
		if (captures_server(h, tun, &routes[i]) && h->num_refused < RV_CTL_MAX_ROUTES) {
			h->refused[h->num_refused++] = routes[i];
			h->refused_ns = l->now_ns;
			rv_warnx("route %s/%u pushed by the server: taken off as soon as "
				 "installed: the host's rules sent the server's address %s "
				 "into it after all; left out for %u s, or until the next "
				 "connection",
				 rv_ip_addr_str(&routes[i].addr, s, sizeof(s)), routes[i].len,
				 rv_ip_addr_str(&h->server, a, sizeof(a)),
				 (unsigned)(REFUSED_NS / RV_NSEC_PER_SEC));
			continue;
		}
		routes[n++] = routes[i];
	}
	if (n == before) {
		return n;
	}
	*unused = 0;
	ret = rv_tun_set_addrs_routes(ifname, addrs, num_addrs, routes, n, unused, foreign);
	if (ret) {
		rv_warn(ret, "cannot take the routes that took the server off %s", ifname);
	}
	return n;
}

/* update_networks gives the addresses held the networks of an update |c|,
 * only where the server's length changed: check_addr says what it finds
 * each time it is asked. */
static int update_networks(struct hostcfg *h, unsigned tun, const struct rv_ctl_config *c,
			   const struct rv_ip_addr *v4, const struct rv_ip_addr *v6)
{
	int ret = 0;

	if (v4->family && c->prefix4 != h->pushed.prefix4) {
		ret = new_network(h, tun, &h->v4, &h->prefix4, v4, c->prefix4);
	}
	if (!ret && v6->family && c->prefix6 != h->pushed.prefix6) {
		ret = new_network(h, tun, &h->v6, &h->prefix6, v6, c->prefix6);
	}
	return ret;
}

/* route_counts: of the routes installed, those the host routes elsewhere
 * (|*unused|) and those a route not ringvpn's carries (|*theirs|), each
 * once (a route taken over later is unused alone); returns the rest,
 * ringvpn's own. */
static size_t route_counts(const struct hostcfg *h, unsigned *unused, unsigned *theirs)
{
	*unused = (unsigned)__builtin_popcountll(h->unused);
	*theirs = (unsigned)__builtin_popcountll(h->foreign & ~h->unused);
	return h->num_routes - *unused - *theirs;
}

/* say_foreign says each of |routes| that a route not ringvpn's through the
 * TUN carries (bit i of |foreign|), once: not again while it stays so. It
 * serves and is left as it is, and was counted installed without a word
 * (round-sixty-five tester 271; the server says its subnets so). */
static void say_foreign(const struct hostcfg *h, const char *ifname, const struct rv_prefix *routes,
			size_t n, uint64_t foreign)
{
	char a[64];

	for (size_t i = 0; i < n && i < 64; i++) {
		bool before = false;

		if (!(foreign & (1ull << i))) {
			continue;
		}
		for (size_t k = 0; k < h->num_routes && k < 64 && !before; k++) {
			before = (h->foreign & (1ull << k)) &&
				 rv_prefix_equal(&h->routes[k], &routes[i]);
		}
		if (!before) {
			rv_info("route %s/%u pushed by the server: carried through %s by a "
				"route not ringvpn's, left as it is",
				rv_ip_addr_str(&routes[i].addr, a, sizeof(a)), routes[i].len,
				ifname);
		}
	}
}

bool rv_hostcfg_foreign_gone(struct rv_loop *l, const struct rv_prefix *p)
{
	struct hostcfg *h = state(l);

	for (size_t k = 0; h && k < h->num_routes && k < 64; k++) {
		if ((h->foreign & (1ull << k)) && rv_prefix_equal(&h->routes[k], p)) {
			h->foreign &= ~(1ull << k);
			return true;
		}
	}
	return false;
}

static int apply(struct rv_loop *l, const struct rv_ctl_config *c, bool update, bool again)
{
	struct hostcfg *h = state(l);
	const char *ifname = rv_dataplane_tun_name(l->dp);
	/* The workers' send buffers were sized at start for the client's own
	 * mtu setting: a larger MTU from the server is capped to it (what the
	 * server sends up to its own is still received: rv_cli_dataplane). */
	unsigned cap = l->cfg->mtu ? l->cfg->mtu : RV_DEFAULT_MTU;
	unsigned mtu = c->mtu > cap ? cap : c->mtu;
	struct rv_prefix addrs[2], routes[RV_CTL_MAX_ROUTES];
	size_t num_addrs, num_routes;
	uint64_t unused, foreign;
	bool was_no_v6;
	char why[160];
	int ret;

	if (!update || !again) {
		struct rv_ip_addr v4 = { 0 }, v6 = { 0 };
		unsigned tun = tun_index(l, ifname);

		if (c->flags & RV_CTL_F_HAS_V4) {
			v4.family = AF_INET;
			memcpy(v4.a, c->addr4, 4);
		}
		if (c->flags & RV_CTL_F_HAS_V6) {
			v6.family = AF_INET6;
			memcpy(v6.a, c->addr6, 16);
		}
		ret = update ? update_networks(h, tun, c, &v4, &v6)
			     : take_addrs(h, tun, c, &v4, &v6);
		if (ret) {
			return ret;
		}
	}
	/* Set by name on a renamed TUN, it would go to whatever link took
	 * the name: kept for when the TUN has it back (rv_hostcfg_name_back;
	 * a first CONFIG too, so that a session made meanwhile goes on). */
	if (rv_tunwatch_renamed(l)) {
		if (c != &h->pushed) {
			h->pushed = *c;
		}
		h->applied = true;
		if (!again) {
			rv_warnx("configuration from the server not applied while TUN %s is "
				 "renamed: it is when the name is back",
				 ifname);
		}
		return 0;
	}
	if (mtu != h->mtu) {
		if (mtu < c->mtu) {
			say_upd_warn(update,
				     "server MTU %u is above this client's mtu %u: using %u",
				     c->mtu, cap, mtu);
		}
		ret = rv_tun_set_mtu(ifname, mtu);
		if (ret) {
			rv_warn(ret, "cannot set MTU %u on %s", mtu, ifname);
			return rv_client_local_failure(l, ret);
		}
		h->mtu = mtu;
	}
	was_no_v6 = h->no_v6;
	h->no_v6 = v6_off(h, ifname, why, sizeof(why));
	if (l->dp) {
		rv_dataplane_set_no_ipv6(l->dp, h->no_v6);
	}
	/* IPv6 came or went: the pushed IPv6 DNS servers with it (they
	 * stayed out, or in, until the next push: tester 267). Not at a
	 * session's first CONFIG: the push kept is the last session's, maybe
	 * another server's, and this one's comes after (tester 269). */
	if ((update || again) && was_no_v6 != h->no_v6 && !dns_empty(&h->dns)) {
		dns_judge(l, false);
	}
	if (c->data_port) {
		h->data_port = c->data_port;
	}
	h->data_sport = l->dp ? (uint16_t)rv_dataplane_port(l->dp) : 0;
	num_addrs = addrs_of(h, addrs);
	num_routes = accepted_routes(routes, h, tun_index(l, ifname), l->cfg, c, update);
	if (h->no_v6) {
		size_t n = rv_prefixes_keep_v4(routes, num_routes), v6 = num_routes - n;

		num_routes = n;
		if (h->v6.family || v6) {
			say_upd_warn(update,
				     "%s: no IPv6 through the tunnel (its IPv6 address and %zu "
				     "IPv6 route(s) not set)",
				     why, v6);
		}
		/* The session stays, for IPv6 may come on (tunwatch puts the
		 * address back then), but "tunnel up" alone told of a tunnel
		 * that carried nothing (round-sixteen tester 76). */
		if (h->v6.family && !h->v4.family && h->mtu < RV_IPV6_MIN_MTU) {
			/* Not "until IPv6 is on": it is, and the MTU is what
			 * keeps it off, which a restart with a larger one mends
			 * (round-thirty tester 153). */
			say_upd_warn(
				update,
				"nothing passes through the tunnel: the server gives this client "
				"an IPv6 address alone (its pool4 is none), and the tunnel's mtu "
				"%u is below %u (raise this client's mtu, or the server's, and "
				"restart it)",
				h->mtu, (unsigned)RV_IPV6_MIN_MTU);
		} else if (h->v6.family && !h->v4.family) {
			say_upd_warn(update,
				     "nothing passes through the tunnel until IPv6 is on here: the "
				     "server gives this client an IPv6 address alone (its pool4 is "
				     "none)");
		}
	}
	unused = 0;
	ret = rv_tun_set_addrs_routes(ifname, addrs, num_addrs, routes, num_routes, &unused,
				      &foreign);
	if (ret) {
		rv_warn(ret, "cannot set the addresses and routes of %s", ifname);
		return rv_client_local_failure(l, ret);
	}
	num_routes =
		verify_cover(l, h, ifname, addrs, num_addrs, routes, num_routes, &unused, &foreign);
	say_foreign(h, ifname, routes, num_routes, foreign);
	memcpy(h->routes, routes, num_routes * sizeof(routes[0]));
	h->num_routes = num_routes;
	h->unused = unused;
	h->foreign = foreign;
	h->applied = true;
	if (c != &h->pushed) {
		h->pushed = *c;
	}
	ret = publish_sources(l, h, NULL);
	if (ret) {
		return rv_client_local_failure(l, ret);
	}
	for (size_t i = 0; !update && i < num_addrs; i++) {
		char s[64];

		rv_info("tunnel %s: address %s/%u, mtu %u", ifname,
			rv_ip_addr_str(&addrs[i].addr, s, sizeof(s)), addrs[i].len, h->mtu);
	}
	if (update && !again) {
		/* Installed of pushed: "4 route(s)" was said of one installed
		 * (round-twenty-eight tester 140), and those the host routes
		 * elsewhere were counted installed (round-thirty tester 148),
		 * as rv_hostcfg_reapply's reply says them. */
		unsigned n_unused, n_foreign;
		size_t ours = route_counts(h, &n_unused, &n_foreign);
		char more[96] = "", theirs[96] = "";

		if (n_unused) {
			snprintf(more, sizeof(more),
				 " (%u more not used: the host routes them elsewhere, see the log)",
				 n_unused);
		}
		if (n_foreign) {
			snprintf(theirs, sizeof(theirs),
				 " (%u more carried by routes not ringvpn's, see the log)",
				 n_foreign);
		}
		rv_info_rl("server updated the configuration: mtu %u, %zu of %u pushed route(s) "
			   "installed%s%s, keepalive %u s, dead-peer timeout %u s",
			   h->mtu, ours, c->num_routes, more, theirs, c->keepalive_s,
			   c->dead_peer_s);
	}
	return 0;
}

int rv_hostcfg_apply(void *loop, const struct rv_ctl_config *c, bool update)
{
	struct hostcfg *h = state(loop);

	/* A new session's CONFIG judges them anew; an update (a server
	 * reloading every few seconds) does not, or each would loop the
	 * tunnel for a moment again. */
	if (!update) {
		h->num_refused = 0;
	}
	return apply(loop, c, update, false);
}

void rv_hostcfg_name_back(struct rv_loop *l)
{
	struct hostcfg *h = state(l);

	if (h->applied && l->dp) {
		(void)apply(l, &h->pushed, true, true);
	}
}

/* How long a route taken off waits before the check may put it back. */
#define RECHECK_HOLD_NS (10 * RV_NSEC_PER_SEC)

/* cover_changed: has the host's way to the server changed the verdict on
 * a pushed route that covers its address: one installed that would now
 * take the tunnel's packets into the tunnel (the narrower route that kept
 * the server out of it gone: a link flap flushes static routes), or one
 * left out that a narrower route now keeps the server out of? Each is
 * said. Routes left out for another reason are not asked about. */
static bool cover_changed(struct rv_loop *l, struct hostcfg *h, unsigned tun)
{
	bool changed = false;
	char s[64], a[64];

	for (size_t i = 0; i < h->pushed.num_routes; i++) {
		struct rv_prefix p = { .len = h->pushed.routes[i].prefix };
		bool in = false, takes;

		ctl_addr(h->pushed.routes[i].family, h->pushed.routes[i].addr, &p.addr);
		if (!covers_server(h, &p) || !route_accepted(l->cfg, &h->pushed.routes[i]) ||
		    special_route(&p) || (h->no_v6 && p.addr.family == AF_INET6)) {
			continue;
		}
		for (size_t k = 0; k < h->num_routes; k++) {
			in = in || rv_prefix_equal(&h->routes[k], &p);
		}
		if (!in && is_refused(h, &p)) {
			continue; /* the host sent the server into it once installed */
		}
		takes = captures_server(h, tun, &p);
		if (in != takes) {
			continue;
		}
		/* Not put back within RECHECK_HOLD_NS of taking one off: a
		 * verdict that turns with our own route is not followed round
		 * and round (tester 158). The periodic check comes back. */
		if (!in && h->taken_off_ns && l->now_ns - h->taken_off_ns < RECHECK_HOLD_NS) {
			continue;
		}
		changed = true;
		rv_ip_addr_str(&p.addr, s, sizeof(s));
		rv_ip_addr_str(&h->server, a, sizeof(a));
		if (in) {
			h->taken_off_ns = l->now_ns;
			rv_warnx("route %s/%u pushed by the server: taken off: the host "
				 "no longer keeps the server's address %s out of it, and "
				 "the tunnel's packets would go into the tunnel",
				 s, p.len, a);
		} else {
			rv_info("route %s/%u pushed by the server: installed now: the "
				"host keeps the server's address %s out of it (a narrower "
				"route, or a rule's own table)",
				s, p.len, a);
		}
	}
	return changed;
}

void rv_hostcfg_ctl_source(struct rv_loop *l, int fd)
{
	struct hostcfg *h = state(l);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct rv_endpoint ep;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    !rv_endpoint_from_sa(&ep, &ss, len)) {
		return;
	}
	rv_endpoint_addr(&ep, &h->ctl_src);
	h->ctl_sport = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						: ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void rv_hostcfg_recheck(struct rv_loop *l)
{
	struct hostcfg *h = state(l);
	unsigned tun;

	if (!h->applied || !l->dp || !h->server.family || rv_tunwatch_renamed(l)) {
		return;
	}
	if (h->num_refused && l->now_ns - h->refused_ns >= REFUSED_NS) {
		h->num_refused = 0; /* asked again, and verified again */
	}
	tun = tun_index(l, rv_dataplane_tun_name(l->dp));
	if (cover_changed(l, h, tun)) {
		(void)apply(l, &h->pushed, true, true);
	}
	if (parts_stale) {
		struct rv_prefix nets[2 + RV_CTL_MAX_ROUTES];

		publish_parts(l, nets, sources_of(h, nets), false);
	}
}

void rv_hostcfg_reapply(struct rv_loop *l, bool accept_changed, struct rv_strbuf *log)
{
	struct hostcfg *h = state(l);
	const char *what = accept_changed ? "accept_routes" : "pushed routes asked again";

	if (accept_changed) {
		/* A new choice of routes asks them again; a reload that
		 * changes nothing here does not (a reload storm looped the
		 * tunnel a moment at each: round-thirty-one tester 161). */
		h->num_refused = 0;
	}
	if (!accept_changed && (h->unused == 0 || !h->applied || !l->dp)) {
		/* Nothing routed elsewhere to ask again; a route left out
		 * as taking the server, or one that would take it now, is
		 * judged again all the same (it waited for the next
		 * connection: round-thirty tester 157). */
		rv_hostcfg_recheck(l);
		return;
	}
	if (!h->applied || !l->dp) {
		rv_strbuf_printf(log, "applied: accept_routes (from the next CONFIG)\n");
		return;
	}
	if (rv_tunwatch_renamed(l)) {
		rv_strbuf_printf(log,
				 "applied: %s (when TUN %s has its name back: it is renamed)\n",
				 what, rv_dataplane_tun_name(l->dp));
		return;
	}
	/* As an update: the addresses stay, the routes are filtered anew. */
	unsigned around = rv_tun_links_around_said();

	if (apply(l, &h->pushed, true, true) != 0) {
		rv_strbuf_printf(log, "failed: %s (see the log)\n", what);
		return;
	}
	unsigned unused, theirs;
	size_t ours = route_counts(h, &unused, &theirs);

	/* Not those the host routes elsewhere (said in the log): the reply
	 * counted them as installed (round-thirteen tester 59). */
	rv_strbuf_printf(log, "%s: %s (%zu of %u pushed route(s) installed",
			 unused && !accept_changed ? "failed" : "applied", what, ours,
			 (unsigned)h->pushed.num_routes);
	if (unused) {
		rv_strbuf_printf(log,
				 "; %u more not used: the host routes them elsewhere, see the "
				 "log",
				 unused);
	}
	if (theirs) {
		rv_strbuf_printf(log, "; %u more carried by routes not ringvpn's, see the log",
				 theirs);
	}
	rv_strbuf_printf(log, ")\n");
	/* As the server's reply says its subnets (only the log said it:
	 * round-forty-five tester 210). */
	rv_tunwatch_say_around(log, "pushed", around);
}

unsigned rv_hostcfg_mtu(struct rv_loop *l)
{
	struct hostcfg *h = state(l);

	return h && h->applied ? h->mtu : 0;
}

bool rv_hostcfg_no_ipv6(struct rv_loop *l)
{
	const struct hostcfg *h = state(l);

	return h->applied && h->no_v6;
}

bool rv_hostcfg_server_in_tun(struct rv_loop *l, unsigned tun)
{
	const struct hostcfg *h = state(l);
	struct rv_rtnl_flow flows[2];
	struct rv_rtnl_match m;

	server_flows(h, &flows[0], &flows[1]);
	for (size_t i = 0; i < 2; i++) {
		if (rv_rtnl_route_match_for(&h->server, 0, &flows[i], &m) == 0 && !m.host &&
		    m.oif == tun) {
			return true;
		}
	}
	return false;
}

bool rv_hostcfg_server_addr(struct rv_loop *l, struct rv_ip_addr *out)
{
	const struct hostcfg *h = state(l);
	struct rv_prefix host = { .addr = h->server };

	if (!h->server.family || !covers_server(h, &host)) {
		return false; /* none yet, or link-local: no route carries it */
	}
	*out = h->server;
	return true;
}

bool rv_hostcfg_wanted(struct rv_loop *l, struct rv_prefix *addrs, size_t *num_addrs,
		       struct rv_prefix *routes, size_t *num_routes)
{
	struct hostcfg *h = state(l);
	char why[160];

	*num_addrs = 0;
	*num_routes = 0;
	if (!h->applied) {
		return false;
	}
	/* IPv6 switched on or off on the TUN since the CONFIG was applied:
	 * applied again, its IPv6 part with it or without (turned on later,
	 * it never reached the tunnel; turned off, the repair failed on it
	 * for ever). */
	if (l->dp && h->no_v6 != v6_off(h, rv_dataplane_tun_name(l->dp), why, sizeof(why))) {
		rv_info("IPv6 on %s %s: applying the configuration again",
			rv_dataplane_tun_name(l->dp), h->no_v6 ? "on again" : "off");
		(void)apply(l, &h->pushed, true, true);
	}
	*num_addrs = addrs_of(h, addrs);
	/* Not the routes the host sends elsewhere: put back when the host's
	 * own way went (a link down), one would carry that network into the
	 * tunnel while the source check refuses what comes back from it
	 * (round-thirteen tester 59). The next CONFIG judges them again. */
	*num_routes = used_routes(h, routes);
	return true;
}

void rv_hostcfg_note_unused(struct rv_loop *l, const struct rv_prefix *routes, size_t n,
			    uint64_t bits)
{
	struct hostcfg *h = state(l);

	for (size_t i = 0; i < n && i < 64; i++) {
		if (!(bits & (1ull << i))) {
			continue;
		}
		for (size_t k = 0; k < h->num_routes && k < 64; k++) {
			if (rv_prefix_equal(&h->routes[k], &routes[i])) {
				h->unused |= 1ull << k;
			}
		}
	}
	/* No longer a source either: only removes, cannot fail. */
	(void)publish_sources(l, h, NULL);
}

static void set_dns_none(struct rv_loop *l);

void rv_hostcfg_withdraw(struct rv_loop *l)
{
	struct hostcfg *h = state(l);
	struct rv_prefix addrs[2];
	bool stays;

	if (!l->dp || rv_tunwatch_renamed(l)) {
		return; /* the name is another link's now */
	}
	if (!h->applied) {
		/* No CONFIG applied: the routes of a ringvpn process that
		 * was killed on this persistent device (proto 82, only
		 * ringvpn's) go all the same; they sent the networks the
		 * server pushed into a dead device (round-twenty-nine tester
		 * 147). Addresses bear no such mark: they stay. */
		(void)rv_tun_withdraw(rv_dataplane_tun_name(l->dp), NULL, 0, "client");
		return;
	}
	/* A persistent device stays: left as it was, its routes (linkdown,
	 * still used by the kernel) would swallow the traffic of every
	 * network the server pushed until the next start. */
	stays = rv_tun_withdraw(rv_dataplane_tun_name(l->dp), addrs, addrs_of(h, addrs), "client");
	h->applied = false;
	/* So would its DNS: resolved keeps a link's servers and domains
	 * while the link exists (one the process made takes them along).
	 * The DNS thread makes the revert before the process ends
	 * (rv_cli_dns_free; a hostile tester of round eighteen). */
	if (stays && h->dns_touched && l->p.apply_dns) {
		set_dns_none(l);
	}
}

/* The longest dns_text: the servers, ", search " and the domain. */
enum { DNS_TEXT_MAX = RV_CTL_MAX_DNS * 48 + RV_CTL_MAX_DOMAIN + 16 };

/* dns_text says what |dns| holds, for the log: its servers, ", search "
 * and its domain. */
static void dns_text(const struct rv_ctl_dns *dns, char *out, size_t out_len)
{
	snprintf(out, out_len, "%s",
		 dns_empty(dns)		 ? "(none: withdrawn)"
		 : dns->num_servers == 0 ? "(no server)" /* a search domain alone */
					 : "");
	for (unsigned i = 0; i < dns->num_servers; i++) {
		struct rv_ip_addr a;
		char s[64];

		ctl_addr(dns->servers[i].family, dns->servers[i].addr, &a);
		snprintf(out + strlen(out), out_len - strlen(out), "%s%s", i ? " " : "",
			 rv_ip_addr_str(&a, s, sizeof(s)));
	}
	if (dns->domain_len) {
		snprintf(out + strlen(out), out_len - strlen(out), ", search %s", dns->domain);
	}
}

enum { DNS_RETRY_FIRST_S = 5, DNS_RETRY_MAX_S = 60 };

static void on_dns_retry(struct rv_loop *l, struct rv_ltimer *lt);

/* set_dns hands |dns| (described as |desc|) to the command's apply_dns
 * (empty: what was set on the link goes), which makes the calls on a
 * thread of its own and logs how they went. Returns 0, or -errno with why
 * in |err|. A thread the host refused (EAGAIN: a task limit, which a
 * process of the client's user may give back) is tried again on a timer,
 * 5 s and then doubling to a minute: nothing else would bring the DNS
 * before the next connection. */
static int set_dns(struct rv_loop *l, const struct rv_ctl_dns *dns, const char *desc, char *err,
		   size_t err_len)
{
	struct rv_ip_addr servers[RV_CTL_MAX_DNS];
	struct hostcfg *h = state(l);
	const char *ifname = rv_dataplane_tun_name(l->dp);
	struct rv_dns_want req = {
		/* The TUN's index, taken at start: a link given its name
		 * after a rename is not ours. */
		.ifindex = tun_index(l, ifname), .ifname = ifname,	.servers = servers,
		.num = dns->num_servers,	 .domain = dns->domain, .desc = desc,
	};
	int ret;

	for (unsigned i = 0; i < dns->num_servers; i++) {
		ctl_addr(dns->servers[i].family, dns->servers[i].addr, &servers[i]);
	}
	/* Whether the calls work is known later, on the DNS thread (which
	 * tries a failed one again): a set may do part of its work, so
	 * accept_dns = no (and a stop on a persistent TUN) reverts once
	 * anything was handed over since the last revert. A withdrawal is
	 * not handed over twice in a row. */
	h->dns_set = !dns_empty(dns);
	h->dns_touched = h->dns_touched || h->dns_set;
	ret = l->p.apply_dns(l->p.dns_ctx, &req, err, err_len);
	/* A revert handed over takes back all that was ours (the DNS
	 * thread says if it fails): what the link gets after it is someone
	 * else's, which a later revert (a stop, accept_dns = no) took too on
	 * a persistent TUN (round-nineteen tester 88). */
	if (ret == 0 && !h->dns_set) {
		h->dns_touched = false;
	}
	if (ret != -EAGAIN) {
		h->dns_retry_s = 0;
		rv_loop_disarm(l, &l->dns_retry_timer);
		return ret;
	}
	h->dns_retry_s = h->dns_retry_s ? h->dns_retry_s * 2 : DNS_RETRY_FIRST_S;
	if (h->dns_retry_s > DNS_RETRY_MAX_S) {
		h->dns_retry_s = DNS_RETRY_MAX_S;
	}
	rv_loop_arm(l, &l->dns_retry_timer, on_dns_retry,
		    l->now_ns + h->dns_retry_s * RV_NSEC_PER_SEC);
	snprintf(err + strlen(err), err_len - strlen(err), "; trying again in %u s",
		 h->dns_retry_s);
	return ret;
}

/* set_dns_none takes back whatever this client set on the link's DNS. */
static void set_dns_none(struct rv_loop *l)
{
	static const struct rv_ctl_dns none;
	char list[DNS_TEXT_MAX], err[256];

	dns_text(&none, list, sizeof(list));
	if (set_dns(l, &none, list, err, sizeof(err))) {
		rv_warnx("DNS %s: not taken back from the persistent TUN %s: %s", list,
			 rv_dataplane_tun_name(l->dp), err);
	}
}

/* on_dns_retry hands over what is wanted now: the last push, or with
 * accept_dns = no the withdrawal of what may have been set. */
static void usable_dns(struct rv_ctl_dns *out, const struct rv_ctl_dns *in, bool no_v6, bool say);

static void on_dns_retry(struct rv_loop *l, struct rv_ltimer *lt)
{
	static const struct rv_ctl_dns none;
	struct hostcfg *h = state(l);
	const struct rv_ctl_dns *dns = l->cfg->accept_dns ? &h->dns_used : &none;
	char list[DNS_TEXT_MAX], err[256];

	(void)lt;
	if (!l->p.apply_dns || !l->dp) {
		return;
	}
	/* What this client can use of the push, as the first try: the
	 * push whole went over (tester 269). */
	usable_dns(&h->dns_used, &h->dns, h->no_v6, false);
	dns_text(dns, list, sizeof(list));
	if (set_dns(l, dns, list, err, sizeof(err))) {
		rv_warnx("DNS %s: still not applied: %s", list, err);
	} else {
		rv_info("DNS %s: the DNS thread started on a later try (the log says when it is "
			"set)",
			list);
	}
}

/* usable_dns copies |in| to |out| without the servers a client would reach
 * on its own host or link (core/config.c's special blocks, which a
 * server's push_dns is checked against): a hostile server's 127.0.0.53
 * sent the link's queries to the host's own resolver. Nor, with |no_v6|
 * (the TUN carries no IPv6: an mtu under 1280, IPv6 off), an IPv6 one,
 * which nothing reaches through it (it was handed to resolved all the
 * same: round-sixty-four tester 265). With no server left the domain goes
 * too: nothing would answer for it. |say|: each left out is said. */
static void usable_dns(struct rv_ctl_dns *out, const struct rv_ctl_dns *in, bool no_v6, bool say)
{
	*out = *in;
	out->num_servers = 0;
	for (unsigned i = 0; i < in->num_servers && i < RV_CTL_MAX_DNS; i++) {
		struct rv_ip_addr a;
		const char *special;
		char s[64];

		ctl_addr(in->servers[i].family, in->servers[i].addr, &a);
		special = rv_config_special_addr(&a);
		if (special && say) {
			rv_warnx_rl("server pushed DNS server %s: not used (it lies in the %s "
				    "block: queries would stay on this host or link)",
				    rv_ip_addr_str(&a, s, sizeof(s)), special);
		}
		if (special) {
			continue;
		}
		if (no_v6 && a.family == AF_INET6 && say) {
			rv_warnx_rl("server pushed DNS server %s: not used while the tunnel "
				    "carries "
				    "no IPv6",
				    rv_ip_addr_str(&a, s, sizeof(s)));
		}
		if (no_v6 && a.family == AF_INET6) {
			continue;
		}
		out->servers[out->num_servers++] = in->servers[i];
	}
	if (in->num_servers && !out->num_servers) {
		out->domain_len = 0;
		out->domain[0] = '\0';
	}
}

/* dns_judge hands the link what this client can use of the last push
 * (h->dns) now; |pushed_now|: the server's push just came (said as its),
 * else this end judged it again (IPv6 came or went on the TUN: tester 267),
 * which says nothing where nothing is to be done (accept_dns = no: every
 * toggle was "server pushed DNS ...: not applied": tester 269). */
static void dns_judge(struct rv_loop *l, bool pushed_now)
{
	char list[DNS_TEXT_MAX], err[256];
	struct hostcfg *h = state(l);
	bool had = !dns_empty(&h->dns_used);
	struct rv_ctl_dns usable, *dns = &usable;
	const char *who = pushed_now ? "server pushed DNS" : "DNS";
	bool idle = !pushed_now && (!l->cfg->accept_dns || !l->p.apply_dns);

	usable_dns(&usable, &h->dns, h->no_v6, !idle);

	/* What a client killed with -9 set on a persistent TUN stays: no
	 * mark tells it from what the administrator set there, which a
	 * revert at the next start took too (round-nineteen tester 87). A
	 * clean stop takes its own back (rv_hostcfg_withdraw). */
	h->dns_used = *dns;
	if (dns_empty(dns) && !had && !h->dns_set) {
		return; /* nothing was pushed before: nothing to take back */
	}
	if (idle) {
		return;
	}
	dns_text(dns, list, sizeof(list));
	if (dns_empty(dns) && !dns_empty(&h->dns)) {
		/* None of it this client can use: not the server's withdrawal
		 * (it was said as one: tester 267). */
		dns_text(&h->dns, list, sizeof(list));
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 " (none of it usable here: what was set is taken back)");
	}
	if (!l->cfg->accept_dns) {
		rv_info_rl("%s %s: not applied (accept_dns = no)", who, list);
		return;
	}
	if (!l->p.apply_dns) {
		rv_info_rl("%s %s: this client cannot apply DNS settings", who, list);
		return;
	}
	/* On success the outcome is logged when the calls are made. */
	if (set_dns(l, dns, list, err, sizeof(err))) {
		rv_warnx_rl("%s %s: not applied: %s (/etc/resolv.conf is left alone)", who, list,
			    err);
	}
}

void rv_hostcfg_dns(void *loop, const struct rv_ctl_dns *pushed)
{
	struct rv_loop *l = loop;

	/* The push is kept whole: what the tunnel cannot carry now (IPv6)
	 * is used once it can (it stayed out until the next push: tester
	 * 267); a reload of accept_dns takes it from here too. */
	state(l)->dns = *pushed;
	dns_judge(l, true);
}

void rv_hostcfg_dns_reapply(struct rv_loop *l, struct rv_strbuf *log)
{
	struct hostcfg *h = state(l);
	const struct rv_ctl_dns none = { 0 };
	char list[DNS_TEXT_MAX], err[256];
	const char *ifname;

	if (!l->p.apply_dns || !l->dp) {
		rv_strbuf_printf(log, "applied: accept_dns (this client cannot apply DNS "
				      "settings)\n");
		return;
	}
	ifname = rv_dataplane_tun_name(l->dp);
	if (!l->cfg->accept_dns) {
		if (!h->dns_touched) {
			rv_strbuf_printf(log, "applied: accept_dns (no DNS was set on %s)\n",
					 ifname);
			return;
		}
		dns_text(&none, list, sizeof(list));
		if (set_dns(l, &none, list, err, sizeof(err))) {
			rv_strbuf_printf(log, "failed: accept_dns (%s)\n", err);
		} else {
			rv_strbuf_printf(log,
					 "applied: accept_dns (the DNS of %s is being reverted; "
					 "the "
					 "log says when)\n",
					 ifname);
		}
		return;
	}
	usable_dns(&h->dns_used, &h->dns, h->no_v6, true);
	if (dns_empty(&h->dns_used)) {
		rv_strbuf_printf(log, "applied: accept_dns (no DNS pushed%s)\n",
				 dns_empty(&h->dns) ? "" : " that this client can use");
		return;
	}
	dns_text(&h->dns_used, list, sizeof(list));
	if (set_dns(l, &h->dns_used, list, err, sizeof(err))) {
		rv_strbuf_printf(log, "failed: accept_dns (%s)\n", err);
		return;
	}
	rv_strbuf_printf(log, "applied: accept_dns (DNS %s being set on %s; the log says when)\n",
			 list, ifname);
}
