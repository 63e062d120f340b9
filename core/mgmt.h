/*
 * mgmt.h — the management protocol spoken on the local control socket
 * (status_socket), defined once for both ends: the server/client serving it
 * (tls/mgmt.c) parses requests with rv_mgmt_parse, and `ringvpn status`,
 * `kick`, `rekey`, `reload` and `log-level` (cli/) build them with
 * rv_mgmt_format and list them from rv_mgmt_cmds.
 *
 * One request per connection: a single line of printable ASCII, at most
 * RV_MGMT_MAX_REQ bytes including the newline:
 *
 *   status [human|json|prometheus|kv] [end]   read-only
 *   kick NAME                           changes state (server only)
 *   rekey [NAME]                        changes state
 *   reload                              changes state
 *   log-level error|warn|info|debug     changes state
 *
 * NAME is a certificate name (printable ASCII without spaces, at most 64
 * bytes). The reply is a first line "ok" or "error: TEXT", then the body,
 * then the server closes the connection. Replies are bounded
 * (RV_MGMT_MAX_REPLY); a longer status is cut and says so. A status asked
 * with "end" ends with the line RV_MGMT_END_LINE: a reply the server cut at
 * its deadline (a caller that stopped reading) ends where it was cut, and
 * one cut just after a line's end looked whole (round-sixty-six tester 286).
 * Without "end" the reply is as before, for scripts and older callers; an
 * older server refuses the word ("status: too many arguments").
 *
 * Access (checked with SO_PEERCRED by the server): root may send anything;
 * members of admin_group may send read-only requests, and state-changing
 * ones too when admin_group_write is set.
 */
#ifndef RV_CORE_MGMT_H
#define RV_CORE_MGMT_H

#include <stdbool.h>
#include <stddef.h>

enum {
	RV_MGMT_MAX_REQ = 256,
	/* A status of 65,000 sessions (max_clients' most) is about 50 MB of
	 * JSON: cut at 32 MiB, unmarked, past about 44,000 (round-sixty-six
	 * tester 281). */
	RV_MGMT_MAX_REPLY = 96 * 1024 * 1024,
	RV_MGMT_NAME_MAX = 64,
	/* Room kept at a reply's end for the note that it was cut and the
	 * end mark. */
	RV_MGMT_CUT_NOTE_MAX = 64,
};

/* How a cut reply ends: "\n" RV_MGMT_CUT_NOTE "N bytes)\n", N what came
 * before it; `ringvpn status` exits 1 on it. */
#define RV_MGMT_CUT_NOTE "(reply cut at "

/* The last line of a status asked with "end": no rendering writes a line
 * that begins with '(' but the cut note. */
#define RV_MGMT_END_LINE "(end of reply)\n"

enum rv_mgmt_cmd {
	RV_MGMT_STATUS = 0,
	RV_MGMT_KICK,
	RV_MGMT_REKEY,
	RV_MGMT_RELOAD,
	RV_MGMT_LOG_LEVEL,
	RV_MGMT_NUM_CMDS,
};

enum rv_mgmt_format {
	RV_MGMT_HUMAN = 0,
	RV_MGMT_JSON,
	RV_MGMT_PROMETHEUS,
	RV_MGMT_KV, /* `key=value` lines, one per session and worker (scripts, tests) */
};

struct rv_mgmt_req {
	enum rv_mgmt_cmd cmd;
	enum rv_mgmt_format format;	 /* status */
	bool end_mark;			 /* status: end with RV_MGMT_END_LINE */
	int level;			 /* log-level: enum rv_log_level */
	char name[RV_MGMT_NAME_MAX + 1]; /* kick, rekey ("" = all) */
};

struct rv_mgmt_cmd_info {
	const char *name; /* as typed: "log-level" */
	const char *args; /* usage of the arguments, "" if none */
	bool changes;	  /* changes state (needs write access) */
	const char *help; /* one line */
};

/* rv_mgmt_cmds describes every command, indexed by enum rv_mgmt_cmd. */
extern const struct rv_mgmt_cmd_info rv_mgmt_cmds[RV_MGMT_NUM_CMDS];

/* rv_mgmt_parse parses one request of |len| bytes at |buf| (a trailing
 * "\n" or "\r\n" is allowed). Returns 0, or -EINVAL with what was wrong in
 * |err|. Pure; fuzzed. */
int rv_mgmt_parse(struct rv_mgmt_req *out, const char *buf, size_t len, char *err, size_t err_len);

/* rv_mgmt_format writes |req| as a request line with its newline into |buf|.
 * Returns 0 or -ENOSPC / -EINVAL (a name that the parser would refuse). */
int rv_mgmt_format(char *buf, size_t len, const struct rv_mgmt_req *req);

/* rv_mgmt_format_name / rv_mgmt_level_name return the request words for a
 * status format and a log level ("?" if out of range). */
const char *rv_mgmt_format_name(enum rv_mgmt_format f);
const char *rv_mgmt_level_name(int level);

#endif /* RV_CORE_MGMT_H */
