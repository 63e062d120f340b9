/*
 * client.c — `ringvpn client -c FILE`: config -> TLS context -> session
 * table -> the control loop on this thread, which connects (and reconnects
 * with backoff), and on the first CONFIG starts the data plane and sets up
 * the TUN device, keeping both across reconnects.
 */
#include "cli/cmds.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cfgopts.h"
#include "cli/exit.h"
#include "cli/notify.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/ctlloop.h"

enum { CLIENT_SESSIONS = 4 };

/* The data plane starts on the first session, after the privilege drop: its
 * worker threads copied the control thread's capabilities, so take them
 * away, and CAP_DAC_OVERRIDE if it was kept to open /dev/net/tun. */
static void on_dataplane(void *ctx)
{
	const struct rv_cli_opts *opts = ctx;
	char err[512];

	if (rv_privdrop_tun_open(&opts->priv, err, sizeof(err))) {
		rv_warnx("after opening the TUN device: %s", err);
	}
}

int rv_cmd_client(int argc, char **argv)
{
	static struct rv_config cfg;
	struct rv_cli_opts opts;
	struct rv_tls_ctx *tls = NULL;
	struct rv_demux *demux = NULL;
	struct rv_qsbr *qsbr = NULL;
	struct rv_ctlloop *loop = NULL;
	struct rv_ctlloop_params lp;
	struct rv_notify nt = { 0 };
	char err[512], status[RV_CONFIG_HOST_MAX + 64];
	int ret, code, sigfd = -1;

	code = rv_cli_start(&cfg, &opts, RV_CONFIG_CLIENT, argc, argv, &tls);
	if (code >= 0) {
		return code;
	}
	if (opts.check_only) {
		printf("configuration OK\n");
		code = RV_EXIT_OK;
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
	rv_notify_init(&nt);
	nt.on_dataplane = on_dataplane;
	nt.ctx = &opts;
	lp.notify = rv_notify_ctl_event;
	lp.notify_ctx = &nt;
	ret = rv_ctlloop_new(&loop, &lp, err, sizeof(err));
	if (ret) {
		rv_warnx("%s", err);
		code = rv_cli_errno_exit(ret, RV_EXIT_NET);
		goto out;
	}
	tls = NULL;
	code = rv_cli_confine(&opts, &cfg, true);
	if (code >= 0) {
		goto out;
	}
	/* Ready means "running and connecting": a client that waits for its
	 * server must not fail its unit's start-up. */
	snprintf(status, sizeof(status), "connecting to %s:%u", cfg.server_host, cfg.server_port);
	rv_notify_ready(status);
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
	return code;
}
