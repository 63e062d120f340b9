/*
 * subnets.c — networks behind clients on the server (see subnets.h): the
 * kernel routes on the server's TUN, and a reload moving networks between
 * live sessions.
 *
 * A reload applies the new assignment in two passes over the live
 * sessions: first every session gains the networks the new file gives its
 * name (a network moving from A to B goes straight from A to B in the
 * demux: one replacement, never unowned), then every session's set is made
 * exactly its own, which by then only removes. Sessions are not ended,
 * re-keyed or told anything but their new routes (the caller pushes a
 * CONFIG update, as for changed routes). Before both, the demux is told
 * the new list of networks to hold while their owners are away, so that a
 * network carved out of another (override) never falls to the enclosing
 * one's session, whether its owner is offline or the reload moves it to a
 * name that is.
 */
#include "tls/subnets.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/demux.h"
#include "core/ip.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "tls/ctl_server.h"
#include "tls/internal.h"
#include "uring/dataplane.h"
#include "uring/tun.h"

/* The subnets whose route the host does not take (a route of its own
 * elsewhere, a rule, a refusal: rv_tun_add_route said "not used" and left
 * none of ours): kept out of the TUN's repair and of the server's address
 * changes (rv_subnets_routed), which would put ours back where the host's
 * own way went (a link flap flushed the host's route, and ours held the
 * network from then on: round-thirteen tester 59), and tried again at the
 * next reload. The control thread's alone. */
struct prefix_set {
	struct rv_prefix p[RV_CONFIG_MAX_SUBNETS];
	size_t n;
};
static struct prefix_set unused;

/* The subnets an administrator's route through the TUN carries (ours was
 * not added: rv_tun_add_route returned 2): when it goes, the TUN's repair
 * adds ours, which is no putting back (it was said so: round-sixty-three
 * tester 257's nit). Control thread. */
static struct prefix_set foreign;

/* find: |p|'s place in |s|, or s->n. */
static size_t find(const struct prefix_set *s, const struct rv_prefix *p)
{
	size_t i = 0;

	while (i < s->n && !rv_prefix_equal(&s->p[i], p)) {
		i++;
	}
	return i;
}

static bool is_in(const struct prefix_set *s, const struct rv_prefix *p)
{
	return find(s, p) < s->n;
}

static void set_in(struct prefix_set *s, const struct rv_prefix *p, bool on)
{
	size_t i = find(s, p);

	if (i < s->n && !on) {
		s->p[i] = s->p[--s->n];
	} else if (i == s->n && on && s->n < RV_CONFIG_MAX_SUBNETS) {
		s->p[s->n++] = *p;
	}
}

static bool is_unused(const struct rv_prefix *p)
{
	return is_in(&unused, p);
}

static void set_unused(const struct rv_prefix *p, bool on)
{
	set_in(&unused, p, on);
}

size_t rv_subnets_routed(const struct rv_config *cfg, struct rv_prefix *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->num_subnets && n < max; i++) {
		if (!is_unused(&cfg->subnets[i].p)) {
			out[n++] = cfg->subnets[i].p;
		}
	}
	return n;
}

size_t rv_subnets_unused(struct rv_prefix *out, size_t max)
{
	size_t n = unused.n < max ? unused.n : max;

	memcpy(out, unused.p, n * sizeof(unused.p[0]));
	return n;
}

bool rv_subnets_taken(const struct rv_prefix *p)
{
	return is_unused(p);
}

void rv_subnets_forget_unused(void)
{
	unused.n = 0;
	foreign.n = 0;
}

bool rv_subnets_foreign_gone(const struct rv_prefix *p)
{
	if (!is_in(&foreign, p)) {
		return false;
	}
	set_in(&foreign, p, false);
	return true;
}

void rv_subnets_note_unused(const struct rv_prefix *routes, size_t n, uint64_t bits)
{
	for (size_t i = 0; i < n && i < 64; i++) {
		if (bits & (1ull << i)) {
			set_unused(&routes[i], true);
		}
	}
}

/* has_subnet: does |c| route |p| to some client? */
static bool has_subnet(const struct rv_config *c, const struct rv_prefix *p)
{
	for (size_t i = 0; c && i < c->num_subnets; i++) {
		if (rv_prefix_equal(&c->subnets[i].p, p)) {
			return true;
		}
	}
	return false;
}

unsigned rv_subnets_set_routes(const char *ifname, const struct rv_config *prev,
			       const struct rv_config *next)
{
	unsigned failed = 0;
	char a[64], why[160];
	int ret;

	for (size_t i = 0; prev && i < prev->num_subnets; i++) {
		const struct rv_prefix *p = &prev->subnets[i].p;

		if (has_subnet(next, p)) {
			continue;
		}
		set_unused(p, false);
		set_in(&foreign, p, false);
		ret = rv_tun_del_route(ifname, p);
		if (ret > 0) {
			/* None of ours: its adding failed (said then), or the host
			 * routes it itself, which stays. */
			rv_debug("route to %s/%u via %s: none of ours to remove",
				 rv_ip_addr_str(&p->addr, a, sizeof(a)), p->len, ifname);
		} else if (ret) {
			rv_warn(ret, "cannot remove the route to %s/%u via %s",
				rv_ip_addr_str(&p->addr, a, sizeof(a)), p->len, ifname);
		} else {
			rv_info("route to %s/%u via %s removed (no longer a subnet)",
				rv_ip_addr_str(&p->addr, a, sizeof(a)), p->len, ifname);
		}
	}
	for (size_t i = 0; i < next->num_subnets; i++) {
		const struct rv_config_subnet *s = &next->subnets[i];

		if (has_subnet(prev, &s->p) && !is_unused(&s->p)) {
			continue;
		}
		/* Not "Permission denied" or "No such device" (a hostile
		 * tester): the TUN's check adds it once IPv6 is back. */
		if (s->p.addr.family == AF_INET6 && rv_tun_ipv6_off(ifname, why, sizeof(why))) {
			rv_warnx("route to %s/%u (behind %s) via %s deferred: %s (added when it "
				 "carries IPv6 again)",
				 rv_ip_addr_str(&s->p.addr, a, sizeof(a)), s->p.len, s->name,
				 ifname, why);
			continue;
		}
		ret = rv_tun_add_route(ifname, &s->p);
		set_unused(&s->p, ret == 1);
		set_in(&foreign, &s->p, ret == 2);
		if (ret == 1) {
			failed++; /* routed elsewhere: said */
		} else if (ret == 2) {
			rv_info("tunnel %s: %s/%u, the network behind %s, is routed through it "
				"by a route not ringvpn's, left as it is (also when the network "
				"is no longer a subnet)",
				ifname, rv_ip_addr_str(&s->p.addr, a, sizeof(a)), s->p.len,
				s->name);
		} else if (ret) {
			rv_warn(ret, "cannot route %s/%u (behind %s) via %s",
				rv_ip_addr_str(&s->p.addr, a, sizeof(a)), s->p.len, s->name,
				ifname);
			failed++;
		} else {
			rv_info("tunnel %s: route to %s/%u, the network behind %s", ifname,
				rv_ip_addr_str(&s->p.addr, a, sizeof(a)), s->p.len, s->name);
		}
	}
	return failed;
}

bool rv_subnets_changed(const struct rv_config *a, const struct rv_config *b)
{
	return a->num_subnets != b->num_subnets ||
	       memcmp(a->subnets, b->subnets, a->num_subnets * sizeof(a->subnets[0])) != 0;
}

int rv_subnets_hold(struct rv_demux *d, const struct rv_config *cfg)
{
	struct rv_prefix nets[RV_CONFIG_MAX_SUBNETS];
	size_t n = rv_config_subnets_of(cfg, NULL, nets, RV_CONFIG_MAX_SUBNETS);

	return rv_demux_set_reserved(d, nets, n);
}

/* say_away names the clients away whose networks are held (the first
 * four), and a live session whose name is one of theirs but for case:
 * names are compared exactly, and `subnet = Client1` for client1 was held
 * while client1 was connected, the reply naming nobody (round-thirteen
 * tester 59). */
static void say_away(struct rv_loop *l, const struct rv_config *next, struct rv_strbuf *log)
{
	unsigned said = 0;
	struct rv_chan *c;

	for (size_t i = 0; i < next->num_subnets; i++) {
		const char *name = next->subnets[i].name;
		bool again = false;

		c = rv_server_find(l, name);
		for (size_t j = 0; j < i && !again; j++) {
			again = strcmp(next->subnets[j].name, name) == 0;
		}
		if ((c && c->ctl) || again) {
			continue;
		}
		if (said++ == 4) {
			rv_strbuf_printf(log, ", ...");
			break;
		}
		rv_strbuf_printf(log, "%s%s", said == 1 ? ": " : ", ", name);
		rv_chans_foreach(l, k, c)
		{
			if (c->ctl && strcasecmp(c->name, name) == 0) {
				rv_strbuf_printf(log,
						 " (client %s is connected: names are compared "
						 "exactly, case too)",
						 c->name);
				break;
			}
		}
	}
}

void rv_subnets_apply(struct rv_loop *l, const struct rv_config *next, struct rv_strbuf *log)
{
	struct rv_chan *c;
	unsigned sessions = 0, failed = 0, unrouted = 0, published = 0;
	unsigned around = rv_tun_links_around_said();
	int ret;

	if (!rv_subnets_changed(l->cfg, next)) {
		/* Those the host took elsewhere are asked again: the operator
		 * may have removed the host's route and reloaded for it. */
		if (unused.n && l->dp && !rv_tunwatch_renamed(l)) {
			unrouted =
				rv_subnets_set_routes(rv_dataplane_tun_name(l->dp), l->cfg, next);
			/* Still not used: a part that failed, as when they were
			 * added (exit 1: round-thirteen tester 61). */
			rv_strbuf_printf(log,
					 "%s: subnet routes asked again: %u not used (the host "
					 "routes them elsewhere: see the log)\n",
					 unrouted ? "failed" : "applied", unrouted);
			rv_tunwatch_say_around(log, "subnet", around);
		}
		return;
	}
	ret = rv_subnets_hold(l->env.demux, next);
	if (ret) {
		rv_strbuf_printf(log,
				 "failed: the networks behind clients are not all held while "
				 "their owners are away (%s): reload again\n",
				 strerror(-ret));
	}
	rv_chans_foreach(l, i, c)
	{
		if (c->ctl && rv_ctl_server_publish_subnets(c->ctl, next, false)) {
			failed++;
		}
	}
	rv_chans_foreach(l, i, c)
	{
		if (!c->ctl) {
			continue;
		}
		sessions++;
		if (rv_ctl_server_publish_subnets(c->ctl, next, true)) {
			failed++;
		}
	}
	if (l->dp && rv_tunwatch_renamed(l)) {
		/* By name on a renamed TUN: someone else's link (round-thirteen
		 * tester 64); set when the name is back. */
		rv_strbuf_printf(log,
				 "deferred: the routes to the subnets on %s: it is renamed (set "
				 "when "
				 "it has its name back)\n",
				 rv_dataplane_tun_name(l->dp));
	} else if (l->dp) {
		unrouted = rv_subnets_set_routes(rv_dataplane_tun_name(l->dp), l->cfg, next);
	}
	for (size_t i = 0; i < next->num_subnets; i++) {
		c = rv_server_find(l, next->subnets[i].name);
		published += c != NULL && c->ctl != NULL;
	}
	rv_strbuf_printf(log,
			 "applied: %zu subnet(s): %u published to %u live session(s), %zu held for "
			 "clients away",
			 next->num_subnets, published, sessions, next->num_subnets - published);
	say_away(l, next, log);
	rv_strbuf_printf(log, "\n");
	if (failed) {
		rv_strbuf_printf(log,
				 "failed: %u session(s) could not take their subnets (out of "
				 "memory): reload again\n",
				 failed);
	}
	if (unrouted) {
		rv_strbuf_printf(log,
				 "failed: %u subnet route(s) on the server's TUN (see the log)\n",
				 unrouted);
	}
	rv_tunwatch_say_around(log, "subnet", around);
}
