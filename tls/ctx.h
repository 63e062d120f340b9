/*
 * ctx.h — the TLS context of the control plane: TLS 1.3 only, mutual
 * certificate authentication against one deployment CA, optional CRL.
 *
 * Server: requires a client certificate that chains to the CA (and is not
 * revoked when a CRL is configured). Client: verifies the server's chain
 * against the CA and that the certificate names the expected server
 * (X509_VERIFY_PARAM_set1_host, SAN dNSName or CN). ECDSA P-256 and RSA
 * (PSS) signatures. No session resumption: every connection presents and
 * verifies a full certificate chain, so a CRL update applies to every new
 * connection.
 *
 * Threads: a context is built once and then shared read-only by every
 * connection of the control thread.
 */
#ifndef RV_TLS_CTX_H
#define RV_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_tls_ctx;

enum rv_tls_role {
	RV_TLS_SERVER = 0,
	RV_TLS_CLIENT = 1,
};

/* Which input a failed rv_tls_ctx_new tripped over (for exit codes). */
enum rv_tls_ctx_fail {
	RV_TLS_FAIL_NONE = 0,
	RV_TLS_FAIL_CA,	   /* CA file missing, unreadable or not a certificate */
	RV_TLS_FAIL_CERT,  /* own certificate missing, unreadable or invalid */
	RV_TLS_FAIL_KEY,   /* private key missing, unreadable, invalid or not matching */
	RV_TLS_FAIL_CRL,   /* CRL file missing, unreadable or invalid */
	RV_TLS_FAIL_OTHER, /* BoringSSL refused a setting / out of memory */
};

struct rv_tls_ctx_params {
	enum rv_tls_role role;
	const char *ca_file;	 /* PEM CA certificate(s); required */
	const char *cert_file;	 /* PEM certificate chain; required (a client
				  * without one is only for tests of refusal) */
	const char *key_file;	 /* PEM private key; required with cert_file */
	const char *crl_file;	 /* PEM CRL(s); NULL or "": no revocation check */
	const char *server_name; /* client: expected server name; required */
	/* With crl_file: a CRL of it not valid yet gives way to the CRLs in
	 * force in |hold_crl| of the same CA, where it has any. May be NULL. */
	const struct rv_tls_ctx *hold_crl;
	/* A running context whose private key stands in for |key_file| when
	 * this process may no longer open it (EACCES, EPERM: it dropped the
	 * privileges that read it at the start), where it matches the
	 * certificate: a new CRL or CA must not wait for the key file's mode.
	 * May be NULL. rv_tls_ctx_key_kept says whether it did. */
	const struct rv_tls_ctx *running;
	/* A running context whose certificate, chain and key are taken
	 * instead of |cert_file| and |key_file| (neither is read): a new CA
	 * or CRL must not wait for a certificate or key that cannot be used.
	 * May be NULL. */
	const struct rv_tls_ctx *own_from;
};

/* rv_tls_ctx_new builds a context from |p| (strings copied where kept).
 * Returns 0 and sets *out, or -errno with *out_fail naming the input at fault
 * and a one-line explanation in |err| (file name, what was wrong, what to do). */
int rv_tls_ctx_new(struct rv_tls_ctx **out, const struct rv_tls_ctx_params *p,
		   enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len);

struct rv_config;

/* rv_tls_ctx_from_config is rv_tls_ctx_new with the parameters of |cfg|
 * (role, CA, certificate, key, CRL, expected server name; |running| as in
 * rv_tls_ctx_params, NULL at the start), after checking
 * this side's own certificate as its peers will: expired, not valid yet or
 * not fit for the role is refused; revoked by its own CRL is refused when
 * |starting|, and said otherwise (a running process takes a new CRL
 * whatever it says of its own certificate, or its other revocations would
 * wait for a new one). */
int rv_tls_ctx_from_config(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
			   const struct rv_tls_ctx *running, enum rv_tls_ctx_fail *out_fail,
			   char *err, size_t err_len);

/* rv_tls_ctx_from_config_own is rv_tls_ctx_from_config with |running|'s
 * certificate, chain and key (rv_tls_ctx_params.own_from) and the files'
 * CA and CRL: a renewal whose new key the service user cannot read (or a
 * certificate or key file broken otherwise) held back every new CRL with it,
 * and a revoked client kept its session (a hostile tester). The running
 * certificate is checked against the new CA and CRL as a new one is, but
 * not for its dates: an expired one held back every CRL after its end (its
 * expiry is said on its own, reload.c). */
int rv_tls_ctx_from_config_own(struct rv_tls_ctx **out, const struct rv_config *cfg,
			       const struct rv_tls_ctx *running, enum rv_tls_ctx_fail *out_fail,
			       char *err, size_t err_len);

/* rv_tls_ctx_own_kept: was |ctx| built by rv_tls_ctx_from_config_own? */
bool rv_tls_ctx_own_kept(const struct rv_tls_ctx *ctx);

/* rv_tls_ctx_own_unchanged: rv_tls_ctx_own_kept, and the certificate
 * file is still the one the kept certificate was read from, unchanged
 * (same file, size and modification time): no renewal waits in it. */
bool rv_tls_ctx_own_unchanged(const struct rv_tls_ctx *ctx);

/* rv_tls_ctx_cert_in_file: does the certificate file |path| begin with
 * the certificate |ctx| runs with (its bytes, whatever the file's identity:
 * a copy, or the running one read again)? */
bool rv_tls_ctx_cert_in_file(const struct rv_tls_ctx *ctx, const char *path);

/* rv_tls_ctx_ca_kept, rv_tls_ctx_crl_kept: was |ctx| built with the
 * running context's CA certificates, or CRLs, the file unreadable to this
 * process and unchanged since they were read from it
 * (rv_tls_ctx_params.running)? */
bool rv_tls_ctx_ca_kept(const struct rv_tls_ctx *ctx);

/* rv_tls_ctx_cert_unknown: why whether the certificate file |path| is
 * still the one |ctx|'s certificate was read from cannot be told (a
 * directory on its way unsearchable to this process), or NULL. */
const char *rv_tls_ctx_cert_unknown(const struct rv_tls_ctx *ctx, const char *path);
bool rv_tls_ctx_crl_kept(const struct rv_tls_ctx *ctx);

/* rv_tls_cert_not_before: the start of the certificate in the file |path|
 * if it lies ahead (seconds since the epoch), else 0 (also when the file
 * cannot be read). */
int64_t rv_tls_cert_not_before(const char *path);

/* rv_tls_ctx_own_warning: what the check of this end's certificate against
 * its own CA and CRL found while running (revoked, or not verifying: kept
 * and said, not refused), or "". At the start it is logged as well. */
const char *rv_tls_ctx_own_warning(const struct rv_tls_ctx *ctx);

/* rv_tls_ctx_key_kept: was |ctx| built with the running context's key, its
 * key file unreadable to this process (rv_tls_ctx_params.running)? */
bool rv_tls_ctx_key_kept(const struct rv_tls_ctx *ctx);

/* rv_tls_ctx_from_config_crl is rv_tls_ctx_from_config with the CRLs in
 * force in |keep_crl| instead of |cfg|'s CRL file (NULL: the file): a new
 * CRL that cannot be used yet must not hold back a new certificate. With
 * |keep_own|, |keep_crl|'s certificate and key too (as
 * rv_tls_ctx_from_config_own). */
int rv_tls_ctx_from_config_crl(struct rv_tls_ctx **out, const struct rv_config *cfg, bool starting,
			       const struct rv_tls_ctx *keep_crl, bool keep_own,
			       enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len);

/* rv_tls_ctx_from_config_hold is rv_tls_ctx_from_config with a CRL of the
 * file that is not valid yet left out for |hold|'s CRLs of the same CA (a
 * CA whose new CRL is dated ahead keeps its running one; the others' new
 * CRLs are taken). rv_tls_ctx_crl_held says which were held. |keep_own| as
 * in rv_tls_ctx_from_config_crl. */
int rv_tls_ctx_from_config_hold(struct rv_tls_ctx **out, const struct rv_config *cfg,
				const struct rv_tls_ctx *hold, bool keep_own,
				enum rv_tls_ctx_fail *out_fail, char *err, size_t err_len);

/* rv_tls_ctx_crl_held: how many CAs' new CRLs a running one stood in for
 * (rv_tls_ctx_from_config_hold), the first one's subject in |who|. */
unsigned rv_tls_ctx_crl_held(const struct rv_tls_ctx *ctx, char *who, size_t who_len);

/* rv_tls_crl_not_yet_valid: is |ctx|'s CRL (read from |path|) not valid yet
 * (its lastUpdate ahead of this host's clock)? Returns that time (seconds
 * since the epoch) with the reason in |err|, or 0. rv_tls_ctx_from_config
 * refuses such a CRL when |starting|; a running process keeps its CRL and
 * takes the new one then (reload.c). */
int64_t rv_tls_crl_not_yet_valid(const struct rv_tls_ctx *ctx, const char *path, char *err,
				 size_t err_len);

/* rv_tls_ctx_free frees |ctx| (connections hold their own reference). NULL ok. */
void rv_tls_ctx_free(struct rv_tls_ctx *ctx);

/* rv_tls_ctx_retire frees |ctx| (NULL ok) once another has replaced it,
 * with the CRLs of its store: every connection made under it holds the
 * store for its life (BoringSSL's SSL keeps its SSL_CTX), and with it the
 * CRLs, some 290 bytes a revocation, until the last of them ends. A
 * handshake under it still in flight is then verified without a CRL, and
 * must be checked against the context in force as it ends (chan.c
 * still_valid). */
void rv_tls_ctx_retire(struct rv_tls_ctx *ctx);

/* struct rv_tls_expiry: when the material of a context stops being valid,
 * in seconds since the epoch (0: not present). */
struct rv_tls_expiry {
	int64_t cert_not_after; /* own certificate */
	/* The earliest end of the CA file's certificates still valid (a CA
	 * kept in the file until it lapses, at a rotation, no longer
	 * stands for the others: "CA EXPIRED" for ever, and the new one's
	 * end never shown); the latest when all have ended. */
	int64_t ca_not_after;
	int64_t ca_lapsed_at; /* the latest end of one that has ended while others stand */
	bool have_crl;
	/* The earliest nextUpdate of each CA's newest CRL (0: none given): an
	 * older CRL kept beside a CA's newer one decides nothing (its lapse
	 * was said as "refusing that CA's peers", and held back every new
	 * file: a hostile tester). */
	int64_t crl_next_update;
	int64_t crl_last_update; /* latest lastUpdate (thisUpdate) of the CRLs */
	int64_t crl_next_valid;	 /* the earliest thisUpdate ahead when read (0: none) */
	unsigned crl_signers;	 /* the CAs (by key) the CRLs are of */
	char crl_next_ca[128];	 /* the CA whose CRL ends first (its subject) */
	unsigned crl_lapsed;	 /* CAs whose CRL has ended (rv_tls_ctx_expiry's time) */
	/* CAs none of whose CRLs is valid yet (rv_tls_ctx_expiry's time), the
	 * latest time one becomes valid, and the first such CA's subject: its
	 * peers are refused until then (status said the CRL was good:
	 * round-sixty-seven tester 287). */
	unsigned crl_unborn;
	int64_t crl_valid_at;
	char crl_unborn_ca[128];
	/* Of those, the latest end, and the earliest end still ahead (0:
	 * none): a second CA's CRL ending after a first had lapsed ended no
	 * session (round-thirty-seven tester 186). */
	int64_t crl_last_lapse, crl_next_ahead;
	char crl_lapse_ca[128]; /* the CA of the CRL that lapsed last (its subject) */
	char crl_last_ca[128];	/* the CA of the CRL issued last (its subject) */
};

/* rv_tls_crl_whom: whom this end refuses once the CRL of |e| that ends
 * first has lapsed: "every peer", or, with CRLs of several CAs in the file,
 * the peers of that CA alone (a rotation's old CA: "every client is
 * refused" sent operators to republish in a hurry while the new CA's
 * clients came in, round-four tester 29). In |buf| when not a constant. */
const char *rv_tls_crl_whom(const struct rv_tls_expiry *e, char *buf, size_t len);

/* rv_tls_ctx_own_id writes the SHA-256 of this end's certificate (zeros:
 * none): a renewal or a re-issue with the same dates differs in it. */
void rv_tls_ctx_own_id(const struct rv_tls_ctx *ctx, uint8_t out[32]);

/* rv_tls_ctx_expiry reports the expiry times read when |ctx| was built. */
void rv_tls_ctx_expiry(const struct rv_tls_ctx *ctx, struct rv_tls_expiry *out);

/* rv_tls_ctx_crl_older: does |n| carry an older CRL than |cur| remembers
 * of the same signing key (a lower cRLNumber; where either has none, an
 * earlier thisUpdate)? Put in place, it would undo every revocation made
 * since (a backup restored, a sync that lags). Says how in |why|. */
bool rv_tls_ctx_crl_older(const struct rv_tls_ctx *n, const struct rv_tls_ctx *cur, char *why,
			  size_t why_len);

/* rv_tls_ctx_crl_carry makes |n|, about to replace |cur|, remember the
 * highest CRL number and thisUpdate |cur| saw of each signer, so that a
 * CRL without a number in between does not reset the guard. Within one
 * process's life only: a restart starts from the file. */
void rv_tls_ctx_crl_carry(struct rv_tls_ctx *n, const struct rv_tls_ctx *cur);

/* rv_tls_ctx_crl_dropped: does |n| leave without a CRL a CA that still
 * stands in it and had one in |cur|? Every client of that CA would be
 * refused ("unable to get certificate CRL"): a CRL file unlinked and
 * written anew one CRL at a time, seen between two, ended that CA's
 * sessions (a round-two tester). Names the CA in |who|. */
bool rv_tls_ctx_crl_dropped(const struct rv_tls_ctx *n, const struct rv_tls_ctx *cur, char *who,
			    size_t who_len);

/* rv_tls_ctx_same_trust: do |a| and |b| verify peers against the same CA
 * certificates and CRLs (by content, in the same order)? A reload or a
 * touched file that changed neither need not check every live peer again. */
bool rv_tls_ctx_same_trust(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b);
/* rv_tls_ctx_same_crl: the same CRLs (by content, in the same order), or
 * none in both. */
bool rv_tls_ctx_same_crl(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b);

/* rv_tls_ctx_same_own: the same certificate of this end (by content; the key
 * must match it)? */
bool rv_tls_ctx_same_own(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b);

/* rv_tls_ctx_same_ca: the same CA certificates (by content, in order)? */
bool rv_tls_ctx_same_ca(const struct rv_tls_ctx *a, const struct rv_tls_ctx *b);

/* rv_tls_ctx_role returns the role |ctx| was built for. */
enum rv_tls_role rv_tls_ctx_role(const struct rv_tls_ctx *ctx);

#endif /* RV_TLS_CTX_H */
