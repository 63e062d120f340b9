/*
 * exit.h — the exit codes of the ringvpn program, one per failure class.
 * Every command returns one of these from its rv_cmd_* function; main.c
 * passes it to exit(). Tests assert them, and README.md carries the same
 * table, so a script can tell "fix your config" from "the network is down".
 *
 *   code  name             meaning
 *   ----  ---------------  -----------------------------------------------------
 *     0   RV_EXIT_OK       success (for 'pki verify': the certificate is valid)
 *     1   RV_EXIT_FAILURE  runtime error not covered below
 *     2   RV_EXIT_USAGE    bad command line: unknown flag, missing or bad argument
 *     3   RV_EXIT_CONFIG   bad config file: unreadable, syntax or value error
 *     4   RV_EXIT_CERT     certificate, CA or CRL missing, unreadable or invalid
 *                          (for 'pki verify': the certificate was rejected)
 *     5   RV_EXIT_KEY      private key missing, unreadable, invalid or mismatched
 *     6   RV_EXIT_TLS      TLS handshake or peer authentication failed
 *     7   RV_EXIT_TUN      TUN device could not be created or configured, or
 *                          another process holds it
 *     8   RV_EXIT_NET      socket, bind, listen or connect failed
 *     9   RV_EXIT_PERM     insufficient privilege (needs root or CAP_NET_ADMIN)
 *    10   RV_EXIT_PKI      a pki operation failed (file exists, write or signing)
 *
 * Values are stable: new classes get new numbers, existing ones never change.
 */
#ifndef RV_CLI_EXIT_H
#define RV_CLI_EXIT_H

enum rv_exit {
	RV_EXIT_OK = 0,
	RV_EXIT_FAILURE = 1,
	RV_EXIT_USAGE = 2,
	RV_EXIT_CONFIG = 3,
	RV_EXIT_CERT = 4,
	RV_EXIT_KEY = 5,
	RV_EXIT_TLS = 6,
	RV_EXIT_TUN = 7,
	RV_EXIT_NET = 8,
	RV_EXIT_PERM = 9,
	RV_EXIT_PKI = 10,
};

#endif /* RV_CLI_EXIT_H */
