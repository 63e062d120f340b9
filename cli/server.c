/*
 * server.c — `ringvpn server -c FILE`: config -> TLS context -> address pool
 * -> session tables -> data plane (TUN + UDP workers) -> TUN address -> the
 * control loop on this thread -> clean shutdown on SIGINT/SIGTERM.
 */
#include "cli/cmds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cfgopts.h"
#include "cli/exit.h"
#include "core/demux.h"
#include "core/ippool.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/ctlloop.h"
#include "uring/dataplane.h"
#include "uring/tun.h"

static int set_tun_addrs(const char *ifname, const struct rv_ippool *pool)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	char a[64];

	for (size_t i = 0; i < 2; i++) {
		struct rv_ip_addr addr;
		int ret;

		if (rv_ippool_server_addr(pool, fams[i], &addr)) {
			continue;
		}
		ret = rv_tun_add_addr(ifname, &addr, rv_ippool_prefix_len(pool, fams[i]));
		if (ret) {
			rv_warn(ret, "cannot add %s/%u to %s", rv_ip_addr_str(&addr, a, sizeof(a)),
				rv_ippool_prefix_len(pool, fams[i]), ifname);
			return ret;
		}
		rv_info("tunnel %s: server address %s/%u", ifname,
			rv_ip_addr_str(&addr, a, sizeof(a)), rv_ippool_prefix_len(pool, fams[i]));
	}
	return 0;
}

/* With client_to_client = kernel (the default), client-to-client traffic leaves
 * a worker through the server's TUN and comes back in through it, so the
 * kernel must forward between clients (internal and off need no forwarding,
 * but networks behind the server still do). ringvpn
 * does not flip a host-wide sysctl behind the administrator's back; it says
 * so once at start-up instead. */
static void note_forwarding(void)
{
	static const char *const knobs[] = { "/proc/sys/net/ipv4/ip_forward",
					     "/proc/sys/net/ipv6/conf/all/forwarding" };

	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(knobs[i], "r");
		int c = f ? fgetc(f) : EOF;

		if (f) {
			fclose(f);
		}
		if (c == '0') {
			rv_info("%s is 0: clients reach the server but not each other or the "
				"networks behind it (set it to 1 to route between them)",
				knobs[i]);
		}
	}
}

int rv_cmd_server(int argc, char **argv)
{
	static struct rv_config cfg; /* large (fixed-address table): not on the stack */
	struct rv_cli_opts opts;
	struct rv_tls_ctx *tls = NULL;
	struct rv_ippool *pool = NULL;
	struct rv_demux *demux = NULL;
	struct rv_qsbr *qsbr = NULL;
	struct rv_dataplane *dp = NULL;
	struct rv_ctlloop *loop = NULL;
	struct rv_dataplane_config dc;
	struct rv_ctlloop_params lp;
	char err[512];
	int ret, code, sigfd = -1;

	code = rv_cli_start(&cfg, &opts, RV_CONFIG_SERVER, argc, argv, &tls);
	if (code >= 0) {
		return code;
	}
	pool = rv_ippool_new(cfg.pool4.addr.family ? &cfg.pool4.addr : NULL, cfg.pool4.len,
			     cfg.pool6.addr.family ? &cfg.pool6.addr : NULL, cfg.pool6.len,
			     cfg.max_clients, &ret);
	if (!pool) {
		fprintf(stderr, "ringvpn: address pools %s: %s\n",
			ret == -EINVAL ? "invalid" : "cannot be created", strerror(-ret));
		code = ret == -EINVAL ? RV_EXIT_CONFIG : RV_EXIT_FAILURE;
		goto out;
	}
	for (size_t i = 0; i < cfg.num_fixed; i++) {
		/* Reject a fixed address the pool could never hand out (the
		 * server's own, network or broadcast) before clients see it. */
		const struct rv_config_fixed *f = &cfg.fixed[i];

		if ((f->v4.family && !rv_ippool_contains(pool, &f->v4)) ||
		    (f->v6.family && !rv_ippool_contains(pool, &f->v6))) {
			fprintf(stderr,
				"ringvpn: fixed %s: address is not a client address of "
				"the pool (the server's own, network or broadcast)\n",
				f->name);
			code = RV_EXIT_CONFIG;
			goto out;
		}
	}
	if (opts.check_only) {
		printf("configuration OK\n");
		code = RV_EXIT_OK;
		goto out;
	}
	code = rv_cli_tables(&sigfd, &demux, &qsbr, cfg.max_clients);
	if (code >= 0) {
		goto out;
	}
	memset(&dc, 0, sizeof(dc));
	dc.tun_name = cfg.tun;
	dc.num_workers = cfg.workers;
	dc.pin_workers = cfg.pin_workers;
	dc.mtu = cfg.mtu;
	dc.udp_port = cfg.data_port;
	dc.udp_v6 = true;
	dc.offload_tun = cfg.offload_tun;
	dc.offload_gso = cfg.offload_gso;
	dc.offload_gro = cfg.offload_gro;
	dc.client_to_client = (enum rv_config_c2c)cfg.client_to_client;
	dc.zerocopy = (enum rv_config_zc)cfg.zerocopy;
	dc.demux = demux;
	dc.qsbr = qsbr;
	ret = rv_dataplane_start(&dp, &dc);
	if (ret == -EAFNOSUPPORT) {
		dc.udp_v6 = false; /* no IPv6 on this host: IPv4 underlay only */
		ret = rv_dataplane_start(&dp, &dc);
	}
	if (ret) {
		rv_warn(ret, "cannot start the data plane (TUN %s, UDP port %u)", cfg.tun,
			cfg.data_port);
		code = rv_cli_errno_exit(ret, RV_EXIT_TUN);
		goto out;
	}
	ret = set_tun_addrs(rv_dataplane_tun_name(dp), pool);
	if (ret) {
		code = rv_cli_errno_exit(ret, RV_EXIT_TUN);
		goto out;
	}
	memset(&lp, 0, sizeof(lp));
	lp.cfg = &cfg;
	lp.tls = tls;
	lp.demux = demux;
	lp.qsbr = qsbr;
	lp.pool = pool;
	lp.dp = dp;
	lp.sigfd = sigfd;
	ret = rv_ctlloop_new(&loop, &lp, err, sizeof(err));
	if (ret) {
		rv_warnx("%s", err);
		code = rv_cli_errno_exit(ret, RV_EXIT_NET);
		goto out;
	}
	tls = NULL; /* owned by the loop */
	rv_info("listening on %s:%u (TCP, control), UDP data port %u, TUN %s, %u worker(s)",
		cfg.listen_host[0] ? cfg.listen_host : "*", cfg.listen_port, rv_dataplane_port(dp),
		rv_dataplane_tun_name(dp), rv_dataplane_num_workers(dp));
	if (cfg.client_to_client == RV_CONFIG_C2C_KERNEL) {
		note_forwarding();
	}
	switch (rv_ctlloop_run(loop)) {
	case RV_CTLLOOP_SIGNAL:
		code = RV_EXIT_OK;
		break;
	default:
		code = RV_EXIT_FAILURE;
		break;
	}
out:
	rv_ctlloop_free(loop);
	rv_dataplane_stop(dp);
	rv_qsbr_free(qsbr); /* frees every retired session (no reader left) */
	rv_demux_free(demux);
	rv_ippool_free(pool);
	rv_tls_ctx_free(tls);
	if (sigfd >= 0) {
		close(sigfd);
	}
	if (code == RV_EXIT_OK && !opts.check_only) {
		rv_info("stopped");
	}
	return code;
}
