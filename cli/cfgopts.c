/*
 * cfgopts.c — command-line and config-file handling shared by the server
 * and client commands (see cfgopts.h).
 *
 * Every config key is also a flag: --KEY VALUE, with '_' spelled '-'
 * (e.g. --dead-peer-timeout 30). Flags override the file. `route` and
 * `fixed` given as flags add to the file's entries.
 */
#include "cli/cfgopts.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "cli/exit.h"
#include "core/demux.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "uring/dataplane.h"

static const char *const server_keys[] = {
	"listen",
	"data_port",
	"tun",
	"mtu",
	"workers",
	"pin_workers",
	"ca",
	"cert",
	"key",
	"crl",
	"pool4",
	"pool6",
	"route",
	"fixed",
	"keepalive",
	"dead_peer_timeout",
	"rekey_interval",
	"rekey_packets",
	"handshake_timeout",
	"max_handshaking",
	"max_clients",
	"max_handshaking_per_source",
	"lease_file",
	"lease_time",
	"cipher",
	"status_socket",
	"admin_group",
	"admin_group_write",
	"offload_tun",
	"offload_gso",
	"offload_gro",
	"log_level",
	NULL,
};

static const char *const client_keys[] = {
	"server",	 "server_name",
	"tun",		 "workers",
	"pin_workers",	 "ca",
	"cert",		 "key",
	"crl",		 "reconnect_min",
	"reconnect_max", "status_socket",
	"admin_group",	 "admin_group_write",
	"mtu",		 "offload_tun",
	"offload_gso",	 "offload_gro",
	"log_level",	 NULL,
};

enum { OPT_MAX_ATTEMPTS = 1000, OPT_KEY_BASE = 1100 };

/* Threads that may read the session tables: the data-plane workers (at
 * most 256, see set_workers in core/config.c). */
enum { QSBR_MAX_READERS = 256 };

static void usage(FILE *f, enum rv_config_role role)
{
	const char *const *keys = role == RV_CONFIG_SERVER ? server_keys : client_keys;
	const char *cmd = role == RV_CONFIG_SERVER ? "server" : "client";

	fprintf(f, "Usage: ringvpn %s -c FILE [-n] [--KEY VALUE ...]\n\n", cmd);
	fprintf(f, "  -c, --config FILE   configuration file (see conf/%s.conf.example)\n", cmd);
	fprintf(f, "  -n, --check         check the configuration and certificates, then exit\n");
	if (role == RV_CONFIG_CLIENT) {
		fprintf(f, "  --max-attempts N    give up after N failed connection attempts in a "
			   "row\n                      (exit 6 for TLS, 8 for network); default: "
			   "never\n");
	}
	fprintf(f, "  -h, --help          this help\n\n");
	fprintf(f, "Every config key can be given as a flag overriding the file, with '_' "
		   "written '-':\n ");
	for (size_t i = 0, col = 1; keys[i]; i++) {
		size_t n = strlen(keys[i]) + 3;

		if (col + n > 78) {
			fprintf(f, "\n ");
			col = 1;
		}
		fprintf(f, " --");
		for (const char *p = keys[i]; *p; p++) {
			fputc(*p == '_' ? '-' : *p, f);
		}
		col += n;
	}
	fprintf(f, "\n\nExit codes: 0 ok, 1 failure, 2 usage, 3 config, 4 certificate, 5 key, "
		   "6 TLS,\n7 TUN, 8 network, 9 permission.\n");
}

/* load applies the -c file and the flag overrides to |cfg| (defaults
 * already in it) and validates. Returns 0, -E2BIG for a bad flag value, or
 * another -errno for the file or validation, with why in |err|. */
static int load(struct rv_config *cfg, const struct rv_cli_opts *opts, char *err, size_t err_len)
{
	char why[900];
	int ret;

	if (opts->config_path) {
		ret = rv_config_load(cfg, opts->config_path, err, err_len);
		if (ret) {
			return ret;
		}
	}
	for (size_t i = 0; i < opts->num_overrides; i++) {
		char origin[48];

		snprintf(origin, sizeof(origin), "--%s", opts->overrides[i].flag);
		if (rv_config_set(cfg, origin, opts->overrides[i].key, opts->overrides[i].value,
				  err, err_len)) {
			return -E2BIG;
		}
	}
	if (rv_config_validate(cfg, why, sizeof(why))) {
		snprintf(err, err_len, "%s%s%s", opts->config_path ? opts->config_path : "",
			 opts->config_path ? ": " : "", why);
		return -EINVAL;
	}
	return 0;
}

int rv_cli_parse(struct rv_config *cfg, struct rv_cli_opts *opts, enum rv_config_role role,
		 int argc, char **argv)
{
	const char *const *keys = role == RV_CONFIG_SERVER ? server_keys : client_keys;
	struct option lopts[64];
	static char names[64][32]; /* flag names; the overrides keep pointers into them */
	size_t nkeys = 0, nl = 0;
	char err[1024];
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->role = role;
	rv_config_defaults(cfg, role);
	lopts[nl++] = (struct option){ "config", required_argument, NULL, 'c' };
	lopts[nl++] = (struct option){ "check", no_argument, NULL, 'n' };
	lopts[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	if (role == RV_CONFIG_CLIENT) {
		lopts[nl++] = (struct option){ "max-attempts", required_argument, NULL,
					       OPT_MAX_ATTEMPTS };
	}
	for (nkeys = 0; keys[nkeys]; nkeys++) {
		snprintf(names[nkeys], sizeof(names[nkeys]), "%s", keys[nkeys]);
		for (char *p = names[nkeys]; *p; p++) {
			if (*p == '_') {
				*p = '-';
			}
		}
		lopts[nl++] = (struct option){ names[nkeys], required_argument, NULL,
					       OPT_KEY_BASE + (int)nkeys };
	}
	lopts[nl] = (struct option){ NULL, 0, NULL, 0 };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:nh", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts->config_path = optarg;
			break;
		case 'n':
			opts->check_only = true;
			break;
		case 'h':
			usage(stdout, role);
			return RV_EXIT_OK;
		case OPT_MAX_ATTEMPTS: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !optarg[0] || v > 1000000) {
				fprintf(stderr, "ringvpn: --max-attempts: '%s' is not a count\n",
					optarg);
				return RV_EXIT_USAGE;
			}
			opts->max_attempts = (unsigned)v;
			break;
		}
		case ':':
			fprintf(stderr, "ringvpn: option %s needs a value (see --help)\n",
				argv[optind - 1]);
			return RV_EXIT_USAGE;
		case '?':
			fprintf(stderr, "ringvpn: unknown option %s (see --help)\n",
				argv[optind - 1]);
			return RV_EXIT_USAGE;
		default:
			if (c >= OPT_KEY_BASE && c < OPT_KEY_BASE + (int)nkeys &&
			    opts->num_overrides < RV_CLI_MAX_OVERRIDES) {
				opts->overrides[opts->num_overrides].key = keys[c - OPT_KEY_BASE];
				opts->overrides[opts->num_overrides].flag = names[c - OPT_KEY_BASE];
				opts->overrides[opts->num_overrides].value = optarg;
				opts->num_overrides++;
				break;
			}
			fprintf(stderr, "ringvpn: too many options\n");
			return RV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringvpn: unexpected argument '%s' (see --help)\n", argv[optind]);
		return RV_EXIT_USAGE;
	}
	switch (load(cfg, opts, err, sizeof(err))) {
	case 0:
		return -1;
	case -E2BIG: /* a flag's value */
		fprintf(stderr, "ringvpn: %s\n", err);
		return RV_EXIT_USAGE;
	default:
		fprintf(stderr, "ringvpn: %s\n", err);
		return RV_EXIT_CONFIG;
	}
}

int rv_cli_load_config(void *ctx, struct rv_config *out, char *err, size_t err_len)
{
	const struct rv_cli_opts *opts = ctx;

	rv_config_defaults(out, opts->role);
	return load(out, opts, err, err_len);
}

int rv_cli_tls_ctx(struct rv_tls_ctx **out, const struct rv_config *cfg)
{
	enum rv_tls_ctx_fail why;
	char err[1024];

	if (rv_tls_ctx_from_config(out, cfg, &why, err, sizeof(err)) == 0) {
		return -1;
	}
	fprintf(stderr, "ringvpn: %s\n", err);
	switch (why) {
	case RV_TLS_FAIL_CA:
	case RV_TLS_FAIL_CERT:
	case RV_TLS_FAIL_CRL:
		return RV_EXIT_CERT;
	case RV_TLS_FAIL_KEY:
		return RV_EXIT_KEY;
	default:
		return RV_EXIT_TLS;
	}
}

int rv_cli_start(struct rv_config *cfg, struct rv_cli_opts *opts, enum rv_config_role role,
		 int argc, char **argv, struct rv_tls_ctx **out_tls)
{
	int code;

	*out_tls = NULL;
	code = rv_cli_parse(cfg, opts, role, argc, argv);
	if (code >= 0) {
		return code;
	}
	rv_log_set_level((enum rv_log_level)cfg->log_level);
	rv_log_set_prefix(role == RV_CONFIG_SERVER ? "server" : "client");
	return rv_cli_tls_ctx(out_tls, cfg);
}

int rv_cli_tables(int *out_sigfd, struct rv_demux **out_demux, struct rv_qsbr **out_qsbr,
		  unsigned max_sessions)
{
	*out_demux = NULL;
	*out_qsbr = NULL;
	*out_sigfd = rv_cli_signals();
	if (*out_sigfd < 0) {
		fprintf(stderr, "ringvpn: signalfd: %s\n", strerror(errno));
		return RV_EXIT_FAILURE;
	}
	*out_demux = rv_demux_new(max_sessions);
	*out_qsbr = rv_qsbr_new(QSBR_MAX_READERS);
	if (!*out_demux || !*out_qsbr) {
		fprintf(stderr, "ringvpn: out of memory\n");
		return RV_EXIT_FAILURE;
	}
	return -1;
}

int rv_cli_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL)) {
		return -1;
	}
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int rv_cli_errno_exit(int err, int def)
{
	switch (err < 0 ? -err : err) {
	case EPERM:
	case EACCES:
		return RV_EXIT_PERM;
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case ENETUNREACH:
	case ECONNREFUSED:
		return RV_EXIT_NET;
	default:
		return def;
	}
}

int rv_cli_dataplane(struct rv_dataplane **out, const struct rv_config *cfg, struct rv_demux *demux,
		     struct rv_qsbr *qsbr, uint16_t port, unsigned mtu)
{
	struct rv_dataplane_config dc;
	int ret;

	memset(&dc, 0, sizeof(dc));
	dc.tun_name = cfg->tun;
	dc.num_workers = cfg->workers;
	dc.pin_workers = cfg->pin_workers;
	dc.mtu = mtu;
	dc.udp_port = port;
	dc.udp_v6 = true;
	dc.offload_tun = cfg->offload_tun;
	dc.offload_gso = cfg->offload_gso;
	dc.offload_gro = cfg->offload_gro;
	dc.demux = demux;
	dc.qsbr = qsbr;
	ret = rv_dataplane_start(out, &dc);
	if (ret == -EAFNOSUPPORT) {
		dc.udp_v6 = false; /* no IPv6 on this host: IPv4 underlay only */
		ret = rv_dataplane_start(out, &dc);
	}
	if (ret) {
		rv_warn(ret, "cannot start the data plane (TUN %s, UDP port %u)", cfg->tun, port);
		return rv_cli_errno_exit(ret, RV_EXIT_TUN);
	}
	return -1;
}
