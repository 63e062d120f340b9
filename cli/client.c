/*
 * client.c — `ringvpn client -c FILE`: config -> TLS context -> session
 * table -> the control loop on this thread, which connects (and reconnects
 * with backoff), and on the first CONFIG starts the data plane and sets up
 * the TUN device, keeping both across reconnects. The TUN device is claimed
 * (rv_tun_claim) before connecting and stays this process's until it exits.
 */
#include "cli/cmds.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cfgopts.h"
#include "cli/exit.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/ctlloop.h"
#include "uring/tun.h"

enum { CLIENT_SESSIONS = 4 };

int rv_cmd_client(int argc, char **argv)
{
	static struct rv_config cfg;
	struct rv_cli_opts opts;
	struct rv_tls_ctx *tls = NULL;
	struct rv_demux *demux = NULL;
	struct rv_qsbr *qsbr = NULL;
	struct rv_ctlloop *loop = NULL;
	struct rv_ctlloop_params lp;
	char err[512];
	int ret, code, sigfd = -1, tun_lock = -1;

	code = rv_cli_start(&cfg, &opts, RV_CONFIG_CLIENT, argc, argv, &tls);
	if (code >= 0) {
		return code;
	}
	if (opts.check_only) {
		printf("configuration OK\n");
		code = RV_EXIT_OK;
		goto out;
	}
	/* Own the TUN device before connecting: a second client with the same
	 * tun name fails here, and a crashed predecessor's device is gone
	 * before the first CONFIG creates ours (uring/tun.h). */
	ret = rv_tun_claim(cfg.tun, &tun_lock);
	if (ret) {
		code = rv_cli_errno_exit(ret, RV_EXIT_TUN);
		goto out;
	}
	code = rv_cli_tables(&sigfd, &demux, &qsbr, CLIENT_SESSIONS);
	if (code >= 0) {
		goto out;
	}
	memset(&lp, 0, sizeof(lp));
	lp.cfg = &cfg;
	lp.tls = tls;
	lp.demux = demux;
	lp.qsbr = qsbr;
	lp.sigfd = sigfd;
	lp.max_attempts = opts.max_attempts;
	ret = rv_ctlloop_new(&loop, &lp, err, sizeof(err));
	if (ret) {
		rv_warnx("%s", err);
		code = rv_cli_errno_exit(ret, RV_EXIT_NET);
		goto out;
	}
	tls = NULL;
	switch (rv_ctlloop_run(loop)) {
	case RV_CTLLOOP_SIGNAL:
		code = RV_EXIT_OK;
		break;
	case RV_CTLLOOP_GAVE_UP_TLS:
		code = RV_EXIT_TLS;
		break;
	case RV_CTLLOOP_GAVE_UP_NET:
		code = RV_EXIT_NET;
		break;
	case RV_CTLLOOP_TUN_FAILED:
		code = RV_EXIT_TUN;
		break;
	default:
		code = RV_EXIT_FAILURE;
		break;
	}
out:
	rv_ctlloop_free(loop); /* stops the data plane it started */
	rv_qsbr_free(qsbr);
	rv_demux_free(demux);
	rv_tls_ctx_free(tls);
	if (sigfd >= 0) {
		close(sigfd);
	}
	if (tun_lock >= 0) {
		close(tun_lock); /* after the data plane closed the device */
	}
	return code;
}
