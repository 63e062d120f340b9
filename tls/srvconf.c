/*
 * srvconf.c — the server applying a reloaded configuration to what runs:
 * the address pools and fixed addresses (sessions whose address is taken
 * away end with GOODBYE(reconfig), every other keeps its address), the
 * networks behind clients, lease lifetime and admission limits, and the
 * routes, timers and DNS pushed to running clients as a CONFIG update.
 * Called by tls/reload.c once the new file has parsed and its certificates
 * have loaded; a failure here (pools that cannot be built, a fixed address
 * outside its pool) refuses the reload with the running state unchanged.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/admit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ippool.h"
#include "core/lease.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "crypto/aead.h"
#include "tls/ctl_server.h"
#include "tls/internal.h"
#include "tls/server_side.h"
#include "tls/subnets.h"
#include "uring/dataplane.h"
#include "uring/rtnl.h"
#include "uring/tun.h"

/* fixed_moved: has |name|'s fixed address of |family| changed in |next|
 * (added, removed or different) compared with what the session holds? */
static bool fixed_moved(const struct rv_config *next, const char *name,
			const struct rv_ip_addr *held)
{
	const struct rv_config_fixed *f = rv_config_find_fixed(next, name);
	const struct rv_ip_addr *want;

	if (!held->family) {
		return false;
	}
	want = !f ? NULL : held->family == AF_INET ? &f->v4 : &f->v6;
	return want && want->family && !rv_ip_addr_equal(want, held);
}

static bool pools_changed(const struct rv_config *a, const struct rv_config *b)
{
	const struct rv_prefix *pa[] = { &a->pool4, &a->pool6 }, *pb[] = { &b->pool4, &b->pool6 };

	for (size_t i = 0; i < 2; i++) {
		if (pa[i]->addr.family != pb[i]->addr.family || pa[i]->len != pb[i]->len ||
		    (pa[i]->addr.family && !rv_ip_addr_equal(&pa[i]->addr, &pb[i]->addr))) {
			return true;
		}
	}
	return false;
}

/* set_tun_addrs gives the server's TUN its addresses in the new pools (and
 * takes the old ones off), keeping the routes to the networks behind
 * clients: clients of the new pool reach the server at once, not at the
 * TUN's next check. */
static void set_tun_addrs(struct rv_loop *l, const struct rv_config *next, struct rv_strbuf *log)
{
	struct rv_prefix addrs[2], routes[RV_CONFIG_MAX_SUBNETS];
	size_t num_addrs = rv_ippool_server_prefixes(l->env.pool, addrs);
	size_t num_routes = rv_subnets_routed(next, routes, RV_CONFIG_MAX_SUBNETS);
	const char *ifname = rv_dataplane_tun_name(l->dp);
	char a[2][64], why[160];
	uint64_t unused = 0;
	int ret;

	rv_dataplane_set_pools(l->dp, addrs, num_addrs);
	/* Set by name on a renamed TUN, they would go to whatever link took
	 * the name (its own address was deleted as stale, and the tunnel
	 * black-holed: round-thirteen tester 64): when the name is back
	 * (rv_server_tun_name_back). */
	if (rv_tunwatch_renamed(l)) {
		rv_strbuf_printf(log,
				 "deferred: the server's addresses and routes on %s: it is renamed "
				 "(set when it has its name back)\n",
				 ifname);
		return;
	}
	/* A TUN that carries no IPv6 now (an MTU set below 1280, IPv6
	 * disabled on it) gets the IPv4 part, and its check puts the rest
	 * back when it can: as the TUN's repair does (the reload failed on
	 * an unchanged pool6, exit 1, its IPv4 part applied all the same). */
	if (rv_tun_ipv6_off(ifname, why, sizeof(why))) {
		size_t n4 = rv_prefixes_keep_v4(addrs, num_addrs);
		size_t r4 = rv_prefixes_keep_v4(routes, num_routes);

		if (n4 != num_addrs || r4 != num_routes) {
			rv_strbuf_printf(log,
					 "deferred: the IPv6 address and routes on %s: %s (put "
					 "back "
					 "when it carries IPv6 again)\n",
					 ifname, why);
		}
		num_addrs = n4;
		num_routes = r4;
	}
	ret = rv_tun_set_addrs_routes(ifname, addrs, num_addrs, routes, num_routes, &unused, NULL);
	rv_subnets_note_unused(routes, num_routes, unused);
	if (unused) {
		/* Judged again with the addresses: said, as a reload that adds
		 * them says it (round-thirteen tester 61). */
		rv_strbuf_printf(log,
				 "failed: %d subnet route(s) on the server's TUN not used (the "
				 "host "
				 "routes them elsewhere: see the log)\n",
				 __builtin_popcountll(unused));
	}
	if (ret) {
		rv_strbuf_printf(log, "failed: the server's addresses on its TUN: %s\n",
				 strerror(-ret));
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		a[i][0] = '\0';
		if (i < num_addrs) {
			rv_ip_addr_str(&addrs[i].addr, a[i], sizeof(a[i]));
		}
	}
	rv_strbuf_printf(log, "applied: server address(es) %s%s%s on %s\n", a[0],
			 num_addrs > 1 ? " " : "", a[1], ifname);
}

/* struct host_walk gathers the host's addresses inside the pools or the
 * networks behind clients (rv_server_host_nets). */
struct host_walk {
	const struct rv_config *cfg;
	const struct rv_prefix *pools;
	size_t num_pools;
	struct rv_prefix *out;
	size_t n;
	bool over; /* more than RV_DP_HOST_NETS_MAX */
};

static bool ours(const struct host_walk *w, const struct rv_ip_addr *a)
{
	for (size_t i = 0; i < w->num_pools; i++) {
		if (rv_prefix_contains(&w->pools[i], a)) {
			return true;
		}
	}
	for (size_t i = 0; i < w->cfg->num_subnets; i++) {
		if (rv_prefix_contains(&w->cfg->subnets[i].p, a)) {
			return true;
		}
	}
	return false;
}

/* add_host_net puts |p| in |w|'s table, or says it overflowed. */
static void add_host_net(struct host_walk *w, const struct rv_prefix *p)
{
	if (w->n == RV_DP_HOST_NETS_MAX) {
		w->over = true;
	} else {
		w->out[w->n++] = *p;
	}
}

static int note_host_addr(void *ctx, const struct rv_rtnl_addr *a)
{
	struct host_walk *w = ctx;

	if (!ours(w, &a->local.addr)) {
		return 0;
	}
	add_host_net(w, &(struct rv_prefix){
				.addr = a->local.addr,
				.len = (uint8_t)(a->local.addr.family == AF_INET ? 32 : 128),
			});
	return 0;
}

/* struct part_walk gathers the routes the host has through other devices
 * inside a network behind a client: parts of it that are the host's (a
 * link of its own, 10.40.0.128/25 inside 10.40.0.0/24). */
struct part_walk {
	struct host_walk *w;
	const struct rv_prefix *routed;
	size_t num_routed;
};

bool rv_route_part(const struct rv_prefix *dst, unsigned oif, const struct rv_prefix *nets,
		   size_t n)
{
	if (rv_prefix_link_local(dst) || oif == RV_RTNL_OIF_UNKNOWN) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (nets[i].addr.family == dst->addr.family && dst->len > nets[i].len &&
		    rv_prefix_contains(&nets[i], &dst->addr)) {
			return true;
		}
	}
	return false;
}

static int note_part(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	struct part_walk *pw = ctx;

	if (rv_route_part(dst, oif, pw->routed, pw->num_routed)) {
		add_host_net(pw->w, dst);
	}
	return 0;
}

/* same_prefixes: are the |n| prefixes of |a| and |b| the same (their
 * padding aside)? */
static bool same_prefixes(const struct rv_prefix *a, const struct rv_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!rv_prefix_equal(&a[i], &b[i])) {
			return false;
		}
	}
	return true;
}

/* The host's routes inside the networks behind clients, as last asked
 * (rv_server_host_nets), and whether to ask again. */
static struct rv_prefix parts[RV_DP_HOST_NETS_MAX];
static size_t num_parts;
static bool parts_over, parts_stale = true;

void rv_server_host_parts_changed(void)
{
	parts_stale = true;
}

void rv_server_host_nets(struct rv_loop *l)
{
	static struct rv_prefix last[RV_DP_HOST_NETS_MAX];
	static size_t num_last;
	static bool last_over;
	static const struct rv_dataplane *last_dp;
	struct rv_prefix pools[2], nets[RV_DP_HOST_NETS_MAX];
	struct host_walk w = { .cfg = l->cfg, .pools = pools, .out = nets };

	if (l->dp == NULL || l->env.pool == NULL) {
		return;
	}
	w.num_pools = rv_ippool_server_prefixes(l->env.pool, pools);
	/* The subnet-router anycast address (RFC 4291, 2.6.1: the IPv6
	 * pool's first), which a forwarding host holds on the TUN and lists
	 * with no address. */
	for (size_t i = 0; i < w.num_pools; i++) {
		if (pools[i].addr.family == AF_INET6) {
			nets[w.n] = pools[i];
			rv_prefix_clear_host(&nets[w.n]);
			nets[w.n++].len = 128;
		}
	}
	/* A network behind a client that the host routes itself. */
	{
		struct rv_prefix unused[RV_CONFIG_MAX_SUBNETS];
		size_t k = rv_subnets_unused(unused, RV_CONFIG_MAX_SUBNETS);

		w.over = k > RV_DP_HOST_NETS_MAX - w.n;
		k = w.over ? RV_DP_HOST_NETS_MAX - w.n : k;
		memcpy(nets + w.n, unused, k * sizeof(unused[0]));
		w.n += k;
	}
	/* A part of a network behind a client that the host routes itself,
	 * through another device: the host's, as on the kernel's way (only
	 * its addresses were known, and with client_to_client = internal the
	 * rest of its link went to the client, which could send as its hosts:
	 * round-twenty-six tester 123). Before the addresses, which a long
	 * list would push out of the table. Asked of the kernel only when
	 * routes changed (a dump of the whole table: a router's may hold a
	 * million), remembered between. */
	if (parts_stale || l->dp != last_dp) {
		struct rv_prefix routed[RV_CTL_MAX_ROUTES];
		struct host_walk pwalk = { .out = parts };
		struct part_walk pw = { .w = &pwalk, .routed = routed };
		unsigned tun = if_nametoindex(rv_dataplane_tun_name(l->dp));

		pw.num_routed = rv_subnets_routed(l->cfg, routed, RV_CTL_MAX_ROUTES);
		pw.num_routed =
			pw.num_routed < RV_CTL_MAX_ROUTES ? pw.num_routed : RV_CTL_MAX_ROUTES;
		if (tun != 0 && pw.num_routed != 0) {
			(void)rv_rtnl_list_other_routes(tun, note_part, &pw);
		}
		num_parts = pwalk.n;
		parts_over = pwalk.over;
		parts_stale = false;
	}
	for (size_t i = 0; i < num_parts; i++) {
		add_host_net(&w, &parts[i]);
	}
	w.over = w.over || parts_over;
	/* A dump that fails: the addresses of the host's are missed (the
	 * next check asks again). */
	(void)rv_rtnl_list_addrs(0, note_host_addr, &w);
	if (l->dp == last_dp && w.n == num_last && w.over == last_over &&
	    same_prefixes(nets, last, w.n)) {
		return;
	}
	if (w.over != last_over || l->dp != last_dp) {
		if (w.over) {
			rv_warnx("more than %u of this host's addresses and routes lie "
				 "in the pools and the networks behind clients: the data "
				 "plane cannot tell them all, and passes every packet to "
				 "an offline client's address to the kernel (not dropped "
				 "where it arrives); inside an online client's network, "
				 "those past the first %u are taken for the client's "
				 "(with client_to_client = internal, forwarded to it)",
				 (unsigned)RV_DP_HOST_NETS_MAX, (unsigned)RV_DP_HOST_NETS_MAX);
		} else if (last_over) {
			rv_info("this host's addresses in the pools and the networks "
				"behind clients fit the data plane's table again");
		}
	}
	memcpy(last, nets, w.n * sizeof(nets[0]));
	num_last = w.n;
	last_over = w.over;
	last_dp = l->dp;
	rv_dataplane_set_host_nets(l->dp, nets, w.n, w.over);
}

void rv_server_tun_withdraw(struct rv_dataplane *dp, const struct rv_ippool *pool)
{
	struct rv_prefix addrs[2];

	if (dp == NULL || pool == NULL) {
		return;
	}
	rv_tun_withdraw(rv_dataplane_tun_name(dp), addrs, rv_ippool_server_prefixes(pool, addrs),
			"server");
}

void rv_server_tun_name_back(struct rv_loop *l)
{
	struct rv_strbuf log = { .max = 4096 };
	const char *p, *e;

	/* Everything judged anew: what reloads changed meanwhile was set on
	 * no link. */
	rv_subnets_forget_unused();
	set_tun_addrs(l, l->cfg, &log);
	for (p = rv_strbuf_str(&log); *p; p = e + (*e == '\n')) {
		e = strchr(p, '\n');
		e = e ? e : p + strlen(p);
		if (strncmp(p, "failed:", 7) == 0) {
			rv_warnx("TUN %s has its name back: %.*s", rv_dataplane_tun_name(l->dp),
				 (int)(e - p), p);
		} else {
			rv_info("TUN %s has its name back: %.*s", rv_dataplane_tun_name(l->dp),
				(int)(e - p), p);
		}
	}
	rv_strbuf_free(&log);
}

static bool dns_changed(const struct rv_config *a, const struct rv_config *b)
{
	return a->num_push_dns != b->num_push_dns ||
	       memcmp(a->push_dns, b->push_dns, sizeof(a->push_dns)) != 0 ||
	       strcmp(a->push_domain, b->push_domain) != 0;
}

static bool routes_or_timers_changed(const struct rv_config *a, const struct rv_config *b)
{
	return a->mtu != b->mtu || a->keepalive_ms != b->keepalive_ms ||
	       a->dead_peer_ms != b->dead_peer_ms || a->rekey_ms != b->rekey_ms ||
	       a->num_routes != b->num_routes ||
	       memcmp(a->routes, b->routes, sizeof(a->routes[0]) * a->num_routes) != 0 ||
	       dns_changed(a, b) ||
	       rv_subnets_changed(a, b) || /* other clients' subnets are pushed as routes */
	       /* the network of each client's address: a pool grown from a
		* /24 to a /23 left the clients on the /24, and those of the
		* new half unreachable from them (round-thirteen tester 61) */
	       pools_changed(a, b);
}

/* route_taker: the network of |next| that would take over the host's route
 * to |a| (routed into the TUN, ifindex |tun|), or NULL. None when the host
 * reaches |a| through the TUN already (a host of a site, connecting through
 * the tunnel), nor when a route longer than the network's leads there. The
 * kernel is asked only about an address some network covers: a reload at
 * 10,000 sessions would otherwise make 20,000 requests. */
static const struct rv_config_subnet *route_taker(const struct rv_config *next,
						  const struct rv_ip_addr *a, unsigned tun)
{
	unsigned oif = 0, len = 0;
	bool looked = false;

	for (size_t n = 0; n < next->num_subnets; n++) {
		const struct rv_config_subnet *sn = &next->subnets[n];

		if (!rv_prefix_contains(&sn->p, a)) {
			continue;
		}
		if (!looked) {
			looked = true;
			if (rv_rtnl_route_oif(a, &oif, &len, NULL) != 0) {
				oif = tun; /* cannot tell: let it be */
			}
		}
		if (oif != tun && sn->p.len > len) {
			return sn;
		}
	}
	return NULL;
}

/* covers_a_client: would a network behind a client in |next| take over the
 * route to the address a connected client reaches the server from (its
 * control connection, or its data channel's endpoint)? Routed into the
 * TUN, the server's packets to that client would go to the network's owner
 * instead (both channels: the client is cut off, and another client gets
 * its traffic). Says which in |log|. */
static bool covers_a_client(struct rv_loop *l, const struct rv_config *next, struct rv_strbuf *log)
{
	unsigned tun = l->dp ? if_nametoindex(rv_dataplane_tun_name(l->dp)) : 0;
	struct rv_chan *c;

	if (tun == 0 || next->num_subnets == 0) {
		return false; /* no route into a TUN */
	}
	rv_chans_foreach(l, i, c)
	{
		struct rv_session *sess = c->ctl ? rv_ctl_peer_session(c->ctl) : NULL;
		struct rv_endpoint eps[2] = { c->peer };

		if (sess == NULL) {
			continue; /* not a client yet */
		}
		rv_session_get_endpoint(sess, &eps[1]);
		for (size_t e = 0; e < 2; e++) {
			const struct rv_config_subnet *sn;
			struct rv_ip_addr a;
			char b[2][64];

			if (eps[e].len == 0) {
				continue;
			}
			rv_endpoint_addr(&eps[e], &a);
			sn = route_taker(next, &a, tun);
			if (sn == NULL) {
				continue;
			}
			rv_strbuf_printf(log,
					 "refused: subnet %s/%u (behind %s) covers %s, the address "
					 "client %s reaches the server from: the server's packets "
					 "to "
					 "it would go into the tunnel\n",
					 rv_ip_addr_str(&sn->p.addr, b[0], sizeof(b[0])), sn->p.len,
					 sn->name, rv_ip_addr_str(&a, b[1], sizeof(b[1])), c->name);
			return true;
		}
	}
	return false;
}

/* rv_server_say_cipher says what a change of `cipher` does: a session's
 * AEAD is fixed when it is made (rv_session_new) and serves every later key
 * epoch, so the new one is for sessions that start from now on. Switching
 * running ones would take a protocol change (both ends at one epoch); the
 * reply said "changed: cipher" and nothing more, and status showed no
 * session's cipher (round-fourteen tester 66). A client that cannot use
 * the new one (no RV_CTL_CAP_CHACHA: an older ringvpn) keeps its session
 * only until it reconnects, its HELLOs refused from then on: the reply's
 * "kick moves one over" would have locked it out (round-fourteen tester
 * 68). */
void rv_server_say_cipher(struct rv_loop *l, unsigned old_cipher, struct rv_strbuf *log)
{
	const struct rv_config *cfg = l->cfg;
	enum rv_aead_alg want =
		cfg->cipher == RV_AEAD_NONE ? RV_AEAD_AES256GCM : (enum rv_aead_alg)cfg->cipher;
	unsigned other = 0, stuck = 0;
	struct rv_chan *c;

	if (cfg->cipher == old_cipher) {
		return;
	}
	rv_chans_foreach(l, i, c)
	{
		struct rv_session *sess = c->ctl ? rv_ctl_peer_session(c->ctl) : NULL;

		if (!sess || c->closing || rv_session_alg(sess) == want) {
			continue;
		}
		other++;
		if (want == RV_AEAD_CHACHA20POLY1305 && !(c->ctl->peer_caps & RV_CTL_CAP_CHACHA)) {
			stuck++;
		}
	}
	/* The kick's advice only where a session has one to take (it was
	 * given above 0 sessions: round-twenty-six tester 121). */
	if (other == 0) {
		rv_strbuf_printf(log,
				 "applied: cipher %s for sessions that start from now on; every "
				 "running session uses it already\n",
				 rv_aead_alg_name(want));
	} else {
		rv_strbuf_printf(log,
				 "applied: cipher %s for sessions that start from now on; %u "
				 "running session(s) keep another until their client reconnects "
				 "(`ringvpn kick NAME` moves one over)\n",
				 rv_aead_alg_name(want), other);
	}
	if (stuck) {
		rv_strbuf_printf(log,
				 "warning: %u of them have a client that cannot use %s (an older "
				 "ringvpn): a kick would lock it out, every reconnect refused "
				 "until the client is upgraded or the cipher set back\n",
				 stuck, rv_aead_alg_name(want));
	}
}

/* say_without_family says the running sessions without an address of a
 * family the new pools have (a pool6 put back, or added): a session takes
 * its addresses when it is made, and they stay IPv4-only (or IPv6-only)
 * until their clients reconnect, which the reply did not say (round-sixty-
 * five tester 276). */
static void say_without_family(struct rv_loop *l, const struct rv_config *cur,
			       const struct rv_config *next, struct rv_strbuf *log)
{
	/* Said at the reload that adds the pool (or moves it), not at every
	 * reload after it (tester 277). */
	bool added[2] = {
		next->pool4.addr.family && !rv_prefix_equal(&cur->pool4, &next->pool4),
		next->pool6.addr.family && !rv_prefix_equal(&cur->pool6, &next->pool6),
	};
	unsigned without[2] = { 0, 0 };
	struct rv_chan *c;

	rv_chans_foreach(l, i, c)
	{
		struct rv_session *sess = c->ctl ? rv_ctl_peer_session(c->ctl) : NULL;

		if (sess == NULL || c->closing) {
			continue;
		}
		without[0] += added[0] && !rv_session_vaddr4(sess)->family;
		without[1] += added[1] && !rv_session_vaddr6(sess)->family;
	}
	for (int f = 0; f < 2; f++) {
		if (without[f]) {
			rv_strbuf_printf(
				log,
				"applied: pool%c for sessions that start from now on; %u "
				"running session(s) have no IPv%c address until their client "
				"reconnects (`ringvpn kick NAME` gives one its address now)\n",
				"46"[f], without[f], "46"[f]);
		}
	}
}

int rv_server_apply_config(struct rv_loop *l, struct rv_config *next, struct rv_strbuf *log)
{
	struct rv_server_side *s = rv_server_side_of(l);
	const struct rv_config *cur = l->cfg;
	struct rv_admit_limits lim = rv_server_admit_limits(next);
	struct rv_ippool *pool, *old;
	unsigned ended = 0, pushed = 0;
	char err[256];
	struct rv_chan *c;
	int ret;

	/* The pools are rebuilt from the new file (sizes, prefixes, fixed
	 * reservations); every live session takes its addresses in the new
	 * pool, and the few that cannot (address outside the new pool, now
	 * reserved for another name, or its own fixed address moved) end. */
	if (covers_a_client(l, next, log)) {
		return -EINVAL;
	}
	pool = rv_ippool_new(next->pool4.addr.family ? &next->pool4.addr : NULL, next->pool4.len,
			     next->pool6.addr.family ? &next->pool6.addr : NULL, next->pool6.len,
			     rv_config_pool_hosts(next), &ret);
	if (!pool) {
		rv_strbuf_printf(log, "refused: address pools: %s\n", strerror(-ret));
		return ret;
	}
	ret = rv_ippool_reserve_fixed(pool, next, err, sizeof(err));
	if (ret) {
		rv_ippool_free(pool);
		rv_strbuf_printf(log, "refused: %s\n", err);
		return ret;
	}
	rv_chans_foreach(l, i, c)
	{
		struct rv_session *sess;
		const char *why = NULL;

		if (!c->ctl || !(sess = rv_ctl_peer_session(c->ctl))) {
			continue;
		}
		if (fixed_moved(next, c->name, rv_session_vaddr4(sess)) ||
		    fixed_moved(next, c->name, rv_session_vaddr6(sess))) {
			why = "its fixed address changed";
		} else {
			/* Claim under the new configuration's fixed table. */
			l->env.cfg = next;
			ret = rv_ctl_server_claim_addrs(c->ctl, pool);
			l->env.cfg = cur;
			if (ret) {
				why = ret == -EACCES
					      ? "its address is now reserved for another name"
					      : "its address left the pool";
			}
		}
		if (why) {
			char reason[160];

			snprintf(reason, sizeof(reason), "configuration reload: %s", why);
			rv_info("client %s: ending the session: %s", c->name, reason);
			/* Released now, into the old pool, before it is swapped. */
			rv_server_end(l, c, RV_CTL_CODE_RECONFIG, reason);
			ended++;
		}
	}
	old = l->env.pool;
	l->env.pool = pool;
	rv_ippool_free(old);
	if (ended) {
		rv_strbuf_printf(log,
				 "ended: %u session(s) whose address the new pools or fixed "
				 "addresses took away\n",
				 ended);
	}
	say_without_family(l, cur, next, log);
	rv_subnets_apply(l, next, log);
	if (l->dp && pools_changed(cur, next)) {
		set_tun_addrs(l, next, log);
	}
	rv_leases_set_lifetime(s->leases, (uint64_t)next->lease_time_ms * RV_NSEC_PER_MSEC);
	/* The connection table was sized at the start for that start's
	 * max_handshaking: past its room a new connection found no slot and
	 * was refused before any half-open one was evicted, so a flood kept
	 * every client out (round-twenty-five tester 115). */
	if (lim.max_total > rv_loop_handshake_room(l)) {
		unsigned asked = lim.max_total;

		lim.max_total = rv_loop_handshake_room(l);
		if (lim.max_per_source > lim.max_total) {
			lim.max_per_source = lim.max_total;
		}
		/* (It said "running value kept" while it took the room:
		 * round-twenty-five tester 118.) */
		rv_strbuf_printf(log,
				 "applied: max_handshaking %u, not %u: the room the connection "
				 "table was given at the start (a restart gives it more)\n",
				 lim.max_total, asked);
	}
	ret = rv_admit_set_limits(s->admit, &lim);
	if (ret == 0) {
		struct rv_admit_entry *v;
		unsigned closed = 0;

		/* Closed by the server, counted as evicted as at an accept
		 * (they were counted as aborted by their callers, and not
		 * said: tester 118). */
		while ((v = rv_admit_victim(s->admit)) != NULL) {
			struct rv_chan *vc = container_of(v, struct rv_chan, admit);

			s->evicted++;
			vc->hs_counted = true;
			closed++;
			rv_admit_remove(s->admit, v);
			rv_chan_close(l, vc);
		}
		if (closed) {
			rv_strbuf_printf(log,
					 "applied: closed %u half-open connection(s) past the new "
					 "handshake limits (counted as evicted)\n",
					 closed);
		}
	}
	if (next->rekey_packets != cur->rekey_packets) {
		/* Taken at a session's start: the running ones follow now. */
		rv_chans_foreach(l, i, c)
		{
			struct rv_session *sess = c->ctl ? rv_ctl_peer_session(c->ctl) : NULL;

			if (sess != NULL) {
				rv_session_set_rekey_after(sess, next->rekey_packets);
			}
		}
	}
	if (routes_or_timers_changed(cur, next)) {
		/* Push the new routes and timers to every running client
		 * that can take an update; others get them on reconnect. */
		const struct rv_config *saved = l->env.cfg;
		/* DNS without servers (taken out, or a domain alone): an
		 * older client cannot be told (its CONFIG went, the DNS part
		 * not), so it is not counted as told (round-eighteen tester
		 * 86, round-nineteen tester 87). */
		bool untellable = dns_changed(cur, next) && next->num_push_dns == 0;
		unsigned kept = 0;

		l->env.cfg = next;
		rv_chans_foreach(l, i, c)
		{
			if (c->ctl && rv_ctl_server_push_config(c->ctl, l->now_ns)) {
				rv_chan_kick(l, c);
				pushed++;
				if (untellable && rv_ctl_server_keeps_dns(c->ctl)) {
					kept++;
					rv_warnx("client %s: an older ringvpn: DNS without "
						 "servers cannot reach it, and it keeps the DNS "
						 "pushed before (if any) while it runs",
						 c->name);
				}
			}
		}
		l->env.cfg = saved;
		rv_strbuf_printf(log,
				 "applied: routes, timers and DNS pushed to %u running "
				 "client(s)\n",
				 pushed - kept);
		if (kept) {
			rv_strbuf_printf(log,
					 "applied: routes and timers pushed to %u more running "
					 "client(s), an older ringvpn each: DNS without servers "
					 "cannot reach them, and they keep the DNS pushed before "
					 "(if any) while they run (named in the log)\n",
					 kept);
		}
	}
	rv_strbuf_printf(log, "applied: pools, fixed addresses and limits\n");
	return 0;
}
