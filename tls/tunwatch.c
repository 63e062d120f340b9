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
 */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/ippool.h"
#include "core/log.h"
#include "tls/internal.h"
#include "uring/dataplane.h"
#include "uring/tun.h"

#define TUNWATCH_NS (5 * RV_NSEC_PER_SEC)

/* server_wanted: the server's pool addresses and its networks behind
 * clients (routed via its TUN). */
static void server_wanted(struct rv_loop *l, struct rv_prefix *addrs, size_t *num_addrs,
			  struct rv_prefix *routes, size_t *num_routes, size_t max_routes)
{
	*num_addrs = l->env.pool ? rv_ippool_server_prefixes(l->env.pool, addrs) : 0;
	*num_routes = 0;
	for (size_t i = 0; i < l->cfg->num_subnets && *num_routes < max_routes; i++) {
		routes[(*num_routes)++] = l->cfg->subnets[i].p;
	}
}

static void on_tunwatch(struct rv_loop *l, struct rv_ltimer *lt)
{
	/* RV_CTL_MAX_ROUTES bounds both: a client's pushed routes and the
	 * server's subnets, which are pushed too. */
	struct rv_prefix addrs[2], routes[RV_CTL_MAX_ROUTES];
	const char *ifname = rv_dataplane_tun_name(l->dp);
	size_t num_addrs = 0, num_routes = 0;
	unsigned added;
	int up, ret;

	rv_loop_arm(l, lt, on_tunwatch, l->now_ns + TUNWATCH_NS);
	if (rv_dataplane_failed(l->dp) != 0) {
		return; /* the device is gone: the loop is ending */
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
	if (l->role == &rv_server_role) {
		server_wanted(l, addrs, &num_addrs, routes, &num_routes,
			      sizeof(routes) / sizeof(routes[0]));
	} else if (!rv_hostcfg_wanted(l, addrs, &num_addrs, routes, &num_routes)) {
		return; /* no CONFIG applied yet */
	}
	ret = rv_tun_add_missing(ifname, addrs, num_addrs, routes, num_routes, &added);
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

void rv_tunwatch_start(struct rv_loop *l)
{
	if (l->dp) {
		rv_loop_arm(l, &l->tunwatch_timer, on_tunwatch, l->now_ns + TUNWATCH_NS);
	}
}
