/*
 * client.c — `ringvpn client -c FILE`: config -> TLS context -> session
 * table -> data plane (TUN device + workers) -> the control loop on this
 * thread, which connects (and reconnects with backoff) and applies each
 * CONFIG to the TUN device, keeping both across reconnects. The TUN device
 * is claimed first (rv_tun_claim) and stays this process's until it exits.
 */
#include "cli/cmds.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cfgopts.h"
#include "cli/exit.h"
#include "cli/dns.h"
#include "cli/notify.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "tls/loop.h"
#include "uring/dataplane.h"
#include "uring/tun.h"

enum { CLIENT_SESSIONS = 4 };

/* How long -n waits for the resolver, all names at once: one that does not
 * answer took its whole timeout (10 s and more) for each name in turn. */
#define CHECK_LOOKUP_MS 5000

/* check_names: -n looks each server name up as the client would, and says
 * one it cannot find now (a slip in the name, or no DNS here yet). Only a
 * warning: the client keeps trying at its start. It said OK without
 * looking. The lookups run together (getaddrinfo_a) for CHECK_LOOKUP_MS
 * at most; the requests are static, as one still running past that keeps
 * writing its result until the process exits. */
static void check_names(const struct rv_config *cfg)
{
	static char names[RV_CONFIG_MAX_SERVERS][RV_CONFIG_HOST_MAX];
	static struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	static struct gaicb cbs[RV_CONFIG_MAX_SERVERS];
	struct gaicb *list[RV_CONFIG_MAX_SERVERS], *pending[RV_CONFIG_MAX_SERVERS];
	struct timespec now, left;
	int64_t end_ns;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < cfg->num_servers && n < RV_CONFIG_MAX_SERVERS; i++) {
		const char *host = cfg->servers[i].host;
		struct addrinfo num = { .ai_family = AF_UNSPEC,
					.ai_socktype = SOCK_STREAM,
					.ai_flags = AI_NUMERICHOST };
		struct addrinfo *res = NULL;

		if (getaddrinfo(host, NULL, &num, &res) == 0) {
			freeaddrinfo(res);
			continue; /* an address */
		}
		snprintf(names[n], sizeof(names[n]), "%s", host);
		cbs[n] = (struct gaicb){ .ar_name = names[n], .ar_request = &hints };
		list[n] = &cbs[n];
		n++;
	}
	if (n == 0) {
		return;
	}
	err = getaddrinfo_a(GAI_NOWAIT, list, (int)n, NULL);
	if (err) {
		rv_warnx("the server names cannot be looked up now (%s): the client keeps trying "
			 "at its start",
			 err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	end_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + CHECK_LOOKUP_MS * 1000000LL;
	for (;;) {
		size_t waiting = 0;
		int64_t left_ns;

		/* gai_suspend returns at once while any request in its list is
		 * done: only those still running go in it. */
		for (size_t i = 0; i < n; i++) {
			pending[i] = gai_error(&cbs[i]) == EAI_INPROGRESS ? &cbs[i] : NULL;
			waiting += pending[i] != NULL;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ns = end_ns - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
		if (waiting == 0 || left_ns <= 0) {
			break;
		}
		left.tv_sec = left_ns / 1000000000;
		left.tv_nsec = left_ns % 1000000000;
		(void)gai_suspend((const struct gaicb *const *)pending, (int)n, &left);
	}
	for (size_t i = 0; i < n; i++) {
		err = gai_error(&cbs[i]);
		if (err == EAI_INPROGRESS) {
			rv_warnx("server %s: the resolver gave no answer within %d s: the "
				 "client keeps trying at its start",
				 names[i], CHECK_LOOKUP_MS / 1000);
			(void)gai_cancel(&cbs[i]);
		} else if (err) {
			rv_warnx("server %s cannot be looked up now (%s): the client keeps trying "
				 "at its start",
				 names[i], gai_strerror(err));
		} else {
			freeaddrinfo(cbs[i].ar_result);
		}
	}
}

int rv_cmd_client(int argc, char **argv)
{
	static struct rv_config cfg;
	static struct rv_cli_opts opts; /* kept for reloads */
	struct rv_tls_ctx *tls = NULL;
	struct rv_demux *demux = NULL;
	struct rv_qsbr *qsbr = NULL;
	struct rv_dataplane *dp = NULL;
	struct rv_cli_dns *dns = NULL;
	struct rv_loop *loop = NULL;
	struct rv_loop_params lp;
	struct rv_notify nt = { 0 };
	char err[512], status[RV_CONFIG_HOST_MAX + 64];
	int ret, code, sigfd = -1, tun_lock = -1;

	code = rv_cli_start(&cfg, &opts, RV_CONFIG_CLIENT, argc, argv, &tls);
	if (code >= 0) {
		rv_cli_start_failed(&opts, code);
		return code;
	}
	rv_cli_note_metrics_wildcard(&cfg, opts.check_only);
	code = rv_cli_check_state_paths(&cfg, &opts);
	if (code < 0) {
		code = rv_cli_check_crl_state(&cfg, &opts, tls);
	}
	if (code >= 0) {
		goto out;
	}
	if (opts.check_only) {
		check_names(&cfg);
		code = rv_cli_check_paths(&cfg, opts.priv.shared_user ? 0 : opts.priv.uid,
					  opts.priv.shared_user ? 0 : opts.priv.gid);
		if (code >= 0) {
			goto out;
		}
		printf("configuration OK\n");
		code = RV_EXIT_OK;
		goto out;
	}
	code = rv_cli_tables(&sigfd, &demux, &qsbr, CLIENT_SESSIONS);
	if (code >= 0) {
		goto out;
	}
	/* The TUN device and the workers exist from the start, so the device
	 * is ours before the first connection and survives every reconnect;
	 * the server's CONFIG then sets its MTU, addresses and routes. */
	ret = rv_tun_claim(cfg.tun, &tun_lock);
	if (ret) {
		code = rv_cli_errno_exit(ret, RV_EXIT_TUN);
		goto out;
	}
	code = rv_cli_dataplane(&dp, &cfg, demux, qsbr, cfg.local_port, cfg.mtu);
	if (code >= 0) {
		goto out;
	}
	/* Not connected yet: the first push connects, as the dropped user
	 * (cli/dns.h). */
	if (rv_cli_dns_new(&dns)) {
		rv_warnx("out of memory");
		code = RV_EXIT_FAILURE;
		goto out;
	}
	memset(&lp, 0, sizeof(lp));
	lp.cfg = &cfg;
	lp.tls = tls;
	lp.demux = demux;
	lp.qsbr = qsbr;
	lp.dp = dp;
	lp.sigfd = sigfd;
	lp.signals_root_only = rv_privdrop_signals_root_only(&opts.priv);
	lp.service_uid = opts.priv.uid;
	lp.service_gid = opts.priv.gid;
	lp.service_shared = opts.priv.shared_user;
	lp.max_attempts = opts.max_attempts;
	lp.load_config = opts.config_path ? rv_cli_load_config : NULL;
	lp.check_restart = rv_cli_check_restart;
	lp.ctx = &opts;
	lp.apply_dns = rv_cli_apply_dns;
	lp.dns_ctx = dns;
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
	tls = NULL;
	/* Everything privileged is done: the TUN device, its queues and the
	 * sockets exist. CAP_NET_ADMIN stays with this thread, which re-applies
	 * addresses and routes after a reconnection. */
	code = rv_cli_confine(&opts, &cfg, false);
	if (code >= 0) {
		goto out;
	}
	/* Ready means "running and connecting": a client that waits for its
	 * server must not fail its unit's start-up. */
	snprintf(status, sizeof(status), "connecting to %s:%u", cfg.server_host, cfg.server_port);
	rv_notify_ready(status);
	switch (rv_loop_run(loop)) {
	case RV_LOOP_SIGNAL:
		code = RV_EXIT_OK;
		break;
	case RV_LOOP_GAVE_UP_TLS:
		code = RV_EXIT_TLS;
		break;
	case RV_LOOP_GAVE_UP_REFUSED:
		code = RV_EXIT_REFUSED;
		break;
	case RV_LOOP_GAVE_UP_PROTOCOL:
		code = RV_EXIT_PROTOCOL;
		break;
	case RV_LOOP_GAVE_UP_NET:
		code = RV_EXIT_NET;
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
	rv_loop_free(loop);
	rv_cli_dns_free(dns);
	rv_dataplane_stop(dp);
	/* Every thread has stopped logging: say what the rate limits held. */
	rv_log_flush_suppressed(UINT64_MAX);
	rv_qsbr_free(qsbr);
	rv_demux_free(demux);
	rv_tls_ctx_free(tls);
	if (sigfd >= 0) {
		close(sigfd);
	}
	if (tun_lock >= 0) {
		close(tun_lock); /* after the data plane closed the device */
	}
	if (code == RV_EXIT_OK && !opts.check_only) {
		/* As the server says it: the log ended at "shutting down"
		 * (round-thirty-six tester 178). */
		rv_info("stopped");
	} else if (code != RV_EXIT_OK && !opts.check_only) {
		/* At error level (journald priority 3), whatever level the
		 * lines before it had: what made the process stop. */
		char said[512];

		rv_fatal("stopped: exit %d, %s", code, rv_exit_said(code, said, sizeof(said)));
	}
	return code;
}
