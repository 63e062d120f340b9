/*
 * main.c — ringvpn's entry point: dispatches to a subcommand through a
 * { name, fn, description } table, as wireguard-tools does.
 *
 *   ringvpn server -c FILE | client -c FILE | status | pki ... | version | help
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/exit.h"
#include "cli/say.h"
#include "core/compiler.h"
#include "rv_revision.h" /* RV_REVISION: cli/revision.cmake, at build time */

#ifndef RV_VERSION
#define RV_VERSION "unknown"
#endif

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} subcommands[] = {
	{ "server", rv_cmd_server, "run the VPN server (ringvpn server -c FILE)" },
	{ "client", rv_cmd_client, "run a VPN client (ringvpn client -c FILE)" },
	{ "status", rv_cmd_status, "show sessions and counters of a running server or client" },
	{ "kick", rv_cmd_kick, "end one client's session now (ringvpn kick NAME)" },
	{ "rekey", rv_cmd_rekey, "start a new key epoch for every session, or NAME's" },
	{ "reload", rv_cmd_reload, "re-read the configuration of a running server or client" },
	{ "log-level", rv_cmd_log_level, "change the log level of a running server or client" },
	{ "pki", rv_cmd_pki, "create a CA, issue and revoke certificates" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "show this help" },
};

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: ringvpn <command> [arguments]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++) {
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].description);
	}
	fprintf(f, "\n'ringvpn <command> --help' describes each command.\n");
}

static bool is_help_flag(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Every subcommand refuses an argument it does not take (exit 2); version
 * and help took any (round-fifteen tester 72), and still answer --help. */
static int cmd_version(int argc, char **argv)
{
	if (argc == 2 && is_help_flag(argv[1])) {
		printf("Usage: ringvpn version\n\nPrints the version.\n");
		return RV_EXIT_OK;
	}
	if (argc > 1) {
		char b[4096];

		fprintf(stderr, "ringvpn version: unexpected argument '%s'\n",
			rv_cli_shown(argv[1], b, sizeof(b)));
		return RV_EXIT_USAGE;
	}
	if (RV_REVISION[0]) {
		printf("ringvpn %s (git %s)\n", RV_VERSION, RV_REVISION);
	} else {
		printf("ringvpn %s\n", RV_VERSION);
	}
	return RV_EXIT_OK;
}

/* cmd_help shows the usage, or with a COMMAND that command's (its --help). */
static int cmd_help(int argc, char **argv)
{
	if (argc > 2) {
		char b[4096];

		fprintf(stderr, "ringvpn help: unexpected argument '%s'\n",
			rv_cli_shown(argv[2], b, sizeof(b)));
		return RV_EXIT_USAGE;
	}
	if (argc == 2 && !is_help_flag(argv[1])) {
		for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++) {
			char help_flag[] = "--help";
			char *sub[] = { argv[1], help_flag, NULL };

			if (!strcmp(argv[1], subcommands[i].name) &&
			    subcommands[i].fn != cmd_help) {
				return subcommands[i].fn(2, sub);
			}
		}
		if (strcmp(argv[1], "help") != 0) {
			char b[4096];

			fprintf(stderr, "ringvpn help: unknown command '%s'\n\n",
				rv_cli_shown(argv[1], b, sizeof(b)));
			show_usage(stderr);
			return RV_EXIT_USAGE;
		}
	}
	show_usage(stdout);
	return RV_EXIT_OK;
}

/* open_std_fds puts /dev/null on whichever of 0, 1 and 2 a supervisor left
 * closed: the first file opened would otherwise become stderr, and every
 * log line went into the TUN's lock file (overwriting the owner's PID in
 * it) or, with all three closed, into the data plane's rekey eventfd (a
 * hostile tester). */
static bool stdout_closed;
static int output_errno; /* rv_cli_output_failed */

void rv_cli_output_failed(int err)
{
	output_errno = output_errno ? output_errno : err;
}

static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) {
			continue;
		}
		/* stdout read-only: what a command writes there fails
		 * (output_written), where /dev/null would swallow a status
		 * and exit 0. */
		stdout_closed = stdout_closed || fd == 1;
		/* The lower ones are open: this is the lowest free number. */
		if (open("/dev/null", fd == 2 ? O_WRONLY : O_RDONLY) == fd) {
			continue;
		}
		/* No /dev/null (a bare chroot or container): a copy of an open
		 * one holds the number (nothing reads stdin); with none open,
		 * nothing would be said anywhere in any case. */
		for (int src = 0; src <= 2; src++) {
			if (src != fd && fcntl(src, F_GETFD) >= 0 && dup2(src, fd) == fd) {
				break;
			}
		}
	}
}

/* output_written: |code|, or 1 when what a command wrote to stdout could
 * not be written (a full disk, a closed pipe): a script must not take an
 * empty file for a status or a certificate's details (each exited 0). */
static int output_written(int code)
{
	const char *why;
	int e;

	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout)) {
		return code;
	}
	e = errno ? errno : output_errno;
	why = stdout_closed ? "stdout is closed" : e ? strerror(e) : NULL;
	fprintf(stderr, "ringvpn: cannot write the output%s%s\n", why ? ": " : "", why ? why : "");
	return code == RV_EXIT_OK ? RV_EXIT_FAILURE : code;
}

/* unknown_command: its own frame, so that main's stays small: under a
 * soft stack limit of 16 KiB main's 4 KiB buffer faulted before the limit
 * was raised (round-sixty-eight tester 306). */
static RV_NOINLINE int unknown_command(const char *cmd)
{
	char b[4096];

	fprintf(stderr, "ringvpn: unknown command '%s'\n\n", rv_cli_shown(cmd, b, sizeof(b)));
	show_usage(stderr);
	return RV_EXIT_USAGE;
}

enum {
	STACK_WANT = 8u << 20, /* the usual default */
	STACK_MIN = 256u << 10,
};

/* stack_room gives the main thread, and every thread made later, a stack
 * of STACK_WANT where the hard limit lets it: under a soft limit of 64 KiB
 * the server's start died of SIGSEGV without a word, after -n said OK
 * (round-sixty-eight tester 303). The main thread's stack grows to the
 * limit in force when it faults, so raising it here is enough for it;
 * threads take their size from the limit the process started with, so
 * theirs is set. Below STACK_MIN, said: RV_EXIT_FAILURE. */
static int stack_room(void)
{
	struct rlimit rl;
	pthread_attr_t attr;

	if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= STACK_WANT) {
		return RV_EXIT_OK;
	}
	rl.rlim_cur =
		rl.rlim_max != RLIM_INFINITY && rl.rlim_max < STACK_WANT ? rl.rlim_max : STACK_WANT;
	if (setrlimit(RLIMIT_STACK, &rl) != 0 || getrlimit(RLIMIT_STACK, &rl) != 0) {
		return RV_EXIT_OK; /* left as it is: the threads' below as well */
	}
	if (rl.rlim_cur < STACK_MIN) {
		fprintf(stderr,
			"ringvpn: error: the stack limit is %llu KiB and its hard limit keeps it "
			"there, below the %u KiB ringvpn needs: raise it (ulimit -s 8192, or "
			"LimitSTACK= in a unit)\n",
			(unsigned long long)rl.rlim_cur >> 10, STACK_MIN >> 10);
		return RV_EXIT_FAILURE;
	}
	if (pthread_attr_init(&attr) == 0) {
		(void)pthread_attr_setstacksize(&attr, rl.rlim_cur);
		(void)pthread_setattr_default_np(&attr);
		pthread_attr_destroy(&attr);
	}
	return RV_EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int ret;

	open_std_fds();
	if ((ret = stack_room()) != RV_EXIT_OK) {
		return ret;
	}
	/* The service's own messages go through its log or cli/say.c; the
	 * other commands echo what they were given. */
	if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
		rv_cli_stderr_shown();
	}
	if (argc < 2) {
		show_usage(stderr);
		return RV_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-v")) {
		return output_written(cmd_version(argc - 1, argv + 1));
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		return output_written(cmd_help(argc - 1, argv + 1));
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++) {
		if (!strcmp(cmd, subcommands[i].name)) {
			return output_written(subcommands[i].fn(argc - 1, argv + 1));
		}
	}
	return unknown_command(cmd);
}
