/*
 * exit.h — the exit codes of the ringvpn program, one per failure class.
 * Every command returns one of these from its rv_cmd_* function; main.c
 * passes it to exit(). Tests assert them, and the README and ringvpn(8)
 * carry the same table (doc/confdoc.c prints it from RV_EXIT_CODES; a test
 * compares the README), so a script can tell "fix your config" from "the
 * network is down".
 *
 * Codes 1, 6, 7 and 8 keep the meaning they had in the design ringvpn
 * descends from, so scripts written for it keep working: 1 general error
 * (with a perror-style message), 6 TLS connection failure, 7 the entity's
 * certificate file cannot be found, 8 its key file cannot be found. That
 * design's 5, 11 and 12 (HMAC and GUARD registration failures) are retired
 * and never reused. Values are stable: new classes get new numbers.
 *
 * RV_EXIT_CODES(X): X(NAME, code, from_original, meaning)
 */
#ifndef RV_CLI_EXIT_H
#define RV_CLI_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define RV_EXIT_CODES(X)                                                                           \
	X(OK, 0, false, "success (for `pki verify`: the certificate is valid)")                    \
	X(FAILURE, 1, true,                                                                        \
	  "general error, described by a perror-style message; also out of memory or file "        \
	  "descriptors (or under the locked-memory limit), a stack limit below 256 KiB that its "  \
	  "hard limit keeps there, a thread the task limit refused, or io_uring the host "         \
	  "refuses, whatever step hit it")                                                         \
	X(USAGE, 2, false, "bad command line: unknown flag, missing or bad argument")              \
	X(CONFIG, 3, false, "bad config file: unreadable, syntax or value error")                  \
	X(CERT, 4, false,                                                                          \
	  "a certificate, CA or CRL file exists but is unreadable or invalid, or the CRL is "      \
	  "older than `crl_state` remembers (for `pki verify`: the certificate was rejected)")     \
	X(TLS, 6, true, "TLS connection failure: handshake or peer authentication failed")         \
	X(CERT_MISSING, 7, true, "certificate file cannot be found (own certificate, CA or CRL)")  \
	X(KEY_MISSING, 8, true, "private key file cannot be found")                                \
	X(PERM, 9, false,                                                                          \
	  "insufficient privilege (needs root or CAP_NET_ADMIN, and a /dev/net/tun it may "        \
	  "open)")                                                                                 \
	X(PKI, 10, false, "a pki operation failed (file exists, write or signing)")                \
	X(KEY, 13, false, "private key exists but is unreadable, invalid or does not match")       \
	X(TUN, 14, false,                                                                          \
	  "TUN device could not be created or configured, another process holds it, or it was "    \
	  "deleted while running")                                                                 \
	X(NET, 15, false,                                                                          \
	  "socket, bind, listen, connect or name resolution failed, or a port or lease file "      \
	  "another process holds; for a client, also a server that did not answer in time (no "    \
	  "TLS handshake or no HELLO), went silent, shut down or ended its connection")            \
	X(PRIVDROP, 16, false,                                                                     \
	  "could not drop privileges (no such user, group or admin_group) or install the seccomp " \
	  "filter")                                                                                \
	X(REFUSED, 17, false,                                                                      \
	  "the server turned the client away after authenticating it: no free address in its "     \
	  "pool, at its session limit, or another connection with the same certificate took "      \
	  "its place")                                                                             \
	X(PROTOCOL, 18, false,                                                                     \
	  "the control protocol failed after authentication: a malformed or unexpected message, "  \
	  "no common protocol version or a failed key exchange (either side's verdict), an "       \
	  "error the server reported, or too many requests")

enum rv_exit {
#define RV_EXIT_ENUM(name, code, orig, meaning) RV_EXIT_##name = code,
	RV_EXIT_CODES(RV_EXIT_ENUM)
#undef RV_EXIT_ENUM
};

/* rv_exit_meaning returns the table's meaning of exit code |code| ("" for a
 * code not in it). */
static inline const char *rv_exit_meaning(int code)
{
	switch (code) {
#define RV_EXIT_CASE(name, c, orig, meaning) \
	case c:                              \
		return meaning;
		RV_EXIT_CODES(RV_EXIT_CASE)
#undef RV_EXIT_CASE
	}
	return "";
}

/* rv_exit_said writes into |buf| the meaning of |code| as a server's or
 * client's last log line says it: without what the code means for `pki
 * verify` and without the table's backticks, which the journal took as
 * they were (round-twenty-six tester 122). */
static inline const char *rv_exit_said(int code, char *buf, size_t len)
{
	const char *m = rv_exit_meaning(code), *cut = strstr(m, " (for `pki verify`");
	size_t n = 0, end = cut ? (size_t)(cut - m) : strlen(m);

	for (size_t i = 0; i < end && n + 1 < len; i++) {
		if (m[i] != '`') {
			buf[n++] = m[i];
		}
	}
	if (len) {
		buf[n] = '\0';
	}
	return buf;
}

#endif /* RV_CLI_EXIT_H */
