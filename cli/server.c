/*
 * server.c — `ringvpn server -c FILE`: config -> TLS context -> address pool
 * -> session tables -> data plane (TUN + UDP workers) -> TUN address -> the
 * control loop on this thread -> clean shutdown on SIGINT/SIGTERM.
 */
#include "cli/say.h"
#include "cli/cmds.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cfgopts.h"
#include "cli/exit.h"
#include "cli/notify.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/leasefile.h"
#include "tls/loop.h"
#include "tls/subnets.h"
#include "uring/dataplane.h"
#include "uring/rtnl.h"
#include "uring/tun.h"

/* set_tun_addrs gives the server's TUN device exactly its pool addresses
 * (an adopted persistent device may carry an earlier owner's). */
static int set_tun_addrs(struct rv_dataplane *dp, const struct rv_ippool *pool)
{
	const char *ifname = rv_dataplane_tun_name(dp);
	struct rv_prefix addrs[2];
	size_t n = rv_ippool_server_prefixes(pool, addrs);
	char a[64], why[160];
	int ret;

	/* A host without IPv6 refused the address with EACCES, said as
	 * "insufficient privilege" (exit 9) to a server running as root. */
	if (rv_ippool_prefix_len(pool, AF_INET6) && rv_tun_ipv6_off(ifname, why, sizeof(why))) {
		rv_warnx("%s: cannot serve pool6 (set pool6 = none for a server of IPv4 only)",
			 why);
		return -EAFNOSUPPORT;
	}
	rv_dataplane_set_pools(dp, addrs, n);
	ret = rv_tun_set_addrs_routes(ifname, addrs, n, NULL, 0, NULL, NULL);
	if (ret) {
		rv_warn(ret, "cannot set the addresses of %s", ifname);
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		rv_info("tunnel %s: server address %s/%u", ifname,
			rv_ip_addr_str(&addrs[i].addr, a, sizeof(a)), addrs[i].len);
	}
	return 0;
}

/* note says a warning of the configuration: at -n in the form of -n's
 * other warnings (cli/cfgopts.c: "ringvpn: warning: ..." on stderr), at a
 * start in the log. -n printed these through the log (`server[PID] warn:`,
 * JSON or `<4>` as log_format says) beside plain ones (round-fourteen
 * tester 68). */
RV_PRINTF(2, 3) static void note(bool check_only, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (check_only) {
		rv_cli_say_warnf("%s", msg);
	} else {
		rv_warnx("%s", msg);
	}
}

/* note_small_pool: a pool6 that runs out before pool4 (a /126 beside a
 * /24) turns clients away while pool4 has room, which only "pool
 * exhausted" said then: said at start and by -n. (A pool4 smaller than
 * pool6 is the rule, the default's /24 among them: not said.) */
static void note_small_pool(const struct rv_config *cfg, const struct rv_ippool *pool,
			    bool check_only)
{
	size_t n4 = rv_ippool_capacity(pool, AF_INET), n6 = rv_ippool_capacity(pool, AF_INET6);

	if (!cfg->pool4.addr.family || !cfg->pool6.addr.family || n6 >= n4 ||
	    n6 >= cfg->max_clients) {
		return;
	}
	note(check_only,
	     "pool6 holds %zu client address(es), pool4 %zu: at most %zu clients at once "
	     "(the next is refused, pool6 exhausted)",
	     n6, n4, n6);
}

/* note_no_crl: without `crl` no certificate is checked for revocation, and
 * one revoked with `ringvpn pki revoke` still gets a session; the example
 * file has the line commented out, and neither -n nor the start said so
 * (round-fourteen tester 66). A warning, not an error: a deployment may
 * revoke by other means (a short validity, a new CA). Said at start and by
 * -n. */
static void note_no_crl(const struct rv_config *cfg, bool check_only)
{
	if (cfg->crl[0]) {
		return;
	}
	note(check_only,
	     "no `crl` set: revoked client certificates are not refused (set crl to the "
	     "CA's CRL, e.g. crl = /etc/ringvpn/ca/ca.crl, which `ringvpn pki revoke` "
	     "updates)");
}

/* struct family_use counts what the configuration sends through the
 * tunnel of one address family. */
struct family_use {
	bool pool;
	size_t routes, subnets, dns;
};

static struct family_use family_use(const struct rv_config *cfg, int family)
{
	struct family_use u = { .pool = (family == AF_INET ? cfg->pool4 : cfg->pool6).addr.family };

	for (size_t i = 0; i < cfg->num_routes; i++) {
		u.routes += cfg->routes[i].addr.family == family;
	}
	for (size_t i = 0; i < cfg->num_subnets; i++) {
		u.subnets += cfg->subnets[i].p.addr.family == family;
	}
	for (size_t i = 0; i < cfg->num_push_dns; i++) {
		u.dns += cfg->push_dns[i].family == family;
	}
	return u;
}

/* family_used: does the configuration carry |family| through the tunnel:
 * a pool of it, or a route or subnet of it? */
static bool family_used(const struct rv_config *cfg, int family)
{
	struct family_use u = family_use(cfg, family);

	return u.pool || u.routes || u.subnets;
}

/* note_no_pool: routes, subnets or DNS servers of a family whose pool is
 * none: a client has no tunnel address of it, so its own packets there
 * leave from another address, which the server drops as spoofed; only
 * hosts of networks behind clients (subnet) can use them. They were taken
 * without a word (round-thirty tester 153). Said at start and by -n. */
static void note_no_pool(const struct rv_config *cfg, bool check_only)
{
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		const char *name = f ? "IPv6" : "IPv4";
		struct family_use u = family_use(cfg, family);

		if (u.pool || u.routes + u.subnets + u.dns == 0) {
			continue;
		}
		note(check_only,
		     "%s is none, yet %zu %s route(s), %zu subnet(s) and %zu DNS server(s) are "
		     "set: clients have no %s address in the tunnel, so only hosts of networks "
		     "behind clients reach them (a client's own packets come from another "
		     "address, dropped as spoofed)",
		     f ? "pool6" : "pool4", u.routes, name, u.subnets, u.dns, name);
	}
}

/* struct pool_link is the walk of note_pool_links over one pool. */
struct pool_link {
	const char *key;
	const struct rv_prefix *pool;
	bool said;
};

static int pool_link(void *ctx, const struct rv_prefix *dst, unsigned oif)
{
	struct pool_link *w = ctx;
	char dev[32], n[64], d[64];

	if (w->said || dst->addr.family != w->pool->addr.family || rv_prefix_link_local(dst) ||
	    !(rv_prefix_contains(dst, &w->pool->addr) || rv_prefix_contains(w->pool, &dst->addr))) {
		return 0;
	}
	w->said = true;
	rv_rtnl_dev_name(oif, dev, sizeof(dev));
	note(true,
	     "%s %s/%u: the host's link %s is on %s/%u: what is sent to those addresses does "
	     "not enter the tunnel (choose a pool no link of the host uses)",
	     w->key, rv_ip_addr_str(&w->pool->addr, n, sizeof(n)), w->pool->len, dev,
	     rv_ip_addr_str(&dst->addr, d, sizeof(d)), dst->len);
	return -1;
}

/* note_pool_links says at -n a pool on a network of a link of the host's
 * (the TUN's own route left out): the start said it, -n did not (round-
 * thirty-six tester 182). */
static void note_pool_links(const struct rv_config *cfg)
{
	const struct rv_prefix *pools[] = { &cfg->pool4, &cfg->pool6 };
	unsigned tun = cfg->tun[0] ? if_nametoindex(cfg->tun) : 0;

	for (int f = 0; f < 2; f++) {
		struct pool_link w = { .key = f ? "pool6" : "pool4", .pool = pools[f] };

		if (pools[f]->addr.family) {
			(void)rv_rtnl_list_other_links(tun, pool_link, &w);
		}
	}
}

/* With client_to_client = kernel (the default), client-to-client traffic leaves
 * a worker through the server's TUN and comes back in through it, so the
 * kernel must forward between clients; internal and off need no forwarding
 * for that, but the networks behind the server (`route`) still do: with
 * internal or off nothing was said of them, and sites reached neither the
 * server's LAN nor it them (round-sixty-eight tester 298). ringvpn does not
 * flip a host-wide sysctl behind the administrator's back; it says so once
 * at start-up instead. */
static void note_forwarding(const struct rv_config *cfg)
{
	bool kernel = cfg->client_to_client == RV_CONFIG_C2C_KERNEL;

	/* With internal or off, sites reach each other inside the data plane
	 * (or not at all): only the networks behind the server need it
	 * (round-sixty-eight tester 304). */
	if (!kernel && cfg->num_routes == 0) {
		return;
	}
	static const char *const knobs[] = { "/proc/sys/net/ipv4/ip_forward",
					     "/proc/sys/net/ipv6/conf/all/forwarding" };

	for (size_t i = 0; i < 2; i++) {
		/* Only a family the tunnel carries: an IPv6-only server was
		 * told of ip_forward (round-thirty tester 153); with internal
		 * or off, only a family of the routes: an IPv4 route alone
		 * was told of IPv6 forwarding too (round-sixty-nine tester
		 * 312). */
		int family = i ? AF_INET6 : AF_INET;
		bool said = kernel ? family_used(cfg, family) : family_use(cfg, family).routes;
		FILE *f = said ? fopen(knobs[i], "r") : NULL;
		int c = f ? fgetc(f) : EOF;

		if (f) {
			fclose(f);
		}
		if (c == '0') {
			rv_info("%s is 0: clients reach the server but not %sthe networks "
				"behind it (set it to 1 to route between them)",
				knobs[i], kernel ? "each other or " : "");
		}
	}
}

/* raise_fd_limit lets the server hold a connection (its socket, the one
 * descriptor a client costs) per client and per handshake in flight, 8 per
 * worker (its ring, sockets, TUN queue, eventfds: 5 or 6 measured) and 256
 * for the rest (files, management callers): the soft limit goes up to
 * that, within the hard limit. (It asked for twice the clients and 1024,
 * and said a limit of 20,000 was short for 10,064 clients, which ran on
 * 10,031 descriptors: round-twenty-five tester 109; the workers left out,
 * 180 of them ran out at 106 connections: tester 115.) */
static void raise_fd_limit(const struct rv_config *cfg, bool check_only)
{
	unsigned hs = rv_config_max_handshaking(cfg), workers = cfg->workers;
	struct rlimit rl;
	rlim_t want;

	if (workers == 0) {
		cpu_set_t set;
		long n = sched_getaffinity(0, sizeof(set), &set) == 0
				 ? CPU_COUNT(&set)
				 : sysconf(_SC_NPROCESSORS_ONLN);

		workers = n > 0 ? (unsigned)n : 1;
	}
	want = (rlim_t)cfg->max_clients + hs + 8 * (rlim_t)workers + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want) {
		return;
	}
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	/* -n says it as well, from the limit the start would reach (it did
	 * not: round-twenty-eight tester 137). */
	if (!check_only && setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return;
	}
	if (rl.rlim_cur < want) {
		note(check_only,
		     "open-file limit %llu is below what %u clients, %u handshakes in flight and "
		     "%u workers need (%llu: one a client or handshake, 8 a worker, and 256): "
		     "raise the hard limit (LimitNOFILE= in the unit)",
		     (unsigned long long)rl.rlim_cur, cfg->max_clients, hs, workers,
		     (unsigned long long)want);
	}
}

int rv_cmd_server(int argc, char **argv)
{
	static struct rv_config cfg;	/* large (fixed-address table): not on the stack */
	static struct rv_cli_opts opts; /* kept for reloads */
	struct rv_tls_ctx *tls = NULL;
	struct rv_ippool *pool = NULL;
	struct rv_demux *demux = NULL;
	struct rv_qsbr *qsbr = NULL;
	struct rv_dataplane *dp = NULL;
	struct rv_loop *loop = NULL;
	struct rv_loop_params lp;
	struct rv_notify nt = { 0 };
	char err[512], status[RV_CONFIG_HOST_MAX + 128];
	int ret, code, sigfd = -1, tun_lock = -1;
	bool tun_set = false;

	code = rv_cli_start(&cfg, &opts, RV_CONFIG_SERVER, argc, argv, &tls);
	if (code >= 0) {
		rv_cli_start_failed(&opts, code);
		return code;
	}
	pool = rv_ippool_new(cfg.pool4.addr.family ? &cfg.pool4.addr : NULL, cfg.pool4.len,
			     cfg.pool6.addr.family ? &cfg.pool6.addr : NULL, cfg.pool6.len,
			     rv_config_pool_hosts(&cfg), &ret);
	if (!pool) {
		rv_cli_say_errf("address pools %s: %s",
				ret == -EINVAL ? "invalid" : "cannot be created", strerror(-ret));
		code = ret == -EINVAL ? RV_EXIT_CONFIG : RV_EXIT_FAILURE;
		goto out;
	}
	/* A fixed address the pool could never hand out, refused before
	 * clients see it (also by -n). */
	ret = rv_ippool_reserve_fixed(pool, &cfg, err, sizeof(err));
	if (ret) {
		char said[600];

		/* As the file's other errors are said: its name first. An
		 * entry of --fixed (no line of the file) is the flags' doing,
		 * said as their other errors are, with the usage code (the
		 * file was blamed, exit 3: round-thirty-six tester 182). */
		if (ret == -EINVAL && strncmp(err, "line ", 5) != 0) {
			rv_cli_say_errf("the command line's flags%s%s: %s",
					opts.config_path ? " with " : "",
					opts.config_path ? opts.config_path : "", err);
			code = RV_EXIT_USAGE;
			goto out;
		}
		rv_cli_file_error(said, sizeof(said), opts.config_path, err);
		rv_cli_say_errf("%s", said);
		code = ret == -EINVAL ? RV_EXIT_CONFIG : RV_EXIT_FAILURE;
		goto out;
	}
	note_small_pool(&cfg, pool, opts.check_only);
	note_no_crl(&cfg, opts.check_only);
	note_no_pool(&cfg, opts.check_only);
	rv_cli_note_metrics_wildcard(&cfg, opts.check_only);
	if (opts.check_only) {
		note_pool_links(&cfg);
	}
	code = rv_cli_check_state_paths(&cfg, &opts);
	if (code >= 0) {
		goto out;
	}
	/* A FIFO or a device would hang or spin the start; a link or
	 * another file would be rewritten. The start checks again on the
	 * file it opens, and says the file's owner there (it was said
	 * twice). */
	if (cfg.lease_file[0]) {
		ret = rv_leasefile_check(cfg.lease_file, opts.priv.uid, !opts.check_only, err,
					 sizeof(err));
		if (ret == -EINVAL) {
			rv_cli_say_errf("%s", err);
			code = RV_EXIT_CONFIG;
			goto out;
		}
		/* The start goes on without it, as -n says (it said nothing). */
		if (ret < 0 && opts.check_only) {
			rv_cli_say_warnf("%s: addresses would be remembered in memory "
					 "only",
					 err);
		}
	}
	code = rv_cli_check_crl_state(&cfg, &opts, tls);
	if (code >= 0) {
		goto out;
	}
	if (opts.check_only) {
		char why[160];

		/* What the start would refuse, when the host shows it (a TUN
		 * made before with IPv6 on would still do). */
		if (cfg.pool6.addr.family && rv_host_ipv6_off(why, sizeof(why))) {
			rv_cli_say_warnf("%s: a new TUN gets no IPv6 and the start would "
					 "fail with pool6 set (set pool6 = none, or enable IPv6)",
					 why);
		}
		code = rv_cli_check_paths(&cfg, opts.priv.shared_user ? 0 : opts.priv.uid,
					  opts.priv.shared_user ? 0 : opts.priv.gid);
		if (code >= 0) {
			goto out;
		}
		raise_fd_limit(&cfg, true);
		printf("configuration OK\n");
		code = RV_EXIT_OK;
		goto out;
	}
	raise_fd_limit(&cfg, false);
	code = rv_cli_tables(&sigfd, &demux, &qsbr, cfg.max_clients);
	if (code >= 0) {
		goto out;
	}
	ret = rv_tun_claim(cfg.tun, &tun_lock);
	if (ret) {
		code = rv_cli_errno_exit(ret, RV_EXIT_TUN);
		goto out;
	}
	code = rv_cli_dataplane(&dp, &cfg, demux, qsbr, cfg.data_port, cfg.mtu);
	if (code >= 0) {
		goto out;
	}
	/* No session exists yet, so this cannot be refused. */
	(void)rv_demux_set_lanes(demux, rv_dataplane_lanes(dp));
	ret = set_tun_addrs(dp, pool);
	if (ret) {
		code = rv_cli_errno_exit(ret, RV_EXIT_TUN);
		goto out;
	}
	tun_set = true;
	rv_subnets_set_routes(rv_dataplane_tun_name(dp), NULL, &cfg);
	memset(&lp, 0, sizeof(lp));
	lp.cfg = &cfg;
	lp.tls = tls;
	lp.demux = demux;
	lp.qsbr = qsbr;
	lp.pool = pool;
	lp.dp = dp;
	lp.sigfd = sigfd;
	lp.signals_root_only = rv_privdrop_signals_root_only(&opts.priv);
	lp.service_uid = opts.priv.uid;
	lp.service_gid = opts.priv.gid;
	lp.service_shared = opts.priv.shared_user;
	lp.load_config = opts.config_path ? rv_cli_load_config : NULL;
	lp.check_restart = rv_cli_check_restart;
	lp.ctx = &opts;
	rv_notify_init(&nt);
	lp.notify = rv_notify_loop_event;
	rv_notify_mark_on_stop(tun_lock, dp);
	lp.watchdog_ns = nt.watchdog_ns;
	ret = rv_loop_new(&loop, &lp, err, sizeof(err));
	if (ret) {
		if (ret != -EINTR) {
			rv_warnx("%s", err);
		}
		/* -EKEYREJECTED: an older CRL than crl_state remembers. */
		code = ret == -EKEYREJECTED ? RV_EXIT_CERT : rv_cli_errno_exit(ret, RV_EXIT_NET);
		goto out;
	}
	tls = NULL;  /* owned by the loop */
	pool = NULL; /* owned by the loop */
	code = rv_cli_confine(&opts, &cfg, false);
	if (code >= 0) {
		goto out;
	}
	snprintf(status, sizeof(status),
		 "listening on %s (TCP, control), UDP data port %u, TUN %s, %u worker(s)%s",
		 rv_config_listen_str(&cfg, err, sizeof(err)), rv_dataplane_port(dp),
		 rv_dataplane_tun_name(dp), rv_dataplane_num_workers(dp),
		 rv_dataplane_lanes(dp) > 1 ? ", sessions spread over them evenly" : "");
	rv_info("%s", status);
	note_forwarding(&cfg);
	rv_notify_ready(status);
	switch (rv_loop_run(loop)) {
	case RV_LOOP_SIGNAL:
		code = RV_EXIT_OK;
		break;
	case RV_LOOP_TUN_FAILED:
		code = RV_EXIT_TUN;
		break;
	default:
		code = RV_EXIT_FAILURE;
		break;
	}
out:
	/* A start at once by a script that did not wait for this exit waits
	 * for the locks instead of failing (uring/tun.h). */
	rv_ns_lock_stopping(tun_lock);
	rv_dataplane_stopping(dp);
	rv_notify_mark_on_stop(-1, NULL); /* the data plane goes below */
	rv_loop_free(loop); /* which takes the server's addresses off a persistent TUN */
	if (loop == NULL && tun_set) {
		rv_server_tun_withdraw(dp, pool); /* a start that failed before the loop */
	}
	rv_dataplane_stop(dp);
	/* Every thread has stopped logging: say what the rate limits held. */
	rv_log_flush_suppressed(UINT64_MAX);
	rv_qsbr_free(qsbr); /* frees every retired session (no reader left) */
	rv_demux_free(demux);
	rv_ippool_free(pool);
	rv_tls_ctx_free(tls);
	if (sigfd >= 0) {
		close(sigfd);
	}
	if (tun_lock >= 0) {
		close(tun_lock); /* after the data plane closed the device */
	}
	if (code == RV_EXIT_OK && !opts.check_only) {
		rv_info("stopped");
	} else if (code != RV_EXIT_OK && !opts.check_only) {
		/* At error level (journald priority 3), whatever level the
		 * lines before it had: what made the process stop. */
		char said[512];

		rv_fatal("stopped: exit %d, %s", code, rv_exit_said(code, said, sizeof(said)));
	}
	return code;
}
