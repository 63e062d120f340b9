/*
 * cfgopts.h — what `ringvpn server` and `ringvpn client` share: turning
 * "-c FILE" plus flags into a validated struct rv_config, mapping setup
 * failures to exit codes, and the signal set the control loop handles.
 */
#ifndef RV_CLI_CFGOPTS_H
#define RV_CLI_CFGOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/privdrop.h"
#include "core/config.h"
#include "tls/ctx.h"

struct rv_demux;
struct rv_qsbr;

enum { RV_CLI_MAX_OVERRIDES = 256 };

struct rv_cli_opts {
	enum rv_config_role role;
	const char *config_path;
	bool check_only;	 /* -n */
	unsigned max_attempts;	 /* client --max-attempts */
	struct rv_privdrop priv; /* the user and group to drop to (rv_cli_start) */
	/* The flags that override the file, kept so that a reload applies
	 * them again (the strings point into argv). */
	size_t num_overrides;
	struct {
		const char *key, *flag, *value;
	} overrides[RV_CLI_MAX_OVERRIDES];
};

/* rv_cli_parse reads argv (after the subcommand) into |cfg| and |opts|:
 * defaults, then the -c file, then flag overrides, then validation. Prints
 * help for -h. Returns -1 to continue, or an exit code (0 after --help). */
int rv_cli_parse(struct rv_config *cfg, struct rv_cli_opts *opts, enum rv_config_role role,
		 int argc, char **argv);

/* rv_cli_load_config (the loop's load_config for reloads; |ctx| is the
 * struct rv_cli_opts of the start) fills |out| as at start: defaults, the
 * -c file, the same flag overrides, validation. Returns 0 or -EINVAL /
 * -errno with why in |err|. */
int rv_cli_load_config(void *ctx, struct rv_config *out, char *err, size_t err_len);

/* rv_cli_dataplane starts the data plane of |cfg| on the tables |demux| and
 * |qsbr| (UDP |port|, 0: ephemeral; dual-stack, falling back to IPv4 when
 * the host has no IPv6): the one place either command builds its data-plane
 * configuration. Returns -1, or an exit code after logging why. */
struct rv_dataplane;
int rv_cli_dataplane(struct rv_dataplane **out, const struct rv_config *cfg, struct rv_demux *demux,
		     struct rv_qsbr *qsbr, uint16_t port, unsigned mtu);

/* rv_cli_tls_ctx builds the TLS context for |cfg|. Returns -1, or an exit
 * code (CERT_MISSING, CERT, KEY_MISSING, KEY, TLS) after printing why. */
int rv_cli_tls_ctx(struct rv_tls_ctx **out, const struct rv_config *cfg);

/* rv_cli_check_restart (the loop's check_restart for reloads) says what
 * a start with |next| would refuse, as -n and the start do, of the
 * restart-only settings it changes from |cur| (user, group, admin_group,
 * listen, metrics_listen, status_socket, tun, lease_file, crl_state): 0,
 * the start's exit code with why in |why|, or -1 with a warning in |why|
 * (a state file this process may not look at). |running|: the running TLS
 * context, whose key and certificate stand in for files this process may
 * no longer read (NULL: none); |own_tun|: the running TUN's interface index
 * (0: none), no other process's device under a new name. */
int rv_cli_check_restart(void *ctx, const struct rv_config *cur, const struct rv_config *next,
			 const struct rv_tls_ctx *running, unsigned own_tun, char *why,
			 size_t why_len);

/* rv_cli_note_metrics_wildcard warns (-n: on stderr, |check_only|; a
 * start: in the log) when metrics_listen is a wildcard address, 0.0.0.0 or
 * [::]: the endpoint has no authentication or TLS and its labels name
 * every client, and such a setting went unsaid (round-seventy tester
 * 321). */
void rv_cli_note_metrics_wildcard(const struct rv_config *cfg, bool check_only);

/* rv_cli_check_paths checks for -n what the start does with |cfg|'s paths:
 * a status socket that cannot be made (a file that is no socket there, no
 * such directory: exit 15 as at the start) and, said only, a lease file in
 * no directory and a status socket in a directory others may write (the
 * service user |service| and its group |service_gid| are no others: 0 when
 * other services share them).
 * Returns -1 or the exit code. */
int rv_cli_check_paths(const struct rv_config *cfg, uid_t service, gid_t service_gid);

/* rv_cli_start is how both commands begin: rv_cli_parse, then the log level,
 * format and prefix of |role|, rv_privdrop_early (before any key is read)
 * and rv_privdrop_resolve into opts->priv, then rv_cli_tls_ctx into
 * |*out_tls|. Returns -1 to continue, or an exit code (after printing why,
 * or 0 after --help). */
int rv_cli_start(struct rv_config *cfg, struct rv_cli_opts *opts, enum rv_config_role role,
		 int argc, char **argv, struct rv_tls_ctx **out_tls);

/* rv_cli_start_failed says, for journald or a log shipper (log_format
 * journal or json), at the error priority, that the start failed with exit
 * |code| (> 0) and what that code means, as a process that stops later
 * does. A terminal has the start's own error as its last line. Nothing
 * for -n or a code of 0 (--help). */
void rv_cli_start_failed(const struct rv_cli_opts *opts, int code);

/* rv_cli_confine ends the privileged set-up: rv_privdrop_apply with
 * opts->priv and |tun_later|, then (cfg->seccomp) rv_sandbox_apply. Call it on the control
 * thread once the TUN device (server), sockets and status socket exist.
 * Returns -1, or RV_EXIT_PRIVDROP after logging why. */
int rv_cli_confine(const struct rv_cli_opts *opts, const struct rv_config *cfg, bool tun_later);

/* rv_cli_tables creates the signalfd (rv_cli_signals) and the session tables
 * (a demux for |max_sessions| and its QSBR domain). Returns -1, or an exit
 * code after printing why; what was created is in the outputs either way
 * (-1 / NULL when not) for the caller to release. */
int rv_cli_tables(int *out_sigfd, struct rv_demux **out_demux, struct rv_qsbr **out_qsbr,
		  unsigned max_sessions);

/* rv_cli_signals blocks INT, TERM, HUP, USR1 (in this and future threads),
 * ignores SIGPIPE and returns a signalfd for them, or -1. */
int rv_cli_signals(void);

/* rv_cli_file_exit is the exit code for a certificate or key file that could
 * not be loaded: |missing| when |path| does not exist (the codes kept from
 * the original design, 7 and 8), else |invalid|. */
int rv_cli_file_exit(const char *path, int missing, int invalid);

/* rv_cli_errno_exit maps a setup -errno to an exit code: perm, net, failure
 * (out of memory or file descriptors), or |def|; -EINTR (a start-up wait
 * ended by SIGINT or SIGTERM) is a stop: 0, logged. */
int rv_cli_errno_exit(int err, int def);

/* rv_cli_check_state_paths: status_socket named as the lease file or
 * crl_state, which the start would refuse only after writing the state
 * file there (RV_EXIT_CONFIG, said; RV_EXIT_USAGE when a flag named one of
 * the two); -1: none. Before either is opened, and by -n. */
int rv_cli_check_state_paths(const struct rv_config *cfg, const struct rv_cli_opts *opts);

/* rv_cli_check_crl_state: what the start would refuse of crl_state with
 * the CRLs of |tls|, said by -n too (opts->check_only, which also says an
 * unset crl_state beside a crl): a file it must not use, or named as the
 * lease file (RV_EXIT_CONFIG), an older CRL than the file remembers
 * (RV_EXIT_CERT). -1: the start may go on. */
int rv_cli_check_crl_state(const struct rv_config *cfg, const struct rv_cli_opts *opts,
			   struct rv_tls_ctx *tls);

/* rv_cli_file_error writes an error |why| of the configuration file |path|
 * (NULL: none) to |out|: "path:N: ..." when |why| starts with a line
 * ("line N: ...", rv_config_validate's), as the parser's own errors are
 * written (tester 144 saw both forms), else "path: why". */
void rv_cli_file_error(char *out, size_t len, const char *path, const char *why);

#endif /* RV_CLI_CFGOPTS_H */
