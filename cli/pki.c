/*
 * pki.c — 'ringvpn pki': flags -> pki/ calls. Creates a CA, issues server and
 * client certificates, revokes them into a CRL, shows and verifies them.
 *
 *   ringvpn pki ca      --out DIR [--name NAME] [--days N] [--force]
 *   ringvpn pki server  --ca DIR --name DNSNAME|IP [--out DIR] [--file BASE]
 *                       [--days N | --valid-from T --valid-to T] [--force]
 *   ringvpn pki client  --ca DIR --name CN [same options as server]
 *   ringvpn pki revoke  --ca DIR (--cert FILE | --serial HEX) [--days N]
 *   ringvpn pki crl     --ca DIR [--days N] [--unrevoke SERIAL]...
 *   ringvpn pki show    FILE...
 *   ringvpn pki verify  --ca DIR [--crl FILE | --no-crl] [--purpose server|client]
 *                       [--name HOST] FILE
 *
 * Each subcommand has --help. Exit codes come from cli/exit.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/exit.h"
#include "cli/say.h"
#include "core/compiler.h"
#include "core/log.h"
#include "pki/ca.h"
#include "pki/crl.h"
#include "pki/issue.h"
#include "pki/show.h"
#include "pki/verify.h"

/* Bounds for every "days" flag: a century either way. */
#define DAYS_MAX 36500

struct pki_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage; /* flags, shown by help and after a usage error */
	const char *description;
};

static const struct pki_cmd *find_cmd(const char *name);

static void pki_say(const char *fmt, ...) RV_PRINTF(1, 2);

/* pki_say writes an error as the other commands do, "ringvpn pki CMD: ...":
 * pki's came in the service's log form, "ringvpn[PID] error: pki CMD:
 * ..." (round-thirty tester 150). Names from certificates and paths are
 * in them: what would act on a terminal, and a newline, is shown as '?'. */
static void pki_say(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	rv_log_sanitize(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	/* And a newline from a name or a path: one error could pose as
	 * several lines (round-thirty tester 152). */
	for (char *c = msg; (c = strchr(c, '\n')) != NULL; c++) {
		*c = '?';
	}
	fprintf(stderr, "ringvpn %s\n", msg);
}

static int usage_error(const char *cmd, const char *fmt, ...) RV_PRINTF(2, 3);

static int usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pki_say("pki %s: %s (see 'ringvpn pki %s --help')", cmd, msg, cmd);
	return RV_EXIT_USAGE;
}

/* pki_failed reports |err| of a pki call that returned |ret| (-errno) and
 * maps it to an exit code: a certificate or key file that does not exist
 * gets the codes kept from the original design (7, 8). */
static int pki_failed(const char *cmd, int ret, const struct rv_pki_err *err)
{
	pki_say("pki %s: %s", cmd, err->msg);
	switch (err->kind) {
	case RV_PKI_ERR_USAGE:
		return RV_EXIT_USAGE;
	case RV_PKI_ERR_CERT:
		return ret == -ENOENT ? RV_EXIT_CERT_MISSING : RV_EXIT_CERT;
	case RV_PKI_ERR_KEY:
		return ret == -ENOENT ? RV_EXIT_KEY_MISSING : RV_EXIT_KEY;
	case RV_PKI_ERR_OP:
		return RV_EXIT_PKI;
	case RV_PKI_ERR_NONE:
		break;
	}
	return RV_EXIT_FAILURE;
}

static void print_help(const char *cmd)
{
	const struct pki_cmd *c = find_cmd(cmd);

	printf("usage: ringvpn pki %s %s\n\n%s\n", c->name, c->usage, c->description);
	fflush(stdout);
}

/* parse_days parses |s| as a whole number of days in [min, DAYS_MAX]. */
static bool parse_days(int *out, const char *s, int min)
{
	char *end;
	long v;

	/* strtol passes leading blanks: " 5" was taken (round-twenty-six
	 * tester 121). */
	if (!(*s == '-' || (*s >= '0' && *s <= '9'))) {
		return false;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > DAYS_MAX) {
		return false;
	}
	*out = (int)v;
	return true;
}

/* parse_offset parses a signed time offset "[+-]N[s|m|h|d]" (no unit means
 * days) into seconds, bounded by DAYS_MAX days either way. */
static bool parse_offset(int64_t *out, const char *s)
{
	char *end;
	long long v, unit = 86400;

	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9'))) {
		return false;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s) {
		return false;
	}
	if (*end != '\0') {
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return false;
		}
		if (end[1] != '\0') {
			return false;
		}
	}
	if (v < -(long long)DAYS_MAX * 86400 / unit || v > (long long)DAYS_MAX * 86400 / unit) {
		return false;
	}
	*out = (int64_t)(v * unit);
	return true;
}

enum {
	OPT_HELP = 'h',
	OPT_OUT = 256,
	OPT_NAME,
	OPT_DAYS,
	OPT_FORCE,
	OPT_CA,
	OPT_FILE,
	OPT_VALID_FROM,
	OPT_VALID_TO,
	OPT_CERT,
	OPT_SERIAL,
	OPT_CRL,
	OPT_NO_CRL,
	OPT_PURPOSE,
	OPT_UNREVOKE,
	OPT_TWICE, /* pki_getopt: a flag with a value given again */
	OPT_LOOKS, /* pki_getopt: a value that looks like a long option */
	OPT_CUT,   /* pki_getopt: a long option written cut short */
	OPT_EMPTY, /* pki_getopt: a flag given an empty value */
};

/* The flag pki_getopt found given twice, or cut short (what was written
 * of it: cut_flag, cut_len). */
static const char *twice_flag, *cut_flag;
static int cut_len;
/* The flags of the last pki_getopt call, for getopt_flag_error. */
static const struct option *last_opts;

/* pki_getopt is getopt_long, with a flag that takes a value refused when
 * given again (OPT_TWICE): `pki revoke --cert a --cert b` revoked b alone
 * and exited 0, and `pki client --name bob --name alice` issued alice's
 * (round-ten tester 47). |seen| starts at 0. */
static int pki_getopt(int argc, char **argv, const struct option *opts, uint32_t *seen)
{
	int li = -1, c = getopt_long(argc, argv, ":h", opts, &li);

	last_opts = opts;

	/* `pki client --na bob` was taken for --name (the service's own
	 * command line asks for whole names: round-forty-four tester 209). */
	if (li >= 0 && c != '?' && c != ':' &&
	    (cut_flag = rv_cli_cut_short(argv, optind, optarg, opts[li].name, &cut_len)) != NULL) {
		twice_flag = opts[li].name;
		return OPT_CUT;
	}
	if (c < OPT_OUT || c >= OPT_OUT + 32) {
		return c;
	}
	/* getopt takes the next word whatever it is: `pki ca --out --force`
	 * made a CA in a directory named "--force" (as `server --tun
	 * --bogus` named its TUN: round-forty-eight tester 217). */
	if (rv_cli_value_looks_like_option(argv, optind, optarg)) {
		return OPT_LOOKS;
	}
	/* `pki server --out ""` wrote its key and certificate into / (the
	 * empty directory joined to the file's name: round-fifty-three
	 * tester 225); no flag of pki's has a use for an empty value. */
	if (optarg != NULL && *optarg == '\0' && li >= 0) {
		twice_flag = opts[li].name;
		return OPT_EMPTY;
	}
	for (const struct option *o = opts; o->name; o++) {
		/* --unrevoke adds up (its usage says "..."; it was refused
		 * as given twice: round-fifty tester 222). */
		if (o->val != c || o->has_arg != required_argument || c == OPT_UNREVOKE) {
			continue;
		}
		if (*seen & (1u << (c - OPT_OUT))) {
			twice_flag = o->name;
			return OPT_TWICE;
		}
		*seen |= 1u << (c - OPT_OUT);
	}
	return c;
}

/* getopt_flag_error turns getopt's '?' and ':' into a usage error that names
 * the flag. Call it with the value getopt_long returned. */
static int getopt_flag_error(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == OPT_TWICE) {
		return usage_error(cmd, "flag '--%s' given twice", twice_flag);
	}
	if (c == OPT_CUT) {
		char sb[256];

		return usage_error(cmd, "flag '--%.*s': write the flag's whole name (--%s)",
				   cut_len, rv_cli_shown(cut_flag, sb, sizeof(sb)), twice_flag);
	}
	if (c == OPT_LOOKS) {
		return usage_error(cmd,
				   "flag '%s': its value '%s' looks like a flag (a value "
				   "missing?); "
				   "write %s=%s if it is the value",
				   argv[optind - 2], arg, argv[optind - 2], arg);
	}
	if (c == ':') {
		return usage_error(cmd, "flag '%s' needs a value", arg);
	}
	if (c == OPT_EMPTY) {
		return usage_error(cmd, "flag '--%s' needs a value: an empty one is none",
				   twice_flag);
	}
	/* getopt gives the value of a long flag given a value it takes
	 * none of: `--help=1` is 'h', and was said as "unknown flag '-h'",
	 * `--=` too, taken for the prefix of a flag (round-fifty-three
	 * tester 225). A word taken whole is no '?' of its own: the letter
	 * is a later cluster's. */
	switch (last_opts ? rv_cli_long_given_value(last_opts, arg, optopt) : 0) {
	case 1:
		return usage_error(cmd, "flag '%s' takes no value", arg);
	case 2:
		return usage_error(cmd, "unknown flag '%s'", arg);
	default:
		break;
	}
	if (optopt > 0 && optopt < 256) {
		return usage_error(cmd, "unknown flag '-%c'", optopt);
	}
	if (optopt >= 256) {
		return usage_error(cmd, "flag '%s' takes no value", arg);
	}
	return usage_error(cmd, "unknown flag '%s'", arg);
}

/* ---- ca ---------------------------------------------------------------- */

/* say_waiting tells, before a wait for a CA's lock, what the command waits
 * for (pki/ca.h rv_pki_waiter; |arg| is the command's name): it waited
 * silently, for ever if the other command hung (round-seventy tester
 * 322). */
static void say_waiting(const void *arg, const char *msg)
{
	pki_say("pki %s: %s", (const char *)arg, msg);
}

/* listed: is |serial| one of |list|'s |n| (hex digits, either case)? */
static bool listed(const char *const *list, size_t n, const char *serial)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcasecmp(list[i], serial)) {
			return true;
		}
	}
	return false;
}

/* check_ca_args: after getopt, no stray argument and --ca given (the commands
 * that work on an existing CA). Returns RV_EXIT_OK or the usage exit code. */
static int check_ca_args(const char *cmd, int argc, char **argv, const char *ca_dir)
{
	if (optind < argc) {
		return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	}
	if (ca_dir == NULL) {
		return usage_error(cmd, "--ca DIR is required (a directory made by 'pki ca')");
	}
	return RV_EXIT_OK;
}

static int cmd_ca(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, OPT_OUT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_pki_ca_opts o = { .waiter = { say_waiting, "ca" } };
	const char *out = NULL;
	struct rv_pki_err err = { 0 };
	int c, ret;
	uint32_t seen = 0;

	while ((c = pki_getopt(argc, argv, opts, &seen)) != -1) {
		switch (c) {
		case OPT_OUT:
			out = optarg;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_DAYS:
			if (!parse_days(&o.days, optarg, 1)) {
				return usage_error("ca", "--days '%s' must be a whole number 1..%d",
						   optarg, DAYS_MAX);
			}
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_HELP:
			print_help("ca");
			return RV_EXIT_OK;
		default:
			return getopt_flag_error("ca", c, argv);
		}
	}
	if (optind < argc) {
		return usage_error("ca", "unexpected argument '%s'", argv[optind]);
	}
	if (out == NULL) {
		return usage_error("ca",
				   "--out DIR is required (the directory to create the CA in)");
	}
	ret = rv_pki_ca_create(out, &o, &err);
	if (ret != 0) {
		return pki_failed("ca", ret, &err);
	}
	printf("created CA in %s: %s/ca.crt, %s/ca.key (mode 0600), %s/ca.crl\n", out, out, out,
	       out);
	if (err.msg[0] != '\0') {
		fprintf(stderr, "ringvpn pki ca: %s\n", err.msg); /* the CRL's date cut */
	}
	return RV_EXIT_OK;
}

/* ---- server / client --------------------------------------------------- */

static int cmd_issue(int argc, char **argv, enum rv_pki_cert_kind kind)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, OPT_CA },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "valid-from", required_argument, NULL, OPT_VALID_FROM },
		{ "valid-to", required_argument, NULL, OPT_VALID_TO },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = kind == RV_PKI_CERT_SERVER ? "server" : "client";
	struct rv_pki_issue_opts o;
	struct rv_pki_issued out;
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;
	const char *ca_dir = NULL;
	bool have_days = false, have_range = false;
	int c, days, ret;
	uint32_t seen = 0;

	rv_pki_issue_opts_init(&o, kind, NULL);
	while ((c = pki_getopt(argc, argv, opts, &seen)) != -1) {
		switch (c) {
		case OPT_CA:
			ca_dir = optarg;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_OUT:
			o.out_dir = optarg;
			break;
		case OPT_FILE:
			o.file_base = optarg;
			break;
		case OPT_DAYS:
			if (!parse_days(&days, optarg, -DAYS_MAX) || days == 0) {
				return usage_error(cmd,
						   "--days '%s' must be a non-zero whole number "
						   "-%d..%d (negative: already expired)",
						   optarg, DAYS_MAX, DAYS_MAX);
			}
			/* A negative count issues a certificate that expired |days|
			 * ago after one day of validity: useful for tests. */
			o.not_after_s = (int64_t)days * 86400;
			if (days < 0) {
				o.not_before_s = o.not_after_s - 86400;
			}
			have_days = true;
			break;
		case OPT_VALID_FROM:
		case OPT_VALID_TO:
			if (!parse_offset(c == OPT_VALID_FROM ? &o.not_before_s : &o.not_after_s,
					  optarg)) {
				return usage_error(cmd,
						   "%s '%s' must be a signed offset from now like "
						   "-2d, +12h, 30m, 90s (no unit: days), at most "
						   "%d days either way",
						   c == OPT_VALID_FROM ? "--valid-from"
								       : "--valid-to",
						   optarg, DAYS_MAX);
			}
			have_range = true;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_HELP:
			print_help(cmd);
			return RV_EXIT_OK;
		default:
			return getopt_flag_error(cmd, c, argv);
		}
	}
	if ((c = check_ca_args(cmd, argc, argv, ca_dir)) != RV_EXIT_OK) {
		return c;
	}
	if (o.name == NULL) {
		return usage_error(cmd, "--name is required (%s)",
				   kind == RV_PKI_CERT_SERVER
					   ? "the server's DNS name or IP address"
					   : "the client's common name");
	}
	if (have_days && have_range) {
		return usage_error(cmd, "--days cannot be combined with --valid-from/--valid-to");
	}
	/* Under the CA's lock, taken before the CA is read: one started
	 * just before a `pki ca --force` issued from the old CA, said
	 * "issued", and no peer of the new CA took it (round-seventy tester
	 * 324). */
	ret = rv_pki_ca_open_locked(&ca, ca_dir, false, &(struct rv_pki_waiter){ say_waiting, cmd },
				    &err);
	if (ret != 0) {
		return pki_failed(cmd, ret, &err);
	}
	ret = rv_pki_issue(ca, &o, &out, &err);
	rv_pki_ca_free(ca);
	if (ret != 0) {
		return pki_failed(cmd, ret, &err);
	}
	printf("issued %s certificate for %s (serial %s): %s, %s (mode 0600)\n", cmd, o.name,
	       out.serial, out.crt, out.key);
	if (out.cut_to != 0) {
		char when[32];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
			 gmtime_r(&(time_t){ (time_t)out.cut_to }, &tm));
		fprintf(stderr,
			"ringvpn pki %s: valid only until %s, when the CA ends: a certificate "
			"cannot outlive its CA\n",
			cmd, when);
	}
	return RV_EXIT_OK;
}

static int cmd_server(int argc, char **argv)
{
	return cmd_issue(argc, argv, RV_PKI_CERT_SERVER);
}

static int cmd_client(int argc, char **argv)
{
	return cmd_issue(argc, argv, RV_PKI_CERT_CLIENT);
}

/* ---- revoke / crl ------------------------------------------------------ */

static int cmd_revoke_or_crl(int argc, char **argv, bool revoke)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "unrevoke", required_argument, NULL, OPT_UNREVOKE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = revoke ? "revoke" : "crl";
	const char *ca_dir = NULL, *cert = NULL, *serial = NULL;
	struct rv_pki_err err = { 0 };
	struct rv_pki_ca *ca;
	const char *lift[RV_PKI_LIFT_MAX];
	size_t num_lift = 0;
	struct rv_pki_revoked done;
	int c, days = 0, ret;
	uint32_t seen = 0;

	while ((c = pki_getopt(argc, argv, opts, &seen)) != -1) {
		switch (c) {
		case OPT_CA:
			ca_dir = optarg;
			break;
		case OPT_CERT:
		case OPT_SERIAL:
			if (!revoke) {
				return usage_error(cmd,
						   "--cert and --serial belong to 'pki revoke'");
			}
			*(c == OPT_CERT ? &cert : &serial) = optarg;
			break;
		case OPT_DAYS:
			if (!parse_days(&days, optarg, 1)) {
				return usage_error(cmd, "--days '%s' must be a whole number 1..%d",
						   optarg, DAYS_MAX);
			}
			break;
		case OPT_UNREVOKE:
			if (revoke) {
				return usage_error(cmd, "--unrevoke belongs to 'pki crl'");
			}
			if (num_lift == RV_PKI_LIFT_MAX) {
				return usage_error(cmd, "at most %d --unrevoke at once",
						   RV_PKI_LIFT_MAX);
			}
			/* The same serial twice is one lift (it was said lifted
			 * twice: round-fifty tester 223's nit). */
			if (!listed(lift, num_lift, optarg)) {
				lift[num_lift++] = optarg;
			}
			break;
		case OPT_HELP:
			print_help(cmd);
			return RV_EXIT_OK;
		default:
			return getopt_flag_error(cmd, c, argv);
		}
	}
	if ((c = check_ca_args(cmd, argc, argv, ca_dir)) != RV_EXIT_OK) {
		return c;
	}
	if (revoke && (cert == NULL) == (serial == NULL)) {
		return usage_error(cmd, "give exactly one of --cert FILE or --serial HEX");
	}
	/* The lock before the CA is read: read first, beside a `pki ca
	 * --force`, it was a new key beside the old certificate, refused as
	 * not belonging to it (exit 13 in 35 ms, no wait: round-seventy
	 * tester 324). */
	ret = rv_pki_ca_open_locked(&ca, ca_dir, true, &(struct rv_pki_waiter){ say_waiting, cmd },
				    &err);
	if (ret != 0) {
		return pki_failed(cmd, ret, &err);
	}
	if (!revoke) {
		ret = rv_pki_crl_update(ca, days, lift, num_lift, &err);
	} else if (cert != NULL) {
		ret = rv_pki_revoke(ca, cert, days, &done, &err);
	} else {
		ret = rv_pki_revoke_serial(ca, serial, days, &done, &err);
	}
	rv_pki_ca_free(ca);
	if (ret != 0) {
		return pki_failed(cmd, ret, &err);
	}
	if (err.msg[0] != '\0') {
		/* A note from a success (a CRL numbered afresh). */
		fprintf(stderr, "ringvpn pki %s: %s\n", cmd, err.msg);
	}
	if (revoke && cert != NULL) {
		/* Which certificate of the file (it named the file alone:
		 * tester 322). */
		printf("%s %s (serial %s, %s); CRL updated: %s/ca.crl\n", cert,
		       done.already ? "was already revoked" : "revoked", done.serial, done.subject,
		       ca_dir);
	} else if (revoke) {
		printf("%s %s; CRL updated: %s/ca.crl\n", serial,
		       done.already ? "was already revoked" : "revoked", ca_dir);
	} else {
		printf("CRL updated: %s/ca.crl\n", ca_dir);
		for (size_t i = 0; i < num_lift; i++) {
			printf("revocation lifted: serial %s\n", lift[i]);
		}
	}
	return RV_EXIT_OK;
}

static int cmd_revoke(int argc, char **argv)
{
	return cmd_revoke_or_crl(argc, argv, true);
}

static int cmd_crl(int argc, char **argv)
{
	return cmd_revoke_or_crl(argc, argv, false);
}

/* ---- show / verify ----------------------------------------------------- */

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_pki_err err = { 0 };
	int c;
	uint32_t seen = 0;

	while ((c = pki_getopt(argc, argv, opts, &seen)) != -1) {
		if (c == OPT_HELP) {
			print_help("show");
			return RV_EXIT_OK;
		}
		return getopt_flag_error("show", c, argv);
	}
	if (optind >= argc) {
		return usage_error("show", "name at least one certificate or CRL file");
	}
	/* Every file is shown; the first failure's code is the exit's (a key
	 * file among them stopped the list: round-eleven tester 51). */
	int code = RV_EXIT_OK;

	for (int i = optind; i < argc; i++) {
		if (i > optind) {
			printf("\n");
		}
		int ret = rv_pki_show(stdout, argv[i], &err);

		/* Why a write failed (in the show's own flush) is kept for
		 * main's message, by which errno has changed (it said no
		 * reason: round-eleven tester 51). */
		if (fflush(stdout) == EOF || ferror(stdout)) {
			rv_cli_output_failed(errno);
		}

		if (ret != 0) {
			int failed = pki_failed("show", ret, &err);

			code = code == RV_EXIT_OK ? failed : code;
			err = (struct rv_pki_err){ 0 };
		}
	}
	return code;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, OPT_CA },
		{ "crl", required_argument, NULL, OPT_CRL },
		{ "no-crl", no_argument, NULL, OPT_NO_CRL },
		{ "purpose", required_argument, NULL, OPT_PURPOSE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	enum rv_pki_purpose purpose = RV_PKI_PURPOSE_ANY;
	const char *ca_dir = NULL, *crl = NULL, *host = NULL;
	char ca_crt[PATH_MAX], def_crl[PATH_MAX];
	struct rv_pki_err err = { 0 };
	bool no_crl = false;
	int c, n, ret, lock;
	uint32_t seen = 0;

	while ((c = pki_getopt(argc, argv, opts, &seen)) != -1) {
		switch (c) {
		case OPT_CA:
			ca_dir = optarg;
			break;
		case OPT_CRL:
			crl = optarg;
			break;
		case OPT_NO_CRL:
			no_crl = true;
			break;
		case OPT_NAME:
			host = optarg;
			break;
		case OPT_PURPOSE:
			if (strcmp(optarg, "server") == 0) {
				purpose = RV_PKI_PURPOSE_SERVER;
			} else if (strcmp(optarg, "client") == 0) {
				purpose = RV_PKI_PURPOSE_CLIENT;
			} else if (strcmp(optarg, "any") == 0) {
				purpose = RV_PKI_PURPOSE_ANY;
			} else {
				return usage_error("verify",
						   "--purpose '%s' must be server, client or any",
						   optarg);
			}
			break;
		case OPT_HELP:
			print_help("verify");
			return RV_EXIT_OK;
		default:
			return getopt_flag_error("verify", c, argv);
		}
	}
	if (ca_dir == NULL) {
		return usage_error("verify", "--ca DIR is required");
	}
	if (argc - optind != 1) {
		return usage_error("verify", "name exactly one certificate file to verify");
	}
	if (crl != NULL && no_crl) {
		return usage_error("verify", "--crl and --no-crl exclude each other");
	}
	if ((ret = rv_pki_ca_dir_check(ca_dir, &err)) != 0) {
		return pki_failed("verify", ret, &err);
	}
	n = snprintf(ca_crt, sizeof(ca_crt), "%s/%s", ca_dir, RV_PKI_CA_CRT);
	if (n < 0 || (size_t)n >= sizeof(ca_crt) ||
	    snprintf(def_crl, sizeof(def_crl), "%s/%s", ca_dir, RV_PKI_CA_CRL) >=
		    (int)sizeof(def_crl)) {
		return usage_error("verify", "--ca path is too long");
	}
	/* By default the CA's own CRL is checked, as a server configured with
	 * it would; --no-crl skips revocation. */
	if (crl == NULL && !no_crl) {
		crl = def_crl;
	}
	/* Under the CA's lock, refusing a CA a `pki ca` was cut short in, as
	 * the other commands do: verify alone took its files as they were
	 * (round-seventy-one tester 328). */
	lock = rv_pki_ca_lock_whole(ca_dir, &(struct rv_pki_waiter){ say_waiting, "verify" }, &err);
	if (lock < 0 && lock != -ENOLCK) {
		return pki_failed("verify", lock, &err);
	}
	ret = rv_pki_verify(ca_crt, crl, argv[optind], purpose, host, &err);
	if (lock >= 0) {
		close(lock);
	}
	if (ret != 0) {
		return pki_failed("verify", ret, &err);
	}
	printf("%s: OK\n", argv[optind]);
	return RV_EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct pki_cmd pki_cmds[] = {
	{ "ca", cmd_ca, "--out DIR [--name NAME] [--days N] [--force]",
	  "Create a certificate authority in DIR: ca.crt, ca.key (0600), an empty ca.crl\n"
	  "and revoked.txt. NAME is the CA's common name (default \"" RV_PKI_CA_NAME_DEFAULT
	  "\"),\nN its validity in days (default 3650). An existing ca.key is never replaced\n"
	  "without --force." },
	{ "server", cmd_server,
	  "--ca DIR --name DNSNAME|IP [--out DIR] [--file BASE]\n"
	  "                          [--days N | --valid-from T --valid-to T] [--force]",
	  "Issue a server certificate (ECDSA P-256, EKU serverAuth, subjectAltName DNS:NAME\n"
	  "or IP:NAME) signed by the CA in DIR. Writes OUT/BASE.crt and OUT/BASE.key (0600);\n"
	  "OUT defaults to '.', BASE to NAME (an IPv6 address, whose ':' is kept out of\n"
	  "file names, needs --file). Validity: N days from now (default 825; a\n"
	  "negative N gives an already expired certificate), or from T to T where T is an\n"
	  "offset from now such as -2d, +12h, 30m, 90s. Existing files are never replaced\n"
	  "without --force." },
	{ "client", cmd_client,
	  "--ca DIR --name CN [--out DIR] [--file BASE]\n"
	  "                          [--days N | --valid-from T --valid-to T] [--force]",
	  "Issue a client certificate (ECDSA P-256, EKU clientAuth, subject CN) signed by\n"
	  "the CA in DIR. CN: 1..64 of letters, digits, '.', '_', '-', '@'. Writes\n"
	  "OUT/BASE.crt and OUT/BASE.key (0600); OUT defaults to '.', BASE to CN.\n"
	  "Validity: N days from now (default 825; a negative N gives an already expired\n"
	  "certificate), or from T to T where T is an offset from now such as -2d, +12h,\n"
	  "30m, 90s. Existing files are never replaced without --force." },
	{ "revoke", cmd_revoke, "--ca DIR (--cert FILE | --serial HEX) [--days N]",
	  "Revoke a certificate issued by the CA in DIR: add it to DIR/revoked.txt and\n"
	  "re-sign DIR/ca.crl (next update in N days, default 30, at most at the CA's\n"
	  "end; CRL number + 1). FILE holds that certificate alone; one whose serial\n"
	  "is zero, negative or longer than 20 octets is refused (no peer takes it)." },
	{ "crl", cmd_crl, "--ca DIR [--days N] [--unrevoke SERIAL]...",
	  "Re-sign DIR/ca.crl from DIR/revoked.txt (do this before its next update, every\n"
	  "N days, default 30, or at the CA's end if it comes first). An empty CRL is\n"
	  "valid. A serial the current CRL revokes and revoked.txt no longer lists is\n"
	  "refused (the index lost lines) unless named by --unrevoke: its revocation is\n"
	  "lifted on purpose (remove its line first). A revocation of a serial\n"
	  "revoked.txt cannot list (zero, negative, over 20 octets: another tool's) is\n"
	  "carried over into every new CRL." },
	{ "show", cmd_show, "FILE...",
	  "Print subject, issuer, serial, validity, SANs and usages of a certificate, or\n"
	  "the revoked serials of a CRL; of every one a file holds (\"object: i of n\"),\n"
	  "in the file's order. A file with a damaged block is refused whole." },
	{ "verify", cmd_verify,
	  "--ca DIR [--crl FILE | --no-crl] [--purpose server|client|any] [--name HOST] FILE",
	  "Check FILE as a peer would: signed by the CA in DIR, within its validity, not\n"
	  "revoked in DIR/ca.crl (or --crl FILE), fit for the purpose (any: a server's or\n"
	  "a client's; its key usage and key able to sign a handshake) and, with --name,\n"
	  "issued for HOST. Exit 0 if valid, 4 if rejected or unreadable, 7 if a file or\n"
	  "the CA directory is missing, 2 on a usage error." },
};

static const struct pki_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(pki_cmds); i++) {
		if (strcmp(pki_cmds[i].name, name) == 0) {
			return &pki_cmds[i];
		}
	}
	return NULL;
}

static void pki_usage(FILE *f)
{
	fprintf(f, "usage: ringvpn pki <command> [flags]   ('ringvpn pki <command> --help')\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(pki_cmds); i++) {
		fprintf(f, "  %-7s %s\n", pki_cmds[i].name, pki_cmds[i].usage);
	}
}

int rv_cmd_pki(int argc, char **argv)
{
	const struct pki_cmd *c;

	if (argc < 2) {
		pki_usage(stderr);
		return RV_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		pki_usage(stdout);
		return RV_EXIT_OK;
	}
	c = find_cmd(argv[1]);
	if (c == NULL) {
		pki_say("pki: unknown command '%s' (see 'ringvpn pki --help')", argv[1]);
		return RV_EXIT_USAGE;
	}
	/* optind = 0 makes glibc getopt start over, so rv_cmd_pki can run more
	 * than once in a process (tests do); opterr = 0 because we word the
	 * messages ourselves, naming the subcommand. */
	optind = 0;
	opterr = 0;
	return c->fn(argc - 1, argv + 1);
}
