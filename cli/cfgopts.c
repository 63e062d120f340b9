/*
 * cfgopts.c — command-line and config-file handling shared by the server
 * and client commands (see cfgopts.h).
 *
 * Every config key is also a flag: --KEY VALUE, with '_' spelled '-'
 * (e.g. --dead-peer-timeout 30). Flags override the file. Repeatable keys
 * given as flags add to the file's entries, but for `server`, whose first
 * flag replaces the file's list (core/config.c, rv_config_set).
 */
#include "cli/cfgopts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli/exit.h"
#include "cli/say.h"
#include "cli/sandbox.h"
#include "core/demux.h"
#include "core/file.h"
#include "core/log.h"
#include "core/qsbr.h"
#include "core/wire.h"
#include "tls/crlstate.h"
#include "tls/leasefile.h"
#include "tls/loop.h"
#include "uring/dataplane.h"
#include "uring/holder.h"
#include "uring/ring.h"
#include "uring/rtnl.h"
#include "uring/tun.h"

enum { OPT_MAX_ATTEMPTS = 1000, OPT_KEY_BASE = 1100 };

/* Threads that may read the session tables: the data-plane workers (at
 * most 256, see set_workers in core/config.c). */
enum { QSBR_MAX_READERS = 256 };

/* flag_name writes key |name| as a flag name ('_' -> '-'). */
static void flag_name(char *out, size_t out_len, const char *name)
{
	snprintf(out, out_len, "%s", name);
	for (char *p = out; *p; p++) {
		*p = *p == '_' ? '-' : *p;
	}
}

/* sentence_end returns the ". " that ends |doc|'s first sentence, or NULL:
 * not the one of an "e.g." or "i.e." (the summary of pin_workers ended at
 * "e.g."). */
static const char *sentence_end(const char *doc)
{
	const char *end = doc;

	while ((end = strstr(end, ". ")) != NULL) {
		if (end - doc < 3 ||
		    (strncmp(end - 3, "e.g", 3) != 0 && strncmp(end - 3, "i.e", 3) != 0)) {
			return end;
		}
		end += 2;
	}
	return NULL;
}

/* print_summary prints the first sentence of |doc| (up to ". " or the end),
 * wrapped at 78 columns with |indent| blanks on continuation lines. */
static void print_summary(FILE *f, const char *doc, size_t col, size_t indent)
{
	const char *end = sentence_end(doc);
	size_t len = end ? (size_t)(end - doc) + 1 : strlen(doc);

	for (size_t i = 0; i < len;) {
		size_t w = strcspn(doc + i, " ");

		if (w > len - i) {
			w = len - i;
		}
		if (col + 1 + w > 78 && col > indent) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		}
		fprintf(f, "%s%.*s", col > indent ? " " : "", (int)w, doc + i);
		col += w + (col > indent ? 1 : 0);
		i += w;
		while (i < len && doc[i] == ' ') {
			i++;
		}
	}
	fputc('\n', f);
}

/* usage prints the help of |role|: the fixed options, then one entry per
 * config key of the role from the key table (core/config_keys.def): the flag,
 * its value form, default, and the first sentence of its documentation. */
static void usage(FILE *f, enum rv_config_role role)
{
	const char *cmd = rv_config_role_name(role);
	int section = -1;

	fprintf(f, "Usage: ringvpn %s -c FILE [-n] [--KEY VALUE ...]\n\n", cmd);
	fprintf(f, "  -c, --config FILE   configuration file (see ringvpn.conf(5))\n");
	fprintf(f, "  -n, --check         check the configuration and certificates, then exit\n");
	if (role == RV_CONFIG_CLIENT) {
		fprintf(f,
			"  --max-attempts N    give up after N failed connection attempts in a "
			"row\n                      (a session that ends within 10 s counts as "
			"one;\n                      the last failure's exit code: %d TLS, %d "
			"network,\n                      %d protocol...); default, or 0: never\n",
			RV_EXIT_TLS, RV_EXIT_NET, RV_EXIT_PROTOCOL);
	}
	fprintf(f, "  -h, --help          this help\n\n");
	/* --server is a client's key: the server's help named it (round
	 * sixty-eight tester 301). */
	fprintf(f,
		"Every config key can be given as a flag overriding the file, with '_' "
		"written '-'\n(repeatable keys add to the file's entries%s):\n",
		role == RV_CONFIG_CLIENT ? ", but the first --server replaces\nthe file's servers"
					 : "");
	for (size_t i = 0; i < rv_config_num_keys(); i++) {
		const struct rv_config_key *k = rv_config_key_at(i);
		char flag[64], def[256];

		if (!(k->roles & role)) {
			continue;
		}
		if ((int)k->section != section) {
			section = (int)k->section;
			fprintf(f, "\n %s:\n", rv_config_section_title(k->section));
		}
		flag_name(flag, sizeof(flag), k->name);
		/* A value of several words is one argument: shown quoted
		 * (`--fixed NAME IPV4` was typed as three: tester 194). */
		fprintf(f, strchr(k->syntax, ' ') ? "  --%s \"%s\"" : "  --%s %s", flag, k->syntax);
		if (k->def) {
			rv_config_expand(def, sizeof(def), k->def, role);
			fprintf(f, " (default %s)", def);
		} else if (k->flags & RV_CONFIG_KEY_REQUIRED) {
			fprintf(f, " (required)");
		}
		if (k->flags & RV_CONFIG_KEY_REPEAT) {
			fprintf(f, " (repeatable)");
		}
		fprintf(f, "\n     ");
		print_summary(f, k->doc, 5, 5);
	}
	static const struct {
		int code;
		const char *name;
	} exits[] = {
#define RV_EXIT_HELP(name, code, orig, meaning) { code, #name },
		RV_EXIT_CODES(RV_EXIT_HELP)
#undef RV_EXIT_HELP
	};
	size_t col = 1;

	fprintf(f, "\nExit codes (see ringvpn(8)):\n ");
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
		if (col + strlen(exits[i].name) + 5 > 78) {
			fprintf(f, "\n ");
			col = 1;
		}
		col += (size_t)fprintf(f, " %d %s%s", exits[i].code, exits[i].name,
				       i + 1 < sizeof(exits) / sizeof(exits[0]) ? "," : ".\n");
	}
}

/* load applies the -c file and the flag overrides to |cfg| (defaults
 * already in it) and validates. Returns 0, -E2BIG for a bad flag value, or
 * another -errno for the file or validation, with why in |err|. */
/* say_if_others_config warns when root runs a config file that another
 * user owns or that a group other than root's may write: that user or
 * group decides what root runs (one writable by everyone is refused by
 * rv_config_load). */
static void say_if_others_config(const char *path)
{
	struct stat st;
	char why[PATH_MAX + 64];

	if (geteuid() != 0 || stat(path, &st) != 0) {
		return;
	}
	/* Another user's link or directory on the way lets that user name
	 * another file at the next reload, whatever this one's mode (a
	 * round-three tester). */
	if (rv_path_stranger(path, 0, why, sizeof(why))) {
		rv_cli_say_warnf("config file %s: %s, who can swap it for a file of "
				 "their own and so decide what this process, run as root, does",
				 path, why);
	}
	if (st.st_uid != 0) {
		rv_cli_say_warnf("config file %s belongs to uid %u: that user decides "
				 "what this process, run as root, does (chown root it)",
				 path, (unsigned)st.st_uid);
	} else if ((st.st_mode & S_IWGRP) && st.st_gid != 0) {
		rv_cli_say_warnf("config file %s is writable by group %u (mode %04o): its "
				 "members decide what this process, run as root, does (chmod g-w "
				 "it)",
				 path, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	} else if (getxattr(path, "system.posix_acl_access", NULL, 0) > 0) {
		/* The mode bits do not tell who an ACL lets write (a
		 * round-two tester gave nobody write so, unsaid). */
		rv_cli_say_warnf("config file %s has an access ACL ('+' in ls -l): whoever "
				 "it lets write decides what this process, run as root, does "
				 "(getfacl it; setfacl -b to remove it)",
				 path);
	}
}

/* scratch_load loads |path| (NULL: none) over the defaults of |role| into a
 * configuration of its own, validated too with |validate|, its warnings
 * held back: they were said at the real load, or are about a file read
 * only to learn something of it (said twice: round-forty-two tester 205).
 * NULL when it does not load or validate, the reason in |why| (may be
 * NULL); the caller frees it. */
static struct rv_config *scratch_load(enum rv_config_role role, const char *path, bool validate,
				      char *why, size_t why_len)
{
	struct rv_config *t = malloc(sizeof(*t));
	enum rv_log_level level = rv_log_get_level();
	char e[900] = "";
	bool ok;

	if (!t) {
		return NULL;
	}
	rv_log_set_level(RV_LOG_FATAL);
	rv_config_defaults(t, role);
	ok = (!path || rv_config_load(t, path, e, sizeof(e)) == 0) &&
	     (!validate || rv_config_validate(t, e, sizeof(e)) == 0);
	rv_log_set_level(level);
	if (!ok) {
		if (why) {
			snprintf(why, why_len, "%s", e);
		}
		free(t);
		return NULL;
	}
	return t;
}

/* flags_blamed: is the error |why| of the file (or the defaults) with the
 * command line's flags the flags' doing? When the file alone is fine;
 * and when it is not, but |why| names no line of the file and is not the
 * file's own error (a flag's network marked override, a flag's route in a
 * block not routed, while the file alone breaks a rule the flags mend:
 * the file was blamed, exit 3, for the flags' network: round-sixty-two
 * tester 257). */
static bool flags_blamed(const struct rv_cli_opts *opts, const char *why)
{
	char alone[900];
	struct rv_config *t =
		scratch_load(opts->role, opts->config_path, true, alone, sizeof(alone));
	bool alone_ok = t != NULL;
	unsigned line;
	int n = 0;

	free(t);
	if (alone_ok) {
		return true;
	}
	return !(sscanf(why, "line %u: %n", &line, &n) == 1 && n > 0) && strcmp(alone, why) != 0;
}

void rv_cli_file_error(char *out, size_t len, const char *path, const char *why)
{
	unsigned line;
	int n = 0;

	if (!path) {
		snprintf(out, len, "%s", why);
	} else if (sscanf(why, "line %u: %n", &line, &n) == 1 && n > 0) {
		snprintf(out, len, "%s:%u: %s", path, line, why + n);
	} else {
		snprintf(out, len, "%s: %s", path, why);
	}
}

static int load(struct rv_config *cfg, const struct rv_cli_opts *opts, char *err, size_t err_len)
{
	char why[900];
	int ret;

	if (opts->config_path) {
		ret = rv_config_load(cfg, opts->config_path, err, err_len);
		if (ret) {
			return ret;
		}
		say_if_others_config(opts->config_path);
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
		/* The flags' doing when the file alone is fine: said so,
		 * with the usage code (the file was blamed, exit 3: a route
		 * given twice by --route, pool4 and pool6 both none by
		 * flags; round-eleven tester 51). */
		if (opts->num_overrides > 0 && flags_blamed(opts, why)) {
			snprintf(err, err_len, "the command line's flags%s%s: %s",
				 opts->config_path ? " with " : "",
				 opts->config_path ? opts->config_path : "", why);
			return -E2BIG;
		}
		/* No file to blame: the command line's (exit 3, "bad config
		 * file", was said of none, or 2 or 3 by the flags given:
		 * round-sixty-four tester 262). */
		if (!opts->config_path) {
			snprintf(err, err_len, "%s: %s",
				 opts->num_overrides > 0 ? "the command line's flags (no -c FILE)"
							 : "no -c FILE and no flags",
				 why);
			return -E2BIG;
		}
		rv_cli_file_error(err, err_len, opts->config_path, why);
		return -EINVAL;
	}
	return 0;
}

/* flag_given: has a flag for |key| been recorded already? */
static bool flag_given(const struct rv_cli_opts *opts, const char *key)
{
	for (size_t j = 0; j < opts->num_overrides; j++) {
		if (strcmp(opts->overrides[j].key, key) == 0) {
			return true;
		}
	}
	return false;
}

/* struct split remembers a flag whose value of several words was typed as
 * several arguments: the words after it, to suggest the quoted form. */
struct split {
	const struct rv_config_key *key;
	const char *flag, *first;
	const char *next[16]; /* the words after it, up to the next option */
	int num_next;
};

/* split_suggest writes into |out| the value |s|'s flag was likely meant to
 * have: its argument and the most words after it that the key's own parser
 * takes (a subnet's networks are as many as given: round-forty tester 199).
 * Empty when none does, or a word could not be pasted inside double quotes
 * as it is (`!` is bash's history): no suggestion is better than a wrong
 * one (the words of every later flag were joined in, and a stray word:
 * round-forty tester 195). */
static void split_suggest(char *out, size_t len, const struct split *s, enum rv_config_role role)
{
	struct rv_config *scratch = malloc(sizeof(*scratch));
	enum rv_log_level level = rv_log_get_level();
	char err[256];

	out[0] = '\0';
	if (!scratch) {
		return;
	}
	/* The parser's warnings are about a value nobody gave. */
	rv_log_set_level(RV_LOG_FATAL);
	for (int w = s->num_next; w > 0; w--) {
		size_t n = (size_t)snprintf(out, len, "%s", s->first);
		bool shown = true;

		for (int i = 0; i < w && n < len; i++) {
			n += (size_t)snprintf(out + n, len - n, " %s", s->next[i]);
		}
		for (const char *c = out; n < len && *c; c++) {
			shown = shown && *c >= 0x20 && *c != 0x7f && !strchr("\"$`\\!", *c);
		}
		rv_config_defaults(scratch, role);
		if (n < len && shown &&
		    rv_config_set(scratch, s->flag, s->key->name, out, err, sizeof(err)) == 0) {
			goto out;
		}
	}
	out[0] = '\0';
out:
	rv_log_set_level(level);
	free(scratch);
}

/* cluster walks the short options run together in argv[*i] (-nc FILE,
 * -ncFILE, -hn): sets *check at an 'n' before any 'c', and returns -c's
 * value (the rest of the argument, or the next one, *i moved past it), or
 * NULL (round-forty-four tester 209). */
static const char *cluster(int argc, char **argv, int *i, bool *check)
{
	const char *a = argv[*i];

	for (size_t k = 1; a[0] == '-' && a[1] != '-' && a[k]; k++) {
		if (a[k] == 'n') {
			*check = true;
		} else if (a[k] == 'c') {
			return a[k + 1] ? a + k + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		}
	}
	return NULL;
}

/* abbreviated says a long option written as a prefix of its name
 * (getopt_long takes "--conf" for --config): the scans made before the
 * command line is parsed (the log's form, -n, the file's log_format) know
 * whole names only, and a prefix that names one option today may name two
 * tomorrow (round-forty-four tester 209). */
static bool abbreviated(int argc, char **argv, const struct option *lopts)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i], *whole = NULL;
		size_t n;
		unsigned matches = 0;
		bool exact = false, check = false;

		if (a[0] == '-' && a[1] != '-') {
			(void)cluster(argc, argv, &i, &check); /* -c's file is no option */
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			continue;
		}
		n = strcspn(a + 2, "=");
		if (n == 0) {
			continue; /* "--=x": no name; getopt says it */
		}
		for (const struct option *o = lopts; o->name && !exact; o++) {
			if (!strncmp(o->name, a + 2, n)) {
				exact = strlen(o->name) == n;
				matches++;
				whole = exact || whole ? whole : o->name;
				if (exact && o->has_arg == required_argument && !a[2 + n]) {
					i++; /* its value, whatever it looks like */
				}
			}
		}
		if (!exact && matches == 1) {
			rv_cli_say_errf("%.*s: write the option's whole name (--%s, or see --help)",
					(int)(n + 2), a, whole);
			return true;
		}
		if (!exact && matches > 1) {
			rv_cli_say_errf("%.*s: write the option's whole name (%u options begin so: "
					"see --help)",
					(int)(n + 2), a, matches);
			return true;
		}
	}
	return false;
}

int rv_cli_parse(struct rv_config *cfg, struct rv_cli_opts *opts, enum rv_config_role role,
		 int argc, char **argv)
{
	struct option lopts[RV_CONFIG_MAX_KEYS + 8];
	/* Flag names; the recorded overrides keep pointers into them. */
	static char names[RV_CONFIG_MAX_KEYS][32];
	size_t nkeys = rv_config_num_keys(), nl = 0;
	bool max_attempts_given = false;
	struct split split = { 0 };
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
	for (size_t i = 0; i < nkeys; i++) {
		if (!(rv_config_key_at(i)->roles & role)) {
			continue;
		}
		flag_name(names[i], sizeof(names[i]), rv_config_key_at(i)->name);
		lopts[nl++] =
			(struct option){ names[i], required_argument, NULL, OPT_KEY_BASE + (int)i };
	}
	lopts[nl] = (struct option){ NULL, 0, NULL, 0 };
	if (abbreviated(argc, argv, lopts)) {
		return RV_EXIT_USAGE;
	}

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:nh", lopts, NULL)) != -1) {
		/* getopt takes the next word as a value whatever it is:
		 * `--tun --bogus` started a server on a TUN named "--bogus"
		 * (round-forty-eight tester 217). A value that looks like a
		 * long option is a missing one; the =-form still gives it. */
		if (c != ':' && c != '?' && rv_cli_value_looks_like_option(argv, optind, optarg)) {
			const char *flag = c == 'c' && strncmp(argv[optind - 2], "--", 2) != 0
						   ? "-c" /* of a cluster, -nc */
						   : argv[optind - 2];

			rv_cli_say_errf("%s: its value '%s' looks like an option (a value "
					"missing?); write %s=%s if it is the value",
					flag, optarg, c == 'c' ? "--config" : flag, optarg);
			return RV_EXIT_USAGE;
		}
		switch (c) {
		case 'c':
			if (opts->config_path) {
				/* The last one was taken: one file was read, and
				 * which was not said. */
				rv_cli_say_errf("-c given twice (one config file)");
				return RV_EXIT_USAGE;
			}
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

			/* strtoul takes blanks and a sign first: " -1" was "more
			 * than 1000000" (tester 138). */
			if (*end || optarg[0] < '0' || optarg[0] > '9') {
				rv_cli_say_errf("--max-attempts: '%s' is not a count", optarg);
				return RV_EXIT_USAGE;
			}
			/* Said as the bound it is (it was "not a count":
			 * round-twenty-eight tester 137). */
			if (v > 1000000) {
				rv_cli_say_errf("--max-attempts: %s is more than 1000000 (0: never "
						"give up)",
						optarg);
				return RV_EXIT_USAGE;
			}
			/* The last one was taken silently (round-eleven
			 * tester 51), as the file's keys' flags were. */
			if (max_attempts_given) {
				rv_cli_say_errf("--max-attempts given twice");
				return RV_EXIT_USAGE;
			}
			max_attempts_given = true;
			opts->max_attempts = (unsigned)v;
			break;
		}
		case ':':
			rv_cli_say_errf("option %s needs a value (see --help)", argv[optind - 1]);
			return RV_EXIT_USAGE;
		case '?': {
			/* A key of the other role's: said so, as the file says
			 * it (it was "unknown option": round-twenty-six tester
			 * 122). */
			const char *arg = argv[optind - 1];
			char key[64];
			const struct rv_config_key *k = NULL;

			/* A letter of a cluster (-xn): getopt has not moved
			 * past it, and the argument before was named (round-
			 * forty-five tester 210). Not a letter of ours: that is
			 * --check=yes, a value where none is taken (tester
			 * 211). */
			if (optopt != 0 && !strchr("cnh", optopt)) {
				rv_cli_unknown_letter(NULL, optopt);
				return RV_EXIT_USAGE;
			}
			if (!strncmp(arg, "--", 2) && strlen(arg + 2) < sizeof(key)) {
				snprintf(key, sizeof(key), "%s", arg + 2);
				*strchrnul(key, '=') = '\0';
				for (char *d = key; *d; d++) {
					*d = *d == '-' ? '_' : *d;
				}
				k = rv_config_key_find(key);
			}
			if (k && !(k->roles & role)) {
				rv_cli_say_errf("%s is not a %s setting (see --help)", arg,
						role == RV_CONFIG_SERVER ? "server" : "client");
			} else {
				rv_cli_say_errf("unknown option %s (see --help)", arg);
			}
			return RV_EXIT_USAGE;
		}
		default:
			if (c >= OPT_KEY_BASE && c < OPT_KEY_BASE + (int)nkeys &&
			    opts->num_overrides < RV_CLI_MAX_OVERRIDES) {
				size_t k = (size_t)(c - OPT_KEY_BASE);

				/* As in the file: a key that does not add up is
				 * given once (the last one was taken, silently). */
				if (!(rv_config_key_at(k)->flags & RV_CONFIG_KEY_REPEAT) &&
				    flag_given(opts, rv_config_key_at(k)->name)) {
					rv_cli_say_errf("--%s given twice", names[k]);
					return RV_EXIT_USAGE;
				}
				/* A value of several words typed unquoted leaves
				 * its rest as stray arguments: remembered to say
				 * so below (getopt has not moved the words after
				 * it yet). */
				if (!split.key && strchr(rv_config_key_at(k)->syntax, ' ') &&
				    !strchr(optarg, ' ') && optind < argc &&
				    argv[optind][0] != '-') {
					split.key = rv_config_key_at(k);
					split.flag = names[k];
					split.first = optarg;
					for (int i = optind;
					     i < argc && argv[i][0] != '-' && split.num_next < 16;
					     i++) {
						split.next[split.num_next++] = argv[i];
					}
				}
				opts->overrides[opts->num_overrides].key =
					rv_config_key_at(k)->name;
				opts->overrides[opts->num_overrides].flag = names[k];
				opts->overrides[opts->num_overrides].value = optarg;
				opts->num_overrides++;
				break;
			}
			rv_cli_say_errf("too many options");
			return RV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		bool split_here = split.key && argv[optind] == split.next[0];
		char want[256] = "";

		if (split_here) {
			split_suggest(want, sizeof(want), &split, role);
		}
		if (want[0]) {
			rv_cli_say_errf("unexpected argument '%s': --%s takes its value as one "
					"argument (--%s \"%s\")",
					argv[optind], split.flag, split.flag, want);
		} else if (split_here) {
			rv_cli_say_errf("unexpected argument '%s': --%s takes its value as one "
					"argument, quoted (see --help)",
					argv[optind], split.flag);
		} else {
			rv_cli_say_errf("unexpected argument '%s' (see --help)", argv[optind]);
		}
		return RV_EXIT_USAGE;
	}
	switch (load(cfg, opts, err, sizeof(err))) {
	case 0:
		return -1;
	case -E2BIG: /* a flag's value */
		rv_cli_say_err(err);
		return RV_EXIT_USAGE;
	default:
		rv_cli_say_err(err);
		return RV_EXIT_CONFIG;
	}
}

int rv_cli_load_config(void *ctx, struct rv_config *out, char *err, size_t err_len)
{
	const struct rv_cli_opts *opts = ctx;

	rv_config_defaults(out, opts->role);
	return load(out, opts, err, err_len);
}

/* dir_errno: 0 when the directory part of |path| (".": none) is a
 * directory, ENOTDIR when it is something else, else stat's errno. */
static int dir_errno(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL) {
		return 0;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir[0] ? dir : "/", &st) != 0) {
		return errno;
	}
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* dir_exists: is the directory part of |path| a directory? */
static bool dir_exists(const char *path)
{
	return dir_errno(path) == 0;
}

/* fs_of fills |vfs| for the file system of |path| (when it exists: a
 * read-only bind mount of the file itself) or of the directory it would
 * be in; false when neither can be looked at. |*exists|: |path| was. */
static bool fs_of(const char *path, struct statvfs *vfs, bool *exists)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	*exists = statvfs(path, vfs) == 0;
	if (*exists) {
		return true;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	return statvfs(dir[0] ? dir : "/", vfs) == 0;
}

/* fs_why: what keeps |path| from being written, as far as its file system
 * tells: mounted read-only, full (no block free, or none but root's
 * reserve; only when it takes |blocks|: a socket takes none), or no inode
 * to make it with (-n said OK, and the start warned at once: round-sixty-
 * four tester 259). NULL: nothing. */
static const char *fs_why(const char *path, bool blocks)
{
	struct statvfs vfs;
	bool exists;

	if (!fs_of(path, &vfs, &exists)) {
		return NULL;
	}
	if (vfs.f_flag & ST_RDONLY) {
		return "on a read-only file system";
	}
	if (blocks && vfs.f_blocks > 0 && vfs.f_bfree == 0) {
		return "on a full file system";
	}
	if (blocks && vfs.f_blocks > 0 && vfs.f_bavail == 0) {
		/* ext4's resuid/resgid may lend the reserve to another user:
		 * not told here (tester 264). */
		return "on a full file system (no room but its reserve, which only root, or the "
		       "user or group the file system names, may use)";
	}
	/* Said as what it is (tester 263: "no room" of a file system with
	 * room but no inode). */
	if (!exists && vfs.f_files > 0 && vfs.f_favail == 0) {
		return "on a file system with no inode left to make it";
	}
	return NULL;
}

/* warn_state_file says that the process could not keep the state file
 * |path| (the setting |key|; none when empty) and would remember |what|. */
static void warn_state_file(const char *key, const char *path, const char *what)
{
	const char *why = !path[0]	      ? NULL
			  : !dir_exists(path) ? "its directory does not exist"
					      : fs_why(path, true);

	if (why) {
		rv_cli_say_warnf("%s %s: %s: it would remember %s", key, path, why, what);
	}
}

/* listen_why tells whether the server's control listener could not be
 * opened on its host, as the start would open it (tls/admit.c), and writes
 * why; listen_unusable says it. Port 0 is bound: the check runs beside a server that holds the
 * port (a check before a reload), and only the address is in question (an
 * address of no interface here said OK, and the start exited 15: a
 * round-ten tester). */
static bool listen_why(const struct rv_config *cfg, char *why, size_t why_len)
{
	int fd;

	if (cfg->role != RV_CONFIG_SERVER || !cfg->listen_host[0]) {
		return false;
	}
	fd = rv_server_listen_socket(cfg, 0, why, why_len);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	/* A port below 1024 for another user's -n, or one taken: the start
	 * binds its own port, not 0, and says those itself. */
	return fd != -EACCES && fd != -EADDRINUSE;
}

static bool listen_unusable(const struct rv_config *cfg)
{
	char why[RV_CONFIG_HOST_MAX + 128];

	if (!listen_why(cfg, why, sizeof(why))) {
		return false;
	}
	rv_cli_say_errf("%s", why);
	return true;
}

/* metrics_bind binds a TCP socket to the metrics address at |port|, with
 * SO_REUSEADDR as the start does (tls/http.c): 0 or the errno. */
static int metrics_bind(const struct rv_ip_addr *m, uint16_t port)
{
	struct rv_endpoint ep;
	int fd, one = 1, err = 0;

	rv_endpoint_set(&ep, m, port);
	fd = socket(ep.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return 0; /* the start says it */
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &ep.sa, ep.len) != 0) {
		err = errno;
	}
	close(fd);
	return err;
}

/* metrics_clash: would the metrics endpoint and the control listener take
 * the same TCP port on addresses that overlap? Asked of the kernel, as the
 * start meets it: the listener opened as the start opens it (dual-stack,
 * a name resolved) on a port of the kernel's choice, the metrics address
 * bound to that port. */
static bool metrics_clash(const struct rv_config *cfg)
{
	struct sockaddr_storage ls;
	socklen_t ll = sizeof(ls);
	char err[RV_CONFIG_HOST_MAX + 128];
	bool clash = false;
	int fd;

	if (cfg->role != RV_CONFIG_SERVER || cfg->metrics_port != cfg->listen_port) {
		return false;
	}
	fd = rv_server_listen_socket(cfg, 0, err, sizeof(err));
	if (fd < 0) {
		return false; /* listen_unusable says it */
	}
	if (listen(fd, 1) == 0 && getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) {
		uint16_t port =
			ntohs(ls.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ls)->sin6_port
						       : ((struct sockaddr_in *)&ls)->sin_port);

		clash = metrics_bind(&cfg->metrics_addr, port) == EADDRINUSE;
	}
	close(fd);
	return clash;
}

/* metrics_why tells whether the metrics endpoint could not be opened, as
 * the start would open it (tls/http.c), and writes why (metrics_unusable
 * says it): an address of no
 * interface here, or the control channel's own TCP port on an address it
 * listens on. -n said OK of both, and the start exited 15 blaming "a port
 * ... another process holds" (round-twenty-seven testers 129, 131). */
static bool metrics_why(const struct rv_config *cfg, char *why, size_t why_len)
{
	const struct rv_ip_addr *m = &cfg->metrics_addr;
	char a[64], where[80];
	int err;

	if (m->family == 0) {
		return false;
	}
	rv_ip_addr_str(m, a, sizeof(a));
	snprintf(where, sizeof(where), m->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 cfg->metrics_port);
	if (metrics_clash(cfg)) {
		snprintf(why, why_len,
			 "metrics_listen %s: that is the control channel's port on an address it "
			 "listens on (listen = %s): give metrics_listen another port",
			 where, cfg->listen_host[0] ? cfg->listen_host : "every address");
		return true;
	}
	/* Port 0, as listen_unusable binds: a running server may hold the port. */
	err = metrics_bind(m, 0);
	if (err == 0 || err == EACCES || err == EADDRINUSE) {
		return false;
	}
	snprintf(why, why_len, "metrics_listen %s: cannot listen: %s%s", where, strerror(err),
		 err == EADDRNOTAVAIL ? " (no interface of this host has that address)" : "");
	return true;
}

/* loopback_down: is |a| a loopback address while this network namespace's
 * lo is down? A test bind passes in a namespace whose lo was never up
 * (it has no local table yet), and the start, which makes the TUN's
 * addresses first, then fails; with lo set down later the start listens
 * where nothing reaches it (round-sixty-eight tester 303). */
static bool loopback_down(const struct rv_ip_addr *a)
{
	static const uint8_t one6[16] = { [15] = 1 };
	struct ifreq ifr = { .ifr_name = "lo" };
	bool down;
	int fd;

	if (!(a->family == AF_INET && a->a[0] == 127) &&
	    !(a->family == AF_INET6 && memcmp(a->a, one6, 16) == 0)) {
		return false;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	down = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP);
	close(fd);
	return down;
}

/* loopback_unusable says a listen or metrics_listen address of loopback
 * while lo is down. */
static bool loopback_unusable(const struct rv_config *cfg)
{
	struct rv_ip_addr l = { 0 };
	const char *key = NULL;

	if (cfg->role != RV_CONFIG_SERVER) {
		return false;
	}
	if (inet_pton(AF_INET, cfg->listen_host, l.a) == 1) {
		l.family = AF_INET;
	} else if (inet_pton(AF_INET6, cfg->listen_host, l.a) == 1) {
		l.family = AF_INET6;
	}
	if (l.family && loopback_down(&l)) {
		key = "listen";
	} else if (loopback_down(&cfg->metrics_addr)) {
		key = "metrics_listen";
	}
	if (key) {
		rv_cli_say_errf("%s: a loopback address, and this network namespace's loopback "
				"interface lo is down (ip link set lo up): a start would exit %d, "
				"or listen where nothing can reach it",
				key, RV_EXIT_NET);
	}
	return key != NULL;
}

static bool metrics_unusable(const struct rv_config *cfg)
{
	char why[RV_CONFIG_HOST_MAX + 256];

	if (!metrics_why(cfg, why, sizeof(why))) {
		return false;
	}
	rv_cli_say_errf("%s", why);
	return true;
}

/* v4mapped_any: is |a| ::ffff:0.0.0.0, which an IPv6 socket binds as
 * every IPv4 address of the host? */
static bool v4mapped_any(const struct rv_ip_addr *a)
{
	static const uint8_t head[12] = { [10] = 0xff, [11] = 0xff };

	return a->family == AF_INET6 && memcmp(a->a, head, sizeof(head)) == 0 && a->a[12] == 0 &&
	       a->a[13] == 0 && a->a[14] == 0 && a->a[15] == 0;
}

void rv_cli_note_metrics_wildcard(const struct rv_config *cfg, bool check_only)
{
	const struct rv_ip_addr *a = &cfg->metrics_addr;
	bool v4 = v4mapped_any(a);
	char ip[48], msg[400];

	/* ::ffff:0.0.0.0 listens on every IPv4 address, and was unsaid
	 * (round-seventy-one tester 329). */
	if (a->family == 0 || (!rv_ip_addr_unspecified(a) && !v4)) {
		return;
	}
	rv_ip_addr_str(a, ip, sizeof(ip));
	snprintf(msg, sizeof(msg),
		 "metrics_listen %s%s%s:%u is every %saddress of this host: the endpoint has no "
		 "authentication or TLS, and its labels name every client (bind it to loopback "
		 "or a management address)",
		 a->family == AF_INET6 ? "[" : "", ip, a->family == AF_INET6 ? "]" : "",
		 cfg->metrics_port, v4 ? "IPv4 " : "");
	if (check_only) {
		rv_cli_say_warnf("%s", msg);
	} else {
		rv_warnx("%s", msg);
	}
}

/* status_pid: the PID of the process answering at |cfg|'s status socket;
 * 0: nobody answers there (no socket, or refused); -1: not known (no
 * status socket configured, not this user's to connect to). */
static long status_pid(const struct rv_config *cfg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	long pid = -1;
	int fd;

	if (!cfg->status_socket[0] || strlen(cfg->status_socket) >= sizeof(sun.sun_path)) {
		return -1;
	}
	memcpy(sun.sun_path, cfg->status_socket, strlen(cfg->status_socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		/* 0: a peer outside this PID namespace, not known (it was
		 * taken for nobody answering: tester 296). */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
			pid = cred.pid;
		}
	} else if (errno == ENOENT || errno == ECONNREFUSED) {
		pid = 0;
	}
	close(fd);
	return pid;
}

/* port_held_text says in |out|, with -n and at a reload that moves a
 * port, that another program holds the port a start would bind (-n said
 * OK, and the start exited 15 naming the holder: round-sixty-seven tester
 * 289; a reload said "needs a restart" alone: round-sixty-eight tester
 * 302). Only when a bind as the start's fails (TCP with SO_REUSEADDR, so a
 * connection in TIME_WAIT keeps nothing out: it was warned of, tester
 * 291), and a process is named: one hidden from a -n run by another user
 * beside a root server is likely that server (tester 291). A ringvpn is
 * this file's own server when it is the one answering at its status
 * socket, or this process at a reload; another one is said (two servers
 * given one port: tester 291). A warning: the holder may be gone by the
 * start. Returns whether it said one. */
static bool port_held_text(const struct rv_config *cfg, const char *key, int proto,
			   const struct sockaddr *sa, socklen_t sa_len, uint16_t port, bool reload,
			   char *out, size_t out_len)
{
	int fd = socket(sa->sa_family,
			(proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0, err;
	char who[512];
	long pid, ours;

	if (fd < 0) {
		return false;
	}
	if (proto == IPPROTO_TCP) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (sa->sa_family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	err = bind(fd, sa, sa_len) == 0 ? 0 : errno;
	close(fd);
	if (err != EADDRINUSE || !rv_port_holder(proto, sa, who, sizeof(who))) {
		return false;
	}
	/* At a reload, in the server dropped to its user, another user's
	 * process is seldom seen: any holder but this process is said. */
	if (reload ? strncmp(who, "this process", 12) == 0 : strncmp(who, "process ", 8) != 0) {
		return false;
	}
	pid = strncmp(who, "process ", 8) == 0 ? strtol(who + 8, NULL, 10) : 0;
	if (strstr(who, "(ringvpn)") != NULL && !reload) {
		char whose[PATH_MAX + 64];

		ours = status_pid(cfg);
		if (ours < 0 || ours == pid) {
			return false;
		}
		if (ours == 0) {
			snprintf(whose, sizeof(whose), "nobody answers at %s", cfg->status_socket);
		} else {
			snprintf(whose, sizeof(whose), "process %ld answers at %s", ours,
				 cfg->status_socket);
		}
		snprintf(out, out_len,
			 "%s: %s port %u is held by %s, another ringvpn than this file's (%s: two "
			 "given one port?): a start now would exit %d",
			 key, proto == IPPROTO_TCP ? "TCP" : "UDP", (unsigned)port, who, whose,
			 RV_EXIT_NET);
		return true;
	}
	snprintf(out, out_len, "%s: %s port %u is held by %s: a start now would exit %d", key,
		 proto == IPPROTO_TCP ? "TCP" : "UDP", (unsigned)port, who, RV_EXIT_NET);
	return true;
}

/* held_one says port_held_text's finding: a warning with -n (|cur|
 * NULL), else added to |buf| (|len| bytes, "; " between). */
static void held_one(const struct rv_config *cfg, const struct rv_config *cur, const char *key,
		     int proto, const struct sockaddr *sa, socklen_t sa_len, uint16_t port,
		     char *buf, size_t len)
{
	char one[PATH_MAX + 1536];
	size_t used;

	if (!port_held_text(cfg, key, proto, sa, sa_len, port, cur != NULL, one, sizeof(one))) {
		return;
	}
	if (cur == NULL) {
		rv_cli_say_warnf("%s", one);
		return;
	}
	used = strlen(buf);
	snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
}

/* ports_held: the server's control, data and metrics ports, each said
 * (-n, |cur| NULL) or, at a reload, those the file moves from |cur|'s. */
static void ports_held(const struct rv_config *cfg, const struct rv_config *cur, char *buf,
		       size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons(cfg->data_port) };
	char port[8];

	snprintf(port, sizeof(port), "%u", (unsigned)cfg->listen_port);
	/* A name is not looked up at a reload (on the control thread: a
	 * nameserver that does not answer stalled the server, tester 232). */
	hints.ai_flags |= cur != NULL ? AI_NUMERICHOST : 0;
	if ((cur == NULL || strcmp(cur->listen_host, cfg->listen_host) != 0 ||
	     cur->listen_port != cfg->listen_port) &&
	    getaddrinfo(cfg->listen_host[0] ? cfg->listen_host : NULL, port, &hints, &ai) == 0) {
		held_one(cfg, cur, "listen", IPPROTO_TCP, ai->ai_addr, ai->ai_addrlen,
			 cfg->listen_port, buf, len);
		freeaddrinfo(ai);
	}
	/* The data socket is [::] (uring/dataplane.c). */
	if (cur == NULL || cur->data_port != cfg->data_port) {
		held_one(cfg, cur, "data_port", IPPROTO_UDP, (const struct sockaddr *)&any,
			 sizeof(any), cfg->data_port, buf, len);
	}
	if (cfg->metrics_addr.family != 0 &&
	    (cur == NULL ||
	     memcmp(&cur->metrics_addr, &cfg->metrics_addr, sizeof(cfg->metrics_addr)) != 0 ||
	     cur->metrics_port != cfg->metrics_port)) {
		struct rv_endpoint ep;

		rv_endpoint_set(&ep, &cfg->metrics_addr, cfg->metrics_port);
		held_one(cfg, cur, "metrics_listen", IPPROTO_TCP, &ep.sa, ep.len, cfg->metrics_port,
			 buf, len);
	}
}

/* zone_unknown tells whether a client's server address names an interface
 * this host does not have (fe80::1%eth9), and says which: the start would
 * try it for ever, "cannot resolve" (round-sixteen tester 76). A number is
 * taken as the interface's index, as the resolver takes it (fe80::1%99,
 * and %0, which is none: round-seventeen tester 79). */
static bool zone_unknown(const struct rv_config *cfg)
{
	bool bad = false;

	for (unsigned i = 0; cfg->role == RV_CONFIG_CLIENT && i < cfg->num_servers; i++) {
		const char *zone = strchr(cfg->servers[i].host, '%');
		char name[IF_NAMESIZE];
		unsigned long idx;

		if (zone == NULL) {
			continue;
		}
		if (zone[1 + strspn(zone + 1, "0123456789")] != '\0') {
			if (if_nametoindex(zone + 1) != 0) {
				continue;
			}
		} else {
			/* One past 32 bits is no index (it wrapped to lo's). */
			errno = 0;
			idx = strtoul(zone + 1, NULL, 10);
			if (errno == 0 && idx <= UINT_MAX && if_indextoname((unsigned)idx, name)) {
				continue;
			}
		}
		rv_cli_say_errf("server %s: this host has no interface '%s'", cfg->servers[i].host,
				zone + 1);
		bad = true;
	}
	return bad;
}

int rv_cli_check_paths(const struct rv_config *cfg, uid_t service, gid_t service_gid)
{
	const char *sock = cfg->status_socket;
	char why[PATH_MAX + 64];
	const char *fs;
	struct stat st;

	/* -n said OK to a user who could not start it (exit 9: round-eleven
	 * tester 51): a warning, since a check is often run by another
	 * user than the service's. */
	if (!rv_privdrop_has_net_admin()) {
		rv_cli_say_warnf("this process has no CAP_NET_ADMIN: a start "
				 "like this one would exit 9 (run it as root, or as the service "
				 "units do)");
	} else if (faccessat(AT_FDCWD, "/dev/net/tun", R_OK | W_OK, AT_EACCESS) != 0 &&
		   errno == EACCES && stat("/dev/net/tun", &st) == 0) {
		/* The units' way (CAP_NET_ADMIN, no CAP_DAC_OVERRIDE) on a
		 * host whose clone device is 0600 (some containers): the
		 * start exited 9 blaming CAP_NET_ADMIN and -n said OK
		 * (round-eighteen tester 84). */
		rv_cli_say_warnf("/dev/net/tun (mode %04o, owner %u:%u) is not "
				 "read-write for this process (uid %u): a start like this one "
				 "would "
				 "exit 9 (udev makes it 0666; or give it a group of this user's)",
				 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
				 (unsigned)st.st_gid, (unsigned)geteuid());
	}

	/* As the start would: exit 14 for a device of another kind under the
	 * tun name (-n said OK of `tun = lo`: round-twenty-eight tester 137). */
	if (cfg->tun[0]) {
		struct rv_rtnl_link lk;

		if (rv_rtnl_get_link(&lk, cfg->tun) == 0 &&
		    rv_tun_unfit(cfg->tun, &lk, why, sizeof(why))) {
			rv_cli_say_errf("%s", why);
			return RV_EXIT_TUN;
		}
		if (rv_rtnl_get_link(&lk, cfg->tun) == 0 && lk.num_queues == 0 &&
		    rv_tun_foreign_owner(cfg->tun, &lk, why, sizeof(why))) {
			rv_cli_say_warnf("%s", why);
		}
	}

	/* As the start would: exit 15 for a status socket that cannot be. */
	if (sock[0] && lstat(sock, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		rv_cli_say_errf("status socket %s: something that is no socket is there, which "
				"ringvpn will not replace (set status_socket to another path)",
				sock);
		return RV_EXIT_NET;
	}
	if (sock[0] && !dir_exists(sock)) {
		rv_cli_say_errf("status socket %s: its directory does not exist", sock);
		return RV_EXIT_NET;
	}
	/* A read-only file system, or one with no inode left (the socket
	 * takes no block): -n said OK, and the start exited 15 (round-
	 * sixty-six tester 280). */
	if (sock[0] && dir_exists(sock) && (fs = fs_why(sock, false)) != NULL) {
		rv_cli_say_errf("status socket %s: its directory is %s: the start could not make "
				"the socket there",
				sock, fs);
		return RV_EXIT_NET;
	}
	/* As the start says (round-twenty-six testers 121, 124). */
	if (sock[0] && dir_exists(sock) &&
	    (rv_path_stranger(sock, geteuid() == 0 ? service : geteuid(), why, sizeof(why)) ||
	     rv_dir_everyones(sock, true, service_gid, why, sizeof(why)))) {
		rv_cli_say_warnf(
			"status socket %s: %s: who may write there can put a "
			"socket of their own in its place, and answer `status`, `kick` and "
			"`reload` in the process's name (use a directory of root's, such as "
			"/run/ringvpn)",
			sock, why);
	}
	if (listen_unusable(cfg) || metrics_unusable(cfg) || loopback_unusable(cfg) ||
	    zone_unknown(cfg)) {
		return RV_EXIT_NET;
	}
	if (cfg->role == RV_CONFIG_SERVER) {
		ports_held(cfg, NULL, NULL, 0);
		warn_state_file("lease_file", cfg->lease_file, "addresses in memory only");
	}
	/* As the start would say (round-twelve tester 52). */
	warn_state_file("crl_state", cfg->crl_state, "the newest CRL until it ends only");
	return -1;
}

/* dir_missing: is the directory part of |path| known not to be one? The
 * reload's check runs as the service user, whom a directory root may
 * search alone keeps out: that is no missing directory (EACCES). */
static bool dir_missing(const char *path)
{
	int err = dir_errno(path);

	return err == ENOENT || err == ENOTDIR;
}

/* same_file: do paths |a| and |b| name one file, made or not yet? By
 * the directory each names and the last component: two spellings of a
 * path not made yet ("dir//f", "dir/./f") passed, and the start wrote one
 * over the other (round-twelve tester 55). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char da[PATH_MAX], db[PATH_MAX];
	const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0) {
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	}
	snprintf(da, sizeof(da), "%.*s", ba ? (int)(ba - a) + 1 : 1, ba ? a : ".");
	snprintf(db, sizeof(db), "%.*s", bb ? (int)(bb - b) + 1 : 1, bb ? b : ".");
	return strcmp(ba ? ba + 1 : a, bb ? bb + 1 : b) == 0 && stat(da, &sa) == 0 &&
	       stat(db, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* unjudged adds to |buf| that |key|'s file |path| could not be looked at
 * (|err|): a start as root checks it then; one as this user (the units')
 * cannot open it either, and keeps |what| in memory only (the advice to
 * run -n as root gave the root start's refusal: round-sixty tester 248). */
static void unjudged(char *buf, size_t len, const char *key, const char *path, int err,
		     bool as_root, const char *what)
{
	size_t used = strlen(buf);

	if (as_root) {
		snprintf(buf + used, len - used,
			 "%s%s %s: this process (the service user) may not look at it or read it "
			 "(%s), so the next start's checks of it are not made here (`ringvpn "
			 "server -n` as root makes them)",
			 used ? "; " : "", key, path, strerror(-err));
	} else {
		snprintf(buf + used, len - used,
			 "%s%s %s: this process's user may not open it (%s): a start as this user "
			 "would keep %s in memory only",
			 used ? "; " : "", key, path, strerror(-err), what);
	}
}

/* struct restart_fails gathers what a start would refuse, each said, the
 * exit code the start's first refusal (its checks' order) would give: one
 * fixed after the other, the next restart still failed (round-sixty
 * tester 248). */
struct restart_fails {
	char text[9 * 512]; /* room for every key's refusal (tester 249) */
	int code;
};

static void restart_fail(struct restart_fails *f, int code, const char *why)
{
	size_t used = strlen(f->text);

	if (f->code == 0) {
		f->code = code;
	}
	snprintf(f->text + used, sizeof(f->text) - used, "%s%s", used ? "; and " : "", why);
}

/* crl_state_newer: does the file's `crl_state` remember a newer CRL than
 * its `crl` (or one of a CA it has none of)? The start refuses that, exit
 * 4; the reload judged the file's kind alone and said nothing. The context
 * is built as the reload's own is (not as a start's: its warnings are the
 * reply's, said there once), with |running|'s key, or certificate and key,
 * where the service user may not read the files (a root-only key passed
 * unjudged: tester 255). A CA or CRL it cannot be built from is the
 * reload's own refusal, said after this. */
static void crl_state_newer(struct restart_fails *f, const struct rv_config *next,
			    const struct rv_cli_opts *opts, const struct rv_tls_ctx *running)
{
	struct rv_tls_ctx *tls = NULL;
	enum rv_tls_ctx_fail why;
	char err[512];
	int ret = rv_tls_ctx_from_config(&tls, next, false, running, &why, err, sizeof(err));

	/* Also for a renewal at new paths the service user may not read: the
	 * CRLs are compared, not the certificate (the reload refuses that
	 * key, and the crl_state went unsaid till the next try: tester 257).
	 * Not for files that are wrong whatever reads them (a key of another
	 * certificate): the start would refuse those first. */
	if (ret != 0 && running && (ret == -EACCES || ret == -EPERM) &&
	    (why == RV_TLS_FAIL_CERT || why == RV_TLS_FAIL_KEY)) {
		ret = rv_tls_ctx_from_config_own(&tls, next, running, &why, err, sizeof(err));
	}
	if (ret != 0) {
		return;
	}
	if (rv_crlstate_check(next->crl_state, tls, true, opts ? opts->priv.uid : geteuid(), err,
			      sizeof(err)) == -EKEYREJECTED) {
		restart_fail(f, RV_EXIT_CERT, err);
	}
	rv_tls_ctx_free(tls);
}

int rv_cli_check_restart(void *ctx, const struct rv_config *cur, const struct rv_config *next,
			 const struct rv_tls_ctx *running, unsigned own_tun, char *why,
			 size_t why_len)
{
	const struct rv_cli_opts *opts = ctx;
	/* Started as root, the start switches to the user; started as the
	 * user (the units), it cannot, nor give the socket to a group it is
	 * not in (round-fifty-five tester 232). */
	bool as_root = opts == NULL || opts->priv.switch_ids || opts->priv.keep_root;
	const char *sock = next->status_socket;
	struct restart_fails f = { .code = 0 };
	char bare[RV_CONFIG_HOST_MAX], one[512];
	struct in6_addr a6;
	struct in_addr a4;
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	char unseen[2 * PATH_MAX + 512] = "";
	int ret;

	/* Only what the file changes: the running values passed at the
	 * start. In the start's order: the privilege drop, the state files,
	 * the TUN, the status socket and the listening sockets. */
	if (strcmp(cur->admin_group, next->admin_group) != 0 && next->admin_group[0]) {
		if ((gr = getgrnam(next->admin_group)) == NULL) {
			snprintf(one, sizeof(one), "admin_group '%s' does not exist",
				 next->admin_group);
			restart_fail(&f, RV_EXIT_PRIVDROP, one);
		} else if (!as_root && !rv_privdrop_in_my_groups(gr->gr_gid)) {
			snprintf(one, sizeof(one),
				 "admin_group '%s': this process's user (uid %u) is not a member, "
				 "so the status socket cannot be given to it",
				 next->admin_group, (unsigned)geteuid());
			restart_fail(&f, RV_EXIT_PRIVDROP, one);
		}
	}
	if (strcmp(cur->user, next->user) != 0 && next->user[0] && strcmp(next->user, "root")) {
		if ((pw = getpwnam(next->user)) == NULL) {
			snprintf(one, sizeof(one), "user '%s' does not exist", next->user);
			restart_fail(&f, RV_EXIT_PRIVDROP, one);
		} else if (!as_root && pw->pw_uid != geteuid()) {
			snprintf(one, sizeof(one), "cannot switch to user %s: not started as root",
				 next->user);
			restart_fail(&f, RV_EXIT_PRIVDROP, one);
		}
	}
	if (strcmp(cur->group, next->group) != 0 && next->group[0] &&
	    getgrnam(next->group) == NULL) {
		snprintf(one, sizeof(one), "group '%s' does not exist", next->group);
		restart_fail(&f, RV_EXIT_PRIVDROP, one);
	}
	if ((strcmp(cur->lease_file, next->lease_file) != 0 ||
	     strcmp(cur->crl_state, next->crl_state) != 0) &&
	    next->lease_file[0] && next->crl_state[0] &&
	    same_file(next->lease_file, next->crl_state)) {
		snprintf(one, sizeof(one), "lease_file and crl_state name the same file, %s",
			 next->lease_file);
		restart_fail(&f, RV_EXIT_CONFIG, one);
	}
	/* The start's own checks of the files (a symbolic link on the way
	 * was told OK: round-fifty-seven tester 239). Where this process,
	 * the service user, may not look (root's directory or file), what
	 * it could not judge is said, not told OK (tester 246). */
	if (strcmp(cur->lease_file, next->lease_file) != 0 && next->lease_file[0]) {
		ret = rv_leasefile_check(next->lease_file, opts ? opts->priv.uid : geteuid(), false,
					 one, sizeof(one));
		if (ret == -EINVAL) {
			restart_fail(&f, RV_EXIT_CONFIG, one);
		} else if (ret == -EACCES || ret == -EPERM) {
			unjudged(unseen, sizeof(unseen), "lease_file", next->lease_file, ret,
				 as_root, "the leases");
		}
	}
	if (strcmp(cur->crl_state, next->crl_state) != 0 && next->crl_state[0]) {
		ret = rv_crlstate_path_refused(next->crl_state, one, sizeof(one));
		if (ret == -EINVAL) {
			restart_fail(&f, RV_EXIT_CONFIG, one);
		} else if (ret == -EACCES || ret == -EPERM) {
			unjudged(unseen, sizeof(unseen), "crl_state", next->crl_state, ret, as_root,
				 "the newest CRL numbers");
		} else if (ret == 0) {
			crl_state_newer(&f, next, opts, running);
		}
	}
	if (strcmp(cur->tun, next->tun) != 0 && next->tun[0]) {
		struct rv_rtnl_link lk;

		if (rv_rtnl_get_link(&lk, next->tun) == 0 &&
		    rv_tun_unfit(next->tun, &lk, one, sizeof(one))) {
			restart_fail(&f, RV_EXIT_TUN, one);
		} else if (rv_tun_held(next->tun, own_tun, one, sizeof(one)) == 1) {
			/* As the start finds it, exit 14 (tester 246). */
			restart_fail(&f, RV_EXIT_TUN, one);
		}
	}
	/* The status socket is made after the TUN (round-sixty-one tester
	 * 249: said first, its 15 was not the start's 3 or 14). */
	if (strcmp(cur->status_socket, next->status_socket) != 0 && sock[0]) {
		if (lstat(sock, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			snprintf(one, sizeof(one),
				 "status socket %s: something that is no socket is there, which "
				 "ringvpn will not replace",
				 sock);
			restart_fail(&f, RV_EXIT_NET, one);
		} else if (dir_missing(sock)) {
			snprintf(one, sizeof(one), "status socket %s: its directory does not exist",
				 sock);
			restart_fail(&f, RV_EXIT_NET, one);
		}
	}
	/* An address only: a name would be looked up here, on the control
	 * thread, and a nameserver that does not answer stalled the server
	 * for 10 s (its clients ended their sessions: tester 232). */
	/* A scoped address (fe80::1%eth0) is one too (tester 234). */
	snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(next->listen_host, "%"),
		 next->listen_host);
	if ((strcmp(cur->listen_host, next->listen_host) != 0 ||
	     cur->listen_port != next->listen_port) &&
	    (inet_pton(AF_INET, bare, &a4) == 1 || inet_pton(AF_INET6, bare, &a6) == 1) &&
	    listen_why(next, one, sizeof(one))) {
		restart_fail(&f, RV_EXIT_NET, one);
	}
	if ((memcmp(&cur->metrics_addr, &next->metrics_addr, sizeof(next->metrics_addr)) != 0 ||
	     cur->metrics_port != next->metrics_port) &&
	    metrics_why(next, one, sizeof(one))) {
		restart_fail(&f, RV_EXIT_NET, one);
	}
	/* A port the file moves to that another program holds: a warning,
	 * as -n's (the holder may be gone by the start). A server's only. */
	if (next->role == RV_CONFIG_SERVER) {
		ports_held(next, cur, unseen, sizeof(unseen));
	}
	if (f.code != 0) {
		snprintf(why, why_len, "%s%s%s", f.text, unseen[0] ? "; and " : "", unseen);
		return f.code;
	}
	if (unseen[0]) {
		snprintf(why, why_len, "%s", unseen);
		return -1;
	}
	return 0;
}

/* same_file_exit says that keys |a| and |b| name the same file |path|, of
 * the command line's flags when a flag gave either (as their other errors
 * are, exit 2: round-thirty-six tester 184), else of the configuration
 * (exit 3). Returns the exit code. */
static int same_file_exit(const struct rv_cli_opts *opts, const char *a, const char *b,
			  const char *path)
{
	bool flags = flag_given(opts, a) || flag_given(opts, b);

	rv_cli_say_errf("%s%s%s%s%s and %s name the same file, %s",
			flags ? "the command line's flags" : "",
			flags && opts->config_path ? " with " : "",
			flags && opts->config_path ? opts->config_path : "", flags ? ": " : "", a,
			b, path);
	return flags ? RV_EXIT_USAGE : RV_EXIT_CONFIG;
}

int rv_cli_check_state_paths(const struct rv_config *cfg, const struct rv_cli_opts *opts)
{
	const char *sock = cfg->status_socket;
	const char *other = NULL;

	/* The state file was written there first, and the socket then
	 * refused the regular file it found: exit 15, the file left to
	 * block every later start, while -n said OK (round-thirty-six
	 * tester 182). */
	if (sock[0] && cfg->lease_file[0] && same_file(sock, cfg->lease_file)) {
		other = "lease_file";
	} else if (sock[0] && cfg->crl_state[0] && same_file(sock, cfg->crl_state)) {
		other = "crl_state";
	}
	return other ? same_file_exit(opts, "status_socket", other, sock) : -1;
}

int rv_cli_check_crl_state(const struct rv_config *cfg, const struct rv_cli_opts *opts,
			   struct rv_tls_ctx *tls)
{
	bool check_only = opts->check_only;
	char err[768];
	int ret;

	if (!cfg->crl_state[0]) {
		if (check_only && cfg->crl[0]) {
			rv_cli_say_warnf(
				"crl_state is not set: a restart would take an "
				"older CRL than the running one without a word (a reload refuses "
				"it)");
		}
		return -1;
	}
	/* Each would take the other for something else at the start, and
	 * that refusal came out of the loop's start as exit 15 (round-twelve
	 * tester 52). */
	if (cfg->lease_file[0] && same_file(cfg->lease_file, cfg->crl_state)) {
		return same_file_exit(opts, "crl_state", "lease_file", cfg->crl_state);
	}
	ret = rv_crlstate_check(cfg->crl_state, tls, !check_only, opts->priv.uid, err, sizeof(err));
	if (ret == -EINVAL || ret == -EKEYREJECTED) {
		rv_cli_say_errf("%s", err);
		return ret == -EINVAL ? RV_EXIT_CONFIG : RV_EXIT_CERT;
	}
	if (ret < 0 && check_only) {
		/* Another user's -n cannot tell what root's start will. */
		rv_cli_say_warnf(
			"%s: %s", err,
			ret == -EACCES || ret == -EPERM
				? "not checked for an older CRL (run -n as the user who starts "
				  "the process)"
				: "the newest CRL would be remembered until the process ends only");
	}
	return -1;
}

/* warn_crl_expired tells -n of an expired CRL: the start goes on with it
 * (said in the log) and refuses every peer until a fresh one comes. */
static void warn_crl_expired(const struct rv_tls_ctx *tls, const struct rv_config *cfg)
{
	struct rv_tls_expiry e;
	int64_t now = (int64_t)time(NULL);

	rv_tls_ctx_expiry(tls, &e);
	if (e.have_crl && e.crl_next_update && e.crl_next_update <= now) {
		char whom[256];

		rv_cli_say_warnf("CRL file %s expired %lld s ago (its nextUpdate): this "
				 "end "
				 "refuses %s until a fresh one is published (`ringvpn pki crl`)",
				 cfg->crl, (long long)(now - e.crl_next_update),
				 rv_tls_crl_whom(&e, whom, sizeof(whom)));
	}
}

/* say_unreadable warns of the files a reload re-reads that the service user
 * cannot: to stderr for -n (before the drop), to the log after it. The
 * start reads them as root and went on; each reload then failed on them,
 * and a CRL change with them (a hostile tester: the key `pki server`
 * writes is root's only). */
static void say_unreadable(const struct rv_cli_opts *opts, const struct rv_config *cfg,
			   bool dropped)
{
	static const char *const what[] = { "configuration", "CA", "certificate", "key", "CRL" };
	const char *const paths[] = { opts->config_path, cfg->ca, cfg->cert, cfg->key, cfg->crl };
	char dirs[5][RV_PRIVDROP_DIR_MAX];
	unsigned unnamed;
	unsigned mask = rv_privdrop_unreadable(&opts->priv, paths, 5, dropped, dirs, &unnamed);

	if (mask & RV_PRIVDROP_UNCHECKED) {
		if (dropped) {
			rv_warnx("could not check which files user %s can read", opts->priv.user);
		} else {
			rv_cli_say_warnf("could not check which files user %s can "
					 "read",
					 opts->priv.user);
		}
		return;
	}
	for (size_t i = 0; i < 5; i++) {
		/* What a reload does then (tls/reload.c): this end's own
		 * files are kept as they run, the others refuse the change. */
		const char *then = i == 0 ? "a reload is refused (the running configuration kept)"
				   : i == 2 || i == 3
					   ? "a new CA or CRL is taken with the running "
					     "certificate and key, a renewal waits until it "
					     "is readable"
					   : "a reload, or a change the file watch sees, is "
					     "refused (the running one kept)";
		const char *group = opts->priv.group;
		char msg[2 * PATH_MAX + 5 * RV_PRIVDROP_DIR_MAX];

		if (!(mask & (1u << i))) {
			continue;
		}
		if (dirs[i][0]) {
			/* A directory on the way, not the file: making the
			 * file readable would change nothing. */
			const char *d = dirs[i];

			snprintf(msg, sizeof(msg),
				 "user %s cannot search the directory %s on the way to the %s "
				 "file %s, which reloads read as that user: %s; make the directory "
				 "searchable (chmod o+x %s, or chgrp %s %s; chmod g+x %s)",
				 opts->priv.user, d, what[i], paths[i], then, d, group, d, d);
		} else if (unnamed & (1u << i)) {
			/* The obstacle could not be told (a directory's name
			 * too long to carry, a link past the kernel's limit):
			 * the file's advice alone may change nothing (round-ten
			 * tester 47). */
			snprintf(msg, sizeof(msg),
				 "user %s cannot open the %s file %s, which reloads read as that "
				 "user: %s; make it readable by group %s and every directory on "
				 "its way searchable (namei -l %s shows them)",
				 opts->priv.user, what[i], paths[i], then, group, paths[i]);
		} else {
			snprintf(msg, sizeof(msg),
				 "user %s cannot read the %s file %s, which reloads read as that "
				 "user: %s; make it readable by group %s (chgrp %s %s; chmod g+r "
				 "%s)",
				 opts->priv.user, what[i], paths[i], then, group, group, paths[i],
				 paths[i]);
		}
		if (dropped) {
			rv_warnx("%s", msg);
		} else {
			rv_cli_say_warnf("%s", msg);
		}
	}
}

int rv_cli_tls_ctx(struct rv_tls_ctx **out, const struct rv_config *cfg)
{
	enum rv_tls_ctx_fail why;
	char err[1024];

	if (rv_tls_ctx_from_config(out, cfg, true, NULL, &why, err, sizeof(err)) == 0) {
		return -1;
	}
	rv_cli_say_err(err);
	switch (why) {
	case RV_TLS_FAIL_CA:
		return rv_cli_file_exit(cfg->ca, RV_EXIT_CERT_MISSING, RV_EXIT_CERT);
	case RV_TLS_FAIL_CERT:
		return rv_cli_file_exit(cfg->cert, RV_EXIT_CERT_MISSING, RV_EXIT_CERT);
	case RV_TLS_FAIL_CRL:
		return rv_cli_file_exit(cfg->crl, RV_EXIT_CERT_MISSING, RV_EXIT_CERT);
	case RV_TLS_FAIL_KEY:
		return rv_cli_file_exit(cfg->key, RV_EXIT_KEY_MISSING, RV_EXIT_KEY);
	default:
		return RV_EXIT_TLS;
	}
}

int rv_cli_file_exit(const char *path, int missing, int invalid)
{
	struct stat st;

	return stat(path, &st) != 0 && errno == ENOENT ? missing : invalid;
}

/* stderr_is_journal: systemd sets JOURNAL_STREAM=DEV:INODE when it connects
 * stderr to journald; it still is the journal only if fd 2 is that file
 * (a shell started from the unit may have redirected it). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st)) {
		return false;
	}
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static enum rv_log_format log_format(int configured)
{
	if (configured != RV_LOG_FMT_AUTO) {
		return (enum rv_log_format)configured;
	}
	return stderr_is_journal() ? RV_LOG_FMT_JOURNAL : RV_LOG_FMT_TEXT;
}

/* struct prescan is what the command line says before it is parsed: its
 * own errors and the file's warnings come in the form these choose. */
struct prescan {
	bool check;	    /* -n, --check: -n's own form */
	int log_format;	    /* --log-format (auto when not given) */
	const char *config; /* -c, --config */
};

static void prescan(int argc, char **argv, struct prescan *p)
{
	*p = (struct prescan){ .log_format = RV_LOG_FMT_AUTO };
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i], *v = NULL, *c;
		enum rv_log_format named;

		if (!strcmp(a, "--check")) {
			p->check = true;
		} else if (!strcmp(a, "--config") && i + 1 < argc) {
			p->config = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			p->config = a + 9;
		} else if (!strcmp(a, "--log-format") && i + 1 < argc) {
			v = argv[++i];
		} else if (!strncmp(a, "--log-format=", 13)) {
			v = a + 13;
		} else if (!strncmp(a, "--", 2) && a[2] && !strchr(a, '=') && strcmp(a, "--help")) {
			/* Every other long option takes a value (the config
			 * keys', --max-attempts): "--tun -n" names a TUN, as
			 * getopt reads it, and is no check (round-forty-seven
			 * tester 212). An unknown one is refused anyway. */
			i++;
		} else if ((c = cluster(argc, argv, &i, &p->check)) != NULL) {
			p->config = c;
		}
		if (v && rv_log_format_from_name(v, &named)) {
			p->log_format = named;
		}
	}
}

/* file_log_format: the log_format of the file -c names (auto when none, or
 * it does not load), read quietly before the command line is parsed: what
 * the file's own load says (a '#' inside a value, a file of another
 * user's) came as bare lines under its log_format = json (round-forty-three
 * tester 207). */
static int file_log_format(enum rv_config_role role, const char *path)
{
	struct rv_config *t = path ? scratch_load(role, path, false, NULL, 0) : NULL;
	int fmt = t ? (int)t->log_format : RV_LOG_FMT_AUTO;

	free(t);
	return fmt;
}

int rv_cli_start(struct rv_config *cfg, struct rv_cli_opts *opts, enum rv_config_role role,
		 int argc, char **argv, struct rv_tls_ctx **out_tls)
{
	struct prescan pre;
	char err[512];
	sigset_t early;
	int code;

	/* A log line to a terminal that runs us in the background with
	 * `stty tostop` stopped the process (SIGTTOU), half started or
	 * serving no one, its own "shutting down" line stopping it again
	 * at SIGTERM (round-seventeen tester 80): the line is written. */
	signal(SIGTTOU, SIG_IGN);
	/* A reload (SIGHUP) or a statistics request (SIGUSR1) sent while the
	 * process is still starting waits for the loop's signalfd instead of
	 * killing it with the default action (it did, within ~5 ms of a
	 * start). SIGINT and SIGTERM keep stopping it at once meanwhile. */
	sigemptyset(&early);
	sigaddset(&early, SIGHUP);
	sigaddset(&early, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &early, NULL);
	*out_tls = NULL;
	/* The command line's own errors in the log's form too (journald's,
	 * or --log-format's): they were bare lines (a hostile tester). */
	rv_log_set_prefix(role == RV_CONFIG_SERVER ? "server" : "client");
	prescan(argc, argv, &pre);
	if (pre.check) {
		rv_log_set_format(RV_LOG_FMT_CHECK);
	} else {
		rv_log_set_format(log_format(pre.log_format != RV_LOG_FMT_AUTO
						     ? pre.log_format
						     : file_log_format(role, pre.config)));
	}
	code = rv_cli_parse(cfg, opts, role, argc, argv);
	if (code >= 0) {
		return code;
	}
	rv_log_set_level((enum rv_log_level)cfg->log_level);
	/* -n says what the loading code warns of in its own form too (a key
	 * others may read came as a log line beside `ringvpn: warning:`
	 * lines: round-twenty-six testers 122, 124, 125). */
	rv_log_set_format(opts->check_only ? RV_LOG_FMT_CHECK : log_format(cfg->log_format));
	rv_log_open();
	if (rv_privdrop_early()) {
		fprintf(stderr, "ringvpn: cannot make the process non-dumpable: %s\n",
			strerror(errno));
		return RV_EXIT_PRIVDROP;
	}
	if (rv_privdrop_resolve(&opts->priv, cfg, err, sizeof(err))) {
		rv_cli_say_err(err);
		return RV_EXIT_PRIVDROP;
	}
	code = rv_cli_tls_ctx(out_tls, cfg);
	if (code < 0 && opts->check_only) {
		warn_crl_expired(*out_tls, cfg);
		say_unreadable(opts, cfg, false);
	}
	return code;
}

void rv_cli_start_failed(const struct rv_cli_opts *opts, int code)
{
	enum rv_log_format f = rv_log_get_format();

	if (code > 0 && !opts->check_only && (f == RV_LOG_FMT_JOURNAL || f == RV_LOG_FMT_JSON)) {
		char said[512];

		rv_fatal("stopped: exit %d, %s", code, rv_exit_said(code, said, sizeof(said)));
	}
}

int rv_cli_confine(const struct rv_cli_opts *opts, const struct rv_config *cfg, bool tun_later)
{
	char err[512];
	int ret = rv_privdrop_apply(&opts->priv, tun_later, err, sizeof(err));

	if (ret) {
		rv_fatal("%s", err);
		/* Out of descriptors or memory on the way (opening
		 * /proc/self/task) is the host's limit, as at every other
		 * step (it said "could not drop privileges", exit 16). */
		return rv_errno_short(ret) ? RV_EXIT_FAILURE : RV_EXIT_PRIVDROP;
	}
	say_unreadable(opts, cfg, true);
	if (!cfg->seccomp) {
		rv_warnx("seccomp = no: the system call filter is off");
		return -1;
	}
	if (rv_sandbox_apply(err, sizeof(err))) {
		rv_fatal("%s", err);
		return RV_EXIT_PRIVDROP;
	}
	rv_debug("seccomp filter installed on every thread");
	return -1;
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
	*out_qsbr = rv_qsbr_new(QSBR_MAX_READERS);
	*out_demux = *out_qsbr ? rv_demux_new(max_sessions, *out_qsbr) : NULL;
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
	/* A file size limit (LimitFSIZE=) reached by the lease file fails the
	 * write with EFBIG, which is logged, instead of killing the process. */
	signal(SIGXFSZ, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	/* Blocked, SIGCONT still continues a stopped process; read from the
	 * signalfd it tells the loop it was stopped (tls/loop.c). */
	sigaddset(&set, SIGCONT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL)) {
		return -1;
	}
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int rv_cli_errno_exit(int err, int def)
{
	switch (err < 0 ? -err : err) {
	case EINTR:
		/* Only a start-up wait returns it, for a SIGINT or SIGTERM
		 * (rv_sleep_ms): a stop, as it would have been a moment later. */
		rv_info("stopped while starting");
		return RV_EXIT_OK;
	case EPERM:
	case EACCES:
		return RV_EXIT_PERM;
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case ENETUNREACH:
	case ECONNREFUSED:
		return RV_EXIT_NET;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EAGAIN:
	case ENOSYS:
		/* Out of memory or descriptors (or the locked-memory limit),
		 * a thread the task limit refused (EAGAIN), io_uring refused
		 * by the host (ENOSYS, rv_ring_init): the host's limits,
		 * whatever step hit them, each named in the log. */
		return RV_EXIT_FAILURE;
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
	dc.pin_workers = (enum rv_config_pin)cfg->pin_workers;
	dc.worker_nice = cfg->worker_nice;
	dc.worker_rtprio = cfg->worker_rtprio;
	dc.worker_slice_us = cfg->worker_slice_us;
	/* A server's sessions are spread over its workers by receiver index
	 * (the demux's lanes, set by the caller); a client has one session. */
	dc.steer_by_index = cfg->role == RV_CONFIG_SERVER;
	dc.small_lane = cfg->role == RV_CONFIG_CLIENT;
	/* A server's TUN carries its whole pool, offline clients' addresses
	 * too. A client's packets meet no session only while it reconnects,
	 * where a connect had better wait than fail. */
	dc.icmp_unreach = cfg->role == RV_CONFIG_SERVER;
	/* Through the TUN such a packet came straight back into one of its
	 * queues, where a flood of them crowded out other clients' packets:
	 * the kernel's way leads nowhere but to the answer given here. */
	dc.offline_at_ingress = cfg->role == RV_CONFIG_SERVER;
	dc.reply_from_local = cfg->role == RV_CONFIG_SERVER;
	dc.max_peers = cfg->role == RV_CONFIG_SERVER ? cfg->max_clients : 0;
	dc.mtu = mtu;
	/* A client caps its TUN at the smaller of its own mtu and its
	 * server's, which the server is not told: its packets may be as large
	 * as its own MTU, and must still be received whole without GRO. */
	dc.rx_mtu = cfg->role == RV_CONFIG_CLIENT ? RV_MAX_MTU : mtu;
	dc.udp_port = port;
	dc.udp_v6 = true;
	dc.offload_tun = cfg->offload_tun;
	dc.offload_gso = cfg->offload_gso;
	dc.offload_gro = cfg->offload_gro;
	dc.udp_coalesce = (enum rv_config_coalesce)cfg->offload_udp_coalesce;
	dc.zerocopy = (enum rv_config_zc)cfg->zerocopy;
	dc.ecn_off = !cfg->ecn;
	dc.aqm_off = cfg->aqm_target_us == 0;
	dc.aqm_target_us = cfg->aqm_target_us;
	dc.aqm_interval_us = cfg->aqm_interval_us;
	/* Only a server carries client-to-client traffic; 0 (kernel) on a client. */
	dc.client_to_client = (enum rv_config_c2c)cfg->client_to_client;
	dc.demux = demux;
	dc.qsbr = qsbr;
	ret = rv_dataplane_start(out, &dc);
	if (ret == -EAFNOSUPPORT) {
		rv_info("this kernel has no IPv6 (Address family not supported by protocol): the "
			"data channel's UDP is IPv4 alone");
		dc.udp_v6 = false; /* no IPv6 on this host: IPv4 underlay only */
		ret = rv_dataplane_start(out, &dc);
	}
	if (ret) {
		if (ret == -ENOSYS) {
			/* io_uring refused: said with the host's reason (the
			 * line named the TUN and ENOSYS's text after an EPERM). */
			rv_warnx("cannot start the data plane without io_uring");
		} else if (ret == -ENOMEM) {
			char why[320];

			rv_warnx("cannot start the data plane (TUN %s, UDP port %u): %s", cfg->tun,
				 port, rv_ring_strerror(ret, why, sizeof(why)));
		} else if (ret != -EINTR) {
			rv_warn(ret, "cannot start the data plane (TUN %s, UDP port %u)", cfg->tun,
				port);
		}
		return rv_cli_errno_exit(ret, RV_EXIT_TUN);
	}
	return -1;
}
