/*
 * ca.h — creating and opening a ringvpn certificate authority.
 *
 * A CA is a directory:
 *   DIR/ca.crt       self-signed CA certificate (ECDSA P-256, mode 0644)
 *   DIR/ca.key       its private key (PKCS#8 PEM, mode 0600)
 *   DIR/ca.crl       the current CRL, signed by the CA (empty at creation)
 *   DIR/revoked.txt  index of revoked serials the CRL is built from
 * This header is free of BoringSSL types so cli/ can include it.
 */
#ifndef RV_PKI_CA_H
#define RV_PKI_CA_H

#include <stdbool.h>

#include "pki/err.h"

#define RV_PKI_CA_DAYS_DEFAULT 3650
#define RV_PKI_CA_NAME_DEFAULT "ringvpn CA"
#define RV_PKI_CA_CRT "ca.crt"
#define RV_PKI_CA_KEY "ca.key"
#define RV_PKI_CA_CRL "ca.crl"
#define RV_PKI_CA_INDEX "revoked.txt"

struct rv_pki_ca;

/* A CA directory has a lock (DIR/.lock, an flock) that `pki ca` (--force),
 * `pki revoke`, `pki crl`, `pki server` and `pki client` hold while they
 * read, sign with and rewrite its files. A command that finds it held and
 * must wait calls |fn| (if not NULL) once with |arg| and a sentence,
 * "waiting for the lock of CA DIR: another pki command (PID N) is running"
 * (without "(PID N)" when /proc/locks names no holder), and then waits for
 * it; holding it to write, one that removed stale temporaries calls |fn|
 * with a sentence that says how many. `pki verify` holds it to read. */
struct rv_pki_waiter {
	void (*fn)(const void *arg, const char *msg);
	const void *arg;
};

struct rv_pki_ca_opts {
	const char *name;	     /* subject CN; NULL means RV_PKI_CA_NAME_DEFAULT */
	int days;		     /* validity in days, > 0; 0 means RV_PKI_CA_DAYS_DEFAULT */
	bool force;		     /* replace an existing ca.key/ca.crt */
	struct rv_pki_waiter waiter; /* told before a wait for the CA's lock */
};

/* rv_pki_ca_create creates |dir| (mode 0700) if it does not exist and writes
 * a new CA into it: ca.key, ca.crt (basicConstraints CA:TRUE critical,
 * keyUsage keyCertSign+cRLSign critical, SKI, random 127-bit serial), an
 * empty ca.crl and revoked.txt, holding the CA's lock, with a mark
 * (DIR/.ca-replacing) there from before the first of them is written
 * until the last is; the temporaries of those files a command killed
 * while it wrote them left there are removed first, and their number told
 * to |opts->waiter|. Refuses (-EEXIST) to replace an existing ca.key
 * unless |opts->force|. Returns 0 or -errno with |err| filled. */
int rv_pki_ca_create(const char *dir, const struct rv_pki_ca_opts *opts, struct rv_pki_err *err);

/* rv_pki_ca_dir_check: is |dir| a directory? Returns 0, or -ENOENT with
 * |err| filled (class RV_PKI_ERR_CERT): not found, or a file (the CA's
 * certificate, named in its directory's place). */
int rv_pki_ca_dir_check(const char *dir, struct rv_pki_err *err);

/* rv_pki_ca_open loads DIR/ca.crt and DIR/ca.key, checks that the key
 * matches the certificate and that the certificate is a CA, and returns a
 * new handle in |*out| (free with rv_pki_ca_free). Returns 0 or -errno with
 * |err| filled (class RV_PKI_ERR_CERT or RV_PKI_ERR_KEY; a key that does
 * not match says that a `pki ca --force` cut short is finished by running
 * it again). It takes no lock: rv_pki_revoke* and rv_pki_crl_update take
 * it and check that the CA is still the one loaded. */
int rv_pki_ca_open(struct rv_pki_ca **out, const char *dir, struct rv_pki_err *err);

/* rv_pki_ca_open_locked is rv_pki_ca_open with the CA's lock taken first
 * (|waiter| told of a wait, may be NULL) and held until rv_pki_ca_free: the
 * CA loaded while `pki ca --force` replaced it was the old one, whose key
 * and certificate then did not match ("ca.key does not belong to ca.crt",
 * in 35 ms rather than a wait), or which signed a certificate no peer of
 * the new CA takes (round-seventy tester 324). |writes|: the command
 * rewrites the CA's files (revoke, crl); otherwise it only signs with them
 * (server, client), and a CA directory in which no lock file can be made
 * (read-only, another user's) is used without the lock; with |writes|,
 * the temporaries of the CA's files that a command killed while it wrote
 * them left are removed, and their number told to |waiter|. A `pki ca` cut
 * short (killed between its renames: its mark DIR/.ca-replacing is still
 * there) is refused, saying so (-EINVAL, class RV_PKI_ERR_OP, or the
 * class of what it broke), with the advice to run it again. */
int rv_pki_ca_open_locked(struct rv_pki_ca **out, const char *dir, bool writes,
			  const struct rv_pki_waiter *waiter, struct rv_pki_err *err);

/* rv_pki_ca_lock_whole is, for a command that reads the CA's certificate
 * and CRL of |dir| without loading its key (`pki verify`), the lock and the
 * check of rv_pki_ca_open_locked: takes the CA's lock as a signer does
 * (|waiter| told of a wait, may be NULL) and refuses a CA a `pki ca` was
 * cut short in (its mark there: -EINVAL, class RV_PKI_ERR_OP, with the
 * advice to run it again; verify took the old CA's certificate beside the
 * new CA's key, or a CRL removed: round-seventy-one tester 328). Returns
 * the lock (a descriptor to close when done), -ENOLCK when no lock file
 * can be made or opened there (read-only, root's: used unlocked, the mark
 * checked all the same: a user's verify said "OK" of a CA cut short,
 * tester 333), or another -errno with |err| filled. */
int rv_pki_ca_lock_whole(const char *dir, const struct rv_pki_waiter *waiter,
			 struct rv_pki_err *err);

/* rv_pki_ca_free releases |ca| and wipes its key; NULL is a no-op. */
void rv_pki_ca_free(struct rv_pki_ca *ca);

/* rv_pki_ca_dir returns the directory |ca| was opened from (borrowed). */
const char *rv_pki_ca_dir(const struct rv_pki_ca *ca);

/* rv_pki_ca_set_waiter: what the commands on |ca| (rv_pki_revoke*,
 * rv_pki_crl_update) tell before they wait for its lock (copied). */
void rv_pki_ca_set_waiter(struct rv_pki_ca *ca, const struct rv_pki_waiter *waiter);

#endif /* RV_PKI_CA_H */
